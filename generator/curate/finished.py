"""A finished collection folder, read back and cross-checked: what ``punkgen export`` and ``punkgen rarity`` start from.

The folder is the creator's to copy, edit and damage, so every file is read as untrusted: the
manifest (not UTF-8, a line that is not a JSON object, a record of the wrong shape), ``run.json``,
each metadata draft (checked against the token schema), the contact sheet (decoded) and the
24×24 masters (:func:`read_master`: decoded once, as the export publishes them, all one size).
Each problem is one :class:`UserError` naming the file (and line), raised before ``export``
makes anything visible. Nothing here writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from generator.config import Config
from generator.errors import Arg, UserError
from generator.files import MISSING, in_place_of_folder, not_a_file
from generator.images import IMAGE_ERRORS, image_problem, open_user_image
from generator.run.folder import MANIFEST, RUN_FILE, SHEET, animation_path, image_path, metadata_path
from generator.run.manifest import ANIMATION_SHA256, ONE_OF_ONE, event_of, read_history
from generator.schemas import schema_problem
from generator.text import parse_json, read_bytes

RESTORE = f"restore it from a backup, or regenerate the collection with {Arg.FORCE}"
REDRAW = "run the same `punkgen collection` command again to redraw it"  # the contact sheet: a run redraws it


@dataclass(frozen=True)
class Token:
    token_id: int
    traits: dict[str, str]  # manifest: trait key → value, "None" included
    document: dict[str, Any]  # the metadata draft, as written by the collection run
    master: Path  # the 24×24 PNG
    animation: Path | None = None  # its GIF (animations/<id>.gif) when its manifest line records one


@dataclass(frozen=True)
class CollectionFolder:
    folder: Path
    tokens: list[Token]  # in token order

    @property
    def animated(self) -> list[Token]:
        return [token for token in self.tokens if token.animation is not None]

    @property
    def attributes(self) -> dict[int, list[dict[str, str]]]:
        return {token.token_id: token.document["attributes"] for token in self.tokens}


def load_collection(folder: Path, config: Config) -> CollectionFolder:
    """A finished collection folder, read and cross-checked against ``config``; any problem is a :class:`UserError`.

    The masters' pixels are not decoded here (``export`` decodes each once, while publishing);
    :func:`read_master` is how to read one.
    """
    require_collection_folder(folder)
    records = {record["token_id"]: record for record in _accepted_records(folder / MANIFEST)}
    planned = planned_size(folder / RUN_FILE, default=len(records))
    first = config.collection.first_token_id
    missing = [token_id for token_id in range(first, first + planned) if token_id not in records]
    if missing or not records:
        listed = ", ".join(map(str, missing[:5])) + (", …" if len(missing) > 5 else "")
        raise UserError(
            f"{folder} holds {len(records)} of {planned} tokens (missing {listed}); an export needs them all: run the same "
            "`punkgen collection` command again to finish an interrupted run (tokens out of quality attempts are in rejects.csv)"
        )
    if problem := not_a_file(folder / SHEET):
        raise UserError(f"{folder / SHEET} is {problem}; {REDRAW}")
    with open_image(folder / SHEET, REDRAW) as sheet:
        sheet.load()
    return CollectionFolder(folder, [_token(folder, records[token_id], config) for token_id in sorted(records)])


def require_collection_folder(folder: Path) -> None:
    """A folder holding a manifest and a run record, or a :class:`UserError` saying which folder to pass instead."""
    hint = "pass the folder a `punkgen collection` run wrote (output/<collection slug>)"
    if not folder.is_dir():
        kind = in_place_of_folder(folder)
        raise UserError(f"{folder}: {f'is {kind}, not a' if kind else 'no such'} collection folder; {hint}")
    for record in (MANIFEST, RUN_FILE):
        problem = not_a_file(folder / record)
        if problem == MISSING:
            raise UserError(f"{folder} is not a collection folder (no {MANIFEST} or {RUN_FILE}); {hint}")
        if problem:
            raise UserError(f"{folder / record} is {problem}; {RESTORE}")


def read_master(path: Path, side: int | None = None) -> Image.Image:
    """A master, decoded; damaged, or not ``side``×``side`` when given (a hand edit, a bad copy), is a :class:`UserError`."""
    with open_image(path, RESTORE) as image:
        image.load()
        if side is not None and image.size != (side, side):
            raise UserError(f"{path} is {image.width}×{image.height}, the other masters {side}×{side}; {RESTORE}")
        return image.copy()


@contextmanager
def open_image(path: Path, fix: str) -> Iterator[Image.Image]:
    """``Image.open`` whose failures, on opening or inside the block, become one line naming ``path`` and ``fix``."""
    try:
        with open_user_image(path, fix) as image:  # a FIFO or a link to /dev/zero in its place: one line, never read
            yield image
    except IMAGE_ERRORS as error:
        raise UserError(f"{path} is not a readable image ({image_problem(error)}); {fix}") from None


# ── the manifest, run.json and the drafts ──────────────────────────────────────────────────────


def _accepted_records(manifest: Path) -> list[dict[str, Any]]:
    """The line that accepted each token's current image (after any reroll or replacement), read by the manifest's own
    reader; a torn last line (a killed run) is ignored here and cut off by the next collection run."""
    return list(read_history(manifest, repair=False).accepted.values())


def as_made(config: Config, folder: Path) -> Config:
    """``config`` with the N and seed the folder was made with (``run.json``), which a command reading a finished
    folder is not given: they decide where the 1/1s sit and which ids exist."""
    run = _read_json(folder / RUN_FILE)
    seed = run.get("seed") if isinstance(run, dict) else None
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise UserError(f"{folder / RUN_FILE} is not a punkgen run record (no 'seed'); {RESTORE}")
    return config.override("collection", size=planned_size(folder / RUN_FILE, default=0), seed=seed)


def planned_size(run_file: Path, default: int) -> int:
    run = _read_json(run_file)
    size = run.get("size", default) if isinstance(run, dict) else None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise UserError(f"{run_file} is not a punkgen run record (no token count in 'size'); {RESTORE}")
    return size


def _token(folder: Path, record: dict[str, Any], config: Config) -> Token:
    token_id = record["token_id"]
    master, draft = image_path(folder, token_id), metadata_path(folder, token_id)
    for path in (master, draft):
        if problem := not_a_file(path):
            raise UserError(f"{path} is {problem}; {RESTORE}")
    document = _read_json(draft)
    problem = schema_problem(document, "token.schema.json")
    if problem:
        raise UserError(f"{draft} is not ERC-721 token metadata ({problem}); {RESTORE}")
    generated = event_of(record) != ONE_OF_ONE  # a 1/1 has free attributes and may have its own name
    if generated and (
        list(record["traits"]) != list(config.traits.keys) or document["name"] != f"{config.collection.name} #{token_id}"
    ):
        raise UserError(
            f"{folder} was generated from another collection.toml than {config.path} (its traits or name differ); "
            f"pass {Arg.CONFIG} with the file that made it"
        )
    animation = animation_path(folder, token_id) if ANIMATION_SHA256 in record else None
    return Token(token_id, record["traits"], document, master, animation)


def _read_json(path: Path) -> Any:
    try:
        return parse_json(read_bytes(path, RESTORE).decode("utf-8"))
    except ValueError as error:  # not UTF-8, not JSON, or nested past what any punkgen file is
        why = "" if isinstance(error, json.JSONDecodeError | UnicodeDecodeError) else f" ({error})"
        raise UserError(f"{path} is not valid UTF-8 JSON{why}; {RESTORE}") from None
