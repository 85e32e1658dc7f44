"""What ``punkgen traits check`` shows of depth: the drawing order, which values draw each part, and how many planned
tokens each ``[[depth]]`` override switches on for (an override that switches on for none is likely a typo'd value
or one the rules exclude, so it is also a warning), and a warning per value that planned tokens wear but that never
shows, since a part drawn low (a hat's back under the head) can be covered everywhere it paints."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from generator.config import Config
from generator.plan.depth import Override
from generator.plan.traits import TraitTable
from generator.render.layers import Layers, part_path


def drawn_values(layers: Layers) -> list[list[int]]:
    """Per part: the values whose art was read for it (every enabled value for a trait's main art)."""
    return [
        [int(i) for i in np.flatnonzero(layers.art[position][..., 3].any(axis=(1, 2)) | (not part.name))]
        for position, part in enumerate(layers.order.parts)
    ]


def depth_lines(tables: list[TraitTable], layers: Layers, planned: np.ndarray) -> list[str]:
    """Nothing for a collection without parts or overrides: its report reads as it always has."""
    order = layers.order
    if order.simple:
        return []
    labels = [part.label(tables) for part in order.parts]
    lines = ["", f"depth: drawn bottom first as {', '.join(labels)}"]
    for position, (part, values) in enumerate(zip(order.parts, drawn_values(layers), strict=True)):
        if part.name:
            names = ", ".join(tables[part.trait].values[i].name for i in values)
            lines.append(f"  {labels[position]}: drawn by {names}; the others draw nothing there")
    for override in order.overrides:
        hits = int(override.applies(planned).sum()) if len(planned) else 0
        lines.append(
            f"  [[depth]] #{override.number}: {_described(override, tables, labels)} ({hits:,} of {len(planned):,} planned tokens)"
        )
    return lines


def idle_overrides(config_path: Path, tables: list[TraitTable], layers: Layers, planned: np.ndarray) -> list[str]:
    """A warning per override that no planned token switches on: its art choice would never show."""
    labels = [part.label(tables) for part in layers.order.parts]
    return [
        f"{config_path}: [[depth]] #{override.number} ({_described(override, tables, labels)}) switches on for none of the "
        f"{len(planned):,} planned tokens; check its `when` against the rules and weights"
        for override in layers.order.overrides
        if len(planned) and not override.applies(planned).any()
    ]


def _described(override: Override, tables: list[TraitTable], labels: list[str]) -> str:
    when = " and ".join(
        f"{tables[trait].key} = {' | '.join(tables[trait].values[i].name for i in sorted(values))}"
        for trait, values in override.when
    )
    side = "above" if override.above else "below"
    return f"when {when}: {labels[override.move]} {side} {labels[override.target]}"


def hidden_values(config: Config, tables: list[TraitTable], layers: Layers, planned: np.ndarray) -> list[str]:
    """A warning per value (above the bottom trait) that planned tokens wear but that none of them shows: every pixel
    its parts paint lies under a later layer in each of those tokens, so its tokens claim a trait they do not show (and
    look like the tokens without it). Computed on the planned tokens, each in its own drawing order; only where the
    collection has parts or overrides, whose report this is. Animated values are left out: a later frame may show."""
    order = layers.order
    if order.simple or not len(planned):
        return []
    groups, orders = order.orders(planned)
    shown = [np.zeros(len(table.values), dtype=bool) for table in tables]
    for group, drawn in enumerate(orders):
        combos = planned[groups == group]
        owner = np.full((len(combos), *layers.art[0].shape[1:3]), -1, dtype=np.int16)
        for part in drawn[1:]:
            trait = order.parts[part].trait
            owner[layers.art[part][combos[:, trait], ..., 3] > 0] = trait
        for trait in range(1, len(tables)):
            shown[trait][combos[(owner == trait).any(axis=(1, 2)), trait]] = True
    warnings = []
    for trait in range(1, len(tables)):
        table, painted = tables[trait], layers.worn(trait)[..., 3].any(axis=(1, 2))
        for value in np.unique(planned[:, trait]):
            animated = any((part, value) in layers.strips for part in layers.parts_of(trait))  # judged on frame 0 only
            if painted[value] and not shown[trait][value] and not animated:
                files = [
                    part_path(config, table, order.parts[p], value)
                    for p in layers.parts_of(trait)
                    if layers.art[p][value, ..., 3].any()
                ]
                warnings.append(
                    f"{files[0]}: {table.key} '{table.values[value].name}' never shows in the planned tokens that wear it: "
                    "every pixel it draws is covered by a later layer; draw it where it shows, or move its part up in [traits].order"
                )
    return warnings
