"""The JSON schemas of every document punkgen reads or writes, and the one way a document is checked against one.

``config.schema.json`` (collection.toml), ``token.schema.json`` (ERC-721 metadata),
``contract.schema.json`` (ERC-7572) and ``metaplex.schema.json`` live beside this file;
``training/recipe.schema.json`` is the training recipe's. Each validator is compiled once, and a document punkgen
builds is checked in full once per shape (see :func:`validate`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Hashable
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

PACKAGE = "generator.schemas"


@cache
def validator(schema: str, package: str = PACKAGE) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(resources.files(package).joinpath(schema).read_text()))


def schema_problem(document: Any, schema: str) -> str | None:
    """The most telling way ``document`` breaks ``schema``, with where (``attributes[2].value: …``), or None.

    For documents read back from disk, where a hand edit may have changed their shape.
    """
    error = jsonschema.exceptions.best_match(validator(schema).iter_errors(document))
    if error is None:
        return None
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path).lstrip(".")
    return f"{where}: {error.message}" if where else error.message


def validate(document: dict[str, Any], schema: str) -> None:
    """Raise if a document punkgen built breaks its schema: a bug in punkgen, since every user value was checked before.

    jsonschema takes ~0.16 ms for a token's document, more than writing the token; a collection's documents come
    from one template, so they differ in their strings and barely in their structure. Where every keyword of
    ``schema`` judges a document by its :func:`shape` alone (:func:`judged_by_shape`), two documents of one shape
    get the same verdict, so only the first of each shape is validated in full (a collection of N tokens over T
    traits has at most 2^T shapes, ~10 in practice) and the rest cost a walk over their values (~5 µs).
    """
    key = shape(document) if judged_by_shape(schema) else None
    if key in _valid_shapes[schema]:
        return
    problem = schema_problem(document, schema)
    if problem is not None:
        raise ValueError(f"{document.get('name')!r} breaks {schema}: {problem}")
    if key is not None:
        _valid_shapes[schema].add(key)


# Keywords whose verdict on a value follows from its shape: its JSON type, its object keys, the shape of each item and
# property, and for a string only whether it is empty (minLength ≤ 1). Annotations judge nothing. Any other keyword
# (pattern, enum, maxLength, minimum, format …) reads the content, so a schema using one is validated document by document.
SHAPE_KEYWORDS = {"$schema", "$id", "title", "description", "$comment", "type", "required", "properties", "items"}
SHAPE_KEYWORDS |= {"additionalProperties", "minLength"}
_valid_shapes: dict[str, set[Hashable]] = defaultdict(set)


@cache
def judged_by_shape(schema: str) -> bool:
    """Whether ``schema`` uses only :data:`SHAPE_KEYWORDS` (and ``minLength`` of at most 1), all the way down."""
    return _shape_only(validator(schema).schema)


def _shape_only(schema: Any) -> bool:
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict) or not SHAPE_KEYWORDS.issuperset(schema) or schema.get("minLength", 0) > 1:
        return False
    subschemas = [*schema.get("properties", {}).values(), schema.get("items", True), schema.get("additionalProperties", True)]
    return all(_shape_only(subschema) for subschema in subschemas)


def shape(value: Any) -> Hashable:
    """``value`` with every string reduced to whether it is empty, each value tagged with its Python type (so ``1``,
    ``1.0`` and ``True`` stay apart, as JSON Schema's types keep them): all that :data:`SHAPE_KEYWORDS` can see."""
    if isinstance(value, str):
        return str, bool(value)
    if isinstance(value, dict):
        return dict, tuple((key, shape(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return type(value), tuple(shape(item) for item in value)
    return type(value), value
