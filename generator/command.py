"""The click group every punkgen command runs under, so a user's mistake reads the same from any entry point.

``punkgen`` (:mod:`generator.cli`) and ``python -m training`` (what ``accelerate launch -m
training`` runs) both use it: a :class:`UserError`, or a flag click itself refuses, becomes one
line and exit status 2; Ctrl-C becomes one line and 130.
"""

from __future__ import annotations

import click

from generator.errors import ExitStatus, UserError


class UserMistake(click.ClickException):
    exit_code = ExitStatus.USER_MISTAKE


class CommandGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as error:
            raise UserMistake(str(error)) from None
        except click.UsageError as error:  # a flag or argument click itself refused: one line too, not the usage text
            where = error.ctx.command_path if error.ctx else ctx.command_path
            raise UserMistake(f"{where}: {error.format_message().rstrip('.')}; see {where} --help") from None
        except KeyboardInterrupt:
            click.echo("\ninterrupted: what was finished is kept; run the same command again to go on", err=True)
            ctx.exit(ExitStatus.INTERRUPTED)
