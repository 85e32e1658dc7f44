"""The trait layers: the art each trait value draws, loaded and checked once, and what follows from it for every backend.

Layers are ``<config folder>/layers/<trait>/<value>.png``, RGBA at ``[pixels].size``; the first
trait (the background) must be opaque. The sprite renderer composites them; the quality filter's
trait check asks them what a token claims and which trait owns each pixel; the pixel step paints
a recovered background the colour its background layer asks for; ``traits check`` warns about
art the filter will reject. A trait may draw further parts at other depths (``layers/<trait>/<part>/<value>.png``,
placed by ``[traits].order`` and ``[[depth]]``: :mod:`generator.plan.depth`); the pixels a part paints are its trait's.
All layers are decoded into one array per part, so a batch is composited with a few vectorised numpy operations
per drawing order it holds, and no per-pixel Python.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from generator.config import Config
from generator.errors import UserError
from generator.files import IMAGE_LIMIT, read_limited
from generator.images import IMAGE_ERRORS, rgba_pixels, unique_rgb
from generator.plan.depth import DrawOrder, Order, Part, draw_order
from generator.plan.traits import Combo, TraitTable
from generator.render.frames import frame_files, has_art, split_strip


@dataclass(frozen=True)
class Layers:
    art: list[np.ndarray]  # per part of order.parts: (values, size, size, 4) uint8; a value without art there is clear
    order: DrawOrder  # which part draws over which, per trait set
    digest: str  # sha256 over every enabled layer file and the depths: what a run's fingerprint needs of the art
    strips: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (part, value) → (k, size, size, 4) for
    # art drawn as k > 1 frames (see generator.render.frames); ``art`` holds frame 0

    @property
    def stacks(self) -> list[np.ndarray]:
        """Per trait: its main art (``layers/<trait>/<value>.png``), the layer a value is known by."""
        return [self.art[position] for position, part in enumerate(self.order.parts) if not part.name]

    def parts_of(self, trait: int) -> list[int]:
        """The positions (in ``order.parts``) of a trait's parts, its main art among them, bottom first."""
        return [position for position, part in enumerate(self.order.parts) if part.trait == trait]

    def worn(self, trait: int) -> np.ndarray:
        """Per value, every part of the trait seen together (the upper part's pixel wherever it paints one): what a
        value adds to a token, for the warnings that read one value alone. A trait of one part: its main art."""
        parts = self.parts_of(trait)
        together = self.art[parts[0]].copy()
        for part in parts[1:]:
            painted = self.art[part][..., 3:] > 0
            np.copyto(together, self.art[part], where=painted)
        return together

    @cached_property
    def _pixels(self) -> list[np.ndarray]:
        """Each layer's RGBA pixels as one 32-bit word each (values, size, size): a pixel copied is one element."""
        return [np.ascontiguousarray(stack).view(np.uint32)[..., 0] for stack in self.art]

    @cached_property
    def _opaque(self) -> list[np.ndarray]:
        return [stack[..., 3] == 255 for stack in self.art]

    @cached_property
    def _binary(self) -> list[np.ndarray]:
        """Per part and value: whether its alpha is only 0 or 255 (pixel art, as a rule)."""
        return [((stack[..., 3] == 0) | (stack[..., 3] == 255)).all(axis=(1, 2)) for stack in self.art]

    def composite(self, combos: np.ndarray) -> np.ndarray:
        """(batch, traits) value indices → (batch, size, size, 3) uint8, "over" compositing rounded like PIL, each
        trait set's parts in its own drawing order (the batch is drawn once per distinct order it holds)."""
        groups, orders = self.order.orders(combos)
        if len(orders) == 1:
            return self._draw(combos, orders[0])
        drawn = np.empty((len(combos), *self.art[0].shape[1:3], 3), dtype=np.uint8)
        for group, order in enumerate(orders):
            drawn[groups == group] = self._draw(combos[groups == group], order)
        return drawn

    def _draw(self, combos: np.ndarray, order: Order) -> np.ndarray:
        """The batch's parts in ``order``, bottom first.

        Where a batch's layers have alpha only 0 or 255, each is copied where it is opaque, whole pixels as 32-bit
        words: exactly what the formula gives there, and 256 tokens in 2 ms, where the formula's arithmetic on
        bytes took 13. A layer with partial alpha (anti-aliased art) takes the formula."""
        parts = self.order.parts
        canvas = self._pixels[order[0]][combos[:, parts[order[0]].trait]]
        for part in order[1:]:
            values = combos[:, parts[part].trait]
            if self._binary[part][values].all():
                np.copyto(canvas, self._pixels[part][values], where=self._opaque[part][values])
            else:
                canvas = _blend(canvas, self.art[part][values])
        return np.ascontiguousarray(_as_rgba(canvas)[..., :3])

    def expectation(self, combo: Combo) -> tuple[np.ndarray, np.ndarray]:
        """The token as its layers draw it, and which trait owns each pixel (the trait of the last part to paint it:
        a hat's back, where it shows, is the hat's)."""
        order = self.order.order_of(combo)
        owner = np.zeros(self.art[0].shape[1:3], dtype=np.int16)
        for part in order[1:]:
            trait = self.order.parts[part].trait
            owner[self.art[part][combo[trait], ..., 3] > 0] = trait
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
    """Every enabled value's art, read and checked once; a missing or malformed file is a config error.

    The digest reads each trait's main layers as it always has, then (only where the collection has them) the parts
    and the depths: a folder without parts or ``[[depth]]`` keeps its digest, so its runs keep resuming."""
    order = draw_order(config, tables)
    digest = hashlib.sha256()
    mains = [_main_stack(config, table, trait == 0, digest) for trait, table in enumerate(tables)]
    art = [mains[part.trait] if not part.name else _part_stack(config, tables, part, digest) for part in order.parts]
    if not order.simple:
        digest.update(f"depth\0{config.traits.order}\0{config.depth}".encode())
    strips = {(position, value): strip for position, (_, own) in enumerate(art) for value, strip in own.items()}
    return Layers([stack for stack, _ in art], order, digest.hexdigest(), strips)


Stack = tuple[np.ndarray, dict[int, np.ndarray]]  # a part's frame 0 per value, and the strips of values with frames


def _main_stack(config: Config, table: TraitTable, bottom: bool, digest: hashlib._Hash) -> Stack:
    """A trait's main layers (``layers/<trait>/<value>.png``): every enabled value must have one."""
    paths = {i: layer_path(config, table, i) for i in table.enabled_indices}
    return _stack(paths, table, config.pixels.size, bottom, digest, table.key)


def _stack(paths: dict[int, Path], table: TraitTable, size: int, bottom: bool, digest: hashlib._Hash, label: str) -> Stack:
    """Each value's art in one part: one frame, or a strip (see :mod:`generator.render.frames`); every file goes into
    the digest (a single file as it always did, so a still collection keeps its fingerprint)."""
    stack = np.zeros((len(table.values), size, size, 4), dtype=np.uint8)
    strips = {}
    for i, path in paths.items():
        frames = []
        for number, file in enumerate(frame_files(path)):
            data = _read_layer(file, table)
            frames += split_strip(file, _decode_layer(file, data, size, must_be_opaque=bottom), size)
            name = table.values[i].name + (f"/{number}" if number else "")
            digest.update(f"{label}/{name}\0".encode() + hashlib.sha256(data).digest())
        stack[i] = frames[0]
        if len(frames) > 1:
            strips[i] = np.stack(frames)
    return stack, strips


def _part_stack(config: Config, tables: list[TraitTable], part: Part, digest: hashlib._Hash) -> Stack:
    """A part's layers (``layers/<trait>/<part>/<value>.png``): a value without a file there draws nothing in this
    part (a beanie has no back); a file no value names, or a part without any file, is a typo refused in one line."""
    table, label = tables[part.trait], part.label(tables)
    folder = part_path(config, table, part, 0).parent
    if not folder.is_dir():
        raise UserError(
            f"{config.path}: [traits].order names the part '{label}' but {folder} is not a folder; draw the part there "
            f"(one file per value that has it, named as in {table.path.name}) or remove '{label}'"
        )
    _refuse_stray(folder, table)
    paths = {i: part_path(config, table, part, i) for i in table.enabled_indices}
    drawn = {i: path for i, path in paths.items() if _named_in_part(path)}
    if not drawn:
        raise UserError(
            f"{folder}: no layer for any enabled {table.key} value; draw the part or remove '{label}' from [traits].order"
        )
    return _stack(drawn, table, config.pixels.size, False, digest, label)


ART_SUFFIXES = (".png", ".gif", ".jpg", ".jpeg", ".webp", ".bmp")


def _refuse_stray(folder: Path, table: TraitTable) -> None:
    """Every image or folder in a part's folder must be a value's layer or frames folder: a value may lack a file
    there (and draws nothing), so a misnamed one (``Cpa.png``, ``Cap.PNG``, HashLips' ``Cap#2.png``, a frames folder
    ``Cpa/``) would otherwise silently leave its value without the part."""
    names = {value.layer for value in table.values} | {Path(value.layer).stem for value in table.values}
    try:
        entries = list(folder.iterdir())
    except OSError as error:
        raise UserError(f"{folder}: cannot be read ({error.strerror or error}); check the folder and run again") from None
    stray = sorted(
        entry.name
        for entry in entries
        if entry.name not in names and not entry.name.startswith(".") and (entry.is_dir() or entry.suffix.lower() in ART_SUFFIXES)
    )
    if stray:
        meant = _meant(stray[0], table)
        fix = f"rename it {meant}" if meant else f"name it as a value's layer in {table.path.name}, or remove it"
        raise UserError(f"{folder / stray[0]}: no {table.key} value draws this file ({table.path}); {fix}")


def _meant(name: str, table: TraitTable) -> str | None:
    """The layer file a misnamed part file was likely meant as: the value its name spells apart from case, extension
    or a HashLips ``#weight``."""
    spelled = Path(name).stem.split("#")[0].casefold()
    for value in table.values:
        if spelled in (value.name.casefold(), Path(value.layer).stem.casefold()):
            return f"'{value.layer}' (the layer of {table.key} '{value.name}')"
    return None


def _named_in_part(path: Path) -> bool:
    """Whether a value has put anything at its name in a part's folder: its PNG, a link, a folder of frames, or a pipe
    or folder where the PNG goes. Only a value with nothing there draws nothing in the part; anything else is read,
    so a folder or a pipe named ``Cap.png`` is refused in one line rather than skipped as "no back"."""
    return os.path.lexists(path) or path.with_suffix("").is_dir()


def drawn_layers(config: Config, tables: list[TraitTable]) -> Layers | None:
    """The layers when every enabled value has its main file, else None: a diffusion collection without layer art (or
    with only some of it) has no claims to check, and skips the trait check rather than failing."""
    complete = all(has_art(layer_path(config, table, i)) for table in tables for i in table.enabled_indices)
    return load_layers(config, tables) if complete else None


def background_colors(config: Config, table: TraitTable) -> tuple[np.ndarray | None, ...]:
    """The colour each value of the bottom trait asks for: its layer's most common colour (None without a layer); of
    frame 0 for a strip, since the quality filter judges the still (a flickering background's other frames would
    otherwise outvote it and reject every token that wears it).

    The pixel step paints the recovered background exactly this colour, and quality measures how
    far a render's background is from it, for every backend.
    """
    colors: list[np.ndarray | None] = []
    for index in range(len(table.values)):
        path = frame_files(layer_path(config, table, index))[0]
        if not path.is_file():
            colors.append(None)
            continue
        layer = _decode_layer(path, _read_layer(path, table), config.pixels.size, must_be_opaque=False)
        pixels = split_strip(path, layer, config.pixels.size)[0][..., :3].reshape(-1, 3)  # frame 0: the still's colour
        values, counts = unique_rgb(pixels)
        colors.append(values[counts.argmax()])
    return tuple(colors)


def layer_path(config: Config, table: TraitTable, index: int) -> Path:
    return config.layers_folder / table.key / table.values[index].layer


def part_path(config: Config, table: TraitTable, part: Part, index: int) -> Path:
    """Where a value's art for ``part`` lives: its main layer, or ``layers/<trait>/<part>/`` beside it."""
    return config.layers_folder / table.key / part.name / table.values[index].layer


def _read_layer(path: Path, table: TraitTable) -> bytes:
    if path.is_symlink() and not path.exists():  # "missing layer" would send the user to draw a file that is there
        raise UserError(f"{path}: is a link to {os.readlink(path)}, which does not exist; point it at the layer or remove it")
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
