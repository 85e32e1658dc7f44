"""Frames on split layers: a part drawn at another depth may be a strip too, and each frame is drawn in the token's
own drawing order (``[[depth]]`` overrides included), equal to Pillow's ``alpha_composite`` of that frame's files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from conftest import manifest_records, run_cli
from depth_art import EARRING_OVER_LONG_HAIR, SIZE, art_path, trait_folder
from PIL import Image, ImageSequence

FRAME_MS = 100


def animate(folder: Path) -> None:
    """The cap's back (a part behind the head) flaps in 2 frames, as a folder; the gold earring glints in 3, side by
    side. A token with both animates over 6 frames."""
    back = art_path(folder, "hat", "back", "Cap")
    frames = back.with_suffix("")
    frames.mkdir()
    shutil.move(back, frames / "0.png")
    flap = np.asarray(Image.open(frames / "0.png")).copy()
    flap[2:4] = 0  # the back's top two rows fold away
    Image.fromarray(flap, "RGBA").save(frames / "1.png")
    earring = art_path(folder, "earring", "", "Gold")
    gold = np.asarray(Image.open(earring).convert("RGBA"))
    glint = gold.copy()
    glint[14, 5] = (255, 255, 255, 255)
    Image.fromarray(np.concatenate([gold, glint, np.zeros_like(gold)], axis=1), "RGBA").save(earring)


def frame_file(folder: Path, trait: str, part: str, value: str, frame: int) -> Image.Image | None:
    path = art_path(folder, trait, part, value)
    if path.with_suffix("").is_dir():
        count = len(list(path.with_suffix("").glob("*.png")))
        return Image.open(path.with_suffix("") / f"{frame % count}.png").convert("RGBA")
    if not path.exists():
        return None
    layer = Image.open(path).convert("RGBA")
    count = layer.width // SIZE
    return layer.crop(((frame % count) * SIZE, 0, (frame % count + 1) * SIZE, SIZE))


def by_hand(folder: Path, traits: dict[str, str], frame: int) -> np.ndarray:
    """Frame ``frame`` composited by hand in the token's order: the cap's back behind the head, the earring over the
    hair where the override lifts it (long hair)."""
    earring_high = traits["hair"] == "Long"
    order = ["background", "hat:back", "head", *(["hair", "earring"] if earring_high else ["earring", "hair"]), "hat"]
    canvas = Image.new("RGBA", (SIZE, SIZE))
    for entry in order:
        trait, _, part = entry.partition(":")
        layer = frame_file(folder, trait, part, traits[trait], frame)
        if layer is not None:
            canvas = Image.alpha_composite(canvas, layer)
    return np.asarray(canvas)[..., :3]


def test_a_split_part_and_an_overridden_layer_animate_in_each_tokens_order(tmp_path: Path) -> None:
    folder = tmp_path / "traits"
    config = trait_folder(folder, depth=EARRING_OVER_LONG_HAIR)
    animate(folder)
    out = tmp_path / "out"
    result = run_cli("collection", "--config", config, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    counts = set()
    for record in manifest_records(out):
        traits, token_id = record["traits"], record["token_id"]
        count = (2 if traits["hat"] == "Cap" else 1) * (3 if traits["earring"] == "Gold" else 1)
        counts.add((count, traits["hair"] == "Long"))
        gif = out / "animations" / f"{token_id}.gif"
        assert np.array_equal(
            np.asarray(Image.open(out / "images" / f"{token_id}.png").convert("RGB")), by_hand(folder, traits, 0)
        )
        assert gif.exists() == (count > 1)
        if count == 1:
            continue
        with Image.open(gif) as image:
            played = [
                np.asarray(frame.convert("RGB"))
                for frame in ImageSequence.Iterator(image)
                for _ in range(frame.info["duration"] // FRAME_MS)
            ]
        assert len(played) == count
        for number, frame in enumerate(played):
            assert np.array_equal(frame, by_hand(folder, traits, number)), (token_id, number)
        assert json.loads((out / "metadata" / f"{token_id}.json").read_text())["image"].endswith(".gif")
    assert {(6, True), (6, False)} <= counts, "both drawing orders animated over lcm(2, 3) frames"
    assert run_cli("verify", out, "--config", config).exit_code == 0
