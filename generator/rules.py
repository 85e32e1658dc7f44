"""``[[rules]]`` compiled to value indices: a fast test for one trait set, and an exact count of all valid ones."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from generator.config import Rule
from generator.traits import TraitTable

Combo = tuple[int, ...]  # one value index per trait, in [traits].order


@dataclass(frozen=True)
class CompiledRule:
    when: tuple[tuple[int, frozenset[int]], ...]  # (trait position, value indices)
    banned: tuple[tuple[int, frozenset[int]], ...]  # forbid + the complement of require

    def violated_by(self, combo: Combo) -> bool:
        if all(combo[trait] in values for trait, values in self.when):
            return any(combo[trait] in values for trait, values in self.banned)
        return False


def compile_rules(rules: tuple[Rule, ...], tables: list[TraitTable]) -> tuple[CompiledRule, ...]:
    """Turn names into indices once; ``require`` becomes "forbid every other value" so one test serves both."""
    position = {table.key: i for i, table in enumerate(tables)}

    def indices(trait: str, names: tuple[str, ...]) -> frozenset[int]:
        table = tables[position[trait]]
        return frozenset(table.index_of(name) for name in names)  # type: ignore[misc]

    compiled = []
    for rule in rules:
        banned = [(position[t], indices(t, names)) for t, names in rule.forbid.items()]
        for trait, names in rule.require.items():
            allowed = indices(trait, names)
            everything = frozenset(range(len(tables[position[trait]].values)))
            banned.append((position[trait], everything - allowed))
        when = tuple((position[t], indices(t, names)) for t, names in rule.when.items())
        compiled.append(CompiledRule(when=when, banned=tuple(banned)))
    return tuple(compiled)


def is_valid(combo: Combo, rules: tuple[CompiledRule, ...]) -> bool:
    return not any(rule.violated_by(combo) for rule in rules)


def count_valid(tables: list[TraitTable], rules: tuple[CompiledRule, ...]) -> int:
    """How many distinct trait sets the enabled values and the rules allow.

    Traits that no rule mentions multiply the count; only the few traits rules touch are
    enumerated, vectorised, one value of the first at a time to bound memory.
    """
    involved = sorted({trait for rule in rules for trait, _ in rule.when + rule.banned})
    free = math.prod(len(t.enabled_indices) for i, t in enumerate(tables) if i not in involved)
    if not involved:
        return free
    choices = [np.array(tables[i].enabled_indices) for i in involved]
    column = {trait: k for k, trait in enumerate(involved)}
    valid = 0
    for first in choices[0]:
        grids = np.meshgrid(np.array([first]), *choices[1:], indexing="ij")
        ok = np.ones(grids[0].shape, dtype=bool)
        for rule in rules:
            applies = _matches(grids, column, rule.when, all_of=True)
            ok &= ~(applies & _matches(grids, column, rule.banned, all_of=False))
        valid += int(ok.sum())
    return valid * free


def _matches(grids: list[np.ndarray], column: dict[int, int], parts, all_of: bool) -> np.ndarray:
    tests = [np.isin(grids[column[trait]], list(values)) for trait, values in parts]
    if not tests:
        return np.full(grids[0].shape, all_of)
    combine = np.logical_and if all_of else np.logical_or
    return combine.reduce(tests)


def enumerate_valid(tables: list[TraitTable], rules: tuple[CompiledRule, ...]) -> list[Combo]:
    """Every valid trait set, in table order; only for small spaces (sampling near capacity)."""
    return [combo for combo in itertools.product(*(t.enabled_indices for t in tables)) if is_valid(combo, rules)]
