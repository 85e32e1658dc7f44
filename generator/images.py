"""What Pillow raises on a damaged image file, in one place so every reader of a creator's images catches the same set.

Flipping each byte of a 24×24 master in turn and decoding it gave ``OSError`` (truncated, a
broken or unrecognised zlib stream), ``UnidentifiedImageError`` (an ``OSError``: a damaged
header) and, once, ``SyntaxError`` ("broken PNG file"), which ``except OSError`` misses.
``ValueError`` and ``DecompressionBombError`` (a header claiming a huge image) complete the set.
"""

from __future__ import annotations

from PIL import Image

IMAGE_ERRORS: tuple[type[Exception], ...] = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)
