"""``replace`` and ``reroll`` killed (SIGKILL) at every change they make to the folder, then run again: each kill
point ends byte-identical to an uninterrupted run, with every demoted image kept under rejected/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import collection_args, folder_bytes, run_cli
from crash_points import killed_at
from PIL import Image

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills a forked child")


def touched(folder: Path, token_id: int, tmp_path: Path, name: str, colour: tuple[int, int, int]) -> Path:
    """An artist's fix of the token's current image: one pixel painted ``colour``."""
    pixels = np.asarray(Image.open(folder / "images" / f"{token_id}.png").convert("RGB")).copy()
    pixels[1, 1] = colour
    Image.fromarray(pixels).save(tmp_path / name)
    return tmp_path / name


@pytest.fixture
def curated(config_path: Path, tmp_path: Path) -> Path:
    """8 sprite tokens, token 3 replaced once and token 5 rerolled once: what curates them next demotes a
    replacement (3) and a rerolled render (5), so replace→replace, replace→reroll, reroll→replace and reroll→reroll
    are all swept."""
    out = tmp_path / "base"
    assert run_cli(*collection_args(config_path, out, 8)).exit_code == 0
    fix = touched(out, 3, tmp_path, "fix-3.png", (250, 0, 0))
    assert run_cli("replace", out, 3, "--image", fix, "--config", config_path).exit_code == 0
    assert run_cli("reroll", out, 5, "--config", config_path, "--backend", "sprites", "--traits").exit_code == 0
    return out


def sweep(base: Path, command: list[object], work: Path) -> tuple[dict[str, bytes], int]:
    """Kill ``command`` (its folder written ``{out}``) at each change in turn on a fresh copy of ``base`` (under ``work``), run it again whole, and
    compare with an uninterrupted run; returns that run's files and how many kill points there were."""

    def on(folder: Path) -> list[object]:
        return [folder if arg == "{out}" else arg for arg in command]

    whole = work / "whole"
    shutil.copytree(base, whole)
    result = run_cli(*on(whole))
    assert result.exit_code == 0, result.output
    expected = folder_bytes(whole)
    point = 0
    while True:
        point += 1
        killed = work / f"killed-{point}"
        shutil.copytree(base, killed)
        if not killed_at(on(killed), killed, point):
            break
        rerun = run_cli(*on(killed))
        assert rerun.exit_code == 0, (point, rerun.output)
        assert folder_bytes(killed) == expected, f"killed at change {point}, then run again"
        shutil.rmtree(killed)
    return expected, point - 1


@pytest.mark.slow
def test_replace_killed_anywhere_then_run_again_keeps_every_image(curated: Path, config_path: Path, tmp_path: Path) -> None:
    before = folder_bytes(curated)
    for token_id in (5, 3):  # a rerolled render replaced, then a replacement replaced
        fix = touched(curated, token_id, tmp_path, f"again-{token_id}.png", (0, 0, 250))
        command = ["replace", "{out}", token_id, "--image", fix, "--config", config_path]
        files, points = sweep(curated, command, tmp_path / f"replace-{token_id}")
        assert points >= 15
        kept = "rejected/5-1.png" if token_id == 5 else "rejected/3-replacement-1.png"
        assert files[kept] == before[f"images/{token_id}.png"], "the image it replaced is kept"
        assert all(files[name] == data for name, data in before.items() if name.startswith("rejected/")), "and the others"


@pytest.mark.slow
def test_reroll_killed_anywhere_then_run_again_keeps_every_image(curated: Path, config_path: Path, tmp_path: Path) -> None:
    before = folder_bytes(curated)
    command = ["reroll", "{out}", 3, 5, "--config", config_path, "--backend", "sprites", "--traits", "--quiet"]
    files, points = sweep(curated, command, tmp_path / "reroll")
    assert points >= 20
    assert files["rejected/3-replacement-1.png"] == before["images/3.png"], "the replacement it rerolled is kept"
    assert files["rejected/5-1.png"] == before["images/5.png"], "the render it rerolled is kept"
    assert all(files[name] == data for name, data in before.items() if name.startswith("rejected/")), "and the others"
