"""Each ``[quality]`` threshold measured on a render, and the threshold a creator's good renders suggest.

The quality verdict (:mod:`generator.pixels.quality`) stops at a family's first failing row and
at a failing final one; calibration must see every row's value on every render, so
:func:`measure_limits` takes each row's measure whatever the others say. A row that reads
several values (one per trait, one per training image) gives its worst, the one that decides
its verdict. :func:`suggest` turns the values good renders gave into a setting: the default
where it accepts them all, else the worst good value plus a stated share of their range, outward
to the setting's step and within its bounds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from generator.config import QualitySettings
from generator.pixels import checks
from generator.pixels.checks import RECOVERED, Check
from generator.pixels.measures import Claim, Sample, measure
from generator.pixels.quality import judged_claim, sample_of
from generator.pixels.recovery import Recovery
from generator.pixels.training_set import TrainingSet
from generator.schemas.declared import CONFIG, Setting

DEFAULT_MARGIN = 0.25  # of the good values' range, beyond the worst: see suggest()
NEEDS = {
    "claim": "the traits each render was asked for and their layer art (pass a finished import collection folder)",
    "training": "[quality].training_dir, the originals the LoRA learnt from",
}


@dataclass(frozen=True)
class Limit:
    """One ``[quality]`` setting a row of :data:`checks.CHECKS` reads: a range row has two, its low and its high."""

    setting: str  # the QualitySettings field
    check: Check
    bound: Literal["at_least", "at_most"]  # how a render's value must stand to it

    @property
    def declared(self) -> Setting:
        return CONFIG.setting(f"quality.{self.setting}")

    @property
    def default(self) -> float:
        return getattr(QualitySettings, self.setting)

    def fails(self, value: float, limit: float) -> bool:
        return value < limit if self.bound == "at_least" else value > limit


def limits(kind: str = RECOVERED) -> tuple[Limit, ...]:
    """Every setting the rows judging ``kind`` renders read, in table order (a setting two rows read is listed once)."""
    found: dict[str, Limit] = {}
    for check in checks.CHECKS:
        if kind not in check.renders:
            continue
        if isinstance(check.limit, tuple):
            named = [(check.limit[0], "at_least"), (check.limit[1], "at_most")]
        else:
            named = [(check.limit, check.bound)]
        for setting, bound in named:
            if isinstance(setting, str) and setting not in found:
                found[setting] = Limit(setting, check, bound)  # type: ignore[arg-type]
    return tuple(found.values())


def measure_limits(
    render: np.ndarray,
    recovery: Recovery,
    settings: QualitySettings,
    claim: Claim | None = None,
    training: TrainingSet | None = None,
) -> dict[str, float]:
    """Each setting's value on this render (for a range, the measure both ends read): every row that applies to
    it and has what it needs, even where an earlier row would have ended the verdict."""
    judged, unlike = judged_claim(claim, settings, recovery.pixels)
    sample = sample_of(render, recovery, judged, unlike, training)
    present = {None} | {need for need, there in (("claim", judged), ("training", training)) if there is not None}
    kind = checks.DRAWN if recovery.drawn else RECOVERED
    metrics = measure(sample)
    values = {}
    for limit in limits(kind):
        if limit.check.needs in present:
            values[limit.setting] = _worst(limit, sample, metrics)
    return values


def _worst(limit: Limit, sample: Sample, metrics: dict[str, float]) -> float:
    """The row's value, or the worst of its readings: the lowest where it must be at least, else the highest."""
    if limit.check.taken_by is None:
        return metrics[limit.check.measure]
    taken = limit.check.taken_by(sample)
    if not isinstance(taken, list):
        return float(taken)
    worst = min if limit.bound == "at_least" else max
    return worst((reading.value for reading in taken), default=math.nan)


def suggest(limit: Limit, values: Sequence[float], margin: float) -> float:
    """The threshold good renders' ``values`` ask for. Where the default accepts every one of them, the default: the
    bench chose it, and a looser one would only let more bad renders through. Where it fails some, the worst value
    plus ``margin`` of their range (max − min) beyond it, rounded outward to the setting's step (a count to a whole
    number, a number to 3 significant digits) and kept within the setting's bounds. A row that finds a wrong token
    (``Check.wrong_token``: an area split between near-twins, a cell on its layer colour's twin, another colour in the
    background) keeps its default: a render it fails recovered to pixels its art does not have, so it is not a good
    render whatever it looks like, and loosening the row would publish such tokens."""
    found = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if limit.check.wrong_token or not len(found) or not any(limit.fails(value, limit.default) for value in found):
        return limit.default
    span = float(found.max() - found.min())
    rules = limit.declared.rules
    integer = rules["type"] == "integer"
    if limit.bound == "at_most":
        return min(_outward(float(found.max()) + margin * span, up=True, integer=integer), rules.get("maximum", math.inf))
    return max(_outward(float(found.min()) - margin * span, up=False, integer=integer), rules.get("minimum", -math.inf))


def _outward(value: float, *, up: bool, integer: bool) -> float:
    """``value`` rounded away from the good renders: a whole count, else 3 significant digits."""
    if integer:
        return float(math.ceil(value - 1e-9) if up else math.floor(value + 1e-9))
    if value == 0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(abs(value))) - 2)
    return round((math.ceil if up else math.floor)(round(value / step, 6)) * step, 12)
