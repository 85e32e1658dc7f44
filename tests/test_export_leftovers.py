"""A killed `export` leaves nothing the next export keeps (issue 27, #8): it holds the folder's lock, so it sweeps
its own staging folders and every `.partial` file a killed export or run left, and no one else can be writing them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, collection_args, run_cli

URI = "https://cdn.example.com/punks/"


def export_command(out: Path, config_path: Path) -> list[str]:
    return [sys.executable, "-m", "generator", "export", str(out), "--config", str(config_path), "--quiet", "--base-uri", URI]


def leftovers(out: Path) -> list[str]:
    return sorted(
        str(p.relative_to(out)) for p in out.rglob(".*") if p.name.startswith(".export-staging-") or p.name.endswith(".partial")
    )


@pytest.mark.slow
def test_an_export_killed_while_staging_is_swept_by_the_next(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 400)).exit_code == 0
    for _ in range(5):  # the kill must land while the staging folder exists: retried if the export was quicker
        process = subprocess.Popen(export_command(out, config_path), cwd=REPO, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not list(out.glob(".export-staging-*")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if list(out.glob(".export-staging-*")):
            break
    assert any(name.startswith(".export-staging-") for name in leftovers(out)), "the kill left a staging folder"
    subprocess.run(export_command(out, config_path), cwd=REPO, check=True, timeout=120)
    assert leftovers(out) == []
    assert len(list((out / "export" / "images").glob("*.png"))) == 401, "every token and collection.png"


def test_partial_files_of_killed_exports_and_runs_are_swept(config_path: Path, tmp_path: Path) -> None:
    """What a kill between a write and its rename leaves: the gallery's, and a resumed token's (a run's)."""
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 4)).exit_code == 0
    dead = 2**22 + 1  # above Linux's default pid_max: no process has it
    planted = [
        out / f".index.html.{dead}.partial",
        out / "images" / f".3.png.{dead}.partial",
        out / f".export-staging-{dead}" / "images" / "1.png",
    ]
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    assert len(leftovers(out)) == 3
    result = run_cli("export", out, "--config", config_path, "--base-uri", URI)
    assert result.exit_code == 0, result.output
    assert leftovers(out) == [] and (out / "index.html").is_file()
    assert run_cli("verify", out, "--config", config_path).exit_code == 0
