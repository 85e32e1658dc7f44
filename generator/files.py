"""Safe names and atomic writes: the only two ways punkgen turns data into paths and files."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

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
