"""``punkgen studio``: the rarity studio, a local page that edits the trait folder (:mod:`generator.studio`).

Loaded only when asked for (``generator.cli.TOOLS``), so no other command imports the HTTP server. Like every command:
parse flags, call the library, print.
"""

from __future__ import annotations

import click

from generator.command import config_option, say


@click.command()
@config_option
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port on 127.0.0.1  [default: any free one]")
@click.option("--no-browser", is_flag=True, help="Print the page's URL without opening a browser.")
def studio(config_path, port, no_browser) -> None:
    """Edit weights, prompts, quotas and rules in a local page that shows shares, sample tokens and ranks as you type."""
    from generator.studio.server import serve

    def announce(url: str) -> None:
        say(f"punkgen studio for {config_path.parent}: {url}  (Ctrl-C stops it)")

    unsaved = serve(config_path, port, not no_browser, announce)
    say(f"studio stopped; {len(unsaved)} edited file(s) not saved: {', '.join(unsaved)}" if unsaved else "studio stopped")
