"""`punkgen pixelate` and `punkgen palette extract` through the CLI."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli, run_importing_none_of
from degrade import Degradation, degrade
from PIL import Image
from test_pixels import TOKENS, upscale

PALETTE = REPO / "traits" / "palette.hex"


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


def test_the_progress_bar_knows_the_count_before_the_first_conversion(tmp_path: Path) -> None:
    renders(tmp_path / "in")
    result = run_cli("pixelate", tmp_path / "in", tmp_path / "out", "--palette", PALETTE)
    assert result.exit_code == 0, result.output
    shown = result.output.replace("\r", "\n")
    assert "0/4 [" in shown and "4/4 [" in shown


def test_a_bad_file_stops_everything_before_anything_is_written(tmp_path: Path) -> None:
    renders(tmp_path / "in")
    (tmp_path / "in" / "notes.png").write_text("not an image")
    result = run_cli("pixelate", tmp_path / "in", tmp_path / "out", "--quiet")
    assert result.exit_code == 2
    assert "notes.png: not a readable image" in result.output and "--keep-going" in result.output
    assert not (tmp_path / "out").exists()


def test_keep_going_converts_the_rest_and_still_exits_2(tmp_path: Path) -> None:
    renders(tmp_path / "in")
    Image.new("RGB", (512, 16)).save(tmp_path / "in" / "thin.png")
    result = run_cli("pixelate", tmp_path / "in", tmp_path / "out", "--keep-going", "--quiet")
    assert result.exit_code == 2
    assert "thin.png: 512×16 is smaller than the 24×24 it would become" in result.output
    assert len(list((tmp_path / "out").iterdir())) == 4


def test_a_non_square_render_is_converted(tmp_path: Path) -> None:
    """A UI's 512×768 portrait holds the art stretched to fill it: read per axis, not refused."""
    (tmp_path / "in").mkdir()
    render = np.asarray(Image.fromarray(TOKENS[1]).resize((512, 768), Image.Resampling.NEAREST))
    Image.fromarray(render).save(tmp_path / "in" / "portrait.png")
    result = run_cli("pixelate", tmp_path / "in", tmp_path / "out", "--palette", PALETTE, "--quiet")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / "portrait.png") as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), TOKENS[1])


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
    run_importing_none_of(("torch", "tqdm"), "pixelate", source, tmp_path / "out", "--quiet")  # quiet: no bar to import
    outputs = sorted((tmp_path / "out").iterdir())
    assert len(outputs) == 80
    with Image.open(outputs[-1]) as image:
        assert np.array_equal(np.asarray(image), TOKENS[0])


# ── the renders are inputs only, and TARGET must be a folder punkgen can write ─────────────────


def refused(*args: object) -> str:
    """Exit 2 with one line and no traceback; returns that line."""
    result = run_cli("pixelate", *args, "--quiet")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def test_target_is_the_source_folder_by_any_path(tmp_path: Path) -> None:
    renders(tmp_path / "in")
    before = snapshot(tmp_path / "in")
    (tmp_path / "link").symlink_to(tmp_path / "in", target_is_directory=True)
    for target in (tmp_path / "in", tmp_path / "in" / ".", tmp_path / "in" / ".." / "in", tmp_path / "link"):
        line = refused(tmp_path / "in", target)
        assert f"{target} is the source folder {tmp_path / 'in'}: the 4 results would overwrite or mix" in line, line
        assert "choose another TARGET (e.g. in-pixels)" in line
    assert snapshot(tmp_path / "in") == before, "the 512 px renders are untouched, nothing added"
    assert refused(tmp_path / "link", tmp_path / "in").startswith(f"Error: {tmp_path / 'in'} is the source folder")


def test_a_render_linked_in_from_target_is_not_overwritten(tmp_path: Path) -> None:
    renders(tmp_path / "in")
    (tmp_path / "out").mkdir()
    (tmp_path / "in" / "render-0.png").rename(tmp_path / "out" / "render-0.png")
    (tmp_path / "in" / "render-0.png").symlink_to(tmp_path / "out" / "render-0.png")
    render = (tmp_path / "out" / "render-0.png").read_bytes()
    line = refused(tmp_path / "in", tmp_path / "out")
    assert f"{tmp_path / 'out' / 'render-0.png'} would overwrite the render {tmp_path / 'in' / 'render-0.png'}" in line
    assert (tmp_path / "out" / "render-0.png").read_bytes() == render and len(list((tmp_path / "out").iterdir())) == 1


def test_two_renders_of_one_name_are_refused(tmp_path: Path) -> None:
    renders(tmp_path / "in")
    Image.open(tmp_path / "in" / "render-1.jpg").save(tmp_path / "in" / "render-1.png")
    line = refused(tmp_path / "in", tmp_path / "out")
    assert f"{tmp_path / 'in' / 'render-1.jpg'} and {tmp_path / 'in' / 'render-1.png'} would both become" in line
    assert "rename one of them" in line and not (tmp_path / "out").exists()


def test_target_inside_source_or_source_inside_target_is_fine(tmp_path: Path) -> None:
    truths = renders(tmp_path / "in")
    for _ in range(2):  # the second run reads only the renders: results in a subfolder are not inputs
        result = run_cli("pixelate", tmp_path / "in", tmp_path / "in" / "24px", "--palette", PALETTE, "--quiet")
        assert result.exit_code == 0 and result.output.startswith("4 images → "), result.output
    with Image.open(tmp_path / "in" / "24px" / "render-3.png") as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), truths[3])
    result = run_cli("pixelate", tmp_path / "in", tmp_path, "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("render-*.png")) == [f"render-{n}.png" for n in range(4)]


def test_target_that_cannot_be_a_folder(tmp_path: Path) -> None:
    renders(tmp_path / "in")
    (tmp_path / "notes.txt").write_text("mine")
    line = refused(tmp_path / "in", tmp_path / "notes.txt" / "out")
    assert line == (
        f"Error: {tmp_path / 'notes.txt' / 'out'}: cannot make this folder ({tmp_path / 'notes.txt'} is a file, not a folder); "
        "choose another TARGET"
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "render-2.png").mkdir()
    line = refused(tmp_path / "in", tmp_path / "out")
    assert f"{tmp_path / 'out' / 'render-2.png'} is a folder, where a result goes" in line
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["render-2.png"], "nothing converted"
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_target_the_system_will_not_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only mount, which answers access() for root too (chmod would not stop root)."""
    renders(tmp_path / "in")
    (tmp_path / "out").mkdir()
    real_access = os.access

    def read_only(path: object, mode: int, **kwargs: object) -> bool:
        return not (Path(os.fsdecode(path)) == tmp_path / "out" and mode & os.W_OK) and real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", read_only)
    line = refused(tmp_path / "in", tmp_path / "out")
    assert line.startswith(f"Error: {tmp_path / 'out'}: not writable (read-only, or no permission)"), line
    assert not list((tmp_path / "out").iterdir())


def test_a_full_disk_names_the_result_and_leaves_no_staged_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renders(tmp_path / "in")
    real_write = Path.write_bytes

    def full(path: Path, data: bytes) -> int:
        if path.parent == tmp_path / "out":
            real_write(path, data[:10])  # the disk fills mid-file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_write(path, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    line = refused(tmp_path / "in", tmp_path / "out")
    assert line.startswith(f"Error: {tmp_path / 'out' / 'render-0.png'}: no space left on the device; "), line
    assert not list((tmp_path / "out").iterdir()), "no staged .partial file left behind"


def test_an_image_that_breaks_inside_is_reported(tmp_path: Path) -> None:
    """A PNG whose header reads but whose data is cut (a copy interrupted): reported by name with --keep-going."""
    renders(tmp_path / "in")
    data = (tmp_path / "in" / "render-0.png").read_bytes()
    (tmp_path / "in" / "render-0.png").write_bytes(data[: len(data) // 2])
    result = run_cli("pixelate", tmp_path / "in", tmp_path / "out", "--keep-going", "--quiet")
    assert result.exit_code == 2 and "render-0.png: unreadable (image file is truncated)" in result.output, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["render-1.png", "render-2.png", "render-3.png"]
