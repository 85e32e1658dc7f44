"""The studio listens on a port and writes the creator's files: every request needs the session's token and a loopback
Host, only the trait folder's own files can be read, and one studio at a time holds a folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import REPO, refused
from studio_running import request, studio


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the shipped folder for the module: these tests only read it (and add files beside it)."""
    folder = tmp_path_factory.mktemp("studio") / "traits"
    shutil.copytree(REPO / "traits", folder)
    return folder / "collection.toml"


@pytest.fixture(scope="module")
def server(config_path: Path):
    with studio(config_path) as running:
        yield running


@pytest.mark.parametrize("path", ["/", "/api/state", "/api/diff", "/static/studio.js", "/folder/layers/hair/Hoodie.png"])
def test_every_request_without_the_token_is_refused(server, path: str) -> None:
    assert request(server, "GET", path, token=None)[0] == 403
    assert request(server, "GET", path, token="not-the-token")[0] == 403
    if path.startswith("/api/"):
        assert request(server, "GET", path)[0] == 200  # the header the page sends
    else:
        assert request(server, "GET", f"{path}?token={server.token}", token=None)[0] == 200  # the URL the CLI prints


def test_the_api_takes_the_token_only_in_its_header(server) -> None:
    """An address with the token in it ends up in histories and logs; the page's calls send it as a header."""
    assert request(server, "GET", f"/api/state?token={server.token}", token=None)[0] == 403


def test_a_body_without_a_usable_length_is_refused(server) -> None:
    import http.client

    for length in ("-1", "abc", str(2 << 20)):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.putrequest("POST", "/api/edit", skip_host=True)
        for name, value in (("Host", f"127.0.0.1:{server.port}"), ("X-Studio-Token", server.token), ("Content-Length", length)):
            connection.putheader(name, value)
        connection.endheaders()
        assert connection.getresponse().status == 413
        connection.close()


def test_an_edit_or_save_without_the_token_changes_nothing(server, config_path: Path) -> None:
    table = config_path.parent / "accessory.csv"
    before = table.read_bytes()
    edit = {"kind": "cell", "table": "accessory", "value": "Pipe", "column": "weight", "text": "9"}
    assert request(server, "POST", "/api/edit", edit, token=None)[0] == 403
    assert request(server, "POST", "/api/save", {}, token=None)[0] == 403
    assert server.session.files.changed() == [] and table.read_bytes() == before


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "localhost.evil.example:{port}", "[::1]:{port}", ""])
def test_a_foreign_host_header_is_refused(server, host: str) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: the Host header gives it away."""
    assert request(server, "GET", "/api/state", host=host.format(port=server.port) or " ")[0] == 403


def test_loopback_names_are_accepted(server) -> None:
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        assert request(server, "GET", "/api/state", host=host)[0] == 200


def test_no_cors_headers_and_the_token_is_not_leaked_by_referrer(server) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port)
    connection.request("GET", f"/?token={server.token}", headers={"Origin": "https://evil.example"})
    response = connection.getresponse()
    headers = {name.lower(): value for name, value in response.getheaders()}
    assert not [name for name in headers if name.startswith("access-control-")]
    assert headers["referrer-policy"] == "no-referrer"
    assert "default-src 'self'" in headers["content-security-policy"]


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "layers/../../outside.txt",
        "layers/%2E%2E/%2E%2E/outside.txt",
    ],
)
def test_paths_outside_the_trait_folder_are_refused(server, config_path: Path, path: str) -> None:
    (config_path.parent.parent / "outside.txt").write_text("secret")
    status, body = request(server, "GET", f"/folder/{path}")
    assert status == 403 and b"secret" not in body and b"root:" not in body


def test_a_link_out_of_the_folder_is_refused(server, config_path: Path) -> None:
    """A link inside the folder that points outside it (a file or a whole folder) is outside it."""
    outside = config_path.parent.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.png").write_bytes(b"secret")
    os.symlink(outside / "secret.png", config_path.parent / "layers" / "linked.png")
    os.symlink(outside, config_path.parent / "layers" / "linked-folder")
    assert request(server, "GET", "/folder/layers/linked.png")[0] == 403
    assert request(server, "GET", "/folder/layers/linked-folder/secret.png")[0] == 403


def test_the_folders_own_layer_is_served(server, config_path: Path) -> None:
    status, body = request(server, "GET", "/folder/layers/hair/Hoodie.png")
    assert status == 200 and body == (config_path.parent / "layers" / "hair" / "Hoodie.png").read_bytes()


def test_a_second_studio_on_the_same_folder_is_refused(server, config_path: Path) -> None:
    line = refused("studio", "--config", config_path, "--no-browser")
    assert f"{config_path.parent} is in use by another punkgen process" in line


def test_a_second_studio_through_another_path_to_the_folder_is_refused(server, config_path: Path, tmp_path: Path) -> None:
    """The variant: the same folder reached through a link is the same folder."""
    os.symlink(config_path.parent, tmp_path / "alias")
    assert "is in use by another punkgen process" in refused(
        "studio", "--config", tmp_path / "alias" / "collection.toml", "--no-browser"
    )
