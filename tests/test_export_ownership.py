"""`export` owns only what it wrote (issue 27, #2): export/.punkgen-export records it, a re-export replaces exactly
those files, the creator's own are carried into the new export/ (or, where they would be published or sit where the
export writes, refused by name), and an index.html punkgen did not write is never overwritten."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import collection_args, folder_bytes, made_collection, refused, run_cli

from generator.publish.car import folder_cid

URI, OTHER = "https://cdn.example.com/punks/", "ar://bNbA3TEQVL60xlgCcqdz4ZPHFZ711cZ3hmkpGttDt_U/"


@pytest.fixture
def collection(config_path: Path, tmp_path: Path) -> Path:
    return made_collection(config_path, tmp_path / "out", 5)


def export(out: Path, config_path: Path, *flags: str) -> str:
    result = run_cli("export", out, "--config", config_path, "--quiet", *flags)
    assert result.exit_code == 0, result.output
    return result.output


def export_refused(out: Path, config_path: Path, *flags: str) -> str:
    before = folder_bytes(out)
    line = refused("export", out, "--config", config_path, *flags)
    assert folder_bytes(out) == before, "a refused export changes nothing"
    return line


def test_a_re_export_keeps_the_creators_files_in_export(collection: Path, config_path: Path) -> None:
    export(collection, config_path, "--base-uri", URI)
    mine = {"NOTES.md": b"pin with pinata", "scripts/mint.js": b"// mine", ".env.example": b"KEY="}
    for name, data in mine.items():
        (collection / "export" / name).parent.mkdir(exist_ok=True)
        (collection / "export" / name).write_bytes(data)
    export(collection, config_path, "--base-uri", OTHER)
    for name, data in mine.items():
        assert (collection / "export" / name).read_bytes() == data, name
    assert json.loads((collection / "export" / "metadata" / "2").read_text())["image"] == f"{OTHER}2.png"
    recorded = (collection / "export" / ".punkgen-export").read_text().splitlines()
    assert "metadata/2" in recorded and "provenance.txt" in recorded and not set(mine) & set(recorded)
    export(collection, config_path, "--car")  # the plain export's collection.json is dropped: it was punkgen's
    assert not (collection / "export" / "collection.json").exists() and (collection / "export" / "NOTES.md").is_file()


def test_a_file_the_creator_put_in_a_published_folder_is_refused_by_name(collection: Path, config_path: Path) -> None:
    export(collection, config_path, "--base-uri", URI)
    stray = collection / "export" / "images" / "notes.txt"
    stray.write_text("would be uploaded with the images")
    line = export_refused(collection, config_path, "--base-uri", OTHER)
    assert f"{stray} was not written by punkgen export, and {collection / 'export' / 'images'}/ is uploaded as it is" in line


def test_an_os_file_in_a_published_folder_is_kept_and_left_out_of_the_cids(collection: Path, config_path: Path) -> None:
    export(collection, config_path, "--car")
    (collection / "export" / "images" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    output = export(collection, config_path, "--car")
    assert (collection / "export" / "images" / ".DS_Store").read_bytes() == b"\0\0\0\1Bud1"
    assert f"images/ CID: {folder_cid(collection / 'export' / 'images')}" in output


@pytest.mark.parametrize("name", ["images.car", "rarity.csv"])
def test_a_creators_file_where_the_export_writes_is_refused_by_name(collection: Path, config_path: Path, name: str) -> None:
    """Before any export (a folder the creator made), or one this export writes and the last did not (images.car)."""
    if name == "images.car":
        export(collection, config_path, "--base-uri", URI)
    else:
        (collection / "export").mkdir()
    (collection / "export" / name).write_text("mine")
    line = export_refused(collection, config_path, "--car")
    assert line == (
        f"Error: {collection / 'export' / name} was not written by punkgen export, and this export writes that file; "
        f"move it out of {collection / 'export'}, then export again"
    )
    assert not list(collection.glob(".export-staging-*"))


def test_an_index_html_punkgen_did_not_write_is_never_overwritten(collection: Path, config_path: Path) -> None:
    (collection / "index.html").write_text("<h1>my launch page</h1>")
    line = export_refused(collection, config_path, "--base-uri", URI)
    assert f"{collection / 'index.html'} was not written by punkgen (it lacks punkgen's mark)" in line
    assert (collection / "index.html").read_text() == "<h1>my launch page</h1>" and not (collection / "export").exists()


def test_force_removes_the_exports_files_and_keeps_the_creators(collection: Path, config_path: Path, tmp_path: Path) -> None:
    export(collection, config_path, "--base-uri", URI)
    (collection / "export" / "NOTES.md").write_text("mine")
    result = run_cli(*collection_args(config_path, collection, 5), "--seed", 9, "--force")
    assert result.exit_code == 0, result.output
    left = sorted(str(p.relative_to(collection / "export")) for p in (collection / "export").rglob("*"))
    assert left == ["NOTES.md"] and not (collection / "index.html").exists()


def test_an_export_made_before_records_is_replaced_by_its_names(collection: Path, config_path: Path) -> None:
    """An earlier punkgen wrote no record: its files are known by the names an export writes, under its mark."""
    export(collection, config_path, "--base-uri", URI)
    (collection / "export" / ".punkgen-export").unlink()
    (collection / "export" / "NOTES.md").write_text("mine")
    export(collection, config_path, "--base-uri", OTHER)
    assert (collection / "export" / "NOTES.md").read_text() == "mine"
    assert json.loads((collection / "export" / "metadata" / "1").read_text())["image"] == f"{OTHER}1.png"


def test_a_record_naming_files_outside_export_reaches_none_of_them(collection: Path, config_path: Path) -> None:
    """The record is the creator's to edit: it decides which files under export/ are punkgen's, never any beyond."""
    export(collection, config_path, "--base-uri", URI)
    (collection / "notes.txt").write_text("mine")
    (collection / "export" / "NOTES.md").write_text("mine too")
    record = collection / "export" / ".punkgen-export"
    record.write_text(record.read_text() + "../notes.txt\nNOTES.md/../../notes.txt\n")
    export(collection, config_path, "--base-uri", OTHER)
    record.write_text(record.read_text() + "../notes.txt\n")
    result = run_cli(*collection_args(config_path, collection, 5), "--seed", 9, "--force")
    assert result.exit_code == 0, result.output
    assert (collection / "notes.txt").read_text() == "mine" and (collection / "export" / "NOTES.md").read_text() == "mine too"


@pytest.mark.slow
def test_a_record_that_is_a_fifo_vouches_for_nothing_and_never_blocks(collection: Path, config_path: Path) -> None:
    """A real process: reading the FIFO would block it for ever. Nothing is punkgen's then, so nothing is removed."""
    export(collection, config_path, "--base-uri", URI)
    record = collection / "export" / ".punkgen-export"
    record.unlink()
    os.mkfifo(record)
    command = [sys.executable, "-m", "generator", *map(str, collection_args(config_path, collection, 5, "--seed", 9, "--force"))]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert (collection / "export" / "provenance.txt").is_file() and stat.S_ISFIFO(record.lstat().st_mode)
