"""The originals a LoRA learnt from, read once per run for the near-copy check (``[quality].training_dir``).

A file loader among the measures would drag user-facing errors into the verdict; here it is the
one place that reads that folder and names the file and the fix when it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.errors import UserError
from generator.files import IMAGE_LIMIT
from generator.images import IMAGE_ERRORS, PIXEL_ART_SUFFIXES, read_user_rgba


@dataclass(frozen=True)
class TrainingSet:
    """The originals a LoRA learnt from, as one (n, S, S, 3) array, for the near-copy guard."""

    names: tuple[str, ...]
    pixels: np.ndarray


def load_training_set(folder: Path, size: int, source: str = "[quality].training_dir") -> TrainingSet:
    """Every image in ``folder`` (RGB, transparent pixels over black), each ``size``×``size``; errors name the file
    and ``source``, where the folder was named (the setting, or ``compare``'s argument)."""
    if not folder.is_dir():
        unset = ' or set it to ""' if source.startswith("[") else ""
        raise UserError(f"{folder}: {source} is not a folder; point it at the 24×24 originals{unset}")
    names, images = [], []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in PIXEL_ART_SUFFIXES):
        try:  # a FIFO never blocks; a 16-bit greyscale original is scaled, not clipped to black and white
            pixels = read_user_rgba(path, f"remove it from {source}", IMAGE_LIMIT, exact=False)[..., :3]
        except IMAGE_ERRORS:
            raise UserError(f"{path}: not a readable image; remove it from {source}") from None
        if pixels.shape[:2] != (size, size):
            raise UserError(f"{path}: {pixels.shape[1]}×{pixels.shape[0]}, expected {size}×{size} originals in {source}")
        names.append(str(path.relative_to(folder)))
        images.append(pixels)
    if not images:
        raise UserError(f"{folder}: no images in {source} (PNG, GIF, BMP or WebP)")
    return TrainingSet(tuple(names), np.stack(images))
