"""``punkgen traits import --from hashlips``: a HashLips project (its own example src/config.js, layers drawn here)
becomes a trait folder whose tokens are the source layers composited in layersOrder, with HashLips' weights."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import collection_args, edit, refused, run_cli
from importer_art import copy_config, draw_layer, read_table, reference, token_pixels, token_traits
from PIL import Image

# the layersOrder of HashLips' example config.js, bottom first: value file names as HashLips reads them
LAYERS = {
    "Background Colors": ["Blue#30.png", "Red#10.png"],
    "Body Colors": ["Pale#5.png", "Green.png"],
    "Body": ["Round#2.png", "Tall#2.png"],
    "Eyes": ["Happy#1.5.png", "Sad#3.png", "Wink#1.png"],
    "Mouth": ["Smile#4.png", "Flat#4.png"],
    "Hats": ["Cap#2.png", "Crown#1.png"],
    "Accessories": ["Pipe#1.png", "Ring#2.png"],
}


def hashlips_project(root: Path) -> Path:
    copy_config("hashlips-config.js", root / "src" / "config.js")
    for position, (layer, files) in enumerate(LAYERS.items()):
        for number, name in enumerate(files):
            draw_layer(root / "layers" / layer / name, seed=position * 10 + number, opaque=position == 0)
    return root


def test_a_hashlips_project_renders_as_hashlips_composites_it(tmp_path: Path) -> None:
    source = hashlips_project(tmp_path / "hashlips")
    result = run_cli("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "punks")
    assert result.exit_code == 0, result.output
    config = tomllib.loads((tmp_path / "punks" / "collection.toml").read_text())
    assert config["traits"]["order"] == ["background_colors", "body_colors", "body", "eyes", "mouth", "hats", "accessories"]
    assert config["traits"]["names"]["background_colors"] == "Background Colors"
    assert config["collection"]["size"] == 1000  # growEditionSizeTo
    assert read_table(tmp_path / "punks" / "eyes.csv") == {
        "Happy": (1.5, "Happy-1.5.png"),
        "Sad": (3.0, "Sad-3.png"),
        "Wink": (1.0, "Wink-1.png"),
    }
    assert read_table(tmp_path / "punks" / "body_colors.csv")["Green"][0] == 1.0  # no '#': HashLips' weight 1
    assert "bypassDNA" in result.output  # Body's option is reported, not dropped

    out = tmp_path / "out"
    ran = run_cli(*collection_args(tmp_path / "punks" / "collection.toml", out, 20))
    assert ran.exit_code == 0, ran.output
    files = {
        (layer, name.split("#")[0].removesuffix(".png")): source / "layers" / layer / name
        for layer, names in LAYERS.items()
        for name in names
    }
    for token_id, traits in token_traits(out).items():
        stack = [files[(layer, traits[layer])] for layer in LAYERS]
        assert np.array_equal(token_pixels(out, token_id), reference(stack)), token_id


def test_display_names_blend_and_opacity_are_reported_with_the_choice(tmp_path: Path) -> None:
    source = hashlips_project(tmp_path / "hashlips")
    edit(
        source / "src" / "config.js",
        '{ name: "Eyes" }',
        '{ name: "Eyes", options: { displayName: "Eye Colour", blend: MODE.multiply, opacity: 0.5 } }',
    )
    result = run_cli("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "punks")
    assert result.exit_code == 0, result.output
    written = (tmp_path / "punks" / "collection.toml").read_text()
    assert tomllib.loads(written)["traits"]["names"]["eyes"] == "Eye Colour"
    for said in ("blend MODE.multiply", "opacity 0.5", "bypassDNA"):
        assert said in result.output and said in written  # printed and kept in collection.toml's comment


def test_a_custom_rarity_delimiter_is_followed(tmp_path: Path) -> None:
    source = hashlips_project(tmp_path / "hashlips")
    edit(source / "src" / "config.js", 'const rarityDelimiter = "#";', 'const rarityDelimiter = "_";')
    for old in (source / "layers" / "Hats").iterdir():
        old.rename(old.with_name(old.name.replace("#", "_")))
    assert run_cli("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "punks").exit_code == 0
    assert {value: weight for value, (weight, _) in read_table(tmp_path / "punks" / "hats.csv").items()} == {
        "Cap": 2.0,
        "Crown": 1.0,
    }


def test_several_layer_configurations_are_refused_naming_each_or_one_is_chosen(tmp_path: Path) -> None:
    source = hashlips_project(tmp_path / "hashlips")
    edit(
        source / "src" / "config.js",
        "  },\n];",
        '  },\n  { growEditionSizeTo: 1500, layersOrder: [{ name: "Background Colors" }, { name: "Eyes" }] },\n];',
    )
    line = refused("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "punks")
    assert (
        "config.js" in line
        and "1: editions 1–1000, 7 layers; 2: editions 1001–1500, 2 layers" in line
        and "--configuration" in line
    )
    assert not (tmp_path / "punks").exists()
    result = run_cli("traits", "import", source, "--from", "hashlips", "--configuration", 2, "--to", tmp_path / "punks")
    assert result.exit_code == 0, result.output
    config = tomllib.loads((tmp_path / "punks" / "collection.toml").read_text())
    assert config["traits"]["order"] == ["background_colors", "eyes"] and config["collection"]["size"] == 500
    assert "left out 1: editions 1–1000" in result.output


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda root: (root / "layers" / "Eyes" / "Sad#3.png").rename(root / "layers" / "Eyes" / "Sad#.png"), "Sad#.png"),
        (lambda root: (root / "layers" / "Mouth" / "Flat#4.png").rename(root / "layers" / "Mouth" / "Flat#x.png"), "Flat#x.png"),
        (lambda root: (root / "layers" / "Hats").rename(root / "layers" / "Hat"), "Hats"),
        (
            lambda root: (root / "src" / "config.js").write_text("const layerConfigurations = [ { layersOrder: [ 'a' "),
            "config.js line 1: `layerConfigurations` is not a literal this importer reads (code, or a bracket never closed)",
        ),
        (lambda root: (root / "src" / "config.js").write_text('this is not "javascript'), "config.js line 1"),
        (lambda root: (root / "src" / "config.js").write_text("const layerConfigurations = build();\n"), "config.js line 1"),
        (lambda root: (root / "layers" / "Eyes" / "Wink#1.png").write_bytes(b"not a png"), "Wink#1.png"),
        (lambda root: draw_layer(root / "layers" / "Eyes" / "#5.png", seed=8), "#5.png"),
    ],
)
def test_a_malformed_project_is_one_line_naming_the_file_and_nothing_is_written(tmp_path: Path, damage, named: str) -> None:
    source = hashlips_project(tmp_path / "hashlips")
    damage(source)
    assert named in refused("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "punks")
    assert not (tmp_path / "punks").exists() and [p.name for p in tmp_path.iterdir()] == ["hashlips"]


def test_names_that_sanitise_to_one_and_a_full_target_are_refused(tmp_path: Path) -> None:
    source = hashlips_project(tmp_path / "hashlips")
    draw_layer(source / "layers" / "Eyes" / "Sad?#3.png", seed=99)  # 'Sad?' and 'Sad' are two values, one file name
    assert "Sad-3.png" in refused("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "punks")
    (source / "layers" / "Eyes" / "Sad?#3.png").unlink()
    (tmp_path / "punks").mkdir()
    (tmp_path / "punks" / "keep.txt").write_text("mine")
    assert "--to" in refused("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "punks")
    assert [p.name for p in (tmp_path / "punks").iterdir()] == ["keep.txt"]


def test_upscaled_pixel_art_is_imported_at_its_own_grid(tmp_path: Path) -> None:
    """HashLips projects are often exported at 480 or 1000 px: a 20× NEAREST upscale comes in at 24×24."""
    source = hashlips_project(tmp_path / "hashlips")
    for path in (source / "layers").rglob("*.png"):
        with Image.open(path) as image:
            image.resize((480, 480), Image.Resampling.NEAREST).save(path)
    result = run_cli("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "punks")
    assert result.exit_code == 0, result.output
    assert "480×480 images of 24×24 pixel art" in result.output
    assert tomllib.loads((tmp_path / "punks" / "collection.toml").read_text())["pixels"]["size"] == 24
    ran = run_cli(*collection_args(tmp_path / "punks" / "collection.toml", tmp_path / "out", 8))
    assert ran.exit_code == 0, ran.output
    for token_id, traits in token_traits(tmp_path / "out").items():
        stack = [next((source / "layers" / layer).glob(f"{traits[layer]}[#.]*")) for layer in LAYERS]
        composited = Image.fromarray(reference(stack, size=480)).resize((24, 24), Image.Resampling.NEAREST)
        assert np.array_equal(token_pixels(tmp_path / "out", token_id), np.asarray(composited)), token_id


def test_layers_that_are_no_pixel_art_grid_or_differ_in_size_are_refused(tmp_path: Path) -> None:
    source = hashlips_project(tmp_path / "hashlips")
    smooth = Image.fromarray(np.random.default_rng(1).integers(0, 256, (300, 300, 4), dtype=np.uint8), "RGBA")
    for path in (source / "layers").rglob("*.png"):
        smooth.save(path)
    assert "300×300 and no NEAREST upscale" in refused("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "a")
    draw_layer(source / "layers" / "Eyes" / "Sad#3.png", seed=3)  # one 24×24 file among 300×300 ones
    line = refused("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "a")
    assert "24×24" in line and "300×300" in line and "one size" in line


def test_a_bottom_layer_with_transparency_is_reported_before_a_run_refuses_it(tmp_path: Path) -> None:
    source = hashlips_project(tmp_path / "hashlips")
    draw_layer(source / "layers" / "Background Colors" / "Blue#30.png", seed=4)  # not opaque
    result = run_cli("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "punks")
    assert result.exit_code == 0 and "'Background Colors' is the bottom layer but Blue-30.png has transparent" in result.output


def test_a_config_js_in_another_style_reads_the_same(tmp_path: Path) -> None:
    """Single quotes, no semicolons, block comments, `let`, a template-string name and code around the data."""
    source = hashlips_project(tmp_path / "hashlips")
    (source / "src" / "config.js").write_text(
        "/* my collection */\nconst path = require('path')\nlet rarityDelimiter = '#'\n"
        "const makeName = (n) => `Punk ${n}`\n"
        "let layerConfigurations = [\n  {\n    growEditionSizeTo: 50, // fifty\n    layersOrder: [\n"
        + "".join(f"      {{ 'name': `{layer}`, options: {{ blend: MODE.sourceOver, }}, }},\n" for layer in LAYERS)
        + "    ],\n  },\n]\nmodule.exports = { layerConfigurations, rarityDelimiter }\n"
    )
    result = run_cli("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "punks")
    assert result.exit_code == 0, result.output
    config = tomllib.loads((tmp_path / "punks" / "collection.toml").read_text())
    assert config["collection"]["size"] == 50 and len(config["traits"]["order"]) == len(LAYERS)
    assert "blend" not in result.output  # MODE.sourceOver is HashLips' normal


def test_layers_whose_trait_names_clash_are_refused_naming_the_config(tmp_path: Path) -> None:
    source = hashlips_project(tmp_path / "hashlips")
    edit(source / "src" / "config.js", '{ name: "Mouth" },', '{ name: "Mouth" },\n      { name: "EYES!" },')
    shutil.copytree(source / "layers" / "Eyes", source / "layers" / "EYES!")
    line = refused("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "punks")
    assert "config.js: layers 'Eyes' and 'EYES!' both become trait 'eyes'" in line


def test_partial_opacity_is_baked_into_the_layer_as_the_source_draws_it(tmp_path: Path) -> None:
    source = hashlips_project(tmp_path / "hashlips")
    edit(source / "src" / "config.js", '{ name: "Hats" }', '{ name: "Hats", options: { opacity: 0.5 } }')
    assert run_cli("traits", "import", source, "--from", "hashlips", "--to", tmp_path / "punks").exit_code == 0
    ran = run_cli(*collection_args(tmp_path / "punks" / "collection.toml", tmp_path / "out", 6))
    assert ran.exit_code == 0, ran.output
    for token_id, traits in token_traits(tmp_path / "out").items():
        stack = [next((source / "layers" / layer).glob(f"{traits[layer]}[#.]*")) for layer in LAYERS]
        half = tmp_path / "half.png"
        with Image.open(stack[5]) as hat:
            pixels = np.asarray(hat.convert("RGBA")).copy()
        pixels[..., 3] = np.round(pixels[..., 3] * 0.5).astype(np.uint8)
        Image.fromarray(pixels, "RGBA").save(half)
        stack[5] = half
        assert np.array_equal(token_pixels(tmp_path / "out", token_id), reference(stack)), token_id
