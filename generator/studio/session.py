"""One studio session: the trait folder's files as edited, and what the page shows of them, from the library.

There is one code path for checking a trait folder, and the studio takes it: the edited texts are written to a
private scratch folder and read back with :func:`generator.config.load_config` and
:func:`generator.preflight.report.check_traits`, exactly as ``punkgen traits check`` reads the files on disk. So
every error is the library's own line (with the scratch folder's name put back to the trait folder's), every share
is the number ``traits check`` prints, and a saved folder checks the same as the page showed. Paths the config
names (layers, palette, 1/1 images) are pointed back at the trait folder, so nothing but the edited text is copied.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.config import Config, load_config
from generator.errors import UserError
from generator.files import remove_orphans
from generator.plan.plan import exact_counts
from generator.plan.rules import analyse, compile_rules, rules_excluding
from generator.plan.traits import TraitTable, load_traits
from generator.preflight.report import TraitReport, check_traits
from generator.render.layers import Layers, drawn_layers, layer_path
from generator.studio.preview import previews
from generator.studio.save import FolderFiles, rule_bodies, set_cell, set_rule
from generator.text import MAX_CSV_LINE, editor_lines

EDITABLE_COLUMNS = ("weight", "prompt")
SCRATCH_PREFIX = "punkgen-studio-"


@dataclass
class RankToggles:
    """The rank preview's toggles: None keeps each marketplace's default (see ``chosen_methods``)."""

    none_as_value: bool | None = None
    trait_count: bool | None = None


class Session:
    """The edited files of one trait folder; each method returns what the page draws (:meth:`view`)."""

    def __init__(self, config_path: Path):
        self.config_path = config_path
        self.files = FolderFiles.read(config_path)
        self.scratch = _scratch_folder()
        self.toggles = RankToggles()
        self._layers_key: tuple[Any, ...] | None = None
        self._layers_read: tuple[Layers | None, dict[str, dict[str, str]]] = (None, {})
        # A folder that does not check opens all the same, its error shown: a mistyped weight is fixed in the page.

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    # ── edits: each changes the text of one file, then the page is redrawn from the library ──

    def edit(self, change: dict[str, Any]) -> dict[str, Any]:
        """Apply one edit from the page: ``{"kind": "cell" | "quota" | "rule" | "toggles", …}``; returns :meth:`view`."""
        kind = change.get("kind")
        if kind == "cell":
            cell = (_text(change, "table"), _text(change, "value"), _text(change, "column"))
            text = _writable(_text(change, "text"), f"{self.files.folder / cell[0]}.csv: a cell", one_line=True)
            self._set_value_cell(*cell, text)
        elif kind == "quota":
            self._set_quota(_text(change, "table"), _text(change, "value"), change.get("tokens"))
        elif kind == "rule":
            index, body = change.get("index"), change.get("text")
            if not (index is None or (_whole(index) and 0 <= index < len(rule_bodies(self.files.config_text)))):
                raise UserError(f"{self.config_path}: there is no [[rules]] #{index}; reload the page")
            if not (body is None or isinstance(body, str)):
                raise UserError(f"{self.config_path}: a rule is written as TOML lines; reload the page")
            body = body if body is None else _writable(body, f"{self.config_path}: a rule", one_line=False)
            self._set_config(set_rule(self.files.config_text, index, body, str(self.config_path)))
        elif kind == "toggles":
            toggles = change.get("none_as_value"), change.get("trait_count")
            if not all(toggle is None or isinstance(toggle, bool) for toggle in toggles):
                raise UserError("the rank toggles are true, false or null; reload the page")
            self.toggles = RankToggles(*toggles)
        else:
            raise UserError(f"unknown edit {kind!r}; reload the page")
        return self.view()

    def _set_config(self, text: str) -> None:
        self.files.texts[self.files.config_name] = text

    def _set_value_cell(self, key: str, value: str, column: str, text: str) -> None:
        name = f"{key}.csv"
        if name not in self.files.texts or column not in EDITABLE_COLUMNS:
            raise UserError(f"{self.files.folder}: no table {name} with a {column!r} column the studio edits; reload the page")
        rows = table_rows(self.files.texts[name])
        row = next((row for row in rows["rows"] if row["value"] == value), None)
        if row is None or column not in rows["columns"]:
            raise UserError(f"{self.files.folder / name}: no value {value!r} with a {column} column; reload the page")
        self.files.texts[name] = set_cell(self.files.texts[name], row["line"], rows["columns"][column], text.strip())

    def _set_quota(self, key: str, value: str, tokens: Any) -> None:
        """An exact-mode quota is its weight's share of the drawn tokens (N less the 1/1s): the weight that gives
        ``tokens`` of them, the other values' weights kept, so their proportions stay."""
        config, tables = self._loaded()
        drawn = config.collection.size - len(config.one_of_one)
        table = next((table for table in tables if table.key == key), None)
        if table is None or table.index_of(value) is None:
            raise UserError(f"{self.files.folder}: no value {value!r} in a table {key!r}; reload the page")
        others = sum(v.weight for v in table.values if v.name != value)
        if not (_whole(tokens) and 0 <= tokens < drawn and others > 0):
            raise UserError(f"{table.path}: a quota for '{value}' must be a whole number of tokens from 0 to {drawn - 1}")
        exact = tokens * others / (drawn - tokens)
        index = table.index_of(value)
        weights = [v.weight for v in table.values]
        for digits in range(2, 11):  # the shortest weight that gets the quota: 6.4, not 6.397849462
            written = f"{exact:.{digits}g}"
            weights[index] = float(written)
            if exact_counts(weights, drawn)[index] == tokens:
                break
        self._set_value_cell(key, value, "weight", written)

    # ── what the page shows ──

    def view(self) -> dict[str, Any]:
        """The tables and rules as edited, and what the library makes of them: shares, warnings, samples, ranks."""
        page: dict[str, Any] = {"folder": str(self.files.folder), "changed": self.files.changed()}
        page["tables"] = {name[:-4]: table_rows(text) for name, text in self.files.texts.items() if name.endswith(".csv")}
        page["rules"] = [{"text": text, "note": note} for text, note in rule_bodies(self.files.config_text)]
        try:
            config, tables = self._loaded()
            page["impossible"] = self._impossible(config, tables)  # shown beside the values even when the plan refuses
            report = check_traits(config)  # first: an error is the one `traits check` prints
            layers, page["layers"] = self._layers(config, tables)
        except UserError as error:
            page["error"] = self.real(str(error))
            return page
        page["report"] = self._report(report)
        page |= previews(config, report.tables, layers, self.toggles.none_as_value, self.toggles.trait_count)
        return page

    def _loaded(self) -> tuple[Config, list[TraitTable]]:
        """The edited files read by the library, from the scratch folder, with the config's paths on the trait folder."""
        for name, text in self.files.texts.items():
            (self.scratch / name).write_text(text, encoding="utf-8", newline="")
        config = self._rebased(load_config(self.scratch / self.files.config_name))
        return config, load_traits(config)

    def _rebased(self, config: Config) -> Config:
        """``config`` with each path it names resolved from the trait folder, not from the scratch copy of its text."""
        home = dataclasses.replace(config, path=self.config_path)
        palette = home.resolve(config.pixels.palette)
        config = config.override("traits", layers=str(home.layers_folder))
        config = config.override("pixels", palette=str(palette) if palette else None)
        ones = tuple(dataclasses.replace(one, image=str(home.resolve(one.image))) for one in config.one_of_one)
        return dataclasses.replace(config, one_of_one=ones)

    def _layers(self, config: Config, tables: list[TraitTable]) -> tuple[Layers | None, dict[str, dict[str, str]]]:
        """The sprite layers and each value's layer file in the folder, read again only when the tables name others.

        A weight or prompt edit names the same files, and reading 55 PNGs took a third of an edit's time; a layer
        redrawn while the studio runs shows in the samples after Reload (``traits check`` reads every layer each time)."""
        named = tuple((t.key, tuple((v.layer, v.enabled) for v in t.values)) for t in tables)
        key = (config.layers_folder, config.pixels.size, config.traits.order, config.depth, named)  # parts, [[depth]] too
        if key != self._layers_key:
            files: dict[str, dict[str, str]] = {}
            for table in tables:
                for i, value in enumerate(table.values):
                    path = layer_path(config, table, i)
                    if path.is_file() and path.is_relative_to(self.files.folder):
                        files.setdefault(table.key, {})[value.name] = path.relative_to(self.files.folder).as_posix()
            self._layers_key, self._layers_read = key, (drawn_layers(config, tables), files)
        return self._layers_read

    def shown_files(self) -> set[str]:
        """The folder's files the page shows (each value's layer image, relative to the folder): all it may fetch.

        Not every file in the folder: a trait folder can be a project's root, beside a ``.env`` with a deploy key."""
        if self._layers_key is None:
            self.view()  # the page's first fetch of a layer can come before its first /api/state
        return {file for files in self._layers_read[1].values() for file in files.values()}

    def _impossible(self, config: Config, tables: list[TraitTable]) -> dict[str, dict[str, list[int]]]:
        """Per table and value: the rules that leave a weighted value no valid set (what the plan refuses, named)."""
        rules = compile_rules(config.rules, tables)
        found: dict[str, dict[str, list[int]]] = {}
        for t, i in analyse(tables, rules).impossible(tables):
            culprits = rules_excluding(tables, rules, t, i)
            found.setdefault(tables[t].key, {})[tables[t].values[i].name] = [rule.number for rule in culprits]
        return found

    def _report(self, report: TraitReport) -> dict[str, Any]:
        """``traits check``'s figures, the shares also as it prints them (two decimals of a percent)."""
        return {
            "capacity": report.capacity,
            "size": report.size,
            "sampling": report.sampling,
            "warnings": [self.real(line) for line in report.warnings],
            "shares": {
                table.key: [
                    {
                        "value": share.name,
                        "configured": share.configured,
                        "expected": share.expected,
                        "shown": [f"{share.configured:.2%}", f"{share.expected:.2%}"],
                        "quota": round(share.expected * report.size),
                        "drifts": share.drifts,
                    }
                    for share in shares
                ]
                for table, shares in zip(report.tables, report.shares, strict=True)
            },
        }

    def real(self, message: str) -> str:
        """A library message about the scratch copy, naming the trait folder's files instead."""
        return message.replace(str(self.scratch), str(self.files.folder))

    # ── saving ──

    def reload(self) -> dict[str, Any]:
        """Read the files from disk again, dropping the edits: after someone else changed them (the save refuses then)."""
        self.files = FolderFiles.read(self.config_path)
        self._layers_key = None
        return self.view()

    def diff(self) -> str:
        return self.files.diff()

    def save(self) -> dict[str, Any]:
        """Write the edited files (refused while the page shows an error: the CLI would refuse the folder too); the
        page after it is the one checked before, with only what is unsaved now changed."""
        page = self.view()
        if page.get("error"):
            raise UserError(f"not saved: {page['error']}")
        saved = [str(path) for path in self.files.save()]
        return page | {"saved": saved, "changed": self.files.changed()}


def table_rows(text: str) -> dict[str, Any]:
    """A table's header columns and rows as cells, each with its line number: where the page's cells come from.

    Read leniently (any row, any cell count), because a table being edited may be wrong for a moment; whether it is
    right is for the library to say (:meth:`Session.view`)."""
    lines = editor_lines(text)
    parsed = [(number, _cells(line)) for number, line in enumerate(lines, start=1) if line.strip()]
    if not parsed:
        return {"columns": {}, "rows": []}
    header = {cell.strip().lower(): i for i, cell in enumerate(parsed[0][1]) if cell.strip()}
    rows = []
    for number, cells in parsed[1:]:
        row = {column: cells[i].strip() if i < len(cells) else "" for column, i in header.items()}
        row["value"] = unicodedata.normalize("NFC", row.get("value", ""))  # as the library names values
        rows.append({"line": number, **row})
    return {"columns": header, "rows": rows}


def _cells(line: str) -> list[str]:
    """One line's cells; none for a line too long to be a row (the library's error names it, and ``csv`` raises on
    a cell over 128 KiB: the page's every request failed, for a table on disk or a pasted prompt)."""
    return next(csv.reader([line]), []) if len(line) <= MAX_CSV_LINE else []


def _text(change: dict[str, Any], field: str) -> str:
    """A string field of an edit; a request without it did not come from the page."""
    value = change.get(field)
    if not isinstance(value, str):
        raise UserError(f"an edit needs its {field!r} as text; reload the page")
    return value


def _scratch_folder() -> Path:
    """A private folder for the edited texts, named with this process's id; first, those of studios no longer running
    are removed (one stopped by ``kill -9`` cannot remove its own, and they piled up in the temporary folder)."""
    old = Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*")
    remove_orphans(old, lambda folder: folder.name[len(SCRATCH_PREFIX) :].split("-", 1)[0])
    return Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))


def _whole(number: Any) -> bool:
    """A whole number as JSON writes one: ``true`` is a bool to JSON, though Python counts it as the int 1."""
    return isinstance(number, int) and not isinstance(number, bool)


LINE_BREAKS = "\n\r\x85\u2028\u2029"  # what Python's str.splitlines splits at, besides the other control characters


def _writable(text: str, what: str, one_line: bool) -> str:
    """``text`` from the page, if a file can hold it where it goes: a cell is one line of its table (a line break
    would start a new row), and neither a cell nor a rule holds other control characters or a lone surrogate (which
    no UTF-8 file can hold: the edited text could not be written, and every later request failed until a reload)."""
    allowed = "\t" if one_line else "\t\n\r"
    if one_line and len(text) > MAX_CSV_LINE:
        raise UserError(f"{what} holds at most {MAX_CSV_LINE:,} characters, like a table row; this one has {len(text):,}")
    for char in text:
        if (char in LINE_BREAKS or unicodedata.category(char) in ("Cc", "Cs")) and char not in allowed:
            kind = "a line break" if char in LINE_BREAKS else "a control character"
            kind = "half of a surrogate pair" if unicodedata.category(char) == "Cs" else kind
            raise UserError(f"{what} cannot hold U+{ord(char):04X} ({kind}); remove it and type the text again")
    return text
