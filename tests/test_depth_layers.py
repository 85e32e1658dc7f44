"""Split layers and depth (issue 32): a trait's art in several parts at different depths, and ``[[depth]]``
overrides per combination, drawn exactly as Pillow composites the same files in the order written out here."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pytest
from depth_art import ART, EARRING_OVER_LONG_HAIR, TABLES, art_path, by_hand, trait_folder
from PIL import Image

from generator.config import load_config
from generator.plan.traits import load_traits
from generator.render.layers import load_layers

# The drawing orders, written out by hand: (trait, part, value-of-that-trait) with the value filled in per token.
SPLIT_CAP = [("background", ""), ("hat", "back"), ("head", ""), ("earring", ""), ("hair", ""), ("hat", "")]
EARRING_LIFTED = [("background", ""), ("hat", "back"), ("head", ""), ("hair", ""), ("earring", ""), ("hat", "")]


def layers_of(config: Path):
    config_ = load_config(config)
    tables = load_traits(config_)
    return load_layers(config_, tables), tables


def at(tables, key: str) -> int:
    return next(i for i, table in enumerate(tables) if table.key == key)


def every_combo(tables) -> np.ndarray:
    return np.array(list(itertools.product(*(range(len(table.values)) for table in tables))))


def expected(folder: Path, tables, combo, order) -> np.ndarray:
    values = {table.key: table.values[i].name for table, i in zip(tables, combo, strict=True)}
    return by_hand(folder, [(trait, part, values[trait]) for trait, part in order])


def test_a_split_cap_draws_its_back_behind_head_and_hair_and_its_brim_in_front(tmp_path: Path) -> None:
    layers, tables = layers_of(trait_folder(tmp_path))
    combos = every_combo(tables)
    drawn = layers.composite(combos)
    for combo, token in zip(combos, drawn, strict=True):
        assert np.array_equal(token, expected(tmp_path, tables, combo, SPLIT_CAP)), combo
    back = by_hand(tmp_path, [("hat", "back", "Cap")])[3, 4]
    shows_back = (drawn[:, 3, 4] == back).all(axis=-1)
    hat = at(tables, "hat")
    assert np.array_equal(shows_back, combos[:, hat] == tables[hat].index_of("Cap"))  # beside the head; a beanie has none


def test_an_override_lifts_the_earring_over_long_hair_only(tmp_path: Path) -> None:
    layers, tables = layers_of(trait_folder(tmp_path, depth=EARRING_OVER_LONG_HAIR))
    combos = every_combo(tables)
    drawn = layers.composite(combos)  # one batch holding both orders
    hair, earring = at(tables, "hair"), at(tables, "earring")
    long_hair = tables[hair].index_of("Long")
    for combo, token in zip(combos, drawn, strict=True):
        order = EARRING_LIFTED if combo[hair] == long_hair else SPLIT_CAP
        assert np.array_equal(token, expected(tmp_path, tables, combo, order)), combo
    gold = by_hand(tmp_path, [("earring", "", "Gold")])[15, 5]
    lifted = drawn[(combos[:, hair] == long_hair) & (combos[:, earring] == tables[earring].index_of("Gold"))]
    assert len(lifted) and (lifted[:, 15, 5] == gold).all()


def test_the_trait_owning_a_pixel_is_the_trait_of_the_part_painted_last(tmp_path: Path) -> None:
    layers, tables = layers_of(trait_folder(tmp_path, depth=EARRING_OVER_LONG_HAIR))
    hat, earring, hair = at(tables, "hat"), at(tables, "earring"), at(tables, "hair")
    chosen = {hair: tables[hair].index_of("Long"), hat: tables[hat].index_of("Cap"), earring: tables[earring].index_of("Gold")}
    combo = tuple(chosen.get(trait, 0) for trait in range(len(tables)))
    pixels, owner = layers.expectation(combo)
    assert np.array_equal(pixels, layers.composite(np.array([combo]))[0])
    assert owner[3, 4] == hat  # the cap's back, outside head and hair
    assert owner[8, 12] == hair and owner[5, 12] == hat  # hair over the back; the brim over the hair
    assert owner[15, 5] == earring  # lifted over the long hair by the override
    short = tuple(tables[hair].index_of("Short") if trait == hair else value for trait, value in enumerate(combo))
    assert layers.expectation(short)[1][15, 5] == earring  # nothing covers it under short hair


def test_a_collar_behind_the_head_and_a_tie_in_front_and_an_override_below(tmp_path: Path) -> None:
    """The variant: a part with partial alpha (the blend path), and an override that moves a trait ``below``."""
    art = {key: rects for key, rects in ART.items() if key[0] in ("background", "head")}
    art |= {
        ("shirt", "", "Tie"): [(18, 11, 24, 13, 60, 255)],
        ("shirt", "collar", "Tie"): [(17, 5, 24, 19, 61, 160)],
        ("shirt", "", "Plain"): [(21, 8, 24, 16, 62, 255)],
    }
    tables = {"background": ["Blue", "Green"], "head": ["Pale", "Dark"], "shirt": ["Tie", "Plain"]}
    depth = '[[depth]]\nwhen = { head = "Dark" }\nmove = "shirt"\nbelow = "head"\n'
    config = trait_folder(tmp_path, ["background", "shirt:collar", "head", "shirt"], depth, art, tables)
    layers, loaded = layers_of(config)
    combos = every_combo(loaded)
    for combo, token in zip(combos, layers.composite(combos), strict=True):
        if loaded[at(loaded, "head")].values[combo[at(loaded, "head")]].name == "Dark":
            order = [("background", ""), ("shirt", "collar"), ("shirt", ""), ("head", "")]
        else:
            order = [("background", ""), ("shirt", "collar"), ("head", ""), ("shirt", "")]
        assert np.array_equal(token, expected(tmp_path, loaded, combo, order)), combo


def legacy_digest(folder: Path, tables) -> str:
    """The layers' digest as punkgen computed it before parts existed: what every existing run.json holds."""
    digest = hashlib.sha256()
    for table in tables:
        for i in table.enabled_indices:
            data = (folder / "layers" / table.key / table.values[i].layer).read_bytes()
            digest.update(f"{table.key}/{table.values[i].name}\0".encode() + hashlib.sha256(data).digest())
    return digest.hexdigest()


def test_a_folder_without_parts_keeps_its_digest_and_its_pixels(tmp_path: Path) -> None:
    simple = {key: rects for key, rects in ART.items() if not key[1]}
    config = trait_folder(tmp_path, ["background", "head", "earring", "hair", "hat"], art=simple)
    layers, tables = layers_of(config)
    assert layers.digest == legacy_digest(tmp_path, tables)
    order = [("background", ""), ("head", ""), ("earring", ""), ("hair", ""), ("hat", "")]
    combos = every_combo(tables)
    for combo, token in zip(combos, layers.composite(combos), strict=True):
        assert np.array_equal(token, expected(tmp_path, tables, combo, order))


@pytest.mark.parametrize(
    "change",
    ["part art", "part placement", "override"],
)
def test_the_digest_follows_the_parts_and_the_overrides(tmp_path: Path, change: str) -> None:
    before, _ = layers_of(trait_folder(tmp_path / "a"))
    if change == "part art":
        config = trait_folder(tmp_path / "b", art=ART | {("hat", "back", "Cap"): [(2, 4, 14, 20, 42, 255)]})
    elif change == "part placement":
        config = trait_folder(tmp_path / "b", ["background", "head", "hat:back", "earring", "hair", "hat"])
    else:
        config = trait_folder(tmp_path / "b", depth=EARRING_OVER_LONG_HAIR)
    after, _ = layers_of(config)
    assert after.digest != before.digest
    assert layers_of(trait_folder(tmp_path / "c"))[0].digest == before.digest  # the same declaration: the same digest


def test_stacks_are_each_traits_main_art(tmp_path: Path) -> None:
    layers, tables = layers_of(trait_folder(tmp_path))
    assert [len(stack) for stack in layers.stacks] == [len(TABLES[table.key]) for table in tables]
    hat = at(tables, "hat")
    with Image.open(art_path(tmp_path, "hat", "", "Cap")) as main:
        assert np.array_equal(layers.stacks[hat][tables[hat].index_of("Cap")], np.asarray(main.convert("RGBA")))


def test_hybrids_sketch_is_the_depth_composite_upscaled(tmp_path: Path) -> None:
    """The hybrid backend starts img2img from the sprite composite: a split cap and a lifted earring show in it. Its
    diffusion half is a stand-in here (the sketch is all this checks); tests/test_diffusion.py runs the real one."""
    from types import SimpleNamespace

    from generator.render import RenderJob
    from generator.render.hybrid import HybridRenderer
    from generator.render.sprites import create as create_sprites

    config = load_config(trait_folder(tmp_path, depth=EARRING_OVER_LONG_HAIR))
    tables = load_traits(config)
    sketches = []
    hybrid = object.__new__(HybridRenderer)  # no weights: __init__ would build the img2img pipeline
    hybrid.sprites, hybrid.img2img, hybrid.strength = create_sprites(config, tables), None, 0.5
    hybrid.diffusion = SimpleNamespace(
        settings=SimpleNamespace(width=96, height=96), run=lambda pipe, jobs, image, strength: sketches.extend(image)
    )
    combos = [tuple(row) for row in every_combo(tables)[::7]]
    hybrid.render([RenderJob(i, combo, "", "", i) for i, combo in enumerate(combos)])
    hair = at(tables, "hair")
    assert {tables[hair].values[combo[hair]].name for combo in combos} == {"Short", "Long"}  # both orders sketched
    for combo, sketch in zip(combos, sketches, strict=True):
        order = EARRING_LIFTED if tables[hair].values[combo[hair]].name == "Long" else SPLIT_CAP
        token = expected(tmp_path, tables, combo, order)
        assert np.array_equal(np.asarray(sketch), np.repeat(np.repeat(token, 4, axis=0), 4, axis=1)), combo
