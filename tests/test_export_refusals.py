"""`punkgen export` on a folder it must not publish: damaged, interrupted, from another config, unwritable or in use.
Each is one line and exit 2, and the previous export stays as it was."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from conftest import edit, folder_bytes, refuse_writes_under, run_cli
from PIL import Image
from test_export import CIDV0, URI, N, export, make_collection, refused

from generator.run.lock import folder_lock


@pytest.fixture
def collection(config_path: Path, tmp_path: Path) -> Path:
    return make_collection(config_path, tmp_path / "out")


def test_not_a_collection_folder(config_path: Path, tmp_path: Path) -> None:
    assert "no such collection folder" in refused(tmp_path / "nowhere", config_path, "--base-uri", URI)
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    assert "is not a collection folder (no manifest.jsonl or run.json)" in refused(stray, config_path, "--base-uri", URI)
    assert sorted(p.name for p in stray.iterdir()) == ["notes.txt"]


def test_an_interrupted_or_damaged_collection_is_refused(collection: Path, config_path: Path) -> None:
    manifest = collection / "manifest.jsonl"
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join(lines[:9]) + lines[9][:30])
    assert f"holds 9 of {N} tokens (missing 10, 11, 12)" in refused(collection, config_path, "--base-uri", URI)
    manifest.write_text("".join(lines))
    sheet = (collection / "contact_sheet.png").read_bytes()
    (collection / "contact_sheet.png").unlink()
    assert "contact_sheet.png is missing" in refused(collection, config_path, "--base-uri", URI)
    (collection / "contact_sheet.png").write_bytes(sheet)
    (collection / "images" / "4.png").unlink()
    assert "images/4.png is missing" in refused(collection, config_path, "--base-uri", URI)
    assert not (collection / "export").exists()


def half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def replace_line(path: Path, number: int, line: bytes) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    lines[number - 1] = line + b"\n"
    path.write_bytes(b"".join(lines))


def edit_record(path: Path, number: int, **changes: object) -> None:
    record = json.loads(path.read_bytes().splitlines()[number - 1])
    replace_line(path, number, json.dumps({**record, **changes}).encode())


def edit_draft(out: Path, token_id: int, change) -> None:
    draft = out / "metadata" / f"{token_id}.json"
    draft.write_text(json.dumps(change(json.loads(draft.read_text()))))


def without_attributes(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "attributes"}


def with_a_number_value(document: dict) -> dict:
    return {**document, "attributes": [{**document["attributes"][0], "value": 7}, *document["attributes"][1:]]}


# Every file an export reads, damaged the ways a copy, a disk or a hand edit damages it; each is one line and exit 2.
DAMAGE = {
    "truncated master": (lambda out: half(out / "images" / "5.png"), "images/5.png: altered"),
    "garbage first master": (
        lambda out: (out / "images" / "1.png").write_bytes(b"GIF89a"),
        "images/1.png: altered",
    ),
    "master of another size": (
        lambda out: Image.new("RGB", (48, 48)).save(out / "images" / "7.png"),
        "images/7.png: altered",
    ),
    "truncated contact sheet": (lambda out: half(out / "contact_sheet.png"), "contact_sheet.png is not a readable image"),
    "manifest line not JSON": (
        lambda out: replace_line(out / "manifest.jsonl", 3, b'{"token_id": 3, "verd'),
        "manifest.jsonl line 3 is not a manifest record (not JSON)",
    ),
    "manifest line not an object": (
        lambda out: replace_line(out / "manifest.jsonl", 3, b"[3]"),
        "manifest.jsonl line 3 is not a manifest record (a JSON object with",
    ),
    "manifest token id a string": (
        lambda out: edit_record(out / "manifest.jsonl", 3, token_id="3"),
        "manifest.jsonl line 3 is not a manifest record (token_id '3' is not a whole number)",
    ),
    "manifest traits not strings": (
        lambda out: edit_record(out / "manifest.jsonl", 4, traits=["Hoodie"]),
        "manifest.jsonl line 4 is not a manifest record (traits is not an object",
    ),
    "manifest not UTF-8": (
        lambda out: replace_line(out / "manifest.jsonl", 2, '{"verdict": "café"}'.encode("cp1252")),
        "manifest.jsonl line 2 is not UTF-8 text",
    ),
    "run.json not JSON": (lambda out: (out / "run.json").write_text("{"), "run.json is not valid UTF-8 JSON"),
    "run.json a list": (lambda out: (out / "run.json").write_text("[]"), "run.json is not a punkgen run record"),
    "run.json size a string": (
        lambda out: (out / "run.json").write_text('{"size": "12"}'),
        "run.json is not a punkgen run record",
    ),
    "draft a list": (
        lambda out: edit_draft(out, 4, lambda document: [document]),
        "metadata/4.json is not ERC-721 token metadata (",
    ),
    "draft without attributes": (
        lambda out: edit_draft(out, 4, without_attributes),
        "metadata/4.json is not ERC-721 token metadata ('attributes' is a required property)",
    ),
    "draft value a number": (
        lambda out: edit_draft(out, 4, with_a_number_value),
        "metadata/4.json is not ERC-721 token metadata (attributes[0].value: 7 is not of type 'string')",
    ),
    "draft nested 600 deep": (
        lambda out: nest_attributes(out / "metadata" / "4.json", 600),
        "metadata/4.json is not valid UTF-8 JSON (nested deeper than 64 levels)",  # refused before the schema
    ),
    "draft nested past what json reads": (
        lambda out: nest_attributes(out / "metadata" / "4.json", 100_000),
        "metadata/4.json is not valid UTF-8 JSON",
    ),
    "draft not UTF-8": (
        lambda out: (out / "metadata" / "4.json").write_bytes('{"name": "Café"}'.encode("cp1252")),
        "metadata/4.json is not valid UTF-8 JSON",
    ),
}


def nest_attributes(draft: Path, depth: int) -> None:
    """A hand edit that leaves ``depth`` nested lists where the attributes were (written as text: json.dumps would
    itself refuse the deepest)."""
    text = draft.read_text()
    start = text.index('"attributes": ') + len('"attributes": ')
    draft.write_text(text[:start] + "[" * depth + "]" * depth + "}\n")


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_file_is_one_line_and_the_last_export_stays(collection: Path, config_path: Path, damage: str) -> None:
    export(collection, config_path, "--base-uri", URI)
    harm, message = DAMAGE[damage]
    harm(collection)
    before = folder_bytes(collection)
    line = refused(collection, config_path, "--base-uri", f"ipfs://{CIDV0}/")
    assert message in line and "Error: " + str(collection) in line, line
    assert folder_bytes(collection) == before, "export/ and index.html are the previous export's, nothing else written"
    assert not list(collection.glob(".export-staging-*"))


def test_a_line_separator_inside_a_prompt_is_not_a_line_break(collection: Path, config_path: Path) -> None:
    """JSON written with ensure_ascii=False keeps U+2028 raw; str.splitlines would cut the record there."""
    manifest = collection / "manifest.jsonl"
    record = json.loads(manifest.read_bytes().splitlines()[2])
    replace_line(manifest, 3, json.dumps({**record, "prompt": "pixel art,\u2028punk\x85"}, ensure_ascii=False).encode())
    assert "\u2028".encode() in manifest.read_bytes()
    export(collection, config_path, "--base-uri", URI)
    assert len(list((collection / "export" / "metadata").iterdir())) == N


def test_rarity_reads_the_folder_the_same_way(collection: Path, config_path: Path) -> None:
    edit_draft(collection, 4, without_attributes)
    result = run_cli("rarity", collection, "--config", config_path)
    assert result.exit_code == 2 and "metadata/4.json is not ERC-721 token metadata" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_file_where_export_or_the_gallery_goes_is_kept(collection: Path, config_path: Path) -> None:
    (collection / "export").write_text("my notes")
    line = refused(collection, config_path, "--base-uri", URI)
    assert f"{collection / 'export'} is not a folder an export wrote; move it out of {collection}" in line
    assert (collection / "export").read_text() == "my notes" and not (collection / "index.html").exists()
    (collection / "export").unlink()
    (collection / "export").symlink_to(collection / "images", target_is_directory=True)
    assert "is not a folder an export wrote" in refused(collection, config_path, "--base-uri", URI)
    assert sorted(p.name for p in (collection / "images").iterdir()) == sorted(f"{i}.png" for i in range(1, N + 1))
    (collection / "export").unlink()
    export(collection, config_path, "--base-uri", URI)
    before = folder_bytes(collection)
    (collection / "index.html").unlink()
    (collection / "index.html").mkdir()
    line = refused(collection, config_path, "--base-uri", f"ipfs://{CIDV0}/")
    assert f"{collection / 'index.html'} is not the gallery file an export wrote" in line
    assert folder_bytes(collection / "export") == {k[len("export/") :]: v for k, v in before.items() if k.startswith("export/")}


@pytest.mark.parametrize(
    ("code", "after", "words"),
    [(errno.EROFS, 0, "the file system is read-only"), (errno.ENOSPC, 7, "no space left on the device")],
)
def test_a_refused_write_is_one_line_and_the_last_export_stays(
    collection: Path, config_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, after: int, words: str
) -> None:
    export(collection, config_path, "--base-uri", URI)
    before = folder_bytes(collection)
    refuse_writes_under(collection, code, monkeypatch, after)
    line = refused(collection, config_path, "--base-uri", f"ipfs://{CIDV0}/")
    assert line.startswith(f"Error: cannot write {collection / 'export'}: {words}; "), line
    monkeypatch.undo()
    assert folder_bytes(collection) == before
    assert not list(collection.glob(".export-staging-*"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permissions; the test above covers root")
def test_a_read_only_folder_is_one_line(collection: Path, config_path: Path) -> None:
    collection.chmod(0o555)
    try:
        line = refused(collection, config_path, "--base-uri", URI)
    finally:
        collection.chmod(0o755)
    assert line.startswith(f"Error: cannot write {collection / 'export'}: permission denied"), line


def test_a_folder_in_use_is_refused(collection: Path, config_path: Path) -> None:
    with folder_lock(collection, "a test"):
        assert "is in use by another punkgen process" in refused(collection, config_path, "--base-uri", URI)
    assert not (collection / "export").exists()


def test_a_collection_from_another_config_is_refused(collection: Path, config_path: Path) -> None:
    edit(config_path, 'name = "Bespoke Punks"', 'name = "Other Punks"')
    assert "generated from another collection.toml" in refused(collection, config_path, "--base-uri", URI)
