"""The studio's previews are the collection's own: the sample tokens are the first tokens ``punkgen collection`` makes
from the same tables, pixel for pixel, and the rank preview ranks the planned collection, 1/1s included."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
from conftest import made_collection
from PIL import Image
from studio_running import api, studio


def pixels(data_url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("RGB"))


def test_the_samples_are_the_collections_first_tokens(config_path: Path, tmp_path: Path) -> None:
    out = made_collection(config_path, tmp_path / "out", 100)
    with studio(config_path) as server:
        view = api(server, "GET", "/api/state")[1]
    assert [sample["token"] for sample in view["samples"]] == list(range(1, 13))
    for sample in view["samples"]:
        made = json.loads((out / "metadata" / f"{sample['token']}.json").read_text())
        assert sample["traits"] == made["attributes"]
        assert np.array_equal(
            pixels(sample["image"]), np.asarray(Image.open(out / "images" / f"{sample['token']}.png").convert("RGB"))
        )


def add_legendary(config_path: Path, token_id: int) -> None:
    art = np.full((24, 24, 3), (30, 30, 40), dtype=np.uint8)
    art[4:20, 6:18] = (230, 180, 40)
    Image.fromarray(art).save(config_path.parent / "king.png")
    entry = f'\n[[one_of_one]]\nimage = "king.png"\ntoken_id = {token_id}\nattributes = {{ Hair = "Crown", Type = "King" }}\n'
    config_path.write_text(config_path.read_text() + entry)


def test_a_one_of_one_lands_first_under_every_method_and_moves_are_spreads(config_path: Path) -> None:
    """Its values nobody else has make it the rarest under OpenRarity and under each marketplace method."""
    add_legendary(config_path, 57)
    with studio(config_path) as server:
        ranks = api(server, "GET", "/api/state")[1]["ranks"]
    assert ranks["tokens"] == 100
    [king] = ranks["one_of_ones"]
    assert king["token"] == 57 and set(king["ranks"]) == {"openrarity", "statistical", "howrare", "howrare_normalised"}
    assert king["ranks"] == dict.fromkeys(king["ranks"], 1) and king["spread"] == 0
    spreads = [row["spread"] for row in ranks["moved"]]
    assert spreads == sorted(spreads, reverse=True) and spreads[0] > 0
    assert all(row["spread"] == max(row["ranks"].values()) - min(row["ranks"].values()) for row in ranks["moved"])


def test_a_one_of_one_beyond_the_ranked_tokens_is_still_ranked(config_path: Path) -> None:
    """The variant: in a collection larger than the preview ranks, a 1/1 with a late id is ranked all the same."""
    config_path.write_text(config_path.read_text().replace("size = 100", "size = 3000"))
    add_legendary(config_path, 2999)
    with studio(config_path) as server:
        ranks = api(server, "GET", "/api/state")[1]["ranks"]
    assert ranks["tokens"] == 2000 and [row["token"] for row in ranks["one_of_ones"]] == [2999]


def test_the_toggles_apply_to_every_marketplace_method(config_path: Path) -> None:
    with studio(config_path) as server:
        default = api(server, "GET", "/api/state")[1]["ranks"]
        toggled = api(server, "POST", "/api/edit", {"kind": "toggles", "none_as_value": False, "trait_count": False})[1]["ranks"]
    about = lambda ranks: {m["name"]: m["about"] for m in ranks["methods"] if m["name"] != "openrarity"}  # noqa: E731
    assert all("None counted" in text for text in about(default).values())
    assert all("None not counted, trait count off" in text for text in about(toggled).values())
    assert [row["ranks"] for row in default["moved"]] != [row["ranks"] for row in toggled["moved"]]
