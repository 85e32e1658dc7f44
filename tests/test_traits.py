"""Every way a creator's trait tables, settings files and layers can go wrong: decoded or refused in one line,
checked for what the rules do to rarity, and warned about what the quality filter will reject."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import collection_args, edit, refused, run_cli
from PIL import Image

from generator.config import load_config
from generator.preflight.report import DRIFT_MARK, check_traits, report_lines, warning_lines


def check_refused(config_path: Path) -> str:
    return refused("traits", "check", "--config", config_path)


def checked(config_path: Path) -> tuple[list[str], list[str]]:
    """``traits check`` as the CLI will print it: the report lines and the warning lines."""
    result = run_cli("traits", "check", "--config", config_path)
    assert result.exit_code == 0, result.output
    report = check_traits(load_config(config_path))
    return report_lines(report), warning_lines(report)


def row_of(lines: list[str], name: str) -> str:
    return next(line for line in lines if line.startswith(f"  {name} "))


# ── 5. values: any printable text when the row names its layer; headers in any case ──────────────


def test_values_with_accents_and_commas_reach_the_metadata(config_path: Path, tmp_path: Path) -> None:
    table = config_path.parent / "hair.csv"
    table.write_text(
        " Value , WEIGHT,Prompt,Layer\n"
        '"Cap, Red",50,red cap,Red Cap.png\n'
        "Café Crème,50,brown hair,Messy Brown.png\n"
        "Hoodie,1,grey hoodie,\n"
    )
    out = tmp_path / "out"
    result = run_cli(*collection_args(config_path, out, 20))
    assert result.exit_code == 0, result.output
    hair = [
        next(a["value"] for a in json.loads(path.read_text(encoding="utf-8"))["attributes"] if a["trait_type"] == "Hair")
        for path in sorted((out / "metadata").iterdir())
    ]
    assert {"Cap, Red", "Café Crème"} <= set(hair)


def test_a_value_that_is_not_a_safe_file_name_needs_a_layer_column(config_path: Path) -> None:
    edit(config_path.parent / "mouth.csv", "Frown,14,frown", "Frown/Grin,14,frown")
    line = check_refused(config_path)
    assert "mouth.csv line 4: value 'Frown/Grin' cannot name a layer file" in line
    assert "or give the row a `layer` file name" in line


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("No\u00a0Smile", "U+00A0 (NO-BREAK SPACE)"), ("Smile\u200b", "U+200B (ZERO WIDTH SPACE)"), ("Sm\x07ile", "U+0007")],
)
def test_invisible_characters_in_values_are_named(config_path: Path, cell: str, expected: str) -> None:
    (config_path.parent / "mouth.csv").write_text(f"value,weight,prompt,layer\n{cell},1,smile,Smile.png\n")
    line = check_refused(config_path)
    assert "mouth.csv line 2" in line and expected in line and "retype the value" in line


def test_a_row_without_a_value_is_refused(config_path: Path) -> None:
    edit(config_path.parent / "mouth.csv", "Frown,14,frown", ",14,frown")
    assert "mouth.csv line 4: the value is empty" in check_refused(config_path)


def test_values_differing_only_in_case_are_refused(config_path: Path) -> None:
    edit(config_path.parent / "hair.csv", "Bald,4,bald head", "Bald,4,bald head\nbald,1,shaved head")
    line = check_refused(config_path)
    assert "hair.csv lines 28 and 29: values 'Bald' and 'bald' differ only in case" in line


def test_layers_differing_only_in_case_are_refused(config_path: Path) -> None:
    (config_path.parent / "mouth.csv").write_text("value,weight,prompt,layer\nSmile,1,smile,Smile.png\nGrin,1,grin,smile.png\n")
    assert "mouth.csv lines 2 and 3: layers 'Smile.png' and 'smile.png' differ only in case" in check_refused(config_path)


def test_spreadsheet_leftovers_are_accepted(config_path: Path) -> None:
    """Excel keeps empty trailing columns of formatted cells: ``value,weight,prompt,,`` and ``Smile,24,smile,,``."""
    table = config_path.parent / "mouth.csv"
    table.write_text("\n".join(line + ",," for line in table.read_text().splitlines()) + "\n")
    lines, _ = checked(config_path)
    assert row_of(lines, "Smile").split()[1] == "24"
    edit(table, "Smile,24,smile,,", "Smile,24,smile,,oops")
    assert "mouth.csv line 3: 'oops' is in a column without a name" in check_refused(config_path)


def test_repeated_columns_are_refused(config_path: Path) -> None:
    edit(config_path.parent / "mouth.csv", "value,weight,prompt", "value,weight,prompt,Weight")
    assert "mouth.csv line 1: column(s) weight appear more than once" in check_refused(config_path)


def test_a_rule_names_an_accented_value_in_either_unicode_form(config_path: Path) -> None:
    (config_path.parent / "mouth.csv").write_text("value,weight,prompt,layer\nNeutral,1,neutral,\nCafe\u0301,1,smile,Smile.png\n")
    edit(config_path, 'forbid = { mouth = ["Smile", "Frown"] }', 'forbid = { mouth = ["Caf\u00e9"] }')
    lines, _ = checked(config_path)  # the table spelled it decomposed (macOS), the rule composed
    assert row_of(lines, "Café")


# ── 3. rarity: configured against expected shares, values the rules remove, quotas they break ─────


def test_the_report_shows_what_the_shipped_rules_do_to_rarity(config_path: Path) -> None:
    lines, warnings = checked(config_path)
    assert lines[0].endswith("6 traits, 3 rules, 586,320 distinct valid trait sets")
    assert row_of(lines, "Medical Mask") == f"  {'Medical Mask':<24} {5:>8}    5.00% →   2.16%  {DRIFT_MARK}"
    assert row_of(lines, "Vape").endswith(f"5.00% →   3.34%  {DRIFT_MARK}")
    assert row_of(lines, "Neutral").endswith("40.00% →  42.92%")  # gains what the mask takes, but by less than the threshold
    assert row_of(lines, "Slate") == f"  {'Slate':<24} {14:>8}   14.58% →  14.58%"  # no rule touches backgrounds
    assert [w.split("'")[1] for w in warnings] == ["Pipe", "Medical Mask", "Vape"]
    mask = warnings[1]
    assert "configured at 5.00% but a 100-token plan holds about 2.16% because of [[rules]] #2" in mask
    assert "raise its weight in" in mask and "accessory.csv to about 11.6" in mask
    assert lines[-1].startswith("layers: 66 files checked in")


def test_a_contradictory_pair_of_rules_is_an_error_naming_the_value_file_and_rules(config_path: Path, tmp_path: Path) -> None:
    config_path.write_text(
        config_path.read_text()
        + '\n[[rules]]\nwhen = { type = "Alien" }\nrequire = { eyes = ["Visor"] }\n'
        + '\n[[rules]]\nwhen = { type = "Alien" }\nforbid = { eyes = ["Visor"] }\n'
    )
    line = check_refused(config_path)
    assert re.search(
        r"type.csv: type value 'Alien' has weight 3 but can never appear: \[\[rules\]\] #4, #5 together exclude it", line
    )
    assert "relax those rules or set its weight to 0" in line
    assert refused(*collection_args(config_path, tmp_path / "out")) == line


def test_a_chain_of_requires_that_removes_a_value_names_only_its_links(config_path: Path) -> None:
    config_path.write_text(
        config_path.read_text()
        + '\n[[rules]]\nwhen = { hair = "Bandana" }\nrequire = { eyes = "Visor" }\n'
        + '\n[[rules]]\nwhen = { eyes = "Visor" }\nrequire = { mouth = "Smile" }\n'
        + '\n[[rules]]\nwhen = { mouth = "Smile" }\nforbid = { hair = "Bandana" }\n'
    )
    assert "hair value 'Bandana' has weight 3 but can never appear: [[rules]] #4, #5, #6 together exclude it" in check_refused(
        config_path
    )


def test_one_rule_can_remove_a_value_on_its_own(config_path: Path) -> None:
    config_path.write_text(config_path.read_text() + '\n[[rules]]\nwhen = { hair = "Bald" }\nforbid = { hair = "Bald" }\n')
    assert "hair value 'Bald' has weight 4 but can never appear: [[rules]] #4 excludes it" in check_refused(config_path)


def test_drift_from_drawing_distinct_sets_near_capacity_is_explained(config_path: Path) -> None:
    for table in ("background", "type", "hair", "eyes", "mouth"):
        path = config_path.parent / f"{table}.csv"
        path.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")  # two values each
    edit(config_path, "size = 100", "size = 150")
    text = config_path.read_text()
    start = text.index("[[rules]]")
    config_path.write_text(text[:start] + text[text.index("[prompt]") :])  # no rules: only distinctness moves shares
    lines, warnings = checked(config_path)
    assert "256 distinct valid trait sets" in lines[0]
    none = row_of(lines, "None")
    assert none.startswith(f"  {'None':<24} {50:>8}   50.00% →") and none.endswith(DRIFT_MARK)
    assert float(none.split("→")[1].split("%")[0]) < 40  # 150 of 256 sets: None's 32 sets fill, the others catch up
    assert any("None' is configured at 50.00%" in w and "distinct sets of only 256" in w for w in warnings)


def test_exact_quotas_below_one_token_are_warned_about(config_path: Path) -> None:
    edit(config_path, 'sampling = "weighted"', 'sampling = "exact"')
    edit(config_path, "size = 100", "size = 20")
    _, warnings = checked(config_path)
    gold = next(w for w in warnings if "'Gold'" in w)  # 2 of 96 × 20 = 0.42 tokens, and largest remainders go elsewhere
    assert "background 'Gold' is configured at 2.08% but a 20-token plan holds about 0.00% (0 of 20 tokens)" in gold


# ── 4. a plan too big for memory is refused before it is built ────────────────────────────────────


def test_a_billion_tokens_within_capacity_are_refused_by_memory_not_oom(config_path: Path, tmp_path: Path) -> None:
    for table in ("background", "type", "hair", "eyes", "mouth", "accessory"):
        values = "\n".join(f"V{i},1,value {i},None.png" for i in range(40))
        (config_path.parent / f"{table}.csv").write_text(f"value,weight,prompt,layer\n{values}\n")
    text = config_path.read_text()
    config_path.write_text(text[: text.index("[[rules]]")] + text[text.index("[prompt]") :])
    for trait in ("background", "type", "hair", "eyes", "mouth"):
        (config_path.parent / "layers" / trait / "None.png").write_bytes(
            (config_path.parent / "layers" / "background" / "Mint.png").read_bytes()
            if trait == "background"
            else (config_path.parent / "layers" / "accessory" / "None.png").read_bytes()
        )
    line = refused(*collection_args(config_path, tmp_path / "out", 10**9))
    assert "a collection of 1,000,000,000 tokens needs about 224.0 GB of memory just to plan (weighted sampling)" in line
    assert re.search(r"lower N to at most [\d,]+$", line)
    assert not (tmp_path / "out").exists()


# ── 2. layers the quality filter will reject, or the palette snap will change: warnings, not errors ─


def redraw(config_path: Path, layer: str, change) -> None:
    """Edit one layer's RGBA pixels in place."""
    path = config_path.parent / "layers" / layer
    pixels = np.asarray(Image.open(path).convert("RGBA")).copy()
    change(pixels)
    Image.fromarray(pixels).save(path)


def fill_transparent_with_own_colour(pixels: np.ndarray) -> None:
    pixels[pixels[..., 3] < 255] = pixels[pixels[..., 3] == 255][0]  # a colour of the layer: in the palette


def layer_warning(warnings: list[str], layer: str) -> str:
    return next(w for w in warnings if f"layers/{layer}:" in w)


def test_an_opaque_layer_is_warned_about_and_its_tokens_are_rejected(config_path: Path, tmp_path: Path) -> None:
    redraw(config_path, "hair/Hoodie.png", fill_transparent_with_own_colour)
    _, warnings = checked(config_path)
    warning = layer_warning(warnings, "hair/Hoodie.png")
    assert warning.startswith("warning: ") and "is fully opaque, so it hides every layer below it, the background too" in warning
    assert "the quality filter rejects every token with hair 'Hoodie'" in warning
    edit(config_path.parent / "hair.csv", "Hoodie,3,", "Hoodie,3000,")  # the warning tells the truth: every such token fails
    run_cli(*collection_args(config_path, tmp_path / "out", 10))
    rejects = (tmp_path / "out" / "rejects.csv").read_text()
    manifest = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    hooded = [r for r in manifest if r.get("traits", {}).get("hair") == "Hoodie"]
    assert hooded and all(r["verdict"] != "accepted" for r in hooded), rejects


def test_a_layer_painting_most_of_the_canvas_or_the_edges_is_warned_about(config_path: Path) -> None:
    def cover_all_but_two_rows(pixels: np.ndarray) -> None:
        pixels[:22] = pixels[pixels[..., 3] == 255][0]

    def frame(pixels: np.ndarray) -> None:
        colour = pixels[pixels[..., 3] == 255][0]
        pixels[0, :] = pixels[:, 0] = pixels[:, -1] = colour

    redraw(config_path, "hair/Bandana.png", cover_all_but_two_rows)
    redraw(config_path, "eyes/Visor.png", frame)
    _, warnings = checked(config_path)
    assert "paints 92% of the canvas, above [quality].max_coverage 80%" in layer_warning(warnings, "hair/Bandana.png")
    assert "of the top and side edges, where [quality].min_background_uniformity 60% needs the background" in layer_warning(
        warnings, "eyes/Visor.png"
    )
    edit(config_path, "enabled = true", "enabled = false")  # no filter, nothing it would reject
    _, warnings = checked(config_path)
    assert not any("layers/" in w for w in warnings)


def test_a_layer_that_draws_nothing_is_warned_about_unless_it_is_none(config_path: Path) -> None:
    Image.new("RGBA", (24, 24)).save(config_path.parent / "layers" / "accessory" / "Earring.png")
    _, warnings = checked(config_path)
    assert "draws nothing, so tokens with accessory 'Earring' show no accessory" in layer_warning(
        warnings, "accessory/Earring.png"
    )
    assert not any("accessory/None.png" in w for w in warnings)


def test_layer_colours_missing_from_the_palette_are_named_with_their_distance(config_path: Path) -> None:
    def magenta_and_near_miss(pixels: np.ndarray) -> None:
        pixels[20:22, 10:12] = [255, 0, 255, 255]
        near = pixels[pixels[..., 3] == 255][0].copy()
        near[0] = near[0] + 1 if near[0] < 255 else 254  # one level off a palette colour
        pixels[0, 0] = near

    redraw(config_path, "accessory/Mole.png", magenta_and_near_miss)
    _, warnings = checked(config_path)
    warning = layer_warning(warnings, "accessory/Mole.png")
    assert re.search(
        r"2 colours not in \S*palette.hex: #ff00ff \(ΔE 5\d\.\d from #[0-9a-f]{6}\), #[0-9a-f]{6} \(ΔE 0\.\d", warning
    )
    assert "beyond ΔE 12 the trait check rejects diffusion tokens with it (trait_accessory)" in warning
    edit(config_path, 'palette = "palette.hex"', 'palette = ""')  # no palette, nothing to snap to
    _, warnings = checked(config_path)
    assert not any("Mole.png" in w for w in warnings)


def test_a_layer_with_more_colours_than_the_filter_allows_is_warned_about(config_path: Path) -> None:
    def rainbow(pixels: np.ndarray) -> None:
        pixels[10, :, :3] = np.arange(24)[:, None] * [10, 3, 7]
        pixels[11, :, :3] = np.arange(24)[:, None] * [3, 10, 7]
        pixels[10:12, :, 3] = 255

    redraw(config_path, "mouth/Open.png", rainbow)
    _, warnings = checked(config_path)
    counted = re.search(r"layers/mouth/Open.png: has (\d+) colours, above \[quality\].max_colors 40", "\n".join(warnings))
    assert counted and int(counted.group(1)) >= 47  # 2 × 24 ramps sharing black


def test_sprites_are_composited_as_pillow_composites_them_with_partial_alpha_or_without(config_path: Path) -> None:
    """The sprite renderer copies opaque pixels where a block's layers are pixel art (alpha 0 or 255) and blends where
    a layer is anti-aliased: either way each token is what Pillow's ``alpha_composite`` makes of its layers."""
    from generator.plan.traits import load_traits
    from generator.render.layers import layer_path, load_layers

    config = load_config(config_path)
    tables = load_traits(config)
    hair = next(position for position, table in enumerate(tables) if table.key == "hair")
    crisp, soft = tables[hair].enabled_indices[:2]
    soft_path = layer_path(config, tables[hair], soft)
    rgba = np.asarray(Image.open(soft_path).convert("RGBA")).copy()
    rgba[..., 3] = np.where(rgba[..., 3] > 0, np.linspace(40, 255, rgba.shape[1], dtype=np.uint8)[None, :], 0)
    Image.fromarray(rgba).save(soft_path)
    rng = np.random.default_rng(3)
    combos = np.array([[rng.choice(table.enabled_indices) for table in tables] for _ in range(30)])
    combos[:, hair] = [crisp] * 15 + [soft] * 15
    layers = load_layers(config, tables)
    for block in (combos[:15], combos):  # pixel art only; then a block with the anti-aliased layer
        for combo, token in zip(block, layers.composite(block), strict=True):
            images = [Image.open(layer_path(config, table, i)).convert("RGBA") for table, i in zip(tables, combo, strict=True)]
            expected = images[0]
            for image in images[1:]:
                expected = Image.alpha_composite(expected, image)
            assert np.array_equal(token, np.asarray(expected.convert("RGB"))), combo
