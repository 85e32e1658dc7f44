"""Shared fixtures: a private copy of the shipped traits folder, and a CLI runner that returns exit code + output."""

from __future__ import annotations

import atexit
import builtins
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Empty caches for the whole session, set before anything imports huggingface_hub (it reads these once): a machine
# with an SD 1.5 snapshot in its cache then behaves like one without, as every test expects, and punkgen's proofs of
# schema passes (generator.schemas.proven) are the session's own, never the user's.
_CACHES = tempfile.mkdtemp(prefix="punkgen-tests-caches-")
atexit.register(shutil.rmtree, _CACHES, ignore_errors=True)
os.environ["HF_HOME"] = os.path.join(_CACHES, "huggingface")
os.environ["HF_HUB_CACHE"] = os.path.join(_CACHES, "huggingface", "hub")
os.environ["PUNKGEN_CACHE"] = os.path.join(_CACHES, "punkgen")

import pytest  # noqa: E402
from click.testing import CliRunner, Result  # noqa: E402

from generator.cli import main  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def traits_dir(tmp_path: Path) -> Path:
    """A copy of the shipped ``traits/`` that a test may edit freely."""
    target = tmp_path / "traits"
    shutil.copytree(REPO / "traits", target)
    return target


@pytest.fixture
def config_path(traits_dir: Path) -> Path:
    return traits_dir / "collection.toml"


def run_cli(*args: object) -> Result:
    """Invoke ``punkgen`` in-process; exceptions other than SystemExit propagate so bugs show as tracebacks."""
    return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False, prog_name="punkgen")


def refused(*args: object) -> str:
    """Run ``punkgen ARGS``: it must exit 2 with exactly one line and no traceback, as a terminal shows it (a progress
    bar redraws its line after each carriage return, and a failed command wipes it). Returns that line."""
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    shown = [line.rsplit("\r", 1)[-1].strip() for line in result.output.split("\n")]
    lines = [line for line in shown if line]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def run_importing_none_of(heavy: tuple[str, ...], *args: object) -> None:
    """Run ``punkgen ARGS`` in a fresh interpreter; fail if it exits non-zero or imported any module in ``heavy``."""
    probe = (
        "import sys; from generator.cli import main\n"
        "try: main(sys.argv[1:])\n"
        "except SystemExit as e: assert e.code == 0, e.code\n"
        f"heavy = [m for m in {heavy!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", probe, *map(str, args)], check=True, cwd=REPO)


def collection_args(config_path: Path, out: Path, n: int = 20, *extra: object) -> list[object]:
    return ["collection", "-n", n, "--config", config_path, "--out", out, "--quiet", "--backend", "sprites", *extra]


def made_collection(config_path: Path, out: Path, n: int) -> Path:
    """A finished sprite collection of ``n`` tokens in ``out``: what curation, verify and export tests start from."""
    result = run_cli(*collection_args(config_path, out, n))
    assert result.exit_code == 0, result.output
    return out


def shipped_collection(root: Path, n: int) -> tuple[Path, Path]:
    """A copy of the shipped trait folder under ``root`` and a finished ``n``-token sprite collection made from it, as
    (collection folder, config): what the export targets' module fixtures start from."""
    config = root / "traits" / "collection.toml"
    shutil.copytree(REPO / "traits", config.parent)
    return made_collection(config, root / "out", n), config


def manifest_records(out: Path) -> list[dict]:
    """Every line of ``out``'s manifest, parsed: what a test reads back to check what a command recorded."""
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path: two runs are identical when these are equal."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def refuse_writes_under(folder: Path, code: int, monkeypatch: pytest.MonkeyPatch, after: int = 0) -> None:
    """Make the OS refuse (``code``) every file or folder creation under ``folder`` after the first ``after``:
    a read-only mount or a full disk, which root cannot be shown with chmod."""
    made = [0]
    real_open, real_mkdir = io.open, os.mkdir

    def guard(path: object) -> None:
        if Path(os.fsdecode(path)).is_relative_to(folder):
            made[0] += 1
            if made[0] > after:
                raise OSError(code, os.strerror(code), os.fsdecode(path))

    def fake_open(file, mode="r", *args, **kwargs):  # noqa: ANN001, ANN202 - open()'s own signature
        if isinstance(file, str | bytes | os.PathLike) and set(mode) & set("wxa+"):
            guard(file)
        return real_open(file, mode, *args, **kwargs)

    def fake_mkdir(path, *args, **kwargs):  # noqa: ANN001, ANN202
        guard(path)
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)


from tiny_sd import tiny_sd_dir  # noqa: E402, F401  (session fixture: a tiny SD 1.5-shaped diffusers folder)
