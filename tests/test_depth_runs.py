"""A collection with split layers and a ``[[depth]]`` override (issue 32's "Done when"): every token equals its files
composited by hand in the order written out here, a run killed with -9 resumes to the files of an uninterrupted
one, and ``punkgen verify`` holds; the trait check accepts the layers' own tokens and still rejects a wrong claim."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import collection_args, folder_bytes, made_collection, refused, run_cli
from crash_points import killed_at
from depth_art import EARRING_OVER_LONG_HAIR, by_hand, trait_folder
from PIL import Image

from generator.config import QualitySettings, load_config
from generator.pixels.measures import Claim
from generator.pixels.palette import read_palette
from generator.pixels.quality import assess
from generator.pixels.recovery import recover
from generator.plan.traits import load_traits
from generator.render.layers import load_layers

PARTS_IN_ORDER = {  # per token: the (trait, part) drawn, bottom first, as the config declares them
    False: [("background", ""), ("hat", "back"), ("head", ""), ("earring", ""), ("hair", ""), ("hat", "")],
    True: [("background", ""), ("hat", "back"), ("head", ""), ("hair", ""), ("earring", ""), ("hat", "")],  # long hair
}


def values_of(out: Path, token_id: int) -> dict[str, str]:
    document = json.loads((out / "metadata" / f"{token_id}.json").read_text())
    named = {attribute["trait_type"].lower(): attribute["value"] for attribute in document["attributes"]}
    return {"earring": "None"} | named  # a value called None is left out of the metadata


def token(out: Path, token_id: int) -> np.ndarray:
    with Image.open(out / "images" / f"{token_id}.png") as image:
        return np.asarray(image.convert("RGB"))


def test_every_token_of_a_depth_collection_is_its_files_composited_by_hand(tmp_path: Path) -> None:
    config = trait_folder(tmp_path / "traits", depth=EARRING_OVER_LONG_HAIR)
    out = made_collection(config, tmp_path / "out", 24)
    long_hair = 0
    for token_id in range(1, 25):
        values = values_of(out, token_id)
        lifted = values["hair"] == "Long"
        long_hair += lifted
        files = [(trait, part, values[trait]) for trait, part in PARTS_IN_ORDER[lifted]]
        assert np.array_equal(token(out, token_id), by_hand(tmp_path / "traits", files)), (token_id, values)
    assert 0 < long_hair < 24  # both orders were drawn
    verified = run_cli("verify", out, "--config", config)
    assert verified.exit_code == 0, verified.output


@pytest.mark.skipif(not hasattr(os, "fork"), reason="kills a forked child")
def test_a_depth_run_killed_mid_way_resumes_to_the_uninterrupted_files(tmp_path: Path) -> None:
    config = trait_folder(tmp_path / "traits", depth=EARRING_OVER_LONG_HAIR)
    whole = made_collection(config, tmp_path / "whole", 24)
    killed = tmp_path / "killed"
    assert killed_at(collection_args(config, killed, 24), killed, at=lambda kind, path: path.endswith("images/13.png"))
    assert run_cli(*collection_args(config, killed, 24)).exit_code == 0
    assert folder_bytes(killed) == folder_bytes(whole)
    assert run_cli("verify", killed, "--config", config).exit_code == 0


def test_changing_an_override_is_a_new_collection_not_a_resume(tmp_path: Path) -> None:
    """The layers' digest follows the depths: a folder made without the override is not resumed with it."""
    config = trait_folder(tmp_path / "traits", depth=EARRING_OVER_LONG_HAIR)
    out = made_collection(config, tmp_path / "out", 24)
    config.write_text(config.read_text().replace('above = "hair"', 'above = "hat"'))  # the same pixels, another order
    assert "holds a different collection" in refused(*collection_args(config, out, 24))


def claim(config_path: Path, values: dict[str, str]) -> Claim:
    config = load_config(config_path)
    tables = load_traits(config)
    combo = tuple(table.index_of(values[table.key]) for table in tables)
    pixels, owner = load_layers(config, tables).expectation(combo)
    return Claim(pixels, owner, tuple((table.key, values[table.key]) for table in tables))


def judged(config_path: Path, render: np.ndarray, values: dict[str, str]):
    """The quality verdict on ``render`` (a model's picture of a token, 8× upscaled) claiming ``values``."""
    palette = read_palette(config_path.parent / "palette.hex")
    big = np.repeat(np.repeat(render, 8, axis=0), 8, axis=1)
    recovery = recover(big, 24, palette, expected_background=render[0, 0])
    return assess(big, recovery, QualitySettings(), claim=claim(config_path, values))


def test_the_trait_check_accepts_the_layers_own_tokens_and_rejects_a_wrong_hat(tmp_path: Path) -> None:
    config = trait_folder(tmp_path / "traits", depth=EARRING_OVER_LONG_HAIR)
    values = {"background": "Blue", "head": "Pale", "earring": "Gold", "hair": "Long", "hat": "Cap"}
    drawn = claim(config, values).pixels
    assert judged(config, drawn, values).accepted, judged(config, drawn, values).reasons
    wrong = judged(config, drawn, values | {"hat": "Beanie"})
    assert "trait_hat" in [reason.split(":")[0] for reason in wrong.reasons], wrong.reasons


def test_the_trait_check_rejects_a_token_drawn_in_the_wrong_order(tmp_path: Path) -> None:
    """The variant: the right traits, but the earring hidden under the long hair the override lifts it over."""
    config = trait_folder(tmp_path / "traits", depth=EARRING_OVER_LONG_HAIR)
    values = {"background": "Blue", "head": "Pale", "earring": "Gold", "hair": "Long", "hat": "Cap"}
    hidden = by_hand(config.parent, [(trait, part, values[trait]) for trait, part in PARTS_IN_ORDER[False]])
    assert not np.array_equal(hidden, claim(config, values).pixels)
    reasons = judged(config, hidden, values).reasons
    assert "trait_earring" in [reason.split(":")[0] for reason in reasons], reasons
