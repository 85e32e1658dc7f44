"""Reading the text files a creator edits (trait tables, ``collection.toml``, palettes, JSON): one decoder, one set of
answers, and parsers that are strict where the standard library is lenient (:func:`read_csv`) or recurses without a
bound (:func:`parse_json`, :func:`check_nesting`).

Creators save these files from Excel, Notepad, TextEdit or LibreOffice, which write UTF-8 with
or without a byte-order mark, UTF-16 with a mark ("Unicode text" in Excel and old Notepad), or
a legacy code page such as Windows-1252 ("CSV (Comma delimited)" in Excel). The rules:

- UTF-8, with or without a BOM: read.
- UTF-16 or UTF-32 with a BOM: the BOM says exactly how to decode, so they are read too.
- NUL bytes without a BOM (UTF-16/32 saved without a mark): refused; guessing the byte order is
  how files get silently misread.
- anything else that is not UTF-8 (Windows-1252, Latin-1, Mac Roman …): refused in one line that
  names the byte, its line, and how to save the file as UTF-8. Guessing a code page could turn
  ``Café`` into ``CafÃ©`` in published metadata without a word.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import re
from pathlib import Path
from typing import Any

from generator.errors import UserError
from generator.files import TEXT_LIMIT, read_limited

# Longest marks first: UTF-32-LE's mark begins with UTF-16-LE's. A UTF-8 mark is simply dropped.
WIDE_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
MAX_NESTING = 64  # levels: an API workflow is 4 deep, token metadata 3, a manifest line 3, collection.toml 3
TOO_DEEP = f"nested deeper than {MAX_NESTING} levels"
_JSON_STRINGS = {str: re.compile(r'"(?:[^"\\]|\\.)*"', re.S), bytes: re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)}
_JSON_BRACKETS = {str: re.compile(r"[\[\]{}]"), bytes: re.compile(rb"[\[\]{}]")}
MAX_CSV_LINE = 16_384  # characters: many cells' worth, yet far below csv's 131,072-character field limit
QUOTING = 'quote a cell that holds a comma as "…", and write a quote inside it as ""'
SAVE_AS_UTF8 = "save it as UTF-8 (Excel: Save As → CSV UTF-8; Notepad or TextEdit: encoding UTF-8)"


def read_text(path: Path, missing: str) -> str:
    """The decoded text of ``path``; ``missing`` is the fix to print when it does not exist.

    Every problem (absent, a folder, unreadable, not text) is a :class:`UserError` of one line.
    """
    return decode_text(read_bytes(path, missing), path)


def read_csv(path: Path, missing: str, max_cell: int) -> list[tuple[int, list[str]]]:
    """The rows of a comma-separated table, each with its line number; blank lines are left out.

    Strict, because Python's ``csv`` is lenient where a creator's table goes wrong without a word: a stray ``"``
    opens a quoted cell that swallows every following row into one prompt, a cell over 131,072 characters is a
    traceback, and a table saved with semicolons or tabs reads as one column. So each line is one row (a cell never
    spans lines: a prompt fragment, value or file name is one line), quotes must balance on their line, a cell holds
    at most ``max_cell`` characters, and the separator is a comma. Semicolons and tabs are refused rather than
    guessed: the tables are the collection's rarity config and are read by other tools too (spreadsheets, git diffs,
    other NFT generators), so one spelling of them is worth more than sparing a re-save; and a guess from the header
    would have to trust a line that may itself be the mistake. Each refusal names the file and the line.
    """
    text = read_text(path, missing)
    rows: list[tuple[int, list[str]]] = []
    for number, line in enumerate(editor_lines(text), start=1):
        if not line.strip():
            continue
        if len(line) > MAX_CSV_LINE or line.count('"') % 2:
            raise UserError(f"{path} line {number}: {_unbalanced(line)}")
        try:
            cells = next(csv.reader([line], strict=True))
        except csv.Error as error:
            raise UserError(f"{path} line {number}: {error}; {QUOTING}") from None
        _refuse_other_separators(path, number, line, cells)
        longest = max(range(len(cells)), key=lambda i: len(cells[i]))
        if len(cells[longest]) > max_cell:
            raise UserError(
                f"{path} line {number}: cell {longest + 1} has {len(cells[longest]):,} characters, more than the "
                f"{max_cell:,} a cell may hold; shorten it (or is a quote missing?)"
            )
        rows.append((number, cells))
    return rows


def editor_lines(text: str) -> list[str]:
    """The lines an editor shows and numbers: split at ``\n``, ``\r\n`` or ``\r`` only. ``str.splitlines`` also splits
    at form feeds, ``\x1c``–``\x1e``, NEL and U+2028, which would put every later line number off by one."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _unbalanced(line: str) -> str:
    if len(line) > MAX_CSV_LINE:
        return f"{len(line):,} characters on one line, more than a table row may have ({MAX_CSV_LINE:,}); split or shorten it"
    return f'an odd number of " quotes, so a quoted cell never closes (a cell cannot span lines); {QUOTING}'


def _refuse_other_separators(path: Path, number: int, line: str, cells: list[str]) -> None:
    """A line with no comma but a semicolon or tab (the header, or a row pasted from elsewhere): another separator."""
    if len(cells) > 1:
        return
    for separator, name in ((";", "semicolons"), ("\t", "tabs")):
        if separator in line:
            raise UserError(
                f"{path} line {number}: the columns are separated by {name}; punkgen's tables are comma-separated "
                "(Excel: Save As → CSV UTF-8 (Comma delimited); LibreOffice: field delimiter ',')"
            )


def parse_json(data: str | bytes) -> Any:
    """A JSON document nested at most :data:`MAX_NESTING` deep; anything else is a ``ValueError`` with its reason.

    Python's JSON reader recurses once per level, so a few kilobytes of ``[[[[…`` raised ``RecursionError``, which no
    reader's ``except ValueError`` caught (a traceback); a document just shallow enough to load then broke
    ``deepcopy``, ``json.dumps`` and schema validation the same way. What punkgen reads (a workflow, metadata, a
    manifest line, ``run.json``) is a few levels deep, so the bound refuses only what no tool writes.
    """
    if _bracket_depth(data) > MAX_NESTING:
        raise ValueError(TOO_DEEP)
    try:
        document = json.loads(data)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None
    check_nesting(document)
    return document


def _bracket_depth(data: str | bytes) -> int:
    """How deep the text's brackets nest outside its strings, read before the JSON reader recurses into them.

    The reader's C code checks its depth against ``sys.getrecursionlimit()``, and a library may raise that limit for
    the whole process (py_ecc sets 100,000 when imported): the reader then overflows the C stack and the process dies
    on a segmentation fault instead of raising ``RecursionError``. A document with fewer opening brackets than the
    bound cannot nest past it, so what punkgen reads (a few brackets a document) costs two ``count`` calls.
    """
    kind = bytes if isinstance(data, bytes | bytearray) else str
    opening = ("[", "{") if kind is str else (b"[", b"{")
    if data.count(opening[0]) + data.count(opening[1]) <= MAX_NESTING:
        return 0
    outside_strings = _JSON_STRINGS[kind].sub(kind(), data)
    steps = (1 if bracket in opening else -1 for bracket in _JSON_BRACKETS[kind].findall(outside_strings))
    return max(itertools.accumulate(steps, initial=0))


def check_nesting(document: Any) -> None:
    """A ``ValueError`` where parsed JSON or TOML nests lists and tables deeper than :data:`MAX_NESTING` (counted
    without recursion, so the check itself cannot overflow the stack)."""
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_NESTING:
            raise ValueError(TOO_DEEP)
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def read_bytes(path: Path, missing: str) -> bytes:
    """The file's bytes: a regular file of at most :data:`TEXT_LIMIT` bytes, every refusal one line that says what to do."""
    return read_limited(path, TEXT_LIMIT, missing)


def decode_text(data: bytes, path: Path) -> str:
    """UTF-8 (BOM or not), or UTF-16/32 announced by a BOM; anything else is refused, naming the first bad byte."""
    for mark, encoding in WIDE_BYTE_ORDER_MARKS:
        if data.startswith(mark):
            try:
                return data.decode(encoding.lower())  # the codec reads the mark for the byte order, and drops it
            except UnicodeDecodeError as error:
                raise UserError(
                    f"{path}: starts with a {encoding} byte-order mark but is not {encoding} text "
                    f"(bad bytes at offset {error.start}); {SAVE_AS_UTF8}"
                ) from None
    data = data.removeprefix(codecs.BOM_UTF8)
    nul = data.find(b"\0")
    if nul >= 0:
        raise UserError(
            f"{path}: contains NUL bytes (line {_line_of(data, nul)}), so it is UTF-16 or UTF-32 "
            f"without a byte-order mark, or not text at all; {SAVE_AS_UTF8}"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text ({_describe_bad_byte(data, error.start)}); {SAVE_AS_UTF8}") from None


def _describe_bad_byte(data: bytes, offset: int) -> str:
    """``byte 0xe9 at line 3, 'é' in Windows-1252``: the guess helps find the character, it is never used to decode."""
    byte = data[offset]
    where = f"byte 0x{byte:02x} at line {_line_of(data, offset)}"
    try:
        guess = bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return where
    return f"{where}, {guess!r} in Windows-1252" if guess.isprintable() else where


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1
