"""Kill a real punkgen process at one chosen change it makes to a folder: before each open for writing, rename,
delete and mkdir, and in the middle of each write (half the bytes on disk, then SIGKILL).

The command runs in a child forked from the test process (punkgen already imported, so a point costs a fork, not an
interpreter start), which patches the ``os``/``io`` functions every punkgen write goes through, counts the changes
under ``folder``, and at change number ``point`` kills itself with SIGKILL: what a ``kill -9`` or a power cut of the
process leaves, at every place one can land. Linux and macOS only (``os.fork``).
"""

from __future__ import annotations

import builtins
import io
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class _Armed:
    """Counts changes under ``folder``; dies at number ``point`` (or at the first whose description ``at`` accepts)."""

    def __init__(self, folder: Path, point: int | None, at: Callable[[str, str], bool] | None):
        self.folder, self.point, self.at, self.seen = os.path.abspath(folder), point, at, 0
        self.descriptors: set[int] = set()

    def watched(self, path: Any) -> bool:
        try:
            path = os.path.abspath(os.fsdecode(path))
        except TypeError:
            return False  # a descriptor
        return path == self.folder or path.startswith(self.folder + os.sep)

    def change(self, kind: str, path: Any, partial: Callable[[], None] | None = None) -> None:
        """One change is about to happen: die here if it is the chosen one (after writing half, for a write)."""
        self.seen += 1
        if self.seen == self.point or (self.at is not None and self.at(kind, os.fsdecode(path))):
            if partial is not None:
                partial()
            os.kill(os.getpid(), signal.SIGKILL)


class _WatchedFile:
    """A file object whose every ``write`` is a change; the killing one writes half its data first."""

    def __init__(self, file: Any, path: Any, armed: _Armed):
        self._file, self._path, self._armed = file, path, armed

    def write(self, data: Any) -> int:
        def half() -> None:
            self._file.write(data[: len(data) // 2])
            self._file.flush()

        self._armed.change("write", self._path, half)
        return self._file.write(data)

    def __enter__(self) -> _WatchedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def __iter__(self) -> Any:
        return iter(self._file)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def _arm(armed: _Armed) -> None:
    real_open, real_os_open, real_write = io.open, os.open, os.write

    def watched_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if not armed.watched(file) or not set(mode) & set("wax+"):
            return real_open(file, mode, *args, **kwargs)
        armed.change("open", file)
        return _WatchedFile(real_open(file, mode, *args, **kwargs), file, armed)

    def watched_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if not armed.watched(path) or not flags & WRITE_FLAGS:
            return real_os_open(path, flags, *args, **kwargs)
        armed.change("open", path)
        descriptor = real_os_open(path, flags, *args, **kwargs)
        armed.descriptors.add(descriptor)
        return descriptor

    def watched_write(descriptor: int, data: Any) -> int:
        if descriptor in armed.descriptors:
            armed.change("write", f"fd {descriptor}", lambda: real_write(descriptor, bytes(data)[: len(data) // 2]))
        return real_write(descriptor, data)

    def before(name: str) -> None:
        real = getattr(os, name)

        def changing(path: Any, *args: Any, **kwargs: Any) -> Any:
            if armed.watched(path):
                armed.change(name, path)
            return real(path, *args, **kwargs)

        setattr(os, name, changing)

    io.open = builtins.open = watched_open
    os.open, os.write = watched_os_open, watched_write
    for name in ("replace", "rename", "unlink", "remove", "rmdir", "mkdir"):
        before(name)


def killed_at(
    args: Sequence[object], folder: Path, point: int | None = None, at: Callable[[str, str], bool] | None = None
) -> bool:
    """Run ``punkgen ARGS`` in a forked child killed at change ``point`` under ``folder`` (or at the first change
    ``at(kind, path)`` accepts); True if it was killed there, False if it finished first (it must then exit 0)."""
    from generator.cli import main

    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child never returns into the test
        status = 0
        try:
            _arm(_Armed(folder, point, at))
            main([str(arg) for arg in args], standalone_mode=False)
        except BaseException:  # noqa: BLE001 - anything but finishing is reported to the parent as status 1
            traceback.print_exc()
            status = 1
        finally:
            os._exit(status)
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL, status
        return True
    assert os.waitstatus_to_exitcode(status) == 0, f"punkgen {args} failed before its kill point"
    return False
