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
from PIL import Image, UnidentifiedImageError

from generator.config import QualitySettings
from generator.errors import UserError
from generator.images import PIXEL_ART_SUFFIXES
from generator.pixels.palette import to_lab
from generator.pixels.recovery import Recovery, pack_rgb

MAX_CELL_SPREAD = 24.0  # levels RMS: a flat cell under render noise (σ ≤ 8) and JPEG stays well below
MAX_SNAP_DISTANCE = 12.0  # ΔE76 from a cell's estimate to the colour written: beyond it, the palette has no such colour
TRAIT_TOLERANCE = 12.0  # ΔE76 within which a pixel shows its trait's colour (neighbouring skin tones are ~15 apart)
MIN_TRAIT_PIXELS = 2  # a trait colour on fewer pixels is not judged
BLANK_SPREAD = 3.0  # levels: a render flatter than this is blank


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
    """All checks at once, so a rejected render lists every reason, not just the first (a blank one only says blank)."""
    metrics = measure(render, recovery)
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
    if claim is not None and settings.min_trait_match > 0:
        reasons.extend(trait_reasons(recovery.pixels, claim, settings.min_trait_match))
    if training is not None:
        reasons.extend(_near_copy(recovery.pixels, training, settings.min_training_distance))
    return Verdict(tuple(reasons), metrics)


def trait_reasons(pixels: np.ndarray, claim: Claim, minimum: float) -> list[str]:
    """Each trait above the bottom one must show each of its colours where its layer puts them.

    A trait's pixels are judged colour by colour, and its worst colour decides: brown eyes in a
    token with brown hair are two brown pixels beside two whites, and a blue-eyed render must
    fail on the browns even though the whites match (pooling them caught 16 % of eye swaps in
    `bench/fidelity.py`). Colours on a single pixel are too fragile to judge. The bottom trait,
    the background, is judged by ``background_color``. Positions come from the layers, so a
    render that draws the template's places in the right colours passes.
    """
    exact = (pixels == claim.pixels).all(axis=-1)
    if exact.all():  # the sprite backend, and any render that came back exactly as drawn
        return []
    close = exact | (np.linalg.norm(to_lab(pixels) - to_lab(claim.pixels), axis=-1) <= TRAIT_TOLERANCE)
    reasons = []
    packed = pack_rgb(claim.pixels)
    for trait, (key, value) in enumerate(claim.names[1:], start=1):
        own = claim.owner == trait
        colours, counts = np.unique(packed[own], return_counts=True)
        matches = [float(close[own & (packed == colour)].mean()) for colour in colours[counts >= MIN_TRAIT_PIXELS]]
        if matches and min(matches) < minimum:
            reasons.append(f"trait_{key}: {min(matches):.0%} of the pixels of one of its colours show {value} (< {minimum:.0%})")
    return reasons


def measure(render: np.ndarray, recovery: Recovery) -> dict[str, float]:
    size = recovery.pixels.shape[0]
    flat = (recovery.spread <= MAX_CELL_SPREAD) & (recovery.snap_distance <= MAX_SNAP_DISTANCE)
    frame = np.zeros((size, size), dtype=bool)  # top, left and right edges: a portrait's neck owns the bottom one
    frame[0, :] = frame[:, [0, -1]] = True
    subject = ~recovery.background
    rows, cols = np.nonzero(subject)
    centre = (size - 1) / 2
    off_centre = float(np.hypot(cols.mean() - centre, rows.mean() - centre) / size) if len(rows) else 1.0
    return {
        "render_spread": float(render.std()),
        "render_mean": float(render.mean()),
        "grid_fidelity": float(flat.mean()),
        "colors": float(len(np.unique(pack_rgb(recovery.pixels)))),
        "background_uniformity": float(recovery.background[frame].mean()),
        "background_distance": recovery.background_distance,
        "coverage": float(subject.mean()),
        "off_centre": off_centre,
    }


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
            with Image.open(path) as image:
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
