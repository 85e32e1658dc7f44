"""The studio's HTTP layer: the standard library's ``ThreadingHTTPServer`` on 127.0.0.1, a JSON API and the page.

The standard library is enough: one user, one page, a few small JSON requests per edit, and no dependency to keep
up to date. Since it listens on a port and writes the creator's files, every request, of any method, must pass three checks before
it is read (:meth:`Handler._allowed`): the ``Host`` header names the loopback address and this port (a DNS-rebinding
page cannot), and it carries the session's random token (the URL the CLI opens has it; the page sends it back as a
header). It sends no CORS headers, and it serves only its packaged page and the layer images of the trait folder
that the page shows (not its other files: the folder can be a project's root, beside a ``.env``); a path
that leaves the folder (``..``, an absolute path, a link out) is refused. One studio per folder: the folder's lock
(:func:`generator.run.lock.folder_lock`) is held for the studio's life, so a second one refuses in one line.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from generator.config import load_config
from generator.errors import Arg, UserError
from generator.files import IMAGE_LIMIT, read_limited
from generator.run.lock import folder_lock
from generator.studio.session import Session
from generator.text import parse_json

LOOPBACK = "127.0.0.1"
TOKEN_HEADER = "X-Studio-Token"
MAX_BODY = 1 << 20  # bytes: an edit is a few hundred; a rule body a few lines
STATIC = {"studio.js": "text/javascript", "studio.css": "text/css"}
FOLDER_TYPES = {".png": "image/png"}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the page's URL carries the token
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}


class StudioServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, session: Session, port: int):
        try:
            super().__init__((LOOPBACK, port), Handler)
        except OSError as error:
            raise UserError(
                f"port {port} on {LOOPBACK} cannot be used ({error.strerror}); pick another {Arg.PORT}, or leave it out for any free one"
            ) from None
        self.session = session
        self.token = secrets.token_urlsafe(32)
        names = (LOOPBACK, "localhost")
        # A browser leaves out HTTP's default port: with --port 80 the page's Host is the bare name, and was refused.
        self.hosts = {f"{name}:{self.port}" for name in names} | (set(names) if self.port == 80 else set())
        self.edits = threading.Lock()  # one edit at a time: the session is the folder's one writer

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/?token={self.token}"


class Handler(BaseHTTPRequestHandler):
    server: StudioServer
    server_version, sys_version = "punkgen-studio", ""  # not the Python version, to whoever asks
    # Seconds a connection may take to send its request: one that never finishes (slowloris) holds only its own
    # thread, and only this long.
    timeout = 30

    def parse_request(self) -> bool:
        """http.server's parsing, then the studio's checks (:meth:`_allowed`), before any method is dispatched: a
        method the studio does not answer (PUT, OPTIONS, HEAD, ``FOO``) is refused like any other request."""
        return super().parse_request() and self._allowed()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, an unknown method) as one plain line, with the
        same headers as every other answer, instead of its HTML page; with a status line even to a request too
        broken to name its HTTP version (http.server would answer it as HTTP/0.9: the bare page)."""
        self.close_connection = True
        self.request_version = self.protocol_version
        status = HTTPStatus(code)
        self._send(status, f"{status.value} {message or status.phrase}\n".encode(), "text/plain; charset=utf-8")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        """Quiet: the terminal shows the URL and the one line at the end, not a line per request."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = urlsplit(self.path).path
        if path == "/":
            page = resources.files("generator.studio").joinpath("static/index.html").read_text(encoding="utf-8")
            self._send(HTTPStatus.OK, page.replace("{{TOKEN}}", self.server.token).encode(), "text/html; charset=utf-8")
        elif path.startswith("/static/") and path[len("/static/") :] in STATIC:
            name = path[len("/static/") :]
            self._send(HTTPStatus.OK, resources.files("generator.studio").joinpath(f"static/{name}").read_bytes(), STATIC[name])
        elif path.startswith("/folder/"):
            self._folder_file(unquote(path[len("/folder/") :]))
        elif path == "/api/state":
            self._answer(self.server.session.view)
        elif path == "/api/diff":
            self._answer(lambda: {"diff": self.server.session.diff()})
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        length = self._body_length()
        if length is None:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"a body of at most 1 MiB, with its length\n", "text/plain")
            return
        try:
            body = parse_json(self.rfile.read(length) or b"{}")  # bounded nesting: never the C reader's stack overflow
        except ValueError:
            self._send(HTTPStatus.BAD_REQUEST, b"not JSON\n", "text/plain")
            return
        session = self.server.session
        if path == "/api/edit" and isinstance(body, dict):
            self._answer(lambda: session.edit(body))
        elif path == "/api/reload":
            self._answer(session.reload)
        elif path == "/api/save":
            self._answer(session.save)
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    def _body_length(self) -> int | None:
        """The body's length in bytes (0 without one), or None for a body the studio does not read: a length that is
        not plain ASCII digits (``int`` reads "١٢" and fails on "²"), more than one length, a chunked body, or a
        body over :data:`MAX_BODY`."""
        lengths = self.headers.get_all("Content-Length") or ["0"]
        length = lengths[0].strip()
        if len(lengths) > 1 or self.headers.get("Transfer-Encoding") or not (length.isascii() and length.isdigit()):
            return None
        return int(length) if int(length) <= MAX_BODY else None

    def _allowed(self) -> bool:
        """The request names a path on this server (not another host's address), its one Host is this server's
        loopback name, and it carries the session's token: in its header, or for what a browser fetches by address
        (the page, its script and style, layer images) in the query."""
        hosts = self.headers.get_all("Host") or []
        target = urlsplit(self.path)
        if not self.path.startswith("/") or target.netloc or len(hosts) != 1 or hosts[0] not in self.server.hosts:
            self._send(HTTPStatus.FORBIDDEN, b"forbidden: unexpected Host\n", "text/plain")
            return False
        in_query = "" if target.path.startswith("/api/") else next(iter(parse_qs(target.query).get("token", [])), "")
        given = self.headers.get(TOKEN_HEADER) or in_query
        if not secrets.compare_digest(given.encode(), self.server.token.encode()):
            self._send(HTTPStatus.FORBIDDEN, b"forbidden: open the URL punkgen studio printed\n", "text/plain")
            return False
        return True

    def _answer(self, work: Callable[[], Any]) -> None:
        """Run one session call under the edit lock; a :class:`UserError` is the page's to show (409, its one line)."""
        with self.server.edits:
            try:
                status, document = HTTPStatus.OK, work()
            except UserError as error:
                status, document = HTTPStatus.CONFLICT, {"error": self.server.session.real(str(error))}
        self._send(status, json.dumps(document).encode(), "application/json")

    def _folder_file(self, relative: str) -> None:
        """A layer image the page shows (:meth:`Session.shown_files`), if it resolves inside the trait folder; any
        other file, or one that resolves outside it: 403."""
        folder = os.path.realpath(self.server.session.files.folder)
        with self.server.edits:
            shown = relative in self.server.session.shown_files()
        plain = shown and "\0" not in relative and not Path(relative).is_absolute() and ".." not in Path(relative).parts
        target = os.path.realpath(os.path.join(folder, relative)) if plain else ""
        if not target.startswith(folder + os.sep):  # links resolved: one pointing out is outside
            self._send(HTTPStatus.FORBIDDEN, b"forbidden: not a layer image of the trait folder\n", "text/plain")
            return
        try:
            data = read_limited(Path(target), IMAGE_LIMIT, "")
        except UserError:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
            return
        self._send(HTTPStatus.OK, data, FOLDER_TYPES.get(Path(target).suffix.lower(), "application/octet-stream"))

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def running_studio(config_path: Path, port: int) -> Iterator[StudioServer]:
    """The trait folder held and its studio bound to the port (not yet serving); both let go when the block ends."""
    config_path = Path(os.path.realpath(config_path))
    load_config(config_path)  # a missing or broken config is named before the folder is locked (a lock makes the folder)
    with folder_lock(config_path.parent, "the studio"):
        session = Session(config_path)
        try:
            server = StudioServer(session, port)
            try:
                yield server
            finally:
                server.server_close()
        finally:
            session.close()


def serve(config_path: Path, port: int, open_browser: bool, announce: Callable[[str], None]) -> list[str]:
    """Serve the studio until Ctrl-C or SIGTERM; returns the files edited but not saved, for the one closing line.

    Either signal, from the moment the URL is printed, ends it with that line (one landing while the folder loads
    is the CLI's "interrupted" line, the folder let go all the same)."""
    with _terminated_as_ctrl_c(), running_studio(config_path, port) as server:
        with suppress(KeyboardInterrupt):
            announce(server.url)
            if open_browser:
                webbrowser.open(server.url)
            server.serve_forever()
        return server.session.files.changed()


@contextmanager
def _terminated_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (``kill``, a service manager, a closing IDE) ends the studio as Ctrl-C does: its one line, its scratch
    folder removed, the folder's lock and the port let go. Python's default for it ended the process on the spot:
    nothing said, and the scratch folder left in the temporary folder."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # KeyboardInterrupt, in the serving thread
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
