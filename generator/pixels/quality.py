"""The quality verdict: is this render an on-grid, on-palette punk portrait that is new? Every reason is named.

:mod:`~generator.pixels.measures` takes the numbers, :mod:`~generator.pixels.checks` holds the
limits (one row a check) and :func:`judge` applies every row that applies to the render. Reasons
are ``code: detail`` strings; the code is what run summaries count. The duplicate check needs
every earlier accepted token, so the collection loop makes it, in token order, with
:func:`duplicate_reason`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from generator.config import QualitySettings
from generator.pixels import checks
from generator.pixels.checks import DRAWN, RECOVERED, Check, UnmeasuredCheck
from generator.pixels.measures import (
    Claim,
    Reading,
    Sample,
    measure,
    token_background,
    unlike_claim,
)
from generator.pixels.recovery import Recovery
from generator.pixels.training_set import TrainingSet


@dataclass(frozen=True)
class Verdict:
    """Every reason a render fails (none: accepted), and the measures they were read from."""

    reasons: tuple[str, ...]
    metrics: dict[str, float]

    @property
    def accepted(self) -> bool:
        return not self.reasons


def assess(
    render: np.ndarray,
    recovery: Recovery,
    settings: QualitySettings,
    training: TrainingSet | None = None,
    claim: Claim | None = None,
) -> Verdict:
    """All checks at once, so a rejected render lists every reason, not just the first (a blank one only says blank).

    ``min_trait_match = 0`` turns off every check against the claim: the traits' and the background cells'.
    """
    judged, unlike = judged_claim(claim, settings, recovery.pixels)
    sample = sample_of(render, recovery, judged, unlike, training)
    table = table_for(settings, drawn=recovery.drawn, claim=judged is not None, training=training is not None)
    return judge(sample, measure(sample), table)


def sample_of(
    render: np.ndarray, recovery: Recovery, judged: Claim | None, unlike: np.ndarray | None, training: TrainingSet | None
) -> Sample:
    """The render as the checks see it, the background the token's (see :func:`measures.token_background`): the drift
    that kept a cell out of recovery's region does not make it a stray one. ``recovery.drawn`` is the renderer's
    declaration (see ``recovery.drawn_recovery``). One place, so calibration measures what the verdict judges."""
    background = token_background(recovery)
    return Sample(render, recovery.pixels, background, recovery.drawn, recovery, judged, unlike, training)


def judged_claim(claim: Claim | None, settings: QualitySettings, pixels: np.ndarray) -> tuple[Claim | None, np.ndarray | None]:
    """The claim the checks read (none at ``min_trait_match = 0``), and the cells unlike it: one Lab pass, two checks."""
    judged = claim if settings.min_trait_match > 0 else None
    return judged, (unlike_claim(pixels, judged.pixels) if judged is not None else None)


@dataclass(frozen=True)
class Table:
    """The rows that judge one kind of render, with their limits read from the settings: worked out once per render
    (or per block of sprite tokens, judged in ~30 µs a token), not per row and token."""

    kind: str  # checks.DRAWN or checks.RECOVERED
    rows: tuple[Row, ...]
    named: frozenset[str]  # the named measures the rows read: each must be in a render's metrics


def table_for(settings: QualitySettings, *, drawn: bool, claim: bool, training: bool) -> Table:
    """The rows of :data:`checks.CHECKS` that judge a render drawn at token size (or recovered), given what the run has
    beside it: the claim its traits are judged against, the training set."""
    kind = DRAWN if drawn else RECOVERED
    present = {None} | {need for need, there in (("claim", claim), ("training", training)) if there}
    rows = tuple(Row.of(check, settings) for check in checks.CHECKS if kind in check.renders and check.needs in present)
    return Table(kind, rows, frozenset(row.check.measure for row in rows if row.check.taken_by is None))


def judge(sample: Sample, metrics: dict[str, float], table: Table) -> Verdict:
    """The verdict of every row of ``table`` (see :func:`table_for`) in table order, on the sample's ``metrics``: its
    named measures; a row's own measure is taken here and, where one number, added to them.

    A row whose named measure is missing raises :class:`UnmeasuredCheck`: skipping it would pass every render it
    should judge. A family's later rows are not judged once one failed; a failing final row is the whole verdict.
    """
    if not table.named <= metrics.keys():
        missing = ", ".join(sorted(table.named - metrics.keys()))
        raise UnmeasuredCheck(f"no measure {missing} was taken of a {table.kind} render, which its check judges")
    reasons: list[str] = []
    failed: set[str] = set()
    for row in table.rows:
        if row.family in failed or (row.check.taken_by is None and not row.outside(metrics[row.check.measure])):
            continue  # the common case, kept cheap: a named measure within its limits
        found = row.failures(sample, metrics)
        if found and row.check.final:
            return Verdict((found[0],), metrics)
        if found:
            reasons.extend(found)
            failed.add(row.family)
    return Verdict(tuple(reasons), metrics)


@dataclass(frozen=True)
class Row:
    """A check with its limits read from the settings."""

    check: Check
    bounds: dict[str, float]  # "limit", or "low" and "high": what its reason shows
    outside: Callable[[float], bool]
    family: str  # the check's, read once

    @staticmethod
    def of(check: Check, settings: QualitySettings) -> Row:
        """Each limit a number, or the value of the ``[quality]`` setting it names."""
        if isinstance(check.limit, tuple):
            low, high = (getattr(settings, part) if isinstance(part, str) else part for part in check.limit)
            return Row(check, {"low": low, "high": high}, lambda value: not low <= value <= high, check.family)
        limit = getattr(settings, check.limit) if isinstance(check.limit, str) else check.limit
        if check.bound == "at_least":
            return Row(check, {"limit": limit}, lambda value: value < limit, check.family)
        return Row(check, {"limit": limit}, lambda value: value > limit, check.family)

    def failures(self, sample: Sample, metrics: dict[str, float]) -> list[str]:
        """A reason for each value outside the limits: the named measure's, or what the row's own measure takes."""
        check = self.check
        if check.taken_by is None:
            value = metrics[check.measure]
            return [self.reason(Reading(value), metrics)] if self.outside(value) else []
        taken = check.taken_by(sample)
        if not isinstance(taken, list):  # one number: shown beside the named measures (bench/quality.py --measures)
            metrics[check.measure] = float(taken)
            taken = [Reading(float(taken))]
        return [self.reason(reading, metrics) for reading in taken if self.outside(reading.value)]

    def reason(self, reading: Reading, metrics: dict[str, float]) -> str:
        detail = self.check.detail.format(value=reading.value, metrics=metrics, **self.bounds, **reading.subject)
        return f"{self.check.code.format(**reading.subject)}: {detail}"


def duplicate_reason(digest: str, accepted: dict[str, int]) -> str | None:
    """``accepted`` maps the pixel digest of every accepted token to its id."""
    if digest in accepted:
        return f"duplicate: same pixels as token {accepted[digest]}"
    return None
