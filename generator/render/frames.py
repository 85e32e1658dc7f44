"""Animated layers: a trait value drawn as a strip of frames, and the frames of a token that wears one.

A value's art is one frame (``layers/<trait>/<value>.png``, ``size``×``size``) or a strip of k frames, declared
either way an artist exports it: one PNG k sizes wide (frames side by side, left to right), or a folder
``layers/<trait>/<value>/`` holding ``0.png, 1.png, … k-1.png``. :func:`frame_files` finds the files and
:func:`split_strip` cuts them into frames; :func:`generator.render.layers.load_layers` keeps frame 0 in its stacks
(so the still, ``images/<id>.png``, and every path that reads layers are unchanged) and the whole strip in
``Layers.strips``. A token animates over the least common multiple of its strips' lengths (:func:`frame_count`),
refused past ``[animation].max_frames`` (:func:`check_frame_counts`); frame ``f`` is each strip's frame
``f mod k`` composited by the same vectorised code as the still (:meth:`Frames.composite`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from generator.errors import UserError
from generator.plan.traits import Combo, TraitTable

if TYPE_CHECKING:
    from generator.render.layers import Layers  # which reads strips with this module's functions

FRAME_NAME = re.compile(r"(0|[1-9]\d*)\.png")
NUMBERED = re.compile(r"\d+\.[^.]+")  # what an artist means as a frame: 0.png, and 00.png, 1.PNG, 2.gif too
FRAME_LIKE = re.compile(rf"{NUMBERED.pattern}|[^.].*\.png", re.IGNORECASE)  # and any other PNG beside them


def frame_files(path: Path) -> list[Path]:
    """The files that draw a value whose layer is ``path``: the PNG itself (one frame or a side-by-side strip), else
    the numbered frames of the folder beside it (``blink.png`` → ``blink/0.png…``); ``[path]`` when neither exists,
    so the reader reports the missing layer as ever. Every file in a folder of frames is read or refused: one left
    out (``00.png``, ``1.PNG``, ``2.gif``, or all of them beside ``blink.png``) would change the animation silently."""
    folder = path.with_suffix("")
    names = _frame_like_names(folder)
    if path.exists() and names:
        raise UserError(f"{path} and {folder}/ both draw the value; keep one (a strip, or a folder of frames)")
    if path.exists() or not folder.is_dir():
        return [path]
    if stray := sorted(name for name in names if not FRAME_NAME.fullmatch(name)):
        raise UserError(
            f"{folder / stray[0]}: not a frame's name; name a value's frames 0.png, 1.png, … (PNG, lower-case .png, "
            "no leading zeros) and keep nothing else in its folder"
        )
    numbers = sorted(int(name[:-4]) for name in names)
    if numbers != list(range(len(numbers))) or not numbers:
        gap = next((n for n in range(len(numbers) + 1) if n not in numbers), 0)
        raise UserError(f"{folder}/: frame {gap}.png is missing; number a value's frames 0.png, 1.png, … without gaps")
    return [folder / f"{n}.png" for n in numbers]


def _frame_like_names(folder: Path) -> list[str]:
    """The names in ``folder`` an artist may mean as frames, when it holds any numbered one (a part's folder of value
    files beside a value of the same name holds none, and is not a value's frames); hidden files are the system's."""
    if not folder.is_dir():
        return []
    names = [entry.name for entry in folder.iterdir() if FRAME_LIKE.fullmatch(entry.name)]
    return names if any(NUMBERED.fullmatch(name) for name in names) else []


def art_name(path: Path) -> str:
    """How messages name a value's art at ``path``: the file, or ``<value>/`` when a folder of frames draws it (the
    ``<value>.png`` the table names does not exist then, and a warning naming it sends the artist looking for it)."""
    return f"{path.with_suffix('')}/" if not path.exists() and _frame_like_names(path.with_suffix("")) else str(path)


def has_art(path: Path) -> bool:
    """Whether a value has layer art: its PNG, or a folder of frames beside it (checked when read)."""
    return path.is_file() or bool(_frame_like_names(path.with_suffix("")))


def split_strip(path: Path, pixels: np.ndarray, size: int) -> list[np.ndarray]:
    """A decoded layer (``size`` high, k·``size`` wide) → its k frames, left to right."""
    if pixels.shape[0] != size or pixels.shape[1] % size:
        raise UserError(
            f"{path}: layer is {pixels.shape[1]}×{pixels.shape[0]}, expected {size}×{size} ([pixels].size), "
            f"or k·{size}×{size} for a strip of k frames side by side"
        )
    return [pixels[:, start : start + size] for start in range(0, pixels.shape[1], size)]


def worn_strips(layers: Layers, combo: Combo) -> list[tuple[int, int]]:
    """The (part, value) keys of the strips the token ``combo`` wears, in drawing-part order."""
    parts = layers.order.parts
    return [(part, value) for part, value in layers.strips if combo[parts[part].trait] == value]


def strip_label(layers: Layers, tables: list[TraitTable], part: int, value: int) -> str:
    """A strip as every message names it: its part and value, ``hat:back 'Cap'``."""
    drawn = layers.order.parts[part]
    return f"{drawn.label(tables)} '{tables[drawn.trait].values[value].name}'"


def strip_names(layers: Layers, tables: list[TraitTable], combo: Combo) -> str:
    """The strips ``combo`` wears, as messages name them: ``eyes 'Brown' (4 frames), hat:back 'Cap' (2 frames)``."""
    return ", ".join(
        f"{strip_label(layers, tables, part, value)} ({len(layers.strips[(part, value)])} frames)"
        for part, value in worn_strips(layers, combo)
    )


def frame_count(layers: Layers, combo: Combo) -> int:
    """How many frames the token ``combo`` animates over: the least common multiple of its strips' lengths (1: a
    still). The LCM, not the longest strip, so every strip loops whole: a 2-frame blink and a 3-frame smoke repeat
    every 6 frames, each showing every one of its frames in order."""
    return math.lcm(1, *(len(layers.strips[key]) for key in worn_strips(layers, combo)))


def check_frame_counts(layers: Layers, tables: list[TraitTable], combos: Iterable[Combo], max_frames: int) -> None:
    """Refuse a planned token whose strips' LCM passes ``[animation].max_frames``, naming the values (before any
    write: a 3-, 7- and 11-frame strip together make 231 frames, which a creator rarely means)."""
    if not layers.strips:
        return
    for combo in combos:
        count = frame_count(layers, combo)
        if count > max_frames:
            raise UserError(
                f"{strip_names(layers, tables, combo)} animate together over {count} frames, more than [animation].max_frames = {max_frames}; "
                "make the strips' lengths share factors (e.g. 2, 4, 8), forbid the combination in [[rules]], or raise "
                "[animation].max_frames"
            )


@dataclass
class Frames:
    """The frames of animated tokens, composited from ``layers`` (a :class:`generator.render.layers.Layers`).

    Frame ``f``'s layers are the stills' art with each strip's slot holding its frame ``f mod k``: a copy of the
    small per-part stacks, made once per frame number and kept, so every token's frame ``f`` is one call of the
    same vectorised composite that draws the stills (and equals it at ``f = 0``)."""

    layers: Layers
    _by_frame: dict[int, Layers] = field(default_factory=dict)

    @property
    def strips(self) -> dict[tuple[int, int], np.ndarray]:
        return self.layers.strips

    def count(self, combo: Combo) -> int:
        return frame_count(self.layers, combo)

    def layers_at(self, frame: int) -> Layers:
        if frame not in self._by_frame:
            art = [stack.copy() for stack in self.layers.art]
            for (part, value), strip in self.strips.items():
                art[part][value] = strip[frame % len(strip)]
            self._by_frame[frame] = replace(self.layers, art=art)
        return self._by_frame[frame]

    def composite(self, combos: np.ndarray, frames: int) -> np.ndarray:
        """(batch, traits) value indices → (frames, batch, size, size, 3): frame ``f`` of every token in the batch."""
        return np.stack([self.layers_at(f).composite(combos) for f in range(frames)])
