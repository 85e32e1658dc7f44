"""The settings a TOML file's schema declares, read as data: each key's meaning, default, and bounds or choices.

A settings schema (``config.schema.json`` for ``collection.toml``, ``training/recipe.schema.json`` for the recipe) is
the one declaration of its settings: it is what refuses a bad file, so its bounds and choices are the ones that hold,
and each setting there also carries its ``description`` and ``default``. :class:`Declared` reads one such schema for
those who tell or check a setting elsewhere: the flags and the docs (:mod:`generator.schemas.reference`) and the
libraries that act on a choice (:meth:`Declared.checked_choice`). No jsonschema and no click here: the library reads
choices on the sprite path.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from generator.schemas import PACKAGE, schema_document

KINDS = {"integer": "integer", "number": "number", "string": "text", "boolean": "`true` or `false`", "object": "table"}
BOUNDS = (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))


@dataclass(frozen=True)
class Setting:
    """One key of one section, as its schema declares it."""

    section: str
    key: str
    rules: dict[str, Any]  # the key's JSON schema
    required: bool

    @property
    def name(self) -> str:
        return f"[{self.section}].{self.key}"

    @property
    def description(self) -> str:
        return self.rules.get("description", "")

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


@dataclass(frozen=True)
class Declared:
    """The settings of one schema (``schema`` in ``package``), in the schema's order."""

    schema: str
    package: str = PACKAGE

    def tables(self) -> dict[str, dict[str, Any]]:
        """Each top-level table's schema (for an array of tables, ``[[rules]]``, the array's)."""
        return schema_document(self.schema, self.package)["properties"]

    def settings(self) -> list[Setting]:
        return _settings(self.schema, self.package)

    def setting(self, dotted: str) -> Setting:
        """``"render.steps"`` → its :class:`Setting`."""
        found = _by_name(self.schema, self.package).get(dotted)
        if found is None:
            raise KeyError(f"{dotted}: no such setting in {self.schema}")
        return found

    def checked_choice(self, section: str, key: str, value: str) -> str:
        """``value``, when the schema allows it for ``[section].key``; a :class:`ValueError` naming the setting otherwise.

        A library reads such a string where it acts on it (the pixel method, the sampling) and calls this first: a
        value that never met the schema (a library caller's, a script's) is refused, never taken for the default.
        """
        choices = self.setting(f"{section}.{key}").rules["enum"]
        if value not in choices:
            raise ValueError(one_of(f"[{section}].{key}", choices, value))
        return value


CONFIG = Declared("config.schema.json")


@cache
def _settings(schema: str, package: str) -> list[Setting]:
    found = []
    for section, rules in schema_document(schema, package)["properties"].items():
        table = rules["items"] if rules.get("type") == "array" else rules
        required = table.get("required", ())
        found += [Setting(section, key, item, key in required) for key, item in table["properties"].items()]
    return found


@cache
def _by_name(schema: str, package: str) -> dict[str, Setting]:
    return {f"{s.section}.{s.key}": s for s in _settings(schema, package)}


def one_of(where: str, choices: list[Any], value: Any) -> str:
    """``[pixels].method must be one of mode, nearest (got 'mdoe'; did you mean 'mode'?)``: a file's wrong choice
    (:func:`generator.toml_sections.explain`) and a library caller's (:meth:`Declared.checked_choice`), in one wording."""
    guess = difflib.get_close_matches(value, [str(c) for c in choices], n=1) if isinstance(value, str) else []
    hint = f"; did you mean {guess[0]!r}?" if guess else ""
    return f"{where} must be one of {', '.join(map(str, choices))} (got {value!r}{hint})"


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{}" if not value else "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value, ensure_ascii=False)


def allowed(rules: dict[str, Any]) -> str:
    """A value's schema in words: ``integer ≥ 64, multiple of 8``, ``non-empty text``, `` `mode`, `nearest` ``."""
    if "enum" in rules:
        return ", ".join(f"`{choice}`" for choice in rules["enum"])
    if "$ref" in rules:  # [[rules]]'s selections: the one shared definition
        return "table: trait → value or list of values"
    if rules.get("type") == "array":
        return f"list of {allowed(rules.get('items', {}))}"
    kind = ("non-empty " if rules.get("minLength", 0) > 0 else "") + KINDS.get(rules.get("type", ""), "any value")
    limits = [f"{sign} {rules[keyword]}" for keyword, sign in BOUNDS if keyword in rules]
    if "multipleOf" in rules:
        limits.append(f"multiple of {rules['multipleOf']}")
    if "pattern" in rules and rules.get("minLength", 0) == 0:
        limits.append(f"matching `{rules['pattern']}`")
    return " ".join([kind, ", ".join(limits)]) if limits else kind
