"""Images punkgen cannot represent exactly: 16-bit, animated, CMYK, a header claiming a huge image. Hand-made token art
(a replacement, a 1/1, a layer) must be exact, so those are refused in one line unless every value maps exactly; a
render from a UI is converted correctly (16-bit greyscale scaled, not clipped) or, where it cannot be, named."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, collection_args, folder_bytes, made_collection, refused, run_cli
from PIL import Image
from test_import_backend import import_args


def png16(path: Path, pixels: np.ndarray) -> Path:
    """A PNG with 16 bits per channel, written by hand (Pillow writes 16-bit greyscale only): (H, W) grey or (H, W, 3)."""
    height, width = pixels.shape[:2]
    colour_type = 0 if pixels.ndim == 2 else 2
    rows = pixels.astype(">u2").reshape(height, -1)
    raw = b"".join(b"\0" + row.tobytes() for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def token_art(seed: int = 3) -> np.ndarray:
    """24×24 greys, every one an 8-bit value (so its 16-bit form ×257 maps back exactly)."""
    return np.random.default_rng(seed).integers(0, 256, (24, 24), dtype=np.uint16)


@pytest.fixture
def collection(config_path: Path, tmp_path: Path) -> Path:
    return made_collection(config_path, tmp_path / "out", 8)


def replace_refused(collection: Path, config_path: Path, image: Path) -> str:
    before = folder_bytes(collection)
    line = refused("replace", collection, 3, "--image", image, "--config", config_path)
    assert folder_bytes(collection) == before
    return line


# ── hand-made art: exact or refused ──────────────────────────────────────────────────────────────


def test_a_16_bit_greyscale_replacement_with_in_between_shades_is_refused(
    collection: Path, config_path: Path, tmp_path: Path
) -> None:
    grey = token_art() * 257
    grey[5, 5] += 1  # one shade between two 8-bit ones
    Image.fromarray(grey.astype(np.uint16)).save(tmp_path / "fix.png")  # Pillow's I;16: once clipped to black and white
    line = replace_refused(collection, config_path, tmp_path / "fix.png")
    assert "is 16-bit greyscale with shades between 8-bit ones" in line and "export it with 8 bits per channel" in line


def test_a_16_bit_greyscale_replacement_that_maps_exactly_is_taken_as_its_8_bit_greys(
    collection: Path, config_path: Path, tmp_path: Path
) -> None:
    Image.fromarray((token_art() * 257).astype(np.uint16)).save(tmp_path / "fix.png")
    result = run_cli("replace", collection, 3, "--image", tmp_path / "fix.png", "--config", config_path)
    assert result.exit_code == 0, result.output
    written = np.asarray(Image.open(collection / "images" / "3.png").convert("RGB"))
    assert np.array_equal(written, np.repeat(token_art()[..., None], 3, axis=2).astype(np.uint8))


def test_a_16_bit_colour_replacement_is_refused(collection: Path, config_path: Path, tmp_path: Path) -> None:
    rgb = np.repeat(token_art()[..., None], 3, axis=2) * 257
    line = replace_refused(collection, config_path, png16(tmp_path / "fix.png", rgb))
    assert "has 16 bits per channel, which a token's 8-bit colours cannot hold exactly" in line


def test_an_animated_one_of_one_is_refused(config_path: Path, tmp_path: Path) -> None:
    frames = [Image.fromarray(np.full((24, 24, 3), shade, np.uint8)) for shade in (40, 200)]
    frames[0].save(config_path.parent / "king.gif", save_all=True, append_images=frames[1:], duration=100)
    config_path.write_text(config_path.read_text() + '\n[[one_of_one]]\nimage = "king.gif"\nattributes = { Type = "King" }\n')
    line = refused(*collection_args(config_path, tmp_path / "out", 10))
    assert "king.gif: is animated (2 frames); give one still image" in line


def test_an_animated_png_replacement_is_refused(collection: Path, config_path: Path, tmp_path: Path) -> None:
    frames = [Image.fromarray(np.full((24, 24, 3), shade, np.uint8)) for shade in (40, 200)]
    frames[0].save(tmp_path / "fix.png", save_all=True, append_images=frames[1:])
    assert "is animated (2 frames)" in replace_refused(collection, config_path, tmp_path / "fix.png")


def test_a_cmyk_replacement_is_refused(collection: Path, config_path: Path, tmp_path: Path) -> None:
    Image.new("CMYK", (24, 24), (0, 80, 160, 20)).save(tmp_path / "fix.tif")
    line = replace_refused(collection, config_path, tmp_path / "fix.tif")
    assert "its CMYK pixels have no exact 8-bit RGB equivalent" in line


def test_a_16_bit_layer_is_refused(config_path: Path) -> None:
    layer = config_path.parent / "layers" / "eyes" / "Blue.png"
    alpha = np.asarray(Image.open(layer).convert("RGBA"))[..., 3]
    grey = alpha.astype(np.uint16) * 257
    grey[alpha > 0] -= 1  # shades between 8-bit ones
    Image.fromarray(grey).save(layer)
    assert "Blue.png: is 16-bit greyscale with shades between 8-bit ones" in refused("traits", "check", "--config", config_path)


# ── renders from a UI: converted correctly, or named ─────────────────────────────────────────────


def blank_reason(out: Path) -> str:
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    return next(reason for reason in records[0]["reasons"] if reason.startswith("blank"))


def test_a_16_bit_greyscale_render_is_scaled_not_clipped(config_path: Path, tmp_path: Path) -> None:
    renders = tmp_path / "renders"
    renders.mkdir()
    Image.fromarray(np.full((64, 64), 100 * 257, np.uint16)).save(renders / "1.png")  # 8-bit grey 100, as 16 bits
    assert run_cli(*import_args(config_path, tmp_path / "out", renders)).exit_code == 5
    assert "mean 100" in blank_reason(tmp_path / "out"), "convert('RGB') clipped it to 255 (white)"


def test_a_render_whose_header_claims_a_huge_image_is_named_not_waited_for(config_path: Path, tmp_path: Path) -> None:
    renders = tmp_path / "renders"
    renders.mkdir()
    bomb = png16(renders / "2-0.png", np.zeros((2, 2), np.uint16)).read_bytes()
    ihdr = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 0, 0, 0, 0)  # 400 M pixels claimed by a few bytes
    patched = bomb[:8] + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + bomb[33:]
    (renders / "2-0.png").write_bytes(patched)
    line = refused(*import_args(config_path, tmp_path / "out", renders))
    assert f"{renders / '2-0.png'}: Image size (400000000 pixels) exceeds limit" in line
    assert "it is no render of this collection, move it out of the renders folder" in line


def test_an_animated_render_is_named(config_path: Path, tmp_path: Path) -> None:
    renders = tmp_path / "renders"
    renders.mkdir()
    frames = [Image.fromarray(np.full((64, 64, 3), shade, np.uint8)) for shade in (40, 200)]
    frames[0].save(renders / "1.webp", save_all=True, append_images=frames[1:])
    assert f"{renders / '1.webp'}: is animated (2 frames)" in refused(*import_args(config_path, tmp_path / "out", renders))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_among_the_renders_is_named_at_once(config_path: Path, tmp_path: Path) -> None:
    renders = tmp_path / "renders"
    renders.mkdir()
    os.mkfifo(renders / "1.png")
    command = [sys.executable, "-m", "generator", *import_args(config_path, tmp_path / "out", renders)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    assert f"{renders / '1.png'}: is a named pipe (FIFO), not a regular file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's notes on the damaged tags
def test_a_damaged_tiff_whose_frames_cannot_be_counted_is_one_line(collection: Path, config_path: Path, tmp_path: Path) -> None:
    """Three bytes of a CMYK TIFF changed (found by flipping bytes): counting its frames raised TypeError."""
    pixels = np.random.default_rng(0).integers(0, 255, (24, 24, 3), dtype=np.uint8)
    Image.fromarray(pixels).convert("CMYK").save(tmp_path / "fix.tif")
    data = bytearray((tmp_path / "fix.tif").read_bytes())
    for offset, value in ((8, 0o132), (1078, 0o342), (2264, 0o351)):
        data[offset] = value
    (tmp_path / "fix.tif").write_bytes(bytes(data))
    assert f"{tmp_path / 'fix.tif'}: not a readable image" in replace_refused(collection, config_path, tmp_path / "fix.tif")
