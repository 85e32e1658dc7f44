"""Every setting of ``collection.toml``, declared once in ``config.schema.json`` (:mod:`generator.schemas.declared`),
told from there: on the command line and in ``docs/configuration.md``.

A flag that overrides a setting takes its click type (bounds or choices) and its help from the setting's declaration
(:func:`flag_option`; a pixelate flag that means what a setting means: :func:`standalone_option`), so a flag accepts
what the file accepts and says the default the library uses. The settings tables of ``docs/configuration.md`` are
generated from the schema and those helps (:func:`reference_page`, ``make docs``); ``tests/test_config_reference.py``
checks the committed page is the generated one, and that the dataclass defaults and the example
``traits/collection.toml`` agree with the schema. No jsonschema here: the flags are built on every ``punkgen`` start.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from generator.schemas.declared import CONFIG, Declared, Setting

BEGIN = "<!-- settings: generated from generator/schemas/config.schema.json by `make docs`; edit the schema, not this table -->"
END = "<!-- end of generated settings -->"
# What a flag's help says after its text: the settings it overrides and their built-in defaults (read back by flags_of
# and overridden_settings). A training flag's help says ``[training].epochs = 10`` (training/cli.py's recipe_default).
OVERRIDES = re.compile(r"\[(\w+)\]\.(\w+), else ")
RECIPE_OVERRIDES = re.compile(r"\[(\w+)\]\.(\w+) = ")


# ── command-line flags ───────────────────────────────────────────────────────────────────────────


def flag_option(*keys: str, note: str = "", lead: str = "") -> dict[str, Any]:
    """``type`` and ``help`` of a flag that overrides ``keys`` (all of one kind: ``--render-size`` sets two): the
    schema's bounds or choices, and :func:`flag_help`."""
    return {"type": flag_type(CONFIG.setting(keys[0])), "help": flag_help(*keys, note=note, lead=lead)}


def flag_help(*keys: str, note: str = "", lead: str = "") -> str:
    """The help of a flag that overrides ``keys``: the first one's description (or ``lead``, where the flag says it
    its own way), ``note``, then where the value comes from when the flag is not given:
    ``[default: [render].steps, else 30]``."""
    settings = [CONFIG.setting(key) for key in keys]
    overrides = "; ".join(f"{chosen.name}, else {chosen.default_text()}" for chosen in settings)
    return f"{_sentence(lead or settings[0].description)}{note}  [default: {overrides}]"


def standalone_option(key: str) -> dict[str, Any]:
    """A flag of a command that reads no config (``pixelate``) but means what setting ``key`` means: its type, help
    and the setting's built-in default."""
    chosen = CONFIG.setting(key)
    return {"type": flag_type(chosen), "help": _sentence(chosen.description), "default": chosen.default, "show_default": True}


def flag_type(chosen: Setting) -> click.ParamType:
    """The click type that accepts what the schema accepts, so a flag cannot carry a value the file could not (any
    :class:`Declared` schema's: the training flags take theirs from the recipe's)."""
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
            for name in overridden_settings(param):
                found.setdefault(name, {}).setdefault(" / ".join(param.opts), []).append(path)
    return {name: [f"`{flag}` ({', '.join(paths)})" for flag, paths in flags.items()] for name, flags in found.items()}


def overridden_settings(param: click.Parameter) -> list[str]:
    """``["[render].steps"]``: the settings a flag overrides, read from its help (how the CLI names a setting's flag
    in a library message, :func:`generator.command.in_flags`)."""
    text = getattr(param, "help", None) or ""
    return [f"[{section}].{key}" for pattern in (OVERRIDES, RECIPE_OVERRIDES) for section, key in pattern.findall(text)]


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    context = click.Context(group)
    for name in group.list_commands(context):  # the lazy ones too: export's flags are a setting's flags as well
        command = group.get_command(context, name)
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


def reference_tables(flags: dict[str, list[str]], declared: Declared = CONFIG) -> str:
    """One table per section: key, default, what is allowed, the flags that override it, and its meaning."""
    parts: list[str] = []
    for section, table in declared.tables().items():
        heading = f"[[{section}]]" if table.get("type") == "array" else f"[{section}]"
        parts += [f"### `{heading}`", "", table["description"], ""]
        parts += ["| key | default | allowed | flag | meaning |", "|---|---|---|---|---|"]
        for item in (s for s in declared.settings() if s.section == section):
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
