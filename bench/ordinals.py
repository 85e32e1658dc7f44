"""The Ordinals export end to end on a sprite collection, as issue 31's first done-when item asks.

All three phases of ``export --ordinals`` run with fake but well-formed ``ord wallet batch`` outputs
(bench/ordinals_chain.py); then every recursive token SVG is drawn by headless Chromium from
``/content/<id>`` served on 127.0.0.1 as an ord explorer serves it (bench/ordinals_browser.py), a few
hundred tokens per screenshot, and compared with ``images/<id>.png`` exactly at 24×24, and a sample at
20×, which must stay crisp. Prints the tokens checked and pixel-equal, and the cost table from
``export/ordinals/report.json``. The collection is made with the sprites backend and the shipped
config in ``--out`` unless ``--out`` already holds a finished one.

    .venv/bin/python bench/ordinals.py                 # 10,000 tokens
    .venv/bin/python bench/ordinals.py --tokens 500 --scale-sample 5
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from chromium import CHROMIUM
from made import finished_collection
from ordinals_browser import rendered, upscaled
from ordinals_chain import content_table, inscribe

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generator.config import DEFAULT_CONFIG_PATH, load_config  # noqa: E402
from generator.publish.ordinals.cost import DEFAULT_FEE_RATE  # noqa: E402
from generator.publish.ordinals.phases import export_ordinals  # noqa: E402

GRID = 20  # columns and rows of a 1× page: 400 tokens, a 480×480 screenshot
ZOOM = 20
ZOOM_COLUMNS = 5  # a 2,400-pixel-wide page at 20×


def inscribe_all(folder: Path, fee_rate: float) -> Path:
    """The three phases, each answered by fake ``ord wallet batch`` outputs; returns ``export/ordinals``."""
    config = load_config(REPO / DEFAULT_CONFIG_PATH)  # the one the collection was made with
    started = time.perf_counter()
    ordinals = export_ordinals(folder, config, fee_rate=fee_rate).folder
    for kind in ("layers", "tokens"):
        export_ordinals(folder, config, inscribe(ordinals, kind), fee_rate)
    print(f"three phases of export --ordinals in {time.perf_counter() - started:.1f} s")
    return ordinals


def compared(folder: Path, files: dict[str, Path], tokens: list[str], scale: int, columns: int) -> list[str]:
    """Draw ``tokens`` in Chromium at ``scale``×, ``columns × columns`` per screenshot; the numbers that differ."""
    page = columns * columns
    differing = []
    with tempfile.TemporaryDirectory() as scratch:
        for start in range(0, len(tokens), page):
            chunk = tokens[start : start + page]
            square = min(columns, math.isqrt(len(chunk) - 1) + 1)  # squarish: headless Chromium left
            # most cells of a wide, low page unpainted (480×120: 80 of 100 magenta in part)
            for token_id, cell in zip(chunk, rendered(files, chunk, scale, square, Path(scratch)), strict=True):
                number = files[token_id].stem
                if not np.array_equal(cell, upscaled(folder / "images" / f"{number}.png", scale)):
                    differing.append(number)
    return differing


def check_in_browser(folder: Path, ordinals: Path, sample: int) -> None:
    files = content_table(ordinals)
    tokens = [i for i, f in files.items() if f.parent.name == "tokens"]
    svgs = sorted((i for i in tokens if files[i].suffix == ".svg"), key=lambda i: int(files[i].stem))
    print(f"{len(tokens):,} tokens inscribed: {len(svgs):,} recursive SVGs, {len(tokens) - len(svgs):,} own PNGs")
    started = time.perf_counter()
    differing = compared(folder, files, svgs, 1, GRID)
    pages = -(-len(svgs) // (GRID * GRID))
    print(
        f"24×24: {len(svgs):,} SVGs checked in Chromium, {len(svgs) - len(differing):,} pixel-equal to images/<id>.png "
        f"({pages} screenshots, {time.perf_counter() - started:.1f} s){_named(differing)}"
    )
    chosen = random.Random(0).sample(svgs, min(sample, len(svgs)))
    started = time.perf_counter()
    differing = compared(folder, files, chosen, ZOOM, ZOOM_COLUMNS)
    print(
        f"{ZOOM}×: {len(chosen)} sampled SVGs checked, {len(chosen) - len(differing)} pixel-equal to the master "
        f"upscaled by {ZOOM} ({time.perf_counter() - started:.1f} s){_named(differing)}"
    )


def _named(differing: list[str]) -> str:
    return f"; differ: {', '.join(differing[:10])}{' …' if len(differing) > 10 else ''}" if differing else ""


def cost_table(report: dict) -> None:
    """The report's phases side by side, and what the recursive tokens weigh against whole PNGs."""
    rows = {"layers": "layers", "tokens": "tokens (recursive)", "every_token_as_png": "every token as PNG"}
    print(f"\ncost at {report['fee_rate_sat_per_vb']:g} sat/vB (ord {report['ord']}):")
    print(f"| {'':<20} | inscriptions |      bytes | average | batches |     vbytes |         fee (sats) |")
    print(f"|{'-' * 22}|-------------:|-----------:|--------:|--------:|-----------:|-------------------:|")
    for key, name in rows.items():
        p = report[key]
        print(
            f"| {name:<20} | {p['inscriptions']:>12,} | {p['content_bytes']:>10,} | {p['average_bytes']:>7,.1f} "
            f"| {p['batches']:>7} | {p['vbytes']:>10,} | {p['fee_sats']:>18,} |"
        )
    svg, png, layers = report["tokens"], report["every_token_as_png"], report["layers"]
    print(
        f"SVG / PNG per token: {svg['average_bytes'] / png['average_bytes']:.2f} in bytes, "
        f"{svg['vbytes'] / png['vbytes']:.2f} in vbytes; layers + tokens / PNG: "
        f"{(layers['vbytes'] + svg['vbytes']) / png['vbytes']:.2f} in vbytes, {report['recursive_over_png_fee']:.2f} in fee"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument(
        "--out", type=Path, help="a finished collection to reuse, or where to make one (default: a temporary folder)"
    )
    parser.add_argument("--scale-sample", type=int, default=20, help=f"tokens also checked at {ZOOM}×")
    parser.add_argument("--fee-rate", type=float, default=DEFAULT_FEE_RATE, help="sat/vB")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"needs Debian's chromium at {CHROMIUM}")
    started = time.perf_counter()
    with finished_collection(args.out, args.tokens) as folder:
        ordinals = inscribe_all(folder, args.fee_rate)
        check_in_browser(folder, ordinals, args.scale_sample)
        cost_table(json.loads((ordinals / "report.json").read_text()))
    print(f"\nwhole run: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
