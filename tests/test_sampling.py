"""The plan: distinct trait sets, rules never broken, exact quotas exact, everything a function of the seed."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from pathlib import Path

import pytest
from conftest import edit

from generator.config import load_config
from generator.errors import UserError
from generator.plan import plan as sampling
from generator.plan import rules as rules_module
from generator.plan.plan import exact_counts, expected_shares, plan_collection, token_seed
from generator.plan.rules import analyse, compile_rules, count_valid, is_valid
from generator.plan.traits import load_traits


def plan(config_path: Path, size: int, seed: int = 42, mode: str | None = None):
    config = load_config(config_path)
    tables = load_traits(config)
    rules = compile_rules(config.rules, tables)
    tokens = plan_collection(tables, rules, size, seed, mode or config.traits.sampling, first_token_id=1)
    return tables, rules, tokens


def value_counts(tables, tokens, trait: int) -> list[int]:
    counts = Counter(token.combo[trait] for token in tokens)
    return [counts[i] for i in range(len(tables[trait].values))]


@pytest.mark.parametrize("mode", ["weighted", "exact"])
def test_tokens_are_distinct_and_obey_rules(config_path: Path, mode: str) -> None:
    tables, rules, tokens = plan(config_path, 3000, mode=mode)
    combos = [token.combo for token in tokens]
    assert len(set(combos)) == 3000
    assert all(is_valid(combo, rules) for combo in combos)
    hair, accessory, mouth = (next(i for i, t in enumerate(tables) if t.key == key) for key in ("hair", "accessory", "mouth"))
    names = [{t.key: t.values[c[i]].name for i, t in enumerate(tables)} for c in combos]
    assert not any(n["hair"] == "Hoodie" and n["accessory"] == "Earring" for n in names)
    assert all(n["mouth"] == "Neutral" for n in names if n["accessory"] == "Medical Mask")
    assert any(n["accessory"] == "Medical Mask" for n in names), "the rule must not simply remove the value"
    assert [token.token_id for token in tokens] == list(range(1, 3001))


def test_exact_counts_follow_the_weights_exactly(config_path: Path) -> None:
    tables, _, tokens = plan(config_path, 1000, mode="exact")
    for trait, table in enumerate(tables):
        expected = exact_counts([value.weight for value in table.values], 1000)
        assert value_counts(tables, tokens, trait) == expected, table.key
    background = tables[0]
    assert [v.name for v in background.values][:3] == ["Slate", "Mint", "Peach"]
    assert value_counts(tables, tokens, 0)[:3] == [146, 125, 125]  # 14/96, 12/96, 12/96 of 1000, largest remainder


def test_largest_remainder() -> None:
    assert exact_counts([1, 1, 1], 10) == [4, 3, 3]
    assert exact_counts([3, 0, 1], 8) == [6, 0, 2]
    assert exact_counts([2, 1], 1) == [1, 0]
    assert sum(exact_counts([0.3, 0.7, 5, 11], 997)) == 997


def test_weighted_shares_approach_the_weights(config_path: Path) -> None:
    tables, _, tokens = plan(config_path, 5000)
    shares = [count / 5000 for count in value_counts(tables, tokens, 1)]  # type
    for share, expected in zip(shares, tables[1].shares(), strict=True):
        assert abs(share - expected) < 0.025


def test_zero_weight_disables_a_value(config_path: Path) -> None:
    edit(config_path.parent / "eyes.csv", "Brown,30,", "Brown,0,")
    tables, _, tokens = plan(config_path, 2000)
    assert value_counts(tables, tokens, 3)[0] == 0
    _, _, exact = plan(config_path, 2000, mode="exact")
    assert value_counts(tables, exact, 3)[0] == 0


def test_same_seed_same_plan_other_seed_other_plan(config_path: Path) -> None:
    assert plan(config_path, 500, seed=7)[2] == plan(config_path, 500, seed=7)[2]
    assert plan(config_path, 500, seed=7)[2] != plan(config_path, 500, seed=8)[2]


def test_weighted_prefix_is_stable_when_n_grows(config_path: Path) -> None:
    """Raising N appends tokens; the first ones keep their traits."""
    assert plan(config_path, 300)[2] == plan(config_path, 600)[2][:300]


def small_tables(config_path: Path) -> None:
    """Shrink the space to 2·2·2·2·2·2 = 64 sets under the first two shipped rules (the third names values gone here)."""
    text = config_path.read_text()
    third = text.index("[[rules]]", text.index("[[rules]]", text.index("[[rules]]") + 1) + 1)
    config_path.write_text(text[:third] + text[text.index("[prompt]") :])
    for table, rows in {
        "background": ["Mint,1,", "Gold,5,"],
        "type": ["Light,1,", "Ape,1,"],
        "hair": ["Hoodie,1,", "Bald,1,"],
        "eyes": ["Blue,1,", "Shades,1,"],
        "mouth": ["Neutral,1,", "Smile,1,"],
        "accessory": ["Earring,1,", "Medical Mask,9,"],
    }.items():
        (config_path.parent / f"{table}.csv").write_text("value,weight,prompt\n" + "\n".join(rows) + "\n")


def test_capacity_counts_rules(config_path: Path) -> None:
    small_tables(config_path)
    config = load_config(config_path)
    tables = load_traits(config)
    # Hoodie+Earring removes 16 sets; Medical Mask with Smile removes 16; both overlap in none (Earring ≠ Mask)
    assert count_valid(tables, compile_rules(config.rules, tables)) == 64 - 16 - 16


@pytest.mark.parametrize("size", [20, 32])
def test_near_capacity_draws_from_the_valid_sets(config_path: Path, size: int) -> None:
    small_tables(config_path)
    tables, rules, tokens = plan(config_path, size)
    assert len({token.combo for token in tokens}) == size
    assert all(is_valid(token.combo, rules) for token in tokens)
    gold = sum(token.combo[0] == 1 for token in tokens)
    assert gold == 16 if size == 32 else gold >= 13  # Gold weighs 5 against Mint's 1; uniform draws would give ~10 of 20


def test_exact_quotas_that_rules_make_impossible(config_path: Path) -> None:
    small_tables(config_path)
    edit(config_path.parent / "background.csv", "Gold,5,", "Gold,1,")  # else Gold's quota (17) outgrows its 16 sets first
    # Medical Mask is 90% of accessories but needs a Neutral mouth, which is only half the mouths
    with pytest.raises(UserError) as refused:
        plan(config_path, 20, mode="exact")
    assert str(refused.value).startswith(
        "sampling = \"exact\": accessory 'Medical Mask' has a quota of 18 tokens but under [[rules]] #2 it may appear "
        "only with mouth 'Neutral', whose quotas add up to 10; "
    )


def test_n_above_capacity_is_refused(config_path: Path) -> None:
    small_tables(config_path)
    with pytest.raises(UserError, match="needs 33 distinct trait sets but the tables and rules allow only 32"):
        plan(config_path, 33)


def test_token_seeds_differ_by_token_and_attempt_and_are_stable() -> None:
    seeds = {token_seed(42, token, attempt) for token in range(1, 101) for attempt in range(4)}
    assert len(seeds) == 400
    assert all(0 <= seed < 2**32 for seed in seeds)  # AUTOMATIC1111's limit
    assert token_seed(42, 1, 0) == 3908244155  # pinned: a changed derivation would re-render every collection


def test_exact_quota_above_the_sets_that_hold_a_value_is_named(config_path: Path) -> None:
    small_tables(config_path)
    edit(config_path.parent / "accessory.csv", "Medical Mask,9,", "Medical Mask,1,")
    edit(config_path.parent / "background.csv", "Gold,5,", "Gold,50,")
    # Gold is 50/51 of 30 tokens = 29, but only 16 of the 32 valid sets hold it
    with pytest.raises(
        UserError, match=r"background 'Gold' has a quota of 29 tokens but the tables and \[\[rules\]\] allow only 16"
    ):
        plan(config_path, 30, mode="exact")


def test_a_row_exact_sampling_cannot_repair_is_named(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sampling, "REPAIR_SWAPS_PER_ROW", 0)  # every repair fails: the first bad row is reported
    with pytest.raises(UserError) as refused:
        plan(config_path, 500, mode="exact")
    message = str(refused.value)
    assert message.startswith('sampling = "exact" cannot meet every quota: ')
    assert re.search(r"no swap found to move \w+ '[^']+' off \w+ '[^']+', which \[\[rules\]\] #\d forbids", message) or (
        "the quotas crowd too many tokens onto sets like (background '" in message
    )


def brute_force(tables, rules):
    """Capacity, valid sets per value and one draw's law, by visiting every set (small tables only)."""
    counts = [[0] * len(t.values) for t in tables]
    mass = [[0.0] * len(t.values) for t in tables]
    shares = [t.shares() for t in tables]
    capacity = 0
    for combo in itertools.product(*(t.enabled_indices for t in tables)):
        if is_valid(combo, rules):
            capacity += 1
            weight = math.prod(shares[t][i] for t, i in enumerate(combo))
            for t, i in enumerate(combo):
                counts[t][i] += 1
                mass[t][i] += weight
    total = sum(mass[0])
    return capacity, counts, [[m / total for m in row] for row in mass]


@pytest.mark.parametrize("chunk", [rules_module.CHUNK_CELLS, 3])
def test_analyse_equals_visiting_every_set(config_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """Chunked (3 cells a step: the leading traits loop) or whole, the counts and the law are exact."""
    monkeypatch.setattr(rules_module, "CHUNK_CELLS", chunk)
    for name, keep in {"background": 3, "type": 3, "hair": 27, "eyes": 3, "mouth": 6, "accessory": 8}.items():
        path = config_path.parent / f"{name}.csv"
        path.write_text("\n".join(path.read_text().splitlines()[: keep + 1]) + "\n")
    config_path.write_text(
        config_path.read_text() + '\n[[rules]]\nwhen = { type = "Light", eyes = "Blue" }\nforbid = { hair = "Bald" }\n'
    )
    config = load_config(config_path)
    tables = load_traits(config)
    rules = compile_rules(config.rules, tables)
    support = analyse(tables, rules)
    capacity, counts, law = brute_force(tables, rules)
    assert support.capacity == capacity == count_valid(tables, rules)
    assert support.counts == counts
    for ours, theirs in zip(support.law, law, strict=True):
        assert ours == pytest.approx(theirs, abs=1e-12)


def test_rules_over_too_many_combinations_are_refused(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules_module, "MAX_ENUMERATED_CELLS", 1000)
    with pytest.raises(
        UserError, match=r"\[\[rules\]\] mention hair \(27\) × mouth \(6\) × accessory \(8\) = 1,296 combinations"
    ):
        plan(config_path, 10)


def test_expected_shares_match_what_plans_realise(config_path: Path) -> None:
    """Rosén's successive-sampling shares against 1,500 seeded plans (σ ≤ 0.006), far from and near capacity."""
    small_tables(config_path)
    config = load_config(config_path)
    tables = load_traits(config)
    rules = compile_rules(config.rules, tables)
    support = analyse(tables, rules)
    for size in (4, 24):
        expected = expected_shares(tables, rules, size, "weighted", support)
        realised = [[0.0] * len(t.values) for t in tables]
        for seed in range(1500):
            for token in plan_collection(tables, rules, size, seed, "weighted", 1):
                for t, i in enumerate(token.combo):
                    realised[t][i] += 1 / (1500 * size)
        for t in range(len(tables)):
            assert realised[t] == pytest.approx(expected[t], abs=0.02), (size, tables[t].key)
    gold = expected_shares(tables, rules, 24, "weighted", support)[0][1]
    assert support.law[0][1] == pytest.approx(5 / 6) and gold < 0.7  # near capacity the 1:5 weights flatten
    assert expected_shares(tables, rules, 32, "weighted", support)[0][1] == pytest.approx(0.5)  # every valid set once


def test_a_plan_that_would_not_fit_in_memory_is_refused(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sampling, "available_memory", lambda: 10**8)
    with pytest.raises(UserError) as refused:
        plan(config_path, 200_000)
    assert str(refused.value) == (
        "a collection of 200,000 tokens needs about 45 MB of memory just to plan (weighted sampling), "
        "more than the 25 MB allowed (25% of the 100 MB available); lower N to at most 111,607"
    )
