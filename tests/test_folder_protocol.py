"""The collection folder protocol under stress: exit statuses, missing or altered files, verify, the folder lock,
unwritable places, and real processes killed or interrupted at awkward moments."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from conftest import REPO, collection_args, edit, folder_bytes, run_cli
from PIL import Image

from generator.config import load_config
from generator.errors import ExitStatus, UserError
from generator.render import BACKEND_MODULES
from generator.run.collection import run_collection


def make(config_path: Path, out: Path, n: int = 12, *extra: object) -> str:
    result = run_cli(*collection_args(config_path, out, n, *extra))
    assert result.exit_code == 0, result.output
    return result.output


def opaque_layer(config_path: Path, trait: str, value: str) -> None:
    """A non-background layer that covers the whole canvas: every token with it renders flat."""
    Image.new("RGBA", (24, 24), (200, 40, 40, 255)).save(config_path.parent / "layers" / trait / f"{value}.png")


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


# ── exit statuses and deterministic backends ───────────────────────────────────────────────────


def test_failed_tokens_exit_3_after_one_attempt_and_a_rerun_says_nothing_changes(config_path: Path, tmp_path: Path) -> None:
    opaque_layer(config_path, "eyes", "Brown")
    out = tmp_path / "out"
    result = run_cli(*collection_args(config_path, out, 40))
    assert result.exit_code == ExitStatus.TOKENS_FAILED == 3
    failed = sorted({r["token_id"] for r in records(out) if r["verdict"] == "rejected"})
    assert failed and all(r["attempt"] == 0 for r in records(out)), "sprites repeat their pixels: one attempt only"
    assert len(records(out)) == 40
    assert f"{40 - len(failed)} of 40 tokens" in result.output
    assert f"incomplete: {len(failed)} tokens failed after 1 attempt ({', '.join(map(str, failed[:20]))}" in result.output
    assert f"reasons in {out / 'rejects.csv'}" in result.output
    before = folder_bytes(out)
    again = run_cli(*collection_args(config_path, out, 40))
    assert again.exit_code == 3
    assert f"nothing new to render: {out} is finished, {40 - len(failed)} of 40 tokens done" in again.output
    assert "sprites renders the same pixels on every attempt" in again.output
    assert folder_bytes(out) == before


def test_a_complete_run_exits_0_and_says_1_token(config_path: Path, tmp_path: Path) -> None:
    result = run_cli(*collection_args(config_path, tmp_path / "one", 1))
    assert result.exit_code == 0
    assert "1 of 1 token in" in result.output and "(1 render with sprites)" in result.output


# ── resume and verify: the manifest is the truth ───────────────────────────────────────────────


def test_resume_recreates_deleted_and_swapped_token_files(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 12)
    reference = folder_bytes(out)
    (out / "images" / "3.png").unlink()
    shutil.copyfile(out / "images" / "5.png", out / "images" / "6.png")  # another token's image, swapped in by hand
    (out / "metadata" / "7.json").write_text('{"name": "edited"}')
    (out / "metadata" / "8.json").unlink()
    output = make(config_path, out, 12)
    assert "restored 4 tokens whose files were missing or altered: 3, 6, 7, 8" in output
    assert folder_bytes(out) == reference


def test_a_swapped_render_of_a_seeded_backend_is_refused(config_path: Path, tmp_path: Path, monkeypatch) -> None:
    """Only a backend that repeats its pixels may overwrite an altered file; a diffusion render can only come back from a backup."""
    monkeypatch.setitem(BACKEND_MODULES, "flaky", "flaky_backend")
    config = load_config(config_path).override("collection", size=8).override("render", backend="flaky")
    out = tmp_path / "out"
    run_collection(config, out=out, progress=False)
    shutil.copyfile(out / "images" / "1.png", out / "images" / "2.png")
    before = folder_bytes(out)
    with pytest.raises(UserError, match=f"^{out / 'images' / '2.png'} differ from the renders the manifest recorded"):
        run_collection(config, out=out, progress=False)
    assert folder_bytes(out) == before
    (out / "images" / "2.png").unlink()  # a missing one is rendered again in its block, for any backend
    assert run_collection(config, out=out, progress=False).restored == (2,)
    assert run_cli("verify", out, "--config", config_path).exit_code == 0


def test_verify_names_every_difference_and_changes_nothing(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 12)
    good = run_cli("verify", out, "--config", config_path)
    assert good.exit_code == 0 and "12 tokens of 12 checked" in good.output
    shutil.copyfile(out / "images" / "3.png", out / "images" / "4.png")
    Image.new("RGB", (48, 48)).save(out / "images" / "9.png")
    (out / "metadata" / "5.json").write_text("[1, 2]")
    (out / "metadata" / "6.json").write_text("{not json")
    (out / "images" / "notes.txt").write_text("mine")
    with (out / "manifest.jsonl").open("a") as manifest:
        manifest.write('{"token_id": 99, "att')  # a torn line, as a killed run leaves it
    before = folder_bytes(out)
    result = run_cli("verify", out, "--config", config_path)
    assert result.exit_code == ExitStatus.FOLDER_DIFFERS == 4
    *lines, summary = result.output.splitlines()
    assert [line.split(";")[0] for line in lines] == [
        f"{out / 'images' / '4.png'}: altered",
        f"{out / 'metadata' / '5.json'}: differs from the document its traits give ([1, 2] is not of type 'object')",
        f"{out / 'metadata' / '6.json'}: differs from the document its traits give (not JSON)",
        f"{out / 'images' / '9.png'}: altered",
        f"{out / 'images' / 'notes.txt'}: not a file of any accepted token",
    ]
    assert summary == f"12 tokens of 12 checked in {out}: 5 differences (listed above)"
    assert folder_bytes(out) == before, "verify only reads"


def test_verify_names_images_of_another_size_than_the_config_asks_for(config_path: Path, tmp_path: Path) -> None:
    """The images are the recorded ones, but the config changed its token size since."""
    out = tmp_path / "out"
    make(config_path, out, 3)
    edit(config_path, "size = 24", "size = 32")
    result = run_cli("verify", out, "--config", config_path)
    assert result.exit_code == ExitStatus.FOLDER_DIFFERS
    assert result.output.splitlines()[:3] == [
        f"{out / 'images' / f'{n}.png'}: 24×24, expected 32×32 ([pixels].size)" for n in (1, 2, 3)
    ]


def test_verify_passes_hidden_files_the_os_leaves(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 6)
    (out / "images" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    assert run_cli("verify", out, "--config", config_path).exit_code == 0


def test_force_keeps_an_export_holding_the_creators_own_files(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 6)
    assert run_cli("export", out, "--config", config_path).exit_code == 0
    (out / "export" / "NOTES.txt").write_text("mine")
    make(config_path, out, 6, "--seed", 5, "--force")
    assert (out / "export" / "NOTES.txt").read_text() == "mine"


def test_verify_and_export_refuse_a_folder_with_a_replaced_image(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 6)
    pixels = np.asarray(Image.open(out / "images" / "2.png")).copy()
    pixels[0, 0] = (1, 2, 3)
    Image.fromarray(pixels).save(out / "images" / "2.png")
    result = run_cli("export", out, "--config", config_path)
    assert result.exit_code == 2 and f"{out / 'images' / '2.png'}: altered" in result.output
    assert not (out / "export").exists()


def test_verify_counts_unfinished_tokens(config_path: Path, tmp_path: Path) -> None:
    opaque_layer(config_path, "eyes", "Brown")
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 20)).exit_code == 3
    result = run_cli("verify", out, "--config", config_path)
    assert result.exit_code == 3 and "every file matches the manifest, but" in result.output


def test_a_corrupt_manifest_line_is_one_line_for_every_command(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 6)
    lines = (out / "manifest.jsonl").read_bytes().splitlines(keepends=True)
    lines[2] = b'{"token_id": 3, garbage}\n'
    (out / "manifest.jsonl").write_bytes(b"".join(lines))
    for args in (collection_args(config_path, out, 6), ["export", out, "--config", config_path]):
        result = run_cli(*args)
        assert result.exit_code == 2, result.output
        assert "manifest.jsonl line 3" in result.output and len(result.output.strip().splitlines()) == 1
    verify = run_cli("verify", out, "--config", config_path)
    assert verify.exit_code == 4 and "manifest.jsonl line 3 is not a manifest record" in verify.output


# ── unwritable places ──────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        ("under-a-file/out", "a part of the path is a file, not a folder"),
        ("/sys/punkgen-out", "operation not permitted"),  # refused even to root
        ("/proc/version/out", "a part of the path is a file, not a folder"),
        ("x" * 300, "the path is too long"),
    ],
)
def test_an_unwritable_out_is_one_line(config_path: Path, tmp_path: Path, place: str, expected: str) -> None:
    (tmp_path / "under-a-file").write_text("a regular file")
    out = tmp_path / place if not place.startswith("/") else Path(place)
    result = run_cli(*collection_args(config_path, out, 3))
    assert result.exit_code == 2, result.output
    assert expected in result.output and "choose another folder for --out" in result.output
    assert len(result.output.strip().splitlines()) == 1


# ── one process per folder ─────────────────────────────────────────────────────────────────────


def start_run(config_path: Path, out: Path, n: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "generator", *map(str, collection_args(config_path, out, n))]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


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
    first = start_run(config_path, out, 2500)
    try:
        wait_for_lines(out, 1)
        for args in (collection_args(config_path, out, 2500), ["export", out, "--config", config_path]):
            result = run_cli(*args)
            assert result.exit_code == 2
            assert f"{out} is in use by another punkgen process (pid {first.pid}: " in result.output
    finally:
        assert first.wait(timeout=120) == 0, first.stderr.read()
    assert len(records(out)) == 2500 == len({r["token_id"] for r in records(out)})


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


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 160 KB tmpfs (where this machine lets the tests mount one): a full disk and a read-only one, for real."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", disk], capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    yield disk
    subprocess.run(["umount", "-l", disk], check=True)


def remount(disk: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", disk], check=True)


def test_a_full_or_read_only_disk_is_one_line_and_the_run_goes_on_after(config_path: Path, small_disk: Path) -> None:
    out = small_disk / "out"
    full = run_cli(*collection_args(config_path, out, 400))
    assert full.exit_code == 2 and "no space left on the device; fix that, then run the same command again" in full.output
    assert len(full.output.strip().splitlines()) == 1
    remount(small_disk, "ro")
    read_only = run_cli(*collection_args(config_path, out, 400))
    assert read_only.exit_code == 2 and "the file system is read-only" in read_only.output
    remount(small_disk, "rw,size=8m")
    assert run_cli(*collection_args(config_path, out, 400)).exit_code == 0
    assert run_cli("verify", out, "--config", config_path).exit_code == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["collection", "--config", "traits"], "punkgen collection: Invalid value for '--config': File 'traits' is a directory"),
        (["collection", "--steps", "0"], "punkgen collection: Invalid value for '--steps': 0 is not in the range x>=1"),
        (["verify"], "punkgen verify: Missing argument 'FOLDER'"),
    ],
)
def test_a_flag_click_refuses_is_one_line_too(args: list[str], expected: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"Error: {expected}; see {expected.split(':')[0]} --help"]


def test_verify_tells_leftovers_of_an_interrupted_run_from_foreign_files(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 6)
    lines = (out / "manifest.jsonl").read_text().splitlines(keepends=True)
    (out / "manifest.jsonl").write_text("".join(lines[:5]))  # token 6's files are written, its line never was
    (out / "images" / "77.png").write_bytes((out / "images" / "1.png").read_bytes())
    result = run_cli("verify", out, "--config", config_path)
    assert result.exit_code == 4
    assert f"{out / 'images' / '6.png'}: left by an interrupted run of a token not finished yet" in result.output
    assert f"{out / 'images' / '77.png'}: not a file of any accepted token" in result.output


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
