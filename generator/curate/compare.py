"""``punkgen compare``: finished runs side by side with the creator's originals, as the recipe's evaluation asks.

A LoRA's epochs differ in two ways a creator must weigh: how far a token strays from the originals' style (colours
no original has, more or fewer colours per token) and how close it comes to copying one (the near-copy guard's
measure: pixels that differ from the closest original). So each run gets the same figures, in a column named by
its folder, and one sheet shows each token beside its nearest original, a column per run:

- **palette coverage**: the originals' colours the run's tokens use (used / total), and the colours they use that
  no original has;
- **colours per token**, the run's beside the originals' (min / median / p90 / max);
- **nearest-original distance** (min / median / p90 / max) and how many tokens are near-copies (fewer than
  ``[quality].min_training_distance`` pixels differ).

Every folder is read by the readers ``export`` trusts (:func:`~generator.curate.finished.load_collection`: a
finished collection, checked against its manifest), under a shared lock, and several runs must be runs of one plan
(the same traits at every token id). The originals are read as ``[quality].training_dir`` is. Everything is
computed before anything is written; the sheet and ``report.json`` are written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from generator.config import Config
from generator.curate.compare_sheet import Pair, comparison_sheet
from generator.curate.finished import load_collection, read_master, require_collection_folder
from generator.errors import Arg, UserError
from generator.files import place_errors_said, real_path, write_atomic
from generator.images import encode_png, pack_rgb
from generator.pixels.training_set import TrainingSet, load_training_set
from generator.run.folder import EXPORT, IMAGES, METADATA, REJECTED_DIR, TO_RENDER, within
from generator.run.lock import folder_lock
from generator.run.sheet import SHEET_ZLIB_LEVEL

OUT_FOLDER, SHEET_FILE, REPORT_FILE = "compare", "sheet.png", "report.json"
SHEET_TOKENS = 64  # the sheet shows the first 64 token ids (the figures cover every token): 24-px tiles stay ≥ 2×
SAME_PLAN = f"{Arg.CHECKPOINTS} must be runs of the same plan (the same config, seed and N, e.g. one per LoRA epoch)"
PUNKGEN_FILES = (IMAGES, METADATA, REJECTED_DIR, EXPORT, TO_RENDER)  # where a collection's own files live


@dataclass(frozen=True)
class Spread:
    """A distribution in four numbers; median and p90 by nearest rank, so each is a value some image has."""

    min: int
    median: int
    p90: int
    max: int

    @classmethod
    def of(cls, values: np.ndarray) -> Spread:
        low, median, p90, high = np.percentile(values, [0, 50, 90, 100], method="inverted_cdf")
        return cls(int(low), int(median), int(p90), int(high))

    def __str__(self) -> str:
        return f"{self.min}/{self.median}/{self.p90}/{self.max}"


@dataclass(frozen=True)
class Run:
    """A finished collection folder's tokens, in token id order."""

    folder: Path
    name: str  # the column's heading
    traits: dict[int, dict[str, str]]
    pixels: np.ndarray  # (n, S, S, 3) uint8

    @property
    def token_ids(self) -> list[int]:
        return list(self.traits)


@dataclass(frozen=True)
class Nearest:
    """Each token's closest original (its index in the training set) and how many pixels differ from it."""

    index: np.ndarray
    distance: np.ndarray

    def pair(self, run: Run, training: TrainingSet, n: int, limit: int) -> Pair:
        """The sheet's cell for the run's ``n``-th token."""
        distance = int(self.distance[n])
        return Pair(run.pixels[n], training.pixels[self.index[n]], distance, distance < limit)


@dataclass(frozen=True)
class RunFigures:
    """One run measured against the originals."""

    name: str
    folder: str
    tokens: int
    palette_used: int  # of the originals' colours
    palette_total: int
    new_colours: list[str]  # #rrggbb the tokens use and no original has
    colours_per_token: Spread
    nearest_distance: Spread
    near_copies: int  # tokens fewer than [quality].min_training_distance pixels from an original
    nearest: list[dict[str, object]]  # per token: token_id, original (its file), distance


@dataclass(frozen=True)
class Comparison:
    originals: Path
    original_count: int
    original_palette: int
    original_colours: Spread
    min_training_distance: int
    runs: list[RunFigures]
    sheet: Path
    sheet_tokens: list[int]
    report: Path

    def report_lines(self) -> list[str]:
        """The figures as a table, the originals' column first and then one per run; then where the files are."""
        limit, runs, none = self.min_training_distance, self.runs, "–"
        rows = [
            ("", ["originals", *(run.name for run in runs)]),
            ("images", [f"{self.original_count:,}", *(f"{run.tokens:,}" for run in runs)]),
            (
                "colours of the originals' palette",
                [str(self.original_palette), *(f"{r.palette_used} / {r.palette_total}" for r in runs)],
            ),
            ("colours no original has", [none, *(str(len(run.new_colours)) for run in runs)]),
            ("colours per image min/median/p90/max", [str(self.original_colours), *(str(r.colours_per_token) for r in runs)]),
            ("nearest original min/median/p90/max", [none, *(str(run.nearest_distance) for run in runs)]),
            (f"near-copies (< {limit} pixels differ)", [none, *(str(run.near_copies) for run in runs)]),
        ]
        label_width = max(len(label) for label, _ in rows)
        widths = [max(len(values[n]) for _, values in rows) for n in range(len(rows[0][1]))]
        first, last = self.sheet_tokens[0], self.sheet_tokens[-1]
        return [
            *(
                f"{label:<{label_width}}  " + "  ".join(f"{value:>{width}}" for value, width in zip(values, widths, strict=True))
                for label, values in rows
            ),
            f"originals: {self.originals}",
            f"sheet: {self.sheet} (tokens {first}–{last}, each beside its nearest original; under them the pixels that "
            f"differ, red under {limit})",
            f"report: {self.report}",
        ]

    def as_json(self) -> dict[str, object]:
        return {
            "originals": {
                "folder": str(self.originals),
                "images": self.original_count,
                "colours": self.original_palette,
                "colours_per_image": asdict(self.original_colours),
            },
            "min_training_distance": self.min_training_distance,
            "runs": [asdict(run) for run in self.runs],
            "sheet": {"file": str(self.sheet), "token_ids": self.sheet_tokens},
        }


def compare_runs(
    config: Config, folder: Path, checkpoints: Sequence[Path], originals: Path, out: Path | None = None
) -> Comparison:
    """Measure ``folder`` (and each checkpoint run of the same plan) against ``originals``; write the sheet and
    ``report.json`` to ``out`` (default ``folder/compare``). Any mistake is one :class:`UserError`, nothing written."""
    folders = [folder, *checkpoints]
    out = folder / OUT_FOLDER if out is None else out
    _refuse_out(out, folders, originals, config.layers_folder)
    with ExitStack() as held:
        for each in folders:
            require_collection_folder(each)
            held.enter_context(folder_lock(each, "compare", shared=True))  # no run or export changes it meanwhile
        runs = [_read_run(each, name, config) for each, name in zip(folders, _names(folders), strict=True)]
    _require_one_plan(runs)
    training = load_training_set(originals, config.pixels.size, Arg.ORIGINALS)
    limit = config.quality.min_training_distance
    palette = np.unique(pack_rgb(training.pixels))
    nearest = [Nearest(*training.nearest(run.pixels)) for run in runs]  # the near-copy guard's measure
    figures = [_figures(run, palette, training, found, limit) for run, found in zip(runs, nearest, strict=True)]
    shown = runs[0].token_ids[:SHEET_TOKENS]
    rows = [[found.pair(run, training, n, limit) for run, found in zip(runs, nearest, strict=True)] for n in range(len(shown))]
    sheet = comparison_sheet([run.name for run in runs], shown, rows)
    comparison = Comparison(
        originals, len(training.names), len(palette), Spread.of(_colour_counts(training.pixels)), limit, figures,
        out / SHEET_FILE, shown, out / REPORT_FILE,
    )  # fmt: skip
    with place_errors_said(out, f"choose another {Arg.OUT}, or make it writable"):
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(comparison.sheet, encode_png(sheet, level=SHEET_ZLIB_LEVEL))
        write_atomic(comparison.report, (json.dumps(comparison.as_json(), indent=2) + "\n").encode())
    return comparison


def _refuse_out(out: Path, folders: Sequence[Path], originals: Path, layers: Path) -> None:
    """The sheet never lands among the originals (a later read would take it for one), the config's layer images (a
    layer folder would gain a stray image, ``palette extract`` of it a sheet's colours) nor among a collection's own files
    (``verify`` would report it, ``--force`` could remove it); a folder beside them, such as the default
    ``FOLDER/compare``, is fine."""
    for name, given in (("originals folder", originals), ("layers folder", layers)):
        if given.exists() and within(out, given):
            raise UserError(f"{out} is inside the {name} {given}; choose an {Arg.OUT} outside it")
    for folder in folders:
        own = [folder / sub for sub in PUNKGEN_FILES]
        if folder.is_dir() and (real_path(out) == real_path(folder) or any(within(out, place) for place in own)):
            raise UserError(
                f"{out} is among the files of the collection folder {folder}; choose an {Arg.OUT} beside them, "
                f"e.g. {folder / OUT_FOLDER}"
            )


def _names(folders: Sequence[Path]) -> list[str]:
    """Each run's heading: its folder's name, or its last two path parts where two runs share a name."""
    names = [real_path(folder).name for folder in folders]
    if len(set(names)) == len(names):
        return names
    return ["/".join(real_path(folder).parts[-2:]) for folder in folders]


def _read_run(folder: Path, name: str, config: Config) -> Run:
    """A finished collection's tokens, read as ``export`` reads them (every token there, each master decoded)."""
    collection = load_collection(folder, config)
    side = config.pixels.size
    pixels = np.stack([np.asarray(read_master(token.master, side).convert("RGB")) for token in collection.tokens])
    return Run(folder, name, {token.token_id: token.traits for token in collection.tokens}, pixels)


def _require_one_plan(runs: Sequence[Run]) -> None:
    """Checkpoint runs must hold the same traits at every token id as the first run, or their columns compare
    different punks."""
    first = runs[0]
    for run in runs[1:]:
        if run.token_ids != first.token_ids:
            raise UserError(
                f"{run.folder} holds tokens {_span(run.token_ids)}, {first.folder} {_span(first.token_ids)}: {SAME_PLAN}"
            )
        for token_id, traits in first.traits.items():
            if run.traits[token_id] != traits:
                differing = _differing(traits, run.traits[token_id])
                raise UserError(
                    f"{run.folder}: token {token_id} has other traits than in {first.folder} ({differing}): {SAME_PLAN}"
                )


def _span(token_ids: list[int]) -> str:
    return f"{token_ids[0]}–{token_ids[-1]}" if token_ids else "none"


def _differing(first: dict[str, str], other: dict[str, str]) -> str:
    return ", ".join(f"{key} {other.get(key)!r}, not {value!r}" for key, value in first.items() if other.get(key) != value)


def _figures(run: Run, palette: np.ndarray, training: TrainingSet, nearest: Nearest, limit: int) -> RunFigures:
    used = np.unique(pack_rgb(run.pixels))
    new = np.setdiff1d(used, palette, assume_unique=True)
    return RunFigures(
        name=run.name,
        folder=str(run.folder),
        tokens=len(run.pixels),
        palette_used=int(np.isin(palette, used, assume_unique=True).sum()),
        palette_total=len(palette),
        new_colours=[f"#{int(code):06x}" for code in new],
        colours_per_token=Spread.of(_colour_counts(run.pixels)),
        nearest_distance=Spread.of(nearest.distance),
        near_copies=int((nearest.distance < limit).sum()),
        nearest=[
            {"token_id": token_id, "original": training.names[n], "distance": int(d)}
            for token_id, n, d in zip(run.token_ids, nearest.index, nearest.distance, strict=True)
        ],
    )


def _colour_counts(pixels: np.ndarray) -> np.ndarray:
    """Distinct colours in each image of (n, S, S, 3)."""
    codes = np.sort(pack_rgb(pixels).reshape(len(pixels), -1), axis=1)
    return 1 + (np.diff(codes, axis=1) != 0).sum(axis=1)
