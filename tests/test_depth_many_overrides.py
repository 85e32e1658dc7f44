"""Many ``[[depth]]`` overrides on many traits are checked for contradictions in moments, not in 2^n sets: an override
that moves its own entry, each on its own trait, never bears on another's pair, so only the overrides that can turn
a pair are tried together. Interacting overrides whose ``when``s combine in too many ways are refused in one line
rather than checked for hours. (Found by the hostile pass on depth: 40 such overrides hung ``traits check``.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, refused
from depth_art import trait_folder

TRAITS = 40


def many_traits(folder: Path, overrides: list[str]) -> Path:
    """``TRAITS`` traits of two values each (t0 the opaque background, each other a bar of its own row) and the
    overrides given, as ``[[depth]]`` tables."""
    tables = {f"t{i}": ["A", "B"] for i in range(TRAITS)}
    art = {("t0", "", value): [(0, 0, 24, 24, colour, 255)] for value, colour in (("A", 3), ("B", 9))}
    art |= {
        (f"t{i}", "", value): [(i % 22, 2, i % 22 + 2, 22, 2 * i + shift, 255)]
        for i in range(1, TRAITS)
        for value, shift in (("A", 0), ("B", 1))
    }
    return trait_folder(folder, list(tables), "".join(overrides), art=art, tables=tables)


def override(when: str, move: str, side: str, target: str) -> str:
    return f'[[depth]]\nwhen = {{ {when} = "B" }}\nmove = "{move}"\n{side} = "{target}"\n'


def traits_check(config: Path) -> subprocess.CompletedProcess:
    """``punkgen traits check`` in its own process, which a hang would keep past the timeout (a failure, not a wait)."""
    command = [sys.executable, "-m", "generator", "traits", "check", "--config", str(config)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides",
    [
        [override(f"t{i}", f"t{i}", "below", "t1") for i in range(2, TRAITS)],  # the named case: each under t1
        [override(f"t{i}", f"t{i + 1}", "below", f"t{i}") for i in range(1, TRAITS - 1)],  # a chain of swaps
    ],
    ids=["each trait's own override", "a chain"],
)
def test_many_overrides_on_many_traits_are_checked_and_shown(tmp_path: Path, overrides: list[str]) -> None:
    checked = traits_check(many_traits(tmp_path, overrides))
    assert checked.returncode == 0, checked.stderr
    assert f"[[depth]] #{len(overrides)}: when t" in checked.stdout


def test_a_contradiction_among_many_independent_overrides_is_still_found(tmp_path: Path) -> None:
    independent = [override(f"t{i}", f"t{i}", "above", f"t{i + 1}") for i in range(1, TRAITS - 1, 2)]
    undoing = override("t20", "t2", "above", "t1")  # with t1 = B and t20 = B: #1 puts t1 over t2, this puts t2 back on top
    config = many_traits(tmp_path, [*independent, undoing])
    line = refused("traits", "check", "--config", config)
    assert f"[[depth]] #1 and #{len(independent) + 1} both apply to one trait set and disagree" in line, line
    assert "#1 draws 't1' over 't2'" in line, line


def test_interacting_overrides_past_the_limit_are_refused_in_one_line(tmp_path: Path) -> None:
    lifts = [override(f"t{i}", "t1", "above", f"t{i}") for i in range(2, 22)]  # t1 lifted over each, on 20 traits
    config = many_traits(tmp_path, lifts)
    line = refused("traits", "check", "--config", config)
    assert line.startswith(f"Error: {config}: [[depth]] #1, #2, #3, … (20 overrides) move entries"), line
    assert "more than 32,768 ways" in line and "name fewer traits in their `when`s" in line, line
