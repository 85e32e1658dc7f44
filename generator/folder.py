"""The collection folder: its layout, the run fingerprint that guards it, and ``--force``.

``run.json`` fingerprints everything that decides the files (settings, trait tables, the
renderer's identity, seed and N). A folder holding another run is refused unless ``force``,
which removes exactly what punkgen writes and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from generator.config import Config
from generator.errors import UserError
from generator.files import remove_partials, slugify, write_atomic
from generator.render import Renderer
from generator.traits import TraitTable

RUN_FILE = "run.json"
MANIFEST = "manifest.jsonl"
SHEET = "contact_sheet.png"
REJECTS = "rejects.csv"
OWNED = (RUN_FILE, MANIFEST, SHEET, REJECTS, "images", "metadata", "rejected", "export", "index.html")


def default_folder(config: Config) -> Path:
    return Path("output") / slugify(config.collection.name)


def fingerprint(config: Config, tables: list[TraitTable], renderer: Renderer) -> dict[str, Any]:
    """Everything that decides the output files; a resumed run must match it exactly.

    The batch size is left to the renderer's identity: it cannot change a sprite, while a
    diffusion backend whose pixels depend on it says so there.
    """
    settings = config.as_dict()
    del settings["render"]["batch_size"]
    inputs = {
        "config": settings,
        "traits": [[table.key, [[v.name, v.weight, v.prompt, v.layer] for v in table.values]] for table in tables],
        "renderer": renderer.identity,
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return {"fingerprint": digest, "seed": config.collection.seed, "size": config.collection.size}


def prepare_folder(folder: Path, run: dict[str, Any], force: bool) -> None:
    """Create the layout, or check that an existing folder holds this very run; ``force`` clears what punkgen owns."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file; choose another --out")
    existing = _read_run(folder)
    if force:
        _remove_owned(folder)
    elif existing is not None and existing != run:
        raise UserError(
            f"{folder} holds a different collection ({_difference(existing, run)}); "
            "use another --out, or pass --force to replace it"
        )
    elif existing is None and folder.exists() and any(folder.iterdir()):
        raise UserError(f"{folder} is not empty and holds no punkgen run ({RUN_FILE}); use another --out, or pass --force")
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / RUN_FILE, (json.dumps(run, indent=2) + "\n").encode())
    for sub in ("images", "metadata"):
        (folder / sub).mkdir(exist_ok=True)
    remove_partials(folder)


def _difference(existing: dict[str, Any], run: dict[str, Any]) -> str:
    def describe(r: dict[str, Any]) -> str:
        return f"seed {r.get('seed')}, {r.get('size')} tokens"

    if describe(existing) == describe(run):
        return f"{describe(run)}, but other settings, trait tables or layers changed"
    return f"{describe(existing)}; this run: {describe(run)}"


def _remove_owned(folder: Path) -> None:
    for shard in folder.glob("manifest.rank-*.jsonl"):  # a multi-process run's unmerged lines
        shard.unlink()
    for name in OWNED:
        target = folder / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def _read_run(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / RUN_FILE).read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{folder / RUN_FILE} is corrupt; pass --force to start this folder again") from None
