"""Grid recovery: a render of pixel art (512×512, 512×768, …) → the S×S image it depicts, palette-exact.

``mode`` (default) runs the steps below, in order; ``nearest`` is the creator's original recipe
(a NEAREST downscale, then a per-pixel palette snap), kept for comparison. An image already S×S
(the sprite renderer's) is taken as drawn, its background measured: no pixel work at all.

1. :func:`find_grid`: per axis, the pitch is that side over S, as the art is stretched to fill the
   render (1024/24 = 42.67; a 512×768 render's cells are 21.33 wide and 32 tall: any pitch, not
   only integers); the offset is where the summed colour edges line up best with a comb of that
   period, so a render shifted by a few pixels is read on its own grid, with no hint needed.
2. :func:`cell_statistics`: each cell's mean and spread over its interior (the central 60 %);
   the soft borders, where blur and JPEG ringing live, are ignored.
3. :func:`colour_clusters`: cells pooled by colour, so ~170 pixels a cell times every cell of a
   colour average the noise away: that is what tells apart greys four levels apart.
4. :func:`fit_cast`: the render's per-channel gain and offset (:class:`Cast`), which knows that
   noise clipped at 0 or 255 lifts a black or lowers a white's mean, searched from many starts.
5. :func:`snap`: per cluster, the palette colour whose expected reading under the cast is nearest.
6. :func:`undrift`: a smooth drift across the image (a model's uneven lighting, :mod:`field`) fitted on the cells
   read with confidence and taken off every cell, the colours decided again.
7. :func:`ties.break_ties`: where the layers draw the claimed token, their colour wins a tie between palette
   near-twins the render cannot tell apart, never a clear reading.
8. :func:`find_background`: the border-connected region near the border's colour becomes exactly
   one colour: the background trait's when it is close, else the nearest palette colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from generator.config import PixelsSettings
from generator.images import pack_rgb, unpack_rgb
from generator.pixels.cast import HARDLY_CLIPPED, Cast, Clusters, colour_clusters, estimate_noise, fit_cast
from generator.pixels.field import fit_drift
from generator.pixels.palette import Palette, squared_distances, to_lab
from generator.pixels.ties import break_ties, reading_noise
from generator.schemas.declared import CONFIG

INTERIOR_MARGIN = 0.2  # of a cell, each side: 21.33 px cells keep their central ~13 px
OFFSET_STEP = 0.125  # px, grid offset search resolution
DRIFT_ROUNDS = 2  # field fits, each on the colours the last one decided (a third changed nothing on the bench)
EDGE_SPREAD = 2.0  # median cell spreads: cells spreading more (an edge, a detail) do not steer the field
BACKGROUND_TOLERANCE = 8.0  # ΔE76 from the border colour for a cell to join the background region


@dataclass(frozen=True)
class Grid:
    pitch: tuple[float, float]  # (y, x) screen pixels per logical pixel: two where a UI rendered W×H
    offset: tuple[float, float]  # (y, x) where cell 0 starts, in screen pixels


@dataclass(frozen=True)
class Recovery:
    pixels: np.ndarray  # (S, S, 3) uint8: the result
    means: np.ndarray  # (S, S, 3) float: cast- and drift-corrected cell estimates
    spread: np.ndarray  # (S, S) float: RMS deviation of each cell's interior from its mean, in levels
    snap_distance: np.ndarray  # (S, S) float: ΔE76 from each cell's estimate to the colour written
    background: np.ndarray  # (S, S) bool: border-connected background cells
    background_distance: float  # ΔE76 from the observed background to the one asked for (else to the one written)
    grid: Grid
    drawn: bool = False  # art its renderer drew at token size (see drawn_recovery): measured as it is, never snapped


def recover(
    image: np.ndarray,
    size: int,
    palette: Palette | None,
    method: str = PixelsSettings.method,
    expected_background: np.ndarray | None = None,
    expected: np.ndarray | None = None,
) -> Recovery:
    """``image`` (H, W, 3) uint8 → :class:`Recovery` at ``size``×``size``; without a palette, colours are only rounded.

    A render at ``size``×``size`` is still snapped (a grid of pitch 1): a model may draw at token size, off the
    palette. Art its renderer declares drawn at token size is not recovered at all: see :func:`drawn_recovery`.
    ``method`` is ``[pixels].method``'s value; any other string is refused, never read as the default.
    ``expected`` (S, S, 3): the token the layers draw for the claim, where there are layers; it breaks ties between
    palette near-twins the render cannot tell apart, never a clear reading (:func:`ties.break_ties`).
    """
    CONFIG.checked_choice("pixels", "method", method)
    if method == "nearest":
        return _recover_nearest(image, size, palette, expected_background)
    grid = find_grid(image, size)
    means, spread = cell_statistics(image, grid, size)
    if palette is None:  # nothing to snap to, so no cast to fit either: the cell colours, rounded
        colors, index = _own_colors(means)
        return _finish(means, to_lab(means), spread, colors, index, grid, expected_background)
    clusters = colour_clusters(means)
    cast = fit_cast(clusters, palette, estimate_noise(spread), _border_mean(means), expected_background)
    index = snap(clusters, palette, cast)
    means, index, noise = undrift(means, spread, palette, cast, index)
    if expected is not None:
        index = break_ties(means, index, palette, cast, expected, noise)
    corrected = cast.undo(means, index, palette)
    lab = to_lab(corrected)
    return _finish(corrected, lab, spread, palette, index, grid, expected_background)


def _own_colors(values: np.ndarray) -> tuple[Palette, np.ndarray]:
    """The rounded colours as a palette of their own, and each cell's index in it (rows sort as packed RGB)."""
    rounded = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    codes, index = np.unique(pack_rgb(rounded).ravel(), return_inverse=True)
    return Palette(unpack_rgb(codes)), index.reshape(rounded.shape[:-1])


def drawn_recovery(image: np.ndarray, expected: np.ndarray | None) -> Recovery:
    """Art drawn at token size (``Renderer.draws_at_token_size``): its exact pixels, measured as
    :func:`drawn_backgrounds` reads a block of them."""
    background, distance = drawn_backgrounds(image[None], [expected])
    zeros = np.zeros(image.shape[:2])
    return Recovery(
        image, image.astype(np.float64), zeros, zeros, background[0], float(distance[0]), Grid((1.0, 1.0), (0.0, 0.0)), True
    )


def drawn_backgrounds(images: np.ndarray, expected: Sequence[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Art at token size, (N, S, S, 3), as drawn: each one's background and how far its colour is from the asked-for one.

    The background is the border's most common colour, exactly, where it touches the border; the
    distance is ΔE76 from that colour to ``expected`` (0 where a token asks for none). A whole
    block is read at once: per token, numpy's call overhead on 24×24 arrays cost more than the work.
    """
    packed = pack_rgb(images)
    border = border_mask(images.shape[1])
    codes = _most_common(packed[:, border])
    background = touching_border(packed == codes[:, None, None], border)
    drawn = unpack_rgb(codes)
    asked = np.array([own if colour is None else colour for own, colour in zip(drawn, expected, strict=True)], dtype=np.uint8)
    differs = pack_rgb(asked) != codes
    distance = np.zeros(len(images))
    for n in np.flatnonzero(differs):  # one at a time: a matrix product rounds by batch size, and a block must not count
        distance[n] = np.linalg.norm(to_lab(drawn[n]) - to_lab(asked[n]))
    return background, distance


def _most_common(values: np.ndarray) -> np.ndarray:
    """Each row's most common value, the smallest among equals (as ``np.unique``'s counts would choose)."""
    ordered = np.sort(values, axis=1)
    position = np.arange(ordered.shape[1])
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    run_length = position - np.maximum.accumulate(np.where(starts, position, 0), axis=1)  # within each run, 0-based
    return ordered[np.arange(len(ordered)), run_length.argmax(axis=1)]


def border_mask(size: int) -> np.ndarray:
    border = np.zeros((size, size), dtype=bool)
    border[[0, -1], :] = border[:, [0, -1]] = True
    return border


def touching_border(mask: np.ndarray, border: np.ndarray) -> np.ndarray:
    """The parts of ``mask`` (…, S, S) 4-connected to the border, grown a step at a time: ~10 steps on a punk, a few µs
    a token over a block, under scikit-image's ``label`` (60 µs a token, after a 0.2 s import)."""
    reached = mask & border
    while True:
        grown = reached.copy()
        grown[..., 1:, :] |= reached[..., :-1, :]
        grown[..., :-1, :] |= reached[..., 1:, :]
        grown[..., :, 1:] |= reached[..., :, :-1]
        grown[..., :, :-1] |= reached[..., :, 1:]
        if np.array_equal(grown := grown & mask, reached):
            return grown
        reached = grown


def _recover_nearest(image: np.ndarray, size: int, palette: Palette | None, expected: np.ndarray | None) -> Recovery:
    small = np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.NEAREST)).astype(np.float64)
    lab = to_lab(small)
    colors, index = _own_colors(small) if palette is None else (palette, palette.nearest_lab(lab))
    grid = Grid(_pitch(image, size), (0.0, 0.0))
    return _finish(small, lab, np.zeros(small.shape[:2]), colors, index, grid, expected)


def _finish(corrected, lab, spread, colors: Palette, index, grid: Grid, expected: np.ndarray | None) -> Recovery:
    pixels = colors.colors[index].copy()
    written = colors.lab[index].copy()
    background, background_color, distance = find_background(corrected, lab, colors, index, expected)
    pixels[background] = background_color
    written[background] = to_lab(background_color)
    return Recovery(pixels, corrected, spread, np.linalg.norm(lab - written, axis=-1), background, distance, grid)


def find_grid(image: np.ndarray, size: int) -> Grid:
    """Per axis, the pitch from that side's length; the offset where colour edges best match a comb of that period.

    The axes are read apart, so a render stretched to W×H (a UI's 512×768 or 1216×832) is read on
    its own two pitches; on a square render both are the same and so is the result.
    """
    pitch = _pitch(image, size)
    # edges between rows read along every other column, and the other way round: cells are 2+ pixels wide. One
    # channel made once, whole: two from strided halves cost 2.1–2.7 ms a 512 render against 1.5 (same values)
    combined = _one_channel(image)
    rows = np.abs(np.diff(combined[:, ::2], axis=0)).sum(axis=1).astype(np.float64)  # row j | j+1
    columns = np.abs(np.diff(combined[::2], axis=1)).sum(axis=0).astype(np.float64)
    return Grid(pitch, (_comb_offset(rows, pitch[0], size), _comb_offset(columns, pitch[1], size)))


def _pitch(image: np.ndarray, size: int) -> tuple[float, float]:
    """(y, x) screen pixels per cell: the art fills the render, stretched to it, so each side holds ``size`` cells."""
    return image.shape[0] / size, image.shape[1] / size


def _one_channel(image: np.ndarray) -> np.ndarray:
    """One channel that changes wherever any channel does (weights 1, 3, 9 keep distinct colours apart): a third of the work."""
    channels = image.astype(np.int16)
    return channels[..., 0] + 3 * channels[..., 1] + 9 * channels[..., 2]  # 2× faster than an int16 matmul


def _comb_offset(profile: np.ndarray, cell: float, size: int) -> float:
    """Offset in [-cell/2, cell/2) whose boundaries o + k·cell collect the most edge energy; 0 under 2 pixels a cell,
    where the image is read as it lies (no shift under a pixel to find)."""
    if cell < 2:
        return 0.0
    offsets = np.arange(-cell / 2, cell / 2, OFFSET_STEP)
    boundaries = offsets[:, None] + cell * np.arange(1, size)[None, :]  # interior boundaries only
    position = boundaries - 1.0  # the edge between pixels j and j+1 sits at x = j + 1, i.e. profile[j]
    score = np.interp(position, np.arange(len(profile)), profile, left=0.0, right=0.0).sum(axis=1)
    if score.max() <= 0:
        return 0.0
    best = np.flatnonzero(score >= score.max() - 1e-9)
    return float(offsets[best[len(best) // 2]])  # the middle of a flat optimum is the safest


def cell_statistics(image: np.ndarray, grid: Grid, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, over its interior: mean colour and RMS spread (levels).

    Box sums as matrix products with 0/1 interior indicators (S×H and S×W) over R, G, B and their
    squares, read only from the rows some interior covers (60 %): ~1.5 ms a 512 render, against 45 ms
    for integral images. float32 keeps the colour sums exact (a 1024 render's ~26² interiors sum
    below 2^24); the squares only feed the spread, far above their rounding.
    """
    (y0, y1), (x0, x1) = (_interior(grid.offset[axis], grid.pitch[axis], size, image.shape[axis]) for axis in (0, 1))
    rows, columns = _indicator(y0, y1, image.shape[0]), _indicator(x0, x1, image.shape[1])
    used = rows.any(axis=0)
    values = image[used].reshape(int(used.sum()), -1).astype(np.float32)  # (h, W·3)
    count = (y1 - y0)[:, None] * (x1 - x0)[None, :]
    means = _box_sums(rows[:, used], columns, values, size) / count[..., None]
    squares = _box_sums(rows[:, used], columns, values * values, size).sum(axis=-1) / count
    return means, np.sqrt(np.maximum(squares - (means * means).sum(axis=-1), 0.0) / 3)


def _box_sums(rows: np.ndarray, columns: np.ndarray, plane: np.ndarray, size: int) -> np.ndarray:
    """(h, W·3) plane → (S, S, 3) float64 sums over each cell's box: two matrix products, the second batched."""
    bands = (rows @ plane).reshape(size, columns.shape[1], 3)
    return np.matmul(columns[None], bands).astype(np.float64)


def _indicator(first: np.ndarray, last: np.ndarray, length: int) -> np.ndarray:
    positions = np.arange(length)
    return ((positions >= first[:, None]) & (positions < last[:, None])).astype(np.float32)


def _interior(offset: float, cell: float, size: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """First and past-the-end pixel of each cell's interior along one axis; never empty."""
    starts = offset + cell * np.arange(size)
    margin = INTERIOR_MARGIN * cell if cell >= 3 else 0.0
    first = np.ceil(starts + margin - 0.5).astype(np.int64)  # pixel j's centre is j + 0.5
    last = np.floor(starts + cell - margin - 0.5).astype(np.int64) + 1
    first, last = np.clip(first, 0, length - 1), np.clip(last, 1, length)
    centre = np.clip(np.floor(starts + cell / 2).astype(np.int64), 0, length - 1)
    empty = last <= first
    first[empty], last[empty] = centre[empty], centre[empty] + 1
    return first, last


def _border_mean(means: np.ndarray) -> np.ndarray:
    ring = np.concatenate([means[0], means[-1], means[1:-1, 0], means[1:-1, -1]])
    return np.median(ring, axis=0)


def snap(clusters: Clusters, palette: Palette, cast: Cast) -> np.ndarray:
    """Per cell, the palette colour whose expected reading under the cast is nearest its cluster's mean
    (in RGB, the noise's own metric: the likeliest colour, where CIELAB weighs channels unevenly)."""
    expected = cast.observe(palette.colors.astype(np.float64))
    return squared_distances(clusters.means, expected).argmin(axis=-1)[clusters.members]


def undrift(
    means: np.ndarray, spread: np.ndarray, palette: Palette, cast: Cast, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """The cell means with the render's smooth drift taken off (:func:`field.fit_drift`), their colours decided again
    on the clusters they now form, and the σ of one cell's reading left after that (for :func:`ties.break_ties`).

    The field is fitted on cells read with confidence: their channel clear of clipping (a clipped reading says little
    of the drift there) and their interior flat (an edge's mean carries its neighbour's blur)."""
    flat = (spread <= EDGE_SPREAD * np.median(spread))[..., None]
    margin = 2 * float(np.max(cast.noise)) + HARDLY_CLIPPED  # a reading this far from 0 and 255 is bent by no clip
    field = np.zeros_like(means)
    for _ in range(DRIFT_ROUNDS):
        observed = cast.observe(palette.colors[index].astype(np.float64))
        trusted = flat & (np.abs(observed - 127.5) <= 127.5 - margin)
        field = fit_drift(means - observed, trusted, field)
        index = snap(colour_clusters(means - field), palette, cast)
    residuals = means - field - cast.observe(palette.colors[index].astype(np.float64))
    return means - field, index, reading_noise(residuals, flat[..., 0])


def find_background(
    corrected: np.ndarray, lab: np.ndarray, palette: Palette, index: np.ndarray, expected: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, float]:
    """The border-connected region near the border's colour, the one colour it becomes, and how far off it was.

    The asked-for background colour is written when the observed one is within the region's own
    tolerance of it; otherwise the nearest palette colour is, and the distance tells quality why.
    """
    border = border_mask(index.shape[0])
    border_index = np.bincount(index[border], minlength=len(palette)).argmax()
    near = np.linalg.norm(lab - palette.lab[border_index], axis=-1) <= BACKGROUND_TOLERANCE
    background = touching_border(near, border)
    observed = lab[background].mean(axis=0) if background.any() else palette.lab[border_index]
    nearest = palette.colors[border_index]
    if expected is None:
        return background, nearest, float(np.linalg.norm(observed - palette.lab[border_index]))
    distance = float(np.linalg.norm(observed - to_lab(expected)))
    return background, (np.asarray(expected, dtype=np.uint8) if distance <= BACKGROUND_TOLERANCE else nearest), distance
