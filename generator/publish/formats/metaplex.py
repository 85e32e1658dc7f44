"""``--format metaplex``: Candy Machine's assets for Sugar (Solana).

``assets/0.png``, ``assets/0.json`` … in token order plus ``assets/collection.png`` / ``collection.json``, and
``mapping.csv`` from file number to token id. ``image`` and ``properties.files[0].uri`` are the same URI on purpose:
``sugar upload`` replaces both with its upload link (it rewrites a file URI equal to ``image``), so the base URI only
matters to creators who host the files themselves, and ``--car`` does not apply. With ``--placeholder``,
``hiddenSettings.json`` is Candy Machine's ``hiddenSettings`` (``name``, ``uri``, ``hash``): ``hash`` is the first 32
hex digits of the provenance hash, the 32 characters Sugar stores on-chain, so the commitment is visible before the
reveal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generator.errors import Arg, UserError
from generator.publish.formats.base import Documents, ExportFormat, hidden_name
from generator.schemas import validate

if TYPE_CHECKING:
    from generator.config import Config
    from generator.curate.finished import CollectionFolder, Token
    from generator.publish.hidden import Placeholder

SCHEMA = "metaplex.schema.json"
NAME_BYTES, SYMBOL_BYTES = 32, 10  # Token Metadata program limits
HASH_CHARS = 32  # Candy Machine's hiddenSettings.hash is [u8; 32]
PLACEHOLDER_TYPE = "image/png"  # metaplex.schema.json: properties.files[].type


class Metaplex(ExportFormat):
    name = "metaplex"
    summary = "Candy Machine's assets/0.png, 0.json …"
    token_schema = SCHEMA
    refusals = {
        Arg.CAR: f"`sugar upload` uploads the assets and writes their links; drop {Arg.CAR}",
        Arg.JSON_EXTENSION: f"Candy Machine's assets are always <n>.json; drop {Arg.JSON_EXTENSION}",
    }
    links_minted = False  # Sugar rewrites every link on upload

    def token_files(self, position: int, token_id: int, json_extension: bool) -> tuple[str, str]:
        """Files 0…N-1 side by side, as Candy Machine reads them (always ``.json``)."""
        return f"assets/{position}.png", f"assets/{position}.json"

    def token_document(self, config: Config, token: Token, image_uri: str) -> dict[str, Any]:
        return metaplex_metadata(config, token.document, image_uri)

    def hidden_document(self, config: Config, placeholder: Placeholder) -> dict[str, Any]:
        """Candy Machine's unrevealed token: its file list names one PNG, as every asset's does (the schema's rule), so
        a GIF, JPEG or WebP placeholder is refused in one line here rather than failing the schema check as a bug."""
        if placeholder.mime != PLACEHOLDER_TYPE:
            raise UserError(
                f"{Arg.PLACEHOLDER} {placeholder.path} is {placeholder.mime}, and {Arg.FORMAT} {self.name} takes a PNG "
                "placeholder, as its assets are: save it as PNG and pass that"
            )
        c = config.collection
        document = {
            "name": hidden_name(config, NAME_BYTES),
            "symbol": c.symbol,
            "description": c.description,
            "image": placeholder.uri,
            "attributes": [],
            "properties": {"files": [{"uri": placeholder.uri, "type": placeholder.mime}], "category": "image"},
        }
        validate(document, SCHEMA)
        return document

    def collection_documents(self, config: Config, collection: CollectionFolder, uri: str) -> Documents:
        """Candy Machine's collection NFT; token names and the symbol are checked against the on-chain limits first."""
        c = config.collection
        longest = max((token.document["name"] for token in collection.tokens), key=lambda name: len(name.encode()))
        if len(longest.encode()) > NAME_BYTES:
            raise UserError(
                f"{config.path}: [collection].name makes token names like {longest!r} ({len(longest.encode())} bytes); "
                f"Metaplex allows {NAME_BYTES}: shorten the name"
            )
        if len(c.symbol.encode()) > SYMBOL_BYTES:
            raise UserError(
                f"{config.path}: [collection].symbol {c.symbol!r} is over Metaplex's {SYMBOL_BYTES} bytes; shorten it"
            )
        draft = {"name": c.name, "description": c.description, "attributes": []}
        if c.external_url:
            draft["external_url"] = c.external_url
        document = metaplex_metadata(config, draft, config.contract.image or f"{uri}collection.png")
        validate(document, SCHEMA)
        return {"assets/collection.json": document}

    def hidden_extras(self, config: Config, hidden_uri: str, provenance: str) -> Documents:
        """Candy Machine ``hiddenSettings``: Sugar numbers the names itself (``$ID+1$`` counts from 1, ``$ID$`` from 0)."""
        first = config.collection.first_token_id
        number = {0: " #$ID$", 1: " #$ID+1$"}.get(first, "")
        settings = {"name": f"{config.collection.name}{number}", "uri": hidden_uri, "hash": provenance[:HASH_CHARS]}
        return {"hiddenSettings.json": settings}

    def extra_files(self, collection: CollectionFolder) -> dict[str, bytes]:
        """``mapping.csv``: which token each numbered asset is."""
        mapping = [f"{n},{t.token_id},{t.document['name']}" for n, t in enumerate(collection.tokens)]
        return {"mapping.csv": ("\n".join(["file,token_id,name", *mapping]) + "\n").encode()}


def metaplex_metadata(config: Config, draft: dict[str, Any], uri: str) -> dict[str, Any]:
    """Metaplex Token Metadata JSON from an ERC-721 draft: same name (``#<id>`` kept), description and attributes."""
    document: dict[str, Any] = {"name": draft["name"], "symbol": config.collection.symbol, "description": draft["description"]}
    document["image"] = uri
    if "external_url" in draft:
        document["external_url"] = draft["external_url"]
    document["attributes"] = draft["attributes"]
    document["properties"] = {"files": [{"uri": uri, "type": "image/png"}], "category": "image"}
    return document
