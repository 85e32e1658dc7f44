"""The plan: N distinct trait sets that obey the rules, each with a token id, derived only from the seed.

Two modes, picked by ``[traits].sampling``:

- ``weighted``: every token draws each trait independently by weight (the HashLips model), and a
  draw that repeats an earlier set or breaks a rule is drawn again. That is weighted sampling
  without replacement over whole trait sets, so near capacity the same distribution is drawn
  directly from the enumerated valid sets instead of by ever-longer rejection.
- ``exact``: each trait's counts follow its weights exactly (largest remainder), the columns are
  shuffled, and the few rows that repeat or break a rule are repaired by swapping one trait
  with another row, which keeps every count exact.

``random.Random`` drives both because its stream is stable across Python versions and
platforms, so a seed names the same plan everywhere.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import random
from dataclasses import dataclass

from generator.errors import UserError
from generator.rules import Combo, CompiledRule, count_valid, enumerate_valid, is_valid
from generator.traits import TraitTable

REJECTION_DRAWS_PER_TOKEN = 1000  # far above the ~1.1 draws/token of the default tables at N=10,000
REPAIR_SWAPS_PER_ROW = 500


@dataclass(frozen=True)
class PlannedToken:
    token_id: int
    combo: Combo


def token_seed(collection_seed: int, token_id: int, attempt: int) -> int:
    """The render seed of one attempt at one token: independent of batch size, order and resumes."""
    digest = hashlib.sha256(f"punkgen:{collection_seed}:{token_id}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # 63 bits: valid for torch and numpy generators


def plan_collection(
    tables: list[TraitTable], rules: tuple[CompiledRule, ...], size: int, seed: int, mode: str, first_token_id: int
) -> list[PlannedToken]:
    """Check that ``size`` distinct valid sets exist, then draw them; refuses before anything renders."""
    capacity = count_valid(tables, rules)
    if size > capacity:
        raise UserError(
            f"a collection of {size} needs {size} distinct trait sets but the tables and rules allow only {capacity}; "
            "lower N, add trait values, or relax [[rules]]"
        )
    rng = random.Random(seed)
    if mode == "exact":
        combos = _exact(tables, rules, size, rng)
    elif 2 * size > capacity:
        combos = _weighted_from_enumeration(tables, rules, size, rng)
    else:
        combos = _weighted_by_rejection(tables, rules, size, rng)
    return [PlannedToken(token_id=first_token_id + i, combo=combo) for i, combo in enumerate(combos)]


def _weighted_by_rejection(
    tables: list[TraitTable], rules: tuple[CompiledRule, ...], size: int, rng: random.Random
) -> list[Combo]:
    cumulative = [list(itertools.accumulate(value.weight for value in table.values)) for table in tables]
    chosen: list[Combo] = []
    seen: set[Combo] = set()
    for _ in range(REJECTION_DRAWS_PER_TOKEN * size):
        combo = tuple(bisect.bisect_right(cw, rng.random() * cw[-1]) for cw in cumulative)
        if combo not in seen and is_valid(combo, rules):
            seen.add(combo)
            chosen.append(combo)
            if len(chosen) == size:
                return chosen
    raise UserError(
        f"found only {len(chosen)} of {size} distinct trait sets after {REJECTION_DRAWS_PER_TOKEN * size} draws: "
        "the weights concentrate on too few sets; flatten the weights in the trait tables or lower N"
    )


def _weighted_from_enumeration(
    tables: list[TraitTable], rules: tuple[CompiledRule, ...], size: int, rng: random.Random
) -> list[Combo]:
    """Efraimidis–Spirakis: the largest keys u^(1/w) are a weighted sample without replacement, in draw order."""

    def key(combo: Combo) -> float:
        weight = math.prod(table.values[i].weight for table, i in zip(tables, combo, strict=True))
        return math.log(rng.random() or 1e-300) / weight

    keyed = [(key(combo), combo) for combo in enumerate_valid(tables, rules)]
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return [combo for _, combo in keyed[:size]]


def exact_counts(weights: list[float], size: int) -> list[int]:
    """Largest-remainder apportionment: counts sum to ``size`` and each is within 1 of size·share."""
    total = sum(weights)
    ideal = [size * weight / total for weight in weights]
    counts = [math.floor(share) for share in ideal]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(ideal[i] - counts[i]), i))
    for i in by_remainder[: size - sum(counts)]:
        counts[i] += 1
    return counts


def _exact(tables: list[TraitTable], rules: tuple[CompiledRule, ...], size: int, rng: random.Random) -> list[Combo]:
    columns = []
    for table in tables:
        counts = exact_counts([value.weight for value in table.values], size)
        column = [i for i, count in enumerate(counts) for _ in range(count)]
        rng.shuffle(column)
        columns.append(column)
    rows = [tuple(row) for row in zip(*columns, strict=True)]
    _repair(rows, rules, rng)
    return rows


def _repair(rows: list[Combo], rules: tuple[CompiledRule, ...], rng: random.Random) -> None:
    """Swap single traits between rows until every row is valid and distinct; column counts never change."""
    uses: dict[Combo, int] = {}
    bad = []
    for i, row in enumerate(rows):
        uses[row] = uses.get(row, 0) + 1
        if uses[row] > 1 or not is_valid(row, rules):
            bad.append(i)
    for i in bad:
        if uses[rows[i]] == 1 and is_valid(rows[i], rules):
            continue  # an earlier swap already fixed it
        if not _swap_until_fixed(rows, i, uses, rules, rng):
            raise UserError(
                'sampling = "exact" cannot meet every quota with distinct sets that obey [[rules]]; '
                'relax the rules, change the weights, or use sampling = "weighted"'
            )


def _swap_until_fixed(
    rows: list[Combo], i: int, uses: dict[Combo, int], rules: tuple[CompiledRule, ...], rng: random.Random
) -> bool:
    for _ in range(REPAIR_SWAPS_PER_ROW):
        trait, j = rng.randrange(len(rows[i])), rng.randrange(len(rows))
        a, b = rows[i], rows[j]
        if a[trait] == b[trait]:
            continue
        new_a = a[:trait] + (b[trait],) + a[trait + 1 :]
        new_b = b[:trait] + (a[trait],) + b[trait + 1 :]
        if uses.get(new_a) or uses.get(new_b) or not (is_valid(new_a, rules) and is_valid(new_b, rules)):
            continue
        for old in (a, b):
            uses[old] -= 1
        uses[new_a] = uses[new_b] = 1
        rows[i], rows[j] = new_a, new_b
        return True
    return False
