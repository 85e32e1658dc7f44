"""The collection folder: its layout, the run fingerprint that guards it, and ``--force``.

``run.json`` fingerprints everything that decides the files (settings, trait tables, the
renderer's identity, seed and N). A folder holding another run is refused unless ``force``,
which removes exactly what punkgen writes and nothing else; a folder holding no run is never
punkgen's to clear.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from generator.config import Config
from generator.errors import UserError, plural
from generator.files import (
    LOG_LIMIT,
    PARTIAL_SUFFIX,
    TEXT_LIMIT,
    is_place_error,
    open_limited,
    os_error_message,
    read_if_regular,
    slugify,
    write_atomic,
)
from generator.plan.traits import TraitTable
from generator.render import Renderer
from generator.text import parse_json

RUN_FILE = "run.json"
MANIFEST = "manifest.jsonl"
SHEET = "contact_sheet.png"
REJECTS = "rejects.csv"
IMAGES, METADATA, REJECTED_DIR, EXPORT, GALLERY = "images", "metadata", "rejected", "export", "index.html"
RECORDS = (RUN_FILE, MANIFEST, SHEET, REJECTS)
TOKEN_FILES = {
    IMAGES: re.compile(r"\d+\.png"),
    METADATA: re.compile(r"\d+\.json"),
    REJECTED_DIR: re.compile(r"\d+-\d+\.png"),
}
EXPORT_MARK = b"provenance record (BAYC method)"  # the first line of export/provenance.txt
EXPORT_FILES = re.compile(  # everything `punkgen export` writes under export/, any --format, --car or --placeholder
    r"images/(\d+|collection)\.png|metadata/(\d+(\.json)?|collection\.json)|assets/(\d+|collection)\.(png|json)"
    r"|hidden/hidden\.\w+|(collection\.json|provenance\.txt|rarity\.csv|mapping\.csv|hiddenSettings\.json)"
    r"|(images|metadata|hidden)\.car"
)
GALLERY_MARK = b'<meta name="generator" content="punkgen">'
TO_RENDER = "to-render"  # import: the jobs still waiting for a render, in the forms each UI reads
REQUEST_FILES = re.compile(r"prompts\.txt|jobs\.jsonl|comfyui/\d+-\d+\.json")


def default_folder(config: Config) -> Path:
    return Path("output") / slugify(config.collection.name)


def fingerprint(config: Config, tables: list[TraitTable], renderer: Renderer, art: dict[int, str]) -> dict[str, Any]:
    """Everything that decides the output files; a resumed run must match it exactly.

    The batch size is left to the renderer's identity: it cannot change a sprite, while a
    diffusion backend whose pixels depend on it says so there. Where ``import`` finds renders and
    the ComfyUI workflow it fills are not either: the manifest records each accepted render's
    pixels, so renders may move between runs. ``art``: each 1/1's id and the
    sha256 of its image file, so a redrawn 1/1 is another run.
    """
    settings = config.as_dict()
    for key in ("batch_size", "renders", "workflow"):
        del settings["render"][key]
    _leave_out_new_defaults(settings)
    inputs = {
        "config": settings,
        "traits": [[table.key, [[v.name, v.weight, v.prompt, v.layer] for v in table.values]] for table in tables],
        "renderer": renderer.identity,
    }
    if art:  # absent without 1/1s, so folders made before 1/1s existed keep their fingerprint
        inputs["one_of_one"] = sorted(art.items())
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return {"fingerprint": digest, "seed": config.collection.seed, "size": config.collection.size}


# Settings added after collection folders existed: at their default they leave the fingerprint as it was, so a folder
# made by an earlier punkgen still resumes.
ADDED_LATER: dict[tuple[str, ...], Any] = {("one_of_one",): [], ("export", "unrevealed_name"): ""}


def _leave_out_new_defaults(settings: dict[str, Any]) -> None:
    for *sections, key in ADDED_LATER:
        table = settings
        for section in sections:
            table = table[section]
        if table[key] == ADDED_LATER[(*sections, key)]:
            del table[key]


def prepare_folder(folder: Path, run: dict[str, Any], force: bool) -> None:
    """Check that ``folder`` (locked by the caller) is empty or holds this very run, then lay it out.

    ``force`` replaces another punkgen run, removing only the files punkgen writes; a folder
    without ``run.json`` is someone else's, and ``force`` never touches it.
    """
    existing = _read_run(folder, force)
    if existing is None and (foreign := _foreign_entries(folder)):
        raise UserError(
            f"{folder} holds files punkgen did not write ({', '.join(foreign)}) and no {RUN_FILE}; choose another --out "
            "(--force only replaces an earlier punkgen run)"
        )
    if existing is not None and force:
        remove_run(folder)
    elif existing is not None and existing != run:
        raise UserError(
            f"{folder} holds a different collection ({_difference(existing, run)}); "
            "use another --out, or pass --force to replace it"
        )
    try:
        write_atomic(folder / RUN_FILE, (json.dumps(run, indent=2) + "\n").encode())
        for sub in ("images", "metadata"):
            (folder / sub).mkdir(exist_ok=True)
    except OSError as error:
        if not is_place_error(error):
            raise
        raise UserError(os_error_message(error, folder, "choose another --out, or make it writable")) from None


def require_run(folder: Path, run: dict[str, Any]) -> None:
    """For commands that change one token of a finished folder (reroll, replace): the folder must hold this very run,
    so the flags and config given describe how its tokens were made."""
    existing = _read_run(folder, force=False)
    if existing is None:
        raise UserError(f"{folder}: not a collection folder (no {RUN_FILE}); pass the folder a `punkgen collection` run wrote")
    if existing != run:
        raise UserError(
            f"{folder} was made by another run ({_difference(existing, run)}); "
            "pass the --config and the render flags (--backend, --model, --steps …) that made it"
        )


def image_path(folder: Path, token_id: int) -> Path:
    return folder / IMAGES / f"{token_id}.png"


def metadata_path(folder: Path, token_id: int) -> Path:
    return folder / METADATA / f"{token_id}.json"


def rejected_path(folder: Path, token_id: int, attempt: int) -> Path:
    """Where a rejected attempt is kept; the folder appears with the first rejection, so a clean run has none."""
    folder = folder / REJECTED_DIR
    folder.mkdir(exist_ok=True)
    return folder / f"{token_id}-{attempt}.png"


def _difference(existing: dict[str, Any], run: dict[str, Any]) -> str:
    def describe(r: dict[str, Any]) -> str:
        return f"seed {r.get('seed')}, {plural(r.get('size', 0), 'token')}"

    if describe(existing) == describe(run):
        return f"{describe(run)}, but other settings, trait tables or layers changed"
    return f"{describe(existing)}; this run: {describe(run)}"


def remove_run(folder: Path) -> None:
    """Delete what punkgen writes in a run's folder (token files by their layout names, the run's records, and an
    export or gallery that carries punkgen's mark); anything else the user put there stays."""
    for sub, pattern in TOKEN_FILES.items():
        for path in (folder / sub).glob("*"):
            if path.is_file() and (pattern.fullmatch(path.name) or path.name.endswith(PARTIAL_SUFFIX)):
                path.unlink()
        _remove_if_empty(folder / sub)
    for path in (*folder.glob("manifest.rank-*.jsonl"), *(folder / name for name in RECORDS)):
        path.unlink(missing_ok=True)
    if _marked(folder / EXPORT / "provenance.txt", EXPORT_MARK) and _only_export_files(folder / EXPORT):
        shutil.rmtree(folder / EXPORT)
    if _marked(folder / GALLERY, GALLERY_MARK):
        (folder / GALLERY).unlink()
    write_requests(folder, {})


def write_requests(folder: Path, files: dict[str, bytes]) -> None:
    """Make ``to-render/`` hold exactly ``files`` (names relative to it, each written atomically); with none, it goes.
    Only files punkgen writes there are removed: anything the creator put in it stays."""
    requests = folder / TO_RENDER
    for name, data in files.items():
        (requests / name).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(requests / name, data)
    if requests.is_dir():
        for path in requests.rglob("*"):
            name = path.relative_to(requests).as_posix()
            if path.is_file() and REQUEST_FILES.fullmatch(name) and name not in files:
                path.unlink()
        _remove_if_empty(requests / "comfyui")
        _remove_if_empty(requests)


def _only_export_files(export: Path) -> bool:
    """Whether every file under export/ is one an export writes: a folder holding the creator's own notes stays."""
    return all(EXPORT_FILES.fullmatch(path.relative_to(export).as_posix()) for path in export.rglob("*") if path.is_file())


def _marked(path: Path, mark: bytes) -> bool:
    """Whether punkgen wrote ``path`` (its mark in the first 4 KiB); a FIFO or device there is not, and is never read."""
    try:
        with open_limited(path, LOG_LIMIT, "") as stream:
            return mark in stream.read(4096)
    except (UserError, OSError):
        return False


def _remove_if_empty(path: Path) -> None:
    if path.is_dir() and not any(path.iterdir()):
        path.rmdir()


def _foreign_entries(folder: Path) -> list[str]:
    """Up to three names in a folder that holds no run; punkgen's own leftovers (staged files) don't count."""
    names = sorted(p.name for p in folder.iterdir() if not p.name.endswith(PARTIAL_SUFFIX))
    return names[:3] + (["…"] if len(names) > 3 else [])


def _read_run(folder: Path, force: bool) -> dict[str, Any] | None:
    """The recorded run; a corrupt ``run.json`` is still punkgen's, so ``force`` may replace that run."""
    data = read_if_regular(folder / RUN_FILE, TEXT_LIMIT)  # a FIFO or device there is corrupt, never read
    if data is None and not os.path.lexists(folder / RUN_FILE):
        return None
    try:
        run = parse_json(data) if data is not None else None
    except ValueError:  # not JSON, not UTF-8, or nested past any run record
        run = None
    if isinstance(run, dict) or force:
        return run if isinstance(run, dict) else {}
    raise UserError(f"{folder / RUN_FILE} is corrupt; pass --force to start this folder again")
