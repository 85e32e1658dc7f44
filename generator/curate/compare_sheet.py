"""The comparison sheet: each generated token beside its nearest original, one column per run, one row per token id.

A creator choosing a LoRA epoch looks for two things: tokens that stray from the originals' style, and tokens that
copy an original. So each token sits beside the original closest to it, with the number of pixels that differ
written under the pair (red: a near-copy, under ``[quality].min_training_distance``), and the runs of one plan sit
side by side on the same row. The rows are laid out in bands, side by side, so the sheet stays near square.

Labels are drawn with a 3×5 pixel font at 1×, before the upscale: they scale with the art (no font file, no
anti-aliasing, the same bytes on every machine), and the finished canvas goes through the contact sheet's own
drawing (:func:`generator.run.sheet.contact_sheet`: one integer NEAREST scale up to 8×, at most 2,048 px, an
indexed PNG) as its single tile.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from generator.run.sheet import GAP_COLOUR, contact_sheet

GLYPHS = {  # 3×5, rows top to bottom, '#' lit; letters are shown upper case, anything else as '?'
    "0": "###/#.#/#.#/#.#/###", "1": ".#./##./.#./.#./###", "2": "###/..#/###/#../###", "3": "###/..#/.##/..#/###",
    "4": "#.#/#.#/###/..#/..#", "5": "###/#../###/..#/###", "6": "###/#../###/#.#/###", "7": "###/..#/.#./.#./.#.",
    "8": "###/#.#/###/#.#/###", "9": "###/#.#/###/..#/###", "A": ".#./#.#/###/#.#/#.#", "B": "##./#.#/##./#.#/##.",
    "C": ".##/#../#../#../.##", "D": "##./#.#/#.#/#.#/##.", "E": "###/#../##./#../###", "F": "###/#../##./#../#..",
    "G": ".##/#../#.#/#.#/.##", "H": "#.#/#.#/###/#.#/#.#", "I": "###/.#./.#./.#./###", "J": "..#/..#/..#/#.#/.#.",
    "K": "#.#/#.#/##./#.#/#.#", "L": "#../#../#../#../###", "M": "#.#/###/###/#.#/#.#", "N": "##./#.#/#.#/#.#/#.#",
    "O": ".#./#.#/#.#/#.#/.#.", "P": "##./#.#/##./#../#..", "Q": ".#./#.#/#.#/##./.##", "R": "##./#.#/##./#.#/#.#",
    "S": ".##/#../.#./..#/##.", "T": "###/.#./.#./.#./.#.", "U": "#.#/#.#/#.#/#.#/###", "V": "#.#/#.#/#.#/#.#/.#.",
    "W": "#.#/#.#/###/###/#.#", "X": "#.#/#.#/.#./#.#/#.#", "Y": "#.#/#.#/.#./.#./.#.", "Z": "###/..#/.#./#../###",
    "-": ".../.../###/.../...", "_": ".../.../.../.../###", ".": ".../.../.../.../.#.", ":": ".../.#./.../.#./...",
    "#": "#.#/###/#.#/###/#.#", "/": "..#/..#/.#./#../#..", "?": "###/..#/.##/.../.#.", " ": ".../.../.../.../...",
    "(": "..#/.#./.#./.#./..#", ")": "#../.#./.#./.#./#..", "+": ".../.#./###/.#./...", "=": ".../###/.../###/...",
}  # fmt: skip
GLYPH_WIDTH, GLYPH_HEIGHT, ADVANCE = 3, 5, 4
LABEL = GLYPH_HEIGHT + 2  # a line of text with a pixel above and below
PAIR_GAP, RUN_GAP, ROW_GAP, BAND_GAP = 1, 4, 2, 12  # between a token and its original, runs, rows, bands
TOKEN_ID, DISTANCE, NAME, NEAR_COPY = (150, 150, 160), (235, 235, 240), (255, 210, 90), (255, 90, 90)


@dataclass(frozen=True)
class Pair:
    """One cell of the sheet: a token, the original closest to it, and how many pixels differ."""

    token: np.ndarray  # (S, S, 3) uint8
    original: np.ndarray
    distance: int
    near_copy: bool


def comparison_sheet(names: Sequence[str], token_ids: Sequence[int], rows: Sequence[Sequence[Pair]]) -> Image.Image:
    """The sheet: ``rows[i][r]`` is token ``token_ids[i]`` of run ``names[r]``; a header of run names tops each band."""
    side = rows[0][0].token.shape[0]
    pair_width = 2 * side + PAIR_GAP
    row_width = len(names) * pair_width + (len(names) - 1) * RUN_GAP
    row_height = side + LABEL
    bands = _band_count(len(rows), row_width, row_height)
    per_band = math.ceil(len(rows) / bands)
    height = LABEL + per_band * row_height + (per_band - 1) * ROW_GAP
    canvas = np.empty((height, bands * row_width + (bands - 1) * BAND_GAP, 3), dtype=np.uint8)
    canvas[:] = GAP_COLOUR
    for band in range(bands):
        left = band * (row_width + BAND_GAP)
        for run, name in enumerate(names):
            _write(canvas, name, 1, left + run * (pair_width + RUN_GAP), NAME, pair_width + RUN_GAP)
    for n, (token_id, pairs) in enumerate(zip(token_ids, rows, strict=True)):
        top = LABEL + (n % per_band) * (row_height + ROW_GAP)
        left = (n // per_band) * (row_width + BAND_GAP)
        for run, pair in enumerate(pairs):
            _draw_pair(canvas, pair, token_id, top, left + run * (pair_width + RUN_GAP))
    return contact_sheet([canvas])


def _band_count(rows: int, row_width: int, row_height: int) -> int:
    """How many bands of rows side by side make the longest side of the sheet shortest (so its scale largest)."""

    def longest_side(bands: int) -> int:
        per_band = math.ceil(rows / bands)
        return max(bands * (row_width + BAND_GAP), LABEL + per_band * (row_height + ROW_GAP))

    return min(range(1, rows + 1), key=longest_side)


def _draw_pair(canvas: np.ndarray, pair: Pair, token_id: int, top: int, left: int) -> None:
    """The token, its nearest original to the right, and under them the token id (left, dim) and the distance
    (right, red for a near-copy)."""
    side = pair.token.shape[0]
    canvas[top : top + side, left : left + side] = pair.token
    right = left + side + PAIR_GAP
    canvas[top : top + side, right : right + side] = pair.original
    _write(canvas, str(token_id), top + side + 1, left, TOKEN_ID, side)
    distance = str(pair.distance)
    _write(
        canvas,
        distance,
        top + side + 1,
        right + side - len(distance) * ADVANCE + 1,
        NEAR_COPY if pair.near_copy else DISTANCE,
        side,
    )


def _write(canvas: np.ndarray, text: str, top: int, left: int, colour: tuple[int, int, int], width: int) -> None:
    """``text`` in the pixel font, cut to the characters that fit in ``width`` pixels and on the canvas."""
    width = min(width, canvas.shape[1] - left)
    for n, char in enumerate(text.upper()[: (width + 1) // ADVANCE]):
        rows = GLYPHS.get(char, GLYPHS["?"]).split("/")
        lit = np.array([[mark == "#" for mark in row] for row in rows])
        x = left + n * ADVANCE
        canvas[top : top + GLYPH_HEIGHT, x : x + GLYPH_WIDTH][lit] = colour
