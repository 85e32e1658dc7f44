"""``punkgen deploy`` against a node that misbehaves: whatever it answers (an HTML page, a 500, garbage, JSON-RPC of
the wrong shape), however slowly (nothing, or a byte at a time), the deploy ends in one line with exit status 3 within
a bounded time, writes no journal, and never shows a part of ``--rpc`` that may be secret."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import REPO, run_cli, shipped_collection

pytest.importorskip("web3", reason="web3 not installed (pip install -e '.[onchain,dev]')")

from generator.publish.onchain import rpc  # noqa: E402

KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
Answer = Callable[[BaseHTTPRequestHandler, dict], None]


def reply(status: int, body: bytes, content_type: str = "application/json") -> Answer:
    def answer(handler: BaseHTTPRequestHandler, request: dict) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def rpc_reply(**fields: object) -> Answer:
    """A JSON-RPC answer with ``fields`` (result or error) to whatever was asked."""

    def answer(handler: BaseHTTPRequestHandler, request: dict) -> None:
        reply(200, json.dumps({"jsonrpc": "2.0", "id": request["id"]} | fields).encode())(handler, request)

    return answer


def trickle(handler: BaseHTTPRequestHandler, request: dict) -> None:
    """A valid-looking answer, one byte every 0.2 s: each read is quick, the whole never ends."""
    handler.send_response(200)
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    for _ in range(150):  # 30 s in all
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.2)


def silence(handler: BaseHTTPRequestHandler, request: dict) -> None:
    time.sleep(30)


class QuietServer(ThreadingHTTPServer):
    """A fake node whose client hangs up mid-answer (as the deploy does on a 500) prints nothing: its traceback would
    land in whatever stream the command under test has open, and be counted as the command's lines."""

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet."""


@pytest.fixture
def serve() -> Iterator[Callable[[Answer], str]]:
    """``serve(answer)``: the URL of a node on 127.0.0.1 answering every call with ``answer``."""
    servers = []

    def start(answer: Answer) -> str:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                answer(self, json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

            def log_message(self, *args: object) -> None:
                """Quiet."""

        server = QuietServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()  # shutdown() waits a poll
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out, config = shipped_collection(tmp_path_factory.mktemp("bad-node"), 1)
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config).exit_code == 0
    return out


@pytest.fixture
def folder(exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DEPLOYER_KEY", KEY)
    return Path(shutil.copytree(exported, tmp_path / "out"))


def failed_on_chain(folder: Path, url: str) -> str:
    """Deploy ``folder`` to ``url``: exit 3, one line, no traceback, no journal; returns the line."""
    result = run_cli("deploy", folder, "--rpc", url, "--key-env", "DEPLOYER_KEY", "--quiet")
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert not (folder / "export" / "onchain" / "deployed.json").exists()
    assert KEY[2:] not in result.output
    return lines[0]


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (reply(200, b"<html><body>502 Bad Gateway</body></html>", "text/html"), "did not answer eth_chainId in JSON-RPC"),
        (reply(500, b'{"error": "internal"}'), "cannot reach the RPC endpoint"),
        (reply(200, b"\x00\xff{{{"), "did not answer eth_chainId in JSON-RPC"),
        (reply(200, b"[1, 2]"), "did not answer eth_chainId in JSON-RPC"),
        (rpc_reply(result={"chainId": 1}), "answered eth_chainId with something that is not its JSON-RPC result"),
        (rpc_reply(result=None), "answered eth_chainId with something that is not its JSON-RPC result"),
        (rpc_reply(result="0xzz"), "answered eth_chainId with something that is not its JSON-RPC result"),
        (rpc_reply(error="overloaded\nretry later"), "refused eth_chainId: overloaded retry later"),
        # web3's eth_account imports py_ecc, which raises the recursion limit to 100,000: the C JSON reader then
        # overflowed the stack on this answer and the deploy died of a segmentation fault
        (reply(200, b"[" * 300_000 + b"]" * 300_000), "did not answer eth_chainId in JSON-RPC"),
    ],
    ids=["html", "500", "garbage", "json-list", "result-object", "result-null", "result-not-hex", "error-string", "deep"],
)
def test_a_node_answering_what_is_not_json_rpc_is_one_line_exit_3(
    folder: Path, serve: Callable[[Answer], str], answer: Answer, said: str
) -> None:
    assert said in failed_on_chain(folder, serve(answer))


@pytest.mark.slow
@pytest.mark.parametrize("answer", [silence, trickle], ids=["silent", "one-byte-at-a-time"])
def test_a_node_that_never_finishes_answering_is_given_up_on_in_bounded_time(
    folder: Path, serve: Callable[[Answer], str], answer: Answer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rpc, "CALL_S", 1.5)
    start = time.monotonic()
    line = failed_on_chain(folder, serve(answer))
    assert time.monotonic() - start < 12, line  # one call's deadline (and a loaded machine), no retries multiplying it
    assert "http://127.0.0.1:" in line


def echo_request_line(handler: BaseHTTPRequestHandler, request: dict) -> None:
    """A node whose error message quotes the URL it was asked at, as some gateways do."""
    quoted = f"{handler.headers.get('Authorization', '')} no such route {handler.path}\nhttp://host{handler.path}"
    rpc_reply(error={"code": -32601, "message": quoted})(handler, request)


@pytest.mark.parametrize(
    ("where", "secrets"),
    [
        ("{host}/v3/0123456789abcdef0123?apikey=Qz9sEcReT", ["0123456789abcdef0123", "Qz9sEcReT"]),
        (
            "http://alice:pa%24%24w0rd@{hostport}/rpc/ALCHEMYKEY42",
            ["alice", "pa$$w0rd", "pa%24%24w0rd", "ALCHEMYKEY42", "YWxpY2U6cGEkJHcwcmQ="],
        ),
    ],
    ids=["key-in-path-and-query", "credentials-and-key"],
)
def test_no_secret_part_of_the_rpc_url_is_ever_shown(
    folder: Path, serve: Callable[[Answer], str], where: str, secrets: list[str]
) -> None:
    url = serve(echo_request_line)
    line = failed_on_chain(folder, where.format(host=url, hostport=url.removeprefix("http://")))
    assert "refused eth_chainId" in line
    assert not [secret for secret in secrets if secret.lower() in line.lower()], line


@pytest.mark.slow
@pytest.mark.parametrize("rpc_flag", ["--rpc", "--rpc="], ids=["rpc-space-url", "rpc-equals-url"])
def test_a_busy_folder_is_refused_without_showing_the_busy_deploys_rpc_url(
    folder: Path, serve: Callable[[Answer], str], rpc_flag: str
) -> None:
    """A second deploy, or an export, of a folder a deploy holds names that process by its command line: never with
    the ``--rpc`` URL's credentials or API key in it."""
    url = serve(silence).replace("http://", "http://carol:s3cr3tpw@") + "/v2/KEYINPATH99?token=QUERYKEY77"
    url_args = [rpc_flag + url] if rpc_flag.endswith("=") else [rpc_flag, url]
    command = [sys.executable, "-m", "generator", "deploy", str(folder), *url_args, "--key-env", "DEPLOYER_KEY", "--quiet"]
    holder = subprocess.Popen(command, env=os.environ | {"PYTHONPATH": str(REPO)}, cwd=REPO, stderr=subprocess.DEVNULL)
    try:
        deadline, result = time.monotonic() + 20, None
        while time.monotonic() < deadline and (result is None or "in use by another punkgen process" not in result.output):
            time.sleep(0.2)
            result = run_cli("deploy", folder, "--rpc", "http://127.0.0.1:9", "--key-env", "DEPLOYER_KEY", "--quiet")
        exported = run_cli("export", folder, "--onchain", "--no-gas")
    finally:
        holder.kill()
        holder.wait()
    for refusal in (result, exported):
        assert refusal.exit_code == 2 and "in use by another punkgen process" in refusal.output, refusal.output
        assert "http://127.0.0.1:" in refusal.output  # the process is still named, by its host
        assert not [secret for secret in ("carol", "s3cr3tpw", "KEYINPATH99", "QUERYKEY77") if secret in refusal.output]
