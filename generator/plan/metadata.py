"""A token's ERC-721 / OpenSea metadata: it follows from the token's plan entry (its id and trait set) alone.

So one function serves everyone who needs it: a run writing the token, a resume or ``verify``
checking the file, ``export`` publishing it with the base URI.
"""

from __future__ import annotations

import json
from typing import Any

from generator.config import Config
from generator.plan.traits import NONE_VALUE, Combo, TraitTable
from generator.schemas import validate

ANIMATED_EXTENSION = ".gif"  # an animated token's image (see generator.run.animation)


def attributes(tables: list[TraitTable], combo: Combo) -> list[dict[str, str]]:
    """``[{trait_type, value}]`` in trait order; ``None`` values are absent, as marketplaces expect."""
    pairs = ((table.trait_type, table.values[i].name) for table, i in zip(tables, combo, strict=True))
    return [{"trait_type": trait_type, "value": value} for trait_type, value in pairs if value != NONE_VALUE]


def token_metadata(
    config: Config, tables: list[TraitTable], token_id: int, combo: Combo, validated: bool = True, animated: bool = False
) -> dict[str, Any]:
    """The token's ERC-721 document, checked against the schema unless ``validated`` is False (a resume comparing
    existing files with it needs only the bytes). The check is a full validation for the first document of each
    shape and ~5 µs for the rest (see :func:`generator.schemas.validate`).

    ``animated``: the token wears a strip of frames, and its ``image`` is its GIF (``<id>.gif`` beside the still at the
    base URI), as OpenSea's metadata standard has it: ``image`` takes "just about any type of image" and plays a GIF,
    while ``animation_url`` lists video, audio, 3D and HTML only."""
    extension = ANIMATED_EXTENSION if animated else config.metadata.image_extension
    document: dict[str, Any] = {
        "name": f"{config.collection.name} #{token_id}",
        "description": config.collection.description,
        "image": f"{config.metadata.base_uri}{token_id}{extension}",
    }
    if config.collection.external_url:
        document["external_url"] = config.collection.external_url
    document["attributes"] = attributes(tables, combo)
    if validated:
        validate_token(document)
    return document


def validate_token(document: dict[str, Any]) -> None:
    validate(document, "token.schema.json")


def encode(document: dict[str, Any]) -> bytes:
    """Compact JSON, UTF-8, one line: how token documents are written (the C encoder; 10,000 files stay small)."""
    return (json.dumps(document, ensure_ascii=False) + "\n").encode()
