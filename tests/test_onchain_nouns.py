"""image-data.json is byte-equal to @nouns/sdk 1.2.0's PNGCollectionEncoder for the same PNGs in the same order:
against recorded outputs always (the shipped layers, and edge cases: an empty layer, one touching every edge,
runs over 255, a transparent pixel's hidden RGB), and against the package itself where .ci/run installed it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generator.errors import UserError
from generator.publish.onchain.nouns import encode_parts, image_data, image_data_json
from generator.publish.onchain.rle import bounds, decode_image, encode_image, new_palette

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "onchain"
NODE = REPO / ".ci" / "node"
SPECS = ["shipped-layers", "edges"]


def encoded(spec: dict) -> str:
    """punkgen's image-data.json for a reference spec (the PNGs read from the repository, in the spec's order)."""
    images = []
    for entry in spec["images"]:
        with Image.open(REPO / entry["path"]) as image:
            images.append((entry["folder"], entry["name"], np.asarray(image.convert("RGBA"))))
    palette, parts = encode_parts(images, "test")
    return image_data_json(image_data(palette, parts, spec["bgcolors"]))


@pytest.mark.parametrize("name", SPECS)
def test_image_data_equals_the_recorded_reference(name: str) -> None:
    spec = json.loads((FIXTURES / f"{name}.spec.json").read_text())
    assert encoded(spec) == (FIXTURES / f"{name}.image-data.json").read_text()


@pytest.mark.skipif(
    shutil.which("node") is None or not (NODE / "node_modules" / "@nouns" / "sdk").is_dir(),
    reason="@nouns/sdk not installed (.ci/run installs it into .ci/node); the recorded references still run",
)
def test_image_data_equals_the_live_reference_for_unrecorded_pngs(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    images = []
    for n in range(6):  # random sparse layers over a handful of colours, transparent pixels with random RGB
        pixels = rng.integers(0, 256, (24, 24, 4), dtype=np.uint8)
        pixels[..., :3] //= 64
        pixels[..., 3] = np.where(rng.random((24, 24)) < 0.3, 255, 0)
        path = tmp_path / f"{n}.png"
        Image.fromarray(pixels, "RGBA").save(path)
        images.append({"folder": f"part{n % 2}", "name": f"image-{n}", "path": str(path)})
    spec = {"bgcolors": ["d5d7e1"], "images": images}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    for name in SPECS:
        recorded = json.loads((FIXTURES / f"{name}.spec.json").read_text())
        recorded["images"] = [{**entry, "path": str(REPO / entry["path"])} for entry in recorded["images"]]
        (tmp_path / f"{name}.json").write_text(json.dumps(recorded))
    for spec_file in [tmp_path / "spec.json", *(tmp_path / f"{name}.json" for name in SPECS)]:
        reference = subprocess.run(
            ["node", str(FIXTURES / "encode.mjs"), str(NODE), str(spec_file)], capture_output=True, text=True, check=True
        ).stdout
        assert encoded(json.loads(spec_file.read_text())) == reference


def test_the_palette_starts_transparent_and_an_empty_layer_has_zero_bounds() -> None:
    palette = new_palette()
    empty = np.zeros((24, 24, 4), dtype=np.uint8)
    assert bounds(empty) == (0, 0, 0, 0)
    assert encode_image(empty, palette) == bytes(5) and list(palette) == [""]


def test_a_layer_touching_every_edge_keeps_the_whole_square_and_decodes_exactly() -> None:
    pixels = np.zeros((24, 24, 4), dtype=np.uint8)
    pixels[0, 3] = pixels[23, 20] = pixels[7, 0] = pixels[15, 23] = (200, 10, 10, 255)
    palette = new_palette()
    data = encode_image(pixels, palette)
    assert bounds(pixels) == (0, 24, 23, 0) and data[:5] == bytes([0, 0, 24, 23, 0])
    assert np.array_equal(decode_image(data, list(palette), 24), pixels)


def test_a_run_longer_than_255_is_split_and_a_single_pixel_keeps_its_bounds() -> None:
    pixels = np.zeros((24, 24, 4), dtype=np.uint8)
    pixels[...] = (1, 2, 3, 255)
    assert encode_image(pixels, new_palette())[5:] == bytes([255, 1, 255, 1, 66, 1])
    corner = np.zeros((24, 24, 4), dtype=np.uint8)
    corner[23, 23] = (9, 9, 9, 255)
    assert bounds(corner) == (23, 24, 23, 23)


def test_more_colours_than_a_byte_indexes_are_refused_in_one_line() -> None:
    pixels = np.zeros((24, 24, 4), dtype=np.uint8)
    pixels[..., 0] = np.arange(576).reshape(24, 24) % 256
    pixels[..., 1] = np.arange(576).reshape(24, 24) // 256
    pixels[..., 3] = 255
    with pytest.raises(UserError) as refusal:
        encode_parts([("tokens", "token-1", pixels)], "out --onchain")
    assert "576 colours" in str(refusal.value) and "\n" not in str(refusal.value)
