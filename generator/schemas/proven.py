"""jsonschema's passes, kept across runs: a settings file, or a shape of document (see :func:`generator.schemas.validate`),
that passed its schema once passes it again, so a later run knows it from one ``stat`` instead of importing jsonschema
(referencing, rpds, attrs: 60–100 ms of every run's start-up on the 2-core machine) to check it again.

A proof is an empty file named by the SHA-256 of the schema's text and the checked value's tagged form (every value
beside its Python type, so ``1``, ``1.0``, ``true`` and ``"1"`` stay apart, as JSON Schema's types keep them), in
``proven/`` under ``$PUNKGEN_CACHE`` (default: ``$XDG_CACHE_HOME/punkgen``, else ``~/.cache/punkgen``). Only passes are
kept: a value that breaks its schema is checked every time, so a user always gets jsonschema's own answer, and any change
to a schema changes every key. Deleting the folder is always safe; where it cannot be written (a read-only home), every
run checks in full, as the first one did.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

CACHE_VARIABLE = "PUNKGEN_CACHE"


def check_once(schema_text: str, subject: str, check: Callable[[], None]) -> None:
    """Run ``check`` (it raises on a failure) unless ``subject`` (a tagged value's ``repr``) passed the schema whose
    text is ``schema_text`` before; keep its pass."""
    path = _proof(schema_text, subject)
    if path is not None and path.is_file():
        return
    check()
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()  # empty: a process killed on the way leaves no file or a whole one
    except OSError:
        pass  # a cache that cannot be written only costs the next run the check


def cache_folder() -> Path | None:
    """punkgen's cache folder; None where the user has no home to put it in."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE]).expanduser()
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no HOME and no password entry
        return None
    return base / "punkgen"


def _proof(schema_text: str, subject: str) -> Path | None:
    folder = cache_folder()
    if folder is None:
        return None
    key = hashlib.sha256(f"{schema_text}\0{subject}".encode()).hexdigest()
    return folder / "proven" / key
