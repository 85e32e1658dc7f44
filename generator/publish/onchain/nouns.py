"""Nouns' ``image-data.json``: ``bgcolors``, ``palette`` and ``images`` by part folder, byte-equal to the reference.

``@nouns/sdk`` 1.2.0's ``PNGCollectionEncoder`` keys images by name alone, so two folders with an image
of the same name would both get the last one's data: names here are unique (``<trait>-<value>``,
``token-<id>``). The JSON is written as nouns-assets' ``encode.ts`` writes it: ``JSON.stringify`` with
two-space indentation, ``bgcolors`` first, ``0x`` hex strings, colours as ``rrggbb`` without '#'.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from generator.publish.onchain.rle import encode_image, new_palette


@dataclass(frozen=True)
class Part:
    folder: str  # the part folder in image-data.json: a trait key, or "tokens"
    name: str  # unique across folders
    data: bytes  # Nouns' RLE


def encode_parts(images: list[tuple[str, str, np.ndarray]], where: str) -> tuple[list[str], list[Part]]:
    """The palette and each ``(folder, name, pixels)`` encoded in the order given (the order fixes the palette's)."""
    palette = new_palette()
    parts = [Part(folder, name, encode_image(pixels, palette, where)) for folder, name, pixels in images]
    return list(palette), parts


def image_data(palette: list[str], parts: list[Part], bgcolors: list[str]) -> dict:
    """The document, folders in first-use order, each image as ``{"filename", "data": "0x…"}``."""
    images: dict[str, list[dict[str, str]]] = {}
    for part in parts:
        images.setdefault(part.folder, []).append({"filename": part.name, "data": "0x" + part.data.hex()})
    return {"bgcolors": bgcolors, "palette": palette, "images": images}


def image_data_json(document: dict) -> str:
    """The text ``JSON.stringify(document, null, 2)`` gives (no trailing newline, as the reference writes it)."""
    return json.dumps(document, indent=2, ensure_ascii=False)
