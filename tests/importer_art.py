"""Small 24×24 pixel-art layers drawn in code, saved into another tool's project layout, and the reference a test
checks punkgen's tokens against: the same source files composited in the source's order with Pillow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "importers"
SIZE = 24


def draw_layer(path: Path, seed: int, opaque: bool = False) -> Path:
    """A layer of a few flat colours: an opaque fill for a bottom layer, else a small block of pixels on transparency."""
    rng = np.random.default_rng(seed)
    pixels = np.zeros((SIZE, SIZE, 4), dtype=np.uint8)
    if opaque:
        pixels[...] = (*rng.integers(0, 256, 3), 255)
    top, left = rng.integers(2, 14, 2)
    pixels[top : top + 8, left : left + 8] = (*rng.integers(0, 256, 3), 255)
    pixels[top + 3 : top + 5, left + 2 : left + 6] = (*rng.integers(0, 256, 3), 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, "RGBA").save(path)
    return path


def copy_config(name: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURES / name, target)
    return target


def token_traits(out: Path) -> dict[int, dict[str, str]]:
    """Each token's metadata attributes, trait_type → value."""
    tokens = {}
    for path in (out / "metadata").iterdir():
        document = json.loads(path.read_text())
        tokens[int(path.name.split(".")[0])] = {a["trait_type"]: a["value"] for a in document["attributes"]}
    return tokens


def reference(files: list[Path], size: int = SIZE) -> np.ndarray:
    """The source's image: each file composited over the ones before it, Pillow's alpha_composite."""
    canvas = Image.new("RGBA", (size, size))
    for path in files:
        with Image.open(path) as layer:
            canvas = Image.alpha_composite(canvas, layer.convert("RGBA"))
    return np.asarray(canvas)


def token_pixels(out: Path, token_id: int) -> np.ndarray:
    with Image.open(out / "images" / f"{token_id}.png") as image:
        return np.asarray(image.convert("RGBA"))


def read_table(path: Path) -> dict[str, tuple[float, str]]:
    """A written trait table: value → (weight, layer file)."""
    rows = [line.split(",") for line in path.read_text().splitlines()[1:]]
    return {row[0]: (float(row[1]), row[3]) for row in rows}
