"""How ``export`` replaces ``export/`` and ``index.html`` without ever leaving half of one: stage, then swap.

``export/`` is built in a hidden folder beside it and swapped in by renames once complete, so a
refused or interrupted export leaves the previous one as it was; a write the system refuses (a
read-only or full disk) is one line naming the path, like any user mistake.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from generator.errors import UserError
from generator.files import PLACE_ERRORS, is_place_error, remove_partials
from generator.run.folder import EXPORT, GALLERY

STAGING_PREFIX = ".export-staging-"  # not ``.partial``: the collection run's sweep deletes those as files


def check_replaceable(folder: Path) -> None:
    """``export/`` and ``index.html`` are replaced whole, so they must be what an export wrote: a folder and a file.

    A file named ``export`` (or a link) would otherwise be renamed away and lost, and a folder
    named ``index.html`` would stop the gallery after ``export/`` was already replaced.
    """
    target, gallery = folder / EXPORT, folder / GALLERY
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise UserError(f"{target} is not a folder an export wrote; move it out of {folder}, then export again")
    if gallery.is_symlink() or (gallery.exists() and not gallery.is_file()):
        raise UserError(f"{gallery} is not the gallery file an export wrote; move it out of {folder}, then export again")


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """A write the system refuses (a full or read-only disk, no permission, a file in the way) as one line naming
    ``path``; any other OSError is punkgen's bug and keeps its traceback."""
    try:
        yield
    except OSError as error:
        if not is_place_error(error):
            raise
        raise UserError(
            f"cannot write {path}: {PLACE_ERRORS[error.errno]}; fix that (free space, make {path.parent} writable), "
            "then export again"
        ) from None


def fresh_staging(folder: Path) -> Path:
    """A private folder beside ``export/``; leftovers of killed exports (staging folders, a half-written
    ``index.html``) and of killed runs (their ``.partial`` files) are swept first: the folder lock keeps this export
    the only process there, so none of them can still be in use."""
    remove_partials(folder)
    for stale in folder.glob(f"{STAGING_PREFIX}*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink()
    staging = folder / f"{STAGING_PREFIX}{os.getpid()}"
    staging.mkdir()
    return staging


def swap_into_place(staging: Path, target: Path) -> None:
    """Replace ``target`` with ``staging`` by renames: the old export stays whole until the new one is complete."""
    old = target.with_name(f"{STAGING_PREFIX}{os.getpid()}-old")
    if target.exists():
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except OSError:
        if old.exists():  # put the previous export back: a refused swap must not lose it
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
