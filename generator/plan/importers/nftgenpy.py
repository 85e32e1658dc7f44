"""nft-generator-py projects: a JSON config of ``layers`` (``name``, ``values``, ``trait_path``, ``filename``,
``weights``) and ``incompatibilities`` (``layer``, ``value``, ``incompatible_with``, optional ``default``).

As its ``src/core/main.py`` reads them: a value's image is ``<trait_path>/<filename>.png`` (paths relative to where
the tool runs: here, SOURCE), several values may share a file, weights are a list beside the values, and an
incompatibility says that when ``layer`` is ``value`` no trait may take a value listed in ``incompatible_with``.
Those become ``forbid`` rules on every layer that holds the listed value. The tool's ``default`` (swap the clashing
trait for another value) has no punkgen counterpart: the token is drawn again instead, and a note says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.errors import Arg, UserError
from generator.plan.importers.source import SourceLayer, SourceProject, SourceRule, SourceValue
from generator.text import parse_json, read_text


def default_config(source: Path) -> Path:
    return source / "config.json"


def read_project(source: Path, config_path: Path, configuration: int | None) -> SourceProject:
    text = read_text(config_path, f"name the project's config JSON with {Arg.CONFIG}")
    try:
        document = parse_json(text)
    except ValueError as error:
        raise UserError(f"{config_path}: not JSON ({error}); fix the config") from None
    if not isinstance(document, dict) or not isinstance(document.get("layers"), list):
        raise UserError(f'{config_path}: no "layers" list; is this nft-generator-py\'s config.json?')
    notes: list[str] = []
    if configuration is not None:
        notes.append(f"{config_path}: nft-generator-py has one layer stack; {Arg.CONFIGURATION} {configuration} ignored")
    layers = [_layer(source, config_path, number, entry) for number, entry in enumerate(document["layers"], 1)]
    rules = _rules(config_path, document.get("incompatibilities", []), layers, notes)
    name = document.get("name") if isinstance(document.get("name"), str) else ""
    name = name.strip(" #") or source.resolve().name
    description = document.get("description") if isinstance(document.get("description"), str) else ""
    return SourceProject("nft-generator-py", config_path, name, description, None, layers, rules, notes)


def _layer(source: Path, path: Path, number: int, entry: Any) -> SourceLayer:
    where = f"{path}: layers[{number - 1}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise UserError(f'{where} has no "name"; fix the config')
    lists = [entry.get(key) for key in ("values", "filename", "weights")]
    if not all(isinstance(item, list) for item in lists) or len({len(item) for item in lists}) != 1:
        raise UserError(f'{where} (\'{entry["name"]}\'): "values", "filename" and "weights" must be lists of one length')
    folder = source / str(entry.get("trait_path", ""))
    if not folder.is_dir():
        raise UserError(f"{folder}: layer folder of '{entry['name']}' ({path}) not found; fix \"trait_path\"")
    values = []
    for value, file_name, weight in zip(*lists, strict=True):
        if not isinstance(weight, (int, float)) or isinstance(weight, bool):
            raise UserError(f"{where} ('{entry['name']}'): weight {weight!r} of '{value}' is not a number")
        values.append(SourceValue(str(value), float(weight), folder / f"{file_name}.png"))
    return SourceLayer(entry["name"], entry["name"], values)


def _rules(path: Path, entries: Any, layers: list[SourceLayer], notes: list[str]) -> list[SourceRule]:
    if not isinstance(entries, list):
        raise UserError(f'{path}: "incompatibilities" must be a list; fix the config')
    holders = {layer.name: {value.name for value in layer.values} for layer in layers}
    rules = []
    for number, entry in enumerate(entries):
        if (
            not isinstance(entry, dict)
            or entry.get("layer") not in holders
            or entry.get("value") not in holders.get(entry.get("layer"), ())
        ):
            raise UserError(f'{path}: incompatibilities[{number}] names no layer and value of "layers"; fix the spelling')
        listed = entry.get("incompatible_with")
        if not isinstance(listed, list):
            raise UserError(f'{path}: incompatibilities[{number}] has no "incompatible_with" list')
        for layer, values in holders.items():
            clashing = tuple(value for value in listed if value in values and layer != entry["layer"])
            if clashing:
                rules.append(SourceRule((entry["layer"], entry["value"]), "forbid", layer, clashing))
        if isinstance(entry.get("default"), dict):
            notes.append(
                f"{path}: incompatibilities[{number}] default '{entry['default'].get('value')}': nft-generator-py swaps it "
                "in; punkgen draws the token again instead (forbid)"
            )
    return rules
