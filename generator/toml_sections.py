"""What every TOML settings file of the project shares: reading it, checking it against a JSON schema with errors
in the user's terms, and immutable sections that command-line flags override.

``collection.toml`` (:mod:`generator.config`) and the training recipe (:mod:`training.config`)
both build on it, so a typo gets the same one-line answer in either. :func:`load_sections` is
the whole path from file to frozen settings: read, check, one dataclass per table.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar, get_type_hints

from generator.errors import UserError
from generator.schemas import best_error, schema_document, schema_text, tagged
from generator.schemas.declared import one_of
from generator.schemas.proven import check_once
from generator.text import TOO_DEEP, check_nesting, read_text

if TYPE_CHECKING:
    import jsonschema

KINDS = {"integer": "an integer", "number": "a number", "string": "a string", "boolean": "true or false"}
KINDS |= {"array": "a list", "object": "a table of keys"}


class Sections:
    """A frozen dataclass of settings sections (plus its ``path``), overridable and printable as plain data."""

    def override(self, section: str, **values: Any) -> Self:
        """A copy with some keys of one section replaced; ``None`` means "flag not given"."""
        given = {key: value for key, value in values.items() if value is not None}
        if not given:
            return self
        return replace(self, **{section: replace(getattr(self, section), **given)})  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Any]:
        """Every setting as plain data (defaults included): for schema checks, fingerprints and run records."""
        data = {f.name: plain(getattr(self, f.name)) for f in fields(self) if f.name != "path"}  # type: ignore[arg-type]
        return json.loads(json.dumps(data))


AnySections = TypeVar("AnySections", bound=Sections)
Table = TypeVar("Table")


def load_sections(
    kind: type[AnySections],
    path: Path,
    *,
    package: str,
    schema: str,
    missing: str,
    build: Mapping[str, Callable[[Any], Any]] | None = None,
) -> AnySections:
    """A settings file as ``kind``: read (:func:`read_toml`, ``missing`` is the fix when the file is absent), checked
    against ``package``'s ``schema`` (:func:`check`), then each table built into the frozen dataclass its field in
    ``kind`` names (:func:`section`), or by ``build[table]`` where a table needs more than that (``[[rules]]``).

    A table the file leaves out keeps the field's default, so every setting has one default: its dataclass field's.
    """
    data = read_toml(path, missing)
    check(data, package, schema, Path(path))
    data = whole_integers(data, schema_document(schema, package))
    build = build or {}
    section_kinds = get_type_hints(kind)
    tables = {name: build[name](raw) if name in build else section(section_kinds[name], raw) for name, raw in data.items()}
    return kind(path=Path(path), **tables)


def whole_integers(value: Any, schema: dict[str, Any]) -> Any:
    """``value`` with every float the schema asks an integer for as that integer: JSON Schema counts ``10.0`` as an
    integer, so ``size = 10.0`` passes the check, but Python's ``range`` refused it (a traceback) and a seed of
    ``42.0`` fingerprinted another collection than ``42``."""
    if isinstance(value, float) and schema.get("type") == "integer":
        return int(value)
    if isinstance(value, dict):
        known, other = schema.get("properties", {}), schema.get("additionalProperties")
        return {
            key: whole_integers(item, known.get(key, other if isinstance(other, dict) else {})) for key, item in value.items()
        }
    if isinstance(value, list):
        items = schema.get("items")
        return [whole_integers(item, items if isinstance(items, dict) else {}) for item in value]
    return value


def section(kind: type[Table], raw: dict[str, Any]) -> Table:
    """One TOML table as its dataclass, each value as the dataclass holds it: arrays as tuples (frozen, hashable), and
    a whole number as a float where the field's default is a float (``max_grad_norm = 1`` → ``1.0``)."""
    defaults = {f.name: f.default for f in fields(kind)}  # type: ignore[arg-type]
    return kind(**{key: _as_held(value, defaults.get(key)) for key, value in raw.items()})


def _as_held(value: Any, default: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [plain(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    return value


def read_toml(path: Path, missing: str) -> dict[str, Any]:
    """The parsed file; ``missing`` is the fix to print when it does not exist.

    Decoded by :func:`generator.text.read_text`, so a file saved as UTF-16 or with a BOM by a
    Windows editor reads, and one in a legacy code page gets a one-line answer, not a traceback.
    """
    text = read_text(Path(path), missing)
    try:
        data = tomllib.loads(text)
        check_nesting(data)  # jsonschema and json.dumps recurse too
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: TOML syntax error: {error}; fix the syntax and run again") from None
    except (RecursionError, ValueError):  # tomllib recurses once per level of arrays
        raise UserError(f"{path}: values {TOO_DEEP}, which no setting is; fix the file and run again") from None
    return data


def check(data: dict[str, Any], package: str, schema: str, path: Path) -> None:
    """Raise a :class:`UserError` naming the file, the key and the fix for the most relevant schema error. Settings
    that passed before are known to pass (:mod:`generator.schemas.proven`): a run of an unchanged file skips the check."""
    check_once(schema_text(schema, package), repr(tagged(data)), lambda: _raise_user_error(data, package, schema, path))


def _raise_user_error(data: dict[str, Any], package: str, schema: str, path: Path) -> None:
    error = best_error(data, schema, package)
    if error is not None:
        raise UserError(f"{path}: {explain(error)}")


def explain(error: jsonschema.ValidationError) -> str:
    """A schema error in the user's terms: the TOML key, what is wrong, and the fix."""
    where = key_path(error.absolute_path)
    value = error.instance
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(value) - set(known))[0]
        guess = difflib.get_close_matches(unknown, known, n=1)
        hint = f" (did you mean '{guess[0]}'?)" if guess else ""
        if where == "the top level":
            return f"unknown section [{unknown}]{hint}; known sections: {', '.join(known)}"
        return f"unknown key {where}.{unknown}{hint}; known keys in {where}: {', '.join(known)}"
    messages = {
        "required": lambda: f"{where} is missing a required key: {error.message.split(' is a')[0]}; add it",
        "enum": lambda: one_of(where, error.validator_value, value),
        "type": lambda: f"{where} must be {KINDS.get(error.validator_value, error.validator_value)} (got {value!r})",
        "minimum": lambda: f"{where} must be ≥ {error.validator_value} (got {value!r})",
        "exclusiveMinimum": lambda: f"{where} must be > {error.validator_value} (got {value!r})",
        "maximum": lambda: f"{where} must be ≤ {error.validator_value} (got {value!r})",
        "uniqueItems": lambda: f"{where} lists {_repeated(value)!r} more than once; keep one",
        "maxItems": lambda: f"{where} holds {len(value)} entries, more than the {error.validator_value} allowed; merge some",
        "pattern": lambda: _unlike_pattern(where, error),
        "anyOf": lambda: _none_of_kinds(where, error),
    }
    return messages.get(error.validator, lambda: f"{where}: {error.message}")()


def _unlike_pattern(where: str, error: jsonschema.ValidationError) -> str:
    """A list item whose schema says in words what its pattern allows (``[traits].order``'s ``hat:back``) is told
    that, not shown the regular expression; other patterns keep jsonschema's message."""
    if "description" in error.schema and error.path and isinstance(error.path[-1], int):
        return f"{where} is {error.instance!r}, which is not {error.schema['description']}; rename it"
    return f"{where}: {error.message}"


def _none_of_kinds(where: str, error: jsonschema.ValidationError) -> str:
    """A value of none of the kinds a key takes (``when = { hair = 3 }``) names the kinds, not "any of the given schemas"."""
    kinds = [KINDS.get(choice.get("type"), "") for choice in error.validator_value]
    if all(kinds):
        return f"{where} must be {' or '.join(kinds)} (got {error.instance!r})"
    return f"{where}: {error.message}"


def _repeated(items: list[Any]) -> Any:
    """The first item of a list that an earlier one equals."""
    return next(item for position, item in enumerate(items) if item in items[:position])


def key_path(parts: Any) -> str:
    """``['render', 'steps']`` → ``[render].steps``; arrays of tables by number: ``[[rules]] #2.when``."""
    parts = list(parts)
    if not parts:
        return "the top level"
    head, rest = parts[0], parts[1:]
    if rest and isinstance(rest[0], int):
        where = f"[[{head}]] #{rest[0] + 1}"
        rest = rest[1:]
    else:
        where = f"[{head}]"
    return where + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in rest)
