"""``[[rules]]`` compiled to value indices: a fast test for one trait set, and exact counts of what the rules leave.

:func:`analyse` walks every combination of the traits that rules mention (the others only
multiply), vectorised in chunks of bounded size, and returns the capacity (distinct valid
sets), how many valid sets hold each value, and each value's probability in one weighted draw
of a valid set: the law the ``weighted`` planner's draws follow. A value with weight > 0 that no
valid set holds can never appear; :func:`rules_excluding` names the rules that do it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np

from generator.config import Rule
from generator.errors import UserError
from generator.plan.traits import Combo, TraitTable

# Cells (combinations of the rule-mentioned traits) evaluated in one vectorised step: ~50 MB of
# temporaries (tracemalloc), and large enough that numpy's per-call overhead is noise.
CHUNK_CELLS = 1 << 20
# The most combinations of rule-mentioned traits punkgen enumerates. 10^8 cells under three rules took
# 2.2 s on one core of the development machine (~4.6·10^7 cells/s), so the limit costs ~5 s a pass, more
# with more rules. The shipped rules touch hair × mouth × accessory: 1,296 cells.
MAX_ENUMERATED_CELLS = 200_000_000


@dataclass(frozen=True)
class CompiledRule:
    when: tuple[tuple[int, frozenset[int]], ...]  # (trait position, value indices)
    banned: tuple[tuple[int, frozenset[int]], ...]  # forbid + the complement of require
    number: int = 0  # 1-based position in [[rules]], for messages

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
        compiled.append(CompiledRule(when=when, banned=tuple(banned), number=rule.number))
    return tuple(compiled)


def is_valid(combo: Combo, rules: tuple[CompiledRule, ...]) -> bool:
    return not any(rule.violated_by(combo) for rule in rules)


def count_valid(tables: list[TraitTable], rules: tuple[CompiledRule, ...]) -> int:
    """How many distinct trait sets the enabled values and the rules allow."""
    return analyse(tables, rules).capacity


@dataclass(frozen=True)
class Support:
    """What the rules leave of every value, per table and value (disabled values: 0)."""

    capacity: int  # distinct valid trait sets
    counts: list[list[int]]  # valid sets that hold the value
    law: list[list[float]]  # the value's probability in one draw of a valid set, weighted by the product of weights

    def impossible(self, tables: list[TraitTable]) -> list[tuple[int, int]]:
        """(trait, value) pairs with weight > 0 that no valid set holds."""
        return [(t, i) for t, table in enumerate(tables) for i in table.enabled_indices if self.counts[t][i] == 0]


def analyse(tables: list[TraitTable], rules: tuple[CompiledRule, ...]) -> Support:
    """Count and weigh every valid set, enumerating only the traits rules mention (see the module docstring).

    A trait no rule mentions is independent of validity, so its law is its configured share and
    its counts follow by multiplication; that keeps 6 traits × 27 values instant.
    """
    involved = sorted({trait for rule in rules for trait, _ in rule.when + rule.banned})
    _refuse_huge_enumeration(tables, involved)
    free_sizes = {t: len(table.enabled_indices) for t, table in enumerate(tables) if t not in involved}
    free = math.prod(free_sizes.values())
    counts, mass, valid, total = _enumerate(tables, rules, involved)
    support_counts: list[list[int]] = []
    law: list[list[float]] = []
    for t, table in enumerate(tables):
        if t in free_sizes:
            per_value = valid * (free // free_sizes[t]) if free_sizes[t] else 0
            support_counts.append([per_value if value.enabled else 0 for value in table.values])
            law.append(table.shares() if total > 0 else [0.0] * len(table.values))
        else:
            support_counts.append([int(count) * free for count in counts[t]])
            law.append([float(m) / total if total > 0 else 0.0 for m in mass[t]])
    return Support(capacity=valid * free, counts=support_counts, law=law)


def _refuse_huge_enumeration(tables: list[TraitTable], involved: list[int]) -> None:
    cells = math.prod(len(tables[t].enabled_indices) for t in involved)
    if cells > MAX_ENUMERATED_CELLS:
        names = " × ".join(f"{tables[t].key} ({len(tables[t].enabled_indices)})" for t in involved)
        raise UserError(
            f"[[rules]] mention {names} = {cells:,} combinations, more than the {MAX_ENUMERATED_CELLS:,} punkgen checks; "
            "write rules about fewer traits or merge rarely combined values"
        )


def _enumerate(
    tables: list[TraitTable], rules: tuple[CompiledRule, ...], involved: list[int]
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], int, float]:
    """Per involved trait: valid cells and weight per value; plus valid cells and their total weight.

    The trailing traits form one flat grid (at most :data:`CHUNK_CELLS`) whose rule tests are
    computed once; each combination of the leading traits then costs a few boolean operations.
    """
    counts = {t: np.zeros(len(tables[t].values), dtype=np.int64) for t in involved}
    mass = {t: np.zeros(len(tables[t].values)) for t in involved}
    if not involved:
        return counts, mass, 1, 1.0
    shares = {t: np.array(tables[t].shares()) for t in involved}
    split = _split(tables, involved)
    leading, trailing = involved[:split], involved[split:]
    grids = np.meshgrid(*(np.array(tables[t].enabled_indices) for t in trailing), indexing="ij")
    grid = {t: g.ravel() for t, g in zip(trailing, grids, strict=True)}
    grid_weight = math.prod((shares[t][grid[t]] for t in trailing), start=np.ones(1))
    tests = [(_part_tests(rule.when, grid, all_of=True), _part_tests(rule.banned, grid, all_of=False)) for rule in rules]
    valid, total = 0, 0.0
    for lead in itertools.product(*(tables[t].enabled_indices for t in leading)):
        chosen = dict(zip(leading, lead, strict=True))
        ok = np.ones(len(grid_weight), dtype=bool)
        for (when_scalar, when_grid), (banned_scalar, banned_grid) in tests:
            if not when_scalar(chosen):
                continue
            ok &= ~when_grid if banned_scalar(chosen) else ~(when_grid & banned_grid)
        weight = grid_weight[ok] * math.prod(shares[t][i] for t, i in chosen.items())
        valid += int(ok.sum())
        total += float(weight.sum())
        for t, i in chosen.items():
            counts[t][i] += int(ok.sum())
            mass[t][i] += float(weight.sum())
        for t in trailing:
            counts[t] += np.bincount(grid[t][ok], minlength=len(counts[t]))
            mass[t] += np.bincount(grid[t][ok], weights=weight, minlength=len(mass[t]))
    return counts, mass, valid, total


def _split(tables: list[TraitTable], involved: list[int]) -> int:
    """Index of the first trailing trait: as many traits from the end as fit in one chunk, always at least the last."""
    split = len(involved) - 1
    cells = len(tables[involved[split]].enabled_indices)
    while split > 0 and cells * len(tables[involved[split - 1]].enabled_indices) <= CHUNK_CELLS:
        split -= 1
        cells *= len(tables[involved[split]].enabled_indices)
    return split


def _part_tests(parts, grid: dict[int, np.ndarray], all_of: bool):
    """Split a rule's ``when`` (all_of) or ``banned`` (any_of) into a test of the leading traits and a grid mask."""
    on_grid = [(t, values) for t, values in parts if t in grid]
    off_grid = [(t, values) for t, values in parts if t not in grid]
    size = len(next(iter(grid.values())))
    masks = [np.isin(grid[t], list(values)) for t, values in on_grid]
    combine = np.logical_and if all_of else np.logical_or
    mask = combine.reduce(masks) if masks else np.full(size, all_of)
    reduce_scalar = all if all_of else any

    def scalar(chosen: dict[int, int]) -> bool:
        return reduce_scalar(chosen[t] in values for t, values in off_grid)

    return scalar, mask


def refuse_impossible_values(tables: list[TraitTable], rules: tuple[CompiledRule, ...], support: Support) -> None:
    """A value with weight > 0 that no valid set holds is a contradiction in the rules, never the creator's intent."""
    impossible = support.impossible(tables)
    if not impossible or support.capacity == 0:
        return  # no valid set at all: the capacity check says so, naming N
    trait, index = impossible[0]
    table, value = tables[trait], tables[trait].values[index]
    culprits = rules_excluding(tables, rules, trait, index)
    named = ", ".join(f"#{rule.number}" for rule in culprits)
    verb = "excludes it" if len(culprits) == 1 else "together exclude it"
    others = f" (and {len(impossible) - 1} more value(s))" if len(impossible) > 1 else ""
    raise UserError(
        f"{table.path}: {table.key} value '{value.name}' has weight {value.weight:g} but can never appear{others}: "
        f"[[rules]] {named} {verb}; relax those rules or set its weight to 0"
    )


def rules_excluding(
    tables: list[TraitTable], rules: tuple[CompiledRule, ...], trait: int, index: int
) -> tuple[CompiledRule, ...]:
    """A smallest-by-deletion set of rules that on their own leave no valid set holding ``tables[trait].values[index]``.

    Dropping each rule in turn and keeping it only when the value would become possible without
    it leaves the rules that matter: a contradictory pair, or every link of a chain of requires,
    and none of the unrelated rules that also happen to reject some of the value's sets.
    """
    only = _only_value(tables, trait, index)
    needed = list(rules)
    for rule in rules:
        without = tuple(r for r in needed if r is not rule)
        if analyse(only, without).capacity == 0:
            needed = list(without)
    return tuple(needed)


def _only_value(tables: list[TraitTable], trait: int, index: int) -> list[TraitTable]:
    """The tables with one trait narrowed to one value (the others' weights set to 0)."""
    table = tables[trait]
    narrowed = tuple(replace(value, weight=value.weight if i == index else 0.0) for i, value in enumerate(table.values))
    return [*tables[:trait], replace(table, values=narrowed), *tables[trait + 1 :]]


def enumerate_valid(tables: list[TraitTable], rules: tuple[CompiledRule, ...]) -> list[Combo]:
    """Every valid trait set, in table order; only for small spaces (sampling near capacity)."""
    return [combo for combo in itertools.product(*(t.enabled_indices for t in tables)) if is_valid(combo, rules)]
