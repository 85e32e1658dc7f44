"""Nouns' run-length encoding of one image, and its decoding as ``SVGRenderer.sol`` draws it.

An image is ``[palette index, top, right, bottom, left]`` (one byte each; ``right`` is one past the
last column) then ``(run length, colour index)`` byte pairs over the bounds' rows, left to right,
runs crossing row ends and capped at 255. Colour 0 is transparent. The quirks are the reference's,
kept so the bytes equal ``@nouns/sdk`` 1.2.0's: a colour enters the palette the first time any pixel
inside the bounds has it, *including* the RGB of a transparent pixel (which still encodes as 0), and
an empty image's bounds are ``0, 0, 0, 0`` with no runs.
"""

from __future__ import annotations

import numpy as np

from generator.errors import UserError

MAX_RUN = 255  # one byte
MAX_COLORS = 256  # colour indices are one byte, transparent included
HEADER = 5  # palette index and the four bounds


def new_palette() -> dict[str, int]:
    """A palette as the reference starts it: ``''`` (transparent) at index 0; hex ``rrggbb`` without '#' after."""
    return {"": 0}


def bounds(pixels: np.ndarray) -> tuple[int, int, int, int]:
    """``(top, right, bottom, left)`` of the visible pixels as the reference computes them (``right`` exclusive).

    Its loops stop at row 0 and at ``left < right``, so an empty image is ``(0, 0, 0, 0)`` and a single
    visible row or column keeps its own bounds."""
    shown = pixels[..., 3] != 0
    rows, columns = np.flatnonzero(shown.any(axis=1)), np.flatnonzero(shown.any(axis=0))
    bottom = int(rows[-1]) if len(rows) else 0
    top = int(rows[0]) if len(rows) else 0
    right = int(columns[-1]) if len(columns) else -1
    left = int(columns[0]) if len(columns) else 0
    return top, right + 1, bottom, left


def encode_image(pixels: np.ndarray, palette: dict[str, int], where: str = "the image") -> bytes:
    """``pixels`` (h, w, 4) as Nouns' RLE bytes, adding its new colours to ``palette`` in first-seen order;
    ``where`` names the collection when the palette outgrows a byte."""
    top, right, bottom, left = bounds(pixels)
    window = pixels[top : bottom + 1, left:right].reshape(-1, 4)
    indices = [_index(palette, pixel) for pixel in window]
    check_palette(palette, where)
    return bytes([0, top, right, bottom, left]) + _runs(indices)


def _index(palette: dict[str, int], pixel: np.ndarray) -> int:
    """The pixel's colour index, registering its RGB first even when it is transparent (the reference's order)."""
    color = bytes(pixel[:3].tolist()).hex()
    if color not in palette:
        palette[color] = len(palette)
    return 0 if pixel[3] == 0 else palette[color]


def _runs(indices: list[int]) -> bytes:
    out = bytearray()
    position = 0
    while position < len(indices):
        length = 1
        while position + length < len(indices) and length < MAX_RUN and indices[position + length] == indices[position]:
            length += 1
        out += bytes([length, indices[position]])
        position += length
    return bytes(out)


def check_palette(palette: dict[str, int], where: str) -> None:
    """Refuse a palette whose indices do not fit the format's one byte."""
    if len(palette) > MAX_COLORS:
        raise UserError(
            f"{where}: {len(palette) - 1} colours (transparent pixels' RGB included, as @nouns/sdk counts them); "
            f"Nouns' encoding holds {MAX_COLORS - 1}: redraw the images stored whole (1/1s, replaced tokens) in fewer colours"
        )


def drawn_runs(data: bytes) -> list[tuple[int, int, int, int]]:
    """``(x, y, width, colour)`` of each ``<rect>`` the renderer draws for ``data``, in order: runs fill the bounds'
    rows left to right and are cut where they wrap at ``right``; colour 0 draws nothing. The gas report ranks
    tokens by these (:mod:`.gas`), so this walk is the contract's, cut for cut."""
    if len(data) < HEADER:
        return []
    _, top, right, _, left = data[:HEADER]
    drawn, x, y = [], left, top
    for position in range(HEADER, len(data) - 1, 2):
        length, color = data[position], data[position + 1]
        while length:
            step = min(length, right - x)
            if color:
                drawn.append((x, y, step, color))
            x, length = x + step, length - step
            if x == right:
                x, y = left, y + 1
    return drawn


def decode_image(data: bytes, colors: list[str], side: int) -> np.ndarray:
    """The (side, side, 4) pixels ``data`` draws, walked as ``SVGRenderer.sol`` walks it (:func:`drawn_runs`)."""
    canvas = np.zeros((side, side, 4), dtype=np.uint8)
    for x, y, width, color in drawn_runs(data):
        canvas[y, x : x + width, :3] = np.frombuffer(bytes.fromhex(colors[color]), dtype=np.uint8)
        canvas[y, x : x + width, 3] = 255
    return canvas


def compose(images: list[bytes], colors: list[str], side: int) -> np.ndarray:
    """Images drawn in order, each over the last, as the renderer's ``<rect>``s stack (every pixel opaque or not)."""
    canvas = np.zeros((side, side, 4), dtype=np.uint8)
    for data in images:
        layer = decode_image(data, colors, side)
        shown = layer[..., 3] == 255
        canvas[shown] = layer[shown]
    return canvas
