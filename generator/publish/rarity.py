"""Rarity the way marketplaces compute it: OpenRarity's information-content method, from the published attributes.

OpenRarity (the method OpenSea shows) treats every trait as a categorical distribution over the
collection: a token's score is the information content of its values, ``Σ log2(N / count)``,
divided by the collection's entropy so scores compare across collections. Three details decide
the ranks and are the ones generators usually get wrong:

- names and values are trimmed and lowercased first (``"Hat "`` and ``"hat"`` are one trait);
- a token without a trait gets that trait's ``Null`` value, whose count is the tokens lacking it,
  so a rare *absence* is rare too;
- a ``meta_trait:trait_count`` trait (how many non-``none`` values a token has) is added to every token.

Tokens are ordered by (traits only this token has, score), highest first, and a score equal to
the previous token's (``math.isclose``) shares its rank: competition ranking, 1, 2, 2, 4. The
``open-rarity`` package pins an old pydantic, so punkgen computes this itself;
``tests/test_rarity.py`` checks the ranks against ranks recorded from that package. The value counts
(:func:`count_traits`) and the tie rule (:func:`competition_ranks`) are shared with the other
marketplaces' methods in :mod:`generator.publish.rank_methods`.

The second half is the rarity-editing loop: each value's configured share (its weight) against
its realised share in a generated collection.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from generator.plan.traits import TraitTable

TRAIT_COUNT = "meta_trait:trait_count"
NULL_VALUE = "null"  # OpenRarity's "Null", normalised
EMPTY_VALUES = ("none", "")  # values that do not count towards a token's trait count

Attributes = Sequence[Mapping[str, str]]  # [{"trait_type": …, "value": …}], as in token metadata


@dataclass(frozen=True)
class TokenRarity:
    token_id: int
    rank: int  # 1 = rarest; equal scores share a rank
    score: float  # information content ÷ collection entropy
    unique_traits: int  # traits (trait count included) that no other token has
    trait_count: int


def normalise(text: str) -> str:
    return text.strip().lower()


@dataclass(frozen=True)
class TraitCounts:
    """How many tokens hold each (trait, value): the one count every rank method (OpenRarity and
    :mod:`generator.publish.rank_methods`) is computed from, so the methods differ only in their formula."""

    total: int
    traits: dict[int, dict[str, str]]  # token id → normalised name → value, the trait count included
    counts: dict[str, Counter[str]]  # name → value → tokens with it
    nulls: dict[str, int]  # name → tokens without the trait (OpenRarity's ``Null``)


def count_traits(attributes: Mapping[int, Attributes]) -> TraitCounts:
    traits = {token_id: _normalised_traits(attrs) for token_id, attrs in attributes.items()}
    counts = _value_counts(traits.values())
    total = len(traits)
    return TraitCounts(total, traits, counts, {name: total - sum(values.values()) for name, values in counts.items()})


def rank_tokens(attributes: Mapping[int, Attributes]) -> list[TokenRarity]:
    """Every token's OpenRarity rank and score, rarest first (ties by token id)."""
    return openrarity_ranks(count_traits(attributes))


def openrarity_ranks(tally: TraitCounts) -> list[TokenRarity]:
    """OpenRarity's ranks from counts already made, so a caller ranking several ways counts the collection once."""
    counts, nulls, total = tally.counts, tally.nulls, tally.total
    entropy = _entropy(counts, nulls, total) or 1.0  # a one-token collection has no entropy
    scored = [
        (token_id, _information(own, counts, nulls, total) / entropy, sum(counts[n][v] == 1 for n, v in own.items()), own)
        for token_id, own in tally.traits.items()
    ]
    scored.sort(key=lambda item: (-item[2], -item[1], item[0]))
    ranks = competition_ranks([score for _, score, _, _ in scored])
    return [
        TokenRarity(token_id, rank, score, unique, int(own[TRAIT_COUNT]))
        for rank, (token_id, score, unique, own) in zip(ranks, scored, strict=True)
    ]


def competition_ranks(scores: Sequence[float]) -> list[int]:
    """Ranks for scores already in rank order: a score equal (``math.isclose``) to the one before shares its rank,
    and the next differing score takes its position ("1224" competition ranking), the rule of every method here."""
    ranks: list[int] = []
    for position, score in enumerate(scores):
        tied = position and math.isclose(score, scores[position - 1])
        ranks.append(ranks[-1] if tied else position + 1)
    return ranks


def _normalised_traits(attrs: Attributes) -> dict[str, str]:
    """Name → value, normalised, plus the trait count; a repeated name keeps its last value, as OpenRarity does."""
    own = {normalise(a["trait_type"]): normalise(str(a["value"])) for a in attrs}
    own.pop(TRAIT_COUNT, None)
    own[TRAIT_COUNT] = str(sum(value not in EMPTY_VALUES for value in own.values()))
    return own


def _value_counts(tokens: Iterable[dict[str, str]]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for own in tokens:
        for name, value in own.items():
            counts[name][value] += 1
    return dict(counts)


def _entropy(counts: dict[str, Counter[str]], nulls: dict[str, int], total: int) -> float:
    """``-Σ p log2 p`` over every (trait, value) pair in the collection, ``Null`` values included."""
    frequencies = [count for values in counts.values() for count in values.values()]
    frequencies += [count for count in nulls.values() if count > 0]
    return -sum(count / total * math.log2(count / total) for count in frequencies)


def _information(own: dict[str, str], counts: dict[str, Counter[str]], nulls: dict[str, int], total: int) -> float:
    """``Σ log2(N / count)`` over every trait in the collection: the token's value, or ``Null`` where it has none."""
    return sum(math.log2(total / (counts[name][own[name]] if name in own else nulls[name])) for name in sorted(counts))


@dataclass(frozen=True)
class ValueShare:
    value: str
    configured: float  # weight ÷ the table's total weight
    realised: float  # tokens with the value ÷ all tokens
    tokens: int


@dataclass(frozen=True)
class TraitShares:
    table: TraitTable
    values: list[ValueShare]


def value_shares(tables: Sequence[TraitTable], traits: Sequence[Mapping[str, str]]) -> list[TraitShares]:
    """Configured against realised share of every enabled value (and any value the tables no longer enable).

    ``traits`` are the manifest's ``{trait key: value}`` per token. Rules and the uniqueness
    redraws move realised shares away from the weights; this is where a creator sees by how much.
    1/1s (empty traits: their attributes are not the tables') are not drawn by weight, so they are left out.
    """
    traits = [token for token in traits if token]
    report = []
    for table in tables:
        seen = Counter(token[table.key] for token in traits)
        values = [
            ValueShare(value.name, share, seen[value.name] / len(traits), seen[value.name])
            for value, share in zip(table.values, table.shares(), strict=True)
            if value.enabled or seen[value.name]
        ]
        report.append(TraitShares(table, values))
    return report


def report_lines(
    ranks: Sequence[TokenRarity], attributes: Mapping[int, Attributes], shares: Sequence[TraitShares], top: int
) -> list[str]:
    """What ``punkgen rarity`` prints: the rarest and the most common tokens, then every value's shares."""
    lines = [f"{len(ranks)} tokens ranked the OpenRarity way (rank 1 = rarest; equal scores share a rank)", "", "rarest"]
    lines += [_token_line(token, attributes) for token in ranks[:top]]
    lines += ["", "most common"]
    lines += [_token_line(token, attributes) for token in ranks[max(top, len(ranks) - top) :]]
    lines += ["", "each value's configured share (weight ÷ table total) against its realised share, in percentage points"]
    lines += [f"{'value':<26}{'configured':>11}{'realised':>10}{'tokens':>8}{'diff':>9}"]
    for trait in shares:
        lines.append(f"{trait.table.trait_type} ({trait.table.path})")
        lines += [
            f"  {share.value:<24}{share.configured:>11.2%}{share.realised:>10.2%}{share.tokens:>8}"
            f"{(share.realised - share.configured) * 100:>+8.2f}"
            for share in trait.values
        ]
    return lines


def _token_line(token: TokenRarity, attributes: Mapping[int, Attributes]) -> str:
    values = ", ".join(a["value"] for a in attributes[token.token_id])
    unique = f"  {token.unique_traits} unique" if token.unique_traits else ""
    return f"  rank {token.rank:>5}  #{token.token_id:<6} score {token.score:.4f}{unique}  {values}"
