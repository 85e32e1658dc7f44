"""Every user mistake: exit status 2, one line naming the file and the fix, nothing written to the output folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import collection_args, edit, folder_bytes, run_cli


def assert_refused(config_path: Path, tmp_path: Path, *expected: str, n: int = 20) -> None:
    out = tmp_path / "out"
    result = run_cli(*collection_args(config_path, out, n))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for fragment in expected:
        assert fragment in lines[0], lines[0]
    assert not out.exists(), "a refused run must not write anything"


CSV_MISTAKES = [
    (
        "hair.csv",
        "Mohawk Black,5,",
        "Mohawk Black,lots,",
        ["hair.csv line 2", "'lots'", "must be 0 (disables the value) or a number from"],
    ),
    ("hair.csv", "Mohawk Black,5,", "Mohawk Black,-1,", ["hair.csv line 2", "'-1'"]),
    ("eyes.csv", "value,weight,prompt", "value,prompt", ["eyes.csv line 1", "missing column(s) weight"]),
    ("eyes.csv", "value,weight,prompt", "value,weight,prompt,colour", ["eyes.csv line 1", "unknown column(s) colour"]),
    ("mouth.csv", "Frown,14,frown", "Smile,14,frown", ["mouth.csv line 4", "duplicate value 'Smile'"]),
    ("mouth.csv", "Frown,14,frown", "../../x,14,frown", ["mouth.csv line 4", "'../../x'", "cannot name a layer file"]),
]


@pytest.mark.parametrize(("table", "old", "new", "expected"), CSV_MISTAKES)
def test_trait_table_mistakes(config_path: Path, tmp_path: Path, table: str, old: str, new: str, expected: list[str]) -> None:
    edit(config_path.parent / table, old, new)
    assert_refused(config_path, tmp_path, *expected)


def test_path_like_layer_column(config_path: Path, tmp_path: Path) -> None:
    (config_path.parent / "mouth.csv").write_text("value,weight,prompt,layer\nSmile,1,smile,\nFrown,1,frown,../../Frown.png\n")
    assert_refused(config_path, tmp_path, "mouth.csv line 3", "plain .png file name")


def test_layer_column_renames_the_file(config_path: Path, tmp_path: Path) -> None:
    layers = config_path.parent / "layers" / "mouth"
    (layers / "Smile.png").rename(layers / "grin.png")
    edit(config_path.parent / "mouth.csv", "value,weight,prompt", "value,weight,prompt,layer")
    edit(config_path.parent / "mouth.csv", "Smile,24,smile", "Smile,24,smile,grin.png")
    result = run_cli(*collection_args(config_path, tmp_path / "out"))
    assert result.exit_code == 0, result.output


def test_empty_table(config_path: Path, tmp_path: Path) -> None:
    (config_path.parent / "mouth.csv").write_text("")
    assert_refused(config_path, tmp_path, "mouth.csv", "the table is empty")


def test_header_only_table(config_path: Path, tmp_path: Path) -> None:
    (config_path.parent / "mouth.csv").write_text("value,weight,prompt\n")
    assert_refused(config_path, tmp_path, "mouth.csv", "no values")


def test_all_weights_zero(config_path: Path, tmp_path: Path) -> None:
    (config_path.parent / "mouth.csv").write_text("value,weight,prompt\nSmile,0,smile\n")
    assert_refused(config_path, tmp_path, "mouth.csv", "every weight is 0")


def test_toml_syntax_error(config_path: Path, tmp_path: Path) -> None:
    edit(config_path, 'symbol = "BPUNK"', 'symbol = "BPUNK')
    assert_refused(config_path, tmp_path, "collection.toml", "TOML syntax error", "line 7")


def test_unknown_key_is_named_with_a_suggestion(config_path: Path, tmp_path: Path) -> None:
    edit(config_path, "batch_size = 8", "batch_sise = 8")
    assert_refused(config_path, tmp_path, "collection.toml", "unknown key [render].batch_sise (did you mean 'batch_size'?)")


def test_unknown_section(config_path: Path, tmp_path: Path) -> None:
    config_path.write_text(config_path.read_text() + "\n[renderr]\nsteps = 3\n")
    assert_refused(config_path, tmp_path, "unknown section [renderr] (did you mean 'render'?)")


def test_wrong_type(config_path: Path, tmp_path: Path) -> None:
    edit(config_path, "seed = 42", 'seed = "42"')
    assert_refused(config_path, tmp_path, "[collection].seed (--seed) must be an integer", "'42'")


def test_a_whole_number_written_with_a_decimal_point_is_that_integer(config_path: Path, tmp_path: Path) -> None:
    """JSON Schema counts 10.0 as an integer, so the file passes its check: ``size = 10.0`` then ended in a
    TypeError traceback, and ``seed = 42.0`` fingerprinted another collection than ``seed = 42``."""

    def run(out: str) -> dict[str, bytes]:
        result = run_cli("collection", "--config", config_path, "--out", tmp_path / out, "--quiet", "--backend", "sprites")
        assert result.exit_code == 0, result.output
        return folder_bytes(tmp_path / out)

    edit(config_path, "size = 100", "size = 12")
    as_integers = run("integers")
    for old, new in [("size = 12", "size = 12.0"), ("seed = 42", "seed = 42.0"), ("first_token_id = 1", "first_token_id = 1.0")]:
        edit(config_path, old, new)
    edit(config_path, "batch_size = 8", "batch_size = 8.0")
    assert run("floats") == as_integers
    edit(config_path, "seed = 42.0", "seed = 42.5")
    assert_refused(config_path, tmp_path, "[collection].seed (--seed) must be an integer", "42.5")


def test_bad_enum(config_path: Path, tmp_path: Path) -> None:
    edit(config_path, 'sampling = "weighted"', 'sampling = "random"')
    assert_refused(config_path, tmp_path, "[traits].sampling must be one of weighted, exact", "'random'")


def test_missing_config_file(tmp_path: Path) -> None:
    assert_refused(tmp_path / "nope.toml", tmp_path, "nope.toml: file not found", "--config")


def test_rule_with_unknown_trait(config_path: Path, tmp_path: Path) -> None:
    edit(config_path, 'when = { hair = "Hoodie" }', 'when = { hat = "Hoodie" }')
    assert_refused(config_path, tmp_path, "[[rules]] #1 when", "unknown trait 'hat'")


def test_rule_with_unknown_value(config_path: Path, tmp_path: Path) -> None:
    edit(config_path, 'forbid = { accessory = ["Earring"] }', 'forbid = { accessory = ["Earing"] }')
    assert_refused(config_path, tmp_path, "[[rules]] #1 forbid", "unknown accessory value 'Earing'", "accessory.csv")


def test_order_names_a_missing_table(config_path: Path, tmp_path: Path) -> None:
    edit(config_path, '"accessory"]', '"accessory", "hat"]')
    assert_refused(config_path, tmp_path, "'hat'", "hat.csv does not exist")


def test_table_not_in_order(config_path: Path, tmp_path: Path) -> None:
    (config_path.parent / "hat.csv").write_text("value,weight,prompt\nCap,1,cap\n")
    assert_refused(config_path, tmp_path, "hat.csv is not listed in [traits].order")


def test_unknown_prompt_placeholder(config_path: Path, tmp_path: Path) -> None:
    edit(config_path, "{type}", "{skin}")
    assert_refused(config_path, tmp_path, "[prompt].template uses {skin}")


def test_missing_layer_file(config_path: Path, tmp_path: Path) -> None:
    (config_path.parent / "layers" / "eyes" / "Blue.png").unlink()
    assert_refused(config_path, tmp_path, "layers/eyes/Blue.png", "missing layer", "weight to 0")


def test_disabled_value_needs_no_layer(config_path: Path, tmp_path: Path) -> None:
    (config_path.parent / "layers" / "eyes" / "Blue.png").unlink()
    edit(config_path.parent / "eyes.csv", "Blue,16,", "Blue,0,")
    result = run_cli(*collection_args(config_path, tmp_path / "out"))
    assert result.exit_code == 0, result.output


def test_layer_of_wrong_size(config_path: Path, tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGBA", (32, 32)).save(config_path.parent / "layers" / "eyes" / "Blue.png")
    assert_refused(config_path, tmp_path, "Blue.png", "32×32, expected 24×24")


def test_transparent_background_layer(config_path: Path, tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGBA", (24, 24)).save(config_path.parent / "layers" / "background" / "Mint.png")
    assert_refused(config_path, tmp_path, "Mint.png", "must be fully opaque")


def test_more_tokens_than_combinations(config_path: Path, tmp_path: Path) -> None:
    # 10·7·27·8·6·8 = 725,760 sets, less 3,360 Hoodie+Earring, 75,600 Medical Mask without a Neutral mouth
    # and 60,480 Pipe or Vape with a Smile or Frown
    assert_refused(config_path, tmp_path, "needs 586321 distinct trait sets", "allow only 586320", n=586_321)
