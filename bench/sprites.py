"""Sprite-backend throughput: punkgen against a naive per-token Pillow generator, measured in the same run.

Each collection run is a fresh `punkgen collection` process, so start-up is included; peak
memory is the sum of the RSS of the process and its worker processes, sampled. Both run on the disk and on tmpfs: on this project's
virtual machines file creation alone varied from 30 to 600 µs a file within one session, so
the tmpfs rows show the cost of the code and the ratio is the figure to compare. The peer is the loop most Python NFT generators use
(nft-generator-py style): open each layer file per token, `Image.alpha_composite`, save the
PNG, dump indented JSON, no atomic writes. Figures for HashLips (Node + cairo) are quoted from
a measurement on the same kind of 2-core machine, not re-measured here (it needs Node tooling
this repository does not ship).

    make bench            # 1,000 and 10,000 tokens
    python bench/sprites.py --sizes 1000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
HASHLIPS_TOKENS_PER_S = (1500, 2000)  # 10,000 tokens in 5–7 s, 125 MB peak


def timed_process(command: list[str]) -> tuple[float, float]:
    """Wall seconds, and peak memory (MB) of the process and its workers together, sampled every 10 ms."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    root = psutil.Process(process.pid)
    while process.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]))
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()}")
    return seconds, peak / 2**20


def punkgen(size: int, out: Path) -> tuple[float, float]:
    command = [
        sys.executable,
        "-m",
        "generator",
        "collection",
        "-n",
        str(size),
        "--out",
        str(out),
        "--backend",
        "sprites",
        "--quiet",
    ]
    return timed_process(command)


def naive_peer(size: int, out: Path) -> tuple[float, float]:
    return timed_process([sys.executable, __file__, "--naive-peer", str(size), str(out)])


def run_naive_peer(size: int, out: Path) -> None:
    """The peer itself: what a straightforward Pillow generator does per token."""
    import csv

    order = ["background", "type", "hair", "eyes", "mouth", "accessory"]
    tables = {}
    for trait in order:
        with (REPO / "traits" / f"{trait}.csv").open() as stream:
            rows = [row for row in csv.DictReader(stream) if float(row["weight"]) > 0]
        tables[trait] = ([row["value"] for row in rows], [float(row["weight"]) for row in rows])
    rng = random.Random(42)
    seen: set[tuple[str, ...]] = set()
    (out / "images").mkdir(parents=True)
    (out / "metadata").mkdir()
    token = 0
    while token < size:
        values = tuple(rng.choices(*tables[trait])[0] for trait in order)
        if values in seen:
            continue
        seen.add(values)
        token += 1
        image = Image.open(REPO / "traits" / "layers" / order[0] / f"{values[0]}.png").convert("RGBA")
        for trait, value in zip(order[1:], values[1:], strict=True):
            image = Image.alpha_composite(image, Image.open(REPO / "traits" / "layers" / trait / f"{value}.png").convert("RGBA"))
        image.save(out / "images" / f"{token}.png")
        attributes = [{"trait_type": t.title(), "value": v} for t, v in zip(order, values, strict=True) if v != "None"]
        document = {"name": f"Bespoke Punks #{token}", "image": f"ipfs://CID/{token}.png", "attributes": attributes}
        (out / "metadata" / f"{token}.json").write_text(json.dumps(document, indent=2))


def scratch_places() -> list[tuple[str, str | None]]:
    """The disk (what users get) and, where there is one, RAM (the CPU cost alone, without the disk's noise)."""
    places: list[tuple[str, str | None]] = [("disk", None)]
    if Path("/dev/shm").is_dir():
        places.append(("tmpfs", "/dev/shm"))
    return places


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--naive-peer", nargs=2, metavar=("N", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive_peer:
        run_naive_peer(int(args.naive_peer[0]), Path(args.naive_peer[1]))
        return
    print(
        f"{'where':<6} {'tokens':>7} {'punkgen s':>10} {'tokens/s':>9} {'peak MB':>8} {'naive s':>8} {'tokens/s':>9} {'speed-up':>9}"
    )
    for where, parent in scratch_places():
        with tempfile.TemporaryDirectory(dir=parent) as scratch:
            for size in args.sizes:
                ours, ours_mb = punkgen(size, Path(scratch) / f"punkgen-{size}")
                theirs, _ = naive_peer(size, Path(scratch) / f"naive-{size}")
                print(
                    f"{where:<6} {size:>7} {ours:>10.2f} {size / ours:>9.0f} {ours_mb:>8.0f} "
                    f"{theirs:>8.2f} {size / theirs:>9.0f} {theirs / ours:>8.1f}×"
                )
    low, high = HASHLIPS_TOKENS_PER_S
    print(
        f"reference, not measured here: HashLips {low:,}–{high:,} tokens/s at 10,000 tokens; goal: 10,000 tokens in ≤ 5 s, ≤ 300 MB"
    )


if __name__ == "__main__":
    main()
