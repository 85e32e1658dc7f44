"""``punkgen quality calibrate``: the ``[quality]`` thresholds a creator's own good renders ask for.

The defaults were chosen on the bench's synthetic renders; a creator's model is the ground
truth. :func:`calibrate` measures every threshold on renders the creator calls good (files,
folders of them, or a finished ``import`` collection's accepted renders, whose traits also let
the checks against the layers be measured) and :func:`~generator.pixels.thresholds.suggest`
turns each setting's values into a threshold; :func:`write_thresholds` puts them in
``[quality]`` of ``collection.toml``, keeping its comments and every other key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.config import Config
from generator.errors import Arg, UserError, plural
from generator.files import MISSING, RENDER_LIMIT, not_a_file, write_atomic
from generator.images import IMAGE_ERRORS, RENDER_SUFFIXES, image_problem, read_user_rgba
from generator.pixels.measures import Claim
from generator.pixels.palette import Palette, read_palette, to_lab
from generator.pixels.recovery import recover
from generator.pixels.thresholds import DEFAULT_MARGIN, NEEDS, Limit, limits, measure_limits, suggest
from generator.pixels.training_set import TrainingSet, load_training_set
from generator.plan.traits import TraitTable, combo_of, load_traits
from generator.progress import Advance, unseen
from generator.render.layers import Layers, background_colors, drawn_layers
from generator.run.folder import MANIFEST, RUN_FILE
from generator.run.manifest import read_history
from generator.text import read_text


@dataclass(frozen=True)
class Good:
    """One render the creator calls good, and what the run asked of it where a collection folder says."""

    path: Path
    traits: dict[str, str] | None  # a collection's accepted render: the traits its manifest line names


@dataclass(frozen=True)
class Spread:
    """One setting's values on the good renders, how many of them its default fails, and the threshold suggested."""

    limit: Limit
    values: np.ndarray
    failing: int
    suggested: float

    def percentile(self, percent: float) -> float:
        return float(np.percentile(self.values, percent))


@dataclass(frozen=True)
class Calibration:
    """What ``quality calibrate`` found: a spread per setting some render measured, and why the others were not."""

    renders: int
    margin: float
    spreads: tuple[Spread, ...]
    unmeasured: tuple[tuple[Limit, str], ...]  # each setting no render gave a value of, and why


@dataclass(frozen=True)
class Judged:
    """What the config gives every render: the palette and background colours, the layers and the training set."""

    config: Config
    tables: list[TraitTable]
    palette: Palette | None
    backgrounds: tuple[np.ndarray | None, ...]
    layers: Layers | None
    training: TrainingSet | None

    @staticmethod
    def of(config: Config) -> Judged:
        tables = load_traits(config)
        palette_path, training_dir = config.resolve(config.pixels.palette), config.resolve(config.quality.training_dir)
        return Judged(
            config,
            tables,
            read_palette(palette_path) if palette_path else None,
            background_colors(config, tables[0]),
            drawn_layers(config, tables),
            load_training_set(training_dir, config.pixels.size) if training_dir else None,
        )

    def claim(self, traits: dict[str, str] | None) -> tuple[Claim | None, np.ndarray | None]:
        """The layers' drawing of a collection render's traits, and its asked-for background (None for a loose render)."""
        combo = combo_of(self.tables, traits) if traits else None
        if combo is None:
            return None, None
        names = tuple((table.key, table.values[i].name) for table, i in zip(self.tables, combo, strict=True))
        claim = Claim(*self.layers.expectation(combo), names) if self.layers is not None else None
        return claim, self.backgrounds[combo[0]]

    def nearest_background(self, render: np.ndarray) -> np.ndarray | None:
        """A loose render's asked-for background: the configured one nearest its border's colour (ΔE76)."""
        known = [colour for colour in self.backgrounds if colour is not None]
        if not known:
            return None
        border = np.concatenate([render[0], render[-1], render[:, 0], render[:, -1]]).astype(float)
        distances = np.linalg.norm(to_lab(np.asarray(known, dtype=float)) - to_lab(np.median(border, axis=0)), axis=-1)
        return known[int(distances.argmin())]


def good_renders(config: Config, sources: Sequence[Path]) -> list[Good]:
    """Every render the sources name: image files, folders of them (read whole), finished collection folders."""
    found: list[Good] = []
    for source in sources:
        if (source / RUN_FILE).is_file() and (source / MANIFEST).is_file():
            found += collection_renders(config, source)
        elif source.is_dir():
            found += [Good(path, None) for path in sorted(source.rglob("*")) if path.suffix.lower() in RENDER_SUFFIXES]
        elif source.is_file():
            found.append(Good(source, None))
        else:
            why = not_a_file(source)  # a FIFO or device is right there: calling it missing misleads
            why = "no such file or folder" if why in (None, MISSING) else why
            raise UserError(f"{source}: {why}; pass render files, folders of them or a collection folder")
    if not found:
        raise UserError(f"no renders in {', '.join(map(str, sources))} ({', '.join(RENDER_SUFFIXES)}); pass your good renders")
    return found


def collection_renders(config: Config, folder: Path) -> list[Good]:
    """The accepted renders of a finished run, where its backend read them from a folder (import) and they are kept."""
    accepted = [line for line in read_history(folder / MANIFEST, repair=False).accepted.values() if "render_file" in line]
    if not accepted:
        raise UserError(
            f"{folder}: its renders were not kept (sprites, diffusion and hybrid runs write only the {config.pixels.size}"
            f"×{config.pixels.size} tokens); pass the folder of renders your model made instead"
        )
    renders = config.resolve(config.render.renders)
    if renders is None:
        raise UserError(f"{folder}: made by the import backend; pass the {Arg.CONFIG} whose [render].renders holds its renders")
    return [Good(renders / line["render_file"], line["traits"]) for line in sorted(accepted, key=lambda r: r["token_id"])]


def calibrate(config: Config, sources: Sequence[Path], margin: float = DEFAULT_MARGIN, progress: Advance = unseen) -> Calibration:
    """Every setting measured on every good render, its distribution and the threshold suggested (``margin``: a
    share of the good values' range, beyond the worst)."""
    judged = Judged.of(config)
    goods = good_renders(config, sources)
    progress(0, len(goods))
    values: dict[str, list[float]] = {limit.setting: [] for limit in limits()}
    for good in goods:
        for setting, value in measured(judged, good).items():
            values[setting].append(value)
        progress(1)
    spreads, unmeasured = [], []
    for limit in limits():
        found = np.asarray([v for v in values[limit.setting] if not math.isnan(v)])
        if not values[limit.setting]:
            unmeasured.append((limit, f"not measured: needs {NEEDS[limit.check.needs or '']}"))
        elif not len(found):  # e.g. every trait colour shown whole: no share to judge
            unmeasured.append((limit, "no render gave a reading to judge: each passes it at any value"))
        if not len(found):
            continue
        failing = int(sum(limit.fails(value, limit.default) for value in found))
        spreads.append(Spread(limit, found, failing, suggest(limit, found, margin)))
    return Calibration(len(goods), margin, tuple(spreads), tuple(unmeasured))


def measured(judged: Judged, good: Good) -> dict[str, float]:
    """One render's value of every setting it can be measured for: recovered as the run recovers it."""
    try:
        render = read_user_rgba(good.path, "pass renders that exist", RENDER_LIMIT, exact=False)[..., :3]
    except IMAGE_ERRORS as error:
        raise UserError(f"{good.path}: not a readable image ({image_problem(error)}); remove it or pass another") from None
    claim, expected = judged.claim(good.traits)
    if expected is None:
        expected = judged.nearest_background(render)
    pixels = judged.config.pixels
    recovery = recover(render, pixels.size, judged.palette, pixels.method, expected)
    return measure_limits(render, recovery, judged.config.quality, claim, judged.training)


def write_thresholds(config_path: Path, calibration: Calibration) -> dict[str, float]:
    """Each suggestion that differs from the value ``[quality]`` of ``config_path`` holds now (its default where the
    file has no such key), written in its place: the file's comments, layout and every other key kept, in one atomic
    write. Returns what it wrote."""
    import tomlkit

    document = tomlkit.parse(read_text(config_path, "pass the collection.toml to write into"))
    quality = document.setdefault("quality", tomlkit.table())
    written = {}
    for spread in calibration.spreads:
        setting, value = spread.limit.setting, as_declared(spread.limit.setting, spread.suggested)
        if quality.get(setting, spread.limit.default) == value:
            continue
        item = tomlkit.item(value)
        if setting in quality:  # the line's own comment stays with it
            old = quality.item(setting).trivia
            item.trivia.comment, item.trivia.comment_ws = old.comment, old.comment_ws
        quality[setting] = item
        written[setting] = value
    write_atomic(config_path, tomlkit.dumps(document).encode())
    return written


def as_declared(setting: str, value: float) -> int | float:
    """An integer setting as an integer (the schema refuses 2.0 for a count)."""
    from generator.schemas.declared import CONFIG

    return int(value) if CONFIG.setting(f"quality.{setting}").rules["type"] == "integer" else float(value)


def report_lines(calibration: Calibration, written: dict[str, float] | None = None, path: Path | None = None) -> list[str]:
    """The table ``quality calibrate`` prints: each setting's distribution over the good renders that measured it
    (n of them), how many its default fails (marked ✗), the threshold suggested and the rule that chose it; then what
    ``--write`` wrote."""
    margin = calibration.margin
    lines = [
        f"{calibration.renders} good renders; suggested: the default where it accepts them all, else the worst good "
        f"value plus {margin:.0%} of the good values' range (margin {margin:g}), rounded outward; a check that finds "
        "a wrong token keeps its default",
        f"{'[quality] setting':<26} {'check':<22} {'n':>4} {'min':>7} {'median':>7} {'p90':>7} {'p99':>7} {'max':>7} "
        f"{'default':>8} {'fails':>8} {'suggested':>10}",
    ]
    for spread in calibration.spreads:
        limit = spread.limit
        shown = [float(spread.values.min()), *(spread.percentile(p) for p in (50, 90, 99)), float(spread.values.max())]
        fails = f"{spread.failing} ✗" if spread.failing else "0"
        mark = "  ←" if spread.suggested != limit.default else ""
        if spread.failing and limit.check.wrong_token:
            mark = "  kept: these renders recovered to wrong pixels; look at them"
        lines.append(
            f"{limit.setting:<26} {limit.check.code.replace('{key}', '*'):<22} {len(spread.values):>4} "
            + " ".join(f"{value:>7.3g}" for value in shown)
            + f" {limit.default:>8g} {fails:>8} {as_declared(limit.setting, spread.suggested):>10g}{mark}"
        )
    for limit, why in calibration.unmeasured:
        lines.append(f"{limit.setting:<26} {limit.check.code.replace('{key}', '*'):<22} {why}")
    if written is not None:
        lines.append(f"{plural(len(written), 'setting')} written to [quality] of {path}: {', '.join(written) or 'none'}")
    return lines
