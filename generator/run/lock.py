"""One process owns a collection folder at a time: an OS lock (``flock``) on the folder itself.

Two runs into one folder interleave their manifest lines and corrupt it, and two exports race on
the staging folder, so every command that writes a collection folder holds this lock for its
whole run. It is an ``flock`` on the directory's own descriptor: no lock file is written, and the
kernel releases it when the last holder exits, so a lock of a killed run never blocks.

Worker processes hold a duplicate of the descriptor (see :mod:`generator.workers`), so a worker
orphaned by a ``kill -9`` keeps the folder until it is gone too. A new run that finds the lock
held by a process that no longer exists waits for those orphans (they die within milliseconds)
instead of refusing; a lock held by a live process is refused at once, naming that process.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from generator.errors import UserError
from generator.files import os_error_message, process_alive

ORPHAN_GRACE_S = 5.0  # orphaned workers die within ms (PR_SET_PDEATHSIG) or 0.2 s (the portable poll)
POLL_S = 0.02
PROC_LOCKS = Path("/proc/locks")


@contextmanager
def folder_lock(folder: Path, purpose: str, shared: bool = False) -> Iterator[int]:
    """Hold ``folder`` (created if missing) for the block; yields the locked descriptor for worker processes.

    ``shared``: for a command that only reads (``verify``): refused while a run or an export writes, beside others
    that only read."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise UserError(os_error_message(error, folder, f"choose another folder for {purpose}")) from None
    try:
        _acquire(descriptor, folder, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield descriptor
    finally:
        os.close(descriptor)  # releases the lock unless a worker still holds a duplicate


def _acquire(descriptor: int, folder: Path, mode: int) -> None:
    deadline = None
    while True:
        try:
            fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = _lock_holder(descriptor)
            if holder is None or process_alive(holder):
                who = f"pid {holder}: {_command_of(holder)}" if holder else "its pid is unknown on this system"
                raise UserError(
                    f"{folder} is in use by another punkgen process ({who}); wait for it to finish, or stop it"
                ) from None
            deadline = deadline or time.monotonic() + ORPHAN_GRACE_S
            if time.monotonic() > deadline:
                raise UserError(
                    f"{folder} is still locked by a stopped punkgen run's processes after {ORPHAN_GRACE_S:g} s; "
                    "end them (e.g. `pkill -f 'punkgen|generator'`) and run again"
                ) from None
            time.sleep(POLL_S)


def _lock_holder(descriptor: int) -> int | None:
    """The pid that took the lock on this directory, from Linux's ``/proc/locks``; None where that is unknown.

    The pid stays that of the process that locked, even after it died while its workers hold on.
    """
    inode = os.fstat(descriptor).st_ino
    try:
        lines = PROC_LOCKS.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
            return int(fields[4])
    return None


def _command_of(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "command unknown"
    command = " ".join(" ".join(word.decode(errors="replace").split()) for word in words if word)
    return _URL.sub(_host_only, command)[:200]  # one line, always


_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*)://(\S*)")


def _host_only(url: re.Match) -> str:
    """A URL in another process's command line (``deploy --rpc``) cut to its scheme and host: its user, password,
    path and query may hold a provider's API key, which a refusal printed to someone's terminal must not show."""
    try:
        parts = urlsplit(url.group(0))
        host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    except ValueError:  # a bad IPv6 literal or port: say nothing of the rest
        return f"{url.group(1)}://…"
    hidden = "/…" if parts.username or parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{url.group(1)}://{host}{hidden}"
