"""The run's reports: the contact sheet (every token on one grid, NEAREST-upscaled so a person can judge the
collection at a glance) and ``rejects.csv``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from generator.errors import UserError
from generator.files import write_atomic
from generator.images import IMAGE_ERRORS, encode_png, open_user_image, pack_rgb
from generator.run.folder import REJECTS, SHEET, animation_path, image_path, metadata_path
from generator.run.manifest import REJECTED, History, rejects_csv

GAP_COLOUR = (24, 24, 28)
MAX_SCALE = 8  # 100 tokens → 10 columns of 24 px at 8× ≈ 2,000 px wide
SHEET_ZLIB_LEVEL = 3  # a report, not a token: faster than the default 6 for +6 % bytes
# Wider than a screen, a sheet is shrunk by the viewer, which smooths away the pixels the upscale kept (and 1,000
# tokens at 5×, 4,005², cost 0.15 s to draw and encode); 2,048 fits a screen at 100 %: 1,000 tokens at 2×, 10,000 at 1×.
MAX_SIDE = 2048


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
    sheet = _indexed(canvas)
    return sheet.resize((sheet.width * scale, sheet.height * scale), Image.Resampling.NEAREST)


def _indexed(canvas: np.ndarray) -> Image.Image:
    """The canvas as a palette image where it has at most 256 colours (a palette-snapped collection always has): the
    same pixels, with a third of the bytes to filter and compress (1,000 tokens: 0.16 → 0.04 s, and a smaller file).

    Pillow counts the colours (a C hash table: 2 ms for 1,000 tokens, where finding them in the pixels with numpy took
    30 ms), and each pixel's index is looked up in a table of every 24-bit colour: allocated lazily by the OS, so only
    the pages of the colours present are ever touched (a sorted search made an 8-byte index per pixel: +30 MB)."""
    image = Image.fromarray(canvas)
    found = image.getcolors(256)
    if found is None:
        return image
    colours = np.array(sorted(colour for _, colour in found), dtype=np.uint8)
    lookup = np.zeros(1 << 24, dtype=np.uint8)
    lookup[pack_rgb(colours)] = np.arange(len(colours))
    sheet = Image.fromarray(lookup[pack_rgb(canvas)], "P")
    sheet.putpalette(colours.tobytes())
    return sheet


def write_reports(folder: Path, token_ids: list[int], history: History, tiles: dict[int, np.ndarray]) -> None:
    """The contact sheet (tokens in id order, failed ones as dark tiles) and rejects.csv; stale files of failed
    tokens go. After a run, a reroll or a replacement."""
    for token_id in token_ids:  # a killed run may have left files of an attempt that a later round demoted
        if token_id not in history.accepted:
            image_path(folder, token_id).unlink(missing_ok=True)
            metadata_path(folder, token_id).unlink(missing_ok=True)
            animation_path(folder, token_id).unlink(missing_ok=True)
    sheet = contact_sheet([_tile(folder, t, tiles, history) for t in token_ids])
    write_atomic(folder / SHEET, encode_png(sheet, level=SHEET_ZLIB_LEVEL))
    if any(record["verdict"] == REJECTED for record in history.records):
        write_atomic(folder / REJECTS, rejects_csv(history))


def _tile(folder: Path, token_id: int, tiles: dict[int, np.ndarray], history: History) -> np.ndarray | None:
    """This run's pixels from memory; tokens finished by an earlier run are read back from disk; failed ones are None."""
    if token_id not in history.accepted:
        return None
    if token_id not in tiles:
        path = image_path(folder, token_id)
        fix = "restore it from a backup, or run the same `punkgen collection` command again to re-create it"
        try:
            with open_user_image(path, fix) as image:  # a FIFO or a link to /dev/zero there is never read
                tiles[token_id] = np.asarray(image.convert("RGB"))
        except IMAGE_ERRORS:
            raise UserError(f"{path}: not a readable image; {fix}") from None
    return tiles[token_id]
