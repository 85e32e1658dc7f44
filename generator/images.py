"""Images as punkgen reads and writes them: one PNG encoder, the suffixes each reader accepts, the errors Pillow
raises on a damaged file (in one place so every reader of a creator's images catches the same set), colours as
integer codes (one number an RGB triple, so unique and compare run on 1-D arrays), and hand-made token art read in (a
replacement, a 1/1): the collection's S×S, or an exact integer NEAREST upscale of it (every k×k block one colour),
which is reduced; opaque, as every token is. Pixel art, so nothing is recovered.

Flipping each byte of a 24×24 master in turn and decoding it gave ``OSError`` (truncated, a
broken or unrecognised zlib stream), ``UnidentifiedImageError`` (an ``OSError``: a damaged
header) and, once, ``SyntaxError`` ("broken PNG file"), which ``except OSError`` misses.
``ValueError`` and ``DecompressionBombError`` (a header claiming a huge image) complete the set, and ``TypeError``:
flipping bytes of a TIFF gave "Missing dimensions" when its frames were counted.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

from generator.errors import UserError
from generator.files import IMAGE_LIMIT, open_limited, read_limited

# What Pillow raises for a file that is not a readable image: a truncated or bit-flipped GIF ends in IndexError or
# struct.error while its frames are read, beside the usual OSError/SyntaxError
IMAGE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    EOFError,
    struct.error,
    Image.DecompressionBombError,
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # then IHDR: length, type, width, height, and byte 24 the bit depth
EIGHT_BIT_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA")  # convert("RGBA") keeps every one of their colours
WIDE_GREY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # how Pillow opens a 16-bit greyscale PNG or TIFF
MAX_HANDMADE_SCALE = 128  # a 24×24 token upscaled to 3072×3072: far beyond any export, and checked before decoding
PIXEL_ART_SUFFIXES = (".png", ".gif", ".bmp", ".webp")  # lossless: 24×24 originals, palettes are read from these
_PYTHON_OBJECT = re.compile(
    r"\s*<[^<>]*(?: object at 0x| name=)[^<>]*>"
)  # <_io.BytesIO object at 0x…>, <_io.BufferedReader name=3>
RENDER_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")  # what a UI saves a render as (and kohya trains from)


def encode_png(image: Image.Image, text: dict[str, str] | None = None, level: int | None = None) -> bytes:
    """PNG bytes with Pillow's defaults: the same image gives the same bytes, which the manifest's sha256 relies on.
    ``text``: chunks such as the ``parameters`` a web UI reads a render's prompt and seed from; ``level``: a zlib
    level for a large report that no hash records (level 3 halves a 10,000-token contact sheet's 0.33 s, +6 %)."""
    info = None
    if text:
        info = PngInfo()
        for key, value in text.items():
            info.add_text(key, value)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, **({} if level is None else {"compress_level": level}))
    return buffer.getvalue()


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (or RGBA) pixels as one uint32 each: 1-D unique and compare instead of row-wise (5× faster on tiles,
    10× on a published upscale). Built in place on one plane: widening every channel first cost 7× as much on a
    10,000-token contact sheet."""
    packed = rgb[..., 0].astype(np.uint32)
    for channel in range(1, rgb.shape[-1]):
        packed <<= 8
        packed |= rgb[..., channel]
    return packed


def unpack_rgb(codes: np.ndarray) -> np.ndarray:
    """:func:`pack_rgb`'s codes back to (…, 3) uint8 RGB."""
    return np.stack([codes >> 16, (codes >> 8) & 255, codes & 255], axis=-1).astype(np.uint8)


def unique_rgb(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct colours of (…, 3) uint8 pixels in (r, g, b) order, and how many pixels have each: the order and
    counts of ``np.unique(axis=0)``, without the row-wise sort (and the 25 ms import of ``numpy.ma`` it brings)."""
    codes, counts = np.unique(pack_rgb(rgb), return_counts=True)
    return unpack_rgb(codes), counts


@dataclass(frozen=True)
class Handmade:
    path: Path
    pixels: np.ndarray  # (S, S, 3) uint8
    scale: int  # the NEAREST upscale it was reduced from (1: it was S×S)
    source_sha256: str  # of the file as given
    png: bytes  # the S×S token as punkgen writes it

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.png).hexdigest()


@contextmanager
def open_user_image(path: Path, missing: str, limit: int = IMAGE_LIMIT) -> Iterator[Image.Image]:
    """``Image.open`` of a regular file of at most ``limit`` bytes (:func:`generator.files.open_limited`): a FIFO among
    a creator's images never blocks, a link to /dev/zero is never read, each refused in one line; ``missing`` is the fix
    for a file that is not there. Pillow's own errors (:data:`IMAGE_ERRORS`) are the caller's, who knows the fix."""
    with open_limited(path, limit, missing) as stream, Image.open(stream) as image:
        yield image


def read_user_rgba(path: Path, missing: str, limit: int, exact: bool) -> np.ndarray:
    """``path``'s (H, W, 4) uint8 pixels as :func:`rgba_pixels` reads them (one frame; 16-bit greyscale scaled, never
    clipped to black and white), from one bounded read. Pillow's own errors are the caller's, as for :func:`open_user_image`."""
    data = read_limited(path, limit, missing)
    with Image.open(io.BytesIO(data)) as image:
        return rgba_pixels(path, image, exact=data if exact else None)


def image_problem(error: Exception) -> str:
    """What Pillow found wrong, fit for a message: its text names the Python object it read from
    (``cannot identify image file <_io.BytesIO object at 0x7f…>``), which tells a creator nothing."""
    if isinstance(error, UnidentifiedImageError):
        return "not an image format punkgen reads"
    return _PYTHON_OBJECT.sub("", str(error)).strip() or type(error).__name__


def read_handmade(path: Path, size: int, what: str) -> Handmade:
    """``path`` as an S×S token; ``what`` names the setting or :class:`~generator.errors.Arg` it came from, for the one-line errors."""
    data = read_limited(path, IMAGE_LIMIT, f"check {what}")
    pixels, scale = _reduced(path, data, size)
    return Handmade(path, pixels, scale, hashlib.sha256(data).hexdigest(), encode_png(Image.fromarray(pixels)))


def _reduced(path: Path, data: bytes, size: int) -> tuple[np.ndarray, int]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            scale = width // size
            if width != height or width % size or not 0 < scale <= MAX_HANDMADE_SCALE:
                raise UserError(
                    f"{path}: {width}×{height} is neither {size}×{size} nor an exact upscale of it "
                    f"(k·{size} square, k up to {MAX_HANDMADE_SCALE})"
                )
            rgba = rgba_pixels(path, image, exact=data)
    except IMAGE_ERRORS:
        raise UserError(f"{path}: not a readable image; export it as a PNG") from None
    blocks = rgba.reshape(size, scale, size, scale, 4)
    if not (blocks == blocks[:, :1, :, :1]).all():
        raise UserError(
            f"{path}: {width}×{height} is not an exact {scale}× NEAREST upscale (some {scale}×{scale} blocks mix colours)"
        )
    pixels = blocks[:, 0, :, 0]
    if pixels[..., 3].min() < 255:
        raise UserError(f"{path}: has transparent pixels; a token is opaque, so fill its background")
    return np.ascontiguousarray(pixels[..., :3]), scale


def rgba_pixels(path: Path, image: Image.Image, exact: bytes | None = None) -> np.ndarray:
    """``image``'s (H, W, 4) uint8 pixels, or a one-line refusal of what 8-bit RGBA cannot stand for.

    ``convert("RGBA")`` would turn a 16-bit greyscale image black and white (it clips at 255), pick the first frame of
    an animation and approximate CMYK, all without a word. So: one frame only; the 8-bit modes as they are; 16-bit
    greyscale scaled to 8 bits, and where ``exact`` (hand-made art, whose colours are the token's) only when every
    value is an 8-bit one times 257; 16 bits per channel in colour is refused where ``exact`` (Pillow keeps only the
    high bytes, so an exact mapping cannot be proven); anything else (CMYK, floats, Lab…) is refused.
    ``exact``: the file's bytes where its colours must be kept exactly (its PNG header tells the bit depth Pillow does
    not report); None for a render, whose colours the pixel steps estimate anyway.
    """
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        raise UserError(f"{path}: is animated ({frames} frames); give one still image (export a single frame as PNG)")
    if image.mode in WIDE_GREY_MODES:
        return _grey16_as_rgba(path, np.asarray(image), exact is not None)
    if image.mode not in EIGHT_BIT_MODES:
        raise UserError(
            f"{path}: its {image.mode} pixels have no exact 8-bit RGB equivalent; export it as an 8-bit RGB or RGBA PNG"
        )
    if exact is not None and exact.startswith(PNG_SIGNATURE) and exact[24:25] == b"\x10":
        raise UserError(
            f"{path}: has 16 bits per channel, which a token's 8-bit colours cannot hold exactly; export it with 8 bits per channel"
        )
    return np.asarray(image.convert("RGBA"))


def _grey16_as_rgba(path: Path, values: np.ndarray, exact: bool) -> np.ndarray:
    """16-bit greyscale (0–65535) as 8-bit RGBA: value / 257, which is exact for an 8-bit image saved as 16 bits."""
    values = values.astype(np.int64)
    if values.min(initial=0) < 0 or values.max(initial=0) > 65535:
        raise UserError(f"{path}: its greyscale values go beyond 16 bits; export it as an 8-bit RGB or RGBA PNG")
    if exact and (values % 257).any():
        raise UserError(
            f"{path}: is 16-bit greyscale with shades between 8-bit ones, which a token's colours cannot hold exactly; "
            "export it with 8 bits per channel"
        )
    grey = np.rint(values / 257).astype(np.uint8)
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])
