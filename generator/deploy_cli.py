"""``punkgen deploy``: send a folder's on-chain export to an Ethereum JSON-RPC endpoint (docs/onchain.md, "Deploy").

Loaded only when asked for (``generator.cli.TOOLS``), so no other command imports web3. Like every command: parse
flags, call the library (:mod:`generator.publish.onchain.deploy`), print; the token contract's address is the last
line, for a script to read.
"""

from __future__ import annotations

from pathlib import Path

import click

from generator.command import in_flags
from generator.errors import ExitStatus, plural


class ChainFailed(click.ClickException):
    """The chain or the network failed (unreachable, refused, out of funds, reverted): exit 3, the journal kept."""

    exit_code = ExitStatus.CHAIN_FAILED


@click.command("deploy")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--rpc", required=True, help="The chain's JSON-RPC URL (http:// or https://), e.g. a testnet provider's.")
@click.option(
    "--key-env",
    required=True,
    help="The NAME of the environment variable holding the deploying account's private key (never the key itself).",
)
@click.option("--mint-to", help="Mint the whole supply to this address (0x…) once the data is sealed.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def deploy(folder, rpc, key_env, mint_to, quiet) -> None:
    """Deploy FOLDER/export/onchain/ (punkgen export FOLDER --onchain): the renderer, its data, the seal and the
    mints, journaled in deployed.json; run it again to resume after any interruption."""
    from generator.progress import progress_bar
    from generator.publish.onchain.deploy import ChainError
    from generator.publish.onchain.deploy import deploy as deploy_plan

    try:
        with progress_bar("deploy", "tx", shown=not quiet) as advance:
            deployed = deploy_plan(folder, rpc, key_env, mint_to, advance)
    except ChainError as error:  # a library line, as the command line speaks (<rpc> is --rpc), exit 3
        command = click.get_current_context().command
        raise ChainFailed(in_flags(str(error), command, [command])) from None
    click.echo(
        f"{plural(deployed.steps, 'transaction')} confirmed on chain {deployed.chain_id} "
        f"({deployed.sent_now} sent by this run); journal: {deployed.journal}"
    )
    click.echo(deployed.address)
