"""The ``punkgen`` command: parse flags, call the library, print. No logic lives here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from generator import __version__
from generator.command import LazyGroup, UserMistake, config_option, say
from generator.config import Config, load_config
from generator.errors import ExitStatus
from generator.files import real_path
from generator.run.summary import Summary
from generator.schemas.reference import flag_help, flag_option

# standalone tools: files and folders in, no collection run (generator/tools_cli.py)
TOOLS = {name: f"generator.tools_cli:{name}" for name in ("pixelate", "palette", "compare", "quality", "traits")}
# minting: export and rarity (generator/export_cli.py), loaded only when asked for
TOOLS |= {name: f"generator.export_cli:{name}" for name in ("export", "rarity")}
TOOLS["studio"] = "generator.studio_cli:studio"  # the rarity studio (generator/studio/): a loopback page over the trait folder
TOOLS["deploy"] = "generator.deploy_cli:deploy"  # on-chain deploy (web3), loaded only when asked for


def _from_here(path: str | None) -> str | None:
    """A path typed on the command line is from the working folder; the config's own paths are from its folder."""
    if path is None or not Path(path).expanduser().exists():
        return path  # a hub id, or a missing path the loader will name
    return str(real_path(path))


def _absolute(path: Path | None) -> str | None:
    """A folder typed on the command line, from the working folder even before it exists."""
    return None if path is None else str(real_path(path))


def _lora_flag(value: str | None) -> str | None:
    return "" if value is not None and value.lower() == "none" else _from_here(value)


@click.group(cls=LazyGroup, lazy={**TOOLS, "dataset": "training.cli:dataset", "train": "training.cli:train"})  # LoRA training
@click.version_option(__version__, prog_name="punkgen")
def main() -> None:
    """Turn trait tables into a finished collection of 24×24 pixel-art punks."""


def run_options(command: Callable[..., None]) -> Callable[..., None]:
    """The flags that describe a run (the config, N, seed and how tokens render): ``collection`` takes them, and so
    do the commands that change tokens of its folder, which must describe it the same way."""
    options = [
        click.option("-n", "--size", **flag_option("collection.size")),
        click.option("--seed", **flag_option("collection.seed")),
        config_option,
        click.option("--backend", **flag_option("render.backend")),
        click.option("--model", help=flag_help("model.base", note="; a path is from the working folder")),
        click.option(
            "--lora", help=flag_help("model.lora", lead="the LoRA .safetensors file (from the working folder), or 'none'")
        ),
        click.option("--lora-scale", **flag_option("model.lora_scale")),
        click.option("--steps", **flag_option("render.steps")),
        click.option("--render-size", **flag_option("render.width", "render.height", lead="render width and height in pixels")),
        click.option("--batch-size", **flag_option("render.batch_size")),
        click.option(
            "--renders",
            type=click.Path(path_type=Path, file_okay=False),
            help=flag_help(
                "render.renders", lead="import: the folder AUTOMATIC1111 or ComfyUI saves renders in (from the working folder)"
            ),
        ),
        click.option("--device", **flag_option("render.device")),
        click.option("--allow-download", is_flag=True, default=None, help=flag_help("model.allow_download")),
        click.option(
            "--no-filter",
            is_flag=True,
            help=flag_help(
                "quality.enabled", lead="accept every render: turns the quality filter off (e.g. for untrained test models)"
            ),
        ),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def run_config(flags: dict[str, Any]) -> Config:
    """The config the run flags describe: the file's settings with each given flag on top."""
    render_size = flags.pop("render_size")
    return (
        load_config(flags.pop("config_path"))
        .override("collection", size=flags.pop("size"), seed=flags.pop("seed"))
        .override(
            "model",
            base=_from_here(flags.pop("model")),
            lora=_lora_flag(flags.pop("lora")),
            lora_scale=flags.pop("lora_scale"),
            allow_download=flags.pop("allow_download"),
        )
        .override(
            "render",
            backend=flags.pop("backend"),
            steps=flags.pop("steps"),
            width=render_size,
            height=render_size,
            batch_size=flags.pop("batch_size"),
            device=flags.pop("device"),
            renders=_absolute(flags.pop("renders")),
        )
        .override("quality", enabled=False if flags.pop("no_filter") else None)
    )


def report_run(summary: Summary) -> None:
    """The run's report (one, from the main process of a multi-process run), then the exit status it earns."""
    if summary.main:
        for line in summary.report():
            say(line)
    if summary.waiting:
        raise SystemExit(ExitStatus.WAITING)
    if summary.failed:
        raise SystemExit(ExitStatus.TOKENS_FAILED)


def notice(line: str) -> None:
    say(line, err=True)


@main.command()
@run_options
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), help="Output folder  [default: output/<collection slug>]"
)
@click.option("--force", is_flag=True, help="Replace a different collection already in --out.")
def collection(out, force, quiet, **flags) -> None:
    """Generate the collection, or finish an interrupted run in the same folder."""
    from generator.run.collection import run_collection

    report_run(run_collection(run_config(flags), out=out, force=force, progress=not quiet, notify=notice))


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.argument("token_ids", nargs=-1, required=True, type=click.IntRange(min=0), metavar="ID...")
@run_options
@click.option(
    "--traits", "fresh_traits", is_flag=True, help="Draw each token a fresh trait set (weighted, rules obeyed, distinct)."
)
def reroll(folder, token_ids, fresh_traits, quiet, **flags) -> None:
    """Render tokens ID... of FOLDER again at their next attempts (same traits and prompt unless --traits).

    Pass the same --config and render flags that made FOLDER (N and the seed are read from its run.json); running the
    same reroll again after an interruption finishes it.
    """
    from generator.curate.reroll import reroll_tokens

    size, seed = flags["size"], flags["seed"]  # checked against run.json rather than applied
    config = run_config({**flags, "size": None, "seed": None})
    report_run(reroll_tokens(config, folder, token_ids, fresh_traits, not quiet, notice, size, seed))


@main.command("replace")
@click.argument("folder", type=click.Path(path_type=Path))
@click.argument("token_id", type=click.IntRange(min=0), metavar="ID")
@click.option(
    "--image",
    "source",
    required=True,
    type=click.Path(path_type=Path),
    help="The hand-fixed token: S×S, or an exact NEAREST upscale.",
)
@click.option(
    "--set", "changes", multiple=True, metavar="TRAIT=VALUE", help="Change one trait to another value of its table (repeatable)."
)
@config_option
def replace_command(folder, token_id, source, changes, config_path) -> None:
    """Put a hand-fixed image in place of token ID of FOLDER, recorded in its manifest."""
    from generator.curate.replace import replace_token

    pairs = []
    for change in changes:
        trait, equals, value = change.partition("=")
        if not equals:
            raise UserMistake(f"--set {change!r}: write it as TRAIT=VALUE, e.g. --set Hair=Hoodie")
        pairs.append((trait.strip(), value.strip()))
    result = replace_token(load_config(config_path), folder, token_id, source, pairs)
    for line in result.report():
        say(line, err=line.startswith("warning:"))


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@config_option
def verify(folder, config_path) -> None:
    """Check FOLDER's images and metadata against its manifest and the schemas; list every difference."""
    from generator.curate.verify import verify_folder

    result = verify_folder(folder, load_config(config_path))
    for problem in result.problems:
        say(problem)
    click.echo(result.summary())
    if result.problems:
        raise SystemExit(ExitStatus.FOLDER_DIFFERS)
    if result.unfinished:
        raise SystemExit(ExitStatus.TOKENS_FAILED)
