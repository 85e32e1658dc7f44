"""A toy export format, defined entirely outside ``generator/``: the proof that a new export target needs its own
module, its schema (``fixtures/toy_token.schema.json``) and a registration, and nothing else.

Its shape differs from both real members on purpose: one flat JSON per token in ``toy/`` (``id``, ``title``,
``picture``, ``traits`` as a mapping), a ``toy/index.json`` for the collection, and ``--car`` refused.
"""

from __future__ import annotations

from typing import Any

from generator.config import Config
from generator.curate.finished import CollectionFolder, Token
from generator.errors import Arg
from generator.publish.formats.base import Documents, ExportFormat, hidden_name
from generator.publish.hidden import Placeholder

CAR_REFUSAL = "the toy serves toy/ from one web folder; drop --car"


class Toy(ExportFormat):
    name = "toy"
    summary = "toy/<id>.png and toy/<id>.json, one flat document a token"
    token_schema = "toy_token.schema.json"
    schema_package = "fixtures"  # tests/fixtures/, on the path the tests run with
    refusals = {Arg.CAR: CAR_REFUSAL}

    def token_files(self, position: int, token_id: int, json_extension: bool) -> tuple[str, str]:
        return f"toy/{token_id}.png", f"toy/{token_id}.json"

    def token_document(self, config: Config, token: Token, image_uri: str) -> dict[str, Any]:
        traits = {a["trait_type"]: a["value"] for a in token.document["attributes"]}
        return {"id": token.token_id, "title": token.document["name"], "picture": image_uri, "traits": traits}

    def hidden_document(self, config: Config, placeholder: Placeholder) -> dict[str, Any]:
        return {"id": 0, "title": hidden_name(config), "picture": placeholder.uri, "traits": {}}

    def collection_documents(self, config: Config, collection: CollectionFolder, uri: str) -> Documents:
        return {"toy/index.json": {"title": config.collection.name, "size": len(collection.tokens)}}
