"""The reveal with a starting index (the BAYC method), and what anyone needs to check it.

Before the sale, the provenance hash commits to the images in generated order (item 1, 2, …).
After mint-out a starting index ``K`` is drawn on-chain (a block hash modulo ``N``); token ``t``
then shows item ``(t − first + K) mod N + first``. Neither the creator nor a minter knew ``K``
when tokens were bought, so nobody could choose a rare item, and the committed hash lets anyone
check that the published images are the committed ones in the committed order.

``export --starting-index K`` publishes the revealed collection: token ``t``'s image, traits and
metadata are those of its item (its ``name`` keeps ``#t``); ``provenance.txt`` keeps the hash
over the items in generated order and states ``K`` and the rule, with each item's published file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from generator.config import Config
from generator.curate.finished import CollectionFolder, Token
from generator.errors import Arg, UserError


@dataclass(frozen=True)
class Reveal:
    starting_index: int  # K, drawn on-chain after mint-out
    first: int  # the first token id
    size: int  # N

    def item(self, token_id: int) -> int:
        """The generated item token ``token_id`` shows: ``(t − first + K) mod N + first``."""
        return (token_id - self.first + self.starting_index) % self.size + self.first

    def token(self, item_id: int) -> int:
        """The token that shows item ``item_id`` (the inverse of :meth:`item`)."""
        return (item_id - self.first - self.starting_index) % self.size + self.first


def check_starting_index(starting_index: int, size: int, first: int) -> Reveal:
    if not 0 <= starting_index < size:
        raise UserError(
            f"{Arg.STARTING_INDEX} {starting_index}: the starting index is drawn modulo the collection size, "
            f"so it must be 0 to {size - 1} for {size} tokens"
        )
    return Reveal(starting_index, first, size)


def revealed(collection: CollectionFolder, reveal: Reveal, config: Config) -> CollectionFolder:
    """The collection as tokens show it after the reveal: token ``t`` carries item ``reveal.item(t)``'s files."""
    items = {token.token_id: token for token in collection.tokens}
    tokens = [_shown_by(token.token_id, items[reveal.item(token.token_id)], config) for token in collection.tokens]
    return CollectionFolder(collection.folder, tokens)


def _shown_by(token_id: int, item: Token, config: Config) -> Token:
    """Item ``item`` as token ``token_id``: the generated name ``<collection> #<item>`` becomes ``#<token>``;
    a 1/1's own name stays."""
    document = dict(item.document)
    if document.get("name") == f"{config.collection.name} #{item.token_id}":
        document["name"] = f"{config.collection.name} #{token_id}"
    return replace(item, token_id=token_id, document=document)


def in_generated_order(reveal: Reveal, values: Sequence[str]) -> list[str]:
    """``values`` listed per token (token order) re-listed per item (generated order)."""
    return [values[reveal.token(item) - reveal.first] for item in range(reveal.first, reveal.first + reveal.size)]


def provenance_lines(reveal: Reveal) -> list[str]:
    """The lines ``provenance.txt`` adds so a reader can recompute the hash and check every token."""
    k, first, n = reveal.starting_index, reveal.first, reveal.size
    return [
        f"starting index: {k}",
        f"reveal: token t shows item (t - {first} + {k}) mod {n} + {first}; the hash above is over the items in",
        "        generated order (item_id below), each digest taken from the file its token publishes.",
    ]
