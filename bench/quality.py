"""The quality filter against known failures: per-class recall and false rejects, with and without layer art.

Tokens are planned from the shipped tables and drawn by their layers; good renders are degraded
within the limits of a LoRA render (`failures.good_degradation`: grid shift ±4 px, blur σ ≤ 1.2,
tint, noise σ ≤ 8, JPEG 85–95) and each failure class is made by `bench/failures.py`. Two more
classes change the claim, not the pixels: ``trait_swap`` (a good render whose metadata names
another value of one trait) and ``duplicate`` (another token's art again, new noise). Every
render is judged twice, as a collection would: with layer art (the claim and the asked-for
background are known) and without (a diffusion collection with no layers). A duplicate counts
as caught when it is rejected or its pixels equal an earlier accepted token's. Goals: recall ≥ 95 %
on every class with layers, ≥ 80 % without; ≤ 1 % false rejects of good renders.

Thresholds were tuned on ``--seed 1``; the README quotes ``--seed 2`` (the default), which they never saw.

    python bench/quality.py                 # 500 good renders, 60 of each failure class, seed 2
    python bench/quality.py --measures      # each measure's spread per class, to choose thresholds
    python bench/quality.py --size 1024 --good 100 --per-class 15
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from failures import FAILURES, good

from generator.config import load_config
from generator.pixels.measures import Claim
from generator.pixels.palette import Palette, read_palette
from generator.pixels.quality import Verdict, assess
from generator.pixels.recovery import recover
from generator.plan.plan import plan_collection
from generator.plan.rules import compile_rules
from generator.plan.traits import TraitTable, load_traits
from generator.render.layers import Layers, background_colors, load_layers

REPO = Path(__file__).resolve().parents[1]
CLAIM_CLASSES = ("trait_swap", "duplicate")
MODES = ("with layers", "without")


@dataclass(frozen=True)
class Collection:
    config: object
    tables: list[TraitTable]
    layers: Layers
    palette: Palette
    backgrounds: tuple[np.ndarray | None, ...]

    def claim(self, combo: tuple[int, ...]) -> Claim:
        pixels, owner = self.layers.expectation(combo)
        return Claim(pixels, owner, tuple((t.key, t.values[i].name) for t, i in zip(self.tables, combo, strict=True)))


@dataclass(frozen=True)
class Sample:
    kind: str
    render: np.ndarray
    claimed: tuple[int, ...]


def shipped_collection() -> Collection:
    config = load_config(REPO / "traits" / "collection.toml")
    tables = load_traits(config)
    return Collection(
        config,
        tables,
        load_layers(config, tables),
        read_palette(config.resolve(config.pixels.palette)),
        background_colors(config, tables[0]),
    )


def make_samples(collection: Collection, seed: int, goods: int, per_class: int, size: int = 512) -> list[Sample]:
    """Good renders first (in token order, so duplicates can repeat them), then each failure class."""
    tables = collection.tables
    combos = [
        t.combo
        for t in plan_collection(
            tables, compile_rules(collection.config.rules, tables), goods + per_class * 10, seed, "weighted", 1
        )
    ]
    rng = np.random.default_rng(seed)
    samples = []
    for combo in combos[:goods]:
        art, owner = collection.layers.expectation(combo)
        samples.append(Sample("good", good(art, owner == 0, rng, size), combo))
    fresh = iter(combos[goods:])
    for kind, make in FAILURES.items():
        for _ in range(per_class):
            combo = next(fresh)
            art, owner = collection.layers.expectation(combo)
            samples.append(Sample(kind, make(art, owner == 0, rng, size), combo))
    for _ in range(per_class):
        combo = next(fresh)
        samples.append(
            Sample("trait_swap", good(collection.layers.expectation(combo)[0], None, rng, size), swapped(collection, combo, rng))
        )
    for _ in range(per_class):  # another token's art again: in a collection, every claim is a new set
        art = collection.layers.expectation(combos[rng.integers(goods)])[0]
        samples.append(Sample("duplicate", good(art, None, rng, size), next(fresh)))
    return samples


def swapped(collection: Collection, combo: tuple[int, ...], rng: np.random.Generator) -> tuple[int, ...]:
    """The same set with one trait changed to another value that draws at least 3 pixels differently."""
    drawn = collection.layers.expectation(combo)[0]
    while True:
        trait = int(rng.integers(len(combo)))
        value = int(rng.choice(collection.tables[trait].enabled_indices))
        claimed = combo[:trait] + (value,) + combo[trait + 1 :]
        if (collection.layers.expectation(claimed)[0] != drawn).any(axis=-1).sum() >= 3:
            return claimed


def judge(collection: Collection, sample: Sample, with_layers: bool) -> tuple[Verdict, bytes]:
    """The verdict and the recovered pixels, as a collection with (or without) layer art would see them."""
    expected = collection.backgrounds[sample.claimed[0]] if with_layers else None
    try:
        recovery = recover(sample.render, collection.config.pixels.size, collection.palette, "mode", expected)
    except Exception as error:  # noqa: BLE001  a crash publishes nothing, but the table must show it: code "error"
        return Verdict((f"error: {type(error).__name__}: {error}",), {}), b""
    claim = collection.claim(sample.claimed) if with_layers else None
    return assess(sample.render, recovery, collection.config.quality, None, claim), recovery.pixels.tobytes()


def evaluate(collection: Collection, samples: list[Sample]) -> dict[str, dict[str, list[Verdict | None]]]:
    """Per mode and class, each sample's verdict; None marks a duplicate caught by the duplicate check."""
    results: dict[str, dict[str, list[Verdict | None]]] = {mode: defaultdict(list) for mode in MODES}
    for mode in MODES:
        accepted: set[str] = set()
        for sample in samples:
            verdict, pixels = judge(collection, sample, mode == MODES[0])
            digest = hashlib.sha256(pixels).hexdigest()
            duplicate = digest in accepted
            if verdict.accepted and not duplicate:
                accepted.add(digest)
            results[mode][sample.kind].append(None if duplicate else verdict)
    return results


GOALS = {"with layers": 0.95, "without": 0.80}  # recall per class (issue 18); false rejects on good renders ≤ 1 %
MAX_FALSE_REJECTS = 0.01
NEEDS_LAYERS = {"trait_swap"}  # pixels alone can't tell which traits were asked for: without layer art, no check can


def print_table(results: dict[str, dict[str, list[Verdict | None]]]) -> None:
    """Share rejected per class and mode, each against its goal (✓ met, ✗ missed)."""
    print("goals: recall ≥ 95 % a class with layer art, ≥ 80 % without; false rejects of good renders ≤ 1 %")
    print(f"{'class':<22} {'renders':>8} {'with layers':>14} {'without':>14}")
    for kind in results[MODES[0]]:
        cells = [_cell(results[mode][kind], kind, goal) for mode, goal in zip(MODES, GOALS.values(), strict=True)]
        label = "good (false rejects)" if kind == "good" else kind
        print(f"{label:<22} {len(results[MODES[0]][kind]):>8} {cells[0]:>14} {cells[1]:>14}")


def _cell(verdicts: list[Verdict | None], kind: str, goal: float) -> str:
    rejected = sum(v is None or not v.accepted for v in verdicts) / len(verdicts)
    if kind in NEEDS_LAYERS and goal == GOALS["without"]:
        return f"{rejected:.1%} n/a"
    met = rejected <= MAX_FALSE_REJECTS if kind == "good" else rejected >= goal
    return f"{rejected:.1%} {'✓' if met else '✗'}"


def print_reasons(results: dict[str, dict[str, list[Verdict | None]]]) -> None:
    for mode in MODES:
        print(f"\nreasons ({mode}): class → the codes that rejected it, most common first")
        for kind, verdicts in results[mode].items():
            counts: dict[str, int] = defaultdict(int)
            for verdict in verdicts:
                for code in {"duplicate"} if verdict is None else {r.split(":")[0] for r in verdict.reasons}:
                    counts[code] += 1
            print(f"  {kind:<12} " + ", ".join(f"{code} {n}" for code, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))))


def print_measures(results: dict[str, dict[str, list[Verdict | None]]]) -> None:
    """Each measure's 0/1/5/50/95/99/100th percentiles per class: what a threshold must fall between."""
    for mode in MODES:
        print(f"\nmeasures ({mode})")
        names = sorted({name for verdicts in results[mode].values() for v in verdicts if v for name in v.metrics})
        for name in names:
            print(f"  {name}")
            for kind, verdicts in results[mode].items():
                values = [v.metrics[name] for v in verdicts if v and name in v.metrics]
                if values:
                    q = np.percentile(values, [0, 1, 5, 50, 95, 99, 100])
                    print(f"    {kind:<12} " + " ".join(f"{x:8.3f}" for x in q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--good", type=int, default=500)
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--size", type=int, default=512, help="render side in pixels (1024: SDXL-sized renders)")
    parser.add_argument("--measures", action="store_true")
    args = parser.parse_args()
    collection = shipped_collection()
    started = time.perf_counter()
    samples = make_samples(collection, args.seed, args.good, args.per_class, args.size)
    results = evaluate(collection, samples)
    print(
        f"quality filter, seed {args.seed}, {args.size}² renders: share of renders rejected ({time.perf_counter() - started:.0f} s)"
    )
    print_table(results)
    print_reasons(results)
    if args.measures:
        print_measures(results)


if __name__ == "__main__":
    main()
