"""The one protocol every export target follows: what it publishes, where the files go, and which export options
mean something for it.

:func:`generator.publish.export.export_collection` runs one flow for every format: check everything, stage, publish
each token's image (a NEAREST upscale) and document, then the collection documents, the placeholder, provenance and
rarity, and swap the staging folder in. A format supplies only what differs between targets, so a new target is one
module (a subclass of :class:`ExportFormat`), its schema and a line in the registry (:mod:`generator.publish.formats`),
and nothing in the flow compares format names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from generator.errors import Arg, UserError
from generator.schemas import PACKAGE

if TYPE_CHECKING:
    from generator.config import Config
    from generator.curate.finished import CollectionFolder, Token
    from generator.publish.hidden import Placeholder

Documents = dict[str, dict[str, Any]]  # a path inside export/ → the JSON document written there


class ExportFormat(ABC):
    """One export target. Paths are relative to ``export/``; documents are written as indented UTF-8 JSON.

    ``--base-uri`` (or ``[metadata].base_uri``) is where the token images will be served: a token's image link is
    that URI plus its image's file name. ``--car`` packs ``images/`` and ``metadata/`` and links every token to the
    images' CID, so it applies only to a format that writes those two folders and does not list it in
    :attr:`refusals`. ``--starting-index`` publishes the revealed order and ``--placeholder`` writes ``hidden/``
    (the image and :meth:`hidden_document`) for every format that does not refuse them.
    """

    name: ClassVar[str]  # the --format value
    summary: ClassVar[str]  # what it writes, for --format's help
    token_schema: ClassVar[str | None] = None  # each token document is checked against it as it is written
    schema_package: ClassVar[str] = PACKAGE  # where token_schema lives
    refusals: ClassVar[Mapping[Arg, str]] = {}  # an export option that does not apply → why, and what to do instead
    links_minted: ClassVar[bool] = True  # False: an upload tool rewrites the links, so a placeholder base URI is fine
    animates: ClassVar[bool] = False  # True: an animated token's GIF is published beside its image, and linked

    @abstractmethod
    def token_files(self, position: int, token_id: int, json_extension: bool) -> tuple[str, str]:
        """Where the token at ``position`` (0-based, in published order) puts its image and its document."""

    @abstractmethod
    def token_document(self, config: Config, token: Token, image_uri: str) -> dict[str, Any]:
        """The published document of ``token`` (its ERC-721 draft ``metadata/<id>.json`` is ``token.document``)."""

    @abstractmethod
    def hidden_document(self, config: Config, placeholder: Placeholder) -> dict[str, Any]:
        """``hidden/hidden.json``: what every token shows before the reveal."""

    def collection_documents(self, config: Config, collection: CollectionFolder, uri: str) -> Documents:
        """The collection-level documents; with ``--car`` written inside ``metadata/``, linked to the images' CID.

        Built (and checked) before anything is written, so a value a target cannot take is refused first."""
        return {}

    def hidden_extras(self, config: Config, hidden_uri: str, provenance: str) -> Documents:
        """Documents beside ``hidden/`` that point at it (``hidden_uri``: its ``hidden.json``)."""
        return {}

    def extra_files(self, collection: CollectionFolder) -> dict[str, bytes]:
        """Other files the target reads (a mapping from its file numbers to token ids, say)."""
        return {}

    def contract_lines(self, json_extension: bool) -> list[str]:
        """What the creator must set in the contract beyond the printed URIs."""
        return []

    def check_options(self, given: Mapping[Arg, bool]) -> None:
        """Refuse the first option in ``given`` (option → whether it was passed) that does not apply to this format."""
        for flag, passed in given.items():
            if passed and flag in self.refusals:
                raise UserError(f"{flag} with {Arg.FORMAT} {self.name}: {self.refusals[flag]}")


def hidden_name(config: Config, limit: int | None = None) -> str:
    """``[export].unrevealed_name``, else ``<collection> — unrevealed``; the collection's name alone where that is over
    ``limit`` bytes (Metaplex's 32)."""
    name = config.export.unrevealed_name or f"{config.collection.name} — unrevealed"
    return name if limit is None or len(name.encode()) <= limit else config.collection.name
