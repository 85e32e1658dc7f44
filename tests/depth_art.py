"""A small trait folder whose art overlaps, so the order it is drawn in shows in every token: a cap whose back is
drawn behind the head and hair and whose brim in front, an earring that long hair hides unless a ``[[depth]]``
override lifts it, and (the variant) a collar behind the head with a tie in front.

Every colour is one of the shipped palette's (the trait check's recovery snaps to it); the tests composite the files
themselves, in the order they write out by hand, with Pillow's ``alpha_composite`` as the reference.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from conftest import REPO
from PIL import Image

SIZE = 24
PALETTE = [line.strip() for line in (REPO / "traits" / "palette.hex").read_text().splitlines() if line.strip()]

# (trait, part or "", value) → rectangles (top, left, bottom, right, palette index, alpha)
ART: dict[tuple[str, str, str], list[tuple[int, int, int, int, int, int]]] = {
    ("background", "", "Blue"): [(0, 0, 24, 24, 3, 255)],
    ("background", "", "Green"): [(0, 0, 24, 24, 9, 255)],
    ("head", "", "Pale"): [(7, 7, 24, 17, 20, 255), (11, 9, 12, 11, 0, 255)],
    ("head", "", "Dark"): [(7, 7, 24, 17, 30, 255), (11, 9, 12, 11, 0, 255)],
    ("hair", "", "Short"): [(5, 7, 9, 17, 12, 255)],
    ("hair", "", "Long"): [(5, 5, 21, 8, 14, 255), (5, 7, 9, 17, 14, 255), (5, 16, 21, 19, 14, 255)],
    ("hat", "", "Cap"): [(4, 6, 7, 20, 40, 255)],
    ("hat", "back", "Cap"): [(2, 4, 14, 20, 41, 255)],
    ("hat", "", "Beanie"): [(2, 7, 6, 17, 44, 255)],
    ("hat", "", "Bare"): [],
    ("earring", "", "None"): [],
    ("earring", "", "Gold"): [(14, 5, 17, 7, 50, 255)],
}
TABLES = {
    "background": ["Blue", "Green"],
    "head": ["Pale", "Dark"],
    "hair": ["Short", "Long"],
    "hat": ["Cap", "Beanie", "Bare"],
    "earring": ["None", "Gold"],
}
ORDER = ["background", "hat:back", "head", "earring", "hair", "hat"]
EARRING_OVER_LONG_HAIR = '[[depth]]\nwhen = { hair = "Long" }\nmove = "earring"\nabove = "hair"\n'


def rgba(index: int, alpha: int) -> tuple[int, int, int, int]:
    colour = PALETTE[index % len(PALETTE)].lstrip("#")
    return (int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16), alpha)


def draw(path: Path, rectangles: list[tuple[int, int, int, int, int, int]]) -> None:
    pixels = np.zeros((SIZE, SIZE, 4), dtype=np.uint8)
    for top, left, bottom, right, colour, alpha in rectangles:
        pixels[top:bottom, left:right] = rgba(colour, alpha)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, "RGBA").save(path)


def art_path(folder: Path, trait: str, part: str, value: str) -> Path:
    return folder / "layers" / trait / part / f"{value}.png"


def trait_folder(
    folder: Path,
    order: list[str] = ORDER,
    depth: str = "",
    art: dict | None = None,
    tables: dict[str, list[str]] | None = None,
    extra: str = "",
) -> Path:
    """The folder and its collection.toml (a 24-token sprite collection, every value weighted alike); returns the config."""
    art, tables = art or ART, tables or TABLES
    for trait, values in tables.items():
        (folder / f"{trait}.csv").parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{trait}.csv").write_text("value,weight,prompt\n" + "".join(f"{v},1,{v.lower()}\n" for v in values))
    for (trait, part, value), rectangles in art.items():
        if trait in tables:
            draw(art_path(folder, trait, part, value), rectangles)
    shutil.copyfile(REPO / "traits" / "palette.hex", folder / "palette.hex")
    config = folder / "collection.toml"
    config.write_text(
        f'[collection]\nname = "Depth Punks"\nsize = 24\nseed = 7\n\n[traits]\norder = {order!r}\n\n'.replace("'", '"')
        + depth
        + '\n[render]\nbackend = "sprites"\n'
        + extra
    )
    return config


def by_hand(folder: Path, files: list[tuple[str, str, str]]) -> np.ndarray:
    """The files named, each composited over the ones before it with Pillow: the expected token, as RGB."""
    canvas = Image.new("RGBA", (SIZE, SIZE))
    for trait, part, value in files:
        path = art_path(folder, trait, part, value)
        if path.exists():
            with Image.open(path) as layer:
                canvas = Image.alpha_composite(canvas, layer.convert("RGBA"))
    return np.asarray(canvas)[..., :3]
