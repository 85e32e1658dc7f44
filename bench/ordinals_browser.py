"""Token SVGs as a browser shows them on an ord explorer: ``/content/<id>`` served on 127.0.0.1 from the inscribed
files, a page of ``<iframe>``s (an SVG in an ``<img>`` may load nothing, so explorers and marketplaces frame it),
one headless Chromium screenshot, and each token's cell cut out of it. Shared by tests/test_ordinals_browser.py and
bench/ordinals.py."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
from chromium import chromium
from PIL import Image

TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".json": "application/json", ".html": "text/html"}


class Explorer(http.server.BaseHTTPRequestHandler):
    """``/content/<id>`` → the inscribed file, with its content type; ``/<page>.html`` → a test page."""

    def __init__(self, *args, files: dict[str, Path], **kwargs) -> None:  # noqa: ANN002, ANN003 - the handler's own
        self.files = files
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.files.get(self.path.removeprefix("/content/") if self.path.startswith("/content/") else self.path)
        if path is None:
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", TYPES[path.suffix])
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        """Quiet: the test reports what matters."""


@contextmanager
def explorer(files: dict[str, Path]) -> Iterator[str]:
    """Serve ``files`` (inscription id or ``/page.html`` → file) on 127.0.0.1; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Explorer, files=files))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def grid_page(token_ids: list[str], scale: int, columns: int) -> tuple[str, list[tuple[int, int]]]:
    """A page framing each token at ``scale``× in a grid on a magenta ground (a transparent pixel shows);
    returns it and each cell's top-left corner."""
    side = 24 * scale
    corners = [((n % columns) * side, (n // columns) * side) for n in range(len(token_ids))]
    frames = "".join(
        f'<iframe src="/content/{token_id}" style="left:{x}px;top:{y}px" scrolling="no"></iframe>'
        for token_id, (x, y) in zip(token_ids, corners, strict=True)
    )
    style = (
        f"body{{margin:0;background:#f0f}}iframe{{position:absolute;border:0;width:{side}px;height:{side}px;"
        "display:block;overflow:hidden}"
    )
    return f"<!doctype html><html><head><style>{style}</style></head><body>{frames}</body></html>", corners


def cells(screenshot: Path, corners: list[tuple[int, int]], scale: int) -> list[np.ndarray]:
    with Image.open(screenshot) as shot:
        pixels = np.asarray(shot.convert("RGB"))
    side = 24 * scale
    return [pixels[y : y + side, x : x + side] for x, y in corners]


def upscaled(master: Path, scale: int) -> np.ndarray:
    with Image.open(master) as image:
        pixels = np.asarray(image.convert("RGB"))
    return pixels.repeat(scale, 0).repeat(scale, 1)


def rendered(files: dict[str, Path], token_ids: list[str], scale: int, columns: int, workdir: Path) -> list[np.ndarray]:
    """Each token of ``token_ids`` as Chromium draws it at ``scale``× from ``files`` (id → inscribed file) served as
    ``/content/<id>``: one page, one screenshot, one RGB cell per token, in order."""
    page, corners = grid_page(token_ids, scale, columns)
    (workdir / "grid.html").write_text(page)
    shot = workdir / "shot.png"
    rows = -(-len(token_ids) // columns)
    with explorer({**files, "/grid.html": workdir / "grid.html"}) as url:
        chromium(
            workdir,
            f"{url}/grid.html",
            f"--screenshot={shot}",
            f"--window-size={columns * 24 * scale},{rows * 24 * scale}",
            "--force-device-scale-factor=1",
            "--hide-scrollbars",
        )
    return cells(shot, corners, scale)
