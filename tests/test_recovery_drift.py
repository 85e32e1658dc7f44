"""Recovery under a real model's local colour drift (issue 29): the drift field, and near-twins resolved by the layers.

Renders at 256 px keep it fast; the drift, vignette, texture and Lanczos resampling are bench/degrade.py's.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli
from degrade import Degradation, degrade
from PIL import Image

from generator.config import load_config
from generator.pixels.palette import read_palette, write_palette
from generator.pixels.recovery import recover
from generator.plan.traits import load_traits
from generator.render.layers import load_layers

CONFIG = load_config(REPO / "traits" / "collection.toml")
TABLES = load_traits(CONFIG)
LAYERS = load_layers(CONFIG, TABLES)
PALETTE = read_palette(REPO / "traits" / "palette.hex")
TWINS = np.array([[219, 177, 128], [220, 176, 137]], dtype=np.uint8)  # Medium's skin and Light's: 9 levels apart


def token(**values: str) -> np.ndarray:
    """The layers' art for the named values (the others: each trait's first)."""
    combo = tuple(
        next(i for i, v in enumerate(table.values) if v.name == values.get(table.key, table.values[0].name)) for table in TABLES
    )
    return LAYERS.expectation(combo)[0]


MEDIUM = token(background="Sky", type="Medium", hair="Messy Brown", eyes="Blue", mouth="Smile")
LIGHT = token(background="Sage", type="Light", hair="Long Blonde", eyes="Green", mouth="Neutral", accessory="Earring")


def painted(art: np.ndarray, colour: np.ndarray) -> np.ndarray:
    return (art == colour).all(axis=-1)


def test_the_tokens_hold_the_near_twins() -> None:
    assert painted(MEDIUM, TWINS[0]).sum() > 100 and painted(LIGHT, TWINS[1]).sum() >= 8


def drifted(art: np.ndarray, amplitude: float, shape: int, **more: object) -> np.ndarray:
    """A 256 px render of ``art`` under a drift of ``amplitude`` levels in every channel (``shape`` picks the field),
    a tint, noise σ 4 and JPEG 90, plus ``more`` (vignette, texture, rendered_at…)."""
    rng = np.random.default_rng(shape)
    how = Degradation(
        256, shift=(2, -1), blur=0.6, noise=4.0, gain=(1.02, 0.98, 1.01), offset=(3.0, -4.0, 2.0), jpeg=90,
        drift=(amplitude,) * 3, drift_seed=shape,
    )  # fmt: skip
    return degrade(art, replace(how, **more), rng)


@pytest.mark.parametrize(("amplitude", "shape"), [(4.0, 1), (6.0, 5), (6.0, 6), (8.0, 5)])
def test_a_drift_of_several_levels_is_taken_off_before_colours_are_decided(amplitude: float, shape: int) -> None:
    """Slopes, bends and saddles of 4–8 levels and a 4 % vignette: one global cast left 1–32 skin cells 9 levels from
    their twin flipped in three of these four; the field takes the drift off and the palette alone decides, exactly
    (no layers given)."""
    for art in (MEDIUM, LIGHT):
        assert np.array_equal(recover(drifted(art, amplitude, shape, vignette=0.04), 24, PALETTE).pixels, art)


REAL_MODEL = {"vignette": 0.04, "texture": 2.0, "unsharp": 60}  # texture σ 2 leaves ~2 levels on a 256 px cell


@pytest.mark.parametrize("shape", [7, 8, 9])
def test_the_layers_colour_breaks_a_tie_between_near_twins(shape: int) -> None:
    """With a real model's texture a cell's mean is off by ~2 levels, and one skin cell in a few hundred reads nearer
    the twin; the layers' colour wins those, and the whole token comes back."""
    for art in (MEDIUM, LIGHT):
        render = drifted(art, 5.0, shape, **REAL_MODEL)
        assert np.array_equal(recover(render, 24, PALETTE, expected=art).pixels, art)


def test_a_drifted_1024_render_resampled_with_lanczos_and_vignetted_comes_back() -> None:
    """A variant the issue does not list: made at 1024, Lanczos-resampled to 256 (cell edges between pixels), drift,
    vignette and unsharp mask together, with and without the layers."""
    for art, shape in ((MEDIUM, 11), (LIGHT, 12)):
        render = drifted(art, 5.0, shape, rendered_at=1024, vignette=0.04, unsharp=60)
        assert np.array_equal(recover(render, 24, PALETTE).pixels, art)
        assert np.array_equal(recover(render, 24, PALETTE, expected=art).pixels, art)


@pytest.mark.parametrize(
    ("rendered", "claimed"),
    [
        ({"eyes": "Green"}, {"eyes": "Blue"}),  # another eye colour
        ({"hair": "Messy Blonde"}, {"hair": "Messy Brown"}),  # other hair
        ({"type": "Light"}, {"type": "Medium"}),  # a skin rendered in its near-twin's type: 9 levels in blue
    ],
)
def test_a_trait_swap_comes_out_as_rendered_even_with_the_claim_given(rendered: dict, claimed: dict) -> None:
    """The layers' colours only break ties: a render of another trait value keeps that value's colours, even where the
    claimed colour is a near-twin of the rendered one (Light's 8 highlight cells are Medium's skin in the claim). Light
    texture and no unsharp mask (at 256 px its radius of 2 px rings across a 1-cell highlight), so that what comes out
    without the claim is already exact: the claim must change nothing."""
    base = {"background": "Sky", "type": "Medium", "hair": "Messy Brown", "eyes": "Blue", "mouth": "Smile"}
    drawn, claim = token(**base | rendered), token(**base | claimed)
    assert (drawn != claim).any(axis=-1).sum() >= 2  # eyes: two cells
    for shape in (1, 2):
        render = drifted(drawn, 5.0, shape, vignette=0.04, texture=1.0)
        assert np.array_equal(recover(render, 24, PALETTE).pixels, drawn)
        assert np.array_equal(recover(render, 24, PALETTE, expected=claim).pixels, drawn)


def test_an_expected_token_off_the_palette_is_never_written() -> None:
    """A layers' colour the palette lacks cannot be what the render reads: the palette's colours come out."""
    claim = MEDIUM.copy()
    claim[painted(MEDIUM, TWINS[0])] = (219, 177, 131)  # 3 levels from the skin, in no palette
    render = drifted(MEDIUM, 3.0, 1)
    assert np.array_equal(recover(render, 24, PALETTE, expected=claim).pixels, MEDIUM)


def test_pixelate_recovers_a_drifted_render_exactly_without_layers(tmp_path: Path) -> None:
    """`punkgen pixelate` has no claim: the palette alone decides, and the drift field is what keeps it exact."""
    (tmp_path / "in").mkdir()
    for name, art, shape in (("medium", MEDIUM, 3), ("light", LIGHT, 6)):
        Image.fromarray(drifted(art, 6.0, shape, vignette=0.03)).save(tmp_path / "in" / f"{name}.png")
    write_palette(tmp_path / "palette.hex", PALETTE)
    result = run_cli("pixelate", tmp_path / "in", tmp_path / "out", "--palette", tmp_path / "palette.hex", "--quiet")
    assert result.exit_code == 0, result.output
    for name, art in (("medium", MEDIUM), ("light", LIGHT)):
        with Image.open(tmp_path / "out" / f"{name}.png") as image:
            assert np.array_equal(np.asarray(image.convert("RGB")), art)
