"""What a deployed renderer must return, shared by the in-process EVM tests and the deploy tests: every token's
``tokenURI`` decodes to its ``metadata/<id>.json`` (the image aside) and its SVG's pixels equal ``images/<id>.png``."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

RECT = re.compile(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="1" fill="#([0-9a-f]{6})"/>')
SVG_HEAD = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" shape-rendering="crispEdges">'

# call(signature, argument types, arguments, return type) → the decoded value, against the deployed renderer
Call = Callable[[str, list, list, str], object]


def json_of(uri: str) -> dict:
    prefix = "data:application/json;base64,"
    assert uri.startswith(prefix)
    return json.loads(base64.b64decode(uri.removeprefix(prefix)))


def pixels_of(svg: str) -> np.ndarray:
    """The SVG painted exactly as it is drawn: only one-pixel-high opaque rects on a transparent 24×24 canvas."""
    assert svg.startswith(SVG_HEAD) and svg.endswith("</svg>")
    body = svg.removeprefix(SVG_HEAD).removesuffix("</svg>")
    assert RECT.sub("", body) == "", "the SVG holds something other than the renderer's rects"
    canvas = np.zeros((24, 24, 4), np.uint8)
    for x, y, width, colour in RECT.findall(body):
        canvas[int(y), int(x) : int(x) + int(width)] = [*bytes.fromhex(colour), 255]
    return canvas


def assert_token_uris_match(out: Path, call: Call, last: int | None = None, only: set[int] | None = None) -> int:
    """Check every token of the collection folder ``out`` (or the ``last`` few, or those ``only`` names: py-evm draws
    one in ~1 s) through ``call``; returns how many were checked."""
    paths = sorted((out / "metadata").glob("*.json"), key=lambda path: int(path.stem))[-(last or 0) :]
    paths = [path for path in paths if only is None or int(path.stem) in only]
    for path in paths:
        token_id = int(path.stem)
        document = json_of(call("tokenURI(uint256)", ["uint256"], [token_id], "string"))
        image = document.pop("image")
        expected = json.loads(path.read_text())
        expected.pop("image")
        assert document == expected
        assert image.startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode(image.removeprefix("data:image/svg+xml;base64,")).decode()
        master = np.asarray(Image.open(out / "images" / f"{token_id}.png").convert("RGBA")).copy()
        master[master[..., 3] == 0] = 0
        assert np.array_equal(pixels_of(svg), master), f"token {token_id}'s SVG differs from its PNG"
    return len(paths)
