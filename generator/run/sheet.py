"""The contact sheet: every token on one grid, NEAREST-upscaled so a person can judge the collection at a glance."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

GAP_COLOUR = (24, 24, 28)
MAX_SCALE = 8  # 100 tokens → 10 columns of 24 px at 8× ≈ 2,000 px wide
MAX_SIDE = 4096  # 10,000 tokens stay at 1× (2,501 px, ~19 MB of RGB): within the run's memory budget


def contact_sheet(tiles: Sequence[np.ndarray | None]) -> Image.Image:
    """Tiles (h, w, 3) uint8 row-major on a square-ish grid, 1 px gaps, one integer scale for all; None stays dark."""
    height, width = next((tile.shape[:2] for tile in tiles if tile is not None), (24, 24))
    columns = math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    canvas = np.empty((rows * (height + 1) + 1, columns * (width + 1) + 1, 3), dtype=np.uint8)
    canvas[:] = GAP_COLOUR
    for n, tile in enumerate(tiles):
        if tile is None:
            continue
        top, left = 1 + (n // columns) * (height + 1), 1 + (n % columns) * (width + 1)
        canvas[top : top + height, left : left + width] = tile[..., :3]
    scale = max(1, min(MAX_SCALE, MAX_SIDE // max(canvas.shape[:2])))
    sheet = Image.fromarray(canvas)
    return sheet.resize((sheet.width * scale, sheet.height * scale), Image.Resampling.NEAREST)
