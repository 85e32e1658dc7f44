"""Which tokens draw themselves from layers, and each distinct layer once, as the smallest PNG that holds it.

A token is *layered* when its 24×24 master is exactly its traits' layers composed: sprites, and hybrid or
diffusion renders that came out exact. Only layers whose alpha is 0 or 255 qualify: a browser
stacking half-transparent images rounds differently from the compositing that made the master, and
the promise is pixel-equality. Every other token (a render with its own pixels, a ``replace``d
token, a 1/1) is inscribed whole, as its PNG.

A bottom layer of one opaque colour (a plain background) is not inscribed at all: each SVG paints that
colour itself, 24 bytes instead of a 91-byte ``<image>``. Each other layer is written as the smallest of two exact encodings (RGBA, or a palette with a tRNS chunk
at the fewest bits per pixel): palette wins for pixel art, typically by a third. Whole 24×24
layers beat layers cropped to their content and placed by x/y, and a shared atlas: those save
layer bytes once but cost every token bytes (docs/ordinals.md has the measurements).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from generator.config import Config
from generator.curate.finished import RESTORE, CollectionFolder, Token, read_master
from generator.files import IMAGE_LIMIT, read_limited, slugify
from generator.plan.depth import Part
from generator.plan.traits import TraitTable, combo_of, load_traits
from generator.render.layers import Layers, drawn_layers, part_path


@dataclass(frozen=True)
class Layer:
    trait: str  # the table key
    value: str
    file: str  # under the ordinals folder: layers/<trait>-<value>.png
    png: bytes


@dataclass(frozen=True)
class Drawing:
    """How one token is inscribed: from ``layers`` (indices into the collection's :class:`Layer` list, in draw
    order), or, when None, as ``png``, its own pixels."""

    token: Token
    layers: tuple[int, ...] | None
    png: bytes  # the smallest PNG of the master: the token's file when not layered, the comparison when it is
    fill: str | None = None  # the colour of a bottom layer that is one opaque colour, painted by the SVG itself


def plan_drawings(config: Config, collection: CollectionFolder) -> tuple[list[Layer], list[Drawing]]:
    """The distinct layers the layered tokens use (drawing order of the parts, then table order) and every token's
    drawing, its layers in its own order (a ``[[depth]]`` override's included: an SVG stacks any order)."""
    tables = load_traits(config)
    art = drawn_layers(config, tables)
    originals = [read_limited(token.master, IMAGE_LIMIT, RESTORE) for token in collection.tokens]
    masters = [_rgba(read_master(token.master)) for token in collection.tokens]  # a damaged one: one line
    combos = [
        exact_layers(tables, art, token, master) if art else None
        for token, master in zip(collection.tokens, masters, strict=True)
    ]
    fills = {pair: _fill(art, *pair) for combo in combos if combo for pair in combo[:1]}
    used = sorted({pair for combo in combos if combo for pair in combo if fills.get(pair) is None})
    layers = [_layer(config, tables, art, part, value) for part, value in used] if art else []
    index = {pair: i for i, pair in enumerate(used)}
    return layers, [
        _drawing(token, smallest_png(master, original), combo, index, fills)
        for token, master, original, combo in zip(collection.tokens, masters, originals, combos, strict=True)
    ]


def smallest_png(pixels: np.ndarray, original: bytes = b"") -> bytes:
    """The smallest exact encoding of ``pixels`` (h, w, 4): RGBA, a palette, or ``original`` (the file it came from,
    perhaps squeezed by another tool) when it holds only the chunks that draw pixels: a gAMA or iCCP chunk would
    change the colours a browser shows, and text chunks are bytes paid for nothing."""
    candidates = [_encode(Image.fromarray(pixels, "RGBA"))]
    palette = _palette_image(pixels)
    if palette is not None:
        candidates.append(palette)
    if _bare(original) and _same(_decoded(original), pixels):
        candidates.append(original)
    return min(candidates, key=len)


def exact_layers(tables: list[TraitTable], art: Layers, token: Token, master: np.ndarray) -> list[tuple[int, int]] | None:
    """The (part, value) layers that draw ``token`` exactly, in its own drawing order, skipping empty ones; None when
    they do not draw it. A part is a position in ``art.order.parts``: a trait's main art, or a part of it at another
    depth, each its own layer; without parts, part and trait positions are the same.

    Shared with the on-chain export: "layered" means the same thing wherever the layers are stored once."""
    combo = combo_of(tables, token.traits)
    if combo is None or None in combo:
        return None
    drawn_parts = art.order.order_of(combo)
    parts = art.order.parts
    layers = [(part, combo[parts[part].trait]) for part in drawn_parts if art.art[part][combo[parts[part].trait], ..., 3].any()]
    if any(not np.isin(art.art[p][v][..., 3], (0, 255)).all() for p, v in layers):
        return None
    drawn = art.composite(np.array([combo]))[0]
    exact = (master[..., 3] == 255).all() and np.array_equal(drawn, master[..., :3])
    return layers if exact else None


def _drawing(token: Token, png: bytes, combo: list[tuple[int, int]] | None, index: dict, fills: dict) -> Drawing:
    """``token`` drawn from its layers (``combo``, with ``index`` their positions among the inscribed layers) over the
    colour a plain bottom layer gives (``fills``), or by ``png`` when ``combo`` is None."""
    if combo is None:
        return Drawing(token, None, png)
    fill = fills.get(combo[0])
    return Drawing(token, tuple(index[pair] for pair in (combo[1:] if fill else combo)), png, fill)


def _fill(art: Layers, part: int, value: int) -> str | None:
    """``#rrggbb`` when the bottom layer is one opaque colour: the SVG paints it (24 bytes) instead of an image
    (91), and that layer is never inscribed."""
    pixels = art.art[part][value].reshape(-1, 4)
    if (pixels[:, 3] != 255).any() or (pixels != pixels[0]).any():
        return None
    return "#" + bytes(pixels[0, :3]).hex()


def _layer(config: Config, tables: list[TraitTable], art: Layers, position: int, value: int) -> Layer:
    """One layer inscription, ``layers/<slug>.png``, titled by its ``[traits].order`` entry."""
    part = art.order.parts[position]
    table = tables[part.trait]
    original = read_limited(part_path(config, table, part, value), IMAGE_LIMIT, "draw it")
    png = smallest_png(art.art[position][value], original)
    return Layer(part.label(tables), table.values[value].name, f"layers/{layer_slug(tables, part, value)}.png", png)


def layer_slug(tables: list[TraitTable], part: Part, value: int) -> str:
    """``<trait>-<value>``, or ``<trait>.<part>-<value>`` for a part of a trait: distinct names (slugs hold no dot),
    as the Ordinals layer files and Nouns' encoder (which keys images by name alone) need."""
    table = tables[part.trait]
    trait = slugify(table.key) or str(part.trait)
    column = f"{trait}.{slugify(part.name) or 'part'}" if part.name else trait
    return f"{column}-{slugify(table.values[value].name) or value}"


def _bare(png: bytes) -> bool:
    """Whether ``png`` is a PNG of only IHDR, PLTE, tRNS, IDAT and IEND chunks."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    position = 8
    while position + 8 <= len(png):
        length, kind = int.from_bytes(png[position : position + 4], "big"), png[position + 4 : position + 8]
        if kind not in (b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"):
            return False
        position += 12 + length
    return position == len(png)


def _decoded(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
        return _rgba(image)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal as drawn: the same alpha everywhere, the same colour wherever a pixel shows."""
    return a.shape == b.shape and np.array_equal(a[..., 3], b[..., 3]) and np.array_equal(a[a[..., 3] > 0], b[b[..., 3] > 0])


def _rgba(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGBA"))


def _palette_image(pixels: np.ndarray) -> bytes | None:
    """A palette PNG (colours with alpha in tRNS; every fully transparent pixel one entry), or None over 256."""
    flat = pixels.reshape(-1, 4).copy()
    flat[flat[:, 3] == 0] = 0  # a transparent pixel's colour is invisible: one entry for all of them
    colors, indices = np.unique(flat.view(np.uint32)[:, 0], return_inverse=True)
    if len(colors) > 256:
        return None
    table = colors.view(np.uint8).reshape(-1, 4)
    order = np.argsort(table[:, 3] == 255, kind="stable")  # translucent entries first: the tRNS chunk stays short
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    image = Image.fromarray(rank[indices].reshape(pixels.shape[:2]).astype(np.uint8), "P")
    image.putpalette(table[order, :3].tobytes())
    alphas = table[order, 3]
    translucent = int((alphas < 255).sum())
    return _encode(image, transparency=alphas[:translucent].tobytes()) if translucent else _encode(image)


def _encode(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True, **options)
    return buffer.getvalue()
