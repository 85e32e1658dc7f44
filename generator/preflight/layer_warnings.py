"""Layers that load fine but that the quality filter will reject, or the palette snap will change: ``traits check`` warnings.

Each check reads one value alone (every part of a split trait together), so a warning holds for every token that
wears the value:

- a layer above the bottom one that is fully opaque hides everything below it, the background
  included, so the filter's background and coverage checks fail; one that draws nothing leaves
  the trait invisible;
- a layer that paints more of the canvas than ``[quality].max_coverage``, or more of the top
  and side edges than ``[quality].min_background_uniformity`` leaves to the background, fails
  those checks on every token;
- a layer with more colours than ``[quality].max_colors`` fails the colour count;
- colours missing from the ``[pixels].palette``: diffusion renders are snapped to the palette,
  so these come out as other colours (beyond :data:`generator.pixels.measures.TRAIT_TOLERANCE` the
  trait check rejects the token), and sprite tokens keep them, off the collection's palette.

Only opaque pixels are compared with the palette: a half-transparent pixel's colour depends on
the layer below it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from generator.config import Config
from generator.errors import plural
from generator.images import pack_rgb
from generator.pixels.measures import MIN_TRAIT_PIXELS, TRAIT_TOLERANCE
from generator.pixels.palette import Palette, to_lab
from generator.plan.traits import NONE_VALUE, TraitTable
from generator.render.frames import art_name
from generator.render.layers import Layers, layer_path, part_path

LISTED_COLOURS = 3  # off-palette colours named per layer; the rest are counted


def layer_warnings(
    config: Config, tables: list[TraitTable], layers: Layers, palette: Palette | None, palette_path: Path | None
) -> list[str]:
    """Every warning about the enabled values' layers, in trait and table order.

    Coverage and colours are a value's whole look (every part of a split trait together, named by its main file);
    off-palette colours are each file's own."""
    warnings = []
    for position, table in enumerate(tables):
        worn = layers.worn(position)
        for index in table.enabled_indices:
            found = [] if position == 0 else _coverage(config, table, index, worn[index])
            found += _colour_count(config, worn[index])
            warnings += [f"{art_name(layer_path(config, table, index))}: {problem}" for problem in found]
            if palette is None or palette_path is None:
                continue
            for part in layers.parts_of(position):  # a value without art in a part has no colour there to warn about
                art = layers.strips.get((part, index), layers.art[part][index])  # a strip: every frame's colours
                off = _off_palette(config, table, art, palette, palette_path, judged=position > 0)
                path = part_path(config, table, layers.order.parts[part], index)
                warnings += [f"{art_name(path)}: {problem}" for problem in off]
    return warnings


def _coverage(config: Config, table: TraitTable, index: int, layer: np.ndarray) -> list[str]:
    alpha = layer[..., 3]
    value = table.values[index].name
    if not alpha.any():
        return (
            [] if value == NONE_VALUE else [f"draws nothing, so tokens with {table.key} '{value}' show no {table.key}; draw it"]
        )
    quality = config.quality
    rejected = f"the quality filter rejects every token with {table.key} '{value}'" if quality.enabled else ""
    if alpha.min() == 255:
        also = f", and {rejected} (background, coverage)" if rejected else ""
        return [
            f"is fully opaque, so it hides every layer below it, the background too{also}; make the pixels around the drawing transparent"
        ]
    if not rejected:
        return []
    drawn = float((alpha > 0).mean())
    if drawn > quality.max_coverage:
        return [
            f"paints {drawn:.0%} of the canvas, above [quality].max_coverage {quality.max_coverage:.0%}: {rejected}; make more of it transparent"
        ]
    edges = np.concatenate([alpha[0, :], alpha[1:, 0], alpha[1:, -1]]) > 0  # the frame quality reads the background from
    if edges.mean() > 1 - quality.min_background_uniformity:
        return [
            f"paints {edges.mean():.0%} of the top and side edges, where [quality].min_background_uniformity "
            f"{quality.min_background_uniformity:.0%} needs the background: {rejected}; keep the edges transparent"
        ]
    return []


def _colour_count(config: Config, layer: np.ndarray) -> list[str]:
    colours = len(np.unique(pack_rgb(layer[layer[..., 3] == 255][:, :3])))
    if config.quality.enabled and colours > config.quality.max_colors:
        return [f"has {colours} colours, above [quality].max_colors {config.quality.max_colors}: every token with it is rejected"]
    return []


def _off_palette(
    config: Config, table: TraitTable, layer: np.ndarray, palette: Palette, palette_path: Path, judged: bool
) -> list[str]:
    """Opaque colours the palette lacks, each with its nearest palette colour and the ΔE76 between them."""
    opaque = layer[layer[..., 3] == 255][:, :3]
    packed, counts = np.unique(pack_rgb(opaque), return_counts=True)
    missing = ~np.isin(packed, pack_rgb(palette.colors))
    if not missing.any():
        return []
    colours = np.stack([(packed[missing] >> shift) & 255 for shift in (16, 8, 0)], axis=-1).astype(np.uint8)
    distance = np.sqrt(((to_lab(colours)[:, None, :] - palette.lab[None]) ** 2).sum(axis=-1))
    nearest, gap = distance.argmin(axis=1), distance.min(axis=1)
    order = np.argsort(-gap)
    named = ", ".join(
        f"{_hex(colours[k])} (ΔE {gap[k]:.1f} from {_hex(palette.colors[nearest[k]])})" for k in order[:LISTED_COLOURS]
    )
    more = f" and {len(colours) - LISTED_COLOURS} more" if len(colours) > LISTED_COLOURS else ""
    far = (gap > TRAIT_TOLERANCE) & (counts[missing] >= MIN_TRAIT_PIXELS)
    quality = config.quality
    verdict = ""
    if judged and far.any() and quality.enabled and quality.min_trait_match > 0:
        verdict = f"; beyond ΔE {TRAIT_TOLERANCE:g} the trait check rejects diffusion tokens with it (trait_{table.key})"
    return [
        f"{plural(len(colours), 'colour')} not in {palette_path}: {named}{more}; diffusion renders snap them to the nearest palette "
        f"colour and sprite tokens keep them off the palette{verdict}; add them to the palette or recolour the layer"
    ]


def _hex(colour: np.ndarray) -> str:
    return "#" + "".join(f"{int(channel):02x}" for channel in colour)
