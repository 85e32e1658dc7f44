"""A 1/1 with a name of its own cannot be rendered on chain (the contract writes every token's name as the
collection's name and its id): ``export --onchain`` refuses it in one line naming the token, its name and the setting
to change, wherever the token sits (the first token included, whose name the contract's template once came from)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import collection_args, refused, run_cli
from PIL import Image


def add_named_one_of_one(config_path: Path, token_id: int, name: str) -> None:
    pixels = np.full((24, 24, 3), (30, 30, 40), dtype=np.uint8)
    pixels[4:20, 6:18] = (200, 30, 30)
    Image.fromarray(pixels).save(config_path.parent / "king.png")
    entry = f'\n[[one_of_one]]\nimage = "king.png"\ntoken_id = {token_id}\nname = "{name}"\nattributes = {{ Type = "King" }}\n'
    config_path.write_text(config_path.read_text() + entry)


def made(config_path: Path, out: Path) -> Path:
    assert run_cli(*collection_args(config_path, out, 3)).exit_code == 0
    return out


def test_a_one_of_one_with_its_own_name_is_refused_naming_the_setting(config_path: Path, tmp_path: Path) -> None:
    add_named_one_of_one(config_path, 2, "The Red King")
    out = made(config_path, tmp_path / "out")
    line = refused("export", out, "--onchain", "--no-gas", "--config", config_path)
    assert "token 2 is named 'The Red King'" in line and "[[one_of_one]].name" in line
    assert not (out / "export" / "onchain").exists()


def test_a_first_token_named_like_a_series_is_refused_as_itself_not_the_others(config_path: Path, tmp_path: Path) -> None:
    add_named_one_of_one(config_path, 1, "King #1")  # ends in '#1', so it once set the name of every other token
    out = made(config_path, tmp_path / "out")
    line = refused("export", out, "--onchain", "--no-gas", "--config", config_path)
    assert "token 1 is named 'King #1'" in line


def test_a_one_of_one_named_as_every_token_is_exported(config_path: Path, tmp_path: Path) -> None:
    add_named_one_of_one(config_path, 2, "Bespoke Punks #2")
    out = made(config_path, tmp_path / "out")
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config_path).exit_code == 0
