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
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from generator.config import AnimationSettings, Config, QualitySettings
from generator.errors import Arg, UserError, plural
from generator.files import (
    IMAGE_LIMIT,
    LOG_LIMIT,
    PARTIAL_SUFFIX,
    TEXT_LIMIT,
    open_limited,
    place_errors_said,
    read_if_regular,
    real_path,
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
ANIMATIONS = "animations"  # <id>.gif of each animated token (see generator.run.animation); absent for a still collection
RECORDS = (RUN_FILE, MANIFEST, SHEET, REJECTS)
TOKEN_FILES = {
    IMAGES: re.compile(r"\d+\.png"),
    METADATA: re.compile(r"\d+\.json"),
    ANIMATIONS: re.compile(r"\d+\.gif"),
    REJECTED_DIR: re.compile(r"\d+-(\d+|replacement-\d+)\.png"),  # see rejected_path
}
EXPORT_MARK = b"provenance record (BAYC method)"  # the first line of export/provenance.txt
EXPORT_FILES = re.compile(  # everything `punkgen export` writes under export/, any --format, --car or --placeholder
    r"images/(\d+|collection)\.png|images/\d+\.gif|metadata/(\d+(\.json)?|collection\.json)|assets/(\d+|collection)\.(png|json)"
    r"|hidden/hidden\.\w+|(collection\.json|provenance\.txt|rarity\.csv|mapping\.csv|hiddenSettings\.json)"
    r"|(images|metadata|hidden)\.car"
)
GALLERY_MARK = b'<meta name="generator" content="punkgen">'
EXPORT_RECORD = ".punkgen-export"  # in export/: the files the last export wrote, one relative path a line
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
ADDED_LATER: dict[tuple[str, ...], Any] = {
    ("one_of_one",): [],
    ("export", "unrevealed_name"): "",
    ("animation",): asdict(AnimationSettings()),  # issue 32's section, whole, at its defaults
}
# Issue 29 made each quality threshold a [quality] setting; at its default (the constant it was) a folder is unchanged.
QUALITY_THRESHOLDS = (
    "min_render_spread",
    "min_render_mean",
    "min_edge_sharpness",
    "max_rough_cells",
    "max_background_leaks",
    "max_background_residual",
    "max_background_outlier",
    "max_background_drift",
    "max_background_roughness",
    "max_stray_cells",
    "max_bottom_gap",
    "max_column_offset",
    "max_isolated_share",
    "max_alone_share",
    "max_lattice_share",
    "max_split_cells",
    "min_subject_colors",
    "max_unlike_cells",
    "max_twin_cells",
)
ADDED_LATER |= {("quality", key): getattr(QualitySettings, key) for key in QUALITY_THRESHOLDS}


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
            f"{folder} holds files punkgen did not write ({', '.join(foreign)}) and no {RUN_FILE}; choose another {Arg.OUT} "
            f"({Arg.FORCE} only replaces an earlier punkgen run)"
        )
    if existing is not None and force:
        remove_run(folder)
    elif existing is not None and existing != run:
        raise UserError(
            f"{folder} holds a different collection ({_difference(existing, run)}); "
            f"use another {Arg.OUT}, or pass {Arg.FORCE} to replace it"
        )
    with place_errors_said(folder, f"choose another {Arg.OUT}, or make it writable"):
        write_atomic(folder / RUN_FILE, (json.dumps(run, indent=2) + "\n").encode())
        for sub in ("images", "metadata"):
            (folder / sub).mkdir(exist_ok=True)


def require_run(folder: Path, run: dict[str, Any]) -> None:
    """For commands that change one token of a finished folder (reroll, replace): the folder must hold this very run,
    so the flags and config given describe how its tokens were made."""
    existing = _read_run(folder, force=False)
    if existing is None:
        raise UserError(f"{folder}: not a collection folder (no {RUN_FILE}); pass the folder a `punkgen collection` run wrote")
    if existing != run:
        raise UserError(
            f"{folder} was made by another run ({_difference(existing, run)}); "
            f"pass the {Arg.CONFIG} and the render settings ([render].backend, [model].base, [render].steps …) that made it"
        )


def refuse_overlaps(out: Path, config: Config, renderer_reads: Sequence[tuple[str, Path]] = ()) -> None:
    """Refuse, before anything is written, a collection folder that overlaps a place the run reads (issue 27).

    Every folder or file the user names is resolved (through links) and checked against ``out``
    both ways. ``out`` inside (or equal to) a folder read whole (the renders, the training
    originals, the layer art) would feed its own files back as input; an input inside ``out``
    would sit among the files punkgen writes (``images/5.png`` over a render of that name) and
    that ``--force`` removes. ``renderer_reads``: the folders the backend reads whole (import's
    renders), each with how the user named it. ``out`` may sit inside the config's folder, as in a project folder
    holding ``collection.toml`` and ``output/``: that folder is read by file name, and each file
    read from it is checked here. And a collection folder never holds another.
    """
    out = real_path(out)
    for label, path, read_whole in _places_read(config, renderer_reads):
        path = real_path(path)
        if read_whole and within(out, path):
            raise UserError(
                f"{out} is inside the {label} {path}, so its own files would be read back as input; choose an {Arg.OUT} outside it"
            )
        if within(path, out):
            raise UserError(
                f"the {label} {path} is inside the collection folder {out}, among the files punkgen writes there "
                f"(and {Arg.FORCE} removes); move it out of that folder, or choose another {Arg.OUT}"
            )
    holder = next((p for p in out.parents if (p / RUN_FILE).is_file() and (p / MANIFEST).is_file()), None)
    if holder is not None:
        raise UserError(
            f"{out} is inside the collection folder {holder}, whose export, verify and {Arg.FORCE} treat it as their own; "
            f"choose an {Arg.OUT} outside it"
        )


def within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or inside it, once both are resolved through links."""
    path, folder = real_path(path), real_path(folder)
    return path == folder or folder in path.parents


def _places_read(config: Config, renderer_reads: Sequence[tuple[str, Path]]) -> list[tuple[str, Path, bool]]:
    """What a run reads: (how the user named it, where, whether it is read whole, every file in it)."""
    places = [
        ("config's folder (trait tables)", config.folder, False),
        ("layers folder ([traits].layers)", config.layers_folder, True),
        *((label, path, True) for label, path in renderer_reads),
    ]
    for label, setting, whole in (
        ("[quality].training_dir", config.quality.training_dir, True),
        ("palette ([pixels].palette)", config.pixels.palette, False),
        ("workflow ([render].workflow)", config.render.workflow, False),
        *(("[[one_of_one]] image", one.image, False) for one in config.one_of_one),
    ):
        path = config.resolve(setting)
        if path is not None:
            places.append((label, path, whole))
    return places


def image_path(folder: Path, token_id: int) -> Path:
    return folder / IMAGES / f"{token_id}.png"


def animation_path(folder: Path, token_id: int) -> Path:
    return folder / ANIMATIONS / f"{token_id}.gif"


def metadata_path(folder: Path, token_id: int) -> Path:
    return folder / METADATA / f"{token_id}.json"


def rejected_path(folder: Path, token_id: int, label: int | str) -> Path:
    """Where a rejected or demoted image is kept: ``label`` is its attempt, or ``replacement-<n>`` for a token's n-th
    replacement (see ``History.demoted_label``), so no two images ever share a name. The folder appears with the
    first rejection, so a clean run has none."""
    folder = folder / REJECTED_DIR
    folder.mkdir(exist_ok=True)
    return folder / f"{token_id}-{label}.png"


def keep_demoted(folder: Path, token_id: int, label: str | None) -> str | None:
    """Copy the token's image to ``rejected/<id>-<label>.png`` before curation writes over it; returns that path
    (relative to ``folder``, for the manifest line), or None when there is nothing to keep.

    A copy, not a move: ``images/`` keeps the image its manifest line vouches for until the new one replaces it by a
    rename, so a command killed anywhere leaves every other command a consistent folder. A file already at that name
    is never overwritten: it can only be this very image, kept by a run of the same command that was killed before
    its manifest line (whatever ``images/`` holds now was written after the copy), so running the command again keeps
    the original whatever it wrote next."""
    if label is None:
        return None
    image, kept = image_path(folder, token_id), rejected_path(folder, token_id, label)
    if not kept.exists():
        data = read_if_regular(image, IMAGE_LIMIT)
        if data is None:  # missing, or a pipe or device put in its place: nothing worth keeping, and never a hang
            return None
        write_atomic(kept, data)
    return kept.relative_to(folder).as_posix()


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
    remove_export(folder / EXPORT)
    if marked(folder / GALLERY, GALLERY_MARK):
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


def exported_files(export: Path) -> set[str]:
    """The files under ``export/`` an export wrote (paths relative to it): those its record lists, or, in an export
    made before records, the names an export writes where ``provenance.txt`` carries punkgen's mark. Anything else
    there is the creator's: neither ``export`` nor ``--force`` removes it."""
    record = read_if_regular(export / EXPORT_RECORD, TEXT_LIMIT)  # a FIFO there is never read
    if record is None and not os.path.lexists(export / EXPORT_RECORD):
        if not marked(export / "provenance.txt", EXPORT_MARK):
            return set()
        return {name for name in files_under(export) if EXPORT_FILES.fullmatch(name)}
    try:
        listed = record.decode("utf-8").splitlines() if record is not None else None
    except UnicodeDecodeError:
        listed = None
    if listed is None:  # a record punkgen cannot read vouches for nothing
        return set()
    return {name for name in listed if name} | {EXPORT_RECORD}


def remove_export(export: Path) -> None:
    """Delete the files an export wrote, and the folders they leave empty; the creator's own files stay."""
    if export.is_symlink() or not export.is_dir():
        return
    owned = exported_files(export)
    for name in files_under(export):  # found under export/, so a record naming ../anything reaches nothing
        if name in owned:
            (export / name).unlink()
    for path in sorted((p for p in export.rglob("*") if p.is_dir() and not p.is_symlink()), reverse=True):
        _remove_if_empty(path)
    _remove_if_empty(export)


def marked(path: Path, mark: bytes) -> bool:
    """Whether ``path``'s first 4 KiB hold ``mark``: a file punkgen wrote and may replace or remove (a FIFO or a
    device there is not, and is never read)."""
    try:
        with open_limited(path, LOG_LIMIT, "") as stream:
            return mark in stream.read(4096)
    except (UserError, OSError):
        return False


def files_under(folder: Path) -> list[str]:
    """Every file (or link) under ``folder``, as POSIX paths relative to it. ``os.walk`` reads each entry's type from
    the directory listing: ``rglob`` + ``is_file`` stats each one, 0.1 s for a 3,000-token export/."""
    found: list[str] = []
    for root, folders, files in os.walk(folder):
        base = Path(root).relative_to(folder).as_posix()
        prefix = "" if base == "." else f"{base}/"
        links = [name for name in folders if os.path.islink(os.path.join(root, name))]
        found += [prefix + name for name in (*files, *links)]
    return found


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
    raise UserError(f"{folder / RUN_FILE} is corrupt; pass {Arg.FORCE} to start this folder again")
