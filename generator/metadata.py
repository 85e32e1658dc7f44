"""ERC-721 / OpenSea token metadata, derived from the trait set and checked against a schema before it is written."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from generator.config import Config
from generator.rules import Combo
from generator.traits import NONE_VALUE, TraitTable


def attributes(tables: list[TraitTable], combo: Combo) -> list[dict[str, str]]:
    """``[{trait_type, value}]`` in trait order; ``None`` values are absent, as marketplaces expect."""
    pairs = ((table.trait_type, table.values[i].name) for table, i in zip(tables, combo, strict=True))
    return [{"trait_type": trait_type, "value": value} for trait_type, value in pairs if value != NONE_VALUE]


def token_metadata(config: Config, tables: list[TraitTable], token_id: int, combo: Combo) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": f"{config.collection.name} #{token_id}",
        "description": config.collection.description,
        "image": f"{config.metadata.base_uri}{token_id}{config.metadata.image_extension}",
    }
    if config.collection.external_url:
        document["external_url"] = config.collection.external_url
    document["attributes"] = attributes(tables, combo)
    validate_token(document)
    return document


def validate_token(document: dict[str, Any]) -> None:
    """Raise if ``document`` is not valid token metadata: a bug in punkgen, never the user's mistake."""
    error = jsonschema.exceptions.best_match(_token_validator().iter_errors(document))
    if error is not None:
        raise ValueError(f"token metadata {document.get('name')!r} breaks the token schema: {error.message}")


def encode(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False) + "\n").encode()


@cache
def _token_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(resources.files("generator.schemas").joinpath("token.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)
