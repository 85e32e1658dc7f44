"""Quality checks are rows of one table: a new check is one row and its measure, and a row that cannot be measured on a
render it applies to is an error, never a silent pass."""

from __future__ import annotations

import csv
import json
from dataclasses import fields
from pathlib import Path

import degraded_backend
import flaky_backend
import numpy as np
import pytest
from test_pixels import upscale
from test_quality import PALETTE, SETTINGS, claim_for, shipped_token

from generator.config import QualitySettings, load_config
from generator.pixels import checks
from generator.pixels.checks import DRAWN, EVERY, RECOVERED, RECOVERED_ONLY, Check, UnmeasuredCheck
from generator.pixels.drawn import judge_drawn
from generator.pixels.measures import Sample
from generator.pixels.quality import assess
from generator.pixels.recovery import drawn_recovery, recover
from generator.render import BACKEND_MODULES
from generator.run.collection import run_collection

MAGENTA = (255, 0, 255)


def magenta_corner(sample: Sample) -> float:
    """The toy check's measure: 1 where the render's top-left pixel is magenta."""
    return float((sample.render[0, 0] == MAGENTA).all())


TOY = Check(
    "toy_corner",
    "magenta_corner",
    "at_most",
    0,
    "{value:.0f} > {limit} magenta corner pixels",
    "a toy: no shipped art paints its corner magenta",
    taken_by=magenta_corner,
)


def add_row(monkeypatch: pytest.MonkeyPatch, row: Check) -> None:
    """What a contributor does in generator/pixels/checks.py: one more row in CHECKS."""
    monkeypatch.setattr(checks, "CHECKS", (*checks.CHECKS, row))


def run(config_path: Path, out: Path, backend: str, size: int = 8, **quality):
    config = load_config(config_path).override("collection", size=size).override("render", backend=backend)
    return run_collection(config.override("quality", **quality), out=out, progress=False)


def rejects(out: Path) -> list[tuple[int, int, str]]:
    return [(int(r["token_id"]), int(r["attempt"]), r["reasons"]) for r in csv.DictReader((out / "rejects.csv").open())]


def paint_corner(monkeypatch: pytest.MonkeyPatch, renderer: type, chosen: set[tuple[int, int]], side: int) -> None:
    """The renderer paints the top-left ``side``² pixels magenta on the chosen (token id, attempt) pairs."""
    original = renderer.render

    def render(self, jobs):
        pixels = original(self, jobs)
        for i, job in enumerate(jobs):
            if (job.token_id, job.attempt) in chosen:
                pixels[i, :side, :side] = MAGENTA
        return pixels

    monkeypatch.setattr(renderer, "render", render)


def test_a_toy_check_is_one_row_and_its_measure_and_rejects_in_a_run(config_path: Path, tmp_path: Path, monkeypatch) -> None:
    """Art drawn at token size (a backend drawing like the sprites): the row judges it with no change to drawn.py."""
    monkeypatch.setitem(BACKEND_MODULES, "flaky", "flaky_backend")
    flaky_backend.BLANK.clear()
    flaky_backend.NOISE.clear()
    add_row(monkeypatch, TOY)
    paint_corner(monkeypatch, flaky_backend.FlakyRenderer, {(2, 0), (5, 0), (5, 1)}, 1)
    summary = run(config_path, tmp_path / "out", "flaky", min_trait_match=0.0)  # a magenta corner leaks from the layers
    assert summary.failed == () and summary.top_reasons == (("toy_corner", 3),)
    assert rejects(tmp_path / "out") == [
        (2, 0, "toy_corner: 1 > 0 magenta corner pixels"),
        (5, 0, "toy_corner: 1 > 0 magenta corner pixels"),
        (5, 1, "toy_corner: 1 > 0 magenta corner pixels"),
    ]
    records = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert [(r["attempt"], r["verdict"]) for r in records if r["token_id"] == 5] == [
        (0, "rejected"),
        (1, "rejected"),
        (2, "accepted"),
    ]


@pytest.mark.slow
def test_the_same_row_judges_renders_recovered_from_a_model(config_path: Path, tmp_path: Path, monkeypatch) -> None:
    """512² renders through grid recovery: the same row, nothing added to measures.py for them either."""
    monkeypatch.setitem(BACKEND_MODULES, "degraded", "degraded_backend")
    monkeypatch.setattr(degraded_backend, "SPOIL", {})
    add_row(monkeypatch, TOY)
    paint_corner(monkeypatch, degraded_backend.DegradedRenderer, {(3, 0)}, 2)
    summary = run(config_path, tmp_path / "out", "degraded", size=6)
    assert summary.failed == ()
    assert [(token, attempt) for token, attempt, _ in rejects(tmp_path / "out")] == [(3, 0)]
    assert "toy_corner: 1 > 0 magenta corner pixels" in rejects(tmp_path / "out")[0][2].split("; ")


def test_a_check_whose_measure_drawn_art_never_gets_stops_the_run(config_path: Path, tmp_path: Path, monkeypatch) -> None:
    """The defect this table removes: a check measured only on recovered renders passed every sprite token unjudged."""
    add_row(monkeypatch, Check("toy_named", "not_taken_of_drawn_art", "at_most", 0, "{value:g}", "a toy", renders=EVERY))
    monkeypatch.setitem(BACKEND_MODULES, "flaky", "flaky_backend")
    with pytest.raises(UnmeasuredCheck, match="not_taken_of_drawn_art .* drawn render"):
        run(config_path, tmp_path / "out", "flaky")
    token = shipped_token()[0]
    with pytest.raises(UnmeasuredCheck, match="drawn render"):
        judge_drawn(token[None], [None], SETTINGS, None, [None])


def test_a_check_unmeasured_on_recovered_renders_or_with_a_claim_raises_where_it_applies(monkeypatch) -> None:
    """Variants: a row for recovered renders only, and a row needing the claim; each raises only where it applies."""
    art, _ = shipped_token()
    render = upscale(art, 512)
    recovery = recover(render, 24, PALETTE, expected_background=art[0, 0])
    add_row(monkeypatch, Check("toy_recovered", "unknown", "at_least", 1, "{value:g}", "a toy", renders=RECOVERED_ONLY))
    with pytest.raises(UnmeasuredCheck, match="unknown .* recovered render"):
        assess(render, recovery, SETTINGS)
    assert assess(art, drawn_recovery(art, None), SETTINGS).accepted  # drawn at token size: not its render
    monkeypatch.setattr(checks, "CHECKS", checks.CHECKS[:-1])
    add_row(monkeypatch, Check("toy_claim", "unknown_claim", "at_least", 1, "{value:g}", "a toy", needs="claim"))
    claim, _ = claim_for((0, 0, 0, 0, 0, 0))
    with pytest.raises(UnmeasuredCheck, match="unknown_claim"):
        assess(render, recovery, SETTINGS, claim=claim)
    assert assess(render, recovery, SETTINGS).accepted  # no layer art: nothing to judge the claim against
    assert assess(render, recovery, QualitySettings(min_trait_match=0.0), claim=claim).accepted  # the setting turns it off


def test_a_row_limited_to_recovered_renders_never_judges_drawn_ones(monkeypatch) -> None:
    add_row(monkeypatch, Check("toy_any", "colors", "at_most", 1, "{value:.0f} > {limit}", "a toy", renders=RECOVERED_ONLY))
    art, _ = shipped_token()
    assert judge_drawn(art[None], [art[0, 0]], SETTINGS, None, [None])[0].accepted
    render = upscale(art, 512)
    reasons = assess(render, recover(render, 24, PALETTE, expected_background=art[0, 0]), SETTINGS).reasons
    assert [r for r in reasons if r.startswith("toy_any")] == [f"toy_any: {len(np.unique(art.reshape(-1, 3), axis=0))} > 1"]


def test_every_row_says_what_tunes_it_and_why() -> None:
    """A limit is a number or a [quality] setting that exists; a range has two; every row says where it applies."""
    settings = {field.name for field in fields(QualitySettings)}
    for check in checks.CHECKS:
        limits = check.limit if isinstance(check.limit, tuple) else (check.limit,)
        assert len(limits) == (2 if check.bound == "within" else 1), check.code
        assert all(limit in settings if isinstance(limit, str) else isinstance(limit, int | float) for limit in limits)
        assert check.chosen_by and check.renders and check.renders <= {DRAWN, RECOVERED}, check.code
        assert check.needs in (None, "claim", "training"), check.code


@pytest.mark.slow
def test_every_verdict_is_the_one_given_before_the_checks_were_a_table(monkeypatch) -> None:
    """Recorded by tests/fixtures/record_quality_verdicts.py from the checks as they were (main at 1f6bdc1): the
    bench's renders of every failure class with and without layer art, and the drawn cases of test_quality.py."""
    fixtures = Path(__file__).parent / "fixtures"
    monkeypatch.syspath_prepend(str(fixtures))
    from record_quality_verdicts import verdicts

    recorded = json.loads((fixtures / "quality_verdicts.json").read_text())
    assert dict(verdicts()) == recorded
