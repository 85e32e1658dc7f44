"""Every threshold of the quality verdict is a ``[quality]`` setting: each one turns a verdict, in the library and in
a real run, and a bad value is refused in one line naming ``[quality].<key>`` and the file."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import fields, replace
from functools import cache
from pathlib import Path

import degraded_backend
import numpy as np
import pytest
from conftest import collection_args, edit, refused, run_cli
from failures import FAILURES, good
from test_quality import PALETTE, claim_for

from generator.config import QualitySettings, load_config
from generator.pixels import checks
from generator.pixels.measures import Claim
from generator.pixels.quality import assess
from generator.pixels.recovery import Recovery, recover
from generator.pixels.thresholds import Limit, limits, measure_limits
from generator.pixels.training_set import TrainingSet
from generator.render import BACKEND_MODULES
from generator.run.collection import run_collection
from generator.schemas.declared import CONFIG

SIDE = 256  # render side: 10.7 px cells, enough for every grid measure, 4× cheaper than 512
COMBOS = ((0, 0, 0, 0, 0, 0), (1, 1, 2, 1, 1, 1), (2, 3, 5, 2, 2, 2))
KINDS = ("good", "clutter", "off_centre", "posterised", "blur", "background")


@cache
def training() -> TrainingSet:
    """Three tokens none of the pool's renders show: the near-copy row has a distance to measure."""
    tokens = [claim_for(combo)[0].pixels for combo in ((3, 2, 1, 3, 3, 0), (4, 0, 3, 0, 1, 3), (0, 2, 4, 1, 0, 2))]
    return TrainingSet(("a.png", "b.png", "c.png"), np.stack(tokens))


@cache
def pool() -> tuple[tuple[np.ndarray, Recovery, Claim], ...]:
    """Good renders and one of each failure class per trait set, with their claims: some row of each setting has
    room on one of them to be tightened within its bounds."""
    rng = np.random.default_rng(29)
    renders = []
    for combo in COMBOS:
        claim, _ = claim_for(combo)
        for kind in KINDS:
            make = good if kind == "good" else FAILURES[kind]
            render = make(claim.pixels, claim.owner == 0, rng, SIDE)
            renders.append((render, recover(render, 24, PALETTE, expected_background=claim.pixels[0, 0]), claim))
        raised = np.concatenate([claim.pixels[2:], np.broadcast_to(claim.pixels[0, 0], (2, 24, 3))])  # floating
        render = good(raised, claim.owner == 0, rng, SIDE)
        renders.append((render, recover(render, 24, PALETTE, expected_background=claim.pixels[0, 0]), claim))
    return tuple(renders)


def past(limit: Limit, value: float) -> float | None:
    """The nearest setting that fails ``value`` (a count one step, a number a hair), or None outside its bounds."""
    rules = limit.declared.rules
    step = 1.0 if rules["type"] == "integer" else 1e-6
    tighter = value + step if limit.bound == "at_least" else value - step
    if rules["type"] == "integer":
        tighter = math.floor(value) + 1 if limit.bound == "at_least" else math.ceil(value) - 1
    if not rules.get("minimum", -math.inf) <= tighter <= rules.get("maximum", math.inf):
        return None
    return tighter


def codes(reasons: tuple[str, ...]) -> set[str]:
    return {reason.split(":")[0] for reason in reasons}


def test_every_row_limit_is_a_declared_quality_setting() -> None:
    """No bare number left in the table: each limit is a QualitySettings field the schema declares with bounds."""
    settings = {field.name for field in fields(QualitySettings)}
    for check in checks.CHECKS:
        for name in check.limit if isinstance(check.limit, tuple) else (check.limit,):
            assert isinstance(name, str) and name in settings, check.code
            rules = CONFIG.setting(f"quality.{name}").rules
            assert rules["type"] in ("integer", "number") and "minimum" in rules and rules["description"], name
            assert rules["default"] == getattr(QualitySettings, name), name


@pytest.mark.slow
@pytest.mark.parametrize("limit", limits(), ids=lambda limit: limit.setting)
def test_each_setting_turns_the_verdict(limit: Limit) -> None:
    """Every limit at one render's own values accepts it; that one setting a step tighter rejects it with its row's
    code and no other (and a step back accepts it again). Iterates the table: a new row's setting is covered."""
    for render, recovery, claim in pool():
        values = measure_limits(render, recovery, QualitySettings(), claim, training())
        tighter = past(limit, values.get(limit.setting, math.nan))
        claim_off = limit.check.needs == "claim" and values.get("min_trait_match") == 0  # 0 turns the claim's rows off
        if math.isnan(values.get(limit.setting, math.nan)) or tighter is None or claim_off:
            continue  # nothing to tighten on this render (a count already 0, a share already 1)
        fitted = replace(QualitySettings(), **{key: value for key, value in values.items() if not math.isnan(value)})
        assert assess(render, recovery, fitted, training(), claim).accepted, (limit.setting, values)
        rejected = assess(render, recovery, replace(fitted, **{limit.setting: tighter}), training(), claim)
        code = limit.check.code.split("{")[0]  # trait_{key}: every trait's code starts trait_
        assert rejected.reasons and all(reason.startswith(code) for reason in rejected.reasons), rejected.reasons
        assert assess(render, recovery, replace(fitted, **{limit.setting: values[limit.setting]}), training(), claim).accepted
        return
    pytest.fail(f"no render of the pool leaves room to tighten {limit.setting}")


CONSTANTS = {  # the numbers checks.py held before they were settings (main at e2e2142); max_background_variation's
    # row (raw ΔE 1.6) gave way to the token's measures (max_background_residual and its two siblings: issue 29)
    "min_render_spread": 3.0,
    "min_render_mean": 8,
    "min_edge_sharpness": 0.8,
    "max_rough_cells": 1,
    "max_background_leaks": 0,
    "max_background_roughness": 10.0,
    "max_stray_cells": 0,
    "max_bottom_gap": 1,
    "max_column_offset": 0.12,
    "max_isolated_share": 0.2,
    "min_subject_colors": 4,
    "max_unlike_cells": 4,
}


def test_the_defaults_are_the_constants_they_replace() -> None:
    """The defaults change no verdict (tests/test_quality_checks.py's recorded verdicts hold them to it too)."""
    assert {name: getattr(QualitySettings(), name) for name in CONSTANTS} == CONSTANTS


def quality_table(config_path: Path, lines: str) -> None:
    """``lines`` added at the top of collection.toml's [quality] table, as a creator would type them."""
    heading = next(line for line in config_path.read_text().splitlines() if line.startswith("[quality]"))
    edit(config_path, heading + "\n", f"{heading}\n{lines}\n")


def test_a_sprite_run_obeys_a_setting_from_collection_toml(config_path: Path, tmp_path: Path) -> None:
    """Art drawn at token size: these four tokens spread 71–86 levels, so at 100 each is rejected as blank."""
    assert run_cli(*collection_args(config_path, tmp_path / "before", 4)).exit_code == 0
    assert not (tmp_path / "before" / "rejects.csv").exists()  # every render accepted at the default
    quality_table(config_path, "min_render_spread = 100.0")
    result = run_cli(*collection_args(config_path, tmp_path / "after", 4))
    assert result.exit_code != 0
    rows = list(csv.DictReader((tmp_path / "after" / "rejects.csv").open()))
    assert len(rows) == 4 and all(row["reasons"].startswith("blank: the render is flat (spread ") for row in rows), rows


@pytest.mark.slow
def test_a_model_run_obeys_a_setting_from_collection_toml(config_path: Path, tmp_path: Path, monkeypatch) -> None:
    """Recovered renders: good renders pass at the default and fail background_texture at a tight
    max_background_residual, attempt after attempt, until the token is reported failed."""
    monkeypatch.setitem(BACKEND_MODULES, "degraded", "degraded_backend")
    monkeypatch.setattr(degraded_backend, "SPOIL", {})
    monkeypatch.setattr(degraded_backend, "SIZE", SIDE)

    def run(out: Path):  # a test backend is no --backend choice: the library call the command makes
        config = load_config(config_path).override("collection", size=2).override("render", backend="degraded")
        return run_collection(config, out=out, progress=False)

    assert run(tmp_path / "before").failed == ()
    quality_table(config_path, "max_background_residual = 0.0")
    edit(config_path, "max_attempts = 4", "max_attempts = 2")
    assert run(tmp_path / "after").failed == (1, 2)
    records = [json.loads(line) for line in (tmp_path / "after" / "manifest.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(r["verdict"] == "rejected" for r in records)
    assert all("background_texture" in codes(tuple(r["reasons"])) for r in records), records


@pytest.mark.parametrize(
    ("line", "key", "says"),
    [
        ("max_rough_cells = 1.5", "max_rough_cells", "integer"),
        ('max_background_residual = "2"', "max_background_residual", "number"),
        ("max_isolated_share = 1.5", "max_isolated_share", "1"),
        ("max_background_roughness = -1.0", "max_background_roughness", "0"),
        ("min_subject_colors = -2", "min_subject_colors", "0"),
        ("max_background_residal = 2.0", "max_background_residal", "max_background_residual"),
    ],
)
def test_a_bad_threshold_is_refused_in_one_line(config_path: Path, tmp_path: Path, line: str, key: str, says: str) -> None:
    """Wrong type, out of bounds, a misspelt key: one line naming the file and [quality].<key>, exit 2, nothing made."""
    quality_table(config_path, line)
    message = refused(*collection_args(config_path, tmp_path / "out", 2))
    assert str(config_path) in message and f"[quality].{key}" in message and says in message, message
    assert not (tmp_path / "out").exists()
