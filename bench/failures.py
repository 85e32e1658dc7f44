"""Render-like images of known tokens, good and bad, for the quality benchmark and the realistic-run tests.

Each generator takes the token's exact S×S art (the shipped layers drawn), which cells its layers
leave as background, and a random generator, and returns a render the size of a real one. Good
renders come in kinds (:data:`GOOD_KINDS`): ``good`` stays within what a LoRA render was seen to do
(:func:`good_degradation`, :data:`degrade.GOOD`); each ``+ effect`` kind adds one thing a real
model's render does while keeping cells and palette, drawn within :data:`degrade.REAL`'s limits
(a smooth colour drift of 2–5 levels a channel, a vignette to 4 %, texture σ ≤ 3 levels at
half-cell scale, an unsharp mask to 60 %, a render made at 768 or 1024 resampled Lanczos to the
render size); ``good (real model)`` is :data:`degrade.REAL`, all of them at once (made at 512,
768 or 1024). Each failure class is one way a diffusion render goes wrong while still looking
like a render:

- ``wrong_pitch``: the art on a grid of 18–21 or 27–30 cells across instead of 24 (zoomed);
- ``blur``: Gaussian σ 4–6, or a bicubic upscale instead of NEAREST;
- ``background``: a gradient, stripes or a cell-scale texture where the layers leave background;
- ``clutter``: 1–4 off-palette blobs (1–3 cells) in the background, inside the frame;
- ``off_centre``: the portrait moved 4–8 cells sideways or 3–6 cells up;
- ``posterised``: the subject's colours posterised to 2–3 levels per channel, or 25–50 % of the
  face cells speckled with other palette colours;
- ``blank``: one flat colour under noise and JPEG.

``trait_swap`` and ``duplicate`` change what a good render claims, not its pixels; the
benchmark builds them from good renders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from degrade import GOOD, REAL, Degradation, degrade
from PIL import Image

Art = np.ndarray  # (S, S, 3) uint8, the token as its layers draw it


def good_degradation(rng: np.random.Generator, size: int = 512) -> Degradation:
    """The limits a good render stays within (:data:`degrade.GOOD`)."""
    return Degradation.random(rng, size, GOOD)


def good(art: Art, background: np.ndarray, rng: np.random.Generator, size: int = 512) -> np.ndarray:
    return degrade(art, good_degradation(rng, size), rng)


def _with_effect(*fields: str) -> Callable[[np.random.Generator, int], Degradation]:
    """GOOD plus one effect of a real model's render, its fields drawn within :data:`degrade.REAL`'s limits."""

    def draw(rng: np.random.Generator, size: int) -> Degradation:
        base = good_degradation(rng, size)
        extra = REAL.real_model(rng)
        if fields == ("rendered_at",):  # REAL may draw "made at size"; this kind is the resampled render only
            extra["rendered_at"] = int(rng.choice([768, 1024]) * size // 512)
        return replace(base, **{name: extra[name] for name in fields})

    return draw


# What each good kind draws: the renders the filter must accept (their false rejects are what the bench reports).
GOOD_KINDS: dict[str, Callable[[np.random.Generator, int], Degradation]] = {
    "good": good_degradation,
    "good + drift": _with_effect("drift", "drift_seed"),
    "good + vignette": _with_effect("vignette"),
    "good + texture": _with_effect("texture"),
    "good + unsharp": _with_effect("unsharp"),
    "good + lanczos": _with_effect("rendered_at"),
    "good (real model)": lambda rng, size: Degradation.random(rng, size, REAL),
}


def _finish(screen: np.ndarray, rng: np.random.Generator, **changes: object) -> np.ndarray:
    """A screen-size image through the good degradations (NEAREST to its own size is a no-op)."""
    how = good_degradation(rng, screen.shape[0])
    return degrade(screen, Degradation(**{**how.__dict__, **changes}), rng)


def _screen(art: Art, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(art).resize((size, size), Image.Resampling.NEAREST))


def wrong_pitch(art: Art, background: np.ndarray, rng: np.random.Generator, size: int = 512) -> np.ndarray:
    """The art drawn at 512/k px a cell for k in 18–21 or 27–30, centred: cropped when zoomed in, padded when out."""
    cells = int(rng.choice([18, 19, 20, 21, 27, 28, 29, 30]))
    side = round(art.shape[0] * size / cells)
    zoomed = _screen(art, side)
    if side >= size:
        start = (side - size) // 2
        screen = zoomed[start : start + size, start : start + size]
    else:  # the neck stays on the bottom edge, as a portrait's does
        screen = np.broadcast_to(art[0, 0], (size, size, 3)).copy()
        left = (size - side) // 2
        screen[size - side :, left : left + side] = zoomed
    return _finish(np.ascontiguousarray(screen), rng)


def blur(art: Art, background: np.ndarray, rng: np.random.Generator, size: int = 512) -> np.ndarray:
    if rng.random() < 0.5:
        return _finish(_screen(art, size), rng, blur=float(rng.uniform(4.0, 6.0)))
    smooth = np.asarray(Image.fromarray(art).resize((size, size), Image.Resampling.BICUBIC))
    return _finish(smooth, rng, blur=0.0)


def textured_background(art: Art, background: np.ndarray, rng: np.random.Generator, size: int = 512) -> np.ndarray:
    """The background cells repainted with a gradient (30–80 levels across), stripes or a cell-scale texture."""
    y, x = np.mgrid[0:size, 0:size] / size
    kind = rng.integers(3)
    if kind == 0:
        angle = rng.uniform(0, 2 * np.pi)
        pattern = (np.cos(angle) * x + np.sin(angle) * y - 0.5) * rng.uniform(30, 80)
    elif kind == 1:
        period = rng.uniform(8, 64) / size
        pattern = np.sign(np.sin(2 * np.pi * (y if rng.random() < 0.5 else x) / period)) * rng.uniform(10, 25)
    else:
        cells = rng.normal(0, rng.uniform(10, 25), (art.shape[0], art.shape[0]))
        pattern = np.asarray(Image.fromarray(cells.astype(np.float32)).resize((size, size), Image.Resampling.NEAREST))
    screen = _screen(art, size).astype(np.float64)
    mask = _screen(background.astype(np.uint8) * 255, size) > 0
    tint = pattern[..., None] * rng.uniform(0.5, 1.0, 3)
    screen[mask] += tint[mask]
    return _finish(np.clip(np.rint(screen), 0, 255).astype(np.uint8), rng)


def clutter(art: Art, background: np.ndarray, rng: np.random.Generator, size: int = 512) -> np.ndarray:
    """1–4 blobs of 1–3 × 1–3 cells, each one random colour, on background cells."""
    cluttered = art.copy()
    cells = np.argwhere(background)
    for _ in range(rng.integers(1, 5)):
        row, col = cells[rng.integers(len(cells))]
        height, width = rng.integers(1, 4, 2)
        blob = np.zeros_like(background)
        blob[row : row + height, col : col + width] = True
        cluttered[blob & background] = rng.integers(0, 256, 3)
    return good(cluttered, background, rng, size)


def off_centre(art: Art, background: np.ndarray, rng: np.random.Generator, size: int = 512) -> np.ndarray:
    """The portrait moved 4–8 cells left or right, or 3–6 cells up; the background fills what it leaves."""
    dy, dx = (0, int(rng.integers(4, 9)) * int(rng.choice([-1, 1]))) if rng.random() < 0.7 else (-int(rng.integers(3, 7)), 0)
    moved = np.broadcast_to(art[0, 0], art.shape).copy()
    n = art.shape[0]
    moved[max(dy, 0) : n + min(dy, 0), max(dx, 0) : n + min(dx, 0)] = art[
        max(-dy, 0) : n - max(dy, 0), max(-dx, 0) : n - max(dx, 0)
    ]
    return good(moved, background, rng, size)


def posterised(art: Art, background: np.ndarray, rng: np.random.Generator, size: int = 512) -> np.ndarray:
    """The subject posterised to 2–3 levels a channel, or 25–50 % of its cells speckled with colours of the art's palette."""
    spoilt = art.copy()
    subject = ~background
    if rng.random() < 0.5:
        levels = int(rng.integers(2, 4))
        step = 255 / (levels - 1)
        spoilt[subject] = np.rint(np.rint(art[subject] / step) * step).astype(np.uint8)
    else:
        colours = np.unique(art.reshape(-1, 3), axis=0)
        speckled = subject & (rng.random(subject.shape) < rng.uniform(0.25, 0.5))
        spoilt[speckled] = colours[rng.integers(len(colours), size=int(speckled.sum()))]
    return good(spoilt, background, rng, size)


def blank(art: Art, background: np.ndarray, rng: np.random.Generator, size: int = 512) -> np.ndarray:
    flat = np.broadcast_to(rng.integers(0, 256, 3).astype(np.uint8), art.shape).copy()
    return good(flat, background, rng, size)


FAILURES: dict[str, Callable[..., np.ndarray]] = {
    "wrong_pitch": wrong_pitch,
    "blur": blur,
    "background": textured_background,
    "clutter": clutter,
    "off_centre": off_centre,
    "posterised": posterised,
    "blank": blank,
}
