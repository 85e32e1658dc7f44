"""The SVG ``tokenURI`` returns, drawn by a real SVG rasteriser (resvg, through ``resvg-py``) at 24×24, equals the
token's ``images/<id>.png`` pixel for pixel: layered tokens, a 1/1 and a ``replace``d token stored whole. The EVM tests
read the rects back with a regular expression; this is what a wallet or marketplace actually shows."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import collection_args, run_cli
from PIL import Image
from test_one_of_one_attributes import add_legendary

resvg = pytest.importorskip("resvg_py", reason="resvg-py not installed (pip install -e '.[dev]')")
pytest.importorskip("eth_tester", reason="eth-tester/py-evm not installed (pip install -e '.[dev]')")
from test_onchain_contract_evm import deployed, json_of  # noqa: E402


def rasterised(svg: str) -> np.ndarray:
    """The SVG as resvg paints it on a transparent 24×24 canvas, RGBA."""
    png = resvg.svg_to_bytes(svg_string=svg, width=24, height=24)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def master_pixels(path: Path) -> np.ndarray:
    """The PNG's RGBA with a transparent pixel's hidden colour cleared: the SVG never draws it."""
    pixels = np.asarray(Image.open(path).convert("RGBA")).copy()
    pixels[pixels[..., 3] == 0] = 0
    return pixels


@pytest.mark.slow
def test_resvg_draws_every_tokens_svg_as_its_png(config_path: Path, tmp_path: Path) -> None:
    add_legendary(config_path, 'Type = "Alien King"', token_id=2)
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 4)).exit_code == 0
    fixed = np.asarray(Image.open(out / "images" / "4.png").convert("RGBA")).copy()
    fixed[0:3, 0:24] = (200, 30, 90, 255)  # a hand fix that no layer holds: token 4 is stored whole too
    Image.fromarray(fixed).save(tmp_path / "fixed.png")
    assert run_cli("replace", out, 4, "--image", tmp_path / "fixed.png", "--config", config_path).exit_code == 0
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config_path).exit_code == 0
    report = json.loads((out / "export" / "onchain" / "report.json").read_text())
    assert report["tokens"] == {"layered": 2, "whole": 2}
    chain = deployed(out / "export" / "onchain")
    for token_id in range(1, 5):
        image = json_of(chain.call("tokenURI(uint256)", ["uint256"], [token_id], "string"))["image"]
        svg = base64.b64decode(image.removeprefix("data:image/svg+xml;base64,")).decode()
        assert np.array_equal(rasterised(svg), master_pixels(out / "images" / f"{token_id}.png")), token_id
