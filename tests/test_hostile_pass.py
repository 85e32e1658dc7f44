"""What a hostile or careless creator found by combining the commands: each case the pass found, and a variant of it.

A pipe or a device where a token's image belongs, met by a reroll (a real process with a timeout: the regression hung);
a symbolic link that loops back on itself, named wherever a command takes a path (Python 3.11 answered it with a
``RuntimeError`` traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, folder_bytes, made_collection, refused, run_cli
from PIL import Image

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs, /dev/zero and symbolic links are POSIX")

HANG = 60  # seconds: far beyond a reroll of one sprite token, so a regression fails instead of hanging CI


@pytest.fixture
def collection(config_path: Path, tmp_path: Path) -> Path:
    return made_collection(config_path, tmp_path / "out", 8)


@pytest.fixture
def loop(tmp_path: Path) -> Path:
    """``ln -s loop loop``: a link that points at itself."""
    link = tmp_path / "loop"
    link.symlink_to(link)
    return link


def _put_in_place_of(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_reroll_with_traits_renders_over_a_pipe_or_device_in_place_of_the_image(
    collection: Path, config_path: Path, kind: str
) -> None:
    image = collection / "images" / "3.png"
    _put_in_place_of(image, kind)
    command = [sys.executable, "-m", "generator", "reroll", collection, 3, "--traits", "--config", config_path]
    done = subprocess.run([*map(str, command), "--backend", "sprites"], cwd=REPO, capture_output=True, text=True, timeout=HANG)
    assert done.returncode == 0, done.stderr
    assert image.is_file() and not image.is_symlink() and image.read_bytes().startswith(b"\x89PNG")
    assert not (collection / "rejected" / "3-1.png").exists(), "a pipe or device is nothing worth keeping"
    verified = run_cli("verify", collection)
    assert verified.exit_code == 0, verified.output


def test_a_symlink_loop_as_the_collection_folder_is_one_line(config_path: Path, loop: Path) -> None:
    line = refused("collection", "-n", 3, "--config", config_path, "--out", loop, "--quiet", "--backend", "sprites")
    assert line == f"Error: {loop}: a symbolic link in this path loops back on itself; remove the link or name a real folder"


def test_a_folder_under_a_symlink_loop_as_the_collection_folder_is_one_line(config_path: Path, loop: Path) -> None:
    out = loop / "out"
    line = refused("collection", "-n", 3, "--config", config_path, "--out", out, "--quiet", "--backend", "sprites")
    assert f"{out}: a symbolic link in this path loops back on itself" in line


def test_a_symlink_loop_as_the_renders_folder_is_one_line(config_path: Path, loop: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    line = refused("collection", "-n", 3, "--config", config_path, "--out", out, "--backend", "import", "--renders", loop)
    assert f"{loop}: a symbolic link in this path loops back on itself" in line
    assert not out.exists()


def test_a_symlink_loop_as_the_placeholder_is_one_line(collection: Path, loop: Path) -> None:
    line = refused("export", collection, "--placeholder", loop)
    assert f"{loop}: a symbolic link in this path loops back on itself" in line
    assert not (collection / "export").exists()


def test_a_symlink_loop_as_pixelate_target_is_one_line(traits_dir: Path, loop: Path) -> None:
    line = refused("pixelate", traits_dir / "layers" / "eyes", loop / "pixels")
    assert f"{loop / 'pixels'}: a symbolic link in this path loops back on itself" in line


def test_a_symlink_loop_as_dataset_destination_is_one_line(collection: Path, loop: Path) -> None:
    line = refused("dataset", collection / "images", loop)
    assert f"{loop}: a symbolic link in this path loops back on itself" in line


@pytest.mark.parametrize(
    "uri",
    [
        "https://creator:s3cret@cdn.example.com/punks/",  # a user and password
        "https://s3cret@cdn.example.com/punks/",  # an access key as the user name
        "https://creator:s3cret@cdn.example.com/punks",  # and a second mistake, whose message repeated the URI
    ],
)
def test_a_base_uri_with_credentials_is_refused_without_printing_them(collection: Path, uri: str) -> None:
    line = refused("export", collection, "--base-uri", uri)
    assert "s3cret" not in line
    assert "'https://…@cdn.example.com/punks" in line and "holds a user name or password" in line
    assert not (collection / "export").exists()


def test_a_refused_base_uri_with_a_query_never_prints_the_query(collection: Path) -> None:
    line = refused("export", collection, "--base-uri", "https://cdn.example.com/punks/?token=s3cret")
    assert "s3cret" not in line and "'https://cdn.example.com/punks/?…'" in line


def test_an_at_sign_in_the_path_is_no_credential(collection: Path) -> None:
    result = run_cli("export", collection, "--base-uri", "https://cdn.example.com/@creator/punks/")
    assert result.exit_code == 0, result.output
    document = (collection / "export" / "metadata" / "1").read_text()
    assert '"image": "https://cdn.example.com/@creator/punks/1.png"' in document


# ── images Pillow opens in a mode convert() would clip, or as an animation: dataset and pixelate ─────────────────────


def _grey16(path: Path, shades: list[int]) -> np.ndarray:
    """A 24×24 16-bit greyscale PNG whose columns cycle through ``shades`` (8-bit values saved ×257); returns them."""
    grey = np.array(shades * 24, dtype=np.uint16)[:24]
    values = np.tile(grey, (24, 1))
    Image.fromarray(values * 257).save(path)
    assert Image.open(path).mode.startswith("I")
    return values.astype(np.uint8)


def _animation(path: Path) -> None:
    frames = [Image.new("RGB", (24, 24), colour) for colour in ("red", "blue")]
    frames[0].save(path, save_all=True, append_images=frames[1:])


def test_dataset_keeps_a_16_bit_greyscale_original_s_shades(tmp_path: Path) -> None:
    source = tmp_path / "originals"
    source.mkdir()
    shades = _grey16(source / "punk.png", [40, 90, 160, 220])
    result = run_cli("dataset", source, tmp_path / "data", "--resolution", 48)
    assert result.exit_code == 0, result.output
    made = np.asarray(Image.open(tmp_path / "data" / "10_bespoke punk" / "punk.png").convert("L"))
    assert (made[::2, ::2] == shades).all(), "convert('RGBA') clipped them to black and white"


def test_dataset_refuses_an_animated_original(tmp_path: Path) -> None:
    source = tmp_path / "originals"
    source.mkdir()
    _animation(source / "punk.png")  # an APNG
    line = refused("dataset", source, tmp_path / "data")
    assert line == f"Error: {source / 'punk.png'}: is animated (2 frames); give one still image (export a single frame as PNG)"
    assert not (tmp_path / "data").exists()


def test_pixelate_keeps_a_16_bit_greyscale_render_s_shades(tmp_path: Path) -> None:
    source = tmp_path / "renders"
    source.mkdir()
    shades = _grey16(source / "render.png", [40, 90, 160, 220])
    result = run_cli("pixelate", source, tmp_path / "pixels", "--method", "mode")
    assert result.exit_code == 0, result.output
    made = np.asarray(Image.open(tmp_path / "pixels" / "render.png").convert("L"))
    assert set(np.unique(made)) == set(np.unique(shades))


def test_pixelate_names_an_animated_render_instead_of_taking_its_first_frame(tmp_path: Path) -> None:
    source = tmp_path / "renders"
    source.mkdir()
    _animation(source / "render.png")  # an APNG
    Image.new("RGB", (24, 24), "green").save(source / "still.png")
    result = run_cli("pixelate", source, tmp_path / "pixels", "--keep-going")
    assert f"{source / 'render.png'}: is animated (2 frames)" in result.output
    assert not (tmp_path / "pixels" / "render.png").exists() and (tmp_path / "pixels" / "still.png").is_file()


@pytest.mark.parametrize("command", ["dataset", "export"])
def test_an_unreadable_image_is_named_without_python_s_object_names(collection: Path, tmp_path: Path, command: str) -> None:
    bad = tmp_path / "art" / "bad.png"
    bad.parent.mkdir()
    bad.write_text("not an image")
    args = ("dataset", bad.parent, tmp_path / "data") if command == "dataset" else ("export", collection, "--placeholder", bad)
    line = refused(*args)
    assert "(not an image format punkgen reads)" in line and "object at 0x" not in line and "name=" not in line


# ── replace --set: two changes of one trait ───────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("first", "second"), [("eyes=Blue", "eyes=Green"), ("eyes=Blue", "Eyes=Green")]
)  # by its key twice; by its key, then by its attribute name
def test_replace_refuses_two_values_for_one_trait(collection: Path, config_path: Path, first: str, second: str) -> None:
    before = folder_bytes(collection)
    image = collection / "images" / "3.png"
    line = refused("replace", collection, 3, "--image", image, "--set", first, "--set", second, "--config", config_path)
    assert line == f"Error: --set {second}: --set {first} already changes eyes; keep one of them"
    assert folder_bytes(collection) == before


def test_replace_takes_the_same_change_twice(collection: Path, config_path: Path) -> None:
    image = collection / "images" / "3.png"
    result = run_cli(
        "replace", collection, 3, "--image", image, "--set", "eyes=Blue", "--set", "Eyes=Blue", "--config", config_path
    )
    assert result.exit_code == 0, result.output
    assert '{"trait_type": "Eyes", "value": "Blue"}' in (collection / "metadata" / "3.json").read_text()


# ── export --format metaplex --placeholder: a type its schema does not take ───────────────────────────────────────────


@pytest.mark.parametrize(("name", "kind"), [("soon.gif", "image/gif"), ("soon.jpg", "image/jpeg")])
def test_metaplex_refuses_a_placeholder_that_is_not_a_png(collection: Path, tmp_path: Path, name: str, kind: str) -> None:
    placeholder = tmp_path / name
    Image.new("RGB", (24, 24), "purple").save(placeholder)
    before = folder_bytes(collection)
    line = refused("export", collection, "--format", "metaplex", "--placeholder", placeholder)
    assert line == (
        f"Error: --placeholder {placeholder} is {kind}, and --format metaplex takes a PNG placeholder, "
        "as its assets are: save it as PNG and pass that"
    )
    assert folder_bytes(collection) == before


def test_metaplex_takes_a_png_placeholder(collection: Path, tmp_path: Path) -> None:
    placeholder = tmp_path / "soon.png"
    Image.new("RGB", (24, 24), "purple").save(placeholder)
    result = run_cli("export", collection, "--format", "metaplex", "--placeholder", placeholder)
    assert result.exit_code == 0, result.output
    assert (collection / "export" / "hidden" / "hidden.png").read_bytes() == placeholder.read_bytes()


def test_palette_extract_keeps_a_16_bit_greyscale_original_s_shades(tmp_path: Path) -> None:
    shades = _grey16(tmp_path / "punk.png", [40, 90, 160, 220])
    result = run_cli("palette", "extract", tmp_path / "punk.png", "-o", tmp_path / "out.hex")
    assert result.exit_code == 0, result.output
    written = (tmp_path / "out.hex").read_text().split()
    assert written == [f"{shade:02x}" * 3 for shade in sorted(set(shades.flatten().tolist()))]


def test_palette_extract_refuses_an_animated_original(tmp_path: Path) -> None:
    _animation(tmp_path / "punk.gif")
    line = refused("palette", "extract", tmp_path / "punk.gif", "-o", tmp_path / "out.hex")
    assert line.endswith("punk.gif: is animated (2 frames); give one still image (export a single frame as PNG)")
    assert not (tmp_path / "out.hex").exists()
