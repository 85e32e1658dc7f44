"""The JSON schemas of every document punkgen reads or writes, and the one way a document is checked against one.

``config.schema.json`` (collection.toml), ``token.schema.json`` (ERC-721 metadata),
``contract.schema.json`` (ERC-7572) and ``metaplex.schema.json`` (each export format names its own: see
:mod:`generator.publish.formats`) live beside this file;
``training/recipe.schema.json`` is the training recipe's. Each validator is compiled once, and a document punkgen
builds or reads back is checked in full once per shape (see :func:`schema_problem`). A settings schema is also the one
declaration of its settings' meanings and defaults: :mod:`generator.schemas.declared` reads it as data, and
:mod:`generator.schemas.reference` makes the flags and ``docs/configuration.md`` from it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Hashable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from generator.schemas.proven import check_once

if TYPE_CHECKING:
    import jsonschema

PACKAGE = "generator.schemas"


@cache
def schema_text(schema: str, package: str = PACKAGE) -> str:
    return resources.files(package).joinpath(schema).read_text(encoding="utf-8")


@cache
def schema_document(schema: str, package: str = PACKAGE) -> dict[str, Any]:
    """The schema as data (the values a setting allows, for one), without importing jsonschema."""
    return json.loads(schema_text(schema, package))


@cache
def validator(schema: str, package: str = PACKAGE) -> jsonschema.Draft202012Validator:
    import jsonschema  # only where a check is not proven already (see generator.schemas.proven)

    return jsonschema.Draft202012Validator(schema_document(schema, package))


def best_error(document: Any, schema: str, package: str = PACKAGE) -> jsonschema.ValidationError | None:
    """jsonschema's most relevant error of ``document`` against ``schema``, or None when it passes."""
    import jsonschema

    return jsonschema.exceptions.best_match(validator(schema, package).iter_errors(document))


def schema_problem(document: Any, schema: str, package: str = PACKAGE) -> str | None:
    """The most telling way ``document`` breaks ``schema``, with where (``attributes[2].value: …``), or None.

    jsonschema takes ~0.16 ms for a token's document (0.5 ms on a slow day), more than writing the token, and
    ``export`` reads 10,000 drafts back; a collection's documents come from one template, so they differ in their
    strings and barely in their structure. Where every keyword of ``schema`` judges a document by its :func:`shape`
    alone (:func:`judged_by_shape`), two documents of one shape get the same verdict, whoever wrote them (punkgen, or a
    hand edit), so only the first of each shape is validated in full (a collection of N tokens over T traits has at
    most 2^T shapes, ~10 in practice) and the rest cost a walk over their values (~5 µs). A shape's pass is kept
    across runs too (:mod:`generator.schemas.proven`): the next run of the collection never imports jsonschema for its
    tokens. A failing shape is checked every time, so each broken document gets its own message.

    ``package``: where ``schema`` lives; an export format may keep its schema beside its own module.
    """
    try:
        key = shape(schema, document, package) if judged_by_shape(schema, package) else None
    except RecursionError:  # a hand edit nested a thousand deep: jsonschema stops at its first level
        key = None
    if key is None:
        return _full_problem(document, schema, package)
    if key in _valid_shapes[package, schema]:
        return None
    try:
        check_once(schema_text(schema, package), repr(key), lambda: _raise_if_broken(document, schema, package))
    except _Broken as broken:
        return broken.problem
    _valid_shapes[package, schema].add(key)
    return None


def validate(document: dict[str, Any], schema: str, package: str = PACKAGE) -> None:
    """Raise if a document punkgen built breaks its schema: a bug in punkgen, since every user value was checked before
    (checked once per shape: see :func:`schema_problem`)."""
    problem = schema_problem(document, schema, package)
    if problem is not None:
        raise ValueError(f"{document.get('name')!r} breaks {schema}: {problem}")


class _Broken(Exception):
    """A full check's failure, carried out of :func:`~generator.schemas.proven.check_once` (which keeps passes only)."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def _raise_if_broken(document: Any, schema: str, package: str) -> None:
    problem = _full_problem(document, schema, package)
    if problem is not None:
        raise _Broken(problem)


def _full_problem(document: Any, schema: str, package: str) -> str | None:
    try:
        error = best_error(document, schema, package)
    except RecursionError:  # jsonschema's message quotes the value whole
        return "nested too deeply to be checked"
    if error is None:
        return None
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path).lstrip(".")
    return f"{where}: {error.message}" if where else error.message


# Keywords whose verdict on a value follows from its shape (:func:`shape`): its JSON type, object keys, array lengths,
# numbers, booleans and nulls whole, and of a string what its own keywords read: all of it under a content keyword
# (enum, const, pattern, format), its length under a length bound, else whether it is empty. Annotations judge
# nothing. A schema using any other keyword ($ref, anyOf, uniqueItems …) is validated document by document.
ANNOTATIONS = {"$schema", "$id", "title", "description", "default", "$comment"}
STRUCTURE = {"type", "required", "properties", "additionalProperties", "items", "minItems", "maxItems"}
NUMBERS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
STRING_CONTENT = {"enum", "const", "pattern", "format"}
SHAPE_KEYWORDS = ANNOTATIONS | STRUCTURE | NUMBERS | STRING_CONTENT | {"minLength", "maxLength"}
_valid_shapes: dict[tuple[str, str], set[Hashable]] = defaultdict(set)  # by (package, schema)


@cache
def judged_by_shape(schema: str, package: str = PACKAGE) -> bool:
    """Whether ``schema`` uses only :data:`SHAPE_KEYWORDS`, all the way down."""
    return _shape_only(schema_document(schema, package))


def _shape_only(schema: Any) -> bool:
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict) or not SHAPE_KEYWORDS.issuperset(schema) or isinstance(schema.get("items"), list):
        return False
    subschemas = [*schema.get("properties", {}).values(), schema.get("items", True), schema.get("additionalProperties", True)]
    return all(_shape_only(subschema) for subschema in subschemas)


def shape(schema: str, value: Any, package: str = PACKAGE) -> Hashable:
    """What ``schema`` (judged by shape: :func:`judged_by_shape`) can see of ``value``, as nested tuples: two values
    of one shape get one verdict. The token schema sees of a string only whether it is empty, so a collection's
    10,000 documents have ~10 shapes; Metaplex's also sees a name's length (at most 32) and its enums' values."""
    return _seen(schema_document(schema, package), value)


def _seen(schema: Any, value: Any) -> Hashable:
    rules = schema if isinstance(schema, dict) else {}
    if isinstance(value, dict):
        properties, extra = rules.get("properties", {}), rules.get("additionalProperties", True)
        return dict, tuple((key, _seen(properties.get(key, extra), item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return type(value), tuple(_seen(rules.get("items", True), item) for item in value)
    if isinstance(value, str):
        if STRING_CONTENT.intersection(rules):
            return str, value
        return str, (len(value) if "maxLength" in rules or rules.get("minLength", 0) > 1 else bool(value))
    return type(value), value


def tagged(value: Any) -> Hashable:
    """``value`` as nested tuples, each value beside its Python type (so ``1``, ``1.0`` and ``True`` stay apart, as
    JSON Schema's types keep them)."""
    if isinstance(value, dict):
        return dict, tuple((key, tagged(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return type(value), tuple(tagged(item) for item in value)
    return type(value), value
