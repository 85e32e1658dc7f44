"""``punkgen traits check`` shows depth (issue 32): the drawing order, the values that draw each part, and how many
planned tokens each ``[[depth]]`` override switches on for; its layer warnings read a split value whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import REPO, run_cli
from depth_art import ART, EARRING_OVER_LONG_HAIR, ORDER, TABLES, art_path, trait_folder
from PIL import Image

from generator.config import load_config
from generator.plan.plan import plan_collection
from generator.plan.rules import compile_rules
from generator.plan.traits import load_traits


def checked(config: Path) -> tuple[list[str], list[str]]:
    result = run_cli("traits", "check", "--config", config)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    return [line for line in lines if not line.startswith("warning: ")], [line for line in lines if line.startswith("warning: ")]


def long_haired_in_plan(config_path: Path) -> int:
    config = load_config(config_path)
    tables = load_traits(config)
    hair = next(i for i, table in enumerate(tables) if table.key == "hair")
    plan = plan_collection(tables, compile_rules(config.rules, tables), 24, 7, "weighted", 1)
    return sum(tables[hair].values[token.combo[hair]].name == "Long" for token in plan)


def test_traits_check_shows_the_parts_and_each_override_with_its_planned_tokens(tmp_path: Path) -> None:
    config = trait_folder(tmp_path, depth=EARRING_OVER_LONG_HAIR)
    lines, _ = checked(config)
    assert "depth: drawn bottom first as background, hat:back, head, earring, hair, hat" in lines
    assert "  hat:back: drawn by Cap; the others draw nothing there" in lines
    hits = long_haired_in_plan(config)
    assert 0 < hits < 24
    assert f"  [[depth]] #1: when hair = Long: earring above hair ({hits} of 24 planned tokens)" in lines
    assert f"layers: {len(ART)} files checked in {tmp_path / 'layers'}" in lines  # the hat's back counted


def test_a_collection_without_depth_reports_as_before() -> None:
    lines, _ = checked(REPO / "traits" / "collection.toml")
    assert not any(line.startswith("depth:") for line in lines)


def test_an_override_the_rules_never_switch_on_is_a_warning(tmp_path: Path) -> None:
    rule = '[[rules]]\nwhen = { hair = "Long" }\nforbid = { earring = "Gold" }\n\n'
    lift = '[[depth]]\nwhen = { hair = "Long", earring = "Gold" }\nmove = "earring"\nabove = "hair"\n'
    _, warnings = checked(trait_folder(tmp_path, depth=rule + lift))
    assert [warning for warning in warnings if "[[depth]]" in warning] == [
        f"warning: {tmp_path / 'collection.toml'}: [[depth]] #1 (when hair = Long and earring = Gold: earring above hair) "
        "switches on for none of the 24 planned tokens; check its `when` against the rules and weights"
    ]


def test_a_value_drawn_only_in_a_part_is_not_said_to_draw_nothing_and_a_parts_colours_are_checked(tmp_path: Path) -> None:
    """The variant: a hood drawn only behind the head (its main file empty), and a part with a colour off the palette."""
    art = ART | {("hat", "", "Hood"): [], ("hat", "back", "Hood"): [(3, 5, 20, 19, 41, 255)]}
    tables = {key: values for key, values in TABLES.items() if key != "hat"} | {"hat": ["Cap", "Hood"]}
    config = trait_folder(tmp_path, ORDER, art=art, tables=tables)
    off = art_path(tmp_path, "hat", "back", "Cap")
    with Image.open(off) as image:
        pixels = np.asarray(image).copy()
    pixels[2, 4] = (1, 2, 3, 255)  # a colour the palette lacks
    Image.fromarray(pixels, "RGBA").save(off)
    _, warnings = checked(config)
    assert not any("Hood" in warning for warning in warnings), warnings
    assert [warning.split(" (ΔE")[0] for warning in warnings] == [
        f"warning: {off}: 1 colour not in {tmp_path / 'palette.hex'}: #010203"
    ]


def test_a_value_covered_wherever_it_draws_is_a_warning(tmp_path: Path) -> None:
    """A cap with no brim whose back lies inside the head: every token with the cap shows no hat, and looks like one
    without it. The only warning is the cap's; the earring, drawn under the hair but beside it, shows."""
    art = {**ART, ("hat", "", "Cap"): [], ("hat", "back", "Cap"): [(15, 8, 20, 12, 41, 255)]}
    _, warnings = checked(trait_folder(tmp_path, art=art))
    hidden = [warning for warning in warnings if "never shows" in warning]
    assert hidden == [
        f"warning: {art_path(tmp_path, 'hat', 'back', 'Cap')}: hat 'Cap' never shows in the planned tokens that wear "
        "it: every pixel it draws is covered by a later layer; draw it where it shows, or move its part up in [traits].order"
    ]


def test_a_value_an_override_buries_is_a_warning_and_one_it_lifts_is_not(tmp_path: Path) -> None:
    """The check follows each token's own order: a gold earring inside the face shows in the default order, and is
    covered once an override draws it under the head for every token that wears it."""
    art = {**ART, ("earring", "", "Gold"): [(14, 8, 17, 10, 50, 255)]}
    bury = '[[depth]]\nwhen = { earring = "Gold" }\nmove = "earring"\nbelow = "head"\n'
    _, shown = checked(trait_folder(tmp_path / "shown", art=art))
    _, buried = checked(trait_folder(tmp_path / "buried", art=art, depth=bury))
    assert not [warning for warning in shown if "never shows" in warning]
    assert [warning for warning in buried if "never shows" in warning] == [
        f"warning: {art_path(tmp_path / 'buried', 'earring', '', 'Gold')}: earring 'Gold' never shows in the planned "
        "tokens that wear it: every pixel it draws is covered by a later layer; draw it where it shows, or move its "
        "part up in [traits].order"
    ]


def test_an_animated_value_covered_in_its_first_frame_only_is_not_warned_about(tmp_path: Path) -> None:
    """Judged on frame 0, a strip whose back hides inside the head first and rises above it next would be flagged."""
    art = {**ART, ("hat", "", "Cap"): []}
    config = trait_folder(tmp_path, art=art)
    strip = np.zeros((24, 48, 4), dtype=np.uint8)
    strip[15:20, 8:12] = strip[2:5, 28:44] = Image.open(art_path(tmp_path, "hat", "back", "Cap")).convert("RGBA").getpixel((4, 2))
    Image.fromarray(strip).save(art_path(tmp_path, "hat", "back", "Cap"))
    lines, warnings = checked(config)
    assert any(line.startswith("animation: strips hat:back 'Cap' (2)") for line in lines), lines
    assert not [warning for warning in warnings if "never shows" in warning]
