"""The collection folder protocol under stress: exit statuses, missing or altered files, verify and unwritable
places. Real processes killed or interrupted at awkward moments are in ``test_interruptions``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import collection_args, edit, folder_bytes, manifest_records, run_cli
from PIL import Image

from generator.config import load_config
from generator.errors import ExitStatus, UserError
from generator.render import BACKEND_MODULES
from generator.run.collection import run_collection


def make(config_path: Path, out: Path, n: int = 12, *extra: object) -> str:
    result = run_cli(*collection_args(config_path, out, n, *extra))
    assert result.exit_code == 0, result.output
    return result.output


def opaque_layer(config_path: Path, trait: str, value: str) -> None:
    """A non-background layer that covers the whole canvas: every token with it renders flat."""
    Image.new("RGBA", (24, 24), (200, 40, 40, 255)).save(config_path.parent / "layers" / trait / f"{value}.png")


# ── exit statuses and deterministic backends ───────────────────────────────────────────────────


def test_failed_tokens_exit_3_after_one_attempt_and_a_rerun_says_nothing_changes(config_path: Path, tmp_path: Path) -> None:
    opaque_layer(config_path, "eyes", "Brown")
    out = tmp_path / "out"
    result = run_cli(*collection_args(config_path, out, 40))
    assert result.exit_code == ExitStatus.TOKENS_FAILED == 3
    failed = sorted({r["token_id"] for r in manifest_records(out) if r["verdict"] == "rejected"})
    assert failed and all(r["attempt"] == 0 for r in manifest_records(out)), "sprites repeat their pixels: one attempt only"
    assert len(manifest_records(out)) == 40
    assert f"{40 - len(failed)} of 40 tokens" in result.output
    assert f"incomplete: {len(failed)} tokens failed after 1 attempt ({', '.join(map(str, failed[:20]))}" in result.output
    assert f"reasons in {out / 'rejects.csv'}" in result.output
    before = folder_bytes(out)
    again = run_cli(*collection_args(config_path, out, 40))
    assert again.exit_code == 3
    assert f"nothing new to render: {out} is finished, {40 - len(failed)} of 40 tokens done" in again.output
    assert "sprites renders the same pixels on every attempt" in again.output
    assert folder_bytes(out) == before


def test_a_complete_run_exits_0_and_says_1_token(config_path: Path, tmp_path: Path) -> None:
    result = run_cli(*collection_args(config_path, tmp_path / "one", 1))
    assert result.exit_code == 0
    assert "1 of 1 token in" in result.output and "(1 render with sprites)" in result.output


# ── resume and verify: the manifest is the truth ───────────────────────────────────────────────


def test_resume_recreates_deleted_and_swapped_token_files(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 12)
    reference = folder_bytes(out)
    (out / "images" / "3.png").unlink()
    shutil.copyfile(out / "images" / "5.png", out / "images" / "6.png")  # another token's image, swapped in by hand
    (out / "metadata" / "7.json").write_text('{"name": "edited"}')
    (out / "metadata" / "8.json").unlink()
    output = make(config_path, out, 12)
    assert "restored 4 tokens whose files were missing or altered: 3, 6, 7, 8" in output
    assert folder_bytes(out) == reference


def test_a_swapped_render_of_a_seeded_backend_is_refused(config_path: Path, tmp_path: Path, monkeypatch) -> None:
    """Only a backend that repeats its pixels may overwrite an altered file; a diffusion render can only come back from a backup."""
    monkeypatch.setitem(BACKEND_MODULES, "flaky", "flaky_backend")
    config = load_config(config_path).override("collection", size=8).override("render", backend="flaky")
    out = tmp_path / "out"
    run_collection(config, out=out, progress=False)
    shutil.copyfile(out / "images" / "1.png", out / "images" / "2.png")
    before = folder_bytes(out)
    with pytest.raises(UserError, match=f"^{out / 'images' / '2.png'} differ from the renders the manifest recorded"):
        run_collection(config, out=out, progress=False)
    assert folder_bytes(out) == before
    (out / "images" / "2.png").unlink()  # a missing one is rendered again in its block, for any backend
    assert run_collection(config, out=out, progress=False).restored == (2,)
    assert run_cli("verify", out, "--config", config_path).exit_code == 0


def test_verify_names_every_difference_and_changes_nothing(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 12)
    good = run_cli("verify", out, "--config", config_path)
    assert good.exit_code == 0 and "12 tokens of 12 checked" in good.output
    shutil.copyfile(out / "images" / "3.png", out / "images" / "4.png")
    Image.new("RGB", (48, 48)).save(out / "images" / "9.png")
    (out / "metadata" / "5.json").write_text("[1, 2]")
    (out / "metadata" / "6.json").write_text("{not json")
    (out / "images" / "notes.txt").write_text("mine")
    with (out / "manifest.jsonl").open("a") as manifest:
        manifest.write('{"token_id": 99, "att')  # a torn line, as a killed run leaves it
    before = folder_bytes(out)
    result = run_cli("verify", out, "--config", config_path)
    assert result.exit_code == ExitStatus.FOLDER_DIFFERS == 4
    *lines, summary = result.output.splitlines()
    assert [line.split(";")[0] for line in lines] == [
        f"{out / 'images' / '4.png'}: altered",
        f"{out / 'metadata' / '5.json'}: differs from the document its traits give ([1, 2] is not of type 'object')",
        f"{out / 'metadata' / '6.json'}: differs from the document its traits give (not JSON)",
        f"{out / 'images' / '9.png'}: altered",
        f"{out / 'images' / 'notes.txt'}: not a file of any accepted token",
    ]
    assert summary == f"12 tokens of 12 checked in {out}: 5 differences (listed above)"
    assert folder_bytes(out) == before, "verify only reads"


def test_verify_names_images_of_another_size_than_the_config_asks_for(config_path: Path, tmp_path: Path) -> None:
    """The images are the recorded ones, but the config changed its token size since."""
    out = tmp_path / "out"
    make(config_path, out, 3)
    edit(config_path, "size = 24", "size = 32")
    result = run_cli("verify", out, "--config", config_path)
    assert result.exit_code == ExitStatus.FOLDER_DIFFERS
    assert result.output.splitlines()[:3] == [
        f"{out / 'images' / f'{n}.png'}: 24×24, expected 32×32 ([pixels].size)" for n in (1, 2, 3)
    ]


def test_verify_passes_hidden_files_the_os_leaves(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 6)
    (out / "images" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    assert run_cli("verify", out, "--config", config_path).exit_code == 0


def test_force_keeps_an_export_holding_the_creators_own_files(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 6)
    assert run_cli("export", out, "--config", config_path).exit_code == 0
    (out / "export" / "NOTES.txt").write_text("mine")
    make(config_path, out, 6, "--seed", 5, "--force")
    assert (out / "export" / "NOTES.txt").read_text() == "mine"


def test_verify_and_export_refuse_a_folder_with_a_replaced_image(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 6)
    pixels = np.asarray(Image.open(out / "images" / "2.png")).copy()
    pixels[0, 0] = (1, 2, 3)
    Image.fromarray(pixels).save(out / "images" / "2.png")
    result = run_cli("export", out, "--config", config_path)
    assert result.exit_code == 2 and f"{out / 'images' / '2.png'}: altered" in result.output
    assert not (out / "export").exists()


def test_verify_counts_unfinished_tokens(config_path: Path, tmp_path: Path) -> None:
    opaque_layer(config_path, "eyes", "Brown")
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 20)).exit_code == 3
    result = run_cli("verify", out, "--config", config_path)
    assert result.exit_code == 3 and "every file matches the manifest, but" in result.output


def test_a_corrupt_manifest_line_is_one_line_for_every_command(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 6)
    lines = (out / "manifest.jsonl").read_bytes().splitlines(keepends=True)
    lines[2] = b'{"token_id": 3, garbage}\n'
    (out / "manifest.jsonl").write_bytes(b"".join(lines))
    for args in (collection_args(config_path, out, 6), ["export", out, "--config", config_path]):
        result = run_cli(*args)
        assert result.exit_code == 2, result.output
        assert "manifest.jsonl line 3" in result.output and len(result.output.strip().splitlines()) == 1
    verify = run_cli("verify", out, "--config", config_path)
    assert verify.exit_code == 4 and "manifest.jsonl line 3 is not a manifest record" in verify.output


# ── unwritable places ──────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        ("under-a-file/out", "a part of the path is a file, not a folder"),
        ("/sys/punkgen-out", "operation not permitted"),  # refused even to root
        ("/proc/version/out", "a part of the path is a file, not a folder"),
        ("x" * 300, "the path is too long"),
    ],
)
def test_an_unwritable_out_is_one_line(config_path: Path, tmp_path: Path, place: str, expected: str) -> None:
    (tmp_path / "under-a-file").write_text("a regular file")
    out = tmp_path / place if not place.startswith("/") else Path(place)
    result = run_cli(*collection_args(config_path, out, 3))
    assert result.exit_code == 2, result.output
    assert expected in result.output and "choose another folder for --out" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 160 KB tmpfs (where this machine lets the tests mount one): a full disk and a read-only one, for real."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", disk], capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    yield disk
    subprocess.run(["umount", "-l", disk], check=True)


def remount(disk: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", disk], check=True)


def test_a_full_or_read_only_disk_is_one_line_and_the_run_goes_on_after(config_path: Path, small_disk: Path) -> None:
    out = small_disk / "out"
    full = run_cli(*collection_args(config_path, out, 400))
    assert full.exit_code == 2 and "no space left on the device; fix that, then run the same command again" in full.output
    assert len(full.output.strip().splitlines()) == 1
    remount(small_disk, "ro")
    read_only = run_cli(*collection_args(config_path, out, 400))
    assert read_only.exit_code == 2 and "the file system is read-only" in read_only.output
    remount(small_disk, "rw,size=8m")
    assert run_cli(*collection_args(config_path, out, 400)).exit_code == 0
    assert run_cli("verify", out, "--config", config_path).exit_code == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["collection", "--config", "traits"], "punkgen collection: Invalid value for '--config': File 'traits' is a directory"),
        (["collection", "--steps", "0"], "punkgen collection: Invalid value for '--steps': 0 is not in the range x>=1"),
        (["verify"], "punkgen verify: Missing argument 'FOLDER'"),
    ],
)
def test_a_flag_click_refuses_is_one_line_too(args: list[str], expected: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"Error: {expected}; see {expected.split(':')[0]} --help"]


def test_verify_tells_leftovers_of_an_interrupted_run_from_foreign_files(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 6)
    lines = (out / "manifest.jsonl").read_text().splitlines(keepends=True)
    (out / "manifest.jsonl").write_text("".join(lines[:5]))  # token 6's files are written, its line never was
    (out / "images" / "77.png").write_bytes((out / "images" / "1.png").read_bytes())
    result = run_cli("verify", out, "--config", config_path)
    assert result.exit_code == 4
    assert f"{out / 'images' / '6.png'}: left by an interrupted run of a token not finished yet" in result.output
    assert f"{out / 'images' / '77.png'}: not a file of any accepted token" in result.output
