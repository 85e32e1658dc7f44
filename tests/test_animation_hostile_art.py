"""Animated art as artists hand it over, the awkward ways: a bottom layer that flickers, a frame folder with files it
does not read. Each is drawn and animated exactly, or refused in one line naming the file; nothing is silently
dropped.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from animated_art import animate_folder, animate_strip
from conftest import REPO, collection_args, folder_bytes, manifest_records, refused, run_cli
from depth_art import art_path, trait_folder
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


def pipe_folder(config: Path) -> Path:
    return config.parent / "layers" / "accessory" / "Pipe"


@pytest.mark.parametrize(
    ("stray", "source"),
    [("00.png", "0.png"), ("1.PNG", "1.png"), ("3.gif", "1.png"), ("smoke.png", "1.png")],
    ids=["zero-padded beside 0.png", "upper-case extension", "a GIF frame", "a named PNG"],
)
def test_a_file_in_a_folder_of_frames_that_is_no_frame_is_refused_naming_it(tmp_path: Path, stray: str, source: str) -> None:
    """Every file an artist may mean as a frame is read or refused: 00.png beside 0.png was left out in silence."""
    config = animated_traits(tmp_path)
    folder = pipe_folder(config)
    shutil.copyfile(folder / source, folder / stray)
    (folder / ".DS_Store").write_bytes(b"\0")  # the system's, not the artist's: never named
    line = refused(*collection_args(config, tmp_path / "out", N))
    assert line == (
        f"Error: {folder / stray}: not a frame's name; name a value's frames 0.png, 1.png, … (PNG, lower-case .png, "
        "no leading zeros) and keep nothing else in its folder"
    )
    assert not (tmp_path / "out").exists()


def test_zero_padded_frames_are_refused_naming_the_first(tmp_path: Path) -> None:
    config = animated_traits(tmp_path)
    folder = pipe_folder(config)
    for number in range(3):
        (folder / f"{number}.png").rename(folder / f"0{number}.png")
    assert refused(*collection_args(config, tmp_path / "out", N)).startswith(f"Error: {folder / '00.png'}: not a frame's name")


@pytest.mark.parametrize("first", [0, 1], ids=["frames from 0.png", "frames from 1.png"])
def test_a_file_beside_a_folder_of_frames_is_refused_however_they_are_numbered(tmp_path: Path, first: int) -> None:
    """``Pipe.png`` beside ``Pipe/1.png, 2.png`` drew the still and dropped the folder without a word."""
    config = animated_traits(tmp_path)
    folder = pipe_folder(config)
    shutil.copyfile(folder / "0.png", folder.with_suffix(".png"))
    if first:
        (folder / "0.png").unlink()
    line = refused(*collection_args(config, tmp_path / "out", N))
    assert (
        line
        == f"Error: {folder.with_suffix('.png')} and {folder}/ both draw the value; keep one (a strip, or a folder of frames)"
    )


def test_a_parts_folder_of_frames_without_0_png_is_refused_not_left_undrawn(tmp_path: Path) -> None:
    """A part's value whose frames folder lacks 0.png was taken for a value without that part, and drew nothing."""
    folder = tmp_path / "traits"
    config = trait_folder(folder)
    back = art_path(folder, "hat", "back", "Cap")
    frames = back.with_suffix("")
    frames.mkdir()
    shutil.move(back, frames / "1.png")
    shutil.copyfile(frames / "1.png", frames / "2.png")
    line = refused("collection", "--config", config, "--out", tmp_path / "out", "--quiet")
    assert line == f"Error: {frames}/: frame 0.png is missing; number a value's frames 0.png, 1.png, … without gaps"


def test_traits_check_names_a_folder_of_frames_not_a_png_that_does_not_exist(tmp_path: Path) -> None:
    """Pipe's lit frame (1.png) has a colour the palette lacks, and an opaque frame 0 hides every layer below: both
    warnings named ``Pipe.png``, which a folder-drawn value does not have; they name ``Pipe/``."""
    config = animated_traits(tmp_path)
    folder = pipe_folder(config)
    result = run_cli("traits", "check", "--config", config)
    assert f"warning: {folder}/: 1 colour not in {config.parent / 'palette.hex'}: #fafafa" in result.output
    Image.new("RGBA", (24, 24), (10, 10, 10, 255)).save(folder / "0.png")
    result = run_cli("traits", "check", "--config", config)
    opaque = [line for line in result.output.splitlines() if line.startswith(f"warning: {folder}/: ")]
    assert any("opaque" in line for line in opaque), result.output
    assert f"{folder}.png" not in result.output


def colourful_smoke(folder: Path, shades: int) -> None:
    """Pipe made common (so a few tokens smoke), and its frames 1 and 2 get a 12×12 cloud of ``shades`` levels per channel: 256 levels give every token that
    smokes far more than a GIF's 256 colours across its frames; 2 levels are 8 colours."""
    table = folder.parent.parent.parent / "accessory.csv"
    table.write_text(table.read_text().replace("Pipe,5,", "Pipe,60,"))
    rng = np.random.default_rng(7)
    for number in (1, 2):
        pixels = np.asarray(Image.open(folder / f"{number}.png")).copy()
        pixels[:12, :12, :3] = rng.integers(0, shades, (12, 12, 3)) * (255 // max(shades - 1, 1))
        pixels[:12, :12, 3] = 255
        Image.fromarray(pixels, "RGBA").save(folder / f"{number}.png")


def test_a_token_past_256_colours_is_refused_before_any_write_so_fixed_art_just_runs(tmp_path: Path) -> None:
    """Found mid-run, the refusal left run.json behind; the fixed art then no longer matched it and the same command
    asked for --force. Refused with the frame cap before any write, the same command after the fix simply runs."""
    config = animated_traits(tmp_path)
    out = tmp_path / "out"
    colourful_smoke(pipe_folder(config), 256)
    line = refused(*collection_args(config, out, N))
    assert "accessory 'Pipe' (3 frames) give a token " in line
    assert "more than a GIF's 256; draw the strips (or the layers under them) with fewer colours" in line
    assert not out.exists(), "nothing written"
    colourful_smoke(pipe_folder(config), 2)
    result = run_cli(*collection_args(config, out, N))
    assert result.exit_code == 0, result.output
    assert any(r["traits"]["accessory"] == "Pipe" for r in manifest_records(out)), "a smoker was made"


def test_traits_check_refuses_a_planned_token_past_256_colours(tmp_path: Path) -> None:
    config = animated_traits(tmp_path)
    colourful_smoke(pipe_folder(config), 256)
    line = refused("traits", "check", "--config", config)
    assert "accessory 'Pipe' (3 frames) give a token " in line and "more than a GIF's 256" in line


def smoke_past_256_colours(config: Path) -> str:
    colourful_smoke(pipe_folder(config), 256)
    table = config.parent / "accessory.csv"
    table.write_text(table.read_text().replace("Pipe,60,", "Pipe,5,"))  # rare again: the first plan has no smoker
    return "more than a GIF's 256"


def brown_eyes_and_pipe_past_the_cap(config: Path) -> str:
    config.write_text(config.read_text() + "\n[animation]\nmax_frames = 11\n")  # Brown eyes (4) with a Pipe (3): 12
    return "animate together over 12 frames, more than [animation].max_frames = 11"


@pytest.mark.parametrize("art", [smoke_past_256_colours, brown_eyes_and_pipe_past_the_cap], ids=["colours", "frame cap"])
def test_reroll_with_new_traits_refuses_a_drawn_set_past_the_limits_before_any_write(
    tmp_path: Path, art: Callable[[Path], str]
) -> None:
    """The plan's sets were checked before the run, but a reroll's fresh ones were not: one past a GIF's colours was
    refused mid-render, leaving every rerolled token demoted and unfinished. Now a refusal leaves the folder as it
    was (rerolls repeat until one draws such a set: the draws are seeded, so the test is deterministic)."""
    config = animated_traits(tmp_path)
    expected = art(config)
    out = tmp_path / "out"
    assert run_cli(*collection_args(config, out, N)).exit_code == 0
    for _ in range(10):
        before = folder_bytes(out)
        result = run_cli("reroll", out, *range(1, N + 1), "--config", config, "--backend", "sprites", "--traits", "-n", N)
        if result.exit_code == 2:
            break
        assert result.exit_code == 0, result.output
    assert result.exit_code == 2 and expected in result.output and len(result.output.strip().splitlines()) == 1
    assert folder_bytes(out) == before, "nothing written"
    assert run_cli("verify", out, "--config", config).exit_code == 0
