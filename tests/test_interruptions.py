"""Real ``punkgen`` processes killed or interrupted at awkward moments: the folder lock while a run is busy,
``kill -9`` then an instant resume, and every Ctrl-C from import to exit as status 130 and one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from conftest import REPO, collection_args, folder_bytes, manifest_records, run_cli

from generator.errors import ExitStatus


def start_run(config_path: Path, out: Path, n: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "generator", *map(str, collection_args(config_path, out, n))]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@contextmanager
def busy_run(config_path: Path, out: Path, n: int = 2500) -> Iterator[subprocess.Popen]:
    """A real `punkgen collection` run holding ``out``, once its first token is written; it must then finish well.

    The run is stopped (SIGSTOP) while the caller's commands meet it: a sprite run of 2,500 tokens can finish within
    a second on a fast machine, before the second command looks, and that command then rightly finds the folder free
    (CI caught it so). Stopped, it still holds the folder's lock, as a run busy rendering does."""
    run = start_run(config_path, out, n)
    try:
        wait_for_lines(out, 1)
        os.kill(run.pid, signal.SIGSTOP)
        try:
            yield run
        finally:
            os.kill(run.pid, signal.SIGCONT)
    finally:
        assert run.wait(timeout=120) == 0, run.stderr.read() if run.stderr else ""


def wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def wait_for_lines(out: Path, lines: int) -> None:
    wait_for(lambda: manifest_lines(out) >= lines)


def running(processes: list[psutil.Process], within: float) -> list[psutil.Process]:
    """Those still running after ``within`` seconds; a zombie (dead, not yet reaped by init) is not running."""
    _, alive = psutil.wait_procs(processes, timeout=within)
    try:
        return [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    except psutil.NoSuchProcess:
        return running(processes, 0)


def manifest_lines(out: Path) -> int:
    path = out / "manifest.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.slow
def test_a_second_run_or_export_of_a_busy_folder_is_refused_naming_the_first(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with busy_run(config_path, out) as first:
        for args in (collection_args(config_path, out, 2500), ["export", out, "--config", config_path]):
            result = run_cli(*args)
            assert result.exit_code == 2
            assert f"{out} is in use by another punkgen process (pid {first.pid}: " in result.output
    assert len(manifest_records(out)) == 2500 == len({r["token_id"] for r in manifest_records(out)})


@pytest.mark.slow
def test_kill_9_then_resume_at_once_never_races_the_orphans(config_path: Path, tmp_path: Path) -> None:
    """The resume starts the instant the kill lands, while the killed run's workers may still be finishing a batch."""
    out, whole = tmp_path / "killed", tmp_path / "whole"
    assert start_run(config_path, whole, 2500).wait(timeout=120) == 0
    for kill_after in (0, 1, 400, 900, 1500, 2100, 2400):  # manifest lines when the kill lands
        process = start_run(config_path, out, 2500)
        wait_for_lines(out, kill_after)
        workers = psutil.Process(process.pid).children(recursive=True)
        process.kill()
        process.wait()
        resumed = start_run(config_path, out, 2500)  # at once: no waiting for the workers
        assert not running(workers, within=0.2), "workers die with their parent"
        if kill_after < 2100:
            wait_for_lines(out, manifest_lines(out) + 50)  # the resume makes progress: it never crashed on an orphan
            resumed.kill()
            resumed.wait()
        else:
            assert resumed.wait(timeout=120) == 0, resumed.stderr.read()
    assert folder_bytes(out) == folder_bytes(whole)


@pytest.mark.slow
def test_ctrl_c_while_workers_start_prints_one_line(config_path: Path, tmp_path: Path) -> None:
    interrupted = 0
    for delay in (0.02, 0.1, 0.2, 0.35):  # after the folder is prepared: while the spawned workers import
        out = tmp_path / f"out-{delay}"
        command = [sys.executable, "-m", "generator", *map(str, collection_args(config_path, out, 4000))]
        process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True, start_new_session=True)
        wait_for(lambda run=out / "run.json": run.exists())
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole process group
        _, stderr = process.communicate(timeout=60)
        if process.returncode == 0:
            continue  # finished before the signal: nothing to see
        interrupted += 1
        assert process.returncode == ExitStatus.INTERRUPTED, stderr
        assert stderr.strip().splitlines() == ["interrupted: what was finished is kept; run the same command again to go on"], (
            stderr
        )
    assert interrupted >= 3


def _catches_ctrl_c(pid: int) -> bool:
    """Whether the process has a SIGINT handler yet (Linux's ``SigCgt`` mask; elsewhere, assumed so). Python sets
    one while it starts; on a slow VM a Ctrl-C sent 50 ms after the start came before that and killed it by signal."""
    try:
        caught = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return True
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGINT - 1)))


def interrupt_inline_run(config_path: Path, out: Path, n: int, when: str, delay: float = 0.0) -> tuple[int, str]:
    """``python -m generator`` on ``n`` tokens, its process group sent SIGINT (as a terminal's Ctrl-C): ``delay``
    seconds after Python can answer one (``"start"``: while it imports) or after run.json exists (``"run"``), or
    just after the report line (``"exit"``: while Python shuts down). Returns the status and stderr."""
    command = [sys.executable, "-m", "generator", *map(str, collection_args(config_path, out, n))]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    if when == "start":  # Python itself must answer: a SIGINT before it sets its handler is the kernel's (-2)
        wait_for(lambda: _catches_ctrl_c(process.pid) or process.poll() is not None)
    if when == "run":
        wait_for(lambda: (out / "run.json").exists() or process.poll() is not None)
    if when == "exit":
        process.stdout.readline()
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


@pytest.mark.slow
def test_every_ctrl_c_is_130_and_one_line_from_import_to_exit(config_path: Path, tmp_path: Path) -> None:
    """Runs were killed by SIGINT (status -2) while Python imported punkgen, or shut down after the run."""
    from generator.command import INTERRUPTED_LINE

    moments = [(300, "start", d) for d in (0.05, 0.15, 0.25)] + [(n, "run", d) for n in (300, 1500) for d in (0.05, 0.2)]
    moments += [(300, "exit", 0.0)] * 4
    statuses = []
    for number, (n, when, delay) in enumerate(moments):
        status, stderr = interrupt_inline_run(config_path, tmp_path / f"out-{number}", n, when, delay)
        statuses.append(status)
        assert status in (ExitStatus.DONE, ExitStatus.INTERRUPTED), (n, when, delay, status, stderr)
        expected = [] if status == ExitStatus.DONE else [INTERRUPTED_LINE]
        assert stderr.strip().splitlines() == expected, (n, when, delay, stderr)
    assert statuses.count(ExitStatus.INTERRUPTED) >= 5
    resumed = run_cli(*collection_args(config_path, tmp_path / "out-3", 300))  # cut mid-run: it goes on
    assert resumed.exit_code == 0, resumed.output
    assert run_cli("verify", tmp_path / "out-3", "--config", config_path).exit_code == 0
