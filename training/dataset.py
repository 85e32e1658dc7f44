"""24×24 originals → a kohya DreamBooth-layout training folder, and that folder → training examples.

``DST/<repeats>_<instance>/<stem>.png`` is the NEAREST upscale of one original to the training
resolution (512/24 = 21.3, so cells are 21 or 22 px wide: exactly what the recipe trained on),
``<stem>.txt`` its one-line caption. kohya sd-scripts, ``punkgen train`` and most LoRA GUIs read
this layout unchanged; the folder name carries the repeat count.

Every source image is checked before anything is written: it must be the expected small size
and have at most ``max_colors`` colours, so an already-upscaled or photographic file is refused
with its name, instead of quietly teaching the LoRA blur.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from generator.errors import Arg, UserError
from generator.files import IMAGE_LIMIT, is_safe_name, real_path, write_atomic
from generator.images import IMAGE_ERRORS, RENDER_SUFFIXES, encode_png, image_problem, open_user_image, read_user_rgba
from generator.run.folder import IMAGES, MANIFEST
from generator.text import read_text
from training.captions import SOURCE_INSTANCE, caption_lookup

SOURCE_SUFFIXES = (".png",)
SUBSET_FOLDER = re.compile(r"^(\d+)_(.+)$")
ORIGINALS = "originals"  # DST/originals/: the 24×24 sources (the near-copy guard's [quality].training_dir)


@dataclass(frozen=True)
class SourceImage:
    """One validated original: its RGB pixels (transparency already flattened) and caption."""

    name: str  # output stem
    pixels: np.ndarray  # (size, size, 3) uint8
    caption: str
    caption_source: str
    origin: str  # where it came from, for messages


@dataclass(frozen=True)
class DatasetSummary:
    folder: Path  # DST/<repeats>_<instance>
    images: int
    repeats: int
    caption_sources: dict[str, int] = field(default_factory=dict)

    @property
    def uncaptioned(self) -> int:
        return self.caption_sources.get(SOURCE_INSTANCE, 0)


@dataclass(frozen=True)
class Example:
    image: Path
    caption: str
    repeats: int


def parse_hex_colour(text: str, flag: str = Arg.BACKGROUND) -> tuple[int, int, int]:
    match = re.fullmatch(r"#?([0-9a-fA-F]{6})", text.strip())
    if not match:
        raise UserError(f"{flag} {text!r} is not a colour; write it as #rrggbb, e.g. #638596")
    value = int(match.group(1), 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def flatten(rgba: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """Composite an RGBA array over a solid colour; fully opaque pixels keep their exact values."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    mixed = rgba[..., :3].astype(np.float32) * alpha + np.asarray(background, np.float32) * (1.0 - alpha)
    return np.rint(mixed).astype(np.uint8)


def load_source_image(path: Path, size: int, max_colors: int, background: tuple[int, int, int]) -> np.ndarray:
    """A source image as (size, size, 3) uint8, or a :class:`UserError` naming the file and the fix."""
    try:  # a FIFO or /dev/zero link: one line, never read; 16-bit or animated: read exactly or refused, never clipped
        rgba = read_user_rgba(path, "check the source folder", IMAGE_LIMIT, exact=True)
    except IMAGE_ERRORS as error:
        raise UserError(
            f"{path}: not a readable image ({image_problem(error)}); remove it or replace it with a {size}×{size} PNG"
        ) from None
    height, width = rgba.shape[:2]
    if (width, height) != (size, size):
        hint = " (an upscale? pass the original pixel art)" if width > size else ""
        raise UserError(
            f"{path}: {width}×{height} pixels, expected {size}×{size}{hint}; every source must be {size}×{size} pixel art"
        )
    colours = len(np.unique(rgba.reshape(-1, 4), axis=0))
    if colours > max_colors:
        raise UserError(
            f"{path}: {colours} colours, more than {max_colors} for {size}×{size} pixel art (blurred, resampled or a photo?); "
            f"fix the image or raise {Arg.MAX_COLORS}"
        )
    return flatten(rgba, background)


def upscale_nearest(pixels: np.ndarray, resolution: int) -> Image.Image:
    """NEAREST upscale: output pixel (y, x) is source pixel (floor((y+½)·s/r), floor((x+½)·s/r))."""
    return Image.fromarray(pixels, "RGB").resize((resolution, resolution), Image.Resampling.NEAREST)


def collect_sources(
    src: Path,
    size: int,
    max_colors: int,
    instance: str,
    captions_csv: Path | None = None,
    traits_config: Path | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
) -> list[SourceImage]:
    """Every ``*.png`` in ``src`` (or in ``src/images`` for a punkgen collection folder), validated and captioned."""
    if not src.is_dir():
        raise UserError(f"{src}: source folder not found; pass the folder of {size}×{size} originals")
    manifest = None
    if (src / MANIFEST).is_file() and (src / IMAGES).is_dir():  # a punkgen collection folder
        manifest, src = src / MANIFEST, src / IMAGES
    elif (src.parent / MANIFEST).is_file() and src.name == IMAGES:
        manifest = src.parent / MANIFEST
    paths = sorted(path for path in src.iterdir() if path.suffix.lower() in SOURCE_SUFFIXES and not path.name.startswith("."))
    if not paths:
        raise UserError(f"{src}: no .png images; pass the folder that holds the {size}×{size} originals")
    lookup = caption_lookup(captions_csv, traits_config, manifest, instance)
    sources = []
    for path in paths:
        if not is_safe_name(path.stem):
            raise UserError(
                f"{path}: the file name cannot be used as a training file name; rename it (letters, digits, spaces, - _ . only)"
            )
        pixels = load_source_image(path, size, max_colors, background)
        caption, where = lookup(path)
        sources.append(SourceImage(name=path.stem, pixels=pixels, caption=caption, caption_source=where, origin=str(path)))
    return sources


def subset_folder(dst: Path, repeats: int, instance: str) -> Path:
    if not is_safe_name(instance):
        raise UserError(f"{Arg.INSTANCE} {instance!r} cannot name a folder; use letters, digits and spaces, e.g. 'bespoke punk'")
    return dst / f"{repeats}_{instance}"


def write_dataset(
    sources: list[SourceImage],
    dst: Path,
    resolution: int,
    repeats: int,
    instance: str,
    force: bool = False,
    keep_originals: bool = False,
) -> DatasetSummary:
    """Write the kohya layout; refuses a non-empty DST unless ``force`` (which replaces only the files this wrote)."""
    folder = subset_folder(dst, repeats, instance)
    _check_destination(dst, force)
    folder.mkdir(parents=True, exist_ok=True)
    if keep_originals:
        (dst / ORIGINALS).mkdir(exist_ok=True)
    for source in sources:
        image = upscale_nearest(source.pixels, resolution)
        write_atomic(folder / f"{source.name}.png", encode_png(image))
        write_atomic(folder / f"{source.name}.txt", (source.caption + "\n").encode("utf-8"))
        if keep_originals:
            write_atomic(dst / ORIGINALS / f"{source.name}.png", encode_png(Image.fromarray(source.pixels, "RGB")))
    return DatasetSummary(
        folder=folder, images=len(sources), repeats=repeats, caption_sources=dict(Counter(s.caption_source for s in sources))
    )


def _check_destination(dst: Path, force: bool) -> None:
    real_path(dst)  # a link that loops back on itself, refused in one line before the mkdir meets it
    if dst.exists() and not dst.is_dir():
        raise UserError(f"{dst}: exists and is not a folder; pass a new folder as DST")
    if not dst.is_dir() or not any(dst.iterdir()):
        return
    ours = [path for path in dst.iterdir() if path.is_dir() and (SUBSET_FOLDER.match(path.name) or path.name == ORIGINALS)]
    others = [path for path in dst.iterdir() if path not in ours]
    if not force or others:
        what = f"{others[0].name} (not written by punkgen dataset)" if others else "a dataset"
        fix = "empty it or pass another DST" if others else f"pass {Arg.FORCE} to replace it or another DST"
        raise UserError(f"{dst}: already holds {what}; {fix}")
    for folder in ours:
        for path in folder.iterdir():
            if path.is_file() and path.suffix.lower() in RENDER_SUFFIXES + (".txt",):
                path.unlink()
        if not any(folder.iterdir()):
            folder.rmdir()


def read_dataset(folder: Path) -> list[Example]:
    """The examples of a kohya DreamBooth-layout folder: every ``<repeats>_<name>/`` image with its caption.

    A missing or empty ``.txt`` makes ``<name>`` the caption, as in sd-scripts.
    """
    if not folder.is_dir():
        raise UserError(f"{Arg.DATA} {folder}: folder not found; build one with `punkgen dataset SRC DST`")
    if SUBSET_FOLDER.match(folder.name) and not any(SUBSET_FOLDER.match(p.name) for p in folder.iterdir() if p.is_dir()):
        raise UserError(
            f"{Arg.DATA} {folder}: this is a subset folder; pass its parent {folder.parent} (the folder that holds {folder.name}/)"
        )
    examples = []
    for subset in sorted(path for path in folder.iterdir() if path.is_dir()):
        match = SUBSET_FOLDER.match(subset.name)
        if not match:
            continue
        repeats, name = int(match.group(1)), match.group(2)
        for image in sorted(path for path in subset.iterdir() if path.suffix.lower() in RENDER_SUFFIXES):
            caption_file = image.with_suffix(".txt")
            lines = read_text(caption_file, "write the caption as one line").splitlines() if caption_file.is_file() else []
            caption = lines[0].strip() if lines else ""
            examples.append(Example(image=image, caption=caption or name, repeats=repeats))
    if not examples:
        raise UserError(f"{Arg.DATA} {folder}: no <repeats>_<name>/ folder with images; build one with `punkgen dataset SRC DST`")
    if any(example.repeats == 0 for example in examples):
        raise UserError(f"{Arg.DATA} {folder}: a folder named 0_… repeats its images 0 times; rename it to 10_… or remove it")
    return examples


def training_pixels(path: Path, resolution: int) -> np.ndarray:
    """A training image as a (3, r, r) float32 array in [-1, 1], the VAE's input; another size is NEAREST-resized."""
    with open_user_image(path, f"check the {Arg.DATA} folder") as image:
        rgb = image.convert("RGB")
    if rgb.size != (resolution, resolution):
        rgb = rgb.resize((resolution, resolution), Image.Resampling.NEAREST)
    return np.ascontiguousarray((np.asarray(rgb, dtype=np.float32) / 127.5 - 1.0).transpose(2, 0, 1))
