"""``--format erc721`` (the default): the folders an ERC-721 contract and OpenSea-style marketplaces read.

``images/<id>.png`` (``images/collection.png``, the contact sheet, beside them), ``metadata/<id>``: the token's
draft with its ``image`` linked (``tokenURI = baseURI + tokenId``, so no extension unless ``--json-extension``),
and ``collection.json`` (ERC-7572 / OpenSea ``contractURI``). Every export option applies: ``--car`` packs both
folders (:mod:`generator.publish.ipfs`), ``--placeholder`` serves the contract's unrevealed URI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generator.errors import Arg
from generator.publish.documents import contract_metadata
from generator.publish.formats.base import Documents, ExportFormat, hidden_name

if TYPE_CHECKING:
    from generator.config import Config
    from generator.curate.finished import CollectionFolder, Token
    from generator.publish.hidden import Placeholder

TOKEN_URI_RULE = (
    f'tokenURI = baseURI + tokenId + ".json": the metadata files end in .json ({Arg.JSON_EXTENSION}), so the '
    "contract's tokenURI must append \".json\" (OpenZeppelin's ERC721 returns baseURI + tokenId alone)"
)


class ERC721(ExportFormat):
    name = "erc721"
    summary = "images/, metadata/, collection.json"
    animates = True  # images/<id>.gif beside an animated token's PNG; its `image` links the GIF
    # token_schema None: the documents are the drafts, checked against token.schema.json on load, with a link added
    # whose base URI was checked (~0.13 ms a token saved)

    def token_files(self, position: int, token_id: int, json_extension: bool) -> tuple[str, str]:
        return f"images/{token_id}.png", f"metadata/{token_id}{'.json' if json_extension else ''}"

    def token_document(self, config: Config, token: Token, image_uri: str) -> dict[str, Any]:
        return {**token.document, "image": image_uri}

    def hidden_document(self, config: Config, placeholder: Placeholder) -> dict[str, Any]:
        return {"name": hidden_name(config), "description": config.collection.description, "image": placeholder.uri}

    def collection_documents(self, config: Config, collection: CollectionFolder, uri: str) -> Documents:
        return {"collection.json": contract_metadata(config, uri)}

    def contract_lines(self, json_extension: bool) -> list[str]:
        """With ``--json-extension`` the files are ``<id>.json``, but OpenZeppelin's ``tokenURI`` is ``baseURI +
        tokenId``: the printed base URI alone would point every token at a file that does not exist."""
        return [TOKEN_URI_RULE] if json_extension else []
