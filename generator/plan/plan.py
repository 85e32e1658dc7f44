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
import functools
import hashlib
import itertools
import math
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from generator.errors import UserError
from generator.plan.rules import CompiledRule, Support, analyse, enumerate_valid, is_valid, refuse_impossible_values
from generator.plan.traits import Combo, TraitTable
from generator.schemas.declared import CONFIG

REJECTION_DRAWS_PER_TOKEN = 1000  # far above the ~1.1 draws/token of the default tables at N=10,000
REPAIR_SWAPS_PER_ROW = 500
EXACT = 'sampling = "exact"'  # how messages name the mode, as the creator wrote it
# Peak bytes per planned token (and per enumerated valid set), measured with tracemalloc over
# plan_collection on the shipped tables: weighted, 100,000 tokens: 22.4 MB peak (the PlannedToken, its
# combo, the set of seen combos); exact, 20,000 tokens: 5.3 MB (columns, rows, use counts); near
# capacity (400,000 of 586,320 sets) every valid set is enumerated and keyed first: 113 MB.
PLAN_BYTES = {"weighted": 224, "exact": 263, "enumerated set": 193}
PLAN_MEMORY_CAP = 2 * 2**30  # ~9.6M weighted tokens (minutes of planning): far beyond any collection minted
PLAN_SHARE_OF_AVAILABLE = 0.25  # the plan is one of several per-token structures a run holds (manifest history, prompts)
# Sets whose weights expected_shares holds at once (a few float64 arrays of this size): 3.2M sets took
# 0.24 s and peaked at 130 MB (tracemalloc), so ~160 MB at the limit. The shipped tables have 725,760.
DISTINCT_SETS_LIMIT = 4_000_000
INCLUSION_NEWTON_STEPS = 200  # each step is one pass over the sets; 5–20 suffice unless size ≈ capacity


@dataclass(frozen=True)
class PlannedToken:
    token_id: int
    combo: Combo


def token_seed(collection_seed: int, token_id: int, attempt: int) -> int:
    """The render seed of one attempt at one token: independent of batch size, order and resumes.

    32 bits, for every backend: AUTOMATIC1111 takes seeds up to 2³²−1 (ComfyUI, torch and numpy take more), so one
    collection seed gives the same render seeds in punkgen, in either UI and in ``to-render/``."""
    digest = hashlib.sha256(f"punkgen:{collection_seed}:{token_id}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def plan_collection(
    tables: list[TraitTable],
    rules: tuple[CompiledRule, ...],
    size: int,
    seed: int,
    mode: str,
    first_token_id: int,
    skip: frozenset[int] = frozenset(),
) -> list[PlannedToken]:
    """Check that ``size`` distinct valid sets exist and fit in memory, then draw them; refuses before anything renders.

    They take the ids from ``first_token_id`` on, in draw order, passing over ``skip`` (the 1/1s' ids). ``mode`` is
    ``[traits].sampling``'s value; any other string is refused, never read as ``weighted``."""
    CONFIG.checked_choice("traits", "sampling", mode)
    support = analyse(tables, rules)
    refuse_impossible_values(tables, rules, support)
    capacity = support.capacity
    if size > capacity:
        raise UserError(
            f"a collection of {size} needs {size} distinct trait sets but the tables and rules allow only {capacity}; "
            "lower N, add trait values, or relax [[rules]]"
        )
    refuse_plans_beyond_memory(size, capacity, mode)
    rng = random.Random(seed)
    if mode == "exact":
        combos = _exact(tables, rules, size, rng, support)
    elif 2 * size > capacity:
        combos = _weighted_from_enumeration(tables, rules, size, rng)
    else:
        combos = draw_weighted(tables, rules, size, rng)
    ids = (token_id for token_id in itertools.count(first_token_id) if token_id not in skip)
    return [PlannedToken(token_id=token_id, combo=combo) for token_id, combo in zip(ids, combos, strict=False)]  # ids: endless


def estimate_plan_bytes(size: int, capacity: int, mode: str) -> int:
    """Peak memory of :func:`plan_collection` for ``size`` tokens, from the measured costs in :data:`PLAN_BYTES`."""
    if mode == "exact":
        return size * PLAN_BYTES["exact"]
    if 2 * size > capacity:
        return size * PLAN_BYTES["weighted"] + capacity * PLAN_BYTES["enumerated set"]
    return size * PLAN_BYTES["weighted"]


def refuse_plans_beyond_memory(size: int, capacity: int, mode: str) -> None:
    """Refuse a plan that would not fit, before building it: a run must end with a message, never be OOM-killed."""
    needed = estimate_plan_bytes(size, capacity, mode)
    available = available_memory()
    limit = PLAN_MEMORY_CAP if available is None else min(PLAN_MEMORY_CAP, int(available * PLAN_SHARE_OF_AVAILABLE))
    if needed > limit:
        why = (
            "punkgen's cap" if limit == PLAN_MEMORY_CAP else f"{PLAN_SHARE_OF_AVAILABLE:.0%} of the {_bytes(available)} available"
        )
        most = limit * size // needed
        raise UserError(
            f"a collection of {size:,} tokens needs about {_bytes(needed)} of memory just to plan ({mode} sampling), "
            f"more than the {_bytes(limit)} allowed ({why}); lower N to at most {most:,}"
        )


def available_memory() -> int | None:
    """Bytes this machine can still give (Linux MemAvailable, else free pages); None where it cannot be asked."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _bytes(count: int | None) -> str:
    count = count or 0
    return f"{count / 1e9:,.1f} GB" if count >= 1e9 else f"{count / 1e6:,.0f} MB"


def draw_weighted(
    tables: list[TraitTable], rules: tuple[CompiledRule, ...], size: int, rng: random.Random, taken: Iterable[Combo] = ()
) -> list[Combo]:
    """``size`` distinct valid sets, each trait drawn by weight, none of them in ``taken``: the plan's weighted draw,
    and a reroll's fresh traits (distinct from every other token's)."""
    cumulative = [list(itertools.accumulate(value.weight for value in table.values)) for table in tables]
    chosen: list[Combo] = []
    seen: set[Combo] = set(taken)
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


def _exact(
    tables: list[TraitTable], rules: tuple[CompiledRule, ...], size: int, rng: random.Random, support: Support
) -> list[Combo]:
    quotas = [exact_counts([value.weight for value in table.values], size) for table in tables]
    refuse_impossible_quotas(tables, rules, quotas, support)
    columns = []
    for quota in quotas:
        column = [i for i, count in enumerate(quota) for _ in range(count)]
        rng.shuffle(column)
        columns.append(column)
    rows = [tuple(row) for row in zip(*columns, strict=True)]
    _repair(tables, rows, rules, rng)
    return rows


def refuse_impossible_quotas(
    tables: list[TraitTable], rules: tuple[CompiledRule, ...], quotas: list[list[int]], support: Support
) -> None:
    """Two counts that prove a quota cannot be met, each naming the value: checked before any swapping.

    A value that rules allow only with some values of another trait needs those values' quotas
    to add up to its own (checked first: its message names the rule); and a value needs as many
    distinct valid sets as its quota.
    """
    for t, table in enumerate(tables):
        for i in table.enabled_indices:
            for u, banned, numbers in _partners_required(rules, t, i):
                room = sum(count for j, count in enumerate(quotas[u]) if j not in banned)
                if quotas[t][i] > room:
                    allowed = ", ".join(f"'{tables[u].values[j].name}'" for j in tables[u].enabled_indices if j not in banned)
                    raise UserError(
                        f"{EXACT}: {table.key} '{table.values[i].name}' has a quota of {quotas[t][i]} tokens but under "
                        f"[[rules]] {numbers} it may appear only with {tables[u].key} {allowed or '(none)'}, whose quotas add up to {room}; "
                        'change the weights, relax the rules, or use sampling = "weighted"'
                    )
    for t, table in enumerate(tables):
        for i, quota in enumerate(quotas[t]):
            if quota > support.counts[t][i]:
                raise UserError(
                    f"{EXACT}: {table.key} '{table.values[i].name}' has a quota of {quota} tokens but the tables "
                    f"and [[rules]] allow only {support.counts[t][i]} distinct sets with it; lower its weight in {table.path}, "
                    'lower N, or use sampling = "weighted"'
                )


def _partners_required(rules: tuple[CompiledRule, ...], trait: int, index: int) -> list[tuple[int, frozenset[int], str]]:
    """Per other trait: the values that rules conditioned on this value alone ban, and those rules' numbers."""
    banned: dict[int, set[int]] = {}
    numbers: dict[int, list[str]] = {}
    for rule in rules:
        if len(rule.when) != 1 or rule.when[0][0] != trait or index not in rule.when[0][1]:
            continue
        for u, values in rule.banned:
            banned.setdefault(u, set()).update(values)
            numbers.setdefault(u, []).append(f"#{rule.number}")
    return [(u, frozenset(values), ", ".join(numbers[u])) for u, values in banned.items()]


def _repair(tables: list[TraitTable], rows: list[Combo], rules: tuple[CompiledRule, ...], rng: random.Random) -> None:
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
            raise UserError(f"{EXACT} cannot meet every quota: {_unplaceable(tables, rows[i], rules)}")


def _unplaceable(tables: list[TraitTable], row: Combo, rules: tuple[CompiledRule, ...]) -> str:
    """Why the row that could not be repaired is stuck, in the creator's terms: the values and the rule, or crowding."""
    broken = next((rule for rule in rules if rule.violated_by(row)), None)
    if broken is not None:
        when = " and ".join(f"{tables[t].key} '{tables[t].values[row[t]].name}'" for t, _ in broken.when)
        banned = " and ".join(
            f"{tables[t].key} '{tables[t].values[row[t]].name}'" for t, values in broken.banned if row[t] in values
        )
        return (
            f"no swap found to move {when} off {banned}, which [[rules]] #{broken.number} forbids with it, without breaking "
            'another quota or repeating a set; lower the weight of one of them, relax the rule, or use sampling = "weighted"'
        )
    values = ", ".join(f"{table.key} '{table.values[i].name}'" for table, i in zip(tables, row, strict=True))
    return (
        f"the quotas crowd too many tokens onto sets like ({values}) to make them all distinct by swapping; "
        'flatten the weights of the most common values, lower N, or use sampling = "weighted"'
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


def expected_shares(
    tables: list[TraitTable], rules: tuple[CompiledRule, ...], size: int, mode: str, support: Support
) -> list[list[float]]:
    """Each value's expected share of a ``size``-token plan: what the rules and the sampling mode make of the weights.

    - ``exact``: the quotas themselves (the plan meets them or refuses).
    - ``weighted``: the planner draws distinct valid sets one by one with probability ∝ the
      product of weights, which is successive sampling. A set's chance to be in the plan is
      ``1 − exp(−λ·w)`` with λ fixed by the chances adding up to ``size`` (Rosén's approximation,
      within a fraction of a percent here; exact at both ends: one draw's law as size/capacity → 0,
      every valid set once at capacity). It needs every valid set's weight, so beyond
      :data:`DISTINCT_SETS_LIMIT` sets one draw's law (``support.law``) stands in; it ignores
      only the duplicates a plan skips, which matter when the likeliest set would be drawn
      more than about once (size × its probability ≳ 0.1).
    """
    CONFIG.checked_choice("traits", "sampling", mode)
    if mode == "exact":
        return [[count / size for count in exact_counts([v.weight for v in t.values], size)] for t in tables]
    if math.prod(len(table.enabled_indices) for table in tables) > DISTINCT_SETS_LIMIT:
        return support.law
    return _successive_sampling_shares(tables, rules, size)


def _successive_sampling_shares(tables: list[TraitTable], rules: tuple[CompiledRule, ...], size: int) -> list[list[float]]:
    enabled = [np.array(table.enabled_indices) for table in tables]
    weight = functools.reduce(np.multiply.outer, [np.array(t.shares())[idx] for t, idx in zip(tables, enabled, strict=True)])
    weight[~_valid_grid(rules, enabled)] = 0.0
    positive = weight > 0
    rate = _inclusion_rate(weight[positive], size)
    chance = np.zeros_like(weight)
    chance[positive] = 1.0 if math.isinf(rate) else -np.expm1(-rate * weight[positive])
    total = chance.sum()
    shares = []
    for t, table in enumerate(tables):
        others = tuple(axis for axis in range(len(tables)) if axis != t)
        per_value = np.zeros(len(table.values))
        per_value[enabled[t]] = chance.sum(axis=others) / total
        shares.append(per_value.tolist())
    return shares


def _valid_grid(rules: tuple[CompiledRule, ...], enabled: list[np.ndarray]) -> np.ndarray:
    """Validity of every set of enabled values, one axis per trait, by broadcasting each rule's per-trait tests."""

    def test(trait: int, values: frozenset[int]) -> np.ndarray:
        shape = [1] * len(enabled)
        shape[trait] = len(enabled[trait])
        return np.isin(enabled[trait], list(values)).reshape(shape)

    valid = np.ones([len(idx) for idx in enabled], dtype=bool)
    for rule in rules:
        applies = functools.reduce(np.logical_and, [test(t, v) for t, v in rule.when], np.ones((1,) * len(enabled), bool))
        banned = functools.reduce(np.logical_or, [test(t, v) for t, v in rule.banned], np.zeros((1,) * len(enabled), bool))
        valid &= ~(applies & banned)
    return valid


def _inclusion_rate(weights: np.ndarray, size: int) -> float:
    """λ with Σ(1 − exp(−λ·w)) = size, by Newton from below (the sum is concave in λ, so every step stays below)."""
    if size >= len(weights):
        return math.inf
    rate = size / weights.sum()
    for _ in range(INCLUSION_NEWTON_STEPS):
        chance = -np.expm1(-rate * weights)
        missing = size - chance.sum()
        if missing <= 1e-9 * size:
            break
        rate += missing / (weights * (1 - chance)).sum()
    return rate
