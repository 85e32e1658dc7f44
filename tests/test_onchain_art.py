"""The on-chain art: every token decodes, as SVGRenderer.sol walks Nouns' runs, to its ``images/<id>.png``; layers
are stored once, layered tokens as trait indices, the rest whole; the report counts the bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import collection_args, run_cli, shipped_collection
from PIL import Image
from test_one_of_one_attributes import add_legendary
from test_ordinals_mixed import touched_up

from generator.config import load_config
from generator.curate.finished import load_collection
from generator.publish.onchain.layout import OnchainArt, plan_art, token_parts
from generator.publish.onchain.report import CONTRACT_BYTES, data_contracts, onchain_report
from generator.publish.onchain.rle import compose


def planned(out: Path, config_path: Path) -> OnchainArt:
    config = load_config(config_path)
    return plan_art(config, load_collection(out, config))


def assert_every_token_decodes_to_its_master(art: OnchainArt, out: Path) -> None:
    for image in sorted((out / "images").glob("*.png")):
        token_id = int(image.stem)
        drawn = compose([part.data for part in token_parts(art, token_id)], art.palette, art.side)
        with Image.open(image) as master:
            assert np.array_equal(drawn, np.asarray(master.convert("RGBA"))), token_id


@pytest.fixture(scope="module")
def sprites(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return shipped_collection(tmp_path_factory.mktemp("onchain"), 12)


def test_a_sprite_collection_is_layers_once_and_trait_indices(sprites: tuple[Path, Path]) -> None:
    out, config = sprites
    art = planned(out, config)
    assert art.whole == {} and sorted(art.layered) == list(range(1, 13))
    assert all(len(indices) == len(art.traits) == 6 for indices in art.layered.values())
    names = [part.name for part in art.parts]
    assert len(names) == len(set(names))  # each layer once
    assert art.palette[0] == ""
    assert_every_token_decodes_to_its_master(art, out)


def test_replaced_tokens_and_one_of_ones_are_stored_whole_and_decode_exactly(config_path: Path, tmp_path: Path) -> None:
    add_legendary(config_path, 'Type = "Alien King"', token_id=3)
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 6)).exit_code == 0
    fixed = touched_up(out, 5, tmp_path)
    assert run_cli("replace", out, 5, "--image", fixed, "--config", config_path).exit_code == 0
    art = planned(out, config_path)
    assert art.whole == {3: 0, 5: 1} and sorted(art.layered) == [1, 2, 4, 6]
    assert [part.name for part in art.parts if part.folder == "tokens"] == ["token-3", "token-5"]
    assert_every_token_decodes_to_its_master(art, out)


def test_the_report_counts_every_stored_byte(sprites: tuple[Path, Path]) -> None:
    out, config = sprites
    art = planned(out, config)
    report = onchain_report(art)
    counted = report["bytes"]
    assert counted["token_records"] == 12 * 6
    assert counted["palette"] == 3 * len(art.palette)  # index 0 too, as Nouns' setPalette takes it
    assert counted["layers"] == sum(len(part.data) for part in art.parts) and counted["whole_tokens"] == 0
    assert counted["total"] == counted["palette"] + counted["layers"] + counted["token_records"]
    assert report["layered_indices_packed_bytes"] < counted["token_records"]
    assert report["data_contracts"] == 1


def test_data_contracts_never_split_an_image() -> None:
    assert data_contracts([CONTRACT_BYTES]) == 1
    assert data_contracts([CONTRACT_BYTES - 10, 11]) == 2
    assert data_contracts([1000] * 48) == 2  # 24 fit in one contract (24,000 bytes), 25 do not
    assert data_contracts([1000] * 49) == 3
    assert data_contracts([]) == 0
