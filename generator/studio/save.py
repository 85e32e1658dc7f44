"""The trait folder's editable files as text: cells and rules changed in place, the diff, and the atomic save.

The studio edits the files a creator also edits by hand and keeps in git, so a save must look like a careful hand
edit: in a table only the edited cell's characters change (column order, quoting, spacing, line endings and every
other line stay byte-identical), and ``collection.toml`` is edited with ``tomlkit``, which keeps comments and layout.
A file that changed on disk since the page loaded it is never overwritten: the save refuses, naming it.
"""

from __future__ import annotations

import codecs
import difflib
import functools
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import tomlkit
import tomlkit.exceptions

from generator.errors import UserError
from generator.files import TEXT_LIMIT, place_errors_said, read_limited, write_atomic
from generator.text import decode_text

LINE_END = re.compile(r"\r\n|\r|\n")  # the ends generator.text.editor_lines splits at, and only those
WIDE_CODECS = (  # longest marks first, as generator.text reads them: UTF-32-LE's mark begins with UTF-16-LE's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass
class FolderFiles:
    """The config and every table beside it: their text as loaded (and the bytes) and as edited."""

    folder: Path
    config_name: str
    loaded: dict[str, bytes] = field(default_factory=dict)  # file name → bytes at load
    texts: dict[str, str] = field(default_factory=dict)  # file name → current (edited) text

    @classmethod
    def read(cls, config_path: Path) -> FolderFiles:
        """``collection.toml`` and every ``*.csv`` in its folder: the files ``traits check`` reads as text."""
        files = cls(config_path.parent, config_path.name)
        for path in [config_path, *sorted(config_path.parent.glob("*.csv"))]:
            data = read_limited(path, TEXT_LIMIT, "it was there when the studio started")
            files.loaded[path.name] = data
            files.texts[path.name] = decode_text(data, path)
        return files

    @property
    def config_text(self) -> str:
        return self.texts[self.config_name]

    def changed(self) -> list[str]:
        """The files whose edited text differs from what was loaded."""
        return [name for name, text in self.texts.items() if text != decode_text(self.loaded[name], self.folder / name)]

    def diff(self) -> str:
        """A unified diff of every edited file against the loaded one, as ``git diff`` would show it."""
        chunks = []
        for name in self.changed():
            before = file_lines(decode_text(self.loaded[name], self.folder / name))
            after = file_lines(self.texts[name])
            chunks += difflib.unified_diff(before, after, f"a/{name}", f"b/{name}")
        return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)

    def changed_on_disk(self) -> list[Path]:
        """The files whose bytes on disk are no longer those loaded (edited, replaced or removed by someone else)."""
        moved = []
        for name, data in self.loaded.items():
            path = self.folder / name
            try:
                now = read_limited(path, TEXT_LIMIT, "")
            except UserError:
                now = None
            if now != data:
                moved.append(path)
        return moved

    def save(self) -> list[Path]:
        """Write every edited file atomically, in its own encoding; refuse, naming them, if any changed on disk."""
        moved = self.changed_on_disk()
        if moved:
            names = ", ".join(str(path) for path in moved)
            raise UserError(
                f"{names} changed on disk since the studio loaded them; copy your edits, then reload the files from disk "
                "(the page's Reload button) and make them again"
            )
        linked = [self.folder / name for name in self.changed() if (self.folder / name).is_symlink()]
        if linked:
            raise UserError(
                f"{linked[0]} is a link to {os.path.realpath(linked[0])}, and saving would replace the link with a file; "
                "make the edit in the file it links to, or copy that file over the link and reload"
            )
        written = []
        with place_errors_said(self.folder, "make the trait folder writable or free some space, then save again"):
            for name in self.changed():
                written.append(self._write(name, encode_like(self.texts[name], self.loaded[name])))
        return written

    def _write(self, name: str, data: bytes) -> Path:
        """One file replaced atomically, keeping its permissions (a group-writable or read-only table stays so)."""
        path = self.folder / name
        mode = stat.S_IMODE(path.stat().st_mode)
        write_atomic(path, data)
        os.chmod(path, mode)
        self.loaded[name] = data
        return path


def file_lines(text: str) -> list[str]:
    """``text``'s lines, each with its end, split where the files' readers split them (:data:`LINE_END`): not at the
    U+2028 or form feed that ``str.splitlines`` also splits at, which made a prompt holding one show in the diff as
    two changed lines the save does not write."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z", text)


def encode_like(text: str, original: bytes) -> bytes:
    """``text`` in the encoding ``original`` was in: UTF-8 with its byte-order mark if it had one, or UTF-16/32."""
    for mark, codec in WIDE_CODECS:
        if original.startswith(mark):
            return mark + text.encode(codec)
    return (codecs.BOM_UTF8 if original.startswith(codecs.BOM_UTF8) else b"") + text.encode("utf-8")


# ── tables: one cell at a time ──────────────────────────────────────────────────────────────


def cell_spans(line: str) -> list[tuple[int, int]]:
    """Where each comma-separated cell of one table line starts and ends (quotes included), as ``csv`` splits it."""
    spans, start, quoted = [], 0, False
    for position, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            spans.append((start, position))
            start = position + 1
    spans.append((start, len(line)))
    return spans


def set_cell(text: str, line_number: int, column: int, value: str) -> str:
    """``text`` with one cell of line ``line_number`` (from 1) replaced; everything else byte for byte as it was.

    The cell stays quoted if it was, and is quoted when the new value needs it (a comma, a quote, spaces at an end).
    The spaces around it stay (a table aligned by hand stays aligned), except around quotes it gains, where the
    library would refuse them. A row shorter than ``column`` gains the empty cells before it."""
    pieces = LINE_END.split(text)
    ends = LINE_END.findall(text)
    line = pieces[line_number - 1]
    spans = cell_spans(line)
    while len(spans) <= column:
        line += ","
        spans.append((len(line), len(line)))
    start, end = spans[column]
    was_quoted = line[start:end].strip().startswith('"')
    needs_quotes = was_quoted or any(char in value for char in ',"') or value != value.strip()
    cell = '"' + value.replace('"', '""') + '"' if needs_quotes else value
    old = line[start:end]
    if old.strip() and (was_quoted or not needs_quotes):
        cell = old[: len(old) - len(old.lstrip())] + cell + old[len(old.rstrip()) :]
    pieces[line_number - 1] = line[:start] + cell + line[end:]
    return "".join(piece + end for piece, end in zip(pieces, [*ends, ""], strict=True))


# ── collection.toml: the [[rules]] ──────────────────────────────────────────────────────────


@functools.lru_cache(maxsize=4)
def rule_bodies(config_text: str) -> tuple[tuple[str, str], ...]:
    """Each ``[[rules]]`` table's lines (``when = …``, ``forbid = …``) as written, for the page to edit, and the comment
    on its ``[[rules]]`` line (why the rule exists), which an edit keeps.

    Kept for the last few texts: tomlkit took 70 ms to parse collection.toml, a third of a weight edit's time."""
    document = tomlkit.parse(config_text)
    return tuple((table.as_string().strip(), table.trivia.comment.lstrip("# ")) for table in document.get("rules", []))


def set_rule(config_text: str, index: int | None, body: str | None, where: str) -> str:
    """The config text with rule ``index`` (from 0) given ``body``, removed (``body`` None), or added (``index`` None).

    An edited rule keeps its ``[[rules]]`` line and comment, and is written with the file's own line ends (a page
    sends ``\n``; a CRLF file got LF lines in the middle, and lost the blank line after the rule); ``where`` names the
    file for a syntax error in ``body``.
    """
    newline = _line_end(config_text)
    body = None if body is None else LINE_END.sub(newline, body)
    document = tomlkit.parse(config_text)
    rules = document.get("rules")
    if rules is None:
        rules = tomlkit.aot()
        document.append("rules", rules)
    if body is None:
        del rules[index]
        if not rules:
            del document["rules"]
        return tomlkit.dumps(document)
    number = len(rules) + 1 if index is None else index + 1
    try:
        parsed = tomlkit.parse(body)
    except tomlkit.exceptions.ParseError as error:
        raise UserError(
            f'{where}: [[rules]] #{number}: TOML syntax error: {error}; write it as when = {{ trait = "Value" }}'
        ) from None
    table = tomlkit.table() if index is None else rules[index]
    table.trivia.trail = table.trivia.trail if index is not None else newline  # the end of its [[rules]] line
    blank_lines = _trailing_newlines((rules[-1] if index is None and rules else table).as_string()) or 2  # as its neighbours
    for key in list(table.keys()):
        del table[key]
    for key, value in parsed.items():
        table.append(key, value)
    while _trailing_newlines(table.as_string()) < blank_lines:  # the blank line before the next table stays
        table.add(tomlkit.ws(newline))
    if index is None:
        rules.append(table)
    return tomlkit.dumps(document)


def _line_end(text: str) -> str:
    """The line end ``text`` uses (its first one), ``\n`` for a text of one line."""
    found = LINE_END.search(text)
    return found.group() if found else "\n"


def _trailing_newlines(text: str) -> int:
    """How many line ends ``text`` ends with, of any kind (``\r\n`` is one)."""
    return len(re.search(r"(?:\r\n|\r|\n)*\Z", text).group().replace("\r\n", "\n"))
