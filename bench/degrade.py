"""What a diffusion render does to pixel art, simulated: for benchmarks and tests of the pixel pipeline.

A LoRA trained on NEAREST upscales renders soft cell edges, noise, a slight global tint and
sometimes a shifted grid; saved as JPEG it adds block artefacts. A real model's render does more
that keeps the cells and the palette (issue 29): a smooth, low-frequency colour drift of a few levels
across the image, a faint vignette, texture inside the cells, an unsharp mask, and a render made at
768 or 1024 resampled to 512 with Lanczos, so cell edges fall between pixels. :func:`degrade` applies
all of these to an exact S×S image so recovery and the quality filter can be scored against the truth;
:data:`GOOD` draws the first kind only (the bench's good renders since issue 16), :data:`REAL` adds the second.
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
    drift: tuple[float, float, float] = (0.0, 0.0, 0.0)  # levels: the largest |colour drift| per channel (smooth field)
    drift_seed: int = 0  # which smooth field (its shape); its size is ``drift``
    vignette: float = 0.0  # share of brightness lost in the corners (0.03: corners 3 % darker, centre untouched)
    texture: float = 0.0  # σ in levels of a texture at half-cell scale (per-cell shading, brush grain)
    unsharp: int = 0  # PIL UnsharpMask percent at radius 2 (0: none)
    rendered_at: int | None = None  # the model's own render side, resampled to ``size`` with Lanczos; None: made at size

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
            **(limits.real_model(rng) if limits.drift[1] > 0 else {}),  # only REAL draws more: GOOD's seeds stay as they were
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
    drift: tuple[float, float] = (0.0, 0.0)  # levels, the largest |drift| per channel
    vignette: tuple[float, float] = (0.0, 0.0)  # share lost in the corners
    texture: tuple[float, float] = (0.0, 0.0)  # σ, levels
    unsharp: tuple[int, int] = (0, 0)  # percent
    rendered_at: tuple[int | None, ...] = (None,)  # the model's render side, drawn from these

    def real_model(self, rng: np.random.Generator) -> dict[str, object]:
        """What a real model adds, each drawn within these limits."""
        return {
            "drift": tuple(float(v) for v in rng.uniform(*self.drift, 3)),
            "drift_seed": int(rng.integers(2**31)),
            "vignette": float(rng.uniform(*self.vignette)),
            "texture": float(rng.uniform(*self.texture)),
            "unsharp": int(rng.integers(self.unsharp[0], self.unsharp[1] + 1)),
            "rendered_at": self.rendered_at[int(rng.integers(len(self.rendered_at)))],
        }


# The worst renders were seen to do (issue 16): blur to 2 px, noise σ to 12, a gain of ±5 %, JPEG down to 80.
HARD = Limits(blur=(0.5, 2.0), noise=(2.0, 12.0), gain=(0.95, 1.05), jpeg=80)
# What a good render stays within (the quality filter must accept it): blur σ ≤ 1.2, noise σ ≤ 8, a tint, JPEG 85–95.
GOOD = Limits(blur=(0.0, 1.2), noise=(0.0, 8.0), gain=(0.97, 1.03), jpeg=85)
# GOOD plus what a real model's render does while keeping cells and palette (issue 29): a drift of 2–5 levels per
# channel, a vignette to 4 %, texture σ ≤ 3 levels, an unsharp mask to 60 %, made at 512, 768 or 1024.
REAL = Limits(
    blur=(0.0, 1.2),
    noise=(0.0, 8.0),
    gain=(0.97, 1.03),
    jpeg=85,
    drift=(2.0, 5.0),
    vignette=(0.0, 0.04),
    texture=(0.0, 3.0),
    unsharp=(0, 60),
    rendered_at=(None, 768, 1024),
)


def degrade(pixels: np.ndarray, how: Degradation, rng: np.random.Generator) -> np.ndarray:
    """(S, S, 3) uint8 → (size, size, 3) uint8 render-like image.

    In the order a model and its UI make them: the art at the model's own size (shifted, blurred, textured), resampled
    to ``size``, then tinted, drifted, vignetted, noised, sharpened and saved as JPEG.
    """
    side = how.rendered_at or how.size
    scale = side / how.size
    screen = np.asarray(Image.fromarray(pixels).resize((side, side), Image.Resampling.NEAREST))
    dy, dx = (round(v * scale) for v in how.shift)
    padded = np.pad(screen, ((abs(dy), abs(dy)), (abs(dx), abs(dx)), (0, 0)), mode="edge")
    screen = padded[abs(dy) - dy : abs(dy) - dy + side, abs(dx) - dx : abs(dx) - dx + side]
    image = Image.fromarray(np.ascontiguousarray(screen))
    if how.blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(how.blur * scale))
    if how.texture > 0:
        image = Image.fromarray(_clip(np.asarray(image) + _texture(pixels.shape[0], side, how.texture, rng)))
    if side != how.size:
        image = image.resize((how.size, how.size), Image.Resampling.LANCZOS)
    values = np.asarray(image).astype(np.float64) * np.array(how.gain) + np.array(how.offset)
    if any(how.drift):
        values += _drift(how.size, how.drift, how.drift_seed)
    if how.vignette > 0:
        values *= _vignette(how.size, how.vignette)[..., None]
    if how.noise > 0:
        values += rng.normal(0.0, how.noise, values.shape)
    image = Image.fromarray(_clip(values))
    if how.unsharp > 0:
        image = image.filter(ImageFilter.UnsharpMask(radius=2, percent=how.unsharp, threshold=0))
    result = np.asarray(image)
    if how.jpeg is not None:
        buffer = io.BytesIO()
        Image.fromarray(result).save(buffer, format="JPEG", quality=how.jpeg)
        result = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return result


def _clip(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _drift(size: int, amplitude: tuple[float, float, float], seed: int) -> np.ndarray:
    """(size, size, 3) a smooth colour field: per channel a random mix of low-order terms (slopes, one bend, a saddle),
    scaled so its largest |value| is that channel's amplitude. Low frequency: it changes a few levels across the image,
    so neighbouring cells of one colour read alike while far ones differ, as a model's uneven lighting does."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1) - 0.5
    basis = np.stack([x, y, np.cos(np.pi * x), np.cos(np.pi * y), x * y * 4, np.cos(np.pi * x) * np.cos(np.pi * y)])
    weights = np.random.default_rng(seed).normal(size=(3, len(basis)))
    field = np.einsum("cb,bhw->hwc", weights, basis)
    field -= field.mean(axis=(0, 1))
    return field / np.abs(field).max(axis=(0, 1)) * np.array(amplitude)


def _vignette(size: int, strength: float) -> np.ndarray:
    """(size, size) brightness factor: 1 in the centre, 1 − strength in the corners, quadratic in the radius."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1) - 0.5
    return 1.0 - strength * (x**2 + y**2) / 0.5


def _texture(cells: int, side: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """(side, side, 3) texture at half-cell scale: random values on a grid twice the art's, upscaled bicubic, σ levels."""
    coarse = rng.normal(0.0, 1.0, (cells * 2, cells * 2, 3))
    planes = [
        Image.fromarray(coarse[..., c].astype(np.float32), mode="F").resize((side, side), Image.Resampling.BICUBIC)
        for c in range(3)
    ]
    field = np.stack([np.asarray(plane) for plane in planes], axis=-1)
    return field / max(float(field.std()), 1e-9) * sigma
