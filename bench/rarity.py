"""``punkgen rarity`` on a 10,000-token collection: the whole command, and what the marketplace methods add.

The issue's bar: the command (OpenRarity, statistical rarity, HowRare.is plain and normalised, the
tables of moves and 1/1s) takes ≤ 3 s on 10,000 tokens. The command runs as a fresh process (start-up
and imports included, as a user sees it), best of ``--repeats``; then, in-process on the same folder,
the steps: reading the folder back, OpenRarity alone (the baseline: what the command ranked before),
and every method from one count. The collection is generated once with the sprites backend, into a
temporary folder unless ``--folder`` names a finished one.

    .venv/bin/python bench/rarity.py                  # 10,000 tokens
    .venv/bin/python bench/rarity.py --tokens 1000 --repeats 5
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "traits" / "collection.toml"
sys.path.insert(0, str(REPO))

from made import finished_collection, timed_collection_arguments  # noqa: E402

from generator.config import load_config  # noqa: E402
from generator.publish.export import load_collection  # noqa: E402
from generator.publish.rank_methods import MARKETPLACE_METHODS, rank_collection  # noqa: E402
from generator.publish.rarity import rank_tokens  # noqa: E402


def best_of(repeats: int, step: Callable[[], object]) -> list[float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - started)
    return seconds


def line(label: str, seconds: list[float]) -> str:
    return f"{label:<48} best {min(seconds):.3f} s  (runs: {', '.join(f'{s:.3f}' for s in seconds)})"


def main() -> None:
    args = timed_collection_arguments(__doc__.splitlines()[0])
    with finished_collection(args.folder, args.tokens) as folder:
        command = [sys.executable, "-m", "generator", "rarity", str(folder)]
        run = partial(subprocess.run, command, cwd=REPO, check=True, capture_output=True)
        run()  # warm-up: page cache
        print(line("punkgen rarity (fresh process; the bar ≤ 3 s)", best_of(args.repeats, run)))
        collection = load_collection(folder, load_config(CONFIG))
        attributes = collection.attributes
        print(line("  reading the folder back", best_of(args.repeats, partial(load_collection, folder, load_config(CONFIG)))))
        print(line("  OpenRarity alone (the baseline)", best_of(args.repeats, partial(rank_tokens, attributes))))
        every = partial(rank_collection, attributes, MARKETPLACE_METHODS)
        print(line("  OpenRarity + 3 marketplace methods, one count", best_of(args.repeats, every)))


if __name__ == "__main__":
    main()
