"""``punkgen export FOLDER --onchain``: export/onchain/ holds what a renderer contract reads (palette, images, one
record per token) and every token drawn from those files alone equals its ``images/<id>.png``; refusals are one line."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, collection_args, folder_bytes, refused, run_cli, shipped_collection
from PIL import Image
from test_one_of_one_attributes import add_legendary

from generator.config import load_config
from generator.files import slugify
from generator.plan.traits import load_traits
from generator.publish.onchain.rle import compose
from generator.render.layers import layer_path


def drawn_from_files(onchain: Path, token_id: int) -> np.ndarray:
    """The token as a renderer draws it from the exported bytes: its record, the images it names, the palette."""
    index = json.loads((onchain / "images.json").read_text())
    palette = (onchain / "palette.bin").read_bytes()
    colors = [palette[i : i + 3].hex() for i in range(0, len(palette), 3)]
    blob = (onchain / "images.bin").read_bytes()
    width = len(index["traits"])
    start = (token_id - index["first_token_id"]) * width
    record = (onchain / "tokens.bin").read_bytes()[start : start + width]
    images = index["images"]
    if record[0] == 0xFF:
        chosen = [[entry for entry in images if entry["folder"] == "tokens"][int.from_bytes(record[1:], "big")]]
    else:
        chosen = [
            [entry for entry in images if entry["folder"] == trait][i] for trait, i in zip(index["traits"], record, strict=True)
        ]
    data = [blob[entry["offset"] : entry["offset"] + entry["length"]] for entry in chosen]
    return compose(data, colors, 24)


def assert_files_draw_every_token(out: Path) -> None:
    onchain = out / "export" / "onchain"
    for image in sorted((out / "images").glob("*.png")):
        with Image.open(image) as master:
            assert np.array_equal(drawn_from_files(onchain, int(image.stem)), np.asarray(master.convert("RGBA"))), image


@pytest.fixture(scope="module")
def sprites(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return shipped_collection(tmp_path_factory.mktemp("onchain-export"), 10)


def test_the_export_writes_data_a_renderer_reads_and_a_report(sprites: tuple[Path, Path]) -> None:
    out, config = sprites
    result = run_cli("export", out, "--onchain", "--no-gas", "--config", config)
    assert result.exit_code == 0, result.output
    onchain = out / "export" / "onchain"
    report = json.loads((onchain / "report.json").read_text())
    assert report["tokens"] == {"layered": 10, "whole": 0} and report["data_contracts"] == 1
    assert len((onchain / "tokens.bin").read_bytes()) == 10 * 6 == report["bytes"]["token_records"]
    assert "data contracts (≤24,575 bytes each, EIP-170): 1" in result.output
    document = json.loads((onchain / "image-data.json").read_text())
    assert list(document) == ["bgcolors", "palette", "images"] and document["palette"][0] == ""
    assert_files_draw_every_token(out)
    before = folder_bytes(onchain)
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config).exit_code == 0
    assert folder_bytes(onchain) == before  # the same collection, the same bytes


def test_a_one_of_one_and_a_replaced_token_are_stored_whole(config_path: Path, tmp_path: Path) -> None:
    add_legendary(config_path, 'Type = "Alien King"', token_id=2)
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 5)).exit_code == 0
    pixels = np.asarray(Image.open(out / "images" / "4.png").convert("RGB")).copy()
    pixels[12, 12] = (1, 2, 3)
    Image.fromarray(pixels).save(tmp_path / "fixed.png")
    assert run_cli("replace", out, 4, "--image", tmp_path / "fixed.png", "--config", config_path).exit_code == 0
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config_path).exit_code == 0
    records = (out / "export" / "onchain" / "tokens.bin").read_bytes()
    assert records[6:12] == bytes([0xFF, 0, 0, 0, 0, 0]) and records[18:24] == bytes([0xFF, 0, 0, 0, 0, 1])
    assert_files_draw_every_token(out)


@pytest.mark.parametrize("extra", [["--car"], ["--ordinals"], ["--base-uri", "ipfs://x/"], ["--starting-index", "3"]])
def test_options_that_mean_nothing_on_chain_are_refused(sprites: tuple[Path, Path], extra: list[str]) -> None:
    out, config = sprites
    line = refused("export", out, "--onchain", "--config", config, *extra)
    assert "does not apply with --onchain" in line and extra[0] in line


def test_more_colours_than_a_byte_indexes_are_refused_and_nothing_is_written(config_path: Path, tmp_path: Path) -> None:
    pixels = np.zeros((24, 24, 3), dtype=np.uint8)
    pixels[..., 0] = np.arange(576).reshape(24, 24) % 256
    pixels[..., 1] = np.arange(576).reshape(24, 24) // 256 * 40
    Image.fromarray(pixels).save(config_path.parent / "noise.png")
    entry = '\n[[one_of_one]]\nimage = "noise.png"\ntoken_id = 1\nattributes = { Type = "Static" }\n'
    config_path.write_text(config_path.read_text() + entry)
    out = tmp_path / "out"
    result = run_cli(*collection_args(config_path, out, 3))
    assert result.exit_code == 0, result.output
    line = refused("export", out, "--onchain", "--config", config_path)
    assert "(--onchain): 5" in line and "colours" in line and "holds 255" in line
    assert not (out / "export" / "onchain").exists()


@pytest.mark.skipif(
    shutil.which("node") is None or not (REPO / ".ci" / "node" / "node_modules" / "@nouns" / "sdk").is_dir(),
    reason="@nouns/sdk not installed (.ci/run installs it into .ci/node); tests/test_onchain_nouns.py's recorded ones run",
)
def test_the_exported_image_data_is_what_nouns_sdk_gives_for_the_same_pngs(config_path: Path, tmp_path: Path) -> None:
    add_legendary(config_path, 'Type = "Alien King"', token_id=2)
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 6)).exit_code == 0
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config_path).exit_code == 0
    onchain = out / "export" / "onchain"
    config = load_config(config_path)
    files = {
        f"{slugify(table.key)}-{slugify(value.name)}": layer_path(config, table, index)
        for table in load_traits(config)
        for index, value in enumerate(table.values)
    }
    files |= {f"token-{image.stem}": image for image in (out / "images").glob("*.png")}
    parts = json.loads((onchain / "images.json").read_text())["images"]
    spec = {"bgcolors": [], "images": [{**part, "path": str(files[part["name"]])} for part in parts]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    command = [
        "node",
        str(REPO / "tests" / "fixtures" / "onchain" / "encode.mjs"),
        str(REPO / ".ci" / "node"),
        str(tmp_path / "spec.json"),
    ]
    reference = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert (onchain / "image-data.json").read_text() == reference
