"""Pre-reveal: the one placeholder every token shows until the reveal (``export --placeholder IMAGE``).

An ERC-721 drop's contract returns one "unrevealed" URI for every token until the reveal; Candy
Machine does the same with ``hiddenSettings``. ``export/hidden/`` holds what that URI serves:
the placeholder image as given (``hidden.<ext>``) and one metadata document, ``hidden.json``.
Its ``image`` is ``ipfs://<the placeholder file's own CID>``: computed here, it stays right
wherever ``hidden/`` is uploaded to IPFS (a folder holds its files' blocks), and it points at
neither ``images/`` nor ``metadata/``, which need not be public before the reveal.

For ``--format metaplex``, ``export/hiddenSettings.json`` is the Candy Machine ``hiddenSettings``
object (``name``, ``uri``, ``hash``): ``hash`` is the first 32 hex digits of the provenance hash,
the 32 characters Sugar stores on-chain, so the commitment is visible before the reveal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from generator.config import Config
from generator.curate.finished import MISSING, not_a_file
from generator.errors import UserError
from generator.images import IMAGE_ERRORS
from generator.publish.unixfs import cid_text, file_blocks
from generator.schemas import validate

HIDDEN = "hidden"  # export/hidden/
HIDDEN_DOCUMENT = "hidden.json"
HIDDEN_SETTINGS = "hiddenSettings.json"  # beside assets/, metaplex only
METAPLEX_HASH_CHARS = 32  # Candy Machine's hiddenSettings.hash is [u8; 32]
METAPLEX_NAME_BYTES = 32  # Token Metadata's name limit
_FORMATS = {
    "PNG": ("png", "image/png"),
    "GIF": ("gif", "image/gif"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}


class Placeholder:
    """The placeholder image, read and checked before the export writes anything."""

    def __init__(self, path: Path) -> None:
        self.data, self.extension, self.mime = _read_image(path)
        self.cid = cid_text(file_blocks(self.data)[1].cid)

    @property
    def file(self) -> str:
        return f"{HIDDEN}.{self.extension}"

    @property
    def uri(self) -> str:
        return f"ipfs://{self.cid}"


def _read_image(path: Path) -> tuple[bytes, str, str]:
    fix = "pass a PNG, GIF, JPEG or WebP image"
    if (problem := not_a_file(path)) == MISSING:
        raise UserError(f"--placeholder {path}: no such file; {fix}")
    if problem:  # a FIFO would block the read
        raise UserError(f"--placeholder {path} is {problem}; {fix}")
    try:
        with Image.open(path) as image:
            image.load()
            kind = image.format
    except IMAGE_ERRORS as error:
        raise UserError(f"--placeholder {path} is not a readable image ({error}); {fix}") from None
    if kind not in _FORMATS:
        raise UserError(f"--placeholder {path} is a {kind} image; marketplaces show PNG, GIF, JPEG and WebP: {fix}")
    return path.read_bytes(), *_FORMATS[kind]


def hidden_name(config: Config, limit: int | None = None) -> str:
    """``[export].unrevealed_name``, else ``<collection> — unrevealed``; the collection's name alone where that is over
    ``limit`` bytes (Metaplex's 32)."""
    name = config.export.unrevealed_name or f"{config.collection.name} — unrevealed"
    return name if limit is None or len(name.encode()) <= limit else config.collection.name


def hidden_document(config: Config, placeholder: Placeholder, fmt: str) -> dict[str, Any]:
    """The document every token returns before the reveal; Metaplex's shape (schema-checked) for ``metaplex``."""
    c = config.collection
    if fmt == "metaplex":
        document = {
            "name": hidden_name(config, METAPLEX_NAME_BYTES),
            "symbol": c.symbol,
            "description": c.description,
            "image": placeholder.uri,
            "attributes": [],
            "properties": {"files": [{"uri": placeholder.uri, "type": placeholder.mime}], "category": "image"},
        }
        validate(document, "metaplex.schema.json")
        return document
    return {"name": hidden_name(config), "description": c.description, "image": placeholder.uri}


def write_hidden(staging: Path, document: dict[str, Any], placeholder: Placeholder, encoded: bytes) -> Path:
    folder = staging / HIDDEN
    folder.mkdir()
    (folder / placeholder.file).write_bytes(placeholder.data)
    (folder / HIDDEN_DOCUMENT).write_bytes(encoded)
    return folder


def hidden_settings(config: Config, uri: str, provenance: str) -> dict[str, Any]:
    """Candy Machine ``hiddenSettings``: Sugar numbers the names itself (``$ID+1$`` counts from 1, ``$ID$`` from 0)."""
    first = config.collection.first_token_id
    number = {0: " #$ID$", 1: " #$ID+1$"}.get(first, "")
    return {"name": f"{config.collection.name}{number}", "uri": uri, "hash": provenance[:METAPLEX_HASH_CHARS]}
