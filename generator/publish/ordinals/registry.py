"""The marketplace registry files, in the ordinals-collections format ordinals wallets and marketplaces list from.

``inscriptions.json``: ``[{"id": "<txid>i<n>", "meta": {"name", "attributes": [{"trait_type", "value"}]}}]``,
every token once, ids unique and of that form; the registry reads every value as a string (it turns a
number into its digits), and punkgen's metadata values are strings already. ``meta.json``: ``name``, ``inscription_icon``
(the first token), ``slug``, ``description`` and the links the config has (``[collection].external_url`` as
``website_link``). The rules are the registry's (ordinals-wallet/ordinals-collections, ``src/collection.rs``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from generator.config import Config
from generator.curate.finished import Token
from generator.files import slugify
from generator.publish.ordinals.inscribed import INSCRIPTION_ID


def inscriptions_json(tokens: Sequence[Token], ids: Sequence[str]) -> list[dict[str, Any]]:
    """One entry per token, in inscription order; the registry's rules are checked (a broken one is punkgen's bug)."""
    entries = [{"id": token_id, "meta": _meta(token)} for token, token_id in zip(tokens, ids, strict=True)]
    problems = registry_problems(entries)
    if problems:
        raise AssertionError(f"inscriptions.json breaks the registry's rules: {problems[0]}")
    return entries


def meta_json(config: Config, icon: str) -> dict[str, Any]:
    c = config.collection
    document = {"name": c.name, "inscription_icon": icon, "slug": slugify(c.name), "description": c.description}
    if c.external_url:
        document["website_link"] = c.external_url
    return document


def registry_problems(entries: Sequence[dict[str, Any]]) -> list[str]:
    """What the registry refuses: an id not ``<64 hex>i<n>``, an id twice, a value that is not a string."""
    problems, seen = [], set()
    for entry in entries:
        inscription_id = entry.get("id")
        if not isinstance(inscription_id, str) or not INSCRIPTION_ID.fullmatch(inscription_id):
            problems.append(f"id {inscription_id!r} is not <64 hex>i<n>")
        elif inscription_id in seen:
            problems.append(f"id {inscription_id} is listed twice")
        seen.add(inscription_id)
        for attribute in entry.get("meta", {}).get("attributes", []):
            if not isinstance(attribute.get("trait_type"), str) or not isinstance(attribute.get("value"), str):
                problems.append(f"{inscription_id}: attribute {attribute} is not two strings")
    return problems


def _meta(token: Token) -> dict[str, Any]:
    attributes = [{"trait_type": a["trait_type"], "value": a["value"]} for a in token.document["attributes"]]
    return {"name": token.document["name"], "attributes": attributes}
