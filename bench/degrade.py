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
    def random(cls, rng: np.random.Generator, size: int = 512) -> Degradation:
        """A hard mix: every degradation at once, each drawn up to the worst renders were seen to do (issue 16:
        shift ±4 px, blur to 2 px, a per-channel gain of ±5 % with an offset of ±8, noise σ to 12, JPEG down to 80)."""
        return cls(
            size=size,
            shift=tuple(int(v) for v in rng.integers(-4, 5, 2)),
            blur=float(rng.uniform(0.5, 2.0)),
            noise=float(rng.uniform(2.0, 12.0)),
            gain=tuple(float(v) for v in rng.uniform(0.95, 1.05, 3)),
            offset=tuple(float(v) for v in rng.uniform(-8.0, 8.0, 3)),
            jpeg=int(rng.integers(80, 96)),
        )


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
