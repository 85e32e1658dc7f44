"""What the quality checks read: numbers taken of one render, its token and what it is judged against.

Measures know no thresholds: :mod:`generator.pixels.checks` holds every limit, one row a check,
and :mod:`generator.pixels.quality` turns the two into a verdict. A render reaches the measures
in one of two ways, and a check says which it applies to:

- **recovered**: a render of any size went through grid recovery (:class:`Recovery`); every
  measure is taken of it here, by :func:`measure`;
- **drawn** at token size (sprites): exact by construction, read a block at a time by
  :mod:`generator.pixels.drawn`, which takes the measures that need no grid and knows what the
  grid measures read on such art.

A measure that more than one check or both paths read in bulk lives here under a name; a new
check may instead bring its own measure of one :class:`Sample` (see ``Check.taken_by``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from generator.images import pack_rgb
from generator.pixels.palette import to_lab
from generator.pixels.recovery import Grid, Recovery, border_mask, touching_border
from generator.pixels.training_set import TrainingSet

MAX_CELL_SPREAD = 24.0  # levels RMS: a flat cell under render noise (σ ≤ 8) and JPEG stays well below
MAX_SNAP_DISTANCE = 12.0  # ΔE76 from a cell's estimate to the colour written: beyond it, the palette has no such colour
TRAIT_TOLERANCE = 12.0  # ΔE76 within which a pixel shows its trait's colour (neighbouring skin tones are ~15 apart)
MIN_TRAIT_PIXELS = 2  # a trait colour on fewer pixels is not judged
OFF_PALETTE = 10.0  # ΔE76 from a cell's estimate to its palette colour; good: ≤ 7.2 (99th percentile 2.4); clutter: 11+
MIN_EDGE_CELL = 6.0  # screen px a cell: fewer cannot tell an edge from a cell's inside
EDGE_BANDS = {"interior": (0.2, 0.8), "head": (0.07, 0.2), "tail": (0.8, 0.93)}  # shares of a cell from its start
EDGE_CONTRAST = 60.0  # levels summed over RGB: cell pairs differing less carry too little step to weigh
LATTICE_TOLERANCE = 8.0  # levels per channel within which a cell's colour counts as on a posterising lattice
LATTICE_LEVELS = (3, 4)  # levels a channel: 0, 127.5, 255 (holding 2 levels' 0, 255) and 0, 85, 170, 255
SPLIT_SHARE = 0.6  # of a near-twin step two neighbours' estimates must show to be two colours (art: 0.86+ at 512 px; split: ~0.5)
NEAR_TWIN = 8.0  # ΔE76: neighbouring cells this close in colour are one area split in two (the art's closest: 10.8)


@dataclass(frozen=True)
class Claim:
    """What the metadata says a token shows: its sprite drawing, the trait owning each pixel, and the names."""

    pixels: np.ndarray  # (S, S, 3) the claimed traits, drawn by their layers
    owner: np.ndarray  # (S, S) index of the trait whose layer painted each pixel (0: the bottom trait)
    names: tuple[tuple[str, str], ...]  # (trait key, value) in trait order


@dataclass(frozen=True)
class Sample:
    """One render as the checks see it: what was rendered, the token made of it, and what it is judged against."""

    render: np.ndarray  # (H, W, 3) as rendered; the token itself where drawn at token size
    pixels: np.ndarray  # (S, S, 3) the token
    background: np.ndarray  # (S, S) the border-connected background cells
    drawn: bool  # drawn at token size (Renderer.draws_at_token_size), else recovered from a render of any size
    recovery: Recovery | None  # what grid recovery saw; None for art drawn at token size and judged in a block
    claim: Claim | None  # the traits the metadata claims; None without layer art or at [quality].min_trait_match = 0
    unlike: np.ndarray | None  # (S, S) cells farther than TRAIT_TOLERANCE from the claim's colour there
    training: TrainingSet | None  # the originals of [quality].training_dir


@dataclass(frozen=True)
class Reading:
    """One value of a measure taken per subject (each trait, the closest training image); ``subject`` fills the
    reason's text (``{key}``, ``{shows}``, ``{image}``)."""

    value: float
    subject: dict[str, str] = field(default_factory=dict)


def measure(sample: Sample) -> dict[str, float]:
    """Every named measure of a recovered render (or one drawn at token size, read with its recovery)."""
    recovery = sample.recovery
    assert recovery is not None, "measure() reads the grid recovery; art judged in a block goes through pixels/drawn.py"
    size = recovery.pixels.shape[0]
    background = sample.background
    off_palette = recovery.snap_distance > OFF_PALETTE
    flat = (recovery.spread <= MAX_CELL_SPREAD) & (recovery.snap_distance <= MAX_SNAP_DISTANCE)
    metrics = {
        **{name: float(value) for name, value in token_measures(sample.render, recovery.pixels, background).items()},
        "grid_fidelity": float(flat.mean()),
        "rough_cells": float(((recovery.spread > MAX_CELL_SPREAD) | off_palette).sum()),
        "edge_sharpness": edge_sharpness(sample.render, recovery.grid, size),
        "background_distance": recovery.background_distance,
    }
    metrics |= background_measures(recovery, background)
    if not sample.drawn:
        metrics |= shape_measures(recovery.pixels, ~background)
        metrics["split_cells"] = split_cells(recovery.pixels, recovery.means)
        metrics["lattice_share"] = lattice_share(recovery.means[~background])
    if sample.claim is not None and sample.unlike is not None:
        metrics |= claim_measures(sample.claim, sample.unlike, recovery.spread)
        if not sample.drawn:
            metrics["twin_cells"] = twin_cells(recovery.pixels, sample.claim.pixels)
    return metrics


def twin_cells(pixels: np.ndarray, claimed: np.ndarray) -> float:
    """Cells written in a near-twin (closer than :data:`NEAR_TWIN`) of the colour the claim draws there: a model
    asked for that colour drew it, and drift or texture tipped recovery onto its twin (220,176,137 for 219,177,128).
    A swap or speckle lands farther off (``unlike_cells``); an exact token has none."""
    distance = np.linalg.norm(to_lab(pixels) - to_lab(claimed), axis=-1)
    return float(((distance > 0) & (distance < NEAR_TWIN)).sum())


def token_background(recovery: Recovery) -> np.ndarray:
    """The background as the token shows it: every cell in recovery's background colour that touches the border
    through cells of that colour.

    Recovery grows its background region from the border while the render's colour stays near the border's; a model's
    drift or vignette can stop it a cell short though that cell, too, snapped to the background colour. The token
    shows no difference, so neither may the measures (else that cell reads as a stray one apart from the figure).
    """
    if not recovery.background.any():
        return recovery.background
    colour = recovery.pixels[recovery.background][0]
    same = (recovery.pixels == colour).all(axis=-1)
    return touching_border(same, border_mask(same.shape[0]))


def token_measures(render: np.ndarray, pixels: np.ndarray, background: np.ndarray) -> dict[str, np.ndarray]:
    """The measures of a render (…, H, W, 3), its token (…, S, S, 3) and background (…, S, S) that need no grid: for
    one token, or for a block of tokens drawn at token size at once (one value each)."""
    size = pixels.shape[-2]
    frame = np.zeros((size, size), dtype=bool)  # top, left and right edges: a portrait's neck owns the bottom one
    frame[0, :] = frame[:, [0, -1]] = True
    subject = ~background
    count = subject.sum(axis=(-2, -1))
    position = np.arange(size) - (size - 1) / 2  # from the centre
    with np.errstate(invalid="ignore", divide="ignore"):  # no subject: 1.0, as far off as it gets
        row = np.where(count > 0, (subject.sum(axis=-1) * position).sum(axis=-1) / count, np.nan)
        column = np.where(count > 0, (subject.sum(axis=-2) * position).sum(axis=-1) / count, np.nan)
    return {
        "render_spread": _channel_spread(render).max(axis=-1),  # per channel: flat red is blank
        "render_mean": render.mean(axis=(-3, -2, -1)),
        "colors": color_count(pixels),
        "background_uniformity": background[..., frame].mean(axis=-1),
        "coverage": subject.mean(axis=(-2, -1)),
        "off_centre": np.nan_to_num(np.hypot(column, row) / size, nan=1.0),
        "column_offset": np.nan_to_num(np.abs(column) / size, nan=1.0),
    }


def _channel_spread(render: np.ndarray) -> np.ndarray:
    """Each channel's standard deviation over the image, (…, 3): channels made contiguous first, as numpy reduces a
    strided axis ~5× slower (7.5 → 1.4 ms a 512 render)."""
    pixels = render.reshape(*render.shape[:-3], -1, render.shape[-1])
    return np.ascontiguousarray(np.swapaxes(pixels, -1, -2)).std(axis=-1)


def color_count(pixels: np.ndarray) -> np.ndarray:
    """How many colours each token (…, S, S, 3) shows."""
    packed = np.sort(pack_rgb(pixels).reshape(*pixels.shape[:-3], -1), axis=-1)
    return 1 + (packed[..., 1:] != packed[..., :-1]).sum(axis=-1)


def claim_measures(claim: Claim, unlike: np.ndarray, spread: np.ndarray) -> dict[str, float]:
    """Cells the layers leave as background that are not flat background, and trait cells unlike their layer's colour."""
    return {
        "background_leaks": float(((claim.owner == 0) & (unlike | (spread > MAX_CELL_SPREAD))).sum()),
        "unlike_cells": float(unlike[claim.owner > 0].sum()),
    }


def background_measures(recovery: Recovery, background: np.ndarray) -> dict[str, float]:
    """How the background cells' colours vary, raw and beyond a smooth drift, and how textured their insides are.

    A model's render lights its background unevenly (a drift of a few levels, a vignette): recovery snaps every
    such cell to the one background colour, so the token is right and a raw spread would reject it. What a defect
    leaves is what no smooth field explains: stripes or cell texture (``background_residual``, most cells), one cell
    of another colour the background swallowed (``background_outlier``, its worst cell); or a field too steep to be
    lighting (a painted gradient: ``background_drift``). The raw ΔE (``background_variation``) is kept for the reason.
    """
    names = ("background_variation", "background_residual", "background_outlier", "background_drift")
    if not background.any():
        return dict.fromkeys(names, 0.0) | {"background_roughness": 0.0}
    means = recovery.means[background]
    measures = dict.fromkeys(names, 0.0)  # one colour, as art drawn at token size has: nothing strays (and no Lab)
    if (means != means[0]).any():
        lab = to_lab(means)
        field = smooth_field(background, means)
        left = np.linalg.norm(means - field, axis=-1)
        measures = {
            "background_variation": _high(np.linalg.norm(lab - np.median(lab, axis=0), axis=-1)),
            "background_residual": _high(left),
            "background_outlier": float(left.max()),
            "background_drift": float((field.max(axis=0) - field.min(axis=0)).max()),
        }
    return measures | {"background_roughness": _high(recovery.spread[background])}


def smooth_field(cells: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The quadratic surface in the cells' positions that fits ``values`` (N, 3) of the ``cells`` (S, S) mask best,
    per channel: lighting that drifts across the image, which a low-order field follows and stripes or texture do not."""
    rows, columns = np.nonzero(cells)
    y, x = rows / (cells.shape[0] - 1) - 0.5, columns / (cells.shape[1] - 1) - 0.5
    basis = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1)
    weights = np.linalg.lstsq(basis, values, rcond=None)[0]
    return basis @ weights


def lattice_share(colours: np.ndarray) -> float:
    """The largest share of the subject's cell colours (cast-corrected estimates, (N, 3)) that lie, every channel, on
    one coarse lattice of :data:`LATTICE_LEVELS` levels: a posterised face. The snapped token hides it (each lattice
    colour snaps to some palette colour), the render's own colours do not; the shipped art puts only its black
    outline and whites there (≤ 0.41 of a subject)."""
    if not len(colours):
        return 0.0
    shares = []
    for levels in LATTICE_LEVELS:
        step = 255 / (levels - 1)
        off = np.abs(colours - np.rint(colours / step) * step).max(axis=-1)
        shares.append(float((off <= LATTICE_TOLERANCE).mean()))
    return max(shares)


def split_cells(pixels: np.ndarray, means: np.ndarray) -> float:
    """Pairs of side-by-side cells written in two near-twin colours (closer than :data:`NEAR_TWIN`) though the render
    shows them alike: the difference of their cast-corrected estimates covers less than :data:`SPLIT_SHARE` of the way
    from one written colour to the other. Local drift makes recovery split one area so between a palette's near-twins
    (219,177,128 beside 220,176,137); art that sets two such colours side by side (CryptoPunks' shading) shows the
    whole step, and a smooth drift moves neighbours alike, so it keeps them apart."""
    lab = to_lab(pixels)
    written = pixels.astype(np.float64)
    pairs = 0
    for near, far in (
        ((slice(1, None), slice(None)), (slice(None, -1), slice(None))),
        ((slice(None), slice(1, None)), (slice(None), slice(None, -1))),
    ):
        twins = np.linalg.norm(lab[near] - lab[far], axis=-1)
        step = written[near] - written[far]
        shown = ((means[near] - means[far]) * step).sum(axis=-1)  # the estimates' difference along the step, × |step|
        pairs += int(((twins > 0) & (twins < NEAR_TWIN) & (shown < SPLIT_SHARE * (step * step).sum(axis=-1))).sum())
    return float(pairs)


def _high(values: np.ndarray) -> float:
    """The 90th percentile: what most cells stay under (0 at once where all are 0, as in art drawn at token size)."""
    return float(np.percentile(values, 90)) if values.any() else 0.0


def shape_measures(pixels: np.ndarray, subject: np.ndarray) -> dict[str, float]:
    """The silhouette of a portrait without its layers: one figure, standing on the bottom edge, drawn in areas of colour.

    Portrait heuristics, so they judge renders only: layer art composited at token size is what its creator drew.
    """
    from skimage.measure import label  # lazy: see palette.to_lab

    regions = label(subject, connectivity=2)
    sizes = np.bincount(regions.ravel())[1:]
    filled_rows = np.flatnonzero(subject.any(axis=1))
    bottom_gap = subject.shape[0] - 1 - filled_rows.max() if len(filled_rows) else subject.shape[0]
    return {
        "stray_cells": float(sizes.sum() - sizes.max()) if len(sizes) else 0.0,
        "bottom_gap": float(bottom_gap),
        "isolated_share": float((subject & isolated(pixels)).sum() / max(1, subject.sum())),
        "alone_share": float((subject & isolated(pixels, diagonals=True)).sum() / max(1, subject.sum())),
        "subject_colors": float(len(np.unique(pack_rgb(pixels[subject])))),
    }


def isolated(pixels: np.ndarray, diagonals: bool = False) -> np.ndarray:
    """Cells whose colour none of their four neighbours shares (eight with ``diagonals``): an eye or an earring, or
    speckle. Art's single cells mostly touch their own colour at a corner (a diagonal line, a two-cell eye);
    speckle's do not."""
    packed = pack_rgb(pixels)
    padded = np.pad(packed, 1, constant_values=np.iinfo(np.uint32).max)
    height, width = packed.shape
    steps = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy or dx) and (diagonals or not (dy and dx))]
    neighbours = [padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width] for dy, dx in steps]
    return ~np.any([neighbour == packed for neighbour in neighbours], axis=0)


def unlike_claim(pixels: np.ndarray, claimed: np.ndarray) -> np.ndarray:
    """Cells farther than :data:`TRAIT_TOLERANCE` from the colour the claim draws there."""
    return np.linalg.norm(to_lab(pixels) - to_lab(claimed), axis=-1) > TRAIT_TOLERANCE


def trait_matches(sample: Sample) -> list[Reading]:
    """For each trait above the bottom one, the share of its worst-shown colour's pixels that show it.

    A trait's pixels are judged colour by colour, and its worst colour decides: brown eyes in a
    token with brown hair are two brown pixels beside two whites, and a blue-eyed render must
    fail on the browns even though the whites match (pooling them caught 16 % of eye swaps in
    `bench/fidelity.py`). Colours on fewer than :data:`MIN_TRAIT_PIXELS` pixels are too fragile to
    judge. The bottom trait, the background, is judged by ``background_color``. Positions come
    from the layers, so a render that draws the template's places in the right colours passes.
    """
    claim, unlike = sample.claim, sample.unlike
    assert claim is not None and unlike is not None, "a check that needs the claim is judged only with one"
    if not unlike.any():  # the sprite backend, and any render that came back as drawn: every match is whole
        return []
    close = ~unlike
    packed = pack_rgb(claim.pixels)
    readings = []
    for trait, (key, value) in enumerate(claim.names[1:], start=1):
        own = claim.owner == trait
        colours, counts = np.unique(packed[own], return_counts=True)
        matches = [float(close[own & (packed == colour)].mean()) for colour in colours[counts >= MIN_TRAIT_PIXELS]]
        if matches:
            readings.append(Reading(min(matches), {"key": key, "shows": value}))
    return readings


def training_distance(sample: Sample) -> list[Reading]:
    """How many pixels differ from the closest original of the training set, and which one it is."""
    training = sample.training
    assert training is not None, "a check that needs the training set is judged only with one"
    (closest,), (distance,) = training.nearest(sample.pixels[None])
    return [Reading(float(distance), {"image": training.names[closest]})]


def edge_sharpness(render: np.ndarray, grid: Grid, size: int) -> float:
    """Share of the contrast between neighbouring cells that is already there a few pixels either side of their edge.

    Pixel art changes colour at cell edges, so the step measured just across an edge equals the
    difference of the two cells' means; blur spreads the step over the cells (σ 5 keeps ~40 % of
    it 2–4 px out) and art on another pitch puts its edges inside cells, where the cells' own
    flatness may still pass. Both directions, over the pairs of cells whose brightness (R + G + B,
    one plane: a third of the work) differs clearly.
    """
    if min(grid.pitch) < MIN_EDGE_CELL:
        return 1.0
    brightness = render.astype(np.float32) @ np.ones(3, dtype=np.float32)
    steps, contrasts = [], []
    for plane, (across, along), (pitch_across, pitch_along) in (
        (brightness, grid.offset, grid.pitch),
        (brightness.T, grid.offset[::-1], grid.pitch[::-1]),  # a W×H render has a pitch per axis
    ):
        rows, _ = _bands(across, pitch_across, size, plane.shape[0], EDGE_BANDS["interior"])
        profile = rows @ plane  # (cell row, screen column): each cell row's mean over its interior rows
        means, present = {}, {}
        for name, band in EDGE_BANDS.items():
            weights, present[name] = _bands(along, pitch_along, size, plane.shape[1], band)
            means[name] = profile @ weights.T  # (cell row, cell column)
        contrast = np.abs(means["interior"][:, 1:] - means["interior"][:, :-1])
        step = np.abs(means["head"][:, 1:] - means["tail"][:, :-1])
        strong = (contrast >= EDGE_CONTRAST) & (present["head"][1:] & present["tail"][:-1])[None, :]
        steps.append(step[strong])
        contrasts.append(contrast[strong])
    total = float(np.concatenate(contrasts).sum())
    return float(np.concatenate(steps).sum()) / total if total else 1.0


def _bands(offset: float, cell: float, size: int, length: int, band: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(size, length) weights that average, for each cell, its pixels between the ``band`` shares of a cell from its
    start, and whether that band holds any pixel (a band past the image edge is empty)."""
    starts = offset + cell * np.arange(size)
    centres = np.arange(length) + 0.5
    inside = (centres >= starts[:, None] + max(band[0] * cell, 1.0)) & (centres < starts[:, None] + band[1] * cell)
    counts = inside.sum(axis=1)
    return (inside / np.maximum(counts, 1)[:, None]).astype(np.float32), counts > 0
