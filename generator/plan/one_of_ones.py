"""1/1s: hand-made legendaries from ``[[one_of_one]]``, placed among the collection's token ids.

They count towards N: the plan draws N − K trait sets for the other ids. A 1/1 with a
``token_id`` takes that id (two on one id, or an id outside the collection, is an error); the
others take positions drawn from the collection seed among the free ids, so they spread over the
range and the same config always puts them in the same places. Their metadata is built from
their free-text attributes (in the order written, trait names spelled as the tables' and ``None``
left out: :func:`canonical_attributes`) and checked against the token schema like any token's;
rarity treats them like any token, and a value nobody else has ranks them first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from generator.config import Config, OneOfOne
from generator.errors import UserError
from generator.images import Handmade, read_handmade
from generator.plan.traits import NONE_VALUE, trait_type
from generator.schemas import validate


@dataclass(frozen=True)
class PlacedOneOfOne:
    token_id: int
    spec: OneOfOne
    art: Handmade
    attributes: tuple[tuple[str, str], ...]  # (trait_type, value) as published: see canonical_attributes


def place_one_of_ones(config: Config) -> dict[int, PlacedOneOfOne]:
    """Every 1/1 at its token id, its image read and checked; raises :class:`UserError` naming the entry."""
    c = config.collection
    ids = range(c.first_token_id, c.first_token_id + c.size)
    specs = config.one_of_one
    if not specs:
        return {}
    if len(specs) > c.size:
        raise UserError(f"{config.path}: {len(specs)} [[one_of_one]] entries for a collection of {c.size}; raise N")
    fixed: dict[int, int] = {}
    for number, spec in enumerate(specs, start=1):
        if spec.token_id is None:
            continue
        where = f"{config.path}: [[one_of_one]] #{number} token_id {spec.token_id}"
        if spec.token_id not in ids:
            raise UserError(f"{where} is outside the collection's ids {ids[0]}–{ids[-1]}; pick one inside, or leave it out")
        if spec.token_id in fixed:
            raise UserError(f"{where} is also #{fixed[spec.token_id]}'s; give each 1/1 its own id")
        fixed[spec.token_id] = number
    wanted = len(specs) - len(fixed)  # sampled from the range itself: a billion-token range is never listed
    sample = random.Random(f"punkgen-one-of-one:{c.seed}").sample(ids, wanted + len(fixed))
    drawn = iter(sorted([token_id for token_id in sample if token_id not in fixed][:wanted]))
    placed, shown_by = {}, {}
    for number, spec in enumerate(specs, start=1):
        token_id = spec.token_id if spec.token_id is not None else next(drawn)
        image = config.resolve(spec.image)
        assert image is not None  # the schema requires a non-empty image
        art = read_handmade(image, config.pixels.size, f"[[one_of_one]] #{number} image in {config.path}")
        if art.sha256 in shown_by:
            raise UserError(
                f"{config.path}: [[one_of_one]] #{number} ({spec.image}) shows the same pixels as #{shown_by[art.sha256]}; "
                "every token must differ"
            )
        shown_by[art.sha256] = number
        placed[token_id] = PlacedOneOfOne(token_id, spec, art, canonical_attributes(config, spec, number))
    return dict(sorted(placed.items()))


def one_of_one_metadata(config: Config, one: PlacedOneOfOne) -> dict[str, Any]:
    """The 1/1's ERC-721 document: the fields every token has, its own name if given, its attributes as written."""
    c = config.collection
    document: dict[str, Any] = {
        "name": one.spec.name or f"{c.name} #{one.token_id}",
        "description": c.description,
        "image": f"{config.metadata.base_uri}{one.token_id}{config.metadata.image_extension}",
    }
    if c.external_url:
        document["external_url"] = c.external_url
    document["attributes"] = [{"trait_type": key, "value": value} for key, value in one.attributes]
    validate(document, "token.schema.json")
    return document


def canonical_attributes(config: Config, spec: OneOfOne, number: int) -> tuple[tuple[str, str], ...]:
    """A 1/1's attributes as the collection's tokens spell them, in the order written.

    Marketplaces and rarity tools count every distinct ``trait_type`` as a column, so ``hat`` or ``Hat `` beside the
    tables' ``Hat`` would be a column of its own holding one token; and a generated token leaves a ``None`` value out,
    so a 1/1's ``"None"`` would be the only one counted. So a name that matches a trait (its attribute name or table
    key) up to case and spaces takes the trait's spelling, other names and every value lose surrounding spaces, a
    ``None`` value (any case) is left out, and two names for one trait are refused, naming both.
    """
    known = {_loose(name): trait_type(config, key) for key in config.traits.keys for name in (key, trait_type(config, key))}
    written: dict[str, tuple[str, str]] = {}  # loose name → (the key as written, the trait_type it became)
    attributes = []
    for key, value in spec.attributes.items():
        name = known.get(_loose(key), " ".join(key.split()))
        if _loose(name) in written:
            first, trait = written[_loose(name)]
            raise UserError(
                f"{config.path}: [[one_of_one]] #{number} attributes {first!r} and {key!r} both name the trait {trait!r}; "
                "keep one of them"
            )
        written[_loose(name)] = (key, name)
        if value.strip().casefold() != NONE_VALUE.casefold():
            attributes.append((name, value.strip()))
    return tuple(attributes)


def _loose(name: str) -> str:
    """``Hat``, ``hat `` and ``HAT`` alike; ``eye_color`` and ``Eye Color`` too."""
    return " ".join(name.replace("_", " ").split()).casefold()
