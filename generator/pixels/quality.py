"""The quality verdict: is this render an on-grid, on-palette punk portrait that is new? Every reason is named.

Each check reads :class:`generator.pixels.Recovery` (what the grid recovery saw) or the 24×24
result, against the thresholds of ``[quality]``. Reasons are ``code: detail`` strings; the code
is what run summaries count. The duplicate check needs every earlier accepted token, so the
collection loop makes it, in token order, with :func:`duplicate_reason`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import UnidentifiedImageError

from generator.config import QualitySettings
from generator.errors import UserError
from generator.images import PIXEL_ART_SUFFIXES, open_user_image, pack_rgb
from generator.pixels.palette import to_lab
from generator.pixels.recovery import Grid, Recovery

MAX_CELL_SPREAD = 24.0  # levels RMS: a flat cell under render noise (σ ≤ 8) and JPEG stays well below
MAX_SNAP_DISTANCE = 12.0  # ΔE76 from a cell's estimate to the colour written: beyond it, the palette has no such colour
TRAIT_TOLERANCE = 12.0  # ΔE76 within which a pixel shows its trait's colour (neighbouring skin tones are ~15 apart)
MIN_TRAIT_PIXELS = 2  # a trait colour on fewer pixels is not judged
BLANK_SPREAD = 3.0  # levels: a render flatter than this is blank
# Structure checks, chosen with bench/quality.py --seed 1 --measures (300 good renders at the limits: shift ±4 px,
# blur σ ≤ 1.2, tint, noise σ ≤ 8, JPEG 85–95; 40 of each failure class); the README quotes seed 2, unseen.
MIN_EDGE_SHARPNESS = 0.8  # good: ≥ 0.956; Gaussian σ 4–6 or bicubic: ≤ 0.52; another pitch: ≤ 0.51
MAX_ROUGH_CELLS = 1  # cells not flat or off the palette (ΔE > OFF_PALETTE); good: 0 in every render; another pitch: ≥ 40
OFF_PALETTE = 10.0  # ΔE76 from a cell's estimate to its palette colour; good: ≤ 7.2 (99th percentile 2.4); clutter: 11+
MAX_BACKGROUND_LEAKS = 0  # cells the layers leave as background that are not flat background colour; good: 0 in every render
MAX_BACKGROUND_VARIATION = 1.6  # ΔE76, 90th percentile of background cells from their median; good: ≤ 1.17
MAX_BACKGROUND_ROUGHNESS = 10.0  # levels RMS, 90th percentile inside background cells; good: ≤ 6.4 (noise σ 8 alone: ~8)
MAX_STRAY_CELLS = 0  # subject cells apart from its largest 8-connected part; good: 0 in every render; clutter: median 6
MAX_BOTTOM_GAP = 1  # empty rows under the subject; good: 0 (the neck stands on the edge); moved up 3–6: ≥ 3
MAX_COLUMN_OFFSET = 0.12  # subject's mean column from the centre, share of the width; good: ≤ 0.061; moved 4+ cells: ≥ 0.16
MAX_ISOLATED_SHARE = 0.2  # subject cells no neighbour shares a colour with; good: ≤ 0.16; speckled 25 %+: ≥ 0.23
MIN_SUBJECT_COLORS = 4  # good: ≥ 5 (skin, hair, eyes, mouth); posterised to 2 levels a channel: 3
MAX_UNLIKE_CELLS = 4  # trait cells unlike their layer's colour; good: 0 in every render; swaps drawing 3+ cells apart: 10+


@dataclass(frozen=True)
class Check:
    code: str
    measure: str
    limit: float
    at_least: bool  # the measure must reach the limit (else stay under it)
    meaning: str


STRUCTURE = (
    Check("soft_edges", "edge_sharpness", MIN_EDGE_SHARPNESS, True, "of the contrast between cells is at their edges"),
    Check("rough_cells", "rough_cells", MAX_ROUGH_CELLS, False, "cells are not one flat palette colour"),
    Check("background_leak", "background_leaks", MAX_BACKGROUND_LEAKS, False, "cells the layers leave as background are not"),
    Check("background_texture", "background_variation", MAX_BACKGROUND_VARIATION, False, "ΔE between background cells"),
    Check("background_texture", "background_roughness", MAX_BACKGROUND_ROUGHNESS, False, "levels inside background cells"),
    Check("stray_cells", "stray_cells", MAX_STRAY_CELLS, False, "subject cells apart from the figure"),
    Check("floating", "bottom_gap", MAX_BOTTOM_GAP, False, "empty rows under the figure"),
    Check("sideways", "column_offset", MAX_COLUMN_OFFSET, False, "of the width between the figure's middle and the centre"),
    Check("speckled", "isolated_share", MAX_ISOLATED_SHARE, False, "of the subject's cells match no neighbour"),
    Check("posterised", "subject_colors", MIN_SUBJECT_COLORS, True, "colours in the subject"),
)
MIN_EDGE_CELL = 6.0  # screen px a cell: fewer cannot tell an edge from a cell's inside
EDGE_BANDS = {"interior": (0.2, 0.8), "head": (0.07, 0.2), "tail": (0.8, 0.93)}  # shares of a cell from its start
EDGE_CONTRAST = 60.0  # levels summed over RGB: cell pairs differing less carry too little step to weigh


@dataclass(frozen=True)
class Verdict:
    reasons: tuple[str, ...]
    metrics: dict[str, float]

    @property
    def accepted(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class Claim:
    """What the metadata says a token shows: its sprite drawing, the trait owning each pixel, and the names."""

    pixels: np.ndarray  # (S, S, 3) the claimed traits, drawn by their layers
    owner: np.ndarray  # (S, S) index of the trait whose layer painted each pixel (0: the bottom trait)
    names: tuple[tuple[str, str], ...]  # (trait key, value) in trait order


@dataclass(frozen=True)
class TrainingSet:
    """The originals a LoRA learnt from, as one (n, S, S, 3) array, for the near-copy guard."""

    names: tuple[str, ...]
    pixels: np.ndarray


def assess(
    render: np.ndarray,
    recovery: Recovery,
    settings: QualitySettings,
    training: TrainingSet | None = None,
    claim: Claim | None = None,
) -> Verdict:
    """All checks at once, so a rejected render lists every reason, not just the first (a blank one only says blank).

    ``min_trait_match = 0`` turns off every check against the claim: the traits' and the background cells'.
    """
    judged, unlike = judged_claim(claim, settings, recovery.pixels)
    return judge(measure(render, recovery, judged, unlike), settings, recovery.pixels, training, judged, unlike)


def judged_claim(claim: Claim | None, settings: QualitySettings, pixels: np.ndarray) -> tuple[Claim | None, np.ndarray | None]:
    """The claim the checks read (none at ``min_trait_match = 0``), and the cells unlike it: one Lab pass, two checks."""
    judged = claim if settings.min_trait_match > 0 else None
    return judged, (_unlike(pixels, judged.pixels) if judged is not None else None)


def judge(
    metrics: dict[str, float],
    settings: QualitySettings,
    pixels: np.ndarray,
    training: TrainingSet | None = None,
    judged: Claim | None = None,
    unlike: np.ndarray | None = None,
) -> Verdict:
    """The verdict on a token's measures (see :func:`measure`); ``pixels``: the token, for the near-copy guard."""
    if metrics["render_spread"] < BLANK_SPREAD or metrics["render_mean"] < 8:  # every other reason would follow from it
        return Verdict(
            (f"blank: the render is flat (spread {metrics['render_spread']:.1f}, mean {metrics['render_mean']:.0f})",), metrics
        )
    reasons = []
    if metrics["grid_fidelity"] < settings.min_grid_fidelity:
        reasons.append(f"grid_fidelity: {metrics['grid_fidelity']:.2f} < {settings.min_grid_fidelity}")
    if not settings.min_colors <= metrics["colors"] <= settings.max_colors:
        reasons.append(f"colors: {metrics['colors']:.0f} outside {settings.min_colors}–{settings.max_colors}")
    if metrics["background_uniformity"] < settings.min_background_uniformity:
        reasons.append(f"background_uniformity: {metrics['background_uniformity']:.2f} < {settings.min_background_uniformity}")
    if metrics["background_distance"] > settings.max_background_distance:
        reasons.append(f"background_color: ΔE {metrics['background_distance']:.1f} > {settings.max_background_distance}")
    if not settings.min_coverage <= metrics["coverage"] <= settings.max_coverage:
        reasons.append(f"coverage: {metrics['coverage']:.2f} outside {settings.min_coverage}–{settings.max_coverage}")
    if metrics["off_centre"] > settings.max_off_centre:
        reasons.append(f"off_centre: {metrics['off_centre']:.2f} > {settings.max_off_centre}")
    reasons.extend(structure_reasons(metrics))
    if judged is not None and unlike is not None:
        reasons.extend(trait_reasons(judged, ~unlike, settings.min_trait_match))
    if training is not None:
        reasons.extend(_near_copy(pixels, training, settings.min_training_distance))
    return Verdict(tuple(reasons), metrics)


def structure_reasons(metrics: dict[str, float]) -> list[str]:
    """The :data:`STRUCTURE` checks that fail (one without its measure, e.g. the layers', is skipped); a code is named once."""
    reasons: dict[str, str] = {}
    for check in STRUCTURE:
        value = metrics.get(check.measure)
        if value is None or check.code in reasons:
            continue
        if (value < check.limit) if check.at_least else (value > check.limit):
            reasons[check.code] = f"{check.code}: {value:.3g} {'<' if check.at_least else '>'} {check.limit:g} {check.meaning}"
    return list(reasons.values())


def trait_reasons(claim: Claim, close: np.ndarray, minimum: float) -> list[str]:
    """Each trait above the bottom one must show each of its colours where its layer puts them.

    A trait's pixels are judged colour by colour, and its worst colour decides: brown eyes in a
    token with brown hair are two brown pixels beside two whites, and a blue-eyed render must
    fail on the browns even though the whites match (pooling them caught 16 % of eye swaps in
    `bench/fidelity.py`). Colours on a single pixel are too fragile to judge. The bottom trait,
    the background, is judged by ``background_color``. Positions come from the layers, so a
    render that draws the template's places in the right colours passes; beyond
    :data:`MAX_UNLIKE_CELLS` cells unlike their layer's colour, it does not. ``close``: the cells within
    :data:`TRAIT_TOLERANCE` of the colour the claim draws there.
    """
    if close.all():  # the sprite backend, and any render that came back as drawn
        return []
    reasons = []
    packed = pack_rgb(claim.pixels)
    for trait, (key, value) in enumerate(claim.names[1:], start=1):
        own = claim.owner == trait
        colours, counts = np.unique(packed[own], return_counts=True)
        matches = [float(close[own & (packed == colour)].mean()) for colour in colours[counts >= MIN_TRAIT_PIXELS]]
        if matches and min(matches) < minimum:
            reasons.append(f"trait_{key}: {min(matches):.0%} of the pixels of one of its colours show {value} (< {minimum:.0%})")
    unlike = int((~close & (claim.owner > 0)).sum())
    if not reasons and unlike > MAX_UNLIKE_CELLS:  # what no single colour shows: a small swap, speckle spread thin
        reasons.append(f"trait_cells: {unlike} cells unlike the colour their trait's layer draws (> {MAX_UNLIKE_CELLS})")
    return reasons


def measure(render: np.ndarray, recovery: Recovery, claim: Claim | None, unlike: np.ndarray | None) -> dict[str, float]:
    """Every measure the verdict reads; ``unlike``: the cells farther than the tolerance from ``claim``'s colours."""
    size = recovery.pixels.shape[0]
    off_palette = recovery.snap_distance > OFF_PALETTE
    flat = (recovery.spread <= MAX_CELL_SPREAD) & (recovery.snap_distance <= MAX_SNAP_DISTANCE)
    subject = ~recovery.background
    metrics = {
        **{name: float(value) for name, value in token_measures(render, recovery.pixels, recovery.background).items()},
        "grid_fidelity": float(flat.mean()),
        "rough_cells": float(((recovery.spread > MAX_CELL_SPREAD) | off_palette).sum()),
        "edge_sharpness": edge_sharpness(render, recovery.grid, size),
        "background_distance": recovery.background_distance,
    }
    metrics |= background_measures(recovery)
    if not recovery.drawn:  # art its renderer drew at token size is judged as drawn
        metrics |= shape_measures(recovery.pixels, subject)
    if claim is not None and unlike is not None:
        metrics |= claim_measures(claim, unlike, recovery.spread)
    return metrics


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


def background_measures(recovery: Recovery) -> dict[str, float]:
    """How far the background cells' colours stray from their common colour, and how textured their insides are."""
    background = recovery.background
    if not background.any():
        return {"background_variation": 0.0, "background_roughness": 0.0}
    means = recovery.means[background]
    variation = 0.0  # one colour, as art drawn at token size has: nothing strays (and no Lab to compute)
    if (means != means[0]).any():
        lab = to_lab(means)
        variation = _high(np.linalg.norm(lab - np.median(lab, axis=0), axis=-1))
    return {
        "background_variation": variation,
        "background_roughness": _high(recovery.spread[background]),
    }


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
        "subject_colors": float(len(np.unique(pack_rgb(pixels[subject])))),
    }


def isolated(pixels: np.ndarray) -> np.ndarray:
    """Cells whose colour none of their four neighbours shares: an eye or an earring, or speckle."""
    packed = pack_rgb(pixels)
    padded = np.pad(packed, 1, constant_values=np.iinfo(np.uint32).max)
    neighbours = [padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]]
    return ~np.any([neighbour == packed for neighbour in neighbours], axis=0)


def _unlike(pixels: np.ndarray, claimed: np.ndarray) -> np.ndarray:
    """Cells farther than :data:`TRAIT_TOLERANCE` from the colour the claim draws there."""
    return np.linalg.norm(to_lab(pixels) - to_lab(claimed), axis=-1) > TRAIT_TOLERANCE


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


def _near_copy(pixels: np.ndarray, training: TrainingSet, minimum: int) -> list[str]:
    differing = (training.pixels != pixels[None]).any(axis=-1).sum(axis=(1, 2))
    closest = int(differing.argmin())
    if differing[closest] < minimum:
        return [f"near_copy: {differing[closest]} pixels from training image {training.names[closest]} (< {minimum})"]
    return []


def duplicate_reason(digest: str, accepted: dict[str, int]) -> str | None:
    """``accepted`` maps the pixel digest of every accepted token to its id."""
    if digest in accepted:
        return f"duplicate: same pixels as token {accepted[digest]}"
    return None


def load_training_set(folder: Path, size: int) -> TrainingSet:
    """Every image in ``folder`` (RGB, transparent pixels over black), each ``size``×``size``; errors name the file."""
    if not folder.is_dir():
        raise UserError(f'{folder}: [quality].training_dir is not a folder; point it at the 24×24 originals or set it to ""')
    names, images = [], []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in PIXEL_ART_SUFFIXES):
        try:
            with open_user_image(path, "remove it from [quality].training_dir") as image:  # a FIFO never blocks
                pixels = np.asarray(image.convert("RGB"))
        except (UnidentifiedImageError, OSError):
            raise UserError(f"{path}: not a readable image; remove it from [quality].training_dir") from None
        if pixels.shape[:2] != (size, size):
            raise UserError(
                f"{path}: {pixels.shape[1]}×{pixels.shape[0]}, expected {size}×{size} originals in [quality].training_dir"
            )
        names.append(str(path.relative_to(folder)))
        images.append(pixels)
    if not images:
        raise UserError(f"{folder}: no images in [quality].training_dir")
    return TrainingSet(tuple(names), np.stack(images))
