"""A collection mixing layered tokens, a ``replace``d token and a 1/1: each token's batch entry is the right kind of
file (a recursive SVG only where the layers draw the token exactly, else the token's own PNG, pixel for pixel)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml
from conftest import collection_args, run_cli
from ordinals_chain import composed, content_table, inscribe, inscribed_args
from PIL import Image
from test_one_of_one_attributes import add_legendary

from generator.publish.ordinals.registry import registry_problems


def touched_up(out: Path, token_id: int, tmp_path: Path) -> Path:
    """The token's master with one pixel painted its neighbour's colour: a hand fix no layer draws."""
    pixels = np.asarray(Image.open(out / "images" / f"{token_id}.png").convert("RGB")).copy()
    pixels[12, 12] = pixels[0, 0]
    path = tmp_path / "fixed.png"
    Image.fromarray(pixels).save(path)
    return path


def test_replaced_tokens_and_one_of_ones_are_inscribed_as_their_png(config_path: Path, tmp_path: Path) -> None:
    add_legendary(config_path, 'Type = "Alien King"', token_id=3)
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 8)).exit_code == 0
    fixed = touched_up(out, 5, tmp_path)
    assert run_cli("replace", out, 5, "--image", fixed, "--config", config_path).exit_code == 0
    ordinals = out / "export" / "ordinals"
    for phase in ((), "layers", "tokens"):
        given = inscribed_args(inscribe(ordinals, phase)) if phase else []
        result = run_cli("export", out, "--ordinals", "--config", config_path, *given)
        assert result.exit_code == 0, result.output
    entries = yaml.safe_load((ordinals / "tokens.batch.yaml").read_text())["inscriptions"]
    kinds = {token_id: entry["file"] for token_id, entry in enumerate(entries, start=1)}
    assert kinds == {t: f"tokens/{t}.png" if t in (3, 5) else f"tokens/{t}.svg" for t in range(1, 9)}
    table = content_table(ordinals)
    for token_id, file in kinds.items():
        with Image.open(out / "images" / f"{token_id}.png") as master:
            expected = np.asarray(master.convert("RGBA"))
        if file.endswith(".png"):
            with Image.open(ordinals / file) as inscribed:
                assert np.array_equal(np.asarray(inscribed.convert("RGBA")), expected)
        else:
            assert np.array_equal(composed((ordinals / file).read_bytes(), table), expected)
    assert entries[2]["title"] == json.loads((out / "metadata" / "3.json").read_text())["name"]
    registry = json.loads((ordinals / "inscriptions.json").read_text())
    assert len(registry) == 8 and not registry_problems(registry)
