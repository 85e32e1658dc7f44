"""What is stored on chain: each used trait value's layer once, each layered token as trait indices, the rest whole.

A token is layered exactly when the Ordinals export says so (:func:`~generator.publish.ordinals.layers.exact_layers`:
its master is its traits' layers composed, every layer pixel opaque or transparent) and it is drawn in the
collection's default order. A layered token is one index byte per layer column (the position of its value among
that column's stored layers, empty layers included so every token has the same length: CryptoPunks' fixed-width
record); any other token (a diffusion or import render, a ``replace``d token, a 1/1) is its own image in the
``tokens`` folder. The columns are ``[traits].order``'s entries: a trait drawn in parts (``hat:back``) stores each
part as its own layer, in its own folder, drawn at its place. A token whose order a ``[[depth]]`` override changes
is stored whole: the renderer draws every record in one order, and a per-token order would cost every token a
permutation. Layers come in column order then table order, whole tokens after them in token order: that order
fixes the palette's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generator.config import Config
from generator.curate.finished import CollectionFolder, read_master
from generator.errors import Arg, UserError
from generator.plan.depth import DrawOrder, draw_order
from generator.plan.traits import Combo, TraitTable, combo_of, load_traits
from generator.publish.onchain.nouns import Part, encode_parts
from generator.publish.ordinals.layers import exact_layers, layer_slug
from generator.render.layers import Layers, drawn_layers

TOKENS = "tokens"  # the image-data.json folder of tokens stored whole
WHOLE = 0xFF  # a token record's first byte when the token is stored whole: no trait may store 255 layers


@dataclass(frozen=True)
class OnchainArt:
    palette: list[str]  # index 0 is '' (transparent)
    parts: list[Part]  # layers (column order, table order), then whole tokens (token order)
    traits: list[str]  # the layer columns in draw order ([traits].order: trait keys and <trait>:<part>): the folders
    attribute_types: list[str | None]  # per column, the trait_type its layers publish; None for a part (none)
    layered: dict[int, tuple[int, ...]]  # token id → per column, the index of its value among that column's layers
    whole: dict[int, int]  # token id → its index in the tokens folder
    side: int

    def layers_of(self, trait: str) -> list[Part]:
        return [part for part in self.parts if part.folder == trait]

    @property
    def index_bits(self) -> int:
        """Bits a token's trait indices take packed (each trait as few bits as its layer count needs)."""
        return sum(max(1, (len(self.layers_of(trait)) - 1).bit_length()) for trait in self.traits)


def plan_art(config: Config, collection: CollectionFolder) -> OnchainArt:
    """Every token's on-chain form, and the encoded parts and palette they draw from."""
    tables = load_traits(config)
    order = draw_order(config, tables)
    art = drawn_layers(config, tables)
    masters = {token.token_id: np.asarray(read_master(token.master).convert("RGBA")) for token in collection.tokens}
    combos = _layered(tables, art, order, collection, masters) if art is not None else {}
    labels = [part.label(tables) for part in order.parts]
    used = [sorted({combo[part.trait] for combo in combos.values()}) for part in order.parts]
    images = [
        (labels[column], layer_slug(tables, part, value), art.art[column][value])  # type: ignore[union-attr]
        for column, part in enumerate(order.parts)
        for value in used[column]
    ]
    whole = [token.token_id for token in collection.tokens if token.token_id not in combos]
    images += [(TOKENS, f"token-{token_id}", masters[token_id]) for token_id in whole]
    where = f"{collection.folder} ({Arg.ONCHAIN})"
    named = [
        f"the part {label}" if part.name else str(tables[part.trait].path)
        for label, part in zip(labels, order.parts, strict=True)
    ]
    _check_record_width(named, used, len(whole), where)
    palette, parts = encode_parts(images, where)
    return OnchainArt(
        palette,
        parts,
        labels,
        [None if part.name else tables[part.trait].trait_type for part in order.parts],
        {
            token_id: tuple(used[column].index(combo[part.trait]) for column, part in enumerate(order.parts))
            for token_id, combo in combos.items()
        },
        {token_id: position for position, token_id in enumerate(whole)},
        config.pixels.size,
    )


def _layered(
    tables: list[TraitTable], art: Layers, order: DrawOrder, collection: CollectionFolder, masters: dict[int, np.ndarray]
) -> dict[int, Combo]:
    """The tokens stored as records (token id → trait set): drawn exactly by their layers, in the default order."""
    layered = {}
    for token in collection.tokens:
        combo = combo_of(tables, token.traits)
        exact = combo is not None and exact_layers(tables, art, token, masters[token.token_id]) is not None
        if exact and order.order_of(combo) == order.default:  # type: ignore[arg-type]
            layered[token.token_id] = combo
    return layered


def _check_record_width(columns: list[str], used: list[list[int]], whole: int, where: str) -> None:
    """Refuse what a record of one byte per column cannot index: 255 layers in one column, or more whole tokens than
    the record's other bytes count."""
    for column, values in zip(columns, used, strict=True):
        if len(values) >= WHOLE:
            raise UserError(f"{where}: {column} has {len(values)} values in use; a token record holds {WHOLE - 1} per trait")
    if whole and (len(columns) < 2 or whole > 256 ** (len(columns) - 1)):
        raise UserError(f"{where}: {whole} tokens stored whole do not fit a record of {len(columns)} byte(s) per token")


def token_records(art: OnchainArt, token_ids: list[int]) -> bytes:
    """One fixed-width record per token, in token order, a byte per trait (CryptoPunks' shape): a layered token's
    layer indices; a whole token's ``0xFF`` then its image's index in the tokens folder, big-endian."""
    width = len(art.traits)
    records = bytearray()
    for token_id in token_ids:
        if token_id in art.whole:
            records += bytes([WHOLE]) + art.whole[token_id].to_bytes(width - 1, "big")
        else:
            records += bytes(art.layered[token_id])
    return bytes(records)


def token_parts(art: OnchainArt, token_id: int) -> list[Part]:
    """The images that draw ``token_id``, bottom first, as a renderer reads them."""
    if token_id in art.whole:
        return [[part for part in art.parts if part.folder == TOKENS][art.whole[token_id]]]
    return [art.layers_of(trait)[index] for trait, index in zip(art.traits, art.layered[token_id], strict=True)]
