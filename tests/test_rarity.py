"""Rarity: the OpenRarity method, checked against the real package's recorded ranks and recomputed from written files."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path

import pytest
from conftest import collection_args, edit, run_cli

from generator.publish.rarity import rank_tokens

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "openrarity_ranks.json").read_text())
COLLECTIONS = {collection["name"]: collection for collection in FIXTURE["collections"]}


def attributes_of(collection: dict) -> dict[int, list[dict[str, str]]]:
    return {int(token_id): attrs for token_id, attrs in collection["attributes"].items()}


@pytest.mark.parametrize("name", sorted(COLLECTIONS))
def test_ranks_equal_the_open_rarity_package(name: str) -> None:
    """Recorded by tests/fixtures/record_openrarity.py from open-rarity itself (its version is in the fixture)."""
    collection = COLLECTIONS[name]
    ours = {token.token_id: token for token in rank_tokens(attributes_of(collection))}
    assert len(ours) == len(collection["openrarity"]) > 0
    for theirs in collection["openrarity"]:
        mine = ours[theirs["token_id"]]
        assert (mine.rank, mine.unique_traits) == (theirs["rank"], theirs["unique_traits"]), theirs["token_id"]
        assert math.isclose(mine.score, theirs["score"], rel_tol=1e-12)


def test_the_fixture_covers_ties_unique_traits_and_missing_traits() -> None:
    """The comparison above means something only if the recorded collections hit every rule of the method."""
    real = COLLECTIONS["or-200"]
    ranks = Counter(row["rank"] for row in real["openrarity"])
    assert any(count > 1 for count in ranks.values()), "tied scores share a rank"
    assert any(row["unique_traits"] for row in real["openrarity"]), "a token with a trait no other has"
    assert len({len(attrs) for attrs in real["attributes"].values()}) > 1, "some tokens lack a trait (Null, trait count)"
    by_rank = sorted(real["openrarity"], key=lambda row: row["rank"])
    assert by_rank[0]["unique_traits"] and by_rank[0]["score"] < max(row["score"] for row in by_rank), (
        "a unique trait outranks a higher score"
    )


def test_a_worked_example() -> None:
    """Four tokens by hand: names and values are normalised, a missing hat is the value Null, and ties share a rank."""
    tokens = {
        1: [{"trait_type": "Hat", "value": "Cap"}, {"trait_type": "Eyes", "value": "Blue"}],
        2: [{"trait_type": "eyes ", "value": " blue"}],
        3: [{"trait_type": "Eyes", "value": "BLUE"}],
        4: [{"trait_type": "Eyes", "value": "Green"}],
    }
    entropy = 3 * -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))  # hat, eyes and trait count: each 1 vs 3 tokens
    ranked = {token.token_id: token for token in rank_tokens(tokens)}
    assert math.isclose(ranked[1].score, (2 + math.log2(4 / 3) + 2) / entropy)  # cap, blue, trait count 2
    assert math.isclose(ranked[4].score, (math.log2(4 / 3) + 2 + math.log2(4 / 3)) / entropy)  # null hat, green, count 1
    assert [(t, ranked[t].rank, ranked[t].unique_traits, ranked[t].trait_count) for t in (1, 4, 2, 3)] == [
        (1, 1, 2, 2),
        (4, 2, 1, 1),
        (2, 3, 0, 1),
        (3, 3, 0, 1),
    ]


def test_none_values_do_not_count_as_traits() -> None:
    ranked = {
        t.token_id: t
        for t in rank_tokens({1: [{"trait_type": "Hat", "value": "None"}], 2: [{"trait_type": "Hat", "value": "Cap"}]})
    }
    assert (ranked[1].trait_count, ranked[2].trait_count) == (0, 1)


def independent_ranks(documents: dict[int, dict]) -> dict[int, int]:
    """OpenRarity's ranks again, written plainly from its description, for the files export wrote."""
    traits = {}
    for token_id, document in documents.items():
        own = {a["trait_type"].strip().lower(): a["value"].strip().lower() for a in document["attributes"]}
        own["meta_trait:trait_count"] = str(sum(v not in ("none", "") for v in own.values()))
        traits[token_id] = own
    names = sorted({name for own in traits.values() for name in own})
    n = len(traits)
    count = Counter((name, own.get(name, "<null>")) for own in traits.values() for name in names)
    entropy = -sum(c / n * math.log2(c / n) for c in count.values())
    score = {
        t: sum(math.log2(n / count[(name, own.get(name, "<null>"))]) for name in names) / entropy for t, own in traits.items()
    }
    unique = {t: sum(count[(name, value)] == 1 for name, value in own.items()) for t, own in traits.items()}
    order = sorted(traits, key=lambda t: (unique[t], score[t]), reverse=True)
    ranks: dict[int, int] = {}
    for position, t in enumerate(order):
        tied = position and math.isclose(score[t], score[order[position - 1]])
        ranks[t] = ranks[order[position - 1]] if tied else position + 1
    return ranks


def test_rarity_csv_is_recomputed_from_the_exported_metadata(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 150)).exit_code == 0
    assert (
        run_cli(
            "export",
            out,
            "--config",
            config_path,
            "--base-uri",
            "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/",
        ).exit_code
        == 0
    )
    documents = {int(p.name): json.loads(p.read_text()) for p in (out / "export" / "metadata").iterdir()}
    with (out / "export" / "rarity.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0])[:5] == ["token_id", "rank", "score", "unique_traits", "trait_count"]
    assert list(rows[0])[5:11] == ["Background", "Type", "Hair", "Eyes", "Mouth", "Accessory"]  # then the methods'
    assert all(column.startswith(("statistical_", "howrare_")) for column in list(rows[0])[11:])
    assert [int(row["rank"]) for row in rows] == sorted(int(row["rank"]) for row in rows), "rarest first"
    assert {int(row["token_id"]): int(row["rank"]) for row in rows} == independent_ranks(documents)
    for row in rows:
        values = {a["trait_type"]: a["value"] for a in documents[int(row["token_id"])]["attributes"]}
        assert row["Accessory"] == values.get("Accessory", "") and int(row["trait_count"]) == len(values)


def test_rarity_command(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    edit(config_path.parent / "type.csv", "Light,22,", "Light,0,")  # a disabled value is not listed
    assert run_cli(*collection_args(config_path, out, 80)).exit_code == 0
    result = run_cli("rarity", out, "--config", config_path, "--top", 3)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    rarest = lines[lines.index("rarest") + 1 : lines.index("rarest") + 4]
    common = lines[lines.index("most common") + 1 : lines.index("most common") + 4]
    assert [line.split()[:2] for line in rarest] == [["rank", "1"], ["rank", "2"], ["rank", "3"]]
    assert common[-1].split()[1] == "80" or common[-1].split()[1] == common[-2].split()[1]
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    nones = sum(record["traits"]["accessory"] == "None" for record in records)
    none_line = next(line for line in lines if line.split()[:1] == ["None"])
    assert none_line.split()[1:4] == ["50.00%", f"{nones / 80:.2%}", str(nones)]
    assert not any(line.split()[:1] == ["Light"] for line in lines)
    assert "Type (" in result.output and "Accessory (" in result.output


def test_rarity_command_refuses_a_folder_that_is_not_a_collection(config_path: Path, tmp_path: Path) -> None:
    result = run_cli("rarity", tmp_path, "--config", config_path)
    assert result.exit_code == 2 and "is not a collection folder" in result.output and "Traceback" not in result.output
