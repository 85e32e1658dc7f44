"""``punkgen verify``: a collection folder checked against its own manifest and the schemas, reading only.

Before minting, a creator needs to know that what is in the folder is what punkgen made: every
accepted token's image is the PNG whose sha256 the manifest recorded, at the collection's size;
its metadata fits the schema and carries the name and attributes its id and traits give (the
descriptive fields follow the config, and export writes the image URI anew); no two tokens
share an image; and nothing else sits among the token files. Each difference is one line naming the file. ``export`` runs the same check and refuses
a folder that fails it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from generator.config import Config
from generator.curate.finished import as_made, planned_size, require_collection_folder
from generator.errors import UserError, plural
from generator.files import TEXT_LIMIT, read_if_regular
from generator.images import IMAGE_ERRORS
from generator.plan.metadata import encode, token_metadata
from generator.plan.one_of_ones import PlacedOneOfOne, one_of_one_metadata, place_one_of_ones
from generator.plan.traits import TraitTable, combo_of, load_traits
from generator.run.folder import (
    IMAGES,
    MANIFEST,
    METADATA,
    RUN_FILE,
    SHEET,
    TO_RENDER,
    TOKEN_FILES,
    image_path,
    metadata_path,
)
from generator.run.manifest import ONE_OF_ONE, History, event_of, read_history
from generator.run.repair import image_state
from generator.schemas import schema_problem
from generator.text import parse_json

VOUCHED = ("name", "attributes")  # what the manifest decides in a token's metadata: its id and its traits


@dataclass(frozen=True)
class Verification:
    folder: Path
    planned: int
    checked: int  # accepted tokens whose files were checked
    problems: tuple[str, ...]  # one line per difference, naming the file
    unfinished: tuple[int, ...]  # planned token ids without an accepted render
    waiting: bool = False  # import: to-render/ lists jobs still waiting for renders

    def summary(self) -> str:
        counts = f"{plural(self.checked, 'token')} of {self.planned:,} checked in {self.folder}"
        if self.problems:
            return f"{counts}: {plural(len(self.problems), 'difference')} (listed above)"
        if self.unfinished:
            shown = ", ".join(map(str, self.unfinished[:10])) + (" …" if len(self.unfinished) > 10 else "")
            why = f"; {self.folder / TO_RENDER} lists the jobs still waiting for renders" if self.waiting else ""
            return (
                f"{counts}: every file matches the manifest, but {plural(len(self.unfinished), 'token')} never finished "
                f"({shown}){why}"
            )
        return f"{counts}: every file matches the manifest and the schemas"


def verify_folder(folder: Path, config: Config) -> Verification:
    """Every difference between ``folder``'s files, its manifest and the schemas; raises only if it is no collection."""
    require_collection_folder(folder)
    planned = planned_size(folder / RUN_FILE, default=0)
    tables = load_traits(config)
    try:
        history = read_history(folder / MANIFEST, repair=False)
    except UserError as error:  # a corrupt manifest line: nothing else can be trusted
        return Verification(folder, planned, 0, (str(error),), ())
    first = config.collection.first_token_id
    ids = range(first, first + planned)
    problems = [*token_problems(folder, config, tables, history), *_stray_files(folder, history, ids)]
    if not (folder / SHEET).is_file():
        problems.append(f"{folder / SHEET}: missing; run the same `punkgen collection` command again to redraw it")
    unfinished = tuple(t for t in ids if t not in history.accepted)
    waiting = (folder / TO_RENDER).is_dir()
    return Verification(folder, planned, len(history.accepted), tuple(problems), unfinished, waiting)


def token_problems(folder: Path, config: Config, tables: list[TraitTable], history: History) -> Iterator[str]:
    """Each accepted token's image against its recorded sha256 and size, and its metadata against its traits."""
    config = as_made(config, folder)
    one_of_ones = place_one_of_ones(config)  # read once: each 1/1's document is checked against its entry
    owner_of: dict[str, int] = {}
    for token_id, record in sorted(history.accepted.items()):
        image = image_path(folder, token_id)
        state = image_state(image, record["sha256"])
        if state:
            yield f"{image}: {state}; the manifest records the render with sha256 {record['sha256'][:12]}…"
        elif problem := _image_problem(image, config.pixels.size):
            yield problem
        if record["sha256"] in owner_of:
            yield f"{image}: the same image as token {owner_of[record['sha256']]}"
        owner_of.setdefault(record["sha256"], token_id)
        expected = _expected(config, tables, one_of_ones, token_id, record)
        yield from _metadata_problems(metadata_path(folder, token_id), config, expected)


def _image_problem(path: Path, size: int) -> str | None:
    """A recorded image against ``[pixels].size`` (edited since the run?). Its bytes are the ones its manifest line
    records, which punkgen encoded from pixels, so the header is all there is to check: decoding every one cost a
    10,000-token ``verify`` or ``export`` ~1.5 s."""
    try:
        with Image.open(path) as image:
            shape = image.size
    except IMAGE_ERRORS:
        return f"{path}: not a readable PNG"
    return None if shape == (size, size) else f"{path}: {shape[0]}×{shape[1]}, expected {size}×{size} ([pixels].size)"


def _expected(
    config: Config, tables: list[TraitTable], one_of_ones: dict[int, PlacedOneOfOne], token_id: int, record: dict[str, Any]
) -> dict[str, Any] | str:
    """The document the manifest line vouches for (a 1/1's from its entry in the config), or why there is none."""
    if event_of(record) == ONE_OF_ONE:
        one = one_of_ones.get(token_id)
        if one is None:
            return (
                f"token {token_id} is a 1/1, but {config.path} has no [[one_of_one]] at that id; pass the --config that made it"
            )
        return one_of_one_metadata(config, one)
    combo = combo_of(tables, record["traits"])
    if combo is None:
        return (
            f"the manifest's traits {record['traits']} are not values of {config.path}'s tables; pass the --config that made it"
        )
    return token_metadata(config, tables, token_id, combo, validated=False)


def _metadata_problems(path: Path, config: Config, expected: dict[str, Any] | str) -> Iterator[str]:
    if isinstance(expected, str):
        yield f"{path}: {expected}"
        return
    data = read_if_regular(path, TEXT_LIMIT)  # a FIFO would block, a link to /dev/zero fill the memory
    if data is None:
        what = "not a regular file" if os.path.lexists(path) else "missing"
        yield f"{path}: {what}; run the same `punkgen collection` command again to rewrite it"
        return
    if data == encode(expected):
        return
    try:
        document = parse_json(data)
    except ValueError:  # not JSON, not UTF-8, or nested past reason
        document, problem = None, "not JSON"
    else:
        problem = schema_problem(document, "token.schema.json")
    if problem is None and all(document[key] == expected[key] for key in VOUCHED):
        return  # the descriptive fields follow the config (edited since?); export writes the image URI anew
    yield f"{path}: differs from the document its traits give ({problem or 'its name or attributes were edited'})"


def _stray_files(folder: Path, history: History, ids: range) -> Iterator[str]:
    """Files among the token files that belong to no accepted token: an upload of the folder would carry them."""
    expected = {image_path(folder, t) for t in history.accepted} | {metadata_path(folder, t) for t in history.accepted}
    for sub in (IMAGES, METADATA):
        for path in sorted((folder / sub).glob("*")):  # hidden files (.DS_Store …) are no one's upload, as in ipfs-car
            if path in expected or path.name.startswith("."):
                continue
            if TOKEN_FILES[sub].fullmatch(path.name) and int(path.stem) in ids:
                yield f"{path}: left by an interrupted run of a token not finished yet; run the same command again to finish it"
            else:
                yield f"{path}: not a file of any accepted token; move it out of the collection folder"
