"""The originals a LoRA learnt from, read once per run for the near-copy check (``[quality].training_dir``).

A file loader among the measures would drag user-facing errors into the verdict; here it is the
one place that reads that folder and names the file and the fix when it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from generator.errors import UserError
from generator.files import IMAGE_LIMIT
from generator.images import IMAGE_ERRORS, PIXEL_ART_SUFFIXES, pack_rgb, read_user_rgba

BLOCK_CELLS = 1 << 24  # token × original × pixel comparisons at once: ~16 MB of booleans, whatever the sizes


@dataclass(frozen=True)
class TrainingSet:
    """The originals a LoRA learnt from, as one (n, S, S, 3) array, for the near-copy guard."""

    names: tuple[str, ...]
    pixels: np.ndarray

    @cached_property
    def _packed(self) -> np.ndarray:
        """(n, S·S) one code a pixel: read once, compared with every token."""
        return pack_rgb(self.pixels).reshape(len(self.pixels), -1)

    def nearest(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each token of (m, S, S, 3), its closest original's index and how many pixels differ from it (a pixel
        differs when any channel does; the first original among equals): the near-copy guard's measure, for one
        render or a whole run, in blocks of tokens so memory stays bounded for 10,000 tokens × 1,000 originals."""
        packed = pack_rgb(tokens).reshape(len(tokens), -1)
        block = max(1, BLOCK_CELLS // self._packed.size)
        index, distance = [], []
        for start in range(0, len(packed), block):
            differing = (packed[start : start + block, None, :] != self._packed[None]).sum(axis=-1)
            index.append(differing.argmin(axis=1))
            distance.append(differing.min(axis=1))
        return np.concatenate(index), np.concatenate(distance)


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
