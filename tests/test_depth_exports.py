"""The layer-storing exports with split layers and depth (issue 32): on chain, each part is its own layer column (the
renderer draws every record in one order, so a token a ``[[depth]]`` override reorders is stored whole); in the
Ordinals export each part is its own layer inscription, and every token's SVG stacks them in that token's order.
Every token drawn from the exported files alone equals its ``images/<id>.png``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import made_collection, run_cli
from depth_art import EARRING_OVER_LONG_HAIR, ORDER, art_path, trait_folder
from ordinals_chain import composed, content_table, inscribe, inscribed_args
from PIL import Image
from test_onchain_export import assert_files_draw_every_token


def depth_collection(root: Path, depth: str, order: list[str] = ORDER) -> tuple[Path, Path]:
    config = trait_folder(root / "traits", order, depth)
    return made_collection(config, root / "out", 24), config


@pytest.fixture(scope="module")
def lifted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """24 tokens of a split cap, the earring lifted over long hair by an override."""
    return depth_collection(tmp_path_factory.mktemp("depth-exports"), EARRING_OVER_LONG_HAIR)


def long_haired(out: Path) -> set[int]:
    return {
        int(path.stem)
        for path in (out / "metadata").glob("*.json")
        if {"trait_type": "Hair", "value": "Long"} in json.loads(path.read_text())["attributes"]
    }


def export(out: Path, config: Path, *args: object) -> str:
    result = run_cli("export", out, *args, "--config", config)
    assert result.exit_code == 0, result.output
    return result.output


def test_on_chain_each_part_is_a_column_and_a_reordered_token_is_stored_whole(lifted: tuple[Path, Path]) -> None:
    out, config = lifted
    export(out, config, "--onchain", "--no-gas")
    onchain = out / "export" / "onchain"
    assert_files_draw_every_token(out)  # every token, drawn from palette, images and records alone, is its PNG
    index = json.loads((onchain / "images.json").read_text())
    assert index["traits"] == ORDER
    assert {image["name"] for image in index["images"] if image["folder"] == "hat:back"} == {
        "hat.back-cap",
        "hat.back-beanie",
        "hat.back-bare",
    }  # every hat a record can name, the back of a beanie empty
    report = json.loads((onchain / "report.json").read_text())
    reordered = long_haired(out)
    assert 0 < len(reordered) < 24
    assert report["tokens"] == {"layered": 24 - len(reordered), "whole": len(reordered)}
    tokens = (onchain / "tokens.bin").read_bytes()
    width = len(ORDER)
    assert {token_id for token_id in range(1, 25) if tokens[(token_id - 1) * width] == 0xFF} == reordered


def test_on_chain_a_collection_with_parts_and_no_override_is_all_layers(tmp_path: Path) -> None:
    """The variant: no override (the earring always over the hair), so every token is drawn from its parts' layers
    in the one order."""
    out, config = depth_collection(tmp_path, "", ["background", "hat:back", "head", "hair", "earring", "hat"])
    export(out, config, "--onchain", "--no-gas")
    assert_files_draw_every_token(out)
    assert json.loads((out / "export" / "onchain" / "report.json").read_text())["tokens"] == {"layered": 24, "whole": 0}


@pytest.mark.slow
def test_ordinals_inscribe_each_part_once_and_every_svg_stacks_its_tokens_order(lifted: tuple[Path, Path]) -> None:
    out, config = lifted
    ordinals = out / "export" / "ordinals"
    export(out, config, "--ordinals")
    layers = yaml.safe_load((ordinals / "layers.batch.yaml").read_text())["inscriptions"][1:]
    titles = {entry["title"]: entry["file"] for entry in layers}
    assert titles["hat:back: Cap"] == "layers/hat.back-cap.png"
    assert "hat:back: Beanie" not in titles  # a beanie has no back: nothing to inscribe
    for title, file in titles.items():  # each layer is its source file, pixel for pixel
        label, value = title.split(": ")
        trait, _, part = label.partition(":")
        with Image.open(ordinals / file) as mine, Image.open(art_path(config.parent, trait, part, value)) as source:
            a, b = np.asarray(mine.convert("RGBA")), np.asarray(source.convert("RGBA"))
            assert np.array_equal(a[..., 3], b[..., 3]) and np.array_equal(a[a[..., 3] > 0], b[b[..., 3] > 0]), file
    export(out, config, "--ordinals", *inscribed_args(inscribe(ordinals, "layers")))
    export(out, config, "--ordinals", *inscribed_args(inscribe(ordinals, "tokens")))
    table = content_table(ordinals)
    for token_id in range(1, 25):
        svg = (ordinals / "tokens" / f"{token_id}.svg").read_bytes()  # every token layered, reordered ones included
        with Image.open(out / "images" / f"{token_id}.png") as master:
            assert np.array_equal(composed(svg, table), np.asarray(master.convert("RGBA"))), token_id


@pytest.mark.slow
def test_the_renderer_contract_draws_a_layered_and_a_reordered_token_of_a_depth_collection(lifted: tuple[Path, Path]) -> None:
    """In an EVM: a part's column publishes no attribute (its entries stay empty) and a whole token draws as stored."""
    pytest.importorskip("eth_tester", reason="eth-tester/py-evm not installed (pip install -e '.[dev]')")
    from onchain_checks import assert_token_uris_match
    from test_onchain_contract_evm import deployed

    out, config = lifted
    export(out, config, "--onchain", "--no-gas")
    reordered = long_haired(out)
    chosen = {min(reordered), min(set(range(1, 25)) - reordered)}
    assert assert_token_uris_match(out, deployed(out / "export" / "onchain").call, only=chosen) == 2
