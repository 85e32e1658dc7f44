"""Every setting of ``collection.toml`` declared once, in ``config.schema.json``, and read from there by all who tell it.

The schema is what refuses a bad file, so its bounds and choices are the ones that hold; each setting there also
carries its ``description`` and ``default``. From that one declaration come: the command-line flags that set a
setting (:func:`flag_option`: their type, bounds and help), the pixelate flags that share a setting's meaning
(:func:`standalone_option`), and the settings tables of ``docs/configuration.md`` (:func:`reference_page`, written by
``make docs``). ``tests/test_config_reference.py`` checks that the dataclass defaults in :mod:`generator.config`
equal the schema's, that the example ``traits/collection.toml`` holds only declared keys, and that the committed page
is the generated one. Nothing here imports jsonschema: the flags are built on every ``punkgen`` start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import click

from generator.schemas import schema_document

SCHEMA = "config.schema.json"
BEGIN = "<!-- settings: generated from generator/schemas/config.schema.json by `make docs`; edit the schema, not this table -->"
END = "<!-- end of generated settings -->"
KINDS = {"integer": "integer", "number": "number", "string": "text", "boolean": "`true` or `false`", "object": "table"}
# What a flag's help says after its text: the settings it overrides and their built-in defaults (read back by flags_of).
OVERRIDES = re.compile(r"\[(\w+)\]\.(\w+), else ")


@dataclass(frozen=True)
class Setting:
    """One key of one section, as the schema declares it."""

    section: str
    key: str
    rules: dict[str, Any]  # the key's JSON schema
    required: bool

    @property
    def name(self) -> str:
        return f"[{self.section}].{self.key}"

    @property
    def description(self) -> str:
        return self.rules["description"]

    @property
    def has_default(self) -> bool:
        return "default" in self.rules

    @property
    def default(self) -> Any:
        return self.rules["default"]

    def default_text(self) -> str:
        """The default as it is written in TOML (``"auto"``, ``7.5``, ``true``, ``[]``)."""
        if self.required:
            return "(required)"
        return toml_value(self.default) if self.has_default else "none"

    def allowed_text(self) -> str:
        """What the schema accepts, in words: the choices, or the kind and its bounds."""
        return allowed(self.rules)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{}" if not value else "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value, ensure_ascii=False)


def allowed(rules: dict[str, Any]) -> str:
    if "enum" in rules:
        return ", ".join(f"`{choice}`" for choice in rules["enum"])
    if rules.get("type") == "array":
        return f"list of {allowed(rules.get('items', {}))}"
    words = [KINDS.get(rules.get("type", ""), "table of trait → value(s)")]
    for keyword, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if keyword in rules:
            words.append(f"{sign} {rules[keyword]}")
    if "multipleOf" in rules:
        words.append(f"multiple of {rules['multipleOf']}")
    if rules.get("minLength", 0) > 0:
        words.insert(0, "non-empty")
    if "pattern" in rules and rules.get("minLength", 0) == 0:
        words.append(f"matching `{rules['pattern']}`")
    return " ".join(words[:1]) + (" " + ", ".join(words[1:]) if len(words) > 1 else "")


def sections() -> Iterator[tuple[str, dict[str, Any]]]:
    """Each top-level table (or array of tables) and the schema of one of its entries."""
    for section, rules in schema_document(SCHEMA)["properties"].items():
        yield section, rules["items"] if rules.get("type") == "array" else rules


@cache
def settings() -> list[Setting]:
    """Every key of every section, in the schema's order."""
    return [
        Setting(section, key, rules, key in table.get("required", ()))
        for section, table in sections()
        for key, rules in table["properties"].items()
    ]


def setting(dotted: str) -> Setting:
    """``"render.steps"`` → its :class:`Setting`."""
    section, key = dotted.split(".")
    for candidate in settings():
        if (candidate.section, candidate.key) == (section, key):
            return candidate
    raise KeyError(f"{dotted}: no such setting in {SCHEMA}")


# ── command-line flags ───────────────────────────────────────────────────────────────────────────


def flag_option(*keys: str, note: str = "", lead: str = "") -> dict[str, Any]:
    """``type`` and ``help`` of a flag that overrides ``keys`` (all of one kind: ``--render-size`` sets two): the
    schema's bounds or choices, and :func:`flag_help`."""
    return {"type": flag_type(setting(keys[0])), "help": flag_help(*keys, note=note, lead=lead)}


def flag_help(*keys: str, note: str = "", lead: str = "") -> str:
    """The help of a flag that overrides ``keys``: the first one's description (or ``lead``, where the flag says it
    its own way), ``note``, then where the value comes from when the flag is not given:
    ``[default: [render].steps, else 30]``."""
    overrides = "; ".join(f"{setting(key).name}, else {setting(key).default_text()}" for key in keys)
    return f"{_sentence(lead or setting(keys[0]).description)}{note}  [default: {overrides}]"


def standalone_option(key: str) -> dict[str, Any]:
    """A flag of a command that reads no config (``pixelate``) but means what setting ``key`` means: its type, help
    and the setting's built-in default."""
    chosen = setting(key)
    return {"type": flag_type(chosen), "help": _sentence(chosen.description), "default": chosen.default, "show_default": True}


def flag_type(chosen: Setting) -> click.ParamType:
    """The click type that accepts what the schema accepts, so a flag cannot carry a value the file could not."""
    rules = chosen.rules
    if "enum" in rules:
        return click.Choice(rules["enum"])
    kind = rules.get("type")
    if kind == "boolean":
        return click.BOOL
    if kind not in ("integer", "number"):
        return click.STRING
    bounds = {
        "min": rules.get("minimum", rules.get("exclusiveMinimum")),
        "max": rules.get("maximum", rules.get("exclusiveMaximum")),
        "min_open": "exclusiveMinimum" in rules,
        "max_open": "exclusiveMaximum" in rules,
    }
    if bounds["min"] is None and bounds["max"] is None:
        return click.FLOAT if kind == "number" else click.INT
    if kind == "number":
        return click.FloatRange(**bounds)
    if "multipleOf" in rules:
        return MultipleOf(rules["multipleOf"], min=bounds["min"], max=bounds["max"])
    return click.IntRange(min=bounds["min"], max=bounds["max"])


class MultipleOf(click.IntRange):
    """An integer range whose values are also multiples of a step (``[render].width``: SD's latents are ⅛ size)."""

    def __init__(self, step: int, **bounds: Any):
        super().__init__(**bounds)
        self.step = step

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number % self.step:
            self.fail(f"{number} is not a multiple of {self.step}", param, ctx)
        return number


def flags_of(group: click.Group) -> dict[str, list[str]]:
    """``"[render].steps"`` → the flags that override it, each as ``--flag`` (commands): read from the help texts
    :func:`flag_option` wrote, so the docs list exactly the flags that exist."""
    found: dict[str, dict[str, list[str]]] = {}
    for path, command in _commands(group):
        for param in command.params:
            for section, key in OVERRIDES.findall(getattr(param, "help", None) or ""):
                flag = " / ".join(param.opts)
                found.setdefault(f"[{section}].{key}", {}).setdefault(flag, []).append(path)
    return {name: [f"`{flag}` ({', '.join(paths)})" for flag, paths in flags.items()] for name, flags in found.items()}


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name in sorted(group.commands):  # the commands it holds, not the lazy ones it would import
        command = group.commands[name]
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from _commands(command, f"{path} ")
        elif not command.hidden:
            yield path, command


def _sentence(text: str) -> str:
    """A description as help: capitalised like click's own, markdown's code marks dropped (a terminal shows them)."""
    text = text.replace("`", "")
    return text[:1].upper() + text[1:]


# ── docs/configuration.md ────────────────────────────────────────────────────────────────────────


def reference_tables(flags: dict[str, list[str]]) -> str:
    """One table per section: key, default, what is allowed, the flags that override it, and its meaning."""
    schema = schema_document(SCHEMA)["properties"]
    parts: list[str] = []
    for section in schema:
        heading = f"[[{section}]]" if schema[section].get("type") == "array" else f"[{section}]"
        parts += [f"### `{heading}`", "", schema[section]["description"], ""]
        parts += ["| key | default | allowed | flag | meaning |", "|---|---|---|---|---|"]
        for item in (s for s in settings() if s.section == section):
            flag = "<br>".join(flags.get(item.name, ())) or "–"
            cells = [f"`{item.key}`", _code(item.default_text()), item.allowed_text(), flag, item.description]
            parts.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        parts.append("")
    return "\n".join(parts).rstrip("\n")


def _code(text: str) -> str:
    return text if text in ("(required)", "none") else f"`{text}`"


def reference_page(page: str, flags: dict[str, list[str]]) -> str:
    """``page`` with the text between :data:`BEGIN` and :data:`END` replaced by :func:`reference_tables`."""
    before, begin, rest = page.partition(BEGIN)
    _, end, after = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the page has no {BEGIN!r} … {END!r} markers to write the settings between")
    return f"{before}{BEGIN}\n\n{reference_tables(flags)}\n\n{END}{after}"


def write_reference(page: str, group: click.Group) -> None:
    """Rewrite ``page``'s generated tables from the schema and ``group``'s flags (``make docs``)."""
    path = Path(page)
    path.write_text(reference_page(path.read_text(encoding="utf-8"), flags_of(group)), encoding="utf-8")
