"""Pre-reveal: the one placeholder every token shows until the reveal (``export --placeholder IMAGE``).

An ERC-721 drop's contract returns one "unrevealed" URI for every token until the reveal; Candy
Machine does the same with ``hiddenSettings``. ``export/hidden/`` holds what that URI serves:
the placeholder image as given (``hidden.<ext>``) and one metadata document, ``hidden.json``.
Its ``image`` is ``ipfs://<the placeholder file's own CID>``: computed here, it stays right
wherever ``hidden/`` is uploaded to IPFS (a folder holds its files' blocks), and it points at
neither ``images/`` nor ``metadata/``, which need not be public before the reveal.

``hidden.json``'s shape, and any file beside ``hidden/`` that points at it (Candy Machine's
``hiddenSettings.json``), are the export format's (:mod:`generator.publish.formats`).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from generator.errors import Arg, UserError
from generator.files import IMAGE_LIMIT, MISSING, not_a_file, read_limited
from generator.images import IMAGE_ERRORS, image_problem
from generator.publish.unixfs import cid_text, file_blocks

HIDDEN = "hidden"  # export/hidden/
HIDDEN_DOCUMENT = "hidden.json"
_FORMATS = {
    "PNG": ("png", "image/png"),
    "GIF": ("gif", "image/gif"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}


class Placeholder:
    """The placeholder image, read and checked before the export writes anything."""

    def __init__(self, path: Path) -> None:
        self.path = path
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
        raise UserError(f"{Arg.PLACEHOLDER} {path}: no such file; {fix}")
    if problem:  # a FIFO would block the read
        raise UserError(f"{Arg.PLACEHOLDER} {path} is {problem}; {fix}")
    data = read_limited(path, IMAGE_LIMIT, fix)  # bounded: the bytes decoded are the bytes published
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            kind = image.format
    except IMAGE_ERRORS as error:
        raise UserError(f"{Arg.PLACEHOLDER} {path} is not a readable image ({image_problem(error)}); {fix}") from None
    if kind not in _FORMATS:
        raise UserError(f"{Arg.PLACEHOLDER} {path} is a {kind} image; marketplaces show PNG, GIF, JPEG and WebP: {fix}")
    return data, *_FORMATS[kind]


def write_hidden(staging: Path, document: dict[str, Any], placeholder: Placeholder, encoded: bytes) -> Path:
    folder = staging / HIDDEN
    folder.mkdir()
    (folder / placeholder.file).write_bytes(placeholder.data)
    (folder / HIDDEN_DOCUMENT).write_bytes(encoded)
    return folder
