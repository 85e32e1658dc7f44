"""`punkgen pixelate` and `punkgen palette extract` through the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli, run_importing_none_of
from PIL import Image
from test_pixels import TOKENS, upscale

from generator.degrade import Degradation, degrade


def renders(folder: Path, count: int = 4) -> list[np.ndarray]:
    folder.mkdir()
    rng = np.random.default_rng(4)
    for n, token in enumerate(TOKENS[:count]):
        render = degrade(token, Degradation(noise=5.0, blur=1.0, shift=(2, -1)), rng)
        Image.fromarray(render).save(folder / f"render-{n}.jpg" if n % 2 else folder / f"render-{n}.png", quality=92)
    return TOKENS[:count]


def test_pixelate_a_folder(tmp_path: Path) -> None:
    truths = renders(tmp_path / "in")
    result = run_cli("pixelate", tmp_path / "in", tmp_path / "out", "--palette", REPO / "traits" / "palette.hex", "--quiet")
    assert result.exit_code == 0, result.output
    assert "4 images → " in result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["render-0.png", "render-1.png", "render-2.png", "render-3.png"]
    for n, truth in enumerate(truths):
        with Image.open(tmp_path / "out" / f"render-{n}.png") as image:
            assert np.array_equal(np.asarray(image.convert("RGB")), truth)


def test_a_bad_file_stops_everything_before_anything_is_written(tmp_path: Path) -> None:
    renders(tmp_path / "in")
    (tmp_path / "in" / "notes.png").write_text("not an image")
    result = run_cli("pixelate", tmp_path / "in", tmp_path / "out", "--quiet")
    assert result.exit_code == 2
    assert "notes.png: not a readable image" in result.output and "--keep-going" in result.output
    assert not (tmp_path / "out").exists()


def test_keep_going_converts_the_rest_and_still_exits_2(tmp_path: Path) -> None:
    renders(tmp_path / "in")
    Image.new("RGB", (512, 300)).save(tmp_path / "in" / "wide.png")
    result = run_cli("pixelate", tmp_path / "in", tmp_path / "out", "--keep-going", "--quiet")
    assert result.exit_code == 2
    assert "wide.png: 512×300 is not a square render of at least 24×24" in result.output
    assert len(list((tmp_path / "out").iterdir())) == 4


def test_nearest_method_and_other_sizes(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    Image.fromarray(upscale(TOKENS[0], 576)).save(tmp_path / "in" / "big.png")
    result = run_cli("pixelate", tmp_path / "in", tmp_path / "out", "--method", "nearest", "--quiet")
    assert result.exit_code == 0
    with Image.open(tmp_path / "out" / "big.png") as image:
        assert np.array_equal(np.asarray(image), TOKENS[0])


def test_missing_source_folder(tmp_path: Path) -> None:
    result = run_cli("pixelate", tmp_path / "nope", tmp_path / "out")
    assert result.exit_code == 2 and "nope: not a folder" in result.output


def test_palette_extract(tmp_path: Path) -> None:
    result = run_cli("palette", "extract", REPO / "traits" / "layers", "-o", tmp_path / "p.gpl")
    assert result.exit_code == 0 and "43 colours" in result.output
    assert (tmp_path / "p.gpl").read_text().startswith("GIMP Palette\n")


def test_palette_extract_refuses_renders(tmp_path: Path) -> None:
    Image.new("RGB", (512, 512)).save(tmp_path / "render.png")
    result = run_cli("palette", "extract", tmp_path, "-o", tmp_path / "p.hex")
    assert result.exit_code == 2 and "render.png: 512×512 is not small pixel art" in result.output
    assert not (tmp_path / "p.hex").exists()


@pytest.mark.slow
def test_pixelate_imports_no_torch_and_uses_workers_for_big_folders(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    render = upscale(TOKENS[0], 512)
    for n in range(80):  # above the worker threshold
        Image.fromarray(render).save(source / f"{n:03d}.png", compress_level=1)
    run_importing_none_of(("torch",), "pixelate", source, tmp_path / "out", "--quiet")
    outputs = sorted((tmp_path / "out").iterdir())
    assert len(outputs) == 80
    with Image.open(outputs[-1]) as image:
        assert np.array_equal(np.asarray(image), TOKENS[0])
