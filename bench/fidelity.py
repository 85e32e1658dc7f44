"""Trait fidelity: how well the quality filter's trait check catches mislabelled tokens, and diffusion against hybrid.

Part 1, the check's own accuracy (needs no model): sprite tokens of the shipped tables are
degraded like a 512 render (`generator.degrade.Degradation.random`), and on half of them one
claimed trait is swapped for another value of the same shape but another colour (background,
skin, hair colour or eye colour), as a text-to-image render that ignored the prompt would be.
Reported per trait: recall (swaps caught, by the reason naming that trait) and precision, and
the false rejections of correctly labelled tokens. Goal: recall ≥ 95 % with ≤ 2 % false
rejections.

Part 2, the renderers (a model is needed): the same planned tokens through `diffusion` and
`hybrid`: acceptance, trait-fidelity rate, colours per token, pixels to the nearest training
image, images/s. Without --model it uses a tiny random SD-1.5-shaped model on the CPU, which
measures the machinery and speed, not the art; on a GPU point --model/--lora at the real ones.

    python bench/fidelity.py                        # part 1 (400 tokens) + part 2 with a tiny model (16 tokens)
    python bench/fidelity.py --model DIR --lora FILE --tokens 200 --size 512 --steps 30
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from degrade import Degradation, degrade  # noqa: E402

from generator.config import load_config  # noqa: E402
from generator.pixels.measures import Claim  # noqa: E402
from generator.pixels.palette import read_palette  # noqa: E402
from generator.pixels.quality import assess  # noqa: E402
from generator.pixels.recovery import recover  # noqa: E402
from generator.plan.plan import plan_collection  # noqa: E402
from generator.plan.rules import compile_rules  # noqa: E402
from generator.plan.traits import load_traits  # noqa: E402
from generator.render.layers import background_colors, load_layers  # noqa: E402

SWAPPED = ("background", "type", "hair", "eyes")


def same_shape_variants(stack: np.ndarray, index: int) -> list[int]:
    """Other values of a trait whose layer covers exactly the same pixels: a colour swap, not a shape swap."""
    mask = stack[index, ..., 3] > 0
    return [i for i in range(len(stack)) if i != index and np.array_equal(stack[i, ..., 3] > 0, mask) and stack[i].any()]


def check_accuracy(tokens: int, seed: int) -> None:
    config = load_config(REPO / "traits" / "collection.toml")
    tables = load_traits(config)
    layers = load_layers(config, tables)
    palette = read_palette(config.resolve(config.pixels.palette))
    backgrounds = background_colors(config, tables[0])
    plan = plan_collection(tables, compile_rules(config.rules, tables), tokens, seed, "weighted", 1)
    position = {table.key: i for i, table in enumerate(tables)}
    rng = np.random.default_rng(seed)
    caught, flagged, swaps, false_rejections, honest = Counter(), Counter(), Counter(), 0, 0
    started = time.perf_counter()
    for token in plan:
        truth = layers.composite(np.array([token.combo]))[0]
        claimed = list(token.combo)
        swapped = None
        if rng.random() < 0.5:
            key = SWAPPED[rng.integers(len(SWAPPED))]
            trait = position[key]
            options = same_shape_variants(layers.stacks[trait], token.combo[trait])
            if options:
                claimed[trait] = options[rng.integers(len(options))]
                swapped = key
        render = degrade(truth, Degradation.random(rng), rng)
        recovery = recover(render, config.pixels.size, palette, "mode", backgrounds[claimed[0]])
        pixels, owner = layers.expectation(tuple(claimed))
        names = tuple((table.key, table.values[i].name) for table, i in zip(tables, claimed, strict=True))
        reasons = assess(render, recovery, config.quality, None, Claim(pixels, owner, names)).reasons
        named = {_trait_of(reason) for reason in reasons} - {None}
        for key in named:
            flagged[key] += 1
        if swapped:
            swaps[swapped] += 1
            caught[swapped] += swapped in named
        else:
            honest += 1
            false_rejections += bool(reasons)
    seconds = time.perf_counter() - started
    print(
        f"part 1: the trait check on {tokens} degraded sprite tokens, {sum(swaps.values())} with one claim swapped ({seconds:.1f} s)"
    )
    print(f"{'trait':<12} {'swapped':>8} {'recall':>8} {'flagged':>8} {'precision':>10}")
    for key in SWAPPED:
        recall = caught[key] / swaps[key] if swaps[key] else float("nan")
        precision = caught[key] / flagged[key] if flagged[key] else float("nan")
        print(f"{key:<12} {swaps[key]:>8} {recall:>8.1%} {flagged[key]:>8} {precision:>10.1%}")
    print(f"false rejections of correctly labelled tokens: {false_rejections}/{honest} = {false_rejections / max(1, honest):.1%}")


def _trait_of(reason: str) -> str | None:
    code = reason.split(":")[0]
    if code == "background_color":
        return "background"
    return code.removeprefix("trait_") if code.startswith("trait_") else None


def compare_renderers(args: argparse.Namespace) -> None:
    from generator.run.collection import run_collection

    with tempfile.TemporaryDirectory() as scratch:
        model, lora = args.model, args.lora
        if model is None:
            from tiny_sd import build_tiny_sd

            model, lora = str(build_tiny_sd(Path(scratch) / "tiny-sd")), ""
        config = load_config(REPO / "traits" / "collection.toml")
        config = config.override("model", base=str(Path(model).resolve()) if Path(model).exists() else model, lora=lora or "")
        config = config.override("render", width=args.size, height=args.size, steps=args.steps, batch_size=args.batch)
        config = config.override("collection", size=args.tokens).override("quality", max_attempts=1)
        print(
            f"\npart 2: {args.tokens} tokens, {args.size}×{args.size}, {args.steps} steps, model {model}, LoRA {lora or 'none'}"
        )
        print(f"{'backend':<10} {'accepted':>9} {'traits ok':>10} {'colours':>8} {'images/s':>9}")
        for backend in ("diffusion", "hybrid"):
            started = time.perf_counter()
            out = Path(scratch) / backend
            run_collection(config.override("render", backend=backend), out=out, progress=False)
            rate = args.tokens / (time.perf_counter() - started)
            _report(backend, out, rate)


def _report(backend: str, out: Path, rate: float) -> None:
    import json

    from PIL import Image

    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    accepted = [r for r in records if r["verdict"] == "accepted"]
    trait_ok = [r for r in records if not any(reason.startswith(("trait_", "background_color")) for reason in r["reasons"])]
    colours = [
        len(np.unique(np.asarray(Image.open(out / "images" / f"{r['token_id']}.png")).reshape(-1, 3), axis=0)) for r in accepted
    ]
    mean_colours = f"{np.mean(colours):.1f}" if colours else "-"
    print(
        f"{backend:<10} {len(accepted) / len(records):>9.0%} {len(trait_ok) / len(records):>10.0%} {mean_colours:>8} {rate:>9.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-tokens", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model")
    parser.add_argument("--lora")
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    check_accuracy(args.check_tokens, args.seed)
    compare_renderers(args)


if __name__ == "__main__":
    main()
