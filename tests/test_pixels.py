"""Grid recovery and palettes: exact on clean upscales, robust to what renders do, palette files round-trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from degrade import Degradation, degrade
from PIL import Image

from generator.errors import UserError
from generator.pixels.palette import Palette, extract_palette, read_palette, write_palette
from generator.pixels.recovery import find_grid, recover

PALETTE = read_palette(REPO / "traits" / "palette.hex")


def sprite_tokens(count: int = 12) -> list[np.ndarray]:
    """Real tokens: the shipped layers composited by the sprite renderer, several hair and eye styles."""
    from generator.config import load_config
    from generator.plan.plan import plan_collection
    from generator.plan.rules import compile_rules
    from generator.plan.traits import load_traits
    from generator.render import RenderJob, create_renderer

    config = load_config(REPO / "traits" / "collection.toml")
    tables = load_traits(config)
    plan = plan_collection(tables, compile_rules(config.rules, tables), count, 3, "weighted", 1)
    renderer = create_renderer("sprites", config, tables)
    return list(renderer.render([RenderJob(t.token_id, t.combo, "", "", 0) for t in plan]))


TOKENS = sprite_tokens()


def upscale(pixels: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(pixels).resize((size, size), Image.Resampling.NEAREST))


@pytest.mark.parametrize("size", [512, 576, 504])
def test_clean_nearest_upscales_come_back_exactly(size: int) -> None:
    for token in TOKENS:
        assert np.array_equal(recover(upscale(token, size), 24, PALETTE).pixels, token)


@pytest.mark.parametrize("shift", [(3, -4), (-2, 2), (4, 4)])
def test_the_grid_is_found_when_the_art_is_shifted(shift: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    render = degrade(TOKENS[0], Degradation(shift=shift), rng)
    grid = find_grid(render, 24)
    for axis in (0, 1):
        # NEAREST puts cell k at pixels k·21.33 + ~0.5; the shift moves it by exactly `shift`
        assert abs(grid.offset[axis] - shift[axis]) < 1.0, (grid.offset, shift)
    assert np.array_equal(recover(render, 24, PALETTE).pixels, TOKENS[0])


def test_noise_blur_jpeg_and_a_colour_cast_are_undone() -> None:
    rng = np.random.default_rng(7)
    exact = []
    for token in TOKENS:
        render = degrade(token, Degradation.random(rng), rng)
        result = recover(render, 24, PALETTE, expected_background=token[0, 0])
        exact.append((result.pixels == token).all(axis=-1).mean())
    assert min(exact) >= 0.995, exact


def test_a_cast_that_clips_highlights() -> None:
    """A warm tint pushes a light background past 255: the clipped channel must not pick a darker colour."""
    rng = np.random.default_rng(3)
    how = Degradation(noise=4.0, gain=(1.03, 1.0, 0.98), offset=(12.0, 2.0, -6.0))
    for token in TOKENS[:6]:
        assert np.array_equal(recover(degrade(token, how, rng), 24, PALETTE).pixels, token)


def test_nearest_is_the_original_recipe() -> None:
    """NEAREST samples one screen pixel per cell: exact on a clean upscale, fooled by noise where mode is not."""
    token = TOKENS[1]
    assert np.array_equal(recover(upscale(token, 512), 24, PALETTE, method="nearest").pixels, token)
    rng = np.random.default_rng(5)
    noisy = degrade(token, Degradation(noise=12.0, offset=(10.0, -10.0, 10.0)), rng)
    nearest = (recover(noisy, 24, PALETTE, method="nearest").pixels == token).all(axis=-1).mean()
    mode = (recover(noisy, 24, PALETTE, method="mode").pixels == token).all(axis=-1).mean()
    assert mode == 1.0 and nearest < 0.99


def test_the_background_becomes_exactly_the_asked_for_colour() -> None:
    token = TOKENS[2]
    rng = np.random.default_rng(11)
    result = recover(degrade(token, Degradation(noise=6.0, blur=1.5, jpeg=85), rng), 24, PALETTE, expected_background=token[0, 0])
    assert result.background[0, 0] and result.background.sum() > 150
    assert (result.pixels[result.background] == token[0, 0]).all()
    assert result.background_distance < 2.0


def test_a_wrong_background_is_measured_not_hidden() -> None:
    token = TOKENS[2]
    asked = np.array([255, 0, 255], dtype=np.uint8)  # magenta, far from every shipped background
    result = recover(upscale(token, 512), 24, PALETTE, expected_background=asked)
    assert result.background_distance > 40
    assert (result.pixels[result.background] == token[0, 0]).all(), "the palette colour it is, not the one asked for"


def test_without_a_palette_colours_are_only_rounded() -> None:
    token = TOKENS[3]
    assert np.array_equal(recover(upscale(token, 512), 24, None).pixels, token)


@pytest.mark.parametrize("suffix", [".hex", ".gpl"])
def test_palette_files_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"palette{suffix}"
    write_palette(path, PALETTE)
    again = read_palette(path)
    assert np.array_equal(again.colors, PALETTE.colors) and len(again) == 43


def test_hex_palette_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.hex"
    path.write_text("ffffff\n00000g\n")
    with pytest.raises(UserError, match="bad.hex line 2: '00000g' is not a colour"):
        read_palette(path)


def test_gpl_palette_reads_gimp_files(tmp_path: Path) -> None:
    path = tmp_path / "gimp.gpl"
    path.write_text("GIMP Palette\nName: test\nColumns: 2\n#\n255   0   0\tred\n  0   0 255 blue\n")
    assert read_palette(path).colors.tolist() == [[0, 0, 255], [255, 0, 0]]


def test_extract_collects_every_colour_of_the_originals() -> None:
    extracted = extract_palette([REPO / "traits" / "layers"])
    assert np.array_equal(extracted.colors, PALETTE.colors)


def test_extract_refuses_big_images(tmp_path: Path) -> None:
    Image.new("RGB", (512, 512)).save(tmp_path / "render.png")
    with pytest.raises(UserError, match="512×512 is not small pixel art"):
        extract_palette([tmp_path])


def test_nearest_palette_colour_is_perceptual() -> None:
    palette = Palette(np.array([[0, 0, 0], [128, 128, 128], [255, 255, 255]], dtype=np.uint8))
    assert palette.nearest(np.array([[10, 10, 10], [120, 130, 125], [250, 250, 250]])).tolist() == [0, 1, 2]


def test_without_a_palette_a_noisy_render_keeps_its_cell_means() -> None:
    """No palette: nothing to snap to and no cast to fit, so each cell is its interior mean, rounded
    (and the background region one colour, as always)."""
    from generator.pixels.recovery import cell_statistics

    rng = np.random.default_rng(8)
    render = degrade(TOKENS[4], Degradation(noise=6.0, offset=(5.0, -3.0, 2.0)), rng)
    result = recover(render, 24, None)
    means = np.clip(np.rint(cell_statistics(render, result.grid, 24)[0]), 0, 255).astype(np.uint8)
    subject = ~result.background
    assert subject.sum() > 100 and np.array_equal(result.pixels[subject], means[subject])
    assert len(np.unique(result.pixels[result.background], axis=0)) == 1
