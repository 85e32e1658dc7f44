"""ERC-7572 contract metadata (``collection.json``), checked against its schema before it is written. A token's own
ERC-721 document follows from its plan entry and lives in :mod:`generator.plan.metadata`; each export format's own
documents live in its module (:mod:`generator.publish.formats`)."""

from __future__ import annotations

import re
from typing import Any

from generator.config import Config
from generator.errors import UserError
from generator.schemas import validate

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_URI = re.compile(r"^[a-z][a-z0-9+.-]*:\S+$")  # as contract.schema.json


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
