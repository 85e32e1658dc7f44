"""The finished collection a timing bench runs on: the one a folder holds, or one made there with the sprites backend.

``bench/export.py``, ``bench/rarity.py`` and ``bench/ordinals.py`` time commands on a 10,000-token collection; making it
takes most of a minute, so a finished one named on the command line is reused, and otherwise one is made in a
temporary folder that goes when the bench ends.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed_collection_arguments(description: str) -> argparse.Namespace:
    """The flags of a bench that times a command on a finished collection: its size, the repeats, a folder to reuse."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folder", type=Path, help="a finished collection folder (made with the shipped config)")
    return parser.parse_args()


@contextmanager
def finished_collection(folder: Path | None, tokens: int) -> Iterator[Path]:
    """``folder`` if it holds a finished collection, else ``tokens`` made there (or in a temporary folder)."""
    from generator.curate.finished import require_collection_folder
    from generator.errors import UserError

    with tempfile.TemporaryDirectory() as scratch:
        folder = folder or Path(scratch) / "collection"
        try:
            require_collection_folder(folder)
            print(f"reusing the collection in {folder}")
        except UserError:
            started = time.perf_counter()
            command = [sys.executable, "-m", "generator", "collection", "-n", str(tokens), "--out", str(folder)]
            subprocess.run([*command, "--backend", "sprites", "--quiet"], cwd=REPO, check=True)
            print(f"collection of {tokens:,} tokens made in {time.perf_counter() - started:.1f} s")
        yield folder
