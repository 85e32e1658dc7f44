"""Marketplace rank methods (statistical rarity, HowRare.is plain and normalised) against a collection worked by hand,
their None and trait-count toggles, and what `punkgen rarity` and export/rarity.csv show of them."""

from __future__ import annotations

import csv
import json
import math
from fractions import Fraction as F
from pathlib import Path

from conftest import collection_args, run_cli
from test_one_of_one_attributes import add_legendary

from generator.publish.rank_methods import MARKETPLACE_METHODS, chosen_methods, rank_collection

# Five tokens, N = 5. Token 3 has no hat (None), token 5 is a 1/1 with a trait type nobody else has (Aura).
TOKENS = {
    1: {"Type": "Ape", "Hat": "Cap"},
    2: {"Type": "Ape", "Hat": "Cap"},
    3: {"Type": "Ape"},
    4: {"Type": "Zombie", "Hat": "Cap"},
    5: {"Type": "King", "Hat": "Crown", "Aura": "Gold"},
}
# Counts: Type  Ape 3, Zombie 1, King 1
#         Hat   Cap 3, Crown 1, None 1 (token 3)
#         Aura  Gold 1, None 4
#         trait count ("2" for tokens 1, 2, 4; "1" for token 3; "3" for token 5): 2 → 3, 1 → 1, 3 → 1
ATTRIBUTES = {t: [{"trait_type": k, "value": v} for k, v in traits.items()] for t, traits in TOKENS.items()}


def scored(name: str, none_as_value: bool | None = None, trait_count: bool | None = None) -> tuple[dict, dict]:
    """(scores, ranks) of one method on the hand collection."""
    chosen = chosen_methods(none_as_value, trait_count)
    _, by_method = rank_collection(ATTRIBUTES, chosen)
    ranked = next(ranked for ranked in by_method if ranked.method.name == name)
    return ranked.scores, ranked.ranks


def assert_scores(actual: dict[int, float], expected: dict[int, F]) -> None:
    assert actual.keys() == expected.keys()
    for token_id, value in expected.items():
        assert math.isclose(actual[token_id], float(value), rel_tol=1e-12), (token_id, actual[token_id], value)


def test_the_defaults_are_each_marketplaces() -> None:
    """Magic Eden / MoonRank: None counted, no trait count; HowRare.is: None counted, trait count on."""
    assert [(m.name, m.none_as_value, m.trait_count) for m in MARKETPLACE_METHODS] == [
        ("statistical", True, False),
        ("howrare", True, True),
        ("howrare_normalised", True, True),
    ]


def test_statistical_rarity_by_hand() -> None:
    """Π p over Type, Hat, Aura (a lacking trait is the value None); lower = rarer; ties share a rank (1, 2, 2, 4)."""
    scores, ranks = scored("statistical")
    assert_scores(
        scores,
        {
            1: F(3, 5) * F(3, 5) * F(4, 5),  # Ape, Cap, no aura = 36/125
            2: F(3, 5) * F(3, 5) * F(4, 5),
            3: F(3, 5) * F(1, 5) * F(4, 5),  # Ape, no hat (1 of 5), no aura = 12/125
            4: F(1, 5) * F(3, 5) * F(4, 5),  # Zombie = 12/125: ties with token 3
            5: F(1, 5) * F(1, 5) * F(1, 5),  # the 1/1: 1/125
        },
    )
    assert ranks == {5: 1, 3: 2, 4: 2, 1: 4, 2: 4}


def test_statistical_toggles_by_hand() -> None:
    scores, ranks = scored("statistical", none_as_value=False)  # a None adds a factor 1
    assert_scores(scores, {1: F(9, 25), 2: F(9, 25), 3: F(3, 5), 4: F(3, 25), 5: F(1, 125)})
    assert ranks == {5: 1, 4: 2, 1: 3, 2: 3, 3: 5}, "without None the hatless token is the most common"
    scores, ranks = scored("statistical", trait_count=True)  # × p(trait count): 3/5 for "2", 1/5 for "1" and "3"
    assert_scores(
        scores, {1: F(36, 125) * F(3, 5), 2: F(36, 125) * F(3, 5), 3: F(12, 125) / 5, 4: F(12, 125) * F(3, 5), 5: F(1, 625)}
    )
    assert ranks == {5: 1, 3: 2, 4: 3, 1: 4, 2: 4}, "the trait count breaks the tie of tokens 3 and 4"


def test_howrare_by_hand() -> None:
    """Σ N/count over Type, Hat, Aura and the trait count; higher = rarer."""
    scores, ranks = scored("howrare")
    assert_scores(
        scores,
        {
            1: F(5, 3) + F(5, 3) + F(5, 4) + F(5, 3),  # Ape, Cap, no aura, 2 traits = 25/4
            2: F(25, 4),
            3: F(5, 3) + F(5, 1) + F(5, 4) + F(5, 1),  # no hat (1 of 5), 1 trait (1 of 5) = 155/12
            4: F(5, 1) + F(5, 3) + F(5, 4) + F(5, 3),  # Zombie = 115/12
            5: F(5) + F(5) + F(5) + F(5),  # every value its own = 20
        },
    )
    assert ranks == {5: 1, 3: 2, 4: 3, 1: 4, 2: 4}


def test_howrare_toggles_by_hand() -> None:
    scores, ranks = scored("howrare", trait_count=False)
    assert_scores(scores, {1: F(55, 12), 2: F(55, 12), 3: F(95, 12), 4: F(95, 12), 5: F(15)})
    assert ranks == {5: 1, 3: 2, 4: 2, 1: 4, 2: 4}, "without the trait count tokens 3 and 4 tie"
    scores, ranks = scored("howrare", none_as_value=False)  # no points for a lacking hat or aura
    assert_scores(
        scores,
        {1: F(5, 3) * 3, 2: F(5), 3: F(5, 3) + F(5), 4: F(5) + F(5, 3) + F(5, 3), 5: F(20)},  # 5, 5, 20/3, 25/3, 20
    )
    assert ranks == {5: 1, 4: 2, 3: 3, 1: 4, 2: 4}


def test_howrare_normalised_by_hand() -> None:
    """Σ (the trait's most common count ÷ count): Type 3 (Ape), Hat 3 (Cap), Aura 4 (None), trait count 3 ("2")."""
    scores, ranks = scored("howrare_normalised")
    assert_scores(
        scores,
        {
            1: F(3, 3) + F(3, 3) + F(4, 4) + F(3, 3),  # 4: every value its trait's most common
            2: F(4),
            3: F(3, 3) + F(3, 1) + F(4, 4) + F(3, 1),  # 8
            4: F(3, 1) + F(3, 3) + F(4, 4) + F(3, 3),  # 6
            5: F(3) + F(3) + F(4) + F(3),  # 13: Gold weighs 4, not the 5 of the plain sum
        },
    )
    assert ranks == {5: 1, 3: 2, 4: 3, 1: 4, 2: 4}
    scores, ranks = scored("howrare_normalised", none_as_value=False)  # Aura's most common is now Gold (1)
    assert_scores(scores, {1: F(3), 2: F(3), 3: F(1) + F(3), 4: F(3) + F(1) + F(1), 5: F(3) + F(3) + F(1) + F(3)})
    assert ranks == {5: 1, 4: 2, 3: 3, 1: 4, 2: 4}


def test_every_spelling_of_none_is_one_value() -> None:
    """A "None" or empty value, in any case, is the same value as a lacking trait; names are normalised too."""
    spelled = {
        1: [{"trait_type": "Hat", "value": "None"}, {"trait_type": "Type", "value": "Ape"}],
        2: [{"trait_type": "hat ", "value": ""}, {"trait_type": "Type", "value": "Ape"}],
        3: [{"trait_type": "Type", "value": "ape"}],
        4: [{"trait_type": "Hat", "value": "Cap"}, {"trait_type": "Type", "value": "Ape"}],
    }
    for ranked in rank_collection(spelled, MARKETPLACE_METHODS)[1]:
        assert len({ranked.scores[t] for t in (1, 2, 3)}) == 1, ranked.method.name
        assert ranked.ranks[4] == 1 and {ranked.ranks[t] for t in (1, 2, 3)} == {2}, ranked.method.name


def test_a_one_token_collection_ranks_first_everywhere() -> None:
    openrarity, by_method = rank_collection({7: [{"trait_type": "Hat", "value": "Cap"}]}, MARKETPLACE_METHODS)
    assert [token.rank for token in openrarity] == [1] and all(ranked.ranks == {7: 1} for ranked in by_method)


def test_openrarity_is_the_same_whichever_toggles() -> None:
    plain = rank_collection(ATTRIBUTES, chosen_methods())[0]
    assert plain == rank_collection(ATTRIBUTES, chosen_methods(none_as_value=False, trait_count=False))[0]


# ── through the CLI and the export ────────────────────────────────────────────────────────────────


def table(lines: list[str], heading: str) -> list[list[str]]:
    """The rows (split) of the table under ``heading``, header included, up to the next blank line."""
    start = next(i for i, line in enumerate(lines) if line.startswith(heading)) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return [line.split() for line in lines[start:end]]


def test_the_rarity_command_shows_each_methods_ranks(config_path: Path, tmp_path: Path) -> None:
    add_legendary(config_path, 'Type = "Alien King", Hair = "Crown", "Legend Tier" = "One"')
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 24)).exit_code == 0
    result = run_cli("rarity", out, "--config", config_path, "--top", 4)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    moves = table(lines, "rank moves most between methods")
    assert moves[0] == ["token", "openrarity", "statistical", "howrare", "howrare_normalised", "spread"]
    spreads = [int(row[-1]) for row in moves[1:]]
    assert len(spreads) == 4 and spreads == sorted(spreads, reverse=True) and spreads[0] > 0
    for row in moves[1:]:
        ranks = [int(rank) for rank in row[1:-1]]
        assert int(row[-1]) == max(ranks) - min(ranks)
    assert table(lines, "where the 1/1s land")[1] == ["#3", "1", "1", "1", "1", "0"], "three values nobody else has"
    rarest = {row[0]: row[1:] for row in table(lines, "rarest under each method")}
    assert list(rarest) == ["openrarity", "statistical", "howrare", "howrare_normalised"]
    assert all(ids[0] == "#3" and len(ids) == 4 for ids in rarest.values())
    openrarity_list = lines[lines.index("rarest") + 1 : lines.index("rarest") + 5]
    assert rarest["openrarity"] == [line.split()[2] for line in openrarity_list], "the same order as today's list"

    assert run_cli("export", out, "--config", config_path).exit_code == 0
    with (out / "export" / "rarity.csv").open() as stream:
        rows = {int(row["token_id"]): row for row in csv.DictReader(stream)}
    for row in moves[1:]:  # the file and the command agree
        exported = rows[int(row[0].lstrip("#"))]
        assert [exported["rank"], exported["statistical_rank"], exported["howrare_rank"]] == row[1:4]
        assert exported["howrare_normalised_rank"] == row[4]


def test_the_toggles_reach_the_command(config_path: Path, tmp_path: Path) -> None:
    """``--no-trait-count`` turns the count off in every method: tokens with and without an accessory (None) have
    different counts, so HowRare's ranks move; OpenRarity's and statistical rarity's (count off already) do not."""
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 30)).exit_code == 0
    outputs = [run_cli("rarity", out, "--config", config_path, "--top", 30, *flags) for flags in ((), ("--no-trait-count",))]
    assert all(result.exit_code == 0 for result in outputs), outputs[0].output
    default, no_count = (table(result.output.splitlines(), "rank moves most") for result in outputs)
    by_token = [{row[0]: row[1:-1] for row in rows[1:]} for rows in (default, no_count)]
    assert by_token[0].keys() == by_token[1].keys() and len(by_token[0]) == 30
    assert all(by_token[0][t][:2] == by_token[1][t][:2] for t in by_token[0]), "OpenRarity and statistical unchanged"
    assert any(by_token[0][t][2] != by_token[1][t][2] for t in by_token[0]), "HowRare's ranks moved"
    assert "howrare             sum of 1/frequency; None counted, trait count off" in outputs[1].output


def test_rarity_csv_columns_are_the_old_ones_then_each_methods(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 40)).exit_code == 0
    assert run_cli("export", out, "--config", config_path).exit_code == 0
    with (out / "export" / "rarity.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == [
        *("token_id", "rank", "score", "unique_traits", "trait_count"),
        *("Background", "Type", "Hair", "Eyes", "Mouth", "Accessory"),
        *("statistical_rank", "statistical_score", "howrare_rank", "howrare_score"),
        *("howrare_normalised_rank", "howrare_normalised_score"),
    ]
    statistical, howrare = plain_scores(out / "export" / "metadata")
    for row in rows:
        token_id = int(row["token_id"])
        assert math.isclose(float(row["statistical_score"]), statistical[token_id], rel_tol=1e-5)
        assert math.isclose(float(row["howrare_score"]), howrare[token_id], rel_tol=1e-5)
    by_score = sorted(rows, key=lambda row: float(row["statistical_score"]))
    assert int(by_score[0]["statistical_rank"]) == 1 and all(
        int(a["statistical_rank"]) <= int(b["statistical_rank"]) for a, b in zip(by_score, by_score[1:], strict=False)
    )


def plain_scores(metadata: Path) -> tuple[dict[int, float], dict[int, float]]:
    """Statistical rarity (Π p, None counted) and HowRare (Σ 1/p with the trait count), written plainly from the
    exported token files: a lacking trait is the value None."""
    tokens = {
        int(p.name): {a["trait_type"]: a["value"] for a in json.loads(p.read_text())["attributes"]} for p in metadata.iterdir()
    }
    names = sorted({name for traits in tokens.values() for name in traits})
    n = len(tokens)
    count: dict[tuple[str, str], int] = {}
    for traits in tokens.values():
        for key in [(name, traits.get(name, "None")) for name in names] + [("#", str(len(traits)))]:
            count[key] = count.get(key, 0) + 1
    statistical = {t: math.prod(count[(name, traits.get(name, "None"))] / n for name in names) for t, traits in tokens.items()}
    howrare = {
        t: sum(n / count[(name, traits.get(name, "None"))] for name in names) + n / count[("#", str(len(traits)))]
        for t, traits in tokens.items()
    }
    return statistical, howrare
