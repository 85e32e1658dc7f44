"""Read the data a HashLips or nftchef ``config.js`` declares, without running any JavaScript.

Those configs are programs, but what an importer needs from them is data: ``const layerConfigurations = [ … ];``,
``const rarityDelimiter = "#";``, ``const incompatible = { … };``. Running them would need Node and would run
whatever else the file does, and no well-kept Python package reads JS object literals inside statements (``json5``
reads one literal, not ``const x = …``). So this is a small tolerant reader of the subset those configs are written in:
top-level ``const``/``let``/``var`` bindings whose value is an object or array literal, a string (``"…"``, ``'…'``,
`````…${basePath}…`````, kept as written), a number, a boolean, ``null``, or a name such as ``MODE.multiply``
(kept as the :class:`Name` it spells). Comments and trailing commas are allowed. A binding whose value is anything else
(``require(…)``, ``() => …``, ``a ? b : c``) is recorded as :class:`Unreadable` with its line and skipped, so only an
importer that needs that binding refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import UserError

_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<comment>//[^\n]*|/\*.*?\*/)|(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
    |(?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_$][\w$]*(?:\s*\??\.\s*[A-Za-z_$][\w$]*)*)
    |(?P<punct>=>|===|!==|==|!=|&&|\|\||\.\.\.|[{}\[\]():;,=?<>+\-*/%!&|.])""",
    re.VERBOSE | re.DOTALL,
)
_KEYWORDS = {"true": True, "false": False, "null": None, "undefined": None}
_STATEMENT_STARTS = {"const", "let", "var", "module", "function", "class", "if", "for", "export", "import"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


@dataclass(frozen=True)
class Name:
    """An identifier used as a value (``MODE.multiply``, ``NETWORK.eth``): what it spells, never evaluated."""

    text: str


@dataclass(frozen=True)
class Unreadable:
    """A binding whose value is code rather than data; ``line`` is where it starts."""

    line: int


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int


class _NotData(Exception):
    """The expression at this token is code, not a literal: the binding becomes :class:`Unreadable`."""


def read_bindings(path: Path, text: str) -> dict[str, Any]:
    """Every top-level ``const``/``let``/``var`` binding of ``text`` (the file ``path``) by name, each a Python value,
    a :class:`Name`, or :class:`Unreadable`. A file that is not JavaScript at all (an unclosed string or comment, a
    stray character) is one line naming ``path`` and the line."""
    tokens = _tokens(path, text)
    bindings: dict[str, Any] = {}
    index, depth = 0, 0
    while index < len(tokens):
        token = tokens[index]
        depth += (token.text in "{[(") - (token.text in "}])") if token.kind == "punct" else 0
        declared = depth == 0 and token.text in {"const", "let", "var"} and index + 2 < len(tokens)
        if declared and tokens[index + 1].kind == "name" and tokens[index + 2].text == "=":
            name = tokens[index + 1].text
            index = _bind(tokens, index + 3, name, bindings)
            continue
        index += 1
    return bindings


def _bind(tokens: list[_Token], start: int, name: str, bindings: dict[str, Any]) -> int:
    """Parse one binding's value into ``bindings``; returns where the next statement starts."""
    try:
        value, end = _value(tokens, start)
        if end < len(tokens) and tokens[end].text != ";" and tokens[end].line == tokens[end - 1].line:
            raise _NotData  # `const x = 2 / 128;`: data followed by an operator is an expression
        bindings[name] = value
        return end
    except _NotData:
        bindings[name] = Unreadable(tokens[start].line if start < len(tokens) else tokens[-1].line)
        return _statement_end(tokens, start)


def _statement_end(tokens: list[_Token], index: int) -> int:
    """The first token after the statement that starts at ``index``: a ``;`` or a new statement at bracket depth 0."""
    depth = 0
    while index < len(tokens):
        text = tokens[index].text
        if tokens[index].kind == "punct":
            depth += (text in "{[(") - (text in "}])")
            if depth == 0 and text == ";":
                return index + 1
        elif depth == 0 and text in _STATEMENT_STARTS and index > 0 and tokens[index - 1].line < tokens[index].line:
            return index
        index += 1
    return index


def _value(tokens: list[_Token], index: int) -> tuple[Any, int]:
    """The literal starting at ``index`` and the index after it."""
    if index >= len(tokens):
        raise _NotData
    token = tokens[index]
    if token.text == "{":
        return _object(tokens, index + 1)
    if token.text == "[":
        return _array(tokens, index + 1)
    if token.kind == "string":
        return _string(token.text), index + 1
    if token.kind == "number":
        return _number(token.text), index + 1
    if token.kind == "name":
        if index + 1 < len(tokens) and tokens[index + 1].text in {"(", "=>"}:
            raise _NotData  # require(…), an arrow function's parameter
        return _KEYWORDS.get(token.text, Name(re.sub(r"\s+", "", token.text))), index + 1
    raise _NotData


def _object(tokens: list[_Token], index: int) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = {}
    while index < len(tokens) and tokens[index].text != "}":
        key_token = tokens[index]
        if key_token.kind not in {"name", "string", "number"}:
            raise _NotData  # a computed key, a spread, a method
        key = _string(key_token.text) if key_token.kind == "string" else key_token.text
        if index + 1 < len(tokens) and tokens[index + 1].text in {",", "}"}:
            result[key], index = Name(key), index + 1  # shorthand `{ format, baseUri }`
        else:
            if index + 1 >= len(tokens) or tokens[index + 1].text != ":":
                raise _NotData
            result[key], index = _value(tokens, index + 2)
        index = _after_item(tokens, index, "}")
    if index >= len(tokens):
        raise _NotData  # never closed
    return result, index + 1


def _array(tokens: list[_Token], index: int) -> tuple[list[Any], int]:
    result: list[Any] = []
    while index < len(tokens) and tokens[index].text != "]":
        item, index = _value(tokens, index)
        result.append(item)
        index = _after_item(tokens, index, "]")
    if index >= len(tokens):
        raise _NotData  # never closed
    return result, index + 1


def _after_item(tokens: list[_Token], index: int, closing: str) -> int:
    """Past the ``,`` after an item (trailing commas allowed); anything but ``,`` or the closing bracket is code."""
    if index < len(tokens) and tokens[index].text == ",":
        return index + 1
    if index < len(tokens) and tokens[index].text == closing:
        return index
    raise _NotData


def _string(text: str) -> str:
    """A quoted string's text, with JavaScript's common escapes; a template string is kept as written (``${…}``)."""
    body = text[1:-1]
    if text[0] == "`":
        return body
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", lambda m: _unescape(m.group(1)), body)


def _unescape(code: str) -> str:
    if code.startswith("u") and len(code) == 5:
        return chr(int(code[1:], 16))
    return _ESCAPES.get(code, code)


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and not re.search(r"[.eE]", text) else value


def _tokens(path: Path, text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position, line = 0, 1
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            column = position - text.rfind("\n", 0, position)  # not the text there: it may be a baseUri's password
            raise UserError(
                f"{path} line {line}, column {column}: not a JavaScript config this importer reads; "
                "check the file is the tool's config.js, with closed strings and comments"
            )
        kind = match.lastgroup or ""
        if kind not in {"space", "comment"}:
            tokens.append(_Token(kind, match.group(), line))
        line += match.group().count("\n")
        position = match.end()
    return tokens
