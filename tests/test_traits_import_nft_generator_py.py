"""``punkgen traits import --from nft-generator-py``: its own example config.json (layers drawn here) becomes a trait
folder whose tokens are the layers composited in the config's order, weights as listed, incompatibilities forbidden."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
from conftest import collection_args, refused, run_cli
from importer_art import FIXTURES, draw_layer, read_table, reference, token_pixels, token_traits


def nft_generator_py_project(root: Path, own_files: bool = True) -> tuple[Path, dict]:
    """The example config.json's layout, drawn. The example lets five values share 'logo.png' (tokens that look
    alike, which punkgen rejects as duplicates); ``own_files`` gives each value its own file, as real projects do."""
    config = json.loads((FIXTURES / "nft-generator-py-config.json").read_text())
    if own_files:
        for layer in config["layers"]:
            layer["filename"] = [f"{name}-{number}" for number, name in enumerate(layer["filename"])]
    for position, layer in enumerate(config["layers"]):
        for number, file_name in enumerate(dict.fromkeys(layer["filename"])):
            draw_layer(root / layer["trait_path"] / f"{file_name}.png", seed=position * 10 + number, opaque=position == 0)
    (root / "config.json").write_text(json.dumps(config))
    return root, config


def test_an_nft_generator_py_project_renders_as_it_composites_with_its_rules(tmp_path: Path) -> None:
    source, config = nft_generator_py_project(tmp_path / "gen")
    result = run_cli("traits", "import", source, "--from", "nft-generator-py", "--to", tmp_path / "punks")
    assert result.exit_code == 0, result.output
    written = tomllib.loads((tmp_path / "punks" / "collection.toml").read_text())
    assert written["traits"]["order"] == ["background", "foreground", "branding"]
    assert written["rules"] == [{"when": {"background": "Blue"}, "forbid": {"foreground": ["Python Logo 2"]}}]
    assert "default 'Default Incompatibility'" in result.output  # the swap punkgen does not do is reported
    assert read_table(tmp_path / "punks" / "foreground.csv")["Python Logo 2"] == (20.0, "logo-1.png")

    out = tmp_path / "out"
    ran = run_cli(*collection_args(tmp_path / "punks" / "collection.toml", out, 20))
    assert ran.exit_code == 0, ran.output
    files = {
        (layer["name"], value): source / layer["trait_path"] / f"{file_name}.png"
        for layer in config["layers"]
        for value, file_name in zip(layer["values"], layer["filename"], strict=True)
    }
    tokens = token_traits(out)
    assert len(tokens) == 20
    for token_id, traits in tokens.items():
        assert not (traits["Background"] == "Blue" and traits["Foreground"] == "Python Logo 2")
        stack = [files[(layer["name"], traits[layer["name"]])] for layer in config["layers"]]
        assert np.array_equal(token_pixels(out, token_id), reference(stack)), token_id


def test_values_sharing_one_image_are_imported_and_reported(tmp_path: Path) -> None:
    source, _ = nft_generator_py_project(tmp_path / "gen", own_files=False)
    result = run_cli("traits", "import", source, "--from", "nft-generator-py", "--to", tmp_path / "punks")
    assert result.exit_code == 0, result.output
    assert read_table(tmp_path / "punks" / "foreground.csv") == {
        f"Python Logo{n}": (20.0, "logo.png") for n in ("", " 2", " 3", " 4", " 5")
    }
    assert "logo.png: Python Logo, Python Logo 2" in result.output and "text.png: A Name, Another Name" in result.output


def test_a_value_listed_in_another_layer_is_forbidden_there_too(tmp_path: Path) -> None:
    source, config = nft_generator_py_project(tmp_path / "gen")
    config["incompatibilities"] = [{"layer": "Branding", "value": "A Name", "incompatible_with": ["Red", "Python Logo 3"]}]
    (source / "config.json").write_text(json.dumps(config))
    assert run_cli("traits", "import", source, "--from", "nft-generator-py", "--to", tmp_path / "punks").exit_code == 0
    assert tomllib.loads((tmp_path / "punks" / "collection.toml").read_text())["rules"] == [
        {"when": {"branding": "A Name"}, "forbid": {"background": ["Red"]}},
        {"when": {"branding": "A Name"}, "forbid": {"foreground": ["Python Logo 3"]}},
    ]


def test_malformed_nft_generator_py_configs_are_one_line_naming_the_file(tmp_path: Path) -> None:
    source, config = nft_generator_py_project(tmp_path / "gen")
    (source / "config.json").write_text("{ layers: [ ] }")
    assert "config.json: not JSON" in refused("traits", "import", source, "--from", "nft-generator-py", "--to", tmp_path / "a")
    config["layers"][1]["trait_path"] = "./trait-layers/missing"
    (source / "config.json").write_text(json.dumps(config))
    assert "trait-layers/missing" in refused("traits", "import", source, "--from", "nft-generator-py", "--to", tmp_path / "a")
    config["layers"][1]["trait_path"] = "./trait-layers/foreground"
    config["layers"][2]["filename"] = ["text-0", "gone"]
    (source / "config.json").write_text(json.dumps(config))
    assert "gone.png" in refused("traits", "import", source, "--from", "nft-generator-py", "--to", tmp_path / "a")
    assert not (tmp_path / "a").exists()
