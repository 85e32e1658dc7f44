"""``punkgen traits import --from nftchef``: nftchef's example src/config.js (layers drawn here, incompatible and
forcedCombinations filled in as its docs show) becomes a trait folder that renders as nftchef stacks the layers."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
from conftest import collection_args, edit, refused, run_cli
from importer_art import copy_config, draw_layer, read_table, reference, token_pixels, token_traits

# the example config's layersOrder, bottom first; 'NONE' is its emptyLayerName, 'Helmet' one of its traitValueOverrides
LAYERS = {
    "Background": ["Blue#10.png", "Red#5.png"],
    "Back Accessory": ["NONE#20.png", "Wings#2.png"],
    "Head": ["Round#5.png", "Square#5.png"],
    "Clothes": ["Shirt#5.png", "Coat#5.png"],
    "Eyes": ["Dots#5.png", "Lines#5.png"],
    "Hair": ["Dark Long#5.png", "Short#5.png"],
    "Accessory": ["Helmet#3.png", "z2,Cap#3.png"],
    "Shirt Accessories": ["Pin#5.png", "Tie#5.png"],
}


def nftchef_project(root: Path) -> Path:
    copy_config("nftchef-config.js", root / "src" / "config.js")
    edit(root / "src" / "config.js", '//   Red: ["Dark Long"],', 'Red: ["Dark Long"],')
    edit(root / "src" / "config.js", '// floral: ["MetallicShades", "Golden Sakura"],', 'Square: ["Tie"],')
    for position, (layer, files) in enumerate(LAYERS.items()):
        for number, name in enumerate(files):
            draw_layer(root / "layers" / layer / name, seed=position * 10 + number, opaque=position == 0)
    return root


def test_an_nftchef_project_renders_as_it_stacks_with_its_rules(tmp_path: Path) -> None:
    source = nftchef_project(tmp_path / "chef")
    result = run_cli("traits", "import", source, "--from", "nftchef", "--to", tmp_path / "punks")
    assert result.exit_code == 0, result.output
    written = tomllib.loads((tmp_path / "punks" / "collection.toml").read_text())
    assert written["collection"]["name"] == "Series 2" and written["collection"]["size"] == 10
    assert written["rules"] == [
        {"when": {"background": "Red"}, "forbid": {"hair": ["Dark Long"]}},
        {"when": {"head": "Square"}, "require": {"shirt_accessories": ["Tie"]}},
    ]
    accessory = read_table(tmp_path / "punks" / "accessory.csv")
    assert accessory == {"Space Helmet": (3.0, "Helmet-3.png"), "Cap": (3.0, "z2-Cap-3.png")}
    assert read_table(tmp_path / "punks" / "back_accessory.csv")["None"][0] == 20.0  # emptyLayerName
    for said in ("z-index 2", "background.generate"):
        assert said in result.output

    out = tmp_path / "out"
    ran = run_cli(*collection_args(tmp_path / "punks" / "collection.toml", out, 20))
    assert ran.exit_code == 0, ran.output
    by_value = {(layer, v): source / "layers" / layer / f for layer, fs in LAYERS.items() for f in fs for v in _values(f)}
    for token_id, traits in token_traits(out).items():
        assert not (traits["Background"] == "Red" and traits["Hair"] == "Dark Long")
        assert traits["Head"] != "Square" or traits["Shirt Accessories"] == "Tie"
        stack = [by_value[(layer, traits.get(layer, "None"))] for layer in LAYERS]
        assert np.array_equal(token_pixels(out, token_id), reference(stack)), token_id


def _values(file_name: str) -> list[str]:
    clean = file_name.split(",")[-1].split("#")[0]
    return {"NONE": ["None"], "Helmet": ["Space Helmet"]}.get(clean, [clean])


def test_what_nftchef_does_that_punkgen_cannot_is_refused_naming_the_file(tmp_path: Path) -> None:
    source = nftchef_project(tmp_path / "chef")
    draw_layer(source / "layers" / "Eyes" / "Glow.png", seed=5)  # no weight: nftchef draws it on every token
    assert "Glow.png" in refused("traits", "import", source, "--from", "nftchef", "--to", tmp_path / "punks")
    (source / "layers" / "Eyes" / "Glow.png").unlink()
    draw_layer(source / "layers" / "Hair" / "Long#5" / "front.png", seed=6)  # branching
    assert "Long#5" in refused("traits", "import", source, "--from", "nftchef", "--to", tmp_path / "punks")
    assert not (tmp_path / "punks").exists()


def test_a_rule_naming_no_file_or_an_ambiguous_one_is_refused(tmp_path: Path) -> None:
    source = nftchef_project(tmp_path / "chef")
    edit(source / "src" / "config.js", 'Red: ["Dark Long"],', 'Red: ["Dark Lon"],')
    assert "'Dark Lon'" in refused("traits", "import", source, "--from", "nftchef", "--to", tmp_path / "punks")
    edit(source / "src" / "config.js", 'Red: ["Dark Lon"],', 'Red: ["Dark Long"],')
    draw_layer(source / "layers" / "Eyes" / "Red#1.png", seed=7)
    assert "2 layers (Background, Eyes)" in refused("traits", "import", source, "--from", "nftchef", "--to", tmp_path / "punks")
