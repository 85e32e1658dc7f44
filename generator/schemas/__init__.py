"""The JSON schemas of every document punkgen reads or writes, and the one way a document is checked against one.

``config.schema.json`` (collection.toml), ``token.schema.json`` (ERC-721 metadata),
``contract.schema.json`` (ERC-7572) and ``metaplex.schema.json`` live beside this file;
``training/recipe.schema.json`` is the training recipe's. Each validator is compiled once.
"""

from __future__ import annotations

import json
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
    """Raise if a document punkgen built breaks its schema: a bug in punkgen, since every user value was checked before."""
    problem = schema_problem(document, schema)
    if problem is not None:
        raise ValueError(f"{document.get('name')!r} breaks {schema}: {problem}")
