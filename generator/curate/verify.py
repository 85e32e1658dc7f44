"""``punkgen verify``: a collection folder checked against its own manifest and the schemas, reading only.

Before minting, a creator needs to know that what is in the folder is what punkgen made: every
accepted token's image is the PNG whose sha256 the manifest recorded, at the collection's size;
its metadata is, byte for byte, the document its id and traits give under the settings of the
run (see :mod:`generator.curate.drafts`: a setting changed since is named once, and export
writes the image URI anew); no two tokens share an image; and nothing else sits among the token
files. Each difference is one line naming the file. ``export`` runs the same check and refuses a
folder that fails it. A run or an export holding the folder is refused at once (exit 2): its
files are still changing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from generator.config import Config
from generator.curate.drafts import REWRITE, Draft, draft_problems
from generator.curate.finished import REDRAW, as_made, planned_size, require_collection_folder
from generator.errors import Arg, UserError, plural
from generator.files import MISSING, TEXT_LIMIT, not_a_file, read_limited
from generator.images import IMAGE_ERRORS
from generator.plan.metadata import token_metadata
from generator.plan.one_of_ones import PlacedOneOfOne, one_of_one_metadata, place_one_of_ones
from generator.plan.traits import Combo, TraitTable, combo_of, load_traits
from generator.run.animation import Animation, gif_problem, load_animation
from generator.run.folder import (
    ANIMATIONS,
    IMAGES,
    MANIFEST,
    METADATA,
    RUN_FILE,
    SHEET,
    TO_RENDER,
    TOKEN_FILES,
    animation_path,
    image_path,
    metadata_path,
)
from generator.run.lock import folder_lock
from generator.run.manifest import ANIMATION_SHA256, ONE_OF_ONE, REPLACE, History, event_of, read_history
from generator.run.repair import image_state


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
    """Every difference between ``folder``'s files, its manifest and the schemas; raises only if it is no collection,
    or if a run or an export holds it (its files are still changing: a list of differences would be noise)."""
    require_collection_folder(folder)
    with folder_lock(folder, "verify", shared=True):
        return _verification(folder, config)


def _verification(folder: Path, config: Config) -> Verification:
    planned = planned_size(folder / RUN_FILE, default=0)
    tables = load_traits(config)
    try:
        history = read_history(folder / MANIFEST, repair=False)
    except UserError as error:  # a corrupt manifest line: nothing else can be trusted
        return Verification(folder, planned, 0, (str(error),), ())
    first = config.collection.first_token_id
    ids = range(first, first + planned)
    made = as_made(config, folder)
    animation = _animation(made, tables, history)  # decodes every layer: once for the tokens and the stray files
    animated = animated_tokens(animation, tables, history)
    problems = [*_token_problems(folder, made, tables, history, animation, animated)]
    problems += _stray_files(folder, history, ids, set(animated))
    if sheet := not_a_file(folder / SHEET):
        problems.append(f"{folder / SHEET}: {sheet}; {REDRAW}")
    unfinished = tuple(t for t in ids if t not in history.accepted)
    waiting = (folder / TO_RENDER).is_dir()
    return Verification(folder, planned, len(history.accepted), tuple(problems), unfinished, waiting)


def token_problems(folder: Path, config: Config, tables: list[TraitTable], history: History) -> Iterator[str]:
    """Each accepted token's image against its recorded sha256 and size, and its metadata against the bytes punkgen
    wrote (see :mod:`generator.curate.drafts`); a setting changed since the run comes first, as one line."""
    config = as_made(config, folder)
    animation = _animation(config, tables, history)
    yield from _token_problems(folder, config, tables, history, animation, animated_tokens(animation, tables, history))


def _token_problems(
    folder: Path,
    config: Config,
    tables: list[TraitTable],
    history: History,
    animation: Animation | None,
    animated: dict[int, Combo],
) -> Iterator[str]:
    one_of_ones = place_one_of_ones(config)  # read once: each 1/1's document is checked against its entry
    owner_of: dict[str, int] = {}
    by_token: dict[int | None, list[str]] = {}
    drafts = []
    gifs = _gif_problems(folder, animation, animated) if animation is not None else {}
    for token_id, record in sorted(history.accepted.items()):
        by_token[token_id] = list(_image_problems(image_path(folder, token_id), record, config.pixels.size, owner_of))
        by_token[token_id] += [gifs[token_id]] if token_id in gifs else []
        owner_of.setdefault(record["sha256"], token_id)
        drafts.append(_draft(folder, config, tables, one_of_ones, token_id, record, token_id in animated))
    for token_id, line in draft_problems(config, drafts):
        by_token.setdefault(token_id, []).append(line)
    yield from by_token.pop(None, [])
    for lines in by_token.values():
        yield from lines


def animated_tokens(animation: Animation | None, tables: list[TraitTable], history: History) -> dict[int, Combo]:
    """The accepted tokens that animate, with their trait sets: those a strip draws, but no 1/1 or replacement (a
    hand-made image is a still)."""
    if animation is None:
        return {}
    animated = {}
    for token_id, record in history.accepted.items():
        combo = combo_of(tables, record["traits"]) if event_of(record) not in (ONE_OF_ONE, REPLACE) else None
        if combo is not None and animation.count(combo) > 1:
            animated[token_id] = combo
    return animated


def _animation(config: Config, tables: list[TraitTable], history: History) -> Animation | None:
    """The layers' animation, read only for a folder whose manifest records one: a still collection is checked as
    ever, its layers never read (a config whose [pixels].size changed since still gets its list of differences)."""
    if not any(ANIMATION_SHA256 in record for record in history.accepted.values()):
        return None
    return load_animation(config, tables)


GIF_CHUNK = 1024  # tokens whose frames are composited at once: ~7 MB of expected frames at 4 frames of 24 px


def _gif_problems(folder: Path, animation: Animation, animated: dict[int, Combo]) -> dict[int, str]:
    """Each animated token's GIF decoded and compared frame by frame with its layers' composite (composited a chunk of
    tokens at a time: one by one, the composites were half of a 10,000-token verify); the tokens whose GIF differs."""
    problems = {}
    ids = sorted(animated)
    for start in range(0, len(ids), GIF_CHUNK):
        chunk = ids[start : start + GIF_CHUNK]
        for token_id, expected in zip(chunk, animation.expected([animated[t] for t in chunk]), strict=True):
            if expected is not None and (problem := gif_problem(animation_path(folder, token_id), expected, animation.frame_ms)):
                problems[token_id] = problem
    return problems


def _image_problems(image: Path, record: dict[str, Any], size: int, owner_of: dict[str, int]) -> Iterator[str]:
    if (kind := not_a_file(image)) and kind != MISSING:  # reading a FIFO would block for ever
        yield f"{image}: {kind}; put the token's image back from a backup, or run the same `punkgen collection` command again"
    elif state := _state(image, record["sha256"]):
        yield f"{image}: {state}; the manifest records the render with sha256 {record['sha256'][:12]}…"
    elif problem := _image_problem(image, size):
        yield problem
    if record["sha256"] in owner_of:
        yield f"{image}: the same image as token {owner_of[record['sha256']]}"


def _state(image: Path, sha256: str) -> str | None:
    """Resume's verdict on the image (missing, altered, or None), or why it cannot be read (no permission)."""
    try:
        return image_state(image, sha256)
    except OSError as error:
        return f"unreadable ({error.strerror or error}); make it readable (chmod u+r)"


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


def _draft(
    folder: Path,
    config: Config,
    tables: list[TraitTable],
    one_of_ones: dict[int, PlacedOneOfOne],
    token_id: int,
    record: dict[str, Any],
    animated: bool,
) -> Draft:
    """The token's metadata file, read once, and how to build the document the manifest line vouches for (a 1/1's
    from its entry in the config) under any config: the one given, or the run's once the drafts have said it."""
    path = metadata_path(folder, token_id)
    if event_of(record) == ONE_OF_ONE:
        one = one_of_ones.get(token_id)
        if one is None:
            why = f"token {token_id} is a 1/1, but {config.path} has no [[one_of_one]] at that id; pass the {Arg.CONFIG} that made it"
            return Draft(token_id, path, None, why, None)
        return Draft(token_id, path, *_read(path), lambda made: one_of_one_metadata(made, one))
    combo = combo_of(tables, record["traits"])
    if combo is None:
        why = f"the manifest's traits {record['traits']} are not values of {config.path}'s tables; pass the {Arg.CONFIG} that made it"
        return Draft(token_id, path, None, why, None)
    return Draft(token_id, path, *_read(path), lambda made: token_metadata(made, tables, token_id, combo, False, animated))


def _read(path: Path) -> tuple[bytes | None, str | None]:
    """A draft's bytes, or why there are none: never a read that blocks (a FIFO) or a traceback (no permission)."""
    if kind := not_a_file(path):
        return None, f"{kind}; {REWRITE}"
    try:
        return read_limited(path, TEXT_LIMIT, REWRITE), None  # bounded, even if it grows: /dev/zero never fills the memory
    except UserError as error:
        return None, str(error).removeprefix(f"{path}: ")


def _stray_files(folder: Path, history: History, ids: range, animated: set[int]) -> Iterator[str]:
    """Files among the token files that belong to no accepted token (or a GIF of a token that is a still): an upload of
    the folder would carry them."""
    expected = {image_path(folder, t) for t in history.accepted} | {metadata_path(folder, t) for t in history.accepted}
    expected |= {animation_path(folder, t) for t in animated}
    for sub in (IMAGES, METADATA, ANIMATIONS):
        for path in sorted((folder / sub).glob("*")):  # hidden files (.DS_Store …) are no one's upload, as in ipfs-car
            if path in expected or path.name.startswith("."):
                continue
            if TOKEN_FILES[sub].fullmatch(path.name) and int(path.stem) in ids and int(path.stem) not in history.accepted:
                yield f"{path}: left by an interrupted run of a token not finished yet; run the same command again to finish it"
            else:
                yield f"{path}: not a file of any accepted token; move it out of the collection folder"
