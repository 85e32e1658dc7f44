"""A 1/1's attributes are published the way the collection's tokens spell them: a trait named in another case or with
stray spaces takes the tables' spelling (no extra rarity column of one token), a ``None`` value is left out as it is
for generated tokens, and two names for one trait are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from conftest import collection_args, edit, refused, run_cli
from PIL import Image


def add_legendary(config_path: Path, attributes: str, token_id: int = 3) -> None:
    pixels = np.full((24, 24, 3), (30, 30, 40), dtype=np.uint8)
    pixels[4:20, 6:18] = (230, 180, 40)
    Image.fromarray(pixels).save(config_path.parent / "king.png")
    entry = f'\n[[one_of_one]]\nimage = "king.png"\ntoken_id = {token_id}\nattributes = {{ {attributes} }}\n'
    config_path.write_text(config_path.read_text() + entry)


def test_trait_names_in_another_case_or_with_spaces_take_the_tables_spelling(config_path: Path, tmp_path: Path) -> None:
    add_legendary(config_path, '"type " = "Alien King", HAIR = " Crown", accessory = "None", " Legend  Tier " = "One"')
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 12)).exit_code == 0
    document = json.loads((out / "metadata" / "3.json").read_text())
    assert document["attributes"] == [
        {"trait_type": "Type", "value": "Alien King"},
        {"trait_type": "Hair", "value": "Crown"},
        {"trait_type": "Legend Tier", "value": "One"},
    ]
    assert run_cli("verify", out, "--config", config_path).exit_code == 0
    assert run_cli("export", out, "--config", config_path).exit_code == 0
    columns = (out / "export" / "rarity.csv").read_text().splitlines()[0].split(",")
    assert {"Type", "Hair", "Legend Tier"} <= set(columns), columns
    assert len({column.strip().casefold() for column in columns}) == len(columns), f"one column per trait: {columns}"


def test_a_none_value_in_any_case_is_left_out(config_path: Path, tmp_path: Path) -> None:
    add_legendary(config_path, 'Type = "Alien King", Eyes = "none", Mouth = " NONE "')
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 12)).exit_code == 0
    document = json.loads((out / "metadata" / "3.json").read_text())
    assert document["attributes"] == [{"trait_type": "Type", "value": "Alien King"}]


def test_a_trait_named_by_its_table_key_takes_its_attribute_name(config_path: Path, tmp_path: Path) -> None:
    edit(config_path, 'sampling = "weighted"', 'sampling = "weighted"\nnames = { eyes = "Eye Wear" }')
    add_legendary(config_path, 'eyes = "Laser", "eye  wear" = "Laser"')
    line = refused(*collection_args(config_path, tmp_path / "out", 12))
    assert "[[one_of_one]] #1 attributes 'eyes' and 'eye  wear' both name the trait 'Eye Wear'; keep one of them" in line
    assert not (tmp_path / "out").exists()


def test_two_spellings_of_one_trait_are_refused(config_path: Path, tmp_path: Path) -> None:
    add_legendary(config_path, 'Hat = "Crown", "hat " = "Tiara"')
    line = refused(*collection_args(config_path, tmp_path / "out", 12))
    assert "attributes 'Hat' and 'hat ' both name the trait 'Hat'; keep one of them" in line
