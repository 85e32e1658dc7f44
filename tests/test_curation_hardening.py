"""Curation that keeps every image and tells its own story (issue 27): demoted images never share a name, a request's
completion is a manifest line (never file times), fresh traits are fresh or refused, every token's pixels differ
(test_distinct_pixels.py), reroll reads N and the seed from run.json, and a killed command's staged files go."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import collection_args, folder_bytes, manifest_records, refuse_writes_under, refused, run_cli
from crash_points import killed_at
from PIL import Image

N = 8
SPRITES = ("--backend", "sprites", "--quiet")


def fix_of(out: Path, token_id: int, tmp_path: Path, colour: tuple[int, int, int]) -> Path:
    """An artist's fix of the token's current image: one pixel painted ``colour``."""
    pixels = np.asarray(Image.open(out / "images" / f"{token_id}.png").convert("RGB")).copy()
    pixels[1, 1] = colour
    path = tmp_path / f"fix-{token_id}-{colour[0]}-{len(list(tmp_path.glob('fix-*')))}.png"
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def out(config_path: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    assert run_cli(*collection_args(config_path, folder, N)).exit_code == 0
    return folder


def replace(out: Path, token_id: int, image: Path, config_path: Path) -> None:
    result = run_cli("replace", out, token_id, "--image", image, "--config", config_path)
    assert result.exit_code == 0, result.output


def reroll(out: Path, config_path: Path, *ids: int) -> str:
    result = run_cli("reroll", out, *ids, "--config", config_path, *SPRITES, "--traits")
    assert result.exit_code == 0, result.output
    return result.output


def encoded(path: Path) -> bytes:
    """A PNG as punkgen stores it (the hand-made file itself is re-encoded)."""
    from generator.images import encode_png

    return encode_png(Image.open(path).convert("RGB"))


# ── 1. every demoted image keeps a name of its own ─────────────────────────────────────────────


def test_replace_then_reroll_keeps_the_render_and_the_replacement(out: Path, config_path: Path, tmp_path: Path) -> None:
    render = (out / "images" / "4.png").read_bytes()
    replace(out, 4, fix_of(out, 4, tmp_path, (250, 0, 0)), config_path)
    replacement = (out / "images" / "4.png").read_bytes()
    reroll(out, config_path, 4)
    assert (out / "rejected" / "4-0.png").read_bytes() == render, "the original render survives the reroll"
    assert (out / "rejected" / "4-replacement-1.png").read_bytes() == replacement
    assert [line.get("kept") for line in manifest_records(out) if line.get("event") in ("replace", "reroll")] == [
        "rejected/4-0.png",
        "rejected/4-replacement-1.png",
    ], "each curation line says where the image it demoted went"


def test_reroll_then_replace_twice_keeps_all_four_images(out: Path, config_path: Path, tmp_path: Path) -> None:
    render = (out / "images" / "4.png").read_bytes()
    reroll(out, config_path, 4)
    rerolled = (out / "images" / "4.png").read_bytes()
    first, second = fix_of(out, 4, tmp_path, (250, 0, 0)), fix_of(out, 4, tmp_path, (0, 250, 0))
    replace(out, 4, first, config_path)
    replace(out, 4, second, config_path)
    assert {path.name: path.read_bytes() for path in (out / "rejected").iterdir()} == {
        "4-0.png": render,
        "4-1.png": rerolled,
        "4-replacement-1.png": encoded(first),
    }
    assert (out / "images" / "4.png").read_bytes() == encoded(second)
    assert run_cli("verify", out, "--config", config_path).exit_code == 0
    assert run_cli(*collection_args(config_path, out, N + 1), "--force").exit_code == 0
    assert not (out / "rejected").exists(), "--force knows the replacement names as punkgen's own"


def test_a_replace_killed_after_writing_the_image_keeps_the_original_render(out: Path, config_path: Path, tmp_path: Path) -> None:
    fix = fix_of(out, 4, tmp_path, (250, 0, 0))
    shutil.copytree(out, tmp_path / "whole")
    replace(tmp_path / "whole", 4, fix, config_path)
    render = (out / "images" / "4.png").read_bytes()
    command = ["replace", out, 4, "--image", fix, "--config", config_path]
    assert killed_at(command, out, at=lambda kind, path: kind == "open" and path.endswith("manifest.jsonl"))
    assert (out / "images" / "4.png").read_bytes() == encoded(fix), "killed after the new image, before its line"
    replace(out, 4, fix, config_path)
    assert (out / "rejected" / "4-0.png").read_bytes() == render
    assert folder_bytes(out) == folder_bytes(tmp_path / "whole")


# ── 2. a request is finished when the manifest says so ─────────────────────────────────────────


@pytest.mark.parametrize("meddle", ["delete the sheet", "touch the manifest"])
def test_a_finished_reroll_stays_finished_whatever_the_file_times(
    out: Path, config_path: Path, tmp_path: Path, meddle: str
) -> None:
    reroll(out, config_path, 2, 5)
    count = len(manifest_records(out))
    if meddle == "delete the sheet":
        (out / "contact_sheet.png").unlink()
    else:
        later = (out / "contact_sheet.png").stat().st_mtime + 60
        os.utime(out / "manifest.jsonl", (later, later))
    output = reroll(out, config_path, 2, 5)
    assert "nothing new" not in output and "(2 renders with sprites" in output, "the same command is a new reroll"
    assert len(manifest_records(out)) == count + 5 and manifest_records(out)[-1] == {"event": "done", "request": 2}
    assert (out / "contact_sheet.png").is_file()


def test_a_reroll_killed_writing_rejects_csv_is_finished_in_a_copy_without_file_times(
    out: Path, config_path: Path, tmp_path: Path
) -> None:
    shutil.copytree(out, tmp_path / "whole")
    reroll(tmp_path / "whole", config_path, 2, 5)
    command = ["reroll", out, 2, 5, "--config", config_path, *SPRITES, "--traits"]
    assert killed_at(command, out, at=lambda kind, path: kind == "write" and "rejects.csv" in path)
    shutil.copytree(out, tmp_path / "copy", copy_function=shutil.copyfile)  # every file as new as the others
    output = reroll(tmp_path / "copy", config_path, 2, 5)
    assert "(0 renders with sprites" in output or "nothing new" in output, output
    assert folder_bytes(tmp_path / "copy") == folder_bytes(tmp_path / "whole"), "finished, not rerolled again"


def test_a_reroll_made_before_done_lines_still_resumes_or_repeats(out: Path, config_path: Path, tmp_path: Path) -> None:
    reroll(out, config_path, 2)
    legacy = [{k: v for k, v in line.items() if k != "kept"} for line in manifest_records(out) if line.get("event") != "done"]
    (out / "manifest.jsonl").write_text("".join(json.dumps(line) + "\n" for line in legacy))
    output = reroll(out, config_path, 2)
    assert "(1 render with sprites" in output, "a finished old request: the same command rerolls again"
    interrupted = [line for line in manifest_records(out) if line.get("event") != "done"][:-1]  # its render's line lost
    legacy = [{k: v for k, v in line.items() if k != "kept"} for line in interrupted]
    (out / "manifest.jsonl").write_text("".join(json.dumps(line) + "\n" for line in legacy))
    output = reroll(out, config_path, 2)
    assert "(1 render with sprites" in output and manifest_records(out)[-2]["attempt"] == 2, "an unfinished old request: finished"


# ── 3. fresh traits are fresh, or refused ──────────────────────────────────────────────────────


def tiny_space(config_path: Path) -> None:
    """Every table down to its first value, background and eyes to two: four trait sets in all."""
    for table in config_path.parent.glob("*.csv"):
        rows = table.read_text().splitlines()
        keep = 2 if table.stem in ("background", "eyes") else 1
        kept = [row if n < keep else ",".join([row.split(",")[0], "0", *row.split(",")[2:]]) for n, row in enumerate(rows[1:])]
        table.write_text("\n".join([rows[0], *kept]) + "\n")


def test_fresh_traits_always_differ_from_the_tokens_own(config_path: Path, tmp_path: Path) -> None:
    tiny_space(config_path)
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 3)).exit_code == 0
    for ids in ((2,), (2,), (1, 3)):
        before = {line["token_id"]: line["traits"] for line in manifest_records(out) if "token_id" in line}
        output = reroll(out, config_path, *ids)
        assert f"({len(ids)} render" in output
        now = {line["token_id"]: line["traits"] for line in manifest_records(out) if "token_id" in line}
        assert all(now[t] != before[t] for t in ids), "a fresh draw never hands back the token's own traits"
        assert len({json.dumps(traits, sort_keys=True) for traits in now.values()}) == 3


def test_fresh_traits_from_an_exhausted_space_are_refused(config_path: Path, tmp_path: Path) -> None:
    tiny_space(config_path)
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 4)).exit_code == 0
    before = folder_bytes(out)
    line = refused("reroll", out, 2, 3, "--config", config_path, *SPRITES, "--traits")
    assert "all 4 trait sets the tables and [[rules]] allow are taken" in line and "add values" in line
    assert folder_bytes(out) == before


# ── 5. reroll reads N and the seed from run.json ───────────────────────────────────────────────


def test_reroll_needs_no_size_or_seed_and_refuses_ones_that_disagree(out: Path, config_path: Path) -> None:
    before = folder_bytes(out)
    for flags, expected in (
        (("-n", N + 1), f"[collection].size (--size) = {N + 1} disagrees with"),
        (("--seed", 7), "[collection].seed (--seed) = 7 disagrees with"),
    ):
        line = refused("reroll", out, 2, "--config", config_path, *SPRITES, "--traits", *flags)
        assert expected in line and "run.json" in line and "leave" in line
    assert folder_bytes(out) == before
    result = run_cli("reroll", out, 2, "-n", N, "--seed", 42, "--config", config_path, *SPRITES, "--traits")
    assert result.exit_code == 0 and f"{N} of {N} tokens" in result.output, result.output
    assert f"{N} of {N} tokens" in reroll(out, config_path, 3), "without -n: the folder's own N, not the config's 100"


# ── 6. the folder lock sweeps what killed commands staged ──────────────────────────────────────


def test_curation_sweeps_the_staged_files_of_killed_commands(out: Path, config_path: Path, tmp_path: Path) -> None:
    fix = fix_of(out, 4, tmp_path, (250, 0, 0))
    command = ["replace", out, 4, "--image", fix, "--config", config_path]
    assert killed_at(command, out, at=lambda kind, path: kind == "write" and path.endswith(".partial"))
    assert list(out.rglob(".*.partial")), "the kill left a staged file"
    replace(out, 6, fix_of(out, 6, tmp_path, (0, 250, 0)), config_path)  # another replacement sweeps it
    assert not list(out.rglob(".*.partial"))
    (out / ".index.html.99999.partial").write_bytes(b"half a gallery")  # as a killed export or run might leave
    (out / "metadata" / ".7.json.99999.partial").write_bytes(b"{")
    reroll(out, config_path, 2)
    assert not list(out.rglob(".*.partial"))


@pytest.mark.parametrize(
    ("code", "after", "words"),
    [(errno.EROFS, 0, "the file system is read-only"), (errno.ENOSPC, 1, "no space left on the device")],
)
def test_a_replace_the_disk_refuses_is_one_line_and_the_same_command_finishes_it(
    out: Path, config_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, after: int, words: str
) -> None:
    """A read-only mount before anything is written, a full disk after the demoted render is kept: one line each,
    and the same command then ends where an uninterrupted replacement does."""
    fix = fix_of(out, 3, tmp_path, (250, 0, 0))
    twin = tmp_path / "twin"
    shutil.copytree(out, twin)
    replace(twin, 3, fix, config_path)
    refuse_writes_under(out, code, monkeypatch, after)
    line = refused("replace", out, 3, "--image", fix, "--config", config_path)
    assert words in line and "run the same command again" in line, line
    monkeypatch.undo()
    replace(out, 3, fix, config_path)
    assert folder_bytes(out) == folder_bytes(twin)
