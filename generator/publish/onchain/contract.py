"""What the renderer contract (contracts/PunkgenRenderer.sol) is given: one data stream and its constructor arguments.

The stream, cut by the deployer into SSTORE2 data contracts of at most :data:`CHUNK` bytes (items may cross
chunks: the contract's reader joins them), is ``palette | image table | token records | RLE images |
attribute entries``. The image table holds, per image (the parts' order), 12 bytes: the RLE's stream offset
(4) and length (2), then its attributes entry's offset (4) and length (2). A layer's entry is its trait's
``{"trait_type": …, "value": …}`` object; a whole token's is its whole attributes list. The token JSON is the
metadata document cut around the three things that vary (the id in the name, the image, the attributes),
so ``tokenURI`` rebuilds ``metadata/<id>.json`` exactly; a collection whose documents differ elsewhere is
refused rather than rendered wrong.
"""

from __future__ import annotations

import json
from typing import Any

from generator.config import Config
from generator.curate.finished import CollectionFolder
from generator.errors import Arg, UserError
from generator.publish.documents import contract_metadata
from generator.publish.onchain.layout import TOKENS, OnchainArt, token_records

CHUNK = 24_575  # EIP-170's 24,576-byte code limit less the leading STOP byte
ENTRY = 12  # bytes per image table entry
_ID, _IMAGE, _ATTRIBUTES = "\ue000id\ue000", "\ue000image\ue000", "\ue000attributes\ue000"  # never in user text


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def token_json_pieces(config: Config, document: dict[str, Any]) -> list[str]:
    """The four constant pieces the contract joins with the id, the image URI and the attributes entries."""
    template = dict(document, image=_IMAGE, attributes=_ATTRIBUTES)
    template["name"] = f"{config.collection.name} #{_ID}"
    text = _compact(template)
    head, rest = text.split(_ID)
    middle, rest = rest.split(f'"{_IMAGE}"')
    between, tail = rest.split(f'"{_ATTRIBUTES}"')
    return [head, middle + '"', '"' + between + "[", "]" + tail]


def _check_name(config: Config, name: str, token_id: int) -> None:
    """The contract writes every token's name as the collection's name, ' #' and the id: a 1/1 given a name of its
    own cannot be rendered so, and the refusal says which setting named it (not that its metadata "differs")."""
    if name != f"{config.collection.name} #{token_id}":
        raise UserError(
            f"{config.path}: token {token_id} is named {name!r}, but on chain every token is named "
            f"'{config.collection.name} #<id>' (the contract writes the id into one shared name); leave its "
            f"[[one_of_one]].name empty for {Arg.ONCHAIN}"
        )


def _attribute_entries(config: Config, art: OnchainArt, collection: CollectionFolder, where: str) -> list[str]:
    """Per image, its attributes entry: a layer's is its trait's attribute (empty for a part of a trait, and where the
    value is not published, as ``None``); refuses a layer two tokens name differently, and a token these entries do not rebuild exactly."""
    types = art.attribute_types  # a part's column publishes no attribute: its entries stay empty
    entries = [""] * len(art.parts)
    first = {trait: next((i for i, p in enumerate(art.parts) if p.folder == trait), 0) for trait in art.traits}
    whole_first = next((i for i, p in enumerate(art.parts) if p.folder == TOKENS), len(art.parts))
    seen: set[int] = set()
    for token in collection.tokens:
        attributes = token.document["attributes"]
        if token.token_id in art.whole:
            entries[whole_first + art.whole[token.token_id]] = ",".join(_compact(a) for a in attributes)
            continue
        by_type = {a["trait_type"]: _compact(a) for a in attributes}
        for trait, index, kind in zip(art.traits, art.layered[token.token_id], types, strict=True):
            slot, entry = first[trait] + index, by_type.get(kind, "") if kind else ""
            if slot in seen and entries[slot] != entry:
                raise UserError(
                    f"{where}: two tokens with the same {trait!r} layer name it differently; it cannot be stored once"
                )
            entries[slot] = entry
            seen.add(slot)
        rebuilt = ",".join(
            entry for t, i in zip(art.traits, art.layered[token.token_id], strict=True) if (entry := entries[first[t] + i])
        )
        if rebuilt != ",".join(_compact(a) for a in attributes):
            raise UserError(
                f"{where}: token {token.token_id}'s attributes are not one per trait in trait order; the renderer cannot rebuild them"
            )
    return entries


def contract_data(config: Config, art: OnchainArt, collection: CollectionFolder, provenance: str) -> tuple[bytes, dict]:
    """The data stream and the constructor arguments (``contract.json``) for ``collection``."""
    where = f"{collection.folder} ({Arg.ONCHAIN})"
    token_ids = [token.token_id for token in collection.tokens]
    pieces = token_json_pieces(config, collection.tokens[0].document)
    for token in collection.tokens:
        _check_name(config, token.document["name"], token.token_id)
        rebuilt = pieces[0] + str(token.token_id) + pieces[1] + _compact(token.document["image"])[1:-1] + pieces[2]
        if json.loads(rebuilt + ",".join(_compact(a) for a in token.document["attributes"]) + pieces[3]) != token.document:
            raise UserError(
                f"{where}: token {token.token_id}'s metadata differs from the others beyond name, image and attributes"
            )
    palette = bytes(3) + b"".join(bytes.fromhex(color) for color in art.palette[1:])
    records = token_records(art, token_ids)
    attributes = [entry.encode() for entry in _attribute_entries(config, art, collection, where)]
    table_start = len(palette)
    tokens_start = table_start + ENTRY * len(art.parts)
    rle_at = tokens_start + len(records)
    attr_at = rle_at + sum(len(part.data) for part in art.parts)
    table = bytearray()
    for part, entry in zip(art.parts, attributes, strict=True):
        table += (
            rle_at.to_bytes(4, "big")
            + len(part.data).to_bytes(2, "big")
            + attr_at.to_bytes(4, "big")
            + len(entry).to_bytes(2, "big")
        )
        rle_at += len(part.data)
        attr_at += len(entry)
    stream = palette + bytes(table) + records + b"".join(part.data for part in art.parts) + b"".join(attributes)
    bases = [next((i for i, p in enumerate(art.parts) if p.folder == trait), 0) for trait in art.traits]
    arguments = {
        "name": config.collection.name,
        "symbol": config.collection.symbol,
        "first_token_id": token_ids[0],
        "supply": len(token_ids),
        "traits_per_token": len(art.traits),
        "provenance": "0x" + provenance,
        "palette_start": 0,
        "image_table_start": table_start,
        "tokens_start": tokens_start,
        "trait_bases": bases,
        "whole_base": next((i for i, p in enumerate(art.parts) if p.folder == TOKENS), 0),
        "token_json": pieces,
        "contract_json": _compact(_contract_document(config)),
        "chunks": [min(CHUNK, len(stream) - at) for at in range(0, len(stream), CHUNK)],
    }
    return stream, arguments


def _contract_document(config: Config) -> dict[str, Any]:
    """The ERC-7572 document; with no ``[contract].image`` it has no image (there is no contact sheet on chain)."""
    document = contract_metadata(config, "ipfs://none/")
    if not config.contract.image:
        del document["image"]
    return document
