"""How the other marketplaces will rank the collection: statistical rarity and HowRare.is, beside OpenRarity.

Ranks go live when the mint closes, and each marketplace computes them its own way; they disagree
most on 1/1s, "None" values and the trait count. This module computes the other methods from the
same per-trait counts as OpenRarity (:func:`generator.publish.rarity.count_traits`), so only the
formula differs, and says which tokens move most between them.

With ``p = tokens with the value ÷ all tokens`` for each of a token's traits:

- **statistical** (Magic Eden, "akin to MoonRank's statistical algorithm"): ``Π p``, lower = rarer.
  https://help.magiceden.io/en/articles/9062884-understanding-statistical-rarity-on-magic-eden :
  "calculated by multiplying all of an NFT's trait percentages"; every trait type of the collection's
  "shape" is scored, so a missing trait counts as its own value. HowRare's FAQ on the same method:
  "Attribute count gets ignored". Defaults: None counted, trait count off.
- **howrare** (HowRare.is): ``Σ 1/p``, higher = rarer. https://howrare.is/faq : "we sum points for all
  the traits with points for attribute count. Points are awarded by the formula: 1 / rarity %".
  Defaults: None counted, trait count on.
- **howrare_normalised** (HowRare.is, "trait normalized version"): ``Σ (count of the trait's most
  common value ÷ count)``, the same FAQ: "1 / (count of occurrences for the attribute / count of most
  popular attribute in a trait)": each trait's most common value scores 1 whatever the trait's number
  of values, so a trait with many values weighs no more than one with few. Same defaults as howrare.

"None" is a value whose normalised form is ``none`` or empty, or a trait the token lacks (punkgen's
metadata leaves ``None`` out, so a lacking trait is how it reaches a marketplace). Counted, it is a
value like any other; not counted, it adds nothing (a factor 1, 0 points). The trait count is
OpenRarity's ``meta_trait:trait_count`` (non-None values), scored as a trait of its own.
Every method ranks with the same rule: equal scores share a rank, competition style (1, 2, 2, 4).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from generator.config import Config
from generator.curate.finished import load_collection
from generator.plan.traits import load_traits
from generator.publish.rarity import (
    EMPTY_VALUES,
    TRAIT_COUNT,
    Attributes,
    TokenRarity,
    TraitCounts,
    competition_ranks,
    count_traits,
    openrarity_ranks,
    report_lines,
    value_shares,
)

OPENRARITY = "openrarity"


@dataclass(frozen=True)
class RankMethod:
    name: str  # CSV column stem, report heading
    formula: str  # "product" (lower = rarer), "inverse" (Σ 1/p) or "normalised" (Σ most common ÷ count)
    none_as_value: bool  # a None value is scored like any value (else it adds nothing)
    trait_count: bool  # the number of non-None values is scored as a trait of its own
    marketplace: str


MARKETPLACE_METHODS = (
    RankMethod("statistical", "product", none_as_value=True, trait_count=False, marketplace="Magic Eden, MoonRank"),
    RankMethod("howrare", "inverse", none_as_value=True, trait_count=True, marketplace="HowRare.is"),
    RankMethod("howrare_normalised", "normalised", none_as_value=True, trait_count=True, marketplace="HowRare.is"),
)


@dataclass(frozen=True)
class MethodRanks:
    method: RankMethod
    ranks: dict[int, int]  # token id → rank, 1 = rarest
    scores: dict[int, float]


def chosen_methods(none_as_value: bool | None = None, trait_count: bool | None = None) -> tuple[RankMethod, ...]:
    """The marketplace methods, each with its marketplace's defaults unless a toggle is given (then for all)."""
    chosen = MARKETPLACE_METHODS
    if none_as_value is not None:
        chosen = tuple(replace(method, none_as_value=none_as_value) for method in chosen)
    if trait_count is not None:
        chosen = tuple(replace(method, trait_count=trait_count) for method in chosen)
    return chosen


def rank_by_methods(tally: TraitCounts, chosen: Sequence[RankMethod]) -> list[MethodRanks]:
    """Each method's rank and score for every token, from one count of the collection's values."""
    return [_rank(tally, method) for method in chosen]


def _rank(tally: TraitCounts, method: RankMethod) -> MethodRanks:
    counted = _counted_frequencies(tally, method)
    most_common = {name: max(values.values(), default=1) for name, values in counted.items()}
    scores = {}
    for token_id, own in tally.traits.items():
        held = ((name, values, _value(own, name)) for name, values in counted.items())
        counts = [(name, values[value]) for name, values, value in held if value in values]  # None left out if not counted
        scores[token_id] = _score(method.formula, counts, tally.total, most_common)
    rarer_first = 1 if method.formula == "product" else -1
    order = sorted(scores, key=lambda token_id: (rarer_first * scores[token_id], token_id))
    ranks = competition_ranks([scores[token_id] for token_id in order])
    return MethodRanks(method, dict(zip(order, ranks, strict=True)), scores)


def _value(own: Mapping[str, str], name: str) -> str:
    """The token's value of a trait, every spelling of None (and a lacking trait) as ``none``."""
    value = own.get(name, "none")
    return "none" if value in EMPTY_VALUES else value


def _counted_frequencies(tally: TraitCounts, method: RankMethod) -> dict[str, dict[str, int]]:
    """name → value → tokens, for the traits and values the method scores (None merged into one value)."""
    counted: dict[str, dict[str, int]] = {}
    for name, values in tally.counts.items():
        if name == TRAIT_COUNT and not method.trait_count:
            continue
        merged = {value: count for value, count in values.items() if value not in EMPTY_VALUES}
        nones = tally.nulls[name] + sum(values[value] for value in EMPTY_VALUES)
        if method.none_as_value and nones:
            merged["none"] = nones
        counted[name] = merged
    return counted


def _score(formula: str, counts: Sequence[tuple[str, int]], total: int, most_common: Mapping[str, int]) -> float:
    if formula == "product":
        return math.prod(count / total for _, count in counts)
    if formula == "inverse":
        return sum(total / count for _, count in counts)
    return sum(most_common[name] / count for name, count in counts)


def describe(method: RankMethod) -> str:
    """One line: the formula and the toggles, as the report and the docs name them."""
    formula = {
        "product": "product of trait frequencies, lower = rarer",
        "inverse": "sum of 1/frequency",
        "normalised": "sum of (most common count ÷ count) per trait",
    }[method.formula]
    none = "None counted" if method.none_as_value else "None not counted"
    count = "trait count on" if method.trait_count else "trait count off"
    return f"{formula}; {none}, {count} ({method.marketplace})"


# ── what `punkgen rarity` adds: where tokens land under each method ──────────────────────────────


def comparison_lines(
    openrarity: Sequence[TokenRarity], by_method: Sequence[MethodRanks], one_of_ones: Sequence[int], top: int
) -> list[str]:
    """The ranks under every method side by side: the tokens that move most, then where the 1/1s land."""
    columns = {OPENRARITY: {token.token_id: token.rank for token in openrarity}}
    columns |= {ranked.method.name: ranked.ranks for ranked in by_method}
    lines = ["", "ranks by method (rank 1 = rarest; equal scores share a rank: 1, 2, 2, 4)"]
    lines.append(f"  {OPENRARITY:<20}information content ÷ entropy; Null for a lacking trait, trait count on (OpenSea)")
    lines += [f"  {ranked.method.name:<20}{describe(ranked.method)}" for ranked in by_method]
    lines += ["", f"rarest under each method (top {min(top, len(openrarity))})"]
    lines += [
        f"  {name:<20}" + " ".join(f"#{t}" for t in sorted(ranks, key=lambda t: (ranks[t], t))[:top])
        for name, ranks in columns.items()
    ]
    spread = {token_id: _spread(columns, token_id) for token_id in columns[OPENRARITY]}
    moved = sorted(spread, key=lambda token_id: (-spread[token_id], token_id))[:top]
    lines += ["", f"rank moves most between methods (top {len(moved)}, by highest rank − lowest)"]
    lines += _rank_table(columns, moved, spread)
    lines += ["", "where the 1/1s land"]
    lines += _rank_table(columns, one_of_ones, spread) if one_of_ones else ["  no 1/1s in this collection"]
    return lines


def _spread(columns: Mapping[str, Mapping[int, int]], token_id: int) -> int:
    ranks = [ranks[token_id] for ranks in columns.values()]
    return max(ranks) - min(ranks)


def _rank_table(columns: Mapping[str, Mapping[int, int]], token_ids: Sequence[int], spread: Mapping[int, int]) -> list[str]:
    widths = [max(len(name), 6) for name in columns]
    header = "  token   " + " ".join(f"{name:>{width}}" for name, width in zip(columns, widths, strict=True))
    rows = [
        f"  #{token_id:<7}"
        + " ".join(f"{ranks[token_id]:>{width}}" for ranks, width in zip(columns.values(), widths, strict=True))
        + f"{spread[token_id]:>8}"
        for token_id in token_ids
    ]
    return [header + f"{'spread':>8}", *rows]


# ── export/rarity.csv: OpenRarity's columns as before, then a rank and a score per marketplace method ─


def rarity_csv(ranks: Sequence[TokenRarity], attributes: Mapping[int, Attributes]) -> bytes:
    """``token_id,rank,score,unique_traits,trait_count``, one column per trait type (empty where absent), then
    ``<method>_rank,<method>_score`` per marketplace method at its defaults; rarest (OpenRarity) first.

    The columns before the methods' are those punkgen always wrote, in the same order, for readers that rely on them.
    """
    trait_types = list(dict.fromkeys(a["trait_type"] for attrs in attributes.values() for a in attrs))
    by_method = rank_by_methods(count_traits(attributes), MARKETPLACE_METHODS)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    fixed = ["token_id", "rank", "score", "unique_traits", "trait_count"]
    method_columns = [f"{ranked.method.name}_{column}" for ranked in by_method for column in ("rank", "score")]
    writer.writerow([*fixed, *_trait_columns(trait_types, [*fixed, *method_columns]), *method_columns])
    for token in ranks:
        values = {a["trait_type"]: a["value"] for a in attributes[token.token_id]}
        row = [token.token_id, token.rank, f"{token.score:.6f}", token.unique_traits, token.trait_count]
        row += [values.get(trait_type, "") for trait_type in trait_types]
        for ranked in by_method:
            row += [ranked.ranks[token.token_id], f"{ranked.scores[token.token_id]:.6g}"]
        writer.writerow(row)
    return buffer.getvalue().encode()


def _trait_columns(trait_types: Sequence[str], punkgens: Sequence[str]) -> list[str]:
    """Each trait type's column name: the trait type itself, or ``trait:<type>`` where it is one of punkgen's own
    columns (a trait type called ``rank`` or ``statistical_rank``), so that every header names one column and a reader
    that looks a column up by name gets punkgen's value, not a trait's."""
    taken, names = set(punkgens), []
    for trait_type in trait_types:
        name = trait_type
        while name in taken:
            name = f"trait:{name}"
        taken.add(name)
        names.append(name)
    return names


def rarity_report(
    folder: Path, config: Config, top: int, none_as_value: bool | None = None, trait_count: bool | None = None
) -> list[str]:
    """What ``punkgen rarity`` prints: OpenRarity's rarest and most common tokens and each value's shares (as
    before), then each marketplace method's ranks; the toggles, where given, apply to every marketplace method."""
    collection = load_collection(folder, config)
    shares = value_shares(load_traits(config), [token.traits for token in collection.tokens])
    ranks, by_method = rank_collection(collection.attributes, chosen_methods(none_as_value, trait_count))
    one_of_ones = [token.token_id for token in collection.tokens if not token.traits]  # drawn from no table
    return report_lines(ranks, collection.attributes, shares, top) + comparison_lines(ranks, by_method, one_of_ones, top)


def rank_collection(
    attributes: Mapping[int, Attributes], chosen: Sequence[RankMethod]
) -> tuple[list[TokenRarity], list[MethodRanks]]:
    """OpenRarity's ranks and each chosen method's, from one count."""
    tally = count_traits(attributes)
    return openrarity_ranks(tally), rank_by_methods(tally, chosen)
