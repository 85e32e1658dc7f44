"""The published JSON documents: ERC-721 token metadata (from the trait set), ERC-7572 contract metadata and
Metaplex token metadata, each checked against its schema in ``generator/schemas/`` before it is written."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from generator.config import Config
from generator.errors import UserError
from generator.rules import Combo
from generator.traits import NONE_VALUE, TraitTable

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_URI = re.compile(r"^[a-z][a-z0-9+.-]*:\S+$")  # as contract.schema.json


def attributes(tables: list[TraitTable], combo: Combo) -> list[dict[str, str]]:
    """``[{trait_type, value}]`` in trait order; ``None`` values are absent, as marketplaces expect."""
    pairs = ((table.trait_type, table.values[i].name) for table, i in zip(tables, combo, strict=True))
    return [{"trait_type": trait_type, "value": value} for trait_type, value in pairs if value != NONE_VALUE]


def token_metadata(
    config: Config, tables: list[TraitTable], token_id: int, combo: Combo, validated: bool = True
) -> dict[str, Any]:
    """The token's ERC-721 document, checked against the schema unless ``validated`` is False: a resume comparing
    10,000 existing files with it needs only the bytes, and validation costs ~0.45 ms a token."""
    document: dict[str, Any] = {
        "name": f"{config.collection.name} #{token_id}",
        "description": config.collection.description,
        "image": f"{config.metadata.base_uri}{token_id}{config.metadata.image_extension}",
    }
    if config.collection.external_url:
        document["external_url"] = config.collection.external_url
    document["attributes"] = attributes(tables, combo)
    if validated:
        validate_token(document)
    return document


def validate_token(document: dict[str, Any]) -> None:
    validate(document, "token.schema.json")


def contract_metadata(config: Config, base_uri: str) -> dict[str, Any]:
    """ERC-7572 / OpenSea contract metadata; the image defaults to the contact sheet published beside the tokens."""
    c, k = config.collection, config.contract
    royalty = (k.seller_fee_basis_points > 0, bool(k.fee_recipient))
    if any(royalty) and not all(royalty):
        raise UserError(f"{config.path}: [contract] seller_fee_basis_points and fee_recipient go together; set both, or neither")
    if k.fee_recipient and not _ADDRESS.match(k.fee_recipient):
        raise UserError(f"{config.path}: [contract].fee_recipient {k.fee_recipient!r} must be a 0x address of 40 hex digits")
    links = {f"[contract].{key}": getattr(k, key) for key in ("image", "banner_image", "featured_image", "external_link")}
    links["[collection].external_url"] = c.external_url
    for key, value in links.items():
        if value and not _URI.match(value):
            raise UserError(f"{config.path}: {key} {value!r} must be a full URI (https://…, ipfs://… or ar://…)")
    fields = {
        "name": c.name,
        "symbol": c.symbol,
        "description": c.description,
        "image": k.image or f"{base_uri}collection.png",
        "banner_image": k.banner_image,
        "featured_image": k.featured_image,
        "external_link": k.external_link or c.external_url,
        "collaborators": list(k.collaborators),
    }
    document = {key: value for key, value in fields.items() if value or key == "description"}
    if all(royalty):
        document.update(seller_fee_basis_points=k.seller_fee_basis_points, fee_recipient=k.fee_recipient)
    validate(document, "contract.schema.json")
    return document


def metaplex_metadata(config: Config, draft: dict[str, Any], uri: str) -> dict[str, Any]:
    """Metaplex Token Metadata JSON from an ERC-721 draft: same name (``#<id>`` kept), description and attributes."""
    document: dict[str, Any] = {"name": draft["name"], "symbol": config.collection.symbol, "description": draft["description"]}
    document["image"] = uri
    if "external_url" in draft:
        document["external_url"] = draft["external_url"]
    document["attributes"] = draft["attributes"]
    document["properties"] = {"files": [{"uri": uri, "type": "image/png"}], "category": "image"}
    return document


def validate(document: dict[str, Any], schema: str) -> None:
    """Raise if a document breaks its schema (in ``generator/schemas/``): a bug in punkgen, since every user value was checked before."""
    problem = schema_problem(document, schema)
    if problem is not None:
        raise ValueError(f"{document.get('name')!r} breaks {schema}: {problem}")


def schema_problem(document: Any, schema: str) -> str | None:
    """The most telling way ``document`` breaks ``schema``, with where (``attributes[2].value: …``), or None.

    For documents read back from disk, where a hand edit may have changed their shape.
    """
    error = jsonschema.exceptions.best_match(_validator(schema).iter_errors(document))
    if error is None:
        return None
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path).lstrip(".")
    return f"{where}: {error.message}" if where else error.message


@cache
def _validator(schema: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(resources.files("generator.schemas").joinpath(schema).read_text()))


def encode(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False) + "\n").encode()
