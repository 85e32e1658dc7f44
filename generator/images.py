"""Image files as punkgen reads and writes them: one PNG encoder, the suffixes each reader accepts, and the errors
Pillow raises on a damaged file, in one place so every reader of a creator's images catches the same set.

Flipping each byte of a 24×24 master in turn and decoding it gave ``OSError`` (truncated, a
broken or unrecognised zlib stream), ``UnidentifiedImageError`` (an ``OSError``: a damaged
header) and, once, ``SyntaxError`` ("broken PNG file"), which ``except OSError`` misses.
``ValueError`` and ``DecompressionBombError`` (a header claiming a huge image) complete the set.
"""

from __future__ import annotations

import io

from PIL import Image

IMAGE_ERRORS: tuple[type[Exception], ...] = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)
PIXEL_ART_SUFFIXES = (".png", ".gif", ".bmp", ".webp")  # lossless: 24×24 originals, palettes are read from these
RENDER_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")  # what a UI saves a render as (and kohya trains from)


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes with Pillow's defaults: the same image gives the same bytes, which the manifest's sha256 relies on."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
