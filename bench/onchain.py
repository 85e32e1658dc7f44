"""Issue 30's "Done when" collections, fully on chain: the shipped 10,000-token sprite collection and a 300-token mix
(layered tokens, a 1/1, a ``replace``d token).

For each: ``export --onchain`` timed without and with the gas measurement (what the measurement adds), the report's
figures against the goals (worst ``tokenURI`` ≤ 15,000,000 gas; for the 10,000: ≤ 100 KB stored, ≤ 30,000,000 gas to
deploy), every token's ``tokenURI`` compared with its files in an EVM (bench/onchain_check.py: revm when installed,
else py-evm on a sample), and the report's worst checked against a random sample measured in py-evm. Then the
compression measurement (bench/onchain_compression.py) on the 10,000's data.

    .venv/bin/python bench/onchain.py                          # 5 to 8 min on 2 shared cores
    .venv/bin/python bench/onchain.py --tokens 1000 --mix 60 --sample 8
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from made import finished_collection
from onchain_check import matches, pyevm_token_uri, revm_available, revm_token_uri
from onchain_compression import compression
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generator.config import DEFAULT_CONFIG_PATH, load_config  # noqa: E402
from generator.publish.onchain.evm import Chain  # noqa: E402
from generator.publish.onchain.export import export_onchain  # noqa: E402

WORST_GOAL, BYTES_GOAL, DEPLOY_GOAL = 15_000_000, 100_000, 30_000_000
PYEVM_SAMPLE = 12  # tokens checked through py-evm when revm is missing


def exported(folder: Path, config: Path) -> dict:
    """The export timed without, then with, the gas measurement; the report."""
    started = time.perf_counter()
    export_onchain(folder, load_config(config), None)
    plain = time.perf_counter() - started
    started = time.perf_counter()
    report = export_onchain(folder, load_config(config)).report
    measured = time.perf_counter() - started
    tokens = report["tokens"]["layered"] + report["tokens"]["whole"]
    print(
        f"export --onchain of {tokens:,} tokens: {plain:.1f} s with --no-gas, {measured:.1f} s measuring gas "
        f"(+{measured - plain:.1f} s, {report['gas']['token_uri']['tokens_measured']} tokenURIs)"
    )
    return report


def figures(folder: Path, report: dict, layered_goals: bool) -> None:
    gas, stored = report["gas"], (folder / "export" / "onchain" / "contract-data.bin").stat().st_size
    uri = gas["token_uri"]
    each = ", ".join(f"{t['transaction']} {t['gas']:,}" for t in gas["deploy"])
    print(f"stored: {stored:,} bytes in {report['data_contracts']} data contracts {_goal(stored, BYTES_GOAL, layered_goals)}")
    print(f"deploy: {gas['deploy_total']:,} gas ({each}) {_goal(gas['deploy_total'], DEPLOY_GOAL, layered_goals)}")
    print(f"mint: {gas['mint']['first_token']:,} the first token, {gas['mint']['per_token_in_batch']:,} per token in a batch")
    print(
        f"tokenURI: mean {uri['mean']:,}, worst {uri['worst']:,} (token {uri['worst_token']}) {_goal(uri['worst'], WORST_GOAL, True)}"
    )
    print(f"  ({uri['how']})")


def _goal(value: int, goal: int, applies: bool) -> str:
    return f"[goal ≤ {goal:,}: {'met' if value <= goal else 'MISSED'}]" if applies else ""


def check_every_token(folder: Path, sample: int) -> None:
    onchain = folder / "export" / "onchain"
    ids = sorted(int(path.stem) for path in (folder / "metadata").glob("*.json"))
    started, revm_gas = time.perf_counter(), {}
    if revm_available():
        token_uri, chosen, engine = revm_token_uri(onchain, revm_gas), ids, "revm"
    else:
        chosen = sorted(random.Random(0).sample(ids, min(PYEVM_SAMPLE, len(ids))))
        token_uri, engine = pyevm_token_uri(onchain), "py-evm (pip install pyrevm to check every token)"
    differing = [token_id for token_id in chosen if not matches(folder, token_id, token_uri(token_id))]
    print(
        f"tokenURI vs files in {engine}: {len(chosen):,} of {len(ids):,} tokens run, {len(chosen) - len(differing):,} "
        f"equal (JSON and SVG pixels) in {time.perf_counter() - started:.1f} s{f'; differ: {differing[:10]}' if differing else ''}"
    )
    if revm_gas:
        choices_against_every_token(onchain, revm_gas)
    worst_against_sample(onchain, ids, sample)


def choices_against_every_token(onchain: Path, revm_gas: dict[int, int]) -> None:
    """The report's choices (the worst's candidates, the mean's sample) against every token's gas in revm."""
    uri = json.loads((onchain / "report.json").read_text())["gas"]["token_uri"]
    top = max(revm_gas, key=revm_gas.__getitem__)
    every = sum(revm_gas.values()) / len(revm_gas)
    sampled = sum(revm_gas[t] for t in uri["mean_over"]) / len(uri["mean_over"])
    print(
        f"every token in revm: the costliest is token {top} ({'among' if top in uri['worst_over'] else 'NOT among'} the "
        f"report's worst candidates {uri['worst_over']}); the report's mean sample is {100 * (sampled / every - 1):+.2f} % "
        f"off every token's mean"
    )


def worst_against_sample(onchain: Path, ids: list[int], sample: int) -> None:
    """A random sample's tokenURI gas in py-evm, every token really minted: none should exceed the reported worst."""
    report = json.loads((onchain / "report.json").read_text())["gas"]["token_uri"]
    arguments = json.loads((onchain / "contract.json").read_text())
    chain = Chain()
    chain.deploy(arguments, (onchain / "contract-data.bin").read_bytes())
    for start in range(0, len(ids), 500):
        chain.mint(min(500, len(ids) - start))
    chosen = random.Random(1).sample(ids, min(sample, len(ids)))
    measured = {t: chain.call_gas("tokenURI(uint256)", ["uint256"], [t]) for t in chosen}
    top = max(measured, key=measured.__getitem__)
    verdict = "holds" if measured[top] <= report["worst"] else "EXCEEDED"
    print(
        f"worst check: {len(chosen)} random tokens in py-evm, highest {measured[top]:,} (token {top}), mean "
        f"{round(sum(measured.values()) / len(measured)):,}; the reported worst {report['worst']:,} {verdict}"
    )


def mixed_collection(root: Path, tokens: int) -> tuple[Path, Path]:
    """``tokens`` sprites from the shipped traits with a 1/1 (token 7) and token ``tokens // 2`` replaced by hand."""
    config = root / "traits" / "collection.toml"
    shutil.copytree(REPO / DEFAULT_CONFIG_PATH.parent, config.parent)
    king = np.full((24, 24, 3), (30, 30, 40), np.uint8)
    king[4:20, 6:18] = (230, 180, 40)
    Image.fromarray(king).save(config.parent / "king.png")
    entry = '\n[[one_of_one]]\nimage = "king.png"\ntoken_id = 7\nattributes = { Type = "Alien King" }\n'
    config.write_text(config.read_text() + entry)
    folder, python = root / "mix", [sys.executable, "-m", "generator"]
    subprocess.run(
        [*python, "collection", "-n", str(tokens), "--out", folder, "--config", config, "--backend", "sprites", "--quiet"],
        cwd=REPO,
        check=True,
    )
    replaced = tokens // 2
    pixels = np.asarray(Image.open(folder / "images" / f"{replaced}.png").convert("RGBA")).copy()
    pixels[0:2, :] = (200, 30, 90, 255)
    Image.fromarray(pixels).save(root / "fixed.png")
    command = [*python, "replace", folder, str(replaced), "--image", root / "fixed.png", "--config", config]
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    return folder, config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--mix", type=int, default=300)
    parser.add_argument("--sample", type=int, default=24, help="random tokens whose tokenURI gas checks the worst")
    parser.add_argument("--out", type=Path, help="a finished collection to reuse, or where to make one")
    args = parser.parse_args()
    with finished_collection(args.out, args.tokens) as folder:
        print(f"\n== the shipped sprite collection, {args.tokens:,} tokens ==")
        report = exported(folder, REPO / DEFAULT_CONFIG_PATH)
        figures(folder, report, layered_goals=True)
        check_every_token(folder, args.sample)
        print("\n== compression, on this collection's data ==")
        compression(folder / "export" / "onchain", report)
    with tempfile.TemporaryDirectory() as scratch:
        print(f"\n== a {args.mix}-token mix: layered tokens, a 1/1, a replaced token ==")
        folder, config = mixed_collection(Path(scratch), args.mix)
        report = exported(folder, config)
        print(f"tokens: {report['tokens']['layered']} layered, {report['tokens']['whole']} stored whole")
        figures(folder, report, layered_goals=False)
        check_every_token(folder, args.sample)


if __name__ == "__main__":
    main()
