"""Requests no page sends: every method, request form and body a hostile or broken client can write is answered in
one plain line (403 without the token), never with a traceback or a dropped connection, and never blocks the others."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator

import pytest
from conftest import REPO
from studio_running import api, request, studio

from generator.studio.server import Handler, running_studio


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("studio") / "traits"
    shutil.copytree(REPO / "traits", folder)
    with studio(folder / "collection.toml") as running:
        yield running


def raw(server, lines: list[bytes], body: bytes = b"") -> bytes:
    """Send a request written by hand (what http.client refuses to write); returns the whole answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("method", ["PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "FOO"])
def test_a_method_the_studio_does_not_answer_is_refused_without_the_token_like_any_other(server, method: str) -> None:
    """They reached http.server's 501 page (its HTML, the Python version) before the token was looked at."""
    for token in (None, "not-the-token"):
        assert request(server, method, "/api/state", token=token)[0] == 403
    with_token = raw(server, [f"{method} /api/state HTTP/1.1".encode(), f"Host: 127.0.0.1:{server.port}".encode(),
                              f"X-Studio-Token: {server.token}".encode()])  # fmt: skip
    head, _, body = with_token.partition(b"\r\n\r\n")
    assert status_of(with_token) == 501 and b"text/plain" in head and b"<html" not in body.lower()
    assert b"Python/" not in head and b"X-Content-Type-Options: nosniff" in head


def test_a_malformed_request_line_is_one_plain_line(server) -> None:
    """The variant: a request http.server cannot parse at all."""
    answer = raw(server, [b"GET / HTTP/1.1 and more words"])
    assert status_of(answer) == 400 and answer.count(b"\n", answer.index(b"\r\n\r\n") + 4) == 1


@pytest.mark.parametrize("target", ["http://evil.example/api/state", "http://127.0.0.1:{port}/api/state"])
def test_a_request_naming_another_host_in_its_target_is_refused(server, target: str) -> None:
    """An absolute-form target names the host the request is for, whatever its Host header says."""
    line = f"GET {target.format(port=server.port)} HTTP/1.1".encode()
    answer = raw(server, [line, f"Host: 127.0.0.1:{server.port}".encode(), f"X-Studio-Token: {server.token}".encode()])
    assert status_of(answer) == 403


@pytest.mark.parametrize("order", [0, 1])
def test_two_host_headers_are_refused(server, order: int) -> None:
    hosts = [f"Host: 127.0.0.1:{server.port}".encode(), b"Host: evil.example"]
    answer = raw(server, [b"GET /api/state HTTP/1.1", *hosts[order:], *hosts[:order], f"X-Studio-Token: {server.token}".encode()])
    assert status_of(answer) == 403


@pytest.mark.parametrize("length", ["\u00b2", "1\u00b3", "+5", "-1", "5, 5"])
def test_a_body_length_not_in_plain_digits_is_refused(server, length: str) -> None:
    """A length of "²" (headers are read as Latin-1) passed ``str.isdigit`` and broke ``int``: a traceback and a
    dropped connection."""
    lines = [b"POST /api/edit HTTP/1.1", f"Host: 127.0.0.1:{server.port}".encode(), f"X-Studio-Token: {server.token}".encode()]
    answer = raw(server, [*lines, f"Content-Length: {length}".encode("latin-1")], b'{"kind": "toggles"}')
    assert status_of(answer) == 413


def test_two_body_lengths_or_a_chunked_body_are_refused(server) -> None:
    lines = [b"POST /api/edit HTTP/1.1", f"Host: 127.0.0.1:{server.port}".encode(), f"X-Studio-Token: {server.token}".encode()]
    assert status_of(raw(server, [*lines, b"Content-Length: 2", b"Content-Length: 20"], b"{}")) == 413
    assert status_of(raw(server, [*lines, b"Transfer-Encoding: chunked"], b"2\r\n{}\r\n0\r\n\r\n")) == 413


@pytest.fixture
def raised_recursion_limit() -> Iterator[None]:
    """The process as py_ecc leaves it (imported with the EVM test tools, which raise the limit to 100,000): Python's C
    JSON reader then overflows the stack on deep nesting, a segmentation fault, instead of raising RecursionError."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    yield
    sys.setrecursionlimit(before)


@pytest.mark.parametrize("nested", ["[" * 100_000 + "]" * 100_000, '{"a":' * 20_000 + "1" + "}" * 20_000])
@pytest.mark.usefixtures("raised_recursion_limit")
def test_json_nested_too_deep_is_not_json(server, nested: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request(
        "POST", "/api/edit", body=nested, headers={"X-Studio-Token": server.token, "Host": f"127.0.0.1:{server.port}"}
    )
    assert connection.getresponse().status == 400
    assert api(server, "GET", "/api/state")[0] == 200


def test_a_request_that_never_finishes_blocks_no_other_and_is_dropped(server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slowloris: half a request on one connection; the page's requests are answered meanwhile, and the half one's
    connection is closed once its time is up instead of holding a thread for ever."""
    monkeypatch.setattr(Handler, "timeout", 0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow:
        slow.sendall(f"POST /api/edit HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode())
        started = time.monotonic()
        assert api(server, "GET", "/api/state")[0] == 200
        assert slow.recv(1) == b""  # closed by the server
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("name", [".env", "collection.toml", "accessory.csv", "palette.hex", "layers/hair/Unused.png"])
def test_only_the_layer_images_the_page_shows_are_served(server, name: str) -> None:
    """Every file in the folder was served to the token's holder, a ``.env`` with a deploy key beside the tables
    included (a trait folder can be a project's root); the variant: a PNG in layers/ that no value names."""
    path = server.session.files.folder / name
    if not path.exists():
        path.write_bytes(b"PRIVATE_KEY=0xsecret\n")
    status, body = request(server, "GET", f"/folder/{name}?token={server.token}", token=None)
    assert status == 403 and b"secret" not in body and b"[collection]" not in body
    assert request(server, "GET", f"/folder/layers/hair/Hoodie.png?token={server.token}", token=None)[0] == 200


def port_80_free() -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 80))
        except OSError:
            return False
    return True


@pytest.mark.skipif(os.geteuid() != 0 or not port_80_free(), reason="port 80 needs root, and to be free")
def test_on_port_80_the_host_a_browser_sends_is_accepted(tmp_path) -> None:
    """A browser sends ``Host: 127.0.0.1`` for port 80: the page of ``--port 80`` was refused (403) in every browser;
    the variant: another port's bare name is still refused."""
    shutil.copytree(REPO / "traits", tmp_path / "traits")
    with running_studio(tmp_path / "traits" / "collection.toml", 80) as server:
        assert server.hosts == {"127.0.0.1:80", "localhost:80", "127.0.0.1", "localhost"}
    with running_studio(tmp_path / "traits" / "collection.toml", 0) as server:
        assert "127.0.0.1" not in server.hosts and "localhost" not in server.hosts
