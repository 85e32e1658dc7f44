"""How ``export`` replaces ``export/`` and ``index.html`` without ever leaving half of one, or taking the creator's.

``export/`` is built in a hidden folder beside it and swapped in by renames once complete, so a
refused or interrupted export leaves the previous one as it was; a write the system refuses (a
read-only or full disk) is one line naming the path, like any user mistake.

An export owns only what it wrote: ``export/.punkgen-export`` lists those files
(:func:`generator.run.folder.exported_files`), and only they are replaced. Anything else the
creator put in ``export/`` (notes, a mint script) is carried into the new one, unless it would be
published with the tokens (inside ``images/``, ``metadata/``, ``assets/`` or ``hidden/``, which
are uploaded as they are and packed into CAR files) or it sits where this export writes a file:
then the export is refused, naming it, before anything visible changes. Carrying beats refusing
for the rest: the creator keeps a working habit (their files beside the export) and loses
nothing, which is the same promise ``--force`` keeps. ``index.html`` is replaced only when it
carries punkgen's mark; a page of the creator's own is refused, never overwritten.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from generator.errors import UserError
from generator.files import PLACE_ERRORS, is_place_error, remove_partials
from generator.run.folder import EXPORT, EXPORT_RECORD, GALLERY, GALLERY_MARK, exported_files, files_under, marked

STAGING_PREFIX = ".export-staging-"  # not ``.partial``: the collection run's sweep deletes those as files
PUBLISHED = ("images", "metadata", "assets", "hidden")  # export/ folders uploaded (and packed) as they are


def check_replaceable(folder: Path) -> list[str]:
    """``export/`` and ``index.html`` are replaced whole, so they must be what an export wrote: a folder holding
    nothing of the creator's that would be published, and a file carrying punkgen's mark. Returns the creator's files
    in ``export/``, to carry into the new one (:func:`swap_into_place`).

    A file named ``export`` (or a link) would otherwise be renamed away and lost, and a folder
    named ``index.html`` would stop the gallery after ``export/`` was already replaced.
    """
    target, gallery = folder / EXPORT, folder / GALLERY
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise UserError(f"{target} is not a folder an export wrote; move it out of {folder}, then export again")
    if gallery.is_symlink() or (gallery.exists() and not gallery.is_file()):
        raise UserError(f"{gallery} is not the gallery file an export wrote; move it out of {folder}, then export again")
    if gallery.exists() and not marked(gallery, GALLERY_MARK):
        raise UserError(
            f"{gallery} was not written by punkgen (it lacks punkgen's mark), and export writes the gallery there; "
            "rename or move it, then export again"
        )
    theirs = creators_files(target)
    for name in theirs:
        top, _, rest = name.partition("/")
        if top in PUBLISHED and rest and not Path(rest).name.startswith("."):
            raise UserError(
                f"{target / name} was not written by punkgen export, and {target / top}/ is uploaded as it is; "
                f"move it out of {target}, then export again"
            )
    return theirs


def creators_files(export: Path) -> list[str]:
    """The files under ``export/`` that no export wrote (relative paths): the creator's, to keep."""
    if not export.is_dir() or export.is_symlink():
        return []
    ours = exported_files(export)
    return sorted(name for name in files_under(export) if name not in ours)


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


def swap_into_place(staging: Path, target: Path, theirs: list[str]) -> None:
    """Record what ``staging`` holds, carry the creator's files (``theirs``) over from ``target``, then replace
    ``target`` with it by renames: the old export stays whole until the new one is complete."""
    written = sorted(files_under(staging))
    _carry(theirs, target, staging)
    (staging / EXPORT_RECORD).write_text("".join(f"{name}\n" for name in written), encoding="utf-8")
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


def _carry(theirs: list[str], target: Path, staging: Path) -> None:
    """Copy the creator's files into the new export; one where this export writes a file is refused, naming it."""
    for name in theirs:
        destination = staging / name
        if destination.exists() or destination.is_symlink():
            raise UserError(
                f"{target / name} was not written by punkgen export, and this export writes that file; "
                f"move it out of {target}, then export again"
            )
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target / name, destination, follow_symlinks=False)
