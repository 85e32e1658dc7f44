"""Safe names, atomic writes and bounded reads: how punkgen turns data into paths and files, and files into data."""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from generator.errors import UserError

PARTIAL_SUFFIX = ".partial"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _\-'.&+()]{0,63}$")


def is_safe_name(name: str) -> bool:
    """A name that can become one path component on every OS without escaping its folder.

    Letters, digits and a few punctuation marks; no separators, no leading dot, no ``..``, and no
    trailing dot or space (which Windows silently strips, making two values share one file).
    """
    return bool(_SAFE_NAME.match(name)) and ".." not in name and not name.endswith((".", " "))


def slugify(text: str) -> str:
    """Lowercase ASCII words joined by hyphens: ``"Bespoke Punks"`` → ``"bespoke-punks"``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def real_path(path: Path | str) -> Path:
    """``path`` made absolute through its links, or one line where a link loops back on itself (``ln -s loop loop``).

    Python 3.11 answers such a loop with a ``RuntimeError`` (a traceback) and 3.13 hands the looping link back as if it
    were resolved, to fail later at a mkdir or an open; so the loop is refused here, where the user's path is named.
    """
    try:
        resolved = Path(path).expanduser().resolve()
    except RuntimeError:
        resolved = None
    if resolved is None or any(os.path.islink(part) for part in (resolved, *resolved.parents)):  # never raises
        raise UserError(f"{path}: a symbolic link in this path loops back on itself; remove the link or name a real folder")
    return resolved


def partial_path(path: Path) -> Path:
    """Where ``path`` is staged before the rename: hidden and recognisable, so a resumed run can sweep it,
    and private to this process, so a worker of a killed run can never rename another's half-written file."""
    return path.with_name(f".{path.name}.{os.getpid()}{PARTIAL_SUFFIX}")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either its old content or all of the new one.

    A rename within one folder is atomic, so a run killed at any moment leaves no half-written
    file. No fsync: the guarantee is against a killed process, not a lost machine, and an fsync
    per file would cost more than rendering a sprite token.
    """
    staged = partial_path(path)
    staged.write_bytes(data)
    os.replace(staged, path)


def write_unvouched(path: Path, data: bytes) -> None:
    """Write a token file that no manifest line vouches for yet: created in place when it is new, else atomically.

    A token's files come before its manifest line, and until that line exists nothing trusts them: a
    resumed run writes the token again, ``verify`` names such files as left by an interrupted run, and
    ``--force`` removes them by their layout names. So a new file needs no staging: a kill mid-write
    leaves a torn file that the next run replaces, and it saves a rename (~10 % of a token's cost on
    tmpfs). A file already there may be one a line vouches for (a reroll renders over a finished token),
    so it is replaced atomically; ``O_EXCL`` tells the two apart in the same call that creates the file.
    Three system calls a file (open, write, close): a Python file object adds an fstat, an lseek and an ioctl.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except FileExistsError:
        write_atomic(path, data)
        return
    try:
        written = 0
        while written < len(data):  # a regular file takes it all at once, short of a full disk (an OSError)
            written += os.write(descriptor, data[written:])
    finally:
        os.close(descriptor)


def remove_partials(folder: Path) -> None:
    """Delete files staged by a run that was killed before its rename; one may vanish under the sweep, which is fine."""
    for staged in folder.rglob(f".*{PARTIAL_SUFFIX}"):
        staged.unlink(missing_ok=True)


# Failures of the place rather than of the program: a full disk, a read-only mount, no permission,
# a path through a regular file. Anything else (a file punkgen itself should have made, say) is a bug.
PLACE_ERRORS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a file is in the way",
    errno.EISDIR: "a folder is in the way",
    errno.ENAMETOOLONG: "the path is too long",
}


def is_place_error(error: OSError) -> bool:
    """Whether ``error`` is about where punkgen was asked to write (the user's to fix), not about punkgen."""
    return error.errno in PLACE_ERRORS


def os_error_message(error: OSError, path: Path | str, fix: str) -> str:
    """One line: the path the error concerns, what is wrong with it in plain words, and ``fix``."""
    where = error.filename or path
    return f"{where}: {PLACE_ERRORS.get(error.errno, error.strerror or str(error))}; {fix}"


@contextmanager
def place_errors_said(path: Path, fix: str) -> Iterator[None]:
    """A full disk, a read-only mount or a refused permission met inside the block, said in one line naming the path
    and ``fix`` (a :class:`UserError`); any other ``OSError`` is a bug and propagates as one."""
    try:
        yield
    except OSError as error:
        if not is_place_error(error):
            raise
        raise UserError(os_error_message(error, path, fix)) from None


# ── reading what the user hands over ─────────────────────────────────────────────────────────────
# Every file punkgen reads is a regular file of bounded size, checked before a byte is read: a symlink to /dev/zero
# would fill the memory, and a FIFO would block the reader forever (while holding the folder lock). Each kind of file
# has its own bound, far above anything real and far below a machine's memory.
MiB = 2**20
TEXT_LIMIT = 16 * MiB  # tables, collection.toml, palettes, workflows, JSON: a 10,000-value table is ~1 MiB
IMAGE_LIMIT = 64 * MiB  # hand-made art, layers, masters: a 24×24 token upscaled 100× is a few KiB as PNG
LOG_LIMIT = 4 * 2**30  # the manifest, which punkgen appends to: a million tokens' lines are ~1 GiB
RENDER_LIMIT = 256 * MiB  # a UI's render: an uncompressed 16-bit 4096² PNG is 128 MiB
MODEL_LIMIT = 16 * 2**30  # a LoRA or checkpoint read whole: an SD 1.5 rank-128 LoRA is ~150 MiB, a full SDXL 7 GiB

MISSING = "missing"  # what not_a_file (and resume's image_state) says of a file that is not there
_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def read_limited(path: Path, limit: int, missing: str) -> bytes:
    """The bytes of the regular file ``path`` (links followed), at most ``limit`` of them; ``missing`` is the fix to print
    when it does not exist. Every refusal (absent, a folder, a pipe or device, too large, unreadable) is one line."""
    with open_limited(path, limit, missing) as stream:
        data = stream.read(limit + 1)
    _refuse_oversized(path, len(data), limit)  # a file that grew after the stat is still bounded
    return data


@contextmanager
def open_limited(path: Path, limit: int, missing: str) -> Iterator[BinaryIO]:
    """``path`` opened for reading once it proved a regular file of at most ``limit`` bytes (see :func:`read_limited`).

    Checked before opening (``stat``: nothing with side effects is opened) and again on the open descriptor (``fstat``:
    the file cannot be swapped in between); opened non-blocking, so even a FIFO slipped in between never blocks.
    """
    path = Path(path)
    try:
        _refuse_irregular(path, os.stat(path), limit)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        stream = open(descriptor, "rb")  # noqa: SIM115 (closed below, after the caller's block)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found; {missing}") from None
    except PermissionError:
        raise UserError(f"{path}: permission denied; make the file readable (e.g. chmod u+r) and run again") from None
    except OSError as error:
        raise UserError(f"{path}: cannot be read ({error.strerror or error}); check the file and run again") from None
    with stream:
        _refuse_irregular(path, os.fstat(descriptor), limit)
        yield stream


def special_kind(mode: int) -> str | None:
    """What a file of this ``st_mode`` is instead of a regular file ("a named pipe (FIFO)", …), or None for a regular file:
    every message about a special file where a file belongs says it in these words."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _SPECIAL_KINDS if test(mode)), "a special file")


def in_place_of_folder(path: Path) -> str | None:
    """What stands at ``path`` where a folder belongs ("a named pipe (FIFO)", "a file"), or None where nothing or a
    folder does: a FIFO given as a folder is right there, and calling it missing sends the creator looking for it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return None if stat.S_ISDIR(mode) else special_kind(mode) or "a file"


def not_a_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as one of the folder's files (``missing``, or what it is instead of a regular file),
    or None. Asked before every read: reading a FIFO blocks for ever, and calling one "missing" sends the creator
    looking for a file that is right there."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return MISSING
    except OSError as error:
        return f"unreadable ({error.strerror or error})"
    kind = special_kind(mode)
    return None if kind is None else f"{kind}, not a regular file"


def _refuse_irregular(path: Path, status: os.stat_result, limit: int) -> None:
    """Anything but a regular file of at most ``limit`` bytes, refused in one line that says what it is instead."""
    kind = special_kind(status.st_mode)
    if kind == "a folder":
        raise UserError(f"{path}: is a folder, not a file; point to the file itself or rename the folder")
    if kind is not None:
        target = os.path.realpath(path)
        shown = f"{path} (→ {target})" if target != os.path.abspath(path) else str(path)  # /dev/zero behind a link
        raise UserError(f"{shown}: is {kind}, not a regular file; point to a saved file")
    _refuse_oversized(path, status.st_size, limit)


def _refuse_oversized(path: Path, size: int, limit: int) -> None:
    if size > limit:
        raise UserError(
            f"{path}: {_size(size)} is more than punkgen reads from one such file ({_size(limit)}); point to the right file"
        )


def _size(count: int) -> str:
    return f"{count / MiB:,.1f} MiB" if count >= MiB else f"{count:,} bytes"


def read_if_regular(path: Path, limit: int) -> bytes | None:
    """A file punkgen wrote into a collection folder, or None where it is missing or is anything punkgen never writes
    there (a pipe, a device, a link to one, a file over ``limit`` bytes): the caller treats it as damaged and re-creates
    or reports it, and never blocks on a FIFO or reads /dev/zero into memory."""
    try:
        with open_limited(path, limit, "") as stream:
            data = stream.read(limit + 1)
    except UserError:
        return None
    return data if len(data) <= limit else None


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (someone else's counts: it cannot be signalled, but it is there)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def remove_orphans(folders: Iterable[Path], pid_of: Callable[[Path], str]) -> None:
    """Delete the working folders of commands killed before they could (the pid in the name, ``pid_of``, is gone): a
    ``kill -9`` leaves them behind for good otherwise; a living process's folder is left to it. A link is not
    followed (rmtree refuses it)."""
    for folder in folders:
        pid = pid_of(folder)
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
