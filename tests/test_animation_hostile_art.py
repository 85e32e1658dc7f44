"""Animated art as artists hand it over, the awkward ways: a bottom layer that flickers, a frame folder with files it
does not read. Each is drawn and animated exactly, or refused in one line naming the file; nothing is silently
dropped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from animated_art import animate_folder, animate_strip
from conftest import REPO, collection_args, manifest_records, run_cli
from PIL import Image, ImageSequence

N = 12


def animated_traits(root: Path) -> Path:
    """The shipped traits with the test strips (Brown eyes side by side, Pipe a folder); returns collection.toml."""
    traits = root / "traits"
    shutil.copytree(REPO / "traits", traits)
    animate_strip(traits)
    animate_folder(traits)
    return traits / "collection.toml"


def background_value(config: Path) -> Path:
    return sorted((config.parent / "layers" / "background").glob("*.png"))[0]


def recoloured(pixels: np.ndarray, shift: int) -> np.ndarray:
    other = pixels.copy()
    other[..., 0] ^= shift
    return other


def decoded(gif: Path) -> list[np.ndarray]:
    """The GIF's frames as they play at one step per frame (a merged frame repeated for its duration)."""
    with Image.open(gif) as image:
        frames = [(np.asarray(f.convert("RGB")), f.info["duration"]) for f in ImageSequence.Iterator(image)]
    step = min(duration for _, duration in frames)
    return [frame for frame, duration in frames for _ in range(duration // step)]


@pytest.mark.parametrize("later_frames", [1, 3], ids=["two-frame flicker", "frame 0 outvoted three to one"])
def test_a_background_strip_is_judged_by_its_still_and_every_token_animates(tmp_path: Path, later_frames: int) -> None:
    """The background's colour the quality filter asks for is frame 0's (the still's), so a flickering background
    whose other frames outnumber frame 0 rejects no token; each GIF frame shows that background frame."""
    config = animated_traits(tmp_path)
    path = background_value(config)
    still = np.asarray(Image.open(path).convert("RGBA"))
    frames = [still] + [recoloured(still, 0x40)] * later_frames
    Image.fromarray(np.concatenate(frames, axis=1), "RGBA").save(path)
    out = tmp_path / "out"
    result = run_cli(*collection_args(config, out, N))
    assert result.exit_code == 0, result.output
    wearing = [r["token_id"] for r in manifest_records(out) if r["traits"]["background"] == path.stem]
    assert wearing, "some token wears the flickering background"
    for token_id in wearing:
        played = decoded(out / "animations" / f"{token_id}.gif")
        corner = [tuple(frame[0, 0]) for frame in played]  # the background shows in the top-left corner
        assert corner[: 1 + later_frames] == [tuple(f[0, 0, :3]) for f in frames]
