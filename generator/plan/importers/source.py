"""What an importer reads from another tool's project, in that tool's own terms, before punkgen names anything.

Each importer (one module per tool) fills a :class:`SourceProject`; :mod:`generator.plan.importers.writer` turns it
into a punkgen trait folder. Keeping the two apart means the naming, sanitising, image checks and atomic write are
written once, and an importer only says what its tool means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from generator.errors import UserError
from generator.files import in_place_of_folder


@dataclass(frozen=True)
class SourceValue:
    name: str  # the attribute value the source tool writes into its metadata
    weight: float
    image: Path


@dataclass
class SourceLayer:
    name: str  # the source's layer (folder) name; rules refer to layers by it
    display: str  # the metadata trait_type the source writes
    values: list[SourceValue]
    opacity: float = 1.0  # baked into the layer's alpha, as a canvas' globalAlpha draws it


@dataclass(frozen=True)
class SourceRule:
    """``when`` layer has ``value``: ``layer`` must not (forbid) or must (require) have one of ``values``."""

    when: tuple[str, str]
    kind: str  # "forbid" | "require"
    layer: str
    values: tuple[str, ...]


@dataclass
class SourceProject:
    tool: str
    config: Path
    name: str
    description: str
    size: int | None
    layers: list[SourceLayer]
    rules: list[SourceRule] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be represented, and the choice made


def split_weight(path: Path, delimiter: str, default: float | None) -> tuple[str, float]:
    """``Red Eyes#20.png`` → (``Red Eyes``, 20.0): the name before the first delimiter, the weight after the last one,
    as HashLips and nftchef split a file name. Without a delimiter the weight is ``default`` (HashLips: 1); with no
    default the file is refused. A delimiter followed by no number (``Red#.png``, ``Red#x.png``) is refused in one
    line: the tools read it as weight 0 or 1 without a word, which is never what a creator typing ``#`` meant."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    if delimiter not in stem:
        if default is None:
            raise UserError(f"{path}: no weight after '{delimiter}'; name the file like 'Value{delimiter}10.png'")
        return stem, default
    name, text = stem.split(delimiter)[0], stem.split(delimiter)[-1]
    if not name.strip():
        raise UserError(f"{path}: no value name before '{delimiter}'; name the file like 'Value{delimiter}10.png'")
    try:
        weight = Decimal(text.strip()) if re.fullmatch(r"\s*\d+(\.\d+)?\s*|\s*\.\d+\s*", text) else None
    except InvalidOperation:
        weight = None
    if weight is None:
        raise UserError(f"{path}: '{delimiter}' is not followed by a number; write the weight like 'Value{delimiter}10.png'")
    return name, float(weight)


def png_files(folder: Path, notes: list[str]) -> list[Path]:
    """A layer folder's PNGs in name order; hidden files (``.DS_Store``) are skipped as the tools skip them, and any
    other file is named in a note rather than dropped without a word."""
    if kind := in_place_of_folder(folder):
        raise UserError(f"{folder}: is {kind}, not a layer folder; put the layer's PNGs in a folder of that name")
    if not folder.is_dir():
        raise UserError(f"{folder}: layer folder not found; create it or fix the layer's name in the config")
    files = sorted(path for path in folder.iterdir() if not path.name.startswith("."))
    for other in (path for path in files if path.suffix.lower() != ".png"):
        notes.append(f"{other}: not a PNG layer file; skipped")
    pngs = [path for path in files if path.suffix.lower() == ".png"]
    if not pngs:
        raise UserError(f"{folder}: no .png layer files in this layer folder; add the layer's images")
    return pngs
