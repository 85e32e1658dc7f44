"""`verify` means what the README says, and `export` refuses what it rejects (issue 27, #3-#5): every byte of every
token's metadata is what punkgen wrote, a setting changed in collection.toml after the run is named once, a folder a
run holds is refused in one line, and a FIFO is called what it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, edit, folder_bytes, made_collection, refused, run_cli
from test_interruptions import busy_run

from generator.errors import ExitStatus

URI = "https://cdn.example.com/punks/"
PHISHING = "https://claim-your-punk.example/"


@pytest.fixture
def collection(config_path: Path, tmp_path: Path) -> Path:
    return made_collection(config_path, tmp_path / "out", 6)


def verified(out: Path, config_path: Path) -> tuple[int, list[str]]:
    """verify's exit status and its lines, the summary left out."""
    result = run_cli("verify", out, "--config", config_path)
    return result.exit_code, result.output.splitlines()[:-1]


def edit_draft(out: Path, token_id: int, **changes: object) -> None:
    """Change fields as an editor would, keeping punkgen's key order (new keys before ``attributes``) and encoding."""
    path = out / "metadata" / f"{token_id}.json"
    document = json.loads(path.read_text())
    attributes = document.pop("attributes")
    path.write_text(json.dumps({**document, **changes, "attributes": attributes}, ensure_ascii=False) + "\n")


def export_refused(out: Path, config_path: Path) -> str:
    before = folder_bytes(out)
    line = refused("export", out, "--config", config_path, "--base-uri", URI)
    assert folder_bytes(out) == before and not (out / "export").exists(), "nothing was exported"
    return line


# ── every byte of every token file ─────────────────────────────────────────────────────────────


def test_a_hand_edited_description_is_reported_and_never_exported(collection: Path, config_path: Path) -> None:
    edit_draft(collection, 3, description="Mint the real one at our new site")
    status, lines = verified(collection, config_path)
    draft = collection / "metadata" / "3.json"
    assert status == ExitStatus.FOLDER_DIFFERS and lines == [
        f"{draft}: differs from the document its traits give (description edited); "
        "run the same `punkgen collection` command again to rewrite it"
    ]
    assert export_refused(collection, config_path).startswith(f"Error: {draft}: differs from the document its traits give")


def test_an_added_phishing_link_is_reported_and_never_exported(collection: Path, config_path: Path) -> None:
    edit_draft(collection, 5, external_url=PHISHING)
    status, lines = verified(collection, config_path)
    assert status == ExitStatus.FOLDER_DIFFERS
    assert lines == [
        f"{collection / 'metadata' / '5.json'}: differs from the document its traits give (external_url added); "
        "run the same `punkgen collection` command again to rewrite it"
    ]
    assert "5.json" in export_refused(collection, config_path)


def test_the_same_document_in_other_bytes_is_reported(collection: Path, config_path: Path) -> None:
    """Byte for byte: a re-indented file says the same, but it is not the file punkgen wrote (and hashed nowhere)."""
    path = collection / "metadata" / "2.json"
    path.write_text(json.dumps(json.loads(path.read_text()), indent=2, ensure_ascii=False))
    status, lines = verified(collection, config_path)
    assert status == ExitStatus.FOLDER_DIFFERS and "key order, spacing or escapes" in lines[0]
    assert "2.json" in export_refused(collection, config_path)


def test_every_draft_edited_the_same_way_is_still_reported(collection: Path, config_path: Path) -> None:
    """A sed over metadata/ reads like a config change, and is said as one (naming both causes); export refuses."""
    for token_id in range(1, 7):
        edit_draft(collection, token_id, external_url=PHISHING)
    status, lines = verified(collection, config_path)
    assert status == ExitStatus.FOLDER_DIFFERS and len(lines) == 1
    assert (
        f"[collection].external_url is '', but the tokens in {collection / 'metadata'} were written with {PHISHING!r}" in lines[0]
    )
    assert "or most token files were edited" in lines[0]
    assert "[collection].external_url" in export_refused(collection, config_path)


def test_two_tokens_sharing_an_image_are_named(collection: Path, config_path: Path) -> None:
    """The manifest itself edited so that token 4 vouches for token 3's image: each file matches its line, yet the
    collection would mint one punk twice."""
    manifest = collection / "manifest.jsonl"
    records = [json.loads(line) for line in manifest.read_text().splitlines()]
    three = next(r for r in records if r["token_id"] == 3)
    for record in records:
        if record["token_id"] == 4:
            record["sha256"] = three["sha256"]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in records))
    (collection / "images" / "4.png").write_bytes((collection / "images" / "3.png").read_bytes())
    status, lines = verified(collection, config_path)
    assert status == ExitStatus.FOLDER_DIFFERS and f"{collection / 'images' / '4.png'}: the same image as token 3" in lines
    assert "the same image as token 3" in export_refused(collection, config_path)


# ── a config changed after the run ─────────────────────────────────────────────────────────────


def test_a_description_changed_in_the_config_after_the_run_is_named_once(collection: Path, config_path: Path) -> None:
    old = json.loads((collection / "metadata" / "1.json").read_text())["description"]
    edit(config_path, 'description = "Hand-drawn', 'description = "Redrawn')
    status, lines = verified(collection, config_path)
    assert status == ExitStatus.FOLDER_DIFFERS and len(lines) == 1, lines
    assert lines[0].startswith(f"{config_path}: [collection].description is 'Redrawn")
    assert f"were written with {old[:20]!r}"[:-1] in lines[0] and "put it back, or remake the collection with --force" in lines[0]
    line = export_refused(collection, config_path)
    assert "[collection].description" in line, "no collection.json with the new text beside tokens with the old"
    edit(config_path, 'description = "Redrawn', 'description = "Hand-drawn')
    assert verified(collection, config_path) == (0, [])


def test_a_config_change_and_a_hand_edit_are_told_apart(collection: Path, config_path: Path) -> None:
    edit(config_path, 'description = "Hand-drawn', 'description = "Redrawn')
    edit_draft(collection, 6, external_url=PHISHING)
    status, lines = verified(collection, config_path)
    assert status == ExitStatus.FOLDER_DIFFERS and len(lines) == 2, lines
    assert "[collection].description is 'Redrawn" in lines[0] and "6.json: differs" in lines[1]
    assert "(external_url added)" in lines[1], "the draft is held to the run's description, so only its edit is named"


@pytest.mark.parametrize(
    ("old", "new", "setting"),
    [
        ('external_url = ""', f'external_url = "{PHISHING}"', "[collection].external_url"),
        ('name = "Bespoke Punks"', 'name = "Other Punks"', "[collection].name"),
    ],
)
def test_other_token_settings_changed_after_the_run_are_named_once(
    collection: Path, config_path: Path, old: str, new: str, setting: str
) -> None:
    edit(config_path, old, new)
    status, lines = verified(collection, config_path)
    assert status == ExitStatus.FOLDER_DIFFERS and len(lines) == 1 and f"{config_path}: {setting} is " in lines[0], lines
    export_refused(collection, config_path)


def test_a_base_uri_set_after_the_run_is_an_export_setting(collection: Path, config_path: Path) -> None:
    """export writes every image link anew, so [metadata].base_uri may follow the upload; one edited link may not."""
    edit(config_path, 'base_uri = "ipfs://REPLACE_WITH_CID/"', f'base_uri = "{URI}"')
    assert verified(collection, config_path) == (0, [])
    assert run_cli("export", collection, "--config", config_path).exit_code == 0
    assert json.loads((collection / "export" / "metadata" / "4").read_text())["image"] == f"{URI}4.png"
    edit_draft(collection, 4, image=f"{PHISHING}4.png")
    status, lines = verified(collection, config_path)
    assert status == ExitStatus.FOLDER_DIFFERS and lines[0].startswith(f"{collection / 'metadata' / '4.json'}: differs")
    assert "image edited" in lines[0]


# ── a folder a run holds ───────────────────────────────────────────────────────────────────────


def holding(folder: Path, shared: bool = False) -> subprocess.Popen[str]:
    """A real process holding the folder's lock, as a `punkgen collection` run (or an export, or a verify) does."""
    script = (
        "import sys, time; from pathlib import Path; from generator.run.lock import folder_lock\n"
        f"with folder_lock(Path(sys.argv[1]), 'a test', shared={shared}):\n"
        "    print('held', flush=True); time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script, str(folder)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    return process


@pytest.mark.slow
def test_verify_during_a_run_says_so_in_one_line(collection: Path, config_path: Path) -> None:
    run = holding(collection)
    try:
        line = refused("verify", collection, "--config", config_path)
        assert f"is in use by another punkgen process (pid {run.pid}:" in line and "wait for it to finish" in line
    finally:
        run.kill()
        run.wait()
    assert run_cli("verify", collection, "--config", config_path).exit_code == 0, "a killed run's lock never blocks"


@pytest.mark.slow
def test_verify_during_a_real_collection_run_is_one_line_then_passes(config_path: Path, tmp_path: Path) -> None:
    """The issue's case: a `punkgen collection` run mid-way, its manifest ahead of nothing, its files still coming."""
    out = tmp_path / "out"
    with busy_run(config_path, out) as run:
        line = refused("verify", out, "--config", config_path)
        assert line.startswith(f"Error: {out} is in use by another punkgen process (pid {run.pid}: ") and "collection" in line
    assert run_cli("verify", out, "--config", config_path).exit_code == 0


@pytest.mark.slow
def test_verify_beside_another_verify_is_not_refused(collection: Path, config_path: Path) -> None:
    reader = holding(collection, shared=True)
    try:
        assert run_cli("verify", collection, "--config", config_path).exit_code == 0
        line = refused("export", collection, "--config", config_path, "--base-uri", URI)
        assert f"pid {reader.pid}" in line, "an export waits for the reader to finish"
    finally:
        reader.kill()
        reader.wait()


# ── what is not a regular file ─────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("name", ["images/5.png", "metadata/2.json"])
def test_a_fifo_among_the_token_files_is_called_a_fifo(collection: Path, config_path: Path, name: str) -> None:
    path = collection / name
    path.unlink()
    os.mkfifo(path)
    line = export_refused(collection, config_path)
    assert f"{path} is a named pipe (FIFO), not a regular file; restore it from a backup" in line and "missing" not in line
    started = time.monotonic()  # a real process: reading a FIFO would block it for ever
    result = subprocess.run(
        [sys.executable, "-m", "generator", "verify", str(collection), "--config", str(config_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == ExitStatus.FOLDER_DIFFERS and time.monotonic() - started < 60
    assert f"{path}: a named pipe (FIFO), not a regular file;" in result.stdout, result.stdout


@pytest.mark.parametrize("name", ["contact_sheet.png", "run.json"])
def test_a_fifo_in_place_of_a_record_is_called_a_fifo(collection: Path, config_path: Path, name: str) -> None:
    path = collection / name
    path.unlink()
    os.mkfifo(path)
    assert f"{path} is a named pipe (FIFO), not a regular file" in export_refused(collection, config_path)


def test_a_fifo_given_as_the_placeholder_is_called_a_fifo(collection: Path, config_path: Path, tmp_path: Path) -> None:
    placeholder = tmp_path / "unrevealed.png"
    os.mkfifo(placeholder)
    before = folder_bytes(collection)
    line = refused("export", collection, "--config", config_path, "--car", "--placeholder", placeholder)
    assert (
        line
        == f"Error: --placeholder {placeholder} is a named pipe (FIFO), not a regular file; pass a PNG, GIF, JPEG or WebP image"
    )
    assert folder_bytes(collection) == before
