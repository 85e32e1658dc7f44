"""The minting commands of ``punkgen``: ``export`` (every target: ERC-721, Metaplex, Ordinals, on-chain) and ``rarity``.

Loaded only when one of them is asked for (``generator.cli.TOOLS``, through :class:`~generator.command.LazyGroup`),
so ``punkgen collection`` never imports them. Like every command: parse flags, call the library, print.
"""

from __future__ import annotations

from pathlib import Path

import click

from generator.command import config_option, say
from generator.config import load_config
from generator.errors import Arg, plural
from generator.publish.formats import DEFAULT, REGISTRY, format_names
from generator.publish.onchain.evm import DEFAULT_GAS_PRICE
from generator.publish.ordinals.cost import DEFAULT_FEE_RATE
from generator.schemas.reference import flag_help, flag_option

# ── export and rarity: the minting folder, provenance, rarity ranks and the gallery ───────────
# Their libraries are imported inside the commands, so `punkgen collection` never loads them.


class _Registered(click.Choice):
    """``--format``'s choices, read from the export format registry when the flag is parsed, so a format registered
    after this module was imported is offered too."""

    def __init__(self) -> None:
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:
        return format_names()


@click.command("export")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--base-uri",
    help=flag_help(
        "metadata.base_uri", note=": where export/images/ will be served, ipfs://<CID>/, ar://<id>/ or https://…/ (ends with /)"
    ),
)
@click.option("--scale", **flag_option("export.scale"))
@click.option(
    "--json-extension", is_flag=True, help="Write metadata/<id>.json instead of metadata/<id> (metaplex always uses .json)."
)
@click.option(
    "--format",
    "fmt",
    type=_Registered(),
    default=DEFAULT,
    show_default=True,
    help="; ".join(f"{name}: {target.summary}" for name, target in REGISTRY.items()),
)
@click.option(
    "--car",
    is_flag=True,
    help="Pack images/ and metadata/ into IPFS CAR files, link every token to the images' CID, print the contract values.",
)
@click.option(
    "--placeholder",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Pre-reveal image: writes export/hidden/ (and Candy Machine hiddenSettings.json for metaplex).",
)
@click.option(
    "--starting-index",
    type=int,
    help="Publish the reveal: token t shows item (t - first + K) mod N + first; provenance keeps the generated order.",
)
@click.option(
    "--ordinals",
    is_flag=True,
    help="Bitcoin Ordinals: layers inscribed once, each token a recursive SVG (export/ordinals/; docs/ordinals.md).",
)
@click.option(
    "--inscribed",
    type=click.Path(path_type=Path, dir_okay=False),
    multiple=True,
    help="With --ordinals: the JSON `ord wallet batch` printed, once per batch file in order; writes the next phase.",
)
@click.option("--fee-rate", type=float, help=f"With --ordinals: sat/vB for the cost report [default: {DEFAULT_FEE_RATE:g}].")
@click.option(
    "--onchain",
    is_flag=True,
    help="Ethereum, fully on-chain: the art encoded the Nouns way, layers once (export/onchain/; docs/onchain.md).",
)
@click.option(
    "--gas-price", type=float, help=f"With --onchain: gwei per gas for the cost report [default: {DEFAULT_GAS_PRICE:g}]."
)
@click.option("--no-gas", is_flag=True, help="With --onchain: skip the gas measurement (seconds per token measured).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@config_option
def export(
    folder,
    base_uri,
    scale,
    json_extension,
    fmt,
    car,
    placeholder,
    starting_index,
    ordinals,
    inscribed,
    fee_rate,
    onchain,
    gas_price,
    no_gas,
    quiet,
    config_path,
) -> None:
    """Write FOLDER/export/ (upload-ready images, metadata, collection.json, provenance, rarity) and FOLDER/index.html."""
    from generator.progress import progress_bar
    from generator.publish.export import export_collection
    from generator.publish.onchain.export import check_gas_options
    from generator.publish.ordinals.phases import check_ordinals_options

    only_with = {Arg.INSCRIBED: bool(inscribed), Arg.FEE_RATE: fee_rate is not None}
    never_with = {"[metadata].base_uri": base_uri is not None, Arg.CAR: car, Arg.PLACEHOLDER: placeholder is not None}
    never_with |= {Arg.JSON_EXTENSION: json_extension, Arg.FORMAT: _given("fmt")}
    check_gas_options(gas_price, no_gas, onchain)
    if onchain:
        _export_onchain(
            folder,
            config_path,
            never_with | only_with | {Arg.ORDINALS: ordinals, Arg.STARTING_INDEX: _given("starting_index")},
            None if no_gas else DEFAULT_GAS_PRICE if gas_price is None else gas_price,
        )
        return
    check_ordinals_options(ordinals, only_with, never_with)
    if ordinals:
        _export_ordinals(folder, config_path, inscribed, fee_rate, starting_index)
        return
    config = load_config(config_path).override("export", scale=scale)
    with progress_bar("publish", "token", shown=not quiet) as advance:
        summary = export_collection(
            folder,
            config,
            base_uri=base_uri,
            json_extension=json_extension,
            fmt=fmt,
            car=car,
            placeholder=placeholder,
            starting_index=starting_index,
            progress=advance,
        )
    if summary.notice:
        say(summary.notice, err=True)
    click.echo(
        f"{plural(summary.tokens, 'token')} exported to {summary.folder} ({summary.format}, {summary.pixels}×{summary.pixels} px = "
        f"{summary.scale}× the masters, images at {summary.base_uri}) in {summary.seconds:.1f} s"
    )
    click.echo(f"provenance hash: {summary.provenance}")
    if summary.starting_index is not None:
        click.echo(f"revealed with starting index {summary.starting_index} (the rule is in provenance.txt)")
    for line in summary.contract:
        say(line)
    click.echo(f"gallery: {summary.gallery}")


def _given(parameter: str) -> bool:
    """Whether the running command's ``parameter`` was typed, not left to its default."""
    return click.get_current_context().get_parameter_source(parameter) is not click.core.ParameterSource.DEFAULT


def _export_onchain(folder: Path, config_path: Path | None, given: dict[str, bool], gas_price: float | None) -> None:
    from generator.publish.onchain.export import check_onchain_options, export_onchain
    from generator.publish.onchain.report import report_lines

    check_onchain_options(given)
    summary = export_onchain(folder, load_config(config_path), gas_price)
    for line in report_lines(summary.report):
        click.echo(line)
    click.echo(f"written to {summary.folder}")


def _export_ordinals(folder: Path, config_path: Path | None, inscribed: tuple[Path, ...], fee_rate, starting_index) -> None:
    from generator.publish.ordinals.batch import ORD_COMMAND, output_name
    from generator.publish.ordinals.phases import export_ordinals

    summary = export_ordinals(
        folder,
        load_config(config_path),
        inscribed,
        DEFAULT_FEE_RATE if fee_rate is None else fee_rate,
        starting_index=starting_index,
    )
    click.echo(f"ordinals phase {summary.phase} of 3 written to {summary.folder}")
    click.echo(f"provenance hash: {summary.provenance} (in provenance.json, the parent of every token)")
    for line in summary.costs.lines:
        click.echo(line)
    if not summary.batches:
        click.echo(f"next: submit {summary.folder}/inscriptions.json and meta.json to the marketplaces (docs/ordinals.md)")
        return
    click.echo(f"next, in {summary.folder}:")
    for batch in summary.batches:
        click.echo(f"  {ORD_COMMAND.format(batch=batch, output=output_name(batch))}")
    given = " ".join(f"--inscribed {summary.folder / output_name(batch)}" for batch in summary.batches)
    click.echo(f"then: punkgen export {folder} --ordinals {given}")


@click.command("rarity")
@click.argument("folder", type=click.Path(path_type=Path))
@config_option
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="Tokens listed in each table.")
@click.option(
    "--none-as-value/--no-none-as-value",
    default=None,
    help="Score a None (or lacking) value like any value, in every marketplace method [each marketplace's default].",
)
@click.option(
    "--trait-count/--no-trait-count",
    default=None,
    help="Score the number of non-None traits as a trait, in every marketplace method [each marketplace's default].",
)
def rarity(folder, config_path, top, none_as_value, trait_count) -> None:
    """Rank FOLDER's tokens the OpenRarity way and the other marketplaces' ways; compare configured and realised shares."""
    from generator.publish.rank_methods import rarity_report

    for line in rarity_report(folder, load_config(config_path), top, none_as_value, trait_count):
        click.echo(line)
