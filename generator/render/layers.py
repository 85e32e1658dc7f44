"""The trait layers: the art each trait value draws, loaded and checked once, and what follows from it for every backend.

Layers are ``<config folder>/layers/<trait>/<value>.png``, RGBA at ``[pixels].size``; the first
trait (the background) must be opaque. The sprite renderer composites them; the quality filter's
trait check asks them what a token claims and which trait owns each pixel; the pixel step paints
a recovered background the colour its background layer asks for; ``traits check`` warns about
art the filter will reject. All layers are decoded into one array per trait, so a batch is
composited with a few vectorised numpy operations and no per-pixel Python.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from generator.config import Config
from generator.errors import UserError
from generator.files import IMAGE_LIMIT, read_limited
from generator.images import IMAGE_ERRORS, rgba_pixels, unique_rgb
from generator.plan.traits import Combo, TraitTable
from generator.render.frames import frame_files, has_art, split_strip


@dataclass(frozen=True)
class Layers:
    stacks: list[np.ndarray]  # per trait: (values, size, size, 4) uint8; disabled values stay transparent
    digest: str  # sha256 over every enabled layer file: what a run's fingerprint needs of the art
    strips: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (trait, value) → (k, size, size, 4)
    # for a value drawn as k > 1 frames (see generator.render.frames); its stack holds frame 0

    @cached_property
    def _pixels(self) -> list[np.ndarray]:
        """Each layer's RGBA pixels as one 32-bit word each (values, size, size): a pixel copied is one element."""
        return [np.ascontiguousarray(stack).view(np.uint32)[..., 0] for stack in self.stacks]

    @cached_property
    def _opaque(self) -> list[np.ndarray]:
        return [stack[..., 3] == 255 for stack in self.stacks]

    @cached_property
    def _binary(self) -> list[np.ndarray]:
        """Per trait and value: whether its alpha is only 0 or 255 (pixel art, as a rule)."""
        return [((stack[..., 3] == 0) | (stack[..., 3] == 255)).all(axis=(1, 2)) for stack in self.stacks]

    def composite(self, combos: np.ndarray) -> np.ndarray:
        """(batch, traits) value indices → (batch, size, size, 3) uint8, "over" compositing rounded like PIL.

        Where a batch's layers have alpha only 0 or 255, each is copied where it is opaque, whole pixels as 32-bit
        words: exactly what the formula gives there, and 256 tokens in 2 ms, where the formula's arithmetic on
        bytes took 13. A layer with partial alpha (anti-aliased art) takes the formula."""
        canvas = self._pixels[0][combos[:, 0]]
        for trait in range(1, len(self.stacks)):
            values = combos[:, trait]
            if self._binary[trait][values].all():
                np.copyto(canvas, self._pixels[trait][values], where=self._opaque[trait][values])
            else:
                canvas = _blend(canvas, self.stacks[trait][values])
        return np.ascontiguousarray(_as_rgba(canvas)[..., :3])

    def expectation(self, combo: Combo) -> tuple[np.ndarray, np.ndarray]:
        """The token as its layers draw it, and which trait owns each pixel (the last layer to paint it)."""
        owner = np.zeros(self.stacks[0].shape[1:3], dtype=np.int16)
        for trait, stack in enumerate(self.stacks[1:], start=1):
            owner[stack[combo[trait], ..., 3] > 0] = trait
        return self.composite(np.array([combo]))[0], owner


def _as_rgba(pixels: np.ndarray) -> np.ndarray:
    return pixels.view(np.uint8).reshape(*pixels.shape, 4)


def _blend(canvas: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """``layer`` (RGBA) over the opaque ``canvas`` (32-bit pixels), rounded as PIL's ``alpha_composite``."""
    alpha = layer[..., 3:].astype(np.uint16)
    rgb = (layer[..., :3] * alpha + _as_rgba(canvas)[..., :3] * (255 - alpha) + 127) // 255
    blended = np.concatenate([rgb.astype(np.uint8), np.full_like(layer[..., 3:], 255)], axis=-1)
    return blended.view(np.uint32)[..., 0]


def load_layers(config: Config, tables: list[TraitTable]) -> Layers:
    """Every enabled value's layer, read and checked once; a missing or malformed file is a config error."""
    size = config.pixels.size
    digest = hashlib.sha256()
    stacks, strips = [], {}
    for position, table in enumerate(tables):
        stack = np.zeros((len(table.values), size, size, 4), dtype=np.uint8)
        for i in table.enabled_indices:
            frames = []
            for number, path in enumerate(frame_files(layer_path(config, table, i))):
                data = _read_layer(path, table)
                frames += split_strip(path, _decode_layer(path, data, size, must_be_opaque=position == 0), size)
                name = table.values[i].name + (f"/{number}" if number else "")  # a still's digest as it always was
                digest.update(f"{table.key}/{name}\0".encode() + hashlib.sha256(data).digest())
            stack[i] = frames[0]
            if len(frames) > 1:
                strips[(position, i)] = np.stack(frames)
        stacks.append(stack)
    return Layers(stacks, digest.hexdigest(), strips)


def drawn_layers(config: Config, tables: list[TraitTable]) -> Layers | None:
    """The layers when every enabled value has its file, else None: a diffusion collection without layer art (or with
    only some of it) has no claims to check, and skips the trait check rather than failing."""
    complete = all(has_art(layer_path(config, table, i)) for table in tables for i in table.enabled_indices)
    return load_layers(config, tables) if complete else None


def background_colors(config: Config, table: TraitTable) -> tuple[np.ndarray | None, ...]:
    """The colour each value of the bottom trait asks for: its layer's most common colour (None without a layer).

    The pixel step paints the recovered background exactly this colour, and quality measures how
    far a render's background is from it, for every backend.
    """
    colors: list[np.ndarray | None] = []
    for index in range(len(table.values)):
        path = frame_files(layer_path(config, table, index))[0]
        if not path.is_file():
            colors.append(None)
            continue
        pixels = _decode_layer(path, _read_layer(path, table), config.pixels.size, must_be_opaque=False)[..., :3].reshape(-1, 3)
        values, counts = unique_rgb(pixels)
        colors.append(values[counts.argmax()])
    return tuple(colors)


def layer_path(config: Config, table: TraitTable, index: int) -> Path:
    return config.layers_folder / table.key / table.values[index].layer


def _read_layer(path: Path, table: TraitTable) -> bytes:
    if not path.exists():
        raise UserError(
            f"{path}: missing layer for {table.key} value '{path.stem}' ({table.path}); draw it, or set the value's weight to 0"
        )
    return read_limited(path, IMAGE_LIMIT, "draw it")  # a FIFO or a link to /dev/zero: one line, never read


def _decode_layer(path: Path, data: bytes, size: int, must_be_opaque: bool) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            pixels = rgba_pixels(path, image, exact=data)  # a layer's colours are the token's: 16 bits refused
    except IMAGE_ERRORS:
        raise UserError(f"{path}: not a readable PNG; export the layer as a {size}×{size} RGBA PNG") from None
    if must_be_opaque and pixels[..., 3].min() < 255:
        raise UserError(f"{path}: the first trait in [traits].order is the bottom layer and must be fully opaque")
    return pixels
