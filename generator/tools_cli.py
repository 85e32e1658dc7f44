"""The standalone tools of ``punkgen``: files and folders in, a result out, no collection run (``quality calibrate``
reads a finished one).

Loaded only when one of them is asked for (``generator.cli.TOOLS``, through :class:`~generator.command.LazyGroup`),
so ``punkgen collection`` never imports them. Like every command: parse flags, call the library, print.
"""

from __future__ import annotations

from pathlib import Path

import click

from generator.command import UserMistake, config_option, say
from generator.config import load_config
from generator.pixels.thresholds import DEFAULT_MARGIN
from generator.plan.importers import TOOLS as IMPORTERS
from generator.plan.importers import import_project
from generator.schemas.reference import standalone_option


@click.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--originals", required=True, type=click.Path(path_type=Path), help="Folder of the creator's S×S originals.")
@click.option("--checkpoints", multiple=True, type=click.Path(path_type=Path), help="A run of the same plan; repeatable.")
@click.option("-o", "--out", type=click.Path(path_type=Path, file_okay=False), help="Output folder  [default: FOLDER/compare]")
@config_option
def compare(folder, originals, checkpoints, out, config_path) -> None:
    """Put FOLDER's tokens beside their nearest originals: a sheet, and palette, colour and distance figures per run."""
    from generator.curate.compare import compare_runs

    for line in compare_runs(load_config(config_path), folder, checkpoints, originals, out).report_lines():
        say(line)


@click.command()
@click.argument("source", type=click.Path(path_type=Path, file_okay=False))
@click.argument("target", type=click.Path(path_type=Path, file_okay=False))
@click.option("--size", **standalone_option("pixels.size"))
@click.option(
    "--palette",
    "palette_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help=".hex or .gpl; without one, colours are only rounded.",
)
@click.option("--method", **standalone_option("pixels.method"))
@click.option("--keep-going", is_flag=True, help="Convert the good files when some are bad (still exits 2).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def pixelate(source, target, size, palette_path, method, keep_going, quiet) -> None:
    """Convert every render in SOURCE (PNG/JPEG, e.g. 512×512) to a SIZE×SIZE pixel-art PNG of the same name in TARGET."""
    from generator.pixels.palette import read_palette
    from generator.pixels.pixelate import pixelate_folder
    from generator.progress import progress_bar

    palette = read_palette(palette_path) if palette_path else None
    with progress_bar("pixelate", "image", shown=not quiet) as advance:
        summary = pixelate_folder(source, target, size, palette, method, keep_going, progress=advance)
    click.echo(f"{summary.converted} images → {target} ({size}×{size}, {method})")
    if summary.problems:
        for problem in summary.problems:
            say(f"skipped {problem}", err=True)
        raise UserMistake(f"{len(summary.problems)} file(s) could not be converted (listed above)")


@click.group()
def palette() -> None:
    """Collection palettes (.hex, .gpl)."""


@palette.command("extract")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True, help="palette file: .hex or .gpl")
def palette_extract(sources, output) -> None:
    """Collect every colour of 24×24 originals (files or folders) into a palette file."""
    from generator.pixels.palette import extract_palette, write_palette

    found = extract_palette(sources)
    write_palette(output, found)
    click.echo(f"{len(found)} colours → {output}")


@click.group()
def quality() -> None:
    """The quality filter's [quality] thresholds."""


@quality.command("calibrate")
@click.argument("renders", nargs=-1, required=True, type=click.Path(path_type=Path))
@config_option
@click.option(
    "--margin",
    type=click.FloatRange(min=0),
    default=DEFAULT_MARGIN,
    show_default=True,
    help="Where a default fails a good render: the share of the good values' range allowed beyond the worst one.",
)
@click.option("--write", is_flag=True, help="Put the suggested thresholds into [quality] of the --config file.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def quality_calibrate(renders, config_path, margin, write, quiet) -> None:
    """Suggest [quality] thresholds from RENDERS you call good: image files, folders of them, a finished import collection."""
    from generator.curate.calibrate import calibrate, report_lines, write_thresholds
    from generator.progress import progress_bar

    with progress_bar("calibrate", "render", shown=not quiet) as advance:
        calibration = calibrate(load_config(config_path), renders, margin, advance)
    written = write_thresholds(config_path, calibration) if write else None
    for line in report_lines(calibration, written, config_path):
        click.echo(line)


@click.group()
def traits() -> None:
    """Inspect, validate and import trait tables."""


@traits.command("check")
@config_option
def traits_check(config_path) -> None:
    """Validate tables, rules, plan and layers; print each value's configured and expected share."""
    from generator.preflight.report import check_traits, report_lines, warning_lines

    report = check_traits(load_config(config_path))
    for line in report_lines(report):
        say(line)
    for line in warning_lines(report):
        say(line, err=True)


@traits.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--from",
    "tool",
    required=True,
    type=click.Choice(list(IMPORTERS)),
    help="The tool SOURCE was made for.",
)
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The trait folder to write (new or empty).",
)
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The tool's config  [default: SOURCE/src/config.js; nft-generator-py: SOURCE/config.json]",
)
@click.option("--configuration", type=click.IntRange(min=1), help="Which layerConfigurations entry to import, from 1.")
def traits_import(source, tool, to, config, configuration) -> None:
    """Write a HashLips, nftchef or nft-generator-py project in SOURCE as a punkgen trait folder in --to."""
    for note in import_project(source, tool, to, config, configuration):
        say(f"note: {note}", err=True)
    click.echo(f"{tool} project {source} → {to}; run: punkgen collection --config {to / 'collection.toml'}")
