"""Ties between palette near-twins, broken by the colour the layers put at a cell: never a clear reading overridden.

A cell's mean carries noise that pooling cannot remove: texture at half-cell scale, what is left of
a drift, JPEG. Its σ, read from the cells themselves, is 1.5–3 levels on a real model's render, so
colours 4–9 levels apart (219,177,128 and 220,176,137 in the shipped palette; greys 4 apart in
dense ones) cannot be told apart cell by cell, and one cell in a few hundred flips. Where the
layers say which colour a cell should be, that colour is written when both hold:

- the reading is about as likely under it as under the colour read: the log-likelihood ratio of
  the two, under Gaussian noise of that σ, is at most :data:`TIE_LIKELIHOOD` (a reading within ~4.5 σ);
- the render agrees with the layers on that colour elsewhere: of the cells the layers paint it,
  at least as many read as it as read as anything else. Noise flips a few cells of a region; a
  trait rendered in another near-twin colour reads so in most of its cells, and is kept.

A trait swap (another eye colour, other hair) reads tens of levels from what the layers claim, far
beyond the first; a swap to a near-twin fails the second. Either comes out as rendered.
"""

from __future__ import annotations

import numpy as np

from generator.images import pack_rgb
from generator.pixels.cast import Cast
from generator.pixels.field import ROBUST_SIGMA
from generator.pixels.palette import Palette

TIE_LIKELIHOOD = 10.0  # the layers' colour may win where the colour read is at most e¹⁰ times likelier than it
LEAST_NOISE = 1.0  # levels: the least σ a cell reading is given (art read cleanly still breaks ties within a level)


def reading_noise(residuals: np.ndarray, trusted: np.ndarray) -> float:
    """σ in levels of one cell's reading about its colour's expected reading, per channel, robustly over the trusted
    cells (flips and edges aside)."""
    values = np.abs(residuals[trusted])
    return max(ROBUST_SIGMA * float(np.median(values)), LEAST_NOISE) if values.size else LEAST_NOISE


def break_ties(
    readings: np.ndarray, index: np.ndarray, palette: Palette, cast: Cast, expected: np.ndarray, noise: float
) -> np.ndarray:
    """``index`` (S, S) with each cell that reads its layers' colour (``expected``, (S, S, 3)) about as well as the colour
    read set to the layers' colour. A layers' colour off the palette is never written: nothing can read as it."""
    codes = _palette_index(palette, expected)
    differs = (codes >= 0) & (codes != index)
    if not differs.any():
        return index
    cells = readings[differs]
    read = cast.observe(palette.colors[index[differs]].astype(np.float64))
    claimed = cast.observe(palette.colors[codes[differs]].astype(np.float64))
    excess = ((cells - claimed) ** 2).sum(axis=-1) - ((cells - read) ** 2).sum(axis=-1)
    tied = np.zeros_like(differs)
    tied[differs] = excess <= 2 * TIE_LIKELIHOOD * noise**2
    tied &= _agreed(codes, index, len(palette))
    return np.where(tied, codes, index)


def _agreed(codes: np.ndarray, index: np.ndarray, colours: int) -> np.ndarray:
    """(S, S) where the layers' colour is read as itself at least as often as not, over the cells they paint it."""
    valid = codes >= 0
    painted = np.bincount(codes[valid], minlength=colours)
    matched = np.bincount(codes[valid & (codes == index)], minlength=colours)
    return valid & (2 * matched >= painted)[np.maximum(codes, 0)]


def _palette_index(palette: Palette, colors: np.ndarray) -> np.ndarray:
    """Each colour's row in the palette, −1 where it is none of them."""
    packed = pack_rgb(palette.colors)
    order = np.argsort(packed)
    wanted = pack_rgb(np.asarray(colors, dtype=np.uint8))
    position = np.clip(np.searchsorted(packed[order], wanted), 0, len(packed) - 1)
    found = order[position]
    return np.where(packed[found] == wanted, found, -1)
