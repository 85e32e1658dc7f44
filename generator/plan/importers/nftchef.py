"""nftchef art-engine projects: HashLips' layout and ``src/config.js`` plus nftchef's own keys.

As its ``src/main.js`` reads them (never run): weights are ``#<digits>`` and a file without one is drawn on every
token ("required"); a ``z<n>,`` prefix moves a file in a global stacking order; ``emptyLayerName`` (``NONE``) is the
empty value; ``traitValueOverrides`` renames values in the metadata; a layer's ``trait`` is its ``trait_type``;
``incompatible`` (``{ Red: ["Dark Long"] }``: a value, then values of later layers it excludes) and
``forcedCombinations`` (values it requires) name values by their clean file names. punkgen maps the empty value to
``None``, the exclusions to ``forbid`` and the requirements to ``require``. Nested folders (nftchef's branching) and
always-drawn files have no punkgen form yet and are refused in one line; a z-index is named in a note.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from generator.errors import Arg, UserError
from generator.plan.importers.hashlips import (
    binding,
    choose_stack,
    default_config,
    layer_options,
    note_canvas_options,
    note_layer_options,
)
from generator.plan.importers.jsliteral import read_bindings
from generator.plan.importers.source import SourceLayer, SourceProject, SourceRule, SourceValue, png_files, split_weight
from generator.plan.traits import NONE_VALUE
from generator.text import read_text

__all__ = ["default_config", "read_project"]
_Z_INDEX = re.compile(r"^z(-?\d*),")


def read_project(source: Path, config_path: Path, configuration: int | None) -> SourceProject:
    bindings = read_bindings(config_path, read_text(config_path, f"name the project's config.js with {Arg.CONFIG}"))
    notes: list[str] = []
    stack, size = choose_stack(config_path, binding(bindings, config_path, "layerConfigurations", list), configuration, notes)
    delimiter = binding(bindings, config_path, "rarityDelimiter", str, "#")
    empty = binding(bindings, config_path, "emptyLayerName", str, "NONE")
    overrides = binding(bindings, config_path, "traitValueOverrides", dict, {})
    clean_names: dict[str, list[tuple[str, str]]] = {}  # a file's clean name → (layer, value) it became
    layers = []
    for entry in stack["layersOrder"]:
        layer = _layer(source / "layers", config_path, entry, delimiter, notes)
        named = _named(layer, empty, overrides)
        for clean, value in zip(layer.values, named.values, strict=True):
            clean_names.setdefault(clean.name, []).append((layer.name, value.name))
        layers.append(named)
    rules = [
        *_rules(config_path, binding(bindings, config_path, "incompatible", dict, {}), "incompatible", "forbid", clean_names),
        *_rules(
            config_path,
            binding(bindings, config_path, "forcedCombinations", dict, {}),
            "forcedCombinations",
            "require",
            clean_names,
        ),
    ]
    note_canvas_options(config_path, bindings, notes)
    prefix = stack.get("namePrefix") if isinstance(stack.get("namePrefix"), str) else ""
    name = prefix or source.resolve().name
    description = binding(bindings, config_path, "description", str, "")
    return SourceProject("nftchef", config_path, name, description, size, layers, rules, notes)


def _layer(folder: Path, path: Path, entry: Any, delimiter: str, notes: list[str]) -> SourceLayer:
    name, options = layer_options(path, entry)
    opacity = note_layer_options(path, name, {**entry, **options}, notes)
    nested = sorted(child for child in (folder / name).glob("*") if child.is_dir() and not child.name.startswith("."))
    if nested:
        raise UserError(f"{nested[0]}: nested folders (nftchef branching) are not imported yet; flatten the layer into files")
    values = []
    for file in png_files(folder / name, notes):
        z_index = _Z_INDEX.match(file.name)
        plain = file.with_name(file.name[z_index.end() :]) if z_index else file
        if z_index and z_index.group(1) not in {"", "0"}:
            notes.append(f"{file}: z-index {z_index.group(1)} ignored; drawn at layer '{name}''s place in layersOrder")
        if "?" in plain.name:
            notes.append(f"{file}: per-file options ignored; drawn normally")
            plain = plain.with_name(plain.name.split("?")[0] + plain.suffix)
        clean, weight = split_weight(plain, delimiter, None)
        values.append(SourceValue(clean, weight, file))
    display = entry.get("trait") if isinstance(entry.get("trait"), str) else options.get("displayName", name)
    return SourceLayer(name, str(display), values, opacity)


def _named(layer: SourceLayer, empty: str, overrides: dict[str, Any]) -> SourceLayer:
    """The layer with each value as nftchef writes it into metadata: overrides applied, the empty value as ``None``."""
    values = [
        SourceValue(NONE_VALUE if value.name == empty else str(overrides.get(value.name, value.name)), value.weight, value.image)
        for value in layer.values
    ]
    return SourceLayer(layer.name, layer.display, values, layer.opacity)


def _rules(
    path: Path, table: dict[str, Any], setting: str, kind: str, clean_names: dict[str, list[tuple[str, str]]]
) -> list[SourceRule]:
    """``{ key: [names] }`` by clean file names → rules; a name in no layer, or in two, is refused (nftchef's own
    docs warn that duplicate names set the wrong rule)."""
    rules = []
    for key, names in table.items():
        when = _find(path, setting, key, clean_names)
        for name in names if isinstance(names, list) else [names]:
            layer, value = _find(path, setting, str(name), clean_names)
            rules.append(SourceRule(when, kind, layer, (value,)))
    return rules


def _find(path: Path, setting: str, name: str, clean_names: dict[str, list[tuple[str, str]]]) -> tuple[str, str]:
    found = clean_names.get(name, [])
    if len(found) != 1:
        where = "no layer file" if not found else f"files in {len(found)} layers ({', '.join(layer for layer, _ in found)})"
        raise UserError(f"{path}: {setting} names '{name}', which matches {where}; use the file's name without its weight")
    return found[0]
