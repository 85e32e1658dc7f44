"""The quality filter against known failures: per-class recall and false rejects, with and without layer art.

Tokens are planned from the shipped tables and drawn by their layers. Good renders come in kinds
(`failures.GOOD_KINDS`): ``good``, within the limits of a LoRA render (`degrade.GOOD`: grid shift
±4 px, blur σ ≤ 1.2, tint, noise σ ≤ 8, JPEG 85–95); one ``good + effect`` row per thing a real
model's render does while keeping cells and palette, on top of GOOD and within `degrade.REAL`'s
limits (``drift``: a smooth colour field of 2–5 levels a channel; ``vignette``: corners up to 4 %
darker; ``texture``: σ ≤ 3 levels at half-cell scale; ``unsharp``: an unsharp mask to 60 %;
``lanczos``: made at 768 or 1024 and resampled Lanczos to 512); and ``good (real model)``, REAL:
all of them at once, made at 512, 768 or 1024. Each failure class is made by
`bench/failures.py`. Two more classes change the claim, not the pixels: ``trait_swap`` (a good
render whose metadata names another value of one trait) and ``duplicate`` (another token's art
again, new noise). Every render is judged twice, as a collection would: with layer art (the claim
and the asked-for background are known) and without (a diffusion collection with no layers).

What each row reports, per mode: ``rejected`` (a good kind: false rejects among its renders that
recover pixel-exact, as a filter cannot be blamed for rejecting a token recovery got wrong; a
failure class: its recall); ``exact``, the share whose recovered token is pixel-exact to the truth
(the claimed traits' art); and ``accepted exact``, of the accepted tokens, how many are pixel-exact
(a bad render accepted with exact pixels is harmless; a wrong-pixel token accepted is the real
failure). A duplicate counts as caught when it is rejected or its pixels equal an earlier accepted
token's. Goals: ≤ 1 % false rejects among good renders that recover pixel-exact; 100 % of accepted
tokens pixel-exact in every row; recall ≥ 95 % on every class with layers, ≥ 80 % without.

Thresholds were tuned on ``--seed 1``; the docs quote ``--seed 2`` (the default), which they never saw.

    python bench/quality.py                 # seed 2: 300 good, 100 of each effect, 300 real-model, 60 a class (~4 min)
    python bench/quality.py --measures      # each measure's spread per class, to choose thresholds
    python bench/quality.py --size 1024 --good 100 --per-effect 20 --real 40 --per-class 15
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from degrade import degrade
from failures import FAILURES, GOOD_KINDS, good

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
    truth: np.ndarray  # (S, S, 3) the token it should become: the claimed traits' art


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


def make_samples(collection: Collection, seed: int, counts: dict[str, int], per_class: int, size: int = 512) -> list[Sample]:
    """Good renders first, ``counts`` of each good kind (in token order, so duplicates can repeat them), then each
    failure class."""
    tables = collection.tables
    goods = sum(counts.values())
    combos = [
        t.combo
        for t in plan_collection(
            tables, compile_rules(collection.config.rules, tables), goods + per_class * 10, seed, "weighted", 1
        )
    ]
    rng = np.random.default_rng(seed)
    samples = []
    good_combos = iter(combos[:goods])
    for kind, count in counts.items():
        for combo in itertools.islice(good_combos, count):
            art = collection.layers.expectation(combo)[0]
            samples.append(Sample(kind, degrade(art, GOOD_KINDS[kind](rng, size), rng), combo, art))
    fresh = iter(combos[goods:])
    for kind, make in FAILURES.items():
        for _ in range(per_class):
            combo = next(fresh)
            art, owner = collection.layers.expectation(combo)
            samples.append(Sample(kind, make(art, owner == 0, rng, size), combo, art))
    for _ in range(per_class):
        combo = next(fresh)
        render = good(collection.layers.expectation(combo)[0], None, rng, size)
        claimed = swapped(collection, combo, rng)
        samples.append(Sample("trait_swap", render, claimed, collection.layers.expectation(claimed)[0]))
    for _ in range(per_class):  # another token's art again: in a collection, every claim is a new set
        art = collection.layers.expectation(combos[rng.integers(goods)])[0]
        claimed = next(fresh)
        samples.append(Sample("duplicate", good(art, None, rng, size), claimed, collection.layers.expectation(claimed)[0]))
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


def judge(collection: Collection, sample: Sample, with_layers: bool) -> tuple[Verdict, np.ndarray | None]:
    """The verdict and the recovered pixels, as a collection with (or without) layer art would see them."""
    expected = collection.backgrounds[sample.claimed[0]] if with_layers else None
    claimed = collection.claim(sample.claimed).pixels if with_layers else None  # the layers' token, as a run passes it
    try:
        recovery = recover(sample.render, collection.config.pixels.size, collection.palette, "mode", expected, claimed)
    except Exception as error:  # noqa: BLE001  a crash publishes nothing, but the table must show it: code "error"
        return Verdict((f"error: {type(error).__name__}: {error}",), {}), None
    claim = collection.claim(sample.claimed) if with_layers else None
    return assess(sample.render, recovery, collection.config.quality, None, claim), recovery.pixels


@dataclass(frozen=True)
class Outcome:
    """One render's fate in one mode: its verdict (None: a duplicate the duplicate check caught) and whether its
    recovered token is pixel-exact to the truth."""

    verdict: Verdict | None
    exact: bool

    @property
    def accepted(self) -> bool:
        return self.verdict is not None and self.verdict.accepted


Results = dict[str, dict[str, list[Outcome]]]  # mode → class → each render's outcome


def evaluate(collection: Collection, samples: list[Sample]) -> Results:
    """Per mode and class, each sample's outcome."""
    results: Results = {mode: defaultdict(list) for mode in MODES}
    for mode in MODES:
        accepted: set[str] = set()
        for sample in samples:
            verdict, pixels = judge(collection, sample, mode == MODES[0])
            digest = hashlib.sha256(b"" if pixels is None else pixels.tobytes()).hexdigest()
            duplicate = digest in accepted
            if verdict.accepted and not duplicate:
                accepted.add(digest)
            exact = pixels is not None and np.array_equal(pixels, sample.truth)
            results[mode][sample.kind].append(Outcome(None if duplicate else verdict, exact))
    return results


GOALS = {"with layers": 0.95, "without": 0.80}  # recall per class (issue 18); false rejects on good renders ≤ 1 %
MAX_FALSE_REJECTS = 0.01
NEEDS_LAYERS = {"trait_swap"}  # pixels alone can't tell which traits were asked for: without layer art, no check can


def print_table(results: Results) -> None:
    """Per class and mode: share rejected against its goal (✓ met, ✗ missed), share recovered pixel-exact, and how
    many accepted tokens are pixel-exact (✗ where one is not)."""
    print(
        "goals: good kinds ≤ 1 % rejected of those recovering pixel-exact; bad classes rejected ≥ 95 % with layer art, "
        "≥ 80 % without; every accepted token pixel-exact"
    )
    head = f"{'rejected':>12} {'exact':>7} {'accepted exact':>16}"
    print(f"{'':<20} {'':>7}  {'with layers':^37}  {'without':^37}")
    print(f"{'class':<20} {'renders':>7}  {head}  {head}")
    for kind in results[MODES[0]]:
        cells = [_cells(results[mode][kind], kind, goal) for mode, goal in zip(MODES, GOALS.values(), strict=True)]
        print(f"{kind:<20} {len(results[MODES[0]][kind]):>7}  {cells[0]}  {cells[1]}")


def _cells(outcomes: list[Outcome], kind: str, goal: float) -> str:
    exact = [o for o in outcomes if o.exact]
    accepted = [o for o in outcomes if o.accepted]
    accepted_exact = sum(o.exact for o in accepted)
    if kind.startswith("good"):  # false rejects among the renders a filter should pass: those recovered exactly
        rejected = sum(not o.accepted for o in exact) / max(len(exact), 1)
        mark = "✓" if rejected <= MAX_FALSE_REJECTS else "✗"
    else:
        rejected = sum(not o.accepted for o in outcomes) / len(outcomes)
        mark = "n/a" if kind in NEEDS_LAYERS and goal == GOALS["without"] else "✓" if rejected >= goal else "✗"
    verdict = "n/a" if kind in CLAIM_CLASSES else "✓" if accepted_exact == len(accepted) else "✗"
    shown = f"{accepted_exact}/{len(accepted)} {verdict}"  # a claim class's pixels never match the claim: n/a
    return f"{f'{rejected:.1%} {mark}':>12} {len(exact) / len(outcomes):>7.1%} {shown:>16}"


def print_reasons(results: Results) -> None:
    """What rejected each class, and for the good kinds which codes caught the renders recovery got wrong."""
    for mode in MODES:
        print(f"\nreasons ({mode}): class → the codes that rejected it, most common first")
        for kind, outcomes in results[mode].items():
            print(f"  {kind:<18} {_codes(outcomes)}")
            wrong = [o for o in outcomes if not o.exact]
            if kind.startswith("good") and wrong:
                print(f"  {'':<18} not pixel-exact ({len(wrong)}): {_codes(wrong)}")


def _codes(outcomes: list[Outcome]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for outcome in outcomes:
        verdict = outcome.verdict
        for code in {"duplicate"} if verdict is None else {r.split(":")[0] for r in verdict.reasons} or {"accepted"}:
            counts[code] += 1
    return ", ".join(f"{code} {n}" for code, n in sorted(counts.items(), key=lambda x: (-x[1], x[0])))


def print_measures(results: Results) -> None:
    """Each measure's 0/1/5/50/95/99/100th percentiles per class: what a threshold must fall between."""
    for mode in MODES:
        print(f"\nmeasures ({mode})")
        names = sorted({name for outcomes in results[mode].values() for o in outcomes if o.verdict for name in o.verdict.metrics})
        for name in names:
            print(f"  {name}")
            for kind, outcomes in results[mode].items():
                values = [o.verdict.metrics[name] for o in outcomes if o.verdict and name in o.verdict.metrics]
                if values:
                    q = np.percentile(values, [0, 1, 5, 50, 95, 99, 100])
                    print(f"    {kind:<18} " + " ".join(f"{x:8.3f}" for x in q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--good", type=int, default=300, help="good renders within GOOD")
    parser.add_argument("--per-effect", type=int, default=100, help="good renders of each real-model effect alone")
    parser.add_argument("--real", type=int, default=300, help="good renders within REAL: every effect at once")
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--size", type=int, default=512, help="render side in pixels (1024: SDXL-sized renders)")
    parser.add_argument("--measures", action="store_true")
    args = parser.parse_args()
    collection = shipped_collection()
    started = time.perf_counter()
    counts = {kind: args.per_effect for kind in GOOD_KINDS} | {"good": args.good, "good (real model)": args.real}
    samples = make_samples(collection, args.seed, counts, args.per_class, args.size)
    results = evaluate(collection, samples)
    print(f"quality filter, seed {args.seed}, {args.size}² renders ({time.perf_counter() - started:.0f} s)")
    print(
        "good kinds: good = GOOD (shift ±4 px, blur σ ≤ 1.2, tint, noise σ ≤ 8, JPEG 85–95); + drift 2–5 levels a "
        "channel, + vignette ≤ 4 %, + texture σ ≤ 3 levels, + unsharp ≤ 60 %, + lanczos (made at 768/1024): each alone "
        "on GOOD; real model = REAL, all at once (made at 512/768/1024)"
    )
    print_table(results)
    print_reasons(results)
    if args.measures:
        print_measures(results)


if __name__ == "__main__":
    main()
