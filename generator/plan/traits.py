"""Trait tables: one ``<trait>.csv`` per trait beside ``collection.toml``; editing them is the rarity config.

Columns ``value,weight,prompt`` and an optional ``layer`` (the sprite file name, default
``<value>.png``), named in any case, read strictly (:func:`generator.text.read_csv`: one row a
line, balanced quotes, commas). Weights are relative, 0 or 0.000001–1,000,000,000; 0 disables a value. A value called
``None`` is left out of the token's metadata. A value is any printable text when its row names
a ``layer`` file (``Café``, ``"Cap, Red"``); without one the value is the file name, so it must
be a safe one. Values that differ only in case are refused: marketplaces merge them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from generator.config import Config, Rule
from generator.errors import UserError
from generator.files import is_safe_name
from generator.plan.depth import draw_order
from generator.plan.selection import check_selection
from generator.text import read_csv

REQUIRED_COLUMNS = ("value", "weight", "prompt")
OPTIONAL_COLUMNS = ("layer",)
NONE_VALUE = "None"
WEIGHT_RANGE = (Decimal("0.000001"), Decimal(1_000_000_000))  # a positive weight's bounds (see _parse_weight)
MAX_CELL = 1_000  # characters: CLIP reads ~77 tokens (~300 characters) of a whole prompt, so a longer cell is a mistake


Combo = tuple[int, ...]  # one trait set: a value index per trait, in [traits].order


@dataclass(frozen=True)
class TraitValue:
    name: str
    weight: float
    prompt: str
    layer: str  # file name inside layers/<trait>/

    @property
    def enabled(self) -> bool:
        return self.weight > 0


@dataclass(frozen=True)
class TraitTable:
    key: str  # file stem, as used in [traits].order, rules and prompt placeholders
    trait_type: str  # the metadata attribute name
    path: Path
    values: tuple[TraitValue, ...]

    def index_of(self, name: str) -> int | None:
        """Position of a value named in a rule; NFC, as the table's names are, so ``Café`` typed either way matches."""
        name = unicodedata.normalize("NFC", name)
        return next((i for i, value in enumerate(self.values) if value.name == name), None)

    @property
    def enabled_indices(self) -> tuple[int, ...]:
        return tuple(i for i, value in enumerate(self.values) if value.enabled)

    def shares(self) -> list[float]:
        """Each value's configured share of the tokens (its weight over the table's total)."""
        total = sum(value.weight for value in self.values)
        return [value.weight / total for value in self.values]


def combo_of(tables: list[TraitTable], traits: dict[str, str]) -> Combo | None:
    """The trait set a manifest line names (trait key → value), or None when the tables no longer hold it."""
    if [table.key for table in tables] != list(traits):
        return None
    combo = tuple(table.index_of(traits[table.key]) for table in tables)
    return None if None in combo else combo  # type: ignore[return-value]


def load_traits(config: Config) -> list[TraitTable]:
    """Every trait named in ``[traits].order``, in that order, with the rules and depths checked against them."""
    _check_tables_match_order(config)
    tables = [_read_table(config.folder / f"{key}.csv", key, trait_type(config, key)) for key in config.traits.keys]
    check_rules(config.rules, tables, config.path)
    draw_order(config, tables)  # parts and [[depth]] checked here too: every command refuses a malformed declaration
    return tables


def trait_type(config: Config, key: str) -> str:
    """A trait's metadata attribute name: ``[traits].names`` or the table's name in title case (``eye_color`` → ``Eye Color``)."""
    return config.traits.names.get(key) or key.replace("_", " ").title()


def _check_tables_match_order(config: Config) -> None:
    present = {path.stem for path in config.folder.glob("*.csv")}
    for key in config.traits.keys:
        if key not in present:
            raise UserError(
                f"{config.path}: [traits].order names '{key}' but {config.folder / (key + '.csv')} does not exist; "
                "create the table or remove the name"
            )
    for stem in sorted(present - set(config.traits.keys)):
        raise UserError(
            f"{config.folder / (stem + '.csv')} is not listed in [traits].order of {config.path}; add '{stem}' there or remove the file"
        )


def _read_table(path: Path, key: str, attribute: str) -> TraitTable:
    rows = read_csv(path, f"create the table or remove '{key}' from [traits].order", MAX_CELL)
    header_line, header_cells = rows[0] if rows else (1, [])
    header = _parse_header(path, header_line, header_cells)
    values: list[TraitValue] = []
    lines: dict[str, int] = {}
    for line, row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        cells = _cells(path, line, header, row)
        value = _parse_row(path, line, cells)
        if value.name in lines:
            raise UserError(f"{path} line {line}: duplicate value '{value.name}'; each value may appear once, merge the rows")
        lines[value.name] = line
        values.append(value)
    if not values:
        raise UserError(f"{path}: the table has no values; add rows of value,weight,prompt")
    if not any(value.enabled for value in values):
        raise UserError(f"{path}: every weight is 0; give at least one value a weight above 0")
    _refuse_case_twins(path, [(lines[v.name], v.name) for v in values], "values", "rename one or merge the rows")
    _refuse_case_twins(path, [(lines[v.name], v.layer) for v in values], "layers", "rename one")
    return TraitTable(key=key, trait_type=attribute, path=path, values=tuple(values))


def _parse_header(path: Path, line: int, cells: list[str]) -> list[str]:
    """Column names, matched without case or surrounding spaces (Excel users write ``Value,Weight,Prompt``).

    A nameless column is kept as ``""``: spreadsheets add empty trailing columns, and
    :func:`_cells` accepts them as long as they stay empty.
    """
    header = [cell.strip().lower() for cell in cells]
    if not any(header):
        raise UserError(f"{path}: the table is empty; the first line must be the header value,weight,prompt")
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise UserError(
            f"{path} line {line}: missing column(s) {', '.join(missing)}; the header must be value,weight,prompt[,layer]"
        )
    unknown = [
        cell.strip()
        for cell, column in zip(cells, header, strict=True)
        if column and column not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    ]
    if unknown:
        raise UserError(f"{path} line {line}: unknown column(s) {', '.join(unknown)}; allowed: value, weight, prompt, layer")
    repeated = sorted({column for column in header if column and header.count(column) > 1})
    if repeated:
        raise UserError(f"{path} line {line}: column(s) {', '.join(repeated)} appear more than once; keep one of each")
    return header


def _cells(path: Path, line: int, header: list[str], row: list[str]) -> dict[str, str]:
    """One row by column name, trimmed; short rows leave trailing cells empty, nameless columns must stay empty."""
    if any(cell.strip() for cell in row[len(header) :]):
        raise UserError(f"{path} line {line}: {len(row)} cells for {len(header)} columns; quote values that contain commas")
    cells: dict[str, str] = {}
    for column, cell in zip(header, row, strict=False):
        if column:
            cells[column] = cell.strip()
        elif cell.strip():
            raise UserError(
                f"{path} line {line}: {cell.strip()!r} is in a column without a name; name the column in the header or empty it"
            )
    return cells


def _parse_row(path: Path, line: int, cells: dict[str, str]) -> TraitValue:
    """A value may be any printable text when the row names its layer file; without one, the value is the file name."""
    name = unicodedata.normalize("NFC", cells.get("value", ""))
    _check_printable(path, line, name)
    layer = cells.get("layer", "")
    if not layer and not is_safe_name(name):
        raise UserError(
            f"{path} line {line}: value {name!r} cannot name a layer file; use letters, digits, spaces and - _ ' . & + ( ), "
            "starting with a letter or digit, or give the row a `layer` file name (add a layer column, e.g. layer = cafe.png)"
        )
    layer = layer or f"{name}.png"
    if not is_safe_name(layer) or not layer.endswith(".png"):
        raise UserError(f"{path} line {line}: layer {layer!r} must be a plain .png file name inside the trait's layer folder")
    return TraitValue(
        name=name, weight=_parse_weight(path, line, cells.get("weight", "")), prompt=cells.get("prompt", ""), layer=layer
    )


def _check_printable(path: Path, line: int, name: str) -> None:
    """Values end up in metadata, galleries and marketplaces: no empty names, no invisible or control characters."""
    if not name:
        raise UserError(f"{path} line {line}: the value is empty; name the value in the first column or delete the row")
    hidden = next((char for char in name if not char.isprintable()), None)
    if hidden is not None:
        what = unicodedata.name(hidden, "a control character")
        raise UserError(
            f"{path} line {line}: value {name!r} contains U+{ord(hidden):04X} ({what}), which does not print; retype the value"
        )


def _refuse_case_twins(path: Path, named: list[tuple[int, str]], what: str, fix: str) -> None:
    """``Bald`` and ``bald`` are one value to OpenRarity (which lowercases), to collectors and to macOS/Windows file systems."""
    first: dict[str, tuple[int, str]] = {}
    for line, name in named:
        twin = first.setdefault(name.lower(), (line, name))
        if twin[1] != name:
            raise UserError(
                f"{path} lines {twin[0]} and {line}: {what} '{twin[1]}' and '{name}' differ only in case, which marketplaces "
                f"and case-insensitive file systems treat as the same; {fix}"
            )


def _parse_weight(path: Path, line: int, text: str) -> float:
    """0, or a weight within :data:`WEIGHT_RANGE`: read exactly (``Decimal``), so ``1e-400`` is not silently 0.

    Weights are relative, so the bounds cost nothing real, and they keep every sum and product the planner forms
    finite and non-zero: two weights of ``1e308`` summed to infinity (``nan%`` shares, an ``IndexError``), and a
    product of tiny weights across the traits underflowed to 0.
    """
    try:
        weight = Decimal("NaN" if "_" in text else text)  # Python reads "1_000" as a thousand; a table means a typo
    except InvalidOperation:
        weight = Decimal("NaN")
    if weight.is_finite() and weight == 0:
        return 0.0  # also "-0" and "0e5"
    low, high = WEIGHT_RANGE
    if not (weight.is_finite() and low <= weight <= high):
        raise UserError(
            f"{path} line {line}: weight {text!r} must be 0 (disables the value) or a number from {low} to {high:,} "
            "(weights are relative: 1 and 3 mean one in four)"
        )
    return float(weight)


def check_rules(rules: tuple[Rule, ...], tables: list[TraitTable], config_path: Path) -> None:
    """Every trait and value a rule names must exist, so a typo never silently disables a rule."""
    for rule in rules:
        for part in ("when", "forbid", "require"):
            check_selection(f"{config_path}: [[rules]] #{rule.number} {part}", getattr(rule, part), tables)
