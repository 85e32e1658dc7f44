"""``index.html``: one static page that shows every token with its traits and rarity rank.

No server, no CDN, no build step: the page is ``generator/publish/templates/gallery.html`` with the
collection's data inlined as JSON, and it shows the 24×24 masters from ``images/`` beside it,
scaled in the browser with ``image-rendering: pixelated``. Opening the file from disk is enough.
Filters (one per trait, with counts), sorting by rank and the current view live in the address
(``index.html#sort=rank&Hair=Hoodie``), so a filtered view can be bookmarked or shared.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from generator.publish.rarity import Attributes, TokenRarity

Items = Mapping[int, int]  # after a reveal: token id → the generated item (its master) it shows
Notes = Mapping[int, tuple[int, str]]  # token id → (renders it took, "rerolled" | "replaced" | "1/1" | "")


@dataclass(frozen=True)
class Curation:
    """What the page needs to help curate: each token's story, and the start of the reroll command for a selection."""

    notes: Notes
    reroll: tuple[
        str, str
    ]  # ("punkgen reroll output/bespoke-punks", "--config traits/collection.toml"): the chosen ids go between


def gallery_html(
    name: str,
    description: str,
    attributes: Mapping[int, Attributes],
    ranks: Sequence[TokenRarity],
    items: Items | None = None,
    curation: Curation | None = None,
    animated: frozenset[int] = frozenset(),
) -> str:
    template = resources.files("generator.publish.templates").joinpath("gallery.html").read_text(encoding="utf-8")
    page = template.replace("{{title}}", html.escape(name)).replace("{{description}}", html.escape(description))
    return page.replace("{{data}}", _script_json(gallery_data(name, attributes, ranks, items, curation, animated)))


def gallery_data(
    name: str,
    attributes: Mapping[int, Attributes],
    ranks: Sequence[TokenRarity],
    items: Items | None = None,
    curation: Curation | None = None,
    animated: frozenset[int] = frozenset(),
) -> dict[str, object]:
    """Compact columns: each distinct value once per trait, each token as ``[id, rank, score, unique, value indices]``,
    plus the master's item id when a reveal shows another one (the page loads ``images/<item>.png``).

    For 10,000 tokens, plain objects with their attribute lists were 3.1 MB of inline JSON; this is 0.38 MB.
    """
    traits = list(dict.fromkeys(a["trait_type"] for attrs in attributes.values() for a in attrs))
    values: list[list[str]] = [
        sorted({a["value"] for attrs in attributes.values() for a in attrs if a["trait_type"] == t}) for t in traits
    ]
    index = [{value: i for i, value in enumerate(column)} for column in values]
    by_id = {token.token_id: token for token in ranks}
    tokens = []
    for token_id in sorted(attributes):
        own = {a["trait_type"]: a["value"] for a in attributes[token_id]}
        picks = [index[t][own[trait]] if trait in own else -1 for t, trait in enumerate(traits)]
        rarity = by_id[token_id]
        row = [token_id, rarity.rank, round(rarity.score, 6), rarity.unique_traits, picks]
        if items and items[token_id] != token_id:
            row.append(items[token_id])
        tokens.append(row)
    data: dict[str, object] = {"name": name, "total": len(tokens), "traits": traits, "values": values, "tokens": tokens}
    if curation is not None:  # only tokens with a story: {id: [renders, mark]}
        data["notes"] = {str(token_id): list(note) for token_id, note in sorted(curation.notes.items())}
        data["reroll"] = list(curation.reroll)
    if animated:  # the masters whose animations/<id>.gif the page plays instead of the still; absent for stills
        data["animated"] = sorted(animated)
    return data


def _script_json(data: object) -> str:
    """JSON that cannot close its ``<script>`` element: ``<``, ``>`` and ``&`` become JSON escapes."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
