"""Animated collections against the still one, in the same run (issue 32: within 3× the still collection's time).

The shipped traits are copied twice: as they are (the still collection) and with one layer turned into a 4-frame strip
(``--value``, Brown eyes by default: the most common eyes, worn by about a third of the tokens); ``--every-token``
adds a row where every eyes value is a 4-frame strip, so every token animates (the worst case of one animated trait).
Each ``punkgen collection`` run is a fresh process (start-up included), the still and the animated run in turn with
the order alternating, ``--repeat`` pairs a row; the median of the pairs' ratios is the figure, since other work on
the machine moves both runs of a pair together. Folders go under ``--dir`` (tmpfs by default: the cost of the code,
not of the disk's moods; see bench/sprites.py on this VM's ext4) and are removed at the end.

    python bench/animation.py                      # 10,000 tokens, 3 pairs, Brown eyes animated
    python bench/animation.py --size 1000 --repeat 1 --every-token
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
GOAL = 3.0  # an animated collection within 3× the still one's time (issue 32)
FRAMES = 4


def strip(path: Path) -> None:
    """``path`` (one 24×24 layer) → a 4-frame strip side by side: as drawn, recoloured, hidden (a blink), as drawn."""
    layer = np.asarray(Image.open(path).convert("RGBA"))
    recoloured = layer.copy()
    recoloured[layer[..., 3] > 0, :3] = (200, 30, 90)
    Image.fromarray(np.concatenate([layer, recoloured, np.zeros_like(layer), layer], axis=1), "RGBA").save(path)


def traits(root: Path, animated: list[str]) -> Path:
    """A copy of the shipped traits with the layers ``animated`` (``trait/value``) as strips; returns its config."""
    shutil.copytree(REPO / "traits", root)
    for name in animated:
        strip(root / "layers" / f"{name}.png")
    return root / "collection.toml"


def timed(config: Path, size: int, out: Path) -> float:
    command = [sys.executable, "-m", "generator", "collection", "-n", str(size), "--config", str(config)]
    command += ["--out", str(out), "--backend", "sprites", "--quiet"]
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {finished.stderr.decode()}")
    return time.perf_counter() - started


def row(label: str, work: Path, still: Path, animated: Path, size: int, repeat: int) -> float:
    """``repeat`` alternating pairs after one untimed warm-up pair; prints the row, returns the median ratio."""
    pairs = []
    for turn in range(repeat + 1):
        runs = {}
        for name, config in sorted({"still": still, "animated": animated}.items(), reverse=turn % 2 == 1):
            runs[name] = timed(config, size, work / f"{label}-{name}-{turn}")
        if turn:  # the first pair warms the page cache
            pairs.append((runs["still"], runs["animated"]))
    out = work / f"{label}-animated-{repeat}"
    gifs = list((out / "animations").glob("*.gif"))
    size_kb = sum(p.stat().st_size for p in gifs) / max(len(gifs), 1) / 1000
    ratio = statistics.median(a / s for s, a in pairs)
    seconds = ", ".join(f"{s:.2f}/{a:.2f}" for s, a in pairs)
    print(f"{label:<28} {size:>7,} {len(gifs):>9,} {size_kb:>8.2f}   {seconds:<28} {ratio:>5.2f}×")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--value", default="eyes/Brown", help="the layer made a 4-frame strip (trait/value)")
    parser.add_argument("--every-token", action="store_true", help="add a row with every eyes value a strip")
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="punkgen-bench-animation-", dir=args.dir))
    try:
        still = traits(work / "still", [])
        print(f"{'row':<28} {'tokens':>7} {'animated':>9} {'GIF KB':>8}   {'still/animated s (pairs)':<28} ratio")
        ratios = [row(f"one layer ({args.value})", work, still, traits(work / "one", [args.value]), args.size, args.repeat)]
        if args.every_token:
            every = [f"eyes/{p.stem}" for p in sorted((REPO / "traits" / "layers" / "eyes").glob("*.png"))]
            ratios.append(row("every token (all eyes)", work, still, traits(work / "every", every), args.size, args.repeat))
        verdict = "within" if max(ratios) <= GOAL else "OVER"
        print(f"goal: an animated collection within {GOAL:g}× the still one's time: {verdict} (worst {max(ratios):.2f}×)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
