"""What a diffusion render does to pixel art, simulated: for benchmarks and tests of the pixel pipeline.

A LoRA trained on NEAREST upscales renders soft cell edges, noise, a slight global tint and
sometimes a shifted grid; saved as JPEG it adds block artefacts. :func:`degrade` applies those
to an exact S×S image so recovery can be scored against the truth.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter


@dataclass(frozen=True)
class Degradation:
    size: int = 512  # render side in pixels
    shift: tuple[int, int] = (0, 0)  # (dy, dx) screen pixels the art is moved by
    blur: float = 0.0  # Gaussian radius in screen pixels
    noise: float = 0.0  # σ of Gaussian noise, in levels
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)  # colour cast: observed = gain · true + offset
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    jpeg: int | None = None  # JPEG quality, or None for none

    @classmethod
    def random(cls, rng: np.random.Generator, size: int = 512, limits: Limits | None = None) -> Degradation:
        """Every degradation at once, each drawn within ``limits`` (by default :data:`HARD`)."""
        limits = limits or HARD
        return cls(
            size=size,
            shift=tuple(int(v) for v in rng.integers(-4, 5, 2)),
            blur=float(rng.uniform(*limits.blur)),
            noise=float(rng.uniform(*limits.noise)),
            gain=tuple(float(v) for v in rng.uniform(*limits.gain, 3)),
            offset=tuple(float(v) for v in rng.uniform(-8.0, 8.0, 3)),
            jpeg=int(rng.integers(limits.jpeg, 96)),
        )

    @classmethod
    def at_limits(cls, rng: np.random.Generator, size: int = 512) -> Degradation:
        """Every degradation at issue 16's limit at once: a shift of 4 px and a gain of 5 % per channel (each of
        random sign), blur 1.5 px, noise σ 12, JPEG 80; the offset drawn within ±8. No render was seen this bad:
        it is where search failures show, one image in hundreds."""
        return cls(
            size=size,
            shift=tuple(int(v) for v in rng.choice([-4, 4], 2)),
            blur=1.5,
            noise=12.0,
            gain=tuple(float(v) for v in rng.choice([0.95, 1.05], 3)),
            offset=tuple(float(v) for v in rng.uniform(-8.0, 8.0, 3)),
            jpeg=80,
        )


@dataclass(frozen=True)
class Limits:
    """The ranges :meth:`Degradation.random` draws from (grid shift ±4 px and an offset of ±8 always)."""

    blur: tuple[float, float]  # Gaussian radius, px
    noise: tuple[float, float]  # σ, levels
    gain: tuple[float, float]  # per channel
    jpeg: int  # lowest JPEG quality (up to 95)


# The worst renders were seen to do (issue 16): blur to 2 px, noise σ to 12, a gain of ±5 %, JPEG down to 80.
HARD = Limits(blur=(0.5, 2.0), noise=(2.0, 12.0), gain=(0.95, 1.05), jpeg=80)
# What a good render stays within (the quality filter must accept it): blur σ ≤ 1.2, noise σ ≤ 8, a tint, JPEG 85–95.
GOOD = Limits(blur=(0.0, 1.2), noise=(0.0, 8.0), gain=(0.97, 1.03), jpeg=85)


def degrade(pixels: np.ndarray, how: Degradation, rng: np.random.Generator) -> np.ndarray:
    """(S, S, 3) uint8 → (size, size, 3) uint8 render-like image."""
    image = Image.fromarray(pixels).resize((how.size, how.size), Image.Resampling.NEAREST)
    screen = np.asarray(image)
    dy, dx = how.shift
    padded = np.pad(screen, ((abs(dy), abs(dy)), (abs(dx), abs(dx)), (0, 0)), mode="edge")
    screen = padded[abs(dy) - dy : abs(dy) - dy + how.size, abs(dx) - dx : abs(dx) - dx + how.size]
    image = Image.fromarray(np.ascontiguousarray(screen))
    if how.blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(how.blur))
    values = np.asarray(image).astype(np.float64) * np.array(how.gain) + np.array(how.offset)
    if how.noise > 0:
        values += rng.normal(0.0, how.noise, values.shape)
    result = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    if how.jpeg is not None:
        buffer = io.BytesIO()
        Image.fromarray(result).save(buffer, format="JPEG", quality=how.jpeg)
        result = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return result
