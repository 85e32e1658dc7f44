"""The click group every punkgen command runs under, so a user's mistake reads the same from any entry point.

``punkgen`` (:mod:`generator.cli`) and ``python -m training`` (what ``accelerate launch -m
training`` runs) both use it: a :class:`UserError`, or a flag click itself refuses, becomes one
line and exit status 2; Ctrl-C becomes one line and 130.
"""

from __future__ import annotations

import importlib

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


class LazyGroup(CommandGroup):
    """A group that names some commands by ``"module:attribute"`` and imports them only when asked for.

    ``punkgen dataset`` and ``punkgen train`` live in the ``training`` package, which builds on
    ``generator``; naming them here instead of importing them keeps ``generator`` from depending
    on ``training`` (no package cycle) and keeps every other command from loading it.
    """

    def __init__(self, *args, lazy: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.lazy:
            return super().get_command(ctx, name)
        module, attribute = self.lazy[name].split(":")
        return getattr(importlib.import_module(module), attribute)
