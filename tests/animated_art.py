"""Animated trait art for tests: strips made from the shipped layers, in both declarations an artist may use.

``Brown`` eyes become a 4-frame strip side by side (``Brown.png``, 96×24): the eyes as drawn, recoloured, closed
(transparent: a blink) and as drawn again; ``Pipe`` becomes a folder of 3 frames (``Pipe/0.png…``): the pipe, its
smoke pixel lit, the pipe. A token wearing both animates over lcm(4, 3) = 12 frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

STRIP_VALUE, STRIP_FRAMES = ("eyes", "Brown"), 4
FOLDER_VALUE, FOLDER_FRAMES = ("accessory", "Pipe"), 3


def eye_frames(layer: np.ndarray) -> list[np.ndarray]:
    recoloured = layer.copy()
    recoloured[layer[..., 3] > 0, :3] = (200, 30, 90)
    return [layer, recoloured, np.zeros_like(layer), layer]


def pipe_frames(layer: np.ndarray) -> list[np.ndarray]:
    lit = layer.copy()
    lit[2, 20] = (250, 250, 250, 255)  # smoke, above the pipe
    return [layer, lit, layer]


def animate_strip(traits_dir: Path) -> list[np.ndarray]:
    """``Brown`` eyes → a side-by-side strip; returns its frames."""
    path = traits_dir / "layers" / STRIP_VALUE[0] / f"{STRIP_VALUE[1]}.png"
    frames = eye_frames(np.asarray(Image.open(path).convert("RGBA")))
    Image.fromarray(np.concatenate(frames, axis=1), "RGBA").save(path)
    return frames


def animate_folder(traits_dir: Path) -> list[np.ndarray]:
    """``Pipe`` → a folder of numbered frames; returns them."""
    path = traits_dir / "layers" / FOLDER_VALUE[0] / f"{FOLDER_VALUE[1]}.png"
    frames = pipe_frames(np.asarray(Image.open(path).convert("RGBA")))
    path.unlink()
    path.with_suffix("").mkdir()
    for number, frame in enumerate(frames):
        Image.fromarray(frame, "RGBA").save(path.with_suffix("") / f"{number}.png")
    return frames
