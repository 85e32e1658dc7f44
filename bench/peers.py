"""Adapters that run the open pixel-art cleaners on a render and return (24, 24, 3) uint8, each at its best settings.

Each gets what is known about the render: the grid (size cells across, so render/size screen pixels
a cell) and the palette where it takes one. Its output is then brought onto the palette the same
way for all: a NEAREST resize when its grid came out another size, and punkgen's CIELAB snap.
An adapter returns None when its package is not installed (the `bench` extra).

Run as a script, a peer converts a folder the way `punkgen pixelate` does (one process, start-up
and file I/O included), so bench/pixels.py can time both processes alike:

    python bench/peers.py unfake renders/ pixels/ palette.hex
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from generator.pixels.palette import Palette, read_palette

Adapter = Callable[[np.ndarray], np.ndarray]


def _fit(pixels: np.ndarray, size: int, palette: Palette) -> np.ndarray:
    """A peer's output as (size, size, 3) palette colours: scored like punkgen's, whatever grid it found."""
    pixels = np.ascontiguousarray(np.asarray(pixels)[..., :3], dtype=np.uint8)
    if pixels.shape[:2] != (size, size):
        pixels = np.asarray(Image.fromarray(pixels).resize((size, size), Image.Resampling.NEAREST))
    return palette.colors[palette.nearest(pixels)]


def make_proper_pixel_art(size: int, palette: Palette) -> Adapter | None:
    """proper-pixel-art: Canny + Hough mesh, one dominant colour a cell; its "palette" method quantizes to its own colours (76.7 %)."""
    try:
        from proper_pixel_art import PixelateConfig, pixelate
    except ImportError:
        return None

    def run(render: np.ndarray) -> np.ndarray:
        # pixel_width=21 (an int: 512/24 rounded); no 2× upscale (86.5 % vs 84.4 %, 4× faster); takes no palette: dominant colours, snapped
        config = PixelateConfig(pixel_width=round(render.shape[1] / size), initial_upscale_factor=1)
        return _fit(np.asarray(pixelate(Image.fromarray(render), config).image.convert("RGB")), size, palette)

    return run


def make_unfake(size: int, palette: Palette) -> Adapter | None:
    """unfake: every screen pixel onto the palette (RGB distance), then each 21-px block's dominant colour; whole blocks only."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    try:
        from unfake import process_image
    except ImportError:
        return None
    finally:  # unfake runs logging.basicConfig(level=INFO) on import: a log line a step, for every library
        root.setLevel(level)
        root.handlers[:] = handlers
    hexes = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in palette.colors.tolist()]

    def run(render: np.ndarray) -> np.ndarray:
        # manual_scale=21 (an int); the palette as fixed_palette (read only if max_colors < 256); snap_grid off (its crop kept 23 cells)
        result = asyncio.run(
            process_image(
                render,
                manual_scale=round(render.shape[1] / size),
                max_colors=min(len(palette), 255),
                fixed_palette=hexes,
                snap_grid=False,
            )
        )
        return _fit(result["image_array"], size, palette)

    return run


def make_ai2pixelart(size: int, palette: Palette) -> Adapter | None:
    """ai2pixelart's classical `clean` (not its neural model): a median of each cell's centre, quantized in CIELAB.

    It drops palette entries within 2 ΔE of another before quantizing (141 → 137 colours on the bench set).
    """
    try:
        from ai2pixelart import clean
    except ImportError:
        return None

    def run(render: np.ndarray) -> np.ndarray:
        # the exact pitch 512/24 = 21.33 (its own grid estimate found 24 to 192 cells) and the palette; defaults otherwise
        pitch = (render.shape[0] / size, render.shape[1] / size)
        return _fit(clean(render, palette=palette.colors, pitch=pitch).image, size, palette)

    return run


PEERS: dict[str, Callable[[int, Palette], Adapter | None]] = {
    "proper-pixel-art": make_proper_pixel_art,
    "unfake": make_unfake,
    "ai2pixelart": make_ai2pixelart,
}


def convert_folder(name: str, source: Path, target: Path, palette_path: Path, size: int = 24) -> None:
    """Every render in ``source`` → ``target/<name>.png`` through the peer ``name``."""
    run = PEERS[name](size, read_palette(palette_path))
    if run is None:
        raise SystemExit(f"{name} is not installed: pip install -e '.[bench]'")
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.png")):
        with Image.open(path) as image:
            Image.fromarray(run(np.asarray(image.convert("RGB")))).save(target / path.name)


if __name__ == "__main__":
    convert_folder(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
