"""The ``punkgen`` command: parse flags, call the library, print. No logic lives here."""

from __future__ import annotations

from pathlib import Path

import click

from generator import __version__
from generator.check import check_traits
from generator.collection import run_collection
from generator.config import DEFAULT_CONFIG_PATH, load_config
from generator.errors import UserError
from generator.render import BACKEND_CHOICES


class _UserMistake(click.ClickException):
    exit_code = 2


class _Group(click.Group):
    """Turns a :class:`UserError` from any subcommand into one line and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as error:
            raise _UserMistake(str(error)) from None
        except KeyboardInterrupt:
            click.echo("\ninterrupted: finished tokens are kept; run the same command again to resume", err=True)
            ctx.exit(130)


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_CONFIG_PATH,
    show_default=True,
    help="collection.toml; the trait tables are read from its folder.",
)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="punkgen")
def main() -> None:
    """Turn trait tables into a finished collection of 24×24 pixel-art punks."""


@main.command()
@click.option("-n", "--size", type=click.IntRange(min=1), help="Number of tokens  [default: [collection].size]")
@click.option("--seed", type=click.IntRange(min=0), help="Collection seed  [default: [collection].seed]")
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), help="Output folder  [default: output/<collection slug>]"
)
@config_option
@click.option("--backend", type=click.Choice(BACKEND_CHOICES), help="Renderer  [default: [render].backend]")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    help="Prompts per diffusion batch; sprites composite 256 at a time  [default: [render].batch_size]",
)
@click.option("--force", is_flag=True, help="Replace a different collection already in --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def collection(size, seed, out, config_path, backend, batch_size, force, quiet) -> None:
    """Generate the collection, or finish an interrupted run in the same folder."""
    config = (
        load_config(config_path)
        .override("collection", size=size, seed=seed)
        .override("render", backend=backend, batch_size=batch_size)
    )
    summary = run_collection(config, out=out, force=force, progress=not quiet, notify=lambda line: click.echo(line, err=True))
    resumed = f", {summary.resumed} already done" if summary.resumed else ""
    click.echo(
        f"{summary.planned} tokens in {summary.folder} ({summary.rendered} rendered with {summary.backend}{resumed}) "
        f"in {summary.seconds:.1f} s"
    )


@main.group()
def traits() -> None:
    """Inspect and validate the trait tables."""


@traits.command("check")
@config_option
def traits_check(config_path) -> None:
    """Validate tables, rules and layers; print each value's configured share."""
    config = load_config(config_path)
    report = check_traits(config)
    click.echo(f"{config.path}: {len(report.tables)} traits, {report.rules} rules, {report.capacity:,} distinct valid trait sets")
    for table in report.tables:
        click.echo(f"\n{table.trait_type} ({table.path})")
        for value, share in zip(table.values, table.shares(), strict=True):
            click.echo(f"  {value.name:<24} {value.weight:>8g}  {share:7.2%}")
    click.echo(f"\nlayers: {report.layers} files checked in {config.layers_folder}")
