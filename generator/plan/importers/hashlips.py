"""HashLips art engine projects: ``src/config.js`` and ``layers/<Layer>/<Value>#<weight>.png``.

What HashLips does, read from its ``src/main.js`` (never run): a layer's values are the files in
``layers/<name>/``; a value's name is the file name before the first ``rarityDelimiter`` (default ``#``) and its
weight the number after the last one, 1 without a delimiter; layers are drawn in ``layersOrder``, the first at the
bottom, each with the layer's ``options.blend`` (a canvas composite operation, ``MODE.sourceOver`` by default) and
``options.opacity``; ``options.displayName`` is the metadata ``trait_type``. ``layerConfigurations`` may hold several
stacks, each drawing editions up to its ``growEditionSizeTo``: punkgen has one stack per collection, so one is
imported (``--configuration N``) and the others are named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.errors import Arg, UserError
from generator.plan.importers.jsliteral import Name, Unreadable, read_bindings
from generator.plan.importers.source import SourceLayer, SourceProject, SourceValue, png_files, split_weight
from generator.text import read_text

NORMAL_BLENDS = {"source-over", "sourceOver", "MODE.sourceOver"}


def default_config(source: Path) -> Path:
    return source / "src" / "config.js"


def read_project(source: Path, config_path: Path, configuration: int | None) -> SourceProject:
    bindings = read_bindings(config_path, read_text(config_path, f"name the project's config.js with {Arg.CONFIG}"))
    notes: list[str] = []
    stacks = binding(bindings, config_path, "layerConfigurations", list)
    stack, size = choose_stack(config_path, stacks, configuration, notes)
    delimiter = binding(bindings, config_path, "rarityDelimiter", str, "#")
    layers = [_layer(source / "layers", config_path, entry, delimiter, notes) for entry in stack["layersOrder"]]
    note_canvas_options(config_path, bindings, notes)
    name = binding(bindings, config_path, "namePrefix", str, "") or source.resolve().name
    description = binding(bindings, config_path, "description", str, "")
    return SourceProject("HashLips", config_path, name, description, size, layers, [], notes)


def binding(bindings: dict[str, Any], path: Path, name: str, kind: type, default: Any = None) -> Any:
    """A top-level binding the importer needs, of ``kind``: absent is ``default`` (or refused when there is none);
    code where data was expected is refused naming its line."""
    value = bindings.get(name, default)
    if isinstance(value, Unreadable):
        raise UserError(
            f"{path} line {value.line}: `{name}` is not a literal this importer reads (code, or a bracket never closed); write it as plain data"
        )
    if value is None and default is None:
        raise UserError(f"{path}: no `const {name} = …` found; is this the tool's config.js?")
    if not isinstance(value, kind):
        raise UserError(f"{path}: `{name}` should be a {_KIND_WORDS.get(kind, kind.__name__)}; fix the config")
    return value


_KIND_WORDS = {list: "list [ … ]", dict: "object { … }", str: "string"}


def choose_stack(path: Path, stacks: list[Any], chosen: int | None, notes: list[str]) -> tuple[dict[str, Any], int | None]:
    """The ``layerConfigurations`` entry to import and its edition count. One entry is imported as it is; several
    are refused unless ``--configuration N`` picks one, and the message (or a note) says what each one was."""
    ranges, start = [], 1
    for number, stack in enumerate(stacks, 1):
        if not isinstance(stack, dict) or not isinstance(stack.get("layersOrder"), list):
            raise UserError(f"{path}: layerConfigurations entry {number} has no layersOrder list; fix the config")
        end = stack.get("growEditionSizeTo")
        end = end if isinstance(end, int) and end >= start else start - 1
        ranges.append(f"{number}: editions {start}–{end}, {len(stack['layersOrder'])} layers")
        start = end + 1
    if not stacks:
        raise UserError(f"{path}: layerConfigurations is empty; add a layersOrder")
    if chosen is None and len(stacks) > 1:
        raise UserError(
            f"{path}: {len(stacks)} layerConfigurations ({'; '.join(ranges)}) but a punkgen collection draws from one "
            f"layer stack; import one with {Arg.CONFIGURATION} N"
        )
    index = (chosen or 1) - 1
    if not 0 <= index < len(stacks):
        raise UserError(f"{path}: {Arg.CONFIGURATION} {chosen}, but there are {len(stacks)} layerConfigurations")
    others = [text for number, text in enumerate(ranges) if number != index]
    if others:
        notes.append(f"{path}: imported layerConfigurations {ranges[index]}; left out {'; '.join(others)}")
    previous = stacks[index - 1].get("growEditionSizeTo", 0) if index else 0
    grow = stacks[index].get("growEditionSizeTo")
    size = grow - previous if isinstance(grow, int) and isinstance(previous, int) and grow > previous else None
    return stacks[index], size


def layer_options(path: Path, entry: Any) -> tuple[str, dict[str, Any]]:
    """A ``layersOrder`` entry's folder name and options (``{ name: "Eyes", options: { … } }``)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise UserError(f'{path}: a layersOrder entry has no name string; write {{ name: "Folder" }}')
    options = entry.get("options", {})
    return entry["name"], options if isinstance(options, dict) else {}


def note_layer_options(path: Path, name: str, options: dict[str, Any], notes: list[str]) -> float:
    """Name each option punkgen cannot follow and the choice made; returns the opacity to bake into the layer."""
    blend = options.get("blend")
    blend = blend.text if isinstance(blend, Name) else blend
    if blend is not None and blend not in NORMAL_BLENDS:
        notes.append(f"{path}: layer '{name}' blend {blend}: punkgen composites normally (source-over); kept normal")
    if options.get("bypassDNA") is True:
        notes.append(
            f"{path}: layer '{name}' bypassDNA: punkgen keeps every token's whole trait set distinct; "
            "the layer counts toward uniqueness"
        )
    opacity = options.get("opacity", 1)
    return float(opacity) if isinstance(opacity, (int, float)) and 0 <= opacity < 1 else 1.0


def note_canvas_options(path: Path, bindings: dict[str, Any], notes: list[str]) -> None:
    """Canvas-wide settings that change every image: a generated background, text instead of art."""
    background = bindings.get("background")
    if isinstance(background, dict) and background.get("generate") is True:
        notes.append(
            f"{path}: background.generate paints a random colour under every token; punkgen draws only the layers "
            "(make the bottom layer an opaque background)"
        )
    text = bindings.get("text")
    if isinstance(text, dict) and text.get("only") is True:
        notes.append(f"{path}: text.only writes trait names instead of drawing; punkgen draws the layers")


def _layer(folder: Path, path: Path, entry: Any, delimiter: str, notes: list[str]) -> SourceLayer:
    name, options = layer_options(path, entry)
    opacity = note_layer_options(path, name, options, notes)
    display = options.get("displayName") if isinstance(options.get("displayName"), str) else name
    values = [SourceValue(*split_weight(file, delimiter, 1.0), file) for file in png_files(folder / name, notes)]
    return SourceLayer(name, display, values, opacity)
