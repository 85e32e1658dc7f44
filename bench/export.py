"""``export --car`` against plain ``export`` of the same 10,000-token collection, measured in the same run.

The issue's bar: packing ``images/`` and ``metadata/`` into CAR files (and linking the metadata
to the images' CID) keeps an export within 2× of one without. Both run in-process through the
library (``export_collection``), alternating, best of ``--repeats`` each, after one warm-up
export (the page cache then holds the masters for both); the collection is generated once with
the sprites backend, into a temporary folder unless ``--folder`` names a finished one.

    .venv/bin/python bench/export.py              # 10,000 tokens
    .venv/bin/python bench/export.py --tokens 1000 --repeats 5
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from made import finished_collection, timed_collection_arguments  # noqa: E402

from generator.config import load_config  # noqa: E402
from generator.publish.car import pack_folder  # noqa: E402
from generator.publish.export import export_collection  # noqa: E402

URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/"


def timed(folder: Path, car: bool) -> float:
    config = load_config()
    started = time.perf_counter()
    export_collection(folder, config, base_uri=None if car else URI, car=car)
    return time.perf_counter() - started


def main() -> None:
    args = timed_collection_arguments(__doc__.splitlines()[0])
    with finished_collection(args.folder, args.tokens) as folder:
        timed(folder, car=False)  # warm-up: page cache, worker start-up code paths
        plain, car = [], []
        for _ in range(args.repeats):
            plain.append(timed(folder, car=False))
            car.append(timed(folder, car=True))
        best_plain, best_car = min(plain), min(car)
        print(f"export        best {best_plain:.2f} s  (runs: {', '.join(f'{s:.2f}' for s in plain)})")
        print(f"export --car  best {best_car:.2f} s  (runs: {', '.join(f'{s:.2f}' for s in car)})")
        print(f"ratio --car / plain: {best_car / best_plain:.2f}× (the bar: ≤ 2×)")
        print(f"of which packing images/ + metadata/ alone: {packing(folder / 'export'):.2f} s")


def packing(export: Path) -> float:
    """The CAR step by itself, on the folders the last ``--car`` export wrote: the machine is shared, so the two
    exports' difference is noisy; this is what ``--car`` adds to the work."""
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        for name in ("images", "metadata"):
            pack_folder(export / name, Path(scratch) / f"{name}.car")
        return time.perf_counter() - started


if __name__ == "__main__":
    main()
