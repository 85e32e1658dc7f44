"""What the edited tables would make: sample tokens and how the marketplaces would rank the planned collection.

Both come from one fixed-seed plan (:func:`generator.plan.plan.plan_collection` with the collection's seed), so an
edit shows its own effect and nothing else: the samples are the collection's first tokens, drawn by the sprite
layers (for a diffusion or hybrid collection, the sprite sketch it starts from); the rank preview ranks the whole
planned collection (up to :data:`RANKED_TOKENS` tokens, and every 1/1) with OpenRarity and the marketplace methods, from plan to ranks
without rendering a token.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from generator.config import Config
from generator.images import encode_png
from generator.plan.metadata import attributes
from generator.plan.one_of_ones import place_one_of_ones
from generator.plan.plan import PlannedToken, plan_collection
from generator.plan.rules import compile_rules
from generator.plan.traits import TraitTable
from generator.publish.rank_methods import OPENRARITY, chosen_methods, describe, rank_collection
from generator.render.layers import Layers

SAMPLES = 12  # one row of the page; enough that a weight change shows in a face or two
# The most tokens ranked per edit (a larger collection: its first ones, and every 1/1): planning and ranking 10,000
# four ways took 1.3 s an edit on the development machine, 2,000 took 0.25 s, and a collection's top ranks and 1/1s
# show the methods' disagreement as well at 2,000 as at 10,000.
RANKED_TOKENS = 2_000
MOVERS = 8  # tokens listed whose rank moves most between methods


def previews(
    config: Config, tables: list[TraitTable], layers: Layers | None, none_as_value: bool | None, trait_count: bool | None
) -> dict[str, Any]:
    """``samples`` (the first tokens as PNG data URLs, with their traits) and ``ranks`` (the rank preview).

    ``layers``: the sprite layers (:func:`generator.render.layers.drawn_layers`), None where not every value has one."""
    c = config.collection
    one_of_ones = place_one_of_ones(config)  # every 1/1 is ranked, wherever its id falls
    drawn = max(0, min(c.size, RANKED_TOKENS) - len(one_of_ones))
    rules = compile_rules(config.rules, tables)
    planned = plan_collection(tables, rules, drawn, c.seed, config.traits.sampling, c.first_token_id, frozenset(one_of_ones))
    held = {token.token_id: attributes(tables, token.combo) for token in planned}
    held |= {token_id: [{"trait_type": k, "value": v} for k, v in one.attributes] for token_id, one in one_of_ones.items()}
    ranks = _rank_preview(held, sorted(one_of_ones), none_as_value, trait_count)
    moved = {row["token"] for row in ranks["moved"]}
    pictures = _pictures(layers, planned[:SAMPLES] + [token for token in planned if token.token_id in moved])
    for row in ranks["moved"] + ranks["one_of_ones"]:
        row["image"] = pictures.get(row["token"])
    samples = [
        {"token": token.token_id, "image": pictures.get(token.token_id), "traits": held[token.token_id]}
        for token in planned[:SAMPLES]
    ]
    return {"samples": samples, "ranks": ranks, "layers_drawn": layers is not None}


def _pictures(layers: Layers | None, tokens: Sequence[PlannedToken]) -> dict[int, str]:
    """Each token's sprite composite as a PNG data URL (24×24: the page scales it up, pixelated)."""
    if layers is None or not tokens:
        return {}
    pixels = layers.composite(np.array([token.combo for token in tokens]))
    return {token.token_id: _data_url(image) for token, image in zip(tokens, pixels, strict=True)}


def _data_url(pixels: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(encode_png(Image.fromarray(pixels))).decode()


def _rank_preview(
    held: dict[int, list[dict[str, str]]], one_of_ones: list[int], none_as_value: bool | None, trait_count: bool | None
) -> dict[str, Any]:
    """Every method's ranks, the tokens whose rank moves most between them (highest − lowest), and the 1/1s'."""
    openrarity, by_method = rank_collection(held, chosen_methods(none_as_value, trait_count))
    columns = {OPENRARITY: {token.token_id: token.rank for token in openrarity}}
    columns |= {ranked.method.name: ranked.ranks for ranked in by_method}

    def row(token_id: int) -> dict[str, Any]:
        own = {name: ranks[token_id] for name, ranks in columns.items()}
        return {"token": token_id, "ranks": own, "spread": max(own.values()) - min(own.values()), "traits": held[token_id]}

    rows = sorted((row(token_id) for token_id in held), key=lambda r: (-r["spread"], r["token"]))
    return {
        "tokens": len(held),
        "methods": [
            {"name": OPENRARITY, "about": "information content ÷ entropy; Null for a lacking trait, trait count on (OpenSea)"}
        ]
        + [{"name": ranked.method.name, "about": describe(ranked.method)} for ranked in by_method],
        "moved": rows[:MOVERS],
        "one_of_ones": [row(token_id) for token_id in one_of_ones],
    }
