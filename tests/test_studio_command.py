"""``punkgen studio`` as a user runs it: it prints the page's URL (with the token), serves it, and Ctrl-C stops it
with one line; a folder it cannot serve is refused in one line, before anything is locked or created."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, refused
from studio_running import api, studio


def start(config_path: Path, **environment: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **environment}
    command = [sys.executable, "-m", "generator", "studio", "--config", str(config_path), "--no-browser"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    first = process.stdout.readline()
    assert first.startswith(f"punkgen studio for {config_path.parent}: http://127.0.0.1:"), first + process.stderr.read()
    return process, first.split(": ", 1)[1].split()[0]


def stop(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    return process.returncode, out + err


@pytest.mark.slow
def test_the_command_prints_the_url_serves_it_and_stops_on_ctrl_c_in_one_line(config_path: Path) -> None:
    process, url = start(config_path)
    try:
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        assert '<meta name="studio-token" content="' + url.split("token=")[1] + '">' in page
        with pytest.raises(urllib.error.HTTPError) as refusal:
            urllib.request.urlopen(url.split("?")[0], timeout=30)
        assert refusal.value.code == 403
        edit = b'{"kind": "cell", "table": "eyes", "value": "Blue", "column": "weight", "text": "20"}'
        token = url.split("token=")[1]
        request = urllib.request.Request(url.split("?")[0] + "api/edit", data=edit, headers={"X-Studio-Token": token})
        assert urllib.request.urlopen(request, timeout=30).status == 200
    finally:
        status, output = stop(process)
    assert status == 0 and output.strip().splitlines() == ["studio stopped; 1 edited file(s) not saved: eyes.csv"]
    assert "Traceback" not in output


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_stops_it_as_ctrl_c_does_freeing_port_lock_and_scratch(config_path: Path, tmp_path: Path, stop_signal) -> None:
    """SIGTERM ended the process on the spot: no line, and its scratch folder left behind. Both signals now: the one
    line, status 0, the port free, the folder's lock let go, nothing left in the temporary folder."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process, url = start(config_path, TMPDIR=str(scratch))
    assert [path.name[:15] for path in scratch.iterdir()] == ["punkgen-studio-"]
    process.send_signal(stop_signal)
    out, err = process.communicate(timeout=30)
    assert (process.returncode, (out + err).strip().splitlines()) == (0, ["studio stopped"])
    assert list(scratch.iterdir()) == []
    with socket.socket() as again:
        again.bind(("127.0.0.1", int(url.split(":")[2].split("/")[0])))
    with studio(config_path) as server:  # the lock is free
        assert api(server, "GET", "/api/state")[0] == 200


@pytest.mark.slow
def test_the_scratch_folder_of_a_killed_studio_is_removed_by_the_next(config_path: Path, tmp_path: Path) -> None:
    """``kill -9`` leaves the scratch folder (nothing runs to remove it): the next studio removes it; the variant, a
    scratch folder of a process still running (this test's), is left alone."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    (scratch / f"punkgen-studio-{os.getpid()}-alive").mkdir()
    killed, _ = start(config_path, TMPDIR=str(scratch))
    left = {path.name for path in scratch.iterdir()}
    killed.kill()
    killed.communicate(timeout=30)
    assert len(left) == 2 and all(path.exists() for path in scratch.iterdir())
    process, _ = start(config_path, TMPDIR=str(scratch))
    now = {path.name for path in scratch.iterdir()}
    assert stop(process)[0] == 0
    assert len(now) == 2 and now & left == {f"punkgen-studio-{os.getpid()}-alive"}


def test_a_missing_config_is_refused_and_no_folder_is_made(tmp_path: Path) -> None:
    line = refused("studio", "--config", tmp_path / "nowhere" / "collection.toml", "--no-browser")
    assert "nowhere/collection.toml: file not found" in line and not (tmp_path / "nowhere").exists()


def test_a_folder_that_does_not_check_opens_with_the_clis_line_shown(config_path: Path) -> None:
    """The variant: tables ``traits check`` refuses open all the same (a mistyped weight is fixed in the page), the
    page showing the CLI's own line; a config that cannot be read at all is refused as above."""
    (config_path.parent / "eyes.csv").write_text("value,weight,prompt\nBlue,many,blue eyes\n")
    with studio(config_path) as server:
        status, view = api(server, "GET", "/api/state")
    assert status == 200 and "Error: " + view["error"] == refused("traits", "check", "--config", config_path)


def test_a_port_in_use_is_refused_in_one_line(config_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = refused("studio", "--config", config_path, "--port", port, "--no-browser")
    assert line.startswith(f"Error: port {port} on 127.0.0.1 cannot be used") and "--port" in line


def test_the_studio_loads_no_model_library() -> None:
    """The server, the session and their library calls: no torch, diffusers or transformers (seconds to import)."""
    probe = "import sys, generator.studio.server; print([m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "[]"
