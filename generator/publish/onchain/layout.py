"""What is stored on chain: each used trait value's layer once, each layered token as trait indices, the rest whole.

A token is layered exactly when the Ordinals export says so (:func:`~generator.publish.ordinals.layers.exact_layers`:
its master is its traits' layers composed, every layer pixel opaque or transparent). A layered token
is one index byte per trait (the position of its value among that trait's stored layers, empty layers
included so every token has the same length: CryptoPunks' fixed-width record); any other token (a
diffusion or import render, a ``replace``d token, a 1/1) is its own image in the ``tokens`` folder.
Layers come in trait order then table order, whole tokens after them in token order: that order fixes
the palette's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generator.config import Config
from generator.curate.finished import CollectionFolder, read_master
from generator.errors import Arg, UserError
from generator.files import slugify
from generator.plan.traits import TraitTable, combo_of, load_traits
from generator.publish.onchain.nouns import Part, encode_parts
from generator.publish.ordinals.layers import exact_layers
from generator.render.layers import drawn_layers

TOKENS = "tokens"  # the image-data.json folder of tokens stored whole
WHOLE = 0xFF  # a token record's first byte when the token is stored whole: no trait may store 255 layers


@dataclass(frozen=True)
class OnchainArt:
    palette: list[str]  # index 0 is '' (transparent)
    parts: list[Part]  # layers (trait order, table order), then whole tokens (token order)
    traits: list[str]  # the trait keys, in draw order: the layer folders
    layered: dict[int, tuple[int, ...]]  # token id → per trait, the index of its value among that trait's layers
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
    art = drawn_layers(config, tables)
    masters = {token.token_id: np.asarray(read_master(token.master).convert("RGBA")) for token in collection.tokens}
    combos = {
        token.token_id: combo_of(tables, token.traits)
        for token in collection.tokens
        if art is not None and exact_layers(tables, art, token, masters[token.token_id]) is not None
    }
    used = [sorted({combo[trait] for combo in combos.values()}) for trait in range(len(tables))]
    images = [
        (table.key, f"{slugify(table.key) or trait}-{slugify(table.values[value].name) or value}", art.stacks[trait][value])
        for trait, table in enumerate(tables)
        for value in used[trait]
    ]
    whole = [token.token_id for token in collection.tokens if token.token_id not in combos]
    images += [(TOKENS, f"token-{token_id}", masters[token_id]) for token_id in whole]
    where = f"{collection.folder} ({Arg.ONCHAIN})"
    _check_record_width(tables, used, len(whole), where)
    palette, parts = encode_parts(images, where)
    return OnchainArt(
        palette,
        parts,
        [table.key for table in tables],
        {token_id: tuple(used[t].index(v) for t, v in enumerate(combo)) for token_id, combo in combos.items()},
        {token_id: position for position, token_id in enumerate(whole)},
        config.pixels.size,
    )


def _check_record_width(tables: list[TraitTable], used: list[list[int]], whole: int, where: str) -> None:
    """Refuse what a record of one byte per trait cannot index: 255 layers of one trait, or more whole tokens than
    the record's other bytes count."""
    for table, values in zip(tables, used, strict=True):
        if len(values) >= WHOLE:
            raise UserError(f"{where}: {table.path} has {len(values)} values in use; a token record holds {WHOLE - 1} per trait")
    if whole and (len(tables) < 2 or whole > 256 ** (len(tables) - 1)):
        raise UserError(f"{where}: {whole} tokens stored whole do not fit a record of {len(tables)} byte(s) per token")


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
