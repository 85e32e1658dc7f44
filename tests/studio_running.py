"""A studio served from a thread on an ephemeral port, and a client that speaks to it as the page does."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from generator.studio.server import TOKEN_HEADER, StudioServer, running_studio


@contextmanager
def studio(config_path: Path) -> Iterator[StudioServer]:
    with running_studio(config_path, 0) as server:
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            thread.join()


def request(
    server: StudioServer, method: str, path: str, body: Any = None, token: str | None = "", host: str | None = None
) -> tuple[int, bytes]:
    """One request: the session's token in the header unless ``token`` is given (None: no token at all)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Host": host or f"127.0.0.1:{server.port}", "Content-Type": "application/json"}
    if token is not None:
        headers[TOKEN_HEADER] = token or server.token
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = connection.getresponse()
    answer = response.status, response.read()
    connection.close()
    return answer


def api(server: StudioServer, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    status, data = request(server, method, path, body)
    return status, json.loads(data)
