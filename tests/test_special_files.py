"""Files that are not files: a FIFO, a link to /dev/zero, a file far too large. Every reader of a user's file refuses them
in one line before reading (a FIFO would block forever, holding the folder lock; /dev/zero would fill the memory), and
a token file of the folder replaced by one counts as damaged, never as something to read. Real processes with timeouts
where a regression would hang."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, collection_args, folder_bytes, made_collection, refused, run_cli
from PIL import Image

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and /dev/zero are POSIX")

HANG = 60  # seconds: far beyond a refusal (well under one), so a regression fails instead of hanging CI


def punkgen(*args: object) -> subprocess.CompletedProcess[str]:
    """``punkgen ARGS`` in its own process, killed after :data:`HANG` seconds (a ``TimeoutExpired`` fails the test)."""
    command = [sys.executable, "-m", "generator", *map(str, args)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=HANG, stdin=subprocess.DEVNULL)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture
def collection(config_path: Path, tmp_path: Path) -> Path:
    return made_collection(config_path, tmp_path / "out", 8)


def test_a_fifo_as_the_replacement_image_is_refused_at_once(collection: Path, config_path: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "fix.png"
    os.mkfifo(fifo)
    before = folder_bytes(collection)
    line = one_line(punkgen("replace", collection, 3, "--image", fifo, "--config", config_path))
    assert f"{fifo}: is a named pipe (FIFO), not a regular file" in line
    assert folder_bytes(collection) == before
    again = run_cli("replace", collection, 3, "--image", collection / "images" / "3.png", "--config", config_path)
    assert again.exit_code == 0, "the lock went with the refused process"


@pytest.mark.parametrize("table", ["mouth.csv", "collection.toml"])
def test_a_fifo_as_a_trait_table_or_the_config_is_refused_at_once(config_path: Path, table: str) -> None:
    path = config_path.parent / table
    path.unlink()
    os.mkfifo(path)
    line = one_line(punkgen("traits", "check", "--config", config_path))
    assert f"{path}: is a named pipe (FIFO), not a regular file; point to a saved file" in line


def test_a_link_to_dev_zero_as_the_replacement_image_is_refused(collection: Path, config_path: Path, tmp_path: Path) -> None:
    link = tmp_path / "fix.png"
    link.symlink_to("/dev/zero")
    before = folder_bytes(collection)
    line = refused("replace", collection, 3, "--image", link, "--config", config_path)
    assert f"{link} (→ /dev/zero): is a character device, not a regular file" in line
    assert folder_bytes(collection) == before


def test_a_link_to_dev_zero_as_a_one_of_one_is_refused(config_path: Path, tmp_path: Path) -> None:
    (config_path.parent / "king.png").symlink_to("/dev/zero")
    config_path.write_text(config_path.read_text() + '\n[[one_of_one]]\nimage = "king.png"\nattributes = { Type = "King" }\n')
    line = refused(*collection_args(config_path, tmp_path / "out", 10))
    assert "king.png (→ /dev/zero): is a character device" in line
    assert not (tmp_path / "out").exists()


def test_a_file_too_large_to_be_a_table_is_refused_before_it_is_read(config_path: Path) -> None:
    with (config_path.parent / "mouth.csv").open("a") as table:
        table.truncate(17 * 2**20)  # sparse: costs no disk
    line = refused("traits", "check", "--config", config_path)
    assert "mouth.csv: 17.0 MiB is more than punkgen reads from one such file (16.0 MiB)" in line


def test_a_hand_made_image_too_large_to_be_an_upscale_is_refused_before_decoding(config_path: Path, tmp_path: Path) -> None:
    Image.new("RGB", (24 * 200, 24 * 200), (30, 30, 40)).save(config_path.parent / "king.png")
    config_path.write_text(config_path.read_text() + '\n[[one_of_one]]\nimage = "king.png"\nattributes = { Type = "King" }\n')
    line = refused(*collection_args(config_path, tmp_path / "out", 10))
    assert "4800×4800 is neither 24×24 nor an exact upscale of it (k·24 square, k up to 128)" in line


@pytest.mark.slow
def test_token_files_replaced_by_a_fifo_or_dev_zero_are_damaged_not_read(collection: Path, config_path: Path) -> None:
    """A resume restores them, and ``verify`` names them, both without blocking or reading /dev/zero into memory."""
    before = folder_bytes(collection)
    (collection / "images" / "5.png").unlink()
    (collection / "images" / "5.png").symlink_to("/dev/zero")
    (collection / "metadata" / "6.json").unlink()
    os.mkfifo(collection / "metadata" / "6.json")
    result = punkgen("verify", collection, "--config", config_path)
    assert result.returncode == 4, result.stderr
    assert "metadata/6.json: a named pipe (FIFO), not a regular file" in result.stdout + result.stderr
    assert "images/5.png: a character device, not a regular file" in result.stdout + result.stderr
    resumed = punkgen(*collection_args(config_path, collection, 8))
    assert resumed.returncode == 0, resumed.stderr
    assert folder_bytes(collection) == before
    assert not (collection / "images" / "5.png").is_symlink()
    assert np.asarray(Image.open(collection / "images" / "5.png")).shape[:2] == (24, 24)


def test_a_fifo_among_the_training_originals_is_refused_at_once(tmp_path: Path) -> None:
    from test_dataset import write_originals

    write_originals(tmp_path / "src", 2)
    os.mkfifo(tmp_path / "src" / "3.png")
    line = one_line(punkgen("dataset", tmp_path / "src", tmp_path / "out", "--instance", "punk"))
    assert f"{tmp_path / 'src' / '3.png'}: is a named pipe (FIFO), not a regular file" in line
    assert not (tmp_path / "out").exists()


def test_the_replacement_image_is_checked_before_the_folder_lock(collection: Path, config_path: Path, tmp_path: Path) -> None:
    """With the folder held by another process, a FIFO as --image is still named (not "the folder is in use"): the image
    is read before the lock is taken, so a bad file can never hold the folder."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(collection)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        fifo = tmp_path / "fix.png"
        os.mkfifo(fifo)
        line = one_line(punkgen("replace", collection, 3, "--image", fifo, "--config", config_path))
        assert f"{fifo}: is a named pipe (FIFO), not a regular file" in line
    finally:
        holder.kill()
        holder.wait()


HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from generator.run.lock import folder_lock
with folder_lock(Path(sys.argv[1]), "a test"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_fifo_as_a_lora_file_is_refused_at_once(tmp_path: Path) -> None:
    lora = tmp_path / "punks.safetensors"
    os.mkfifo(lora)
    probe = "import sys; from pathlib import Path; from training import kohya; kohya.read(Path(sys.argv[1]))"
    result = subprocess.run(
        [sys.executable, "-c", probe, str(lora)], cwd=REPO, capture_output=True, text=True, timeout=HANG, stdin=subprocess.DEVNULL
    )
    assert f"UserError: {lora}: is a named pipe (FIFO), not a regular file" in result.stderr


@pytest.mark.slow
def test_a_fifo_in_place_of_the_gallery_or_a_one_of_one_file_never_blocks_a_run(config_path: Path, tmp_path: Path) -> None:
    """``--force`` reads index.html for punkgen's mark, a resume compares each 1/1's files: a FIFO in their place is not
    punkgen's, so it is never opened for a blocking read (the 1/1's is re-created, the gallery's kept as foreign)."""
    config_path.write_text(config_path.read_text() + '\n[[one_of_one]]\nimage = "king.png"\nattributes = { Type = "King" }\n')
    pixels = np.full((24, 24, 3), (30, 30, 40), dtype=np.uint8)
    pixels[4:20, 6:18] = (230, 180, 40)
    Image.fromarray(pixels).save(config_path.parent / "king.png")
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 8)).exit_code == 0
    one = next(int(p.stem) for p in (out / "metadata").glob("*.json") if "King" in p.read_text())
    before = (out / "metadata" / f"{one}.json").read_bytes()
    (out / "metadata" / f"{one}.json").unlink()
    os.mkfifo(out / "metadata" / f"{one}.json")
    resumed = punkgen(*collection_args(config_path, out, 8))
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "metadata" / f"{one}.json").read_bytes() == before
    os.mkfifo(out / "index.html")  # where export writes the gallery
    forced = punkgen(*collection_args(config_path, out, 8, "--force"))
    assert forced.returncode == 0, forced.stderr
    assert stat.S_ISFIFO(os.stat(out / "index.html").st_mode), "not punkgen's, so --force leaves it"


@pytest.mark.slow
def test_a_fifo_among_the_tokens_never_blocks_a_replacement(collection: Path, config_path: Path, tmp_path: Path) -> None:
    """replace redraws the contact sheet from every token's image: another token's image replaced by a FIFO is named
    in one line (never read), and once the run re-creates it, the same replace finishes."""
    fix = tmp_path / "fix.png"
    shutil.copy(collection / "images" / "4.png", fix)
    Image.fromarray(np.asarray(Image.open(fix).convert("RGB"))[:, ::-1]).save(fix)  # token 4, mirrored: new pixels
    (collection / "images" / "5.png").unlink()
    os.mkfifo(collection / "images" / "5.png")
    line = one_line(punkgen("replace", collection, 3, "--image", fix, "--config", config_path))
    assert f"{collection / 'images' / '5.png'}: is a named pipe (FIFO), not a regular file" in line
    assert punkgen(*collection_args(config_path, collection, 8)).returncode == 0
    assert punkgen("replace", collection, 3, "--image", fix, "--config", config_path).returncode == 0
    assert punkgen("verify", collection, "--config", config_path).returncode == 0


def test_a_link_to_dev_zero_as_the_placeholder_is_refused(collection: Path, config_path: Path, tmp_path: Path) -> None:
    placeholder = tmp_path / "unrevealed.png"
    placeholder.symlink_to("/dev/zero")
    line = one_line(punkgen("export", collection, "--config", config_path, "--car", "--placeholder", placeholder))
    assert str(placeholder) in line and "not a regular file" in line
