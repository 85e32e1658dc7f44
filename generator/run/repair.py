"""Resume trusts the manifest, not the folder: finished tokens whose files are missing or altered are re-created.

The manifest holds each accepted PNG's sha256 and the traits its metadata follows from. Before a
resumed run renders anything new, every finished token is checked against it:

- metadata missing or different: rewritten from the traits (it follows from them alone); an animated token's GIF
  likewise, from the layers, when its sha256 is not the one its line records;
- image missing: its recorded attempt is rendered again, in its original block, and written if
  it gives the recorded pixels (always for sprites; for diffusion on the same device and
  versions), else the run stops and names the file;
- image different (swapped or edited by hand): repaired the same way by a backend that renders
  the same pixels on every attempt; any other backend refuses, naming the files, since only a
  backup can bring back that render.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from generator.errors import Arg, UserError
from generator.files import IMAGE_LIMIT, MISSING, read_if_regular, write_atomic
from generator.plan.plan import PlannedToken
from generator.render import Renderer, RenderJob
from generator.run.finish import Destination, expected_metadata, restore_token
from generator.run.folder import ANIMATIONS, animation_path, image_path, metadata_path
from generator.run.manifest import ANIMATION_SHA256, ONE_OF_ONE, REPLACE, History, event_of

ALTERED = "altered"
STRANGE = "not a file punkgen writes (a pipe, a device, or far too large)"  # re-created like a missing one
START_AGAIN = f"restore it from a backup, or start the collection again with {Arg.FORCE}"


class Renders(Protocol):
    destination: Destination
    renderer: Renderer
    plan: list[PlannedToken]

    def job(self, token: PlannedToken, attempt: int) -> RenderJob: ...

    def blocks(self, history: History, attempt: int) -> Iterator[list[PlannedToken]]: ...


def repair_finished(run: Renders, history: History) -> tuple[int, ...]:
    """Check every accepted token's files against the manifest and re-create what differs; returns their ids."""
    folder = run.destination.folder
    combos = {token.token_id: token.combo for token in run.plan}
    damaged: dict[int, str] = {}
    rewritten: set[int] = set()
    for token_id, record in history.accepted.items():
        if event_of(record) == ONE_OF_ONE:
            continue  # the run rewrites 1/1s from their sources
        expected = expected_metadata(run.destination, token_id, combos[token_id], validated=False)
        if _read(metadata_path(folder, token_id)) != expected:
            write_atomic(metadata_path(folder, token_id), expected)
            rewritten.add(token_id)
        if ANIMATION_SHA256 in record and _restore_animation(run.destination, token_id, combos[token_id], record):
            rewritten.add(token_id)
        state = image_state(image_path(folder, token_id), record["sha256"])
        if state:
            damaged[token_id] = state
    replaced = sorted(t for t in damaged if event_of(history.accepted[t]) == REPLACE)
    if replaced:
        raise UserError(
            f"{_listed(folder, replaced)}: not the image `punkgen replace` recorded, and only its source can bring it back; "
            "run that `punkgen replace` again"
        )
    altered = sorted(t for t, state in damaged.items() if state == ALTERED)
    if altered and not run.renderer.deterministic:
        raise UserError(
            f"{_listed(folder, altered)} differ from the renders the manifest recorded (edited or swapped by hand?); "
            f"{START_AGAIN.replace('it', 'them', 1)}"
        )
    _rerender(run, history, damaged)
    return tuple(sorted(rewritten.union(damaged)))


def _restore_animation(destination: Destination, token_id: int, combo: tuple[int, ...], record: dict) -> bool:
    """An animated token's GIF re-created when missing or altered (it follows from the layers alone, like the
    metadata); True when it was."""
    path, sha256 = animation_path(destination.folder, token_id), record[ANIMATION_SHA256]
    state = image_state(path, sha256)
    if state is None:
        return False
    (gif,) = destination.animation.gifs([combo]) if destination.animation else (None,)
    if gif is None or hashlib.sha256(gif).hexdigest() != sha256:
        raise UserError(f"{path} is {state} and the layers no longer give the animation the manifest recorded; {START_AGAIN}")
    (destination.folder / ANIMATIONS).mkdir(exist_ok=True)
    write_atomic(path, gif)
    return True


def image_state(path: Path, sha256: str) -> str | None:
    """``missing``, ``altered`` (its sha256 is not the recorded one), :data:`STRANGE`, or None when the file is the
    recorded one."""
    data = _read(path)
    if data is None:
        return STRANGE if os.path.lexists(path) else MISSING
    return None if hashlib.sha256(data).hexdigest() == sha256 else ALTERED


def _rerender(run: Renders, history: History, damaged: dict[int, str]) -> None:
    """Render each damaged token's accepted attempt again, in the block it first rendered in."""
    by_attempt: dict[int, set[int]] = {}
    for token_id in damaged:
        by_attempt.setdefault(history.accepted[token_id]["attempt"], set()).add(token_id)
    for attempt, wanted in sorted(by_attempt.items()):
        for block in run.blocks(history, attempt):
            if not wanted.intersection(token.token_id for token in block):
                continue
            jobs = [run.job(token, attempt) for token in block]
            for job, render in zip(jobs, run.renderer.render(jobs), strict=True):
                if job.token_id in wanted and not restore_token(
                    run.destination, job, render, history.accepted[job.token_id]["sha256"]
                ):
                    path = image_path(run.destination.folder, job.token_id)
                    raise UserError(
                        f"{path} is {damaged[job.token_id]} and rendering its attempt again gave other pixels "
                        f"(another device, dtype or library version? for import: is its render file still there?); {START_AGAIN}"
                    )


def _read(path: Path) -> bytes | None:
    """None for a missing file, and for a FIFO, device or huge file in its place: damaged alike, never read."""
    return read_if_regular(path, IMAGE_LIMIT)


def _listed(folder: Path, token_ids: list[int]) -> str:
    shown = ", ".join(str(image_path(folder, t)) for t in token_ids[:3])
    return shown + (f" and {len(token_ids) - 3} more" if len(token_ids) > 3 else "")
