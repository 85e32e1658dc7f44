"""Every recursive token SVG, as Chromium draws it from ``/content/<layer id>`` on an ord-like server, is pixel-equal
to its master: at 24×24, and at a 20× upscale that must stay crisp (``image-rendering: pixelated``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, shipped_collection
from ordinals_browser import rendered, upscaled
from ordinals_chain import content_table, inscribe, inscribed_args
from test_gallery import browser


@pytest.fixture(scope="module")
def inscribed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-token collection through all three phases."""
    out, config = shipped_collection(tmp_path_factory.mktemp("ordinals-browser"), 6)
    ordinals = out / "export" / "ordinals"
    for phase in ((), "layers", "tokens"):
        given = inscribed_args(inscribe(ordinals, phase)) if phase else []
        assert run_cli("export", out, "--ordinals", "--config", config, *given).exit_code == 0
    return out


@browser
@pytest.mark.slow
@pytest.mark.parametrize("scale", [1, 20])
def test_each_token_svg_renders_as_its_master(inscribed: Path, tmp_path: Path, scale: int) -> None:
    ordinals = inscribed / "export" / "ordinals"
    table = content_table(ordinals)
    tokens = [i for i, f in table.items() if f.parent.name == "tokens"]
    assert len(tokens) == 6 and all(table[i].suffix == ".svg" for i in tokens)
    drawn = rendered(table, tokens, scale, columns=3, workdir=tmp_path)
    for token_id, cell in zip(tokens, drawn, strict=True):
        number = table[token_id].stem
        expected = upscaled(inscribed / "images" / f"{number}.png", scale)
        assert np.array_equal(cell, expected), (
            f"token {number} at {scale}×: {int((cell != expected).any(-1).sum())} pixels differ"
        )
