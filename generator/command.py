"""The click group every punkgen command runs under, so a user's mistake reads the same from any entry point.

``punkgen`` (:mod:`generator.cli`) and ``python -m training`` (what ``accelerate launch -m
training`` runs) both use it: a :class:`UserError`, or a flag click itself refuses, becomes one
line and exit status 2; Ctrl-C becomes one line and 130.
"""

from __future__ import annotations

import gc
import importlib
import re
import signal
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import click

from generator.config import DEFAULT_CONFIG_PATH
from generator.errors import Arg, ExitStatus, UserError


class UserMistake(click.ClickException):
    exit_code = ExitStatus.USER_MISTAKE


INTERRUPTED_LINE = "interrupted: what was finished is kept; run the same command again to go on"


class _Interrupted(BaseException):
    """Ctrl-C on its way to :meth:`CommandGroup.main`: click turns a ``KeyboardInterrupt`` into "Aborted!" and
    status 1, but lets this through."""


class CommandGroup(click.Group):
    working = False  # the process's own entry, until its command is over: Ctrl-C interrupts (see main)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's entry point; as the process's own (no ``args``: they come from ``sys.argv``), it also ends it.

        Python answers a Ctrl-C that lands while it shuts down (~50 ms after the command returned: a
        sizeable share of a small inline sprite run) with the default action, death by SIGINT: status
        -2 to a script, with nothing said. So the process ends with SIGINT ignored, and a Ctrl-C that
        came before that is answered as any other. One that lands between the command's end and that
        switch found click's "Aborted!" (status 1) or a traceback: from the moment the command is over
        (the end of :meth:`invoke`), a Ctrl-C leaves the status as it is. Called with ``args``
        (``CliRunner``, a test), the caller's process goes on and keeps its own SIGINT handling.
        """
        if args is not None or not standalone_mode:
            try:
                return super().main(args, prog_name, complete_var, standalone_mode, **extra)
            except _Interrupted:
                click.echo(f"\n{INTERRUPTED_LINE}", err=True)
                raise SystemExit(ExitStatus.INTERRUPTED) from None
        self.working = True
        signal.signal(signal.SIGINT, self._on_ctrl_c)
        try:
            super().main(args, prog_name, complete_var, standalone_mode, **extra)
            status: int | str | None = ExitStatus.DONE  # not reached: click ends with SystemExit in standalone mode
        except SystemExit as ended:
            status = ended.code
        except (_Interrupted, KeyboardInterrupt):  # KeyboardInterrupt: one click raised or let through
            exit_interrupted()
        raise SystemExit(_ending(status))

    def _on_ctrl_c(self, signum: int, frame: Any) -> None:
        if self.working:
            signal.default_int_handler(signum, frame)  # KeyboardInterrupt

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any):
        with _ctrl_c_interrupts():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context):
        with _ctrl_c_interrupts():
            try:
                return super().invoke(ctx)
            except UserError as error:
                invoked = self._invoked(ctx)  # a lazy group's commands (`traits import`) are among no root group's
                group = [*_all_commands(ctx.find_root().command), *(_all_commands(invoked) if invoked else ())]
                raise UserMistake(in_flags(str(error), invoked, group)) from None
            except click.UsageError as error:  # a flag or argument click itself refused: one line too, not the usage text
                where = error.ctx.command_path if error.ctx else ctx.command_path
                raise UserMistake(f"{where}: {error.format_message().rstrip('.')}; see {where} --help") from None
            finally:
                if ctx.parent is None:
                    self.working = False  # inside the block: a Ctrl-C before this line still interrupts

    def _invoked(self, ctx: click.Context) -> click.Command | None:
        return self.get_command(ctx, ctx.invoked_subcommand) if ctx.invoked_subcommand else None


def say(line: str, err: bool = False) -> None:
    """Print a line the library wrote (a report, a notice) as the command line speaks: :func:`in_flags`."""
    ctx = click.get_current_context()
    click.echo(in_flags(line, ctx.command, _all_commands(ctx.find_root().command)), err=err)


def _all_commands(command: click.Command) -> Iterator[click.Command]:
    yield command
    for child in getattr(command, "commands", {}).values():  # the commands a group holds, not the lazy ones
        yield from _all_commands(child)


def in_flags(message: str, running: click.Command | None, group: Iterable[click.Command]) -> str:
    """A library message as the command line says it: each setting it names gets the flag of the ``running`` command
    that overrides it (``[render].device (--device)``; a setting this command has no flag for stays as it is), each
    :class:`Arg` becomes its flag (``--placeholder``), the running command's or else the first of the ``group``'s
    (a reroll refusal's ``<force>`` is ``collection``'s). The flags come from the commands' own declarations (a
    setting's from the help :func:`~generator.schemas.reference.flag_help` wrote), so there is no second table."""
    settings, arguments = _flags_of(running, tuple(group))
    for setting, flagged in settings:  # the first mention; [model].lora is not [model].lora_scale
        message = setting.sub(flagged, message, count=1)
    for argument in Arg:
        message = message.replace(argument, arguments.get(argument, argument))
    return message


@cache
def _flags_of(
    running: click.Command | None, group: tuple[click.Command, ...]
) -> tuple[tuple[tuple[re.Pattern[str], str], ...], dict[str, str]]:
    """What :func:`in_flags` rewrites, read from the commands' parameters once per command rather than per line (a
    ``verify`` of a damaged folder prints a line per file): each setting's pattern with its flagged spelling, and each
    argument's flag."""
    from generator.schemas.reference import overridden_settings  # only when a line is printed

    running_params = running.params if running else []
    flags = {name: _long_flag(param) for param in running_params for name in overridden_settings(param)}
    settings = tuple((re.compile(rf"{re.escape(name)}(?!\w)"), rf"\g<0> ({flag})") for name, flag in flags.items())
    arguments: dict[str, str] = {}
    for param in [*running_params, *(param for command in group for param in command.params)]:
        flag = _long_flag(param)
        for name in (param.name, flag.lstrip("-").replace("-", "_")):
            arguments.setdefault(f"<{name}>", flag)
    return settings, arguments


def _long_flag(param: click.Parameter) -> str:
    """``--size`` of ``-n/--size``; an argument's metavar (``FOLDER``), which is how its help names it."""
    if not isinstance(param, click.Option):
        return param.human_readable_name
    return max(param.opts, key=len)


@contextmanager
def _ctrl_c_interrupts() -> Iterator[None]:
    """A Ctrl-C inside the block leaves as :class:`_Interrupted`, past click's own handling, to be said once."""
    try:
        yield
    except KeyboardInterrupt:
        raise _Interrupted from None


def exit_interrupted() -> NoReturn:
    """End the process as Ctrl-C does: the one line, status 130, SIGINT ignored until the end (see
    :meth:`CommandGroup.main`). Also for ``python -m generator`` when Ctrl-C came while it imported."""
    raise SystemExit(_ending(None, interrupted=True))


def _ending(status: int | str | None, interrupted: bool = False) -> int | str | None:
    """SIGINT ignored from here to the process's end, then ``status``, or 130 (and the line) for a Ctrl-C that
    landed first. A Ctrl-C after the switch finds the command already over, and leaves its status as it is. What is
    left in memory is frozen out of the garbage collector, for the OS to take back whole: atexit handlers still run,
    and so does the ``__del__`` of every object its reference count frees (every file punkgen writes is closed by then).

    Setting the handler runs a pending one first, which may raise; the loop keeps switching until it takes.
    SIGINT is blocked first: one arriving inside the switch itself was left to a handler no longer there, and
    Python printed "Signal 2 ignored due to race condition" on a clean exit (blocked, then ignored, the
    kernel drops it). The line is said only once the switch took, so no later Ctrl-C can cut it short or say
    it twice.
    """
    while True:
        try:
            if hasattr(signal, "pthread_sigmask"):  # POSIX; Windows has no signal masks
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            break
        except KeyboardInterrupt:
            interrupted = True
    gc.freeze()  # the interpreter's collections while it shuts down walked every object left: 30–80 ms of a run's end
    if interrupted and status != ExitStatus.INTERRUPTED:
        click.echo(f"\n{INTERRUPTED_LINE}", err=True)
        return ExitStatus.INTERRUPTED
    return status


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


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_CONFIG_PATH,
    show_default=True,
    help="collection.toml; the trait tables are read from its folder.",
)
