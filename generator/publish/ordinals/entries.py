"""Every inscription of the collection as ord batch entries: the provenance parent, the layers, the tokens.

The provenance parent (``provenance.json``) is the first inscription of the layers' batch and the
parent of every token: the collection's provenance hash is on chain before any token, and each token
proves its membership by that parent. Its hash is the BAYC method over the 24×24 masters as
``images/`` holds them, in generated order, so a starting-index reveal (token ``t`` inscribed with item
``(t − first + K) mod N + first``, :mod:`generator.publish.reveal`) keeps the hash committed before it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from generator.config import Config
from generator.curate.finished import CollectionFolder
from generator.publish.ordinals.batch import Entry
from generator.publish.ordinals.cost import Inscription, split_batches
from generator.publish.ordinals.layers import Drawing, Layer, plan_drawings
from generator.publish.ordinals.svg import token_svg
from generator.publish.provenance import master_provenance
from generator.publish.reveal import check_starting_index, revealed

PARENT = "provenance.json"
METHOD = (
    "SHA-256 of each token's 24x24 PNG master (images/<id>.png of the collection folder) as lowercase hex, "
    "concatenated in generated order (token id order before any reveal), hashed again"
)


@dataclass(frozen=True)
class Plan:
    name: str  # the collection's
    collection: CollectionFolder  # in inscription order (revealed, with a starting index)
    layers: list[Layer]
    drawings: list[Drawing]  # per token, inscription order
    provenance: str
    parent: Entry
    layer_batches: list[list[Inscription]]


def plan_collection(folder: Path, config: Config, generated: CollectionFolder, starting_index: int | None) -> Plan:
    """What the collection inscribes; the layers' batches are fixed by the generated collection alone."""
    committed = master_provenance(generated)
    collection = generated
    if starting_index is not None:
        reveal = check_starting_index(starting_index, len(generated.tokens), config.collection.first_token_id)
        collection = revealed(generated, reveal, config)
    layers, drawings = plan_drawings(config, collection)
    parent = Entry(PARENT, _parent_body(config, committed, len(generated.tokens)), f"{config.collection.name} — provenance")
    batches = split_batches([entry.inscription() for entry in _layer_entries(parent, layers)], parents=0)
    return Plan(config.collection.name, collection, layers, drawings, committed, parent, batches)


def layer_entries(plan: Plan) -> list[Entry]:
    """The layers' batch: the provenance parent first, then each layer, titled ``<trait>: <value>``."""
    return _layer_entries(plan.parent, plan.layers)


def _layer_entries(parent: Entry, layers: list[Layer]) -> list[Entry]:
    return [parent, *(Entry(layer.file, layer.png, f"{layer.trait}: {layer.value}") for layer in layers)]


def token_entries(plan: Plan, layer_ids: list[str], side: int, whole: bool = False) -> list[Entry]:
    """Each token's entry, given the ids of :func:`layer_entries` (the parent's first): a layered token's SVG, else
    its PNG (``whole``: every token its PNG, what the report compares with). Its name is the title, its attributes
    ord's traits and, as ERC-721 drafts spell them, its metadata."""
    entries = []
    for drawing in plan.drawings:
        document, token_id = drawing.token.document, drawing.token.token_id
        if drawing.layers is None or whole:
            file, body = f"tokens/{token_id}.png", drawing.png
        else:
            file, body = f"tokens/{token_id}.svg", token_svg([layer_ids[1 + i] for i in drawing.layers], side, drawing.fill)
        attributes = document["attributes"]
        traits = {a["trait_type"]: a["value"] for a in attributes}
        metadata = {"name": document["name"], "attributes": attributes}
        entries.append(Entry(file, body, document["name"], traits, metadata))
    return entries


def placeholder_ids(batches: list[list[Inscription]]) -> list[str]:
    """Ids as long as the real ones will be (``<txid>i<position in its batch>``): a token's bytes are known exactly
    before anything is inscribed."""
    return [f"{'0' * 64}i{position}" for batch in batches for position in range(len(batch))]


def _parent_body(config: Config, committed: str, tokens: int) -> bytes:
    document = {"collection": config.collection.name, "tokens": tokens, "provenance": committed, "method": METHOD}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
