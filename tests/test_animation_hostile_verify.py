"""``verify`` against animations damaged the ways files get damaged: cut short by a full disk or an interrupted copy,
a byte flipped, the loop extension stripped by an optimiser. Each is one named difference (exit 4), never a
traceback, and the same ``collection`` command restores the GIF its manifest records.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from animated_art import animate_folder, animate_strip
from conftest import REPO, collection_args, run_cli

N = 12
FIX = "run the same `punkgen collection` command again to rewrite it"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(collection folder, config) of a finished animated sprite collection."""
    root = tmp_path_factory.mktemp("animated")
    shutil.copytree(REPO / "traits", root / "traits")
    animate_strip(root / "traits")
    animate_folder(root / "traits")
    config, out = root / "traits" / "collection.toml", root / "out"
    assert run_cli(*collection_args(config, out, N)).exit_code == 0
    return out, config


def damaged_copy(made: tuple[Path, Path], tmp_path: Path, damage: Callable[[bytes], bytes]) -> tuple[Path, Path, bytes]:
    """A copy of the collection whose first GIF is ``damage(bytes)``; returns (folder, that GIF, its true bytes)."""
    out = tmp_path / "out"
    shutil.copytree(made[0], out)
    gif = sorted((out / "animations").glob("*.gif"), key=lambda p: int(p.stem))[0]
    original = gif.read_bytes()
    gif.write_bytes(damage(original))
    return out, gif, original


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-30],
        lambda data: data[: len(data) // 2],
        lambda data: data[:-1] + b",",  # the trailer turned into the start of a frame that never comes
    ],
    ids=["cut 30 bytes short", "cut in half", "trailer turned into a frame"],
)
def test_a_corrupt_gif_is_one_named_difference_and_a_resume_restores_it(
    made: tuple[Path, Path], tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    out, gif, original = damaged_copy(made, tmp_path, damage)
    result = run_cli("verify", out, "--config", made[1])
    assert result.exit_code == 4 and "Traceback" not in result.output, result.output
    assert f"{gif}: not a GIF punkgen wrote (" in result.output and f"); {FIX}" in result.output
    assert run_cli(*collection_args(made[1], out, N)).exit_code == 0
    assert gif.read_bytes() == original


def without_loop_extension(data: bytes) -> bytes:
    """The GIF as an optimiser may leave it: the NETSCAPE2.0 block (19 bytes from its 0x21 0xFF introducer) gone."""
    start = data.index(b"NETSCAPE2.0") - 3
    return data[:start] + data[start + 19 :]


def looping_three_times(data: bytes) -> bytes:
    at = data.index(b"NETSCAPE2.0") + 13  # the block's loop count, little-endian
    return data[:at] + (3).to_bytes(2, "little") + data[at + 2 :]


@pytest.mark.parametrize(
    ("damage", "plays"),
    [(without_loop_extension, "once (no loop extension)"), (looping_three_times, "3 more time(s) after the first")],
    ids=["no loop extension", "loops three times"],
)
def test_a_gif_that_does_not_loop_for_ever_says_how_it_plays(
    made: tuple[Path, Path], tmp_path: Path, damage: Callable[[bytes], bytes], plays: str
) -> None:
    out, gif, _ = damaged_copy(made, tmp_path, damage)
    result = run_cli("verify", out, "--config", made[1])
    assert result.exit_code == 4
    assert f"{gif}: plays {plays} instead of looping for ever; {FIX}" in result.output
