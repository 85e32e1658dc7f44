"""The JSON schemas of every document punkgen reads or writes, and the one way a document is checked against one.

``config.schema.json`` (collection.toml), ``token.schema.json`` (ERC-721 metadata),
``contract.schema.json`` (ERC-7572) and ``metaplex.schema.json`` live beside this file;
``training/recipe.schema.json`` is the training recipe's. Each validator is compiled once, and a document punkgen
builds or reads back is checked in full once per shape (see :func:`schema_problem`).
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


def schema_problem(document: Any, schema: str) -> str | None:
    """The most telling way ``document`` breaks ``schema``, with where (``attributes[2].value: …``), or None.

    jsonschema takes ~0.16 ms for a token's document (0.5 ms on a slow day), more than writing the token, and
    ``export`` reads 10,000 drafts back; a collection's documents come from one template, so they differ in their
    strings and barely in their structure. Where every keyword of ``schema`` judges a document by its :func:`shape`
    alone (:func:`judged_by_shape`), two documents of one shape get the same verdict, whoever wrote them (punkgen, or a
    hand edit), so only the first of each shape is validated in full (a collection of N tokens over T traits has at
    most 2^T shapes, ~10 in practice) and the rest cost a walk over their values (~5 µs). A shape's pass is kept
    across runs too (:mod:`generator.schemas.proven`): the next run of the collection never imports jsonschema for its
    tokens. A failing shape is checked every time, so each broken document gets its own message.
    """
    try:
        key = shape(document) if judged_by_shape(schema) else None
    except RecursionError:  # a hand edit nested a thousand deep: jsonschema stops at its first level
        key = None
    if key is None:
        return _full_problem(document, schema)
    if key in _valid_shapes[schema]:
        return None
    try:
        check_once(schema_text(schema), repr(key), lambda: _raise_if_broken(document, schema))
    except _Broken as broken:
        return broken.problem
    _valid_shapes[schema].add(key)
    return None


def validate(document: dict[str, Any], schema: str) -> None:
    """Raise if a document punkgen built breaks its schema: a bug in punkgen, since every user value was checked before
    (checked once per shape: see :func:`schema_problem`)."""
    problem = schema_problem(document, schema)
    if problem is not None:
        raise ValueError(f"{document.get('name')!r} breaks {schema}: {problem}")


class _Broken(Exception):
    """A full check's failure, carried out of :func:`~generator.schemas.proven.check_once` (which keeps passes only)."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def _raise_if_broken(document: Any, schema: str) -> None:
    problem = _full_problem(document, schema)
    if problem is not None:
        raise _Broken(problem)


def _full_problem(document: Any, schema: str) -> str | None:
    try:
        error = best_error(document, schema)
    except RecursionError:  # jsonschema's message quotes the value whole
        return "nested too deeply to be checked"
    if error is None:
        return None
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path).lstrip(".")
    return f"{where}: {error.message}" if where else error.message


# Keywords whose verdict on a value follows from its shape: its JSON type, its object keys, the shape of each item and
# property, and for a string only whether it is empty (minLength ≤ 1). Annotations judge nothing. Any other keyword
# (pattern, enum, maxLength, minimum, format …) reads the content, so a schema using one is validated document by document.
SHAPE_KEYWORDS = {"$schema", "$id", "title", "description", "$comment", "type", "required", "properties", "items"}
SHAPE_KEYWORDS |= {"additionalProperties", "minLength"}
_valid_shapes: dict[str, set[Hashable]] = defaultdict(set)


@cache
def judged_by_shape(schema: str) -> bool:
    """Whether ``schema`` uses only :data:`SHAPE_KEYWORDS` (and ``minLength`` of at most 1), all the way down."""
    return _shape_only(schema_document(schema))


def _shape_only(schema: Any) -> bool:
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict) or not SHAPE_KEYWORDS.issuperset(schema) or schema.get("minLength", 0) > 1:
        return False
    subschemas = [*schema.get("properties", {}).values(), schema.get("items", True), schema.get("additionalProperties", True)]
    return all(_shape_only(subschema) for subschema in subschemas)


def shape(value: Any) -> Hashable:
    """``value`` with every string reduced to whether it is empty: all that :data:`SHAPE_KEYWORDS` can see."""
    return tagged(value, strings=False)


def tagged(value: Any, strings: bool = True) -> Hashable:
    """``value`` as nested tuples, each value beside its Python type (so ``1``, ``1.0`` and ``True`` stay apart, as
    JSON Schema's types keep them); with ``strings`` False, a string is only whether it is empty."""
    if isinstance(value, str):
        return str, value if strings else bool(value)
    if isinstance(value, dict):
        return dict, tuple((key, tagged(item, strings)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return type(value), tuple(tagged(item, strings) for item in value)
    return type(value), value
