"""Finishing a render: pixel recovery, the quality verdict, and the token's files, written atomically.

This is the CPU side of a run, so it is a plain function of picklable data: large runs fan it
out to worker processes while the main process renders, small runs call it inline. What needs
every earlier token (the duplicate check, the manifest) stays with the caller.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from generator.config import Config
from generator.files import write_atomic
from generator.images import encode_png
from generator.pixels.palette import Palette
from generator.pixels.quality import Claim, TrainingSet, Verdict, assess
from generator.pixels.recovery import Recovery, recover
from generator.plan.metadata import encode, token_metadata
from generator.plan.one_of_ones import PlacedOneOfOne, one_of_one_metadata
from generator.plan.traits import TraitTable
from generator.render import RenderJob
from generator.render.layers import Layers
from generator.run.folder import MANIFEST, image_path, metadata_path, rejected_path
from generator.run.manifest import ACCEPTED, ONE_OF_ONE, REJECTED, History, append_record


@dataclass(frozen=True)
class Destination:
    """Everything a worker needs to finish tokens, sent along with each batch."""

    folder: Path
    config: Config
    tables: list[TraitTable]
    palette: Palette | None
    backgrounds: tuple[np.ndarray | None, ...]  # asked-for colour of each value of the first (bottom) trait
    training: TrainingSet | None
    layers: Layers | None  # draw each token's claim for the trait check; None without layer art, or when
    # the sprite renderer drew the render itself (its tokens show their claims by construction)


@dataclass(frozen=True)
class Outcome:
    record: dict[str, Any]  # the manifest line, still without the duplicate check
    pixels: np.ndarray | None  # the accepted S×S image, for the contact sheet


def finish_batch(destination: Destination, jobs: list[RenderJob], renders: np.ndarray) -> list[Outcome]:
    return [finish_token(destination, job, render) for job, render in zip(jobs, renders, strict=True)]


def finish_token(destination: Destination, job: RenderJob, render: np.ndarray) -> Outcome:
    """Recover the pixels, judge them, write the token (or keep the render under rejected/)."""
    config, folder = destination.config, destination.folder
    recovery = postprocess(render, destination, job)
    verdict = Verdict((), {})
    if config.quality.enabled:
        verdict = assess(render, recovery, config.quality, destination.training, claim(destination, job.combo))
    png = encode_png(Image.fromarray(recovery.pixels))
    if verdict.accepted:
        write_token(destination, job, png)
    else:
        write_atomic(rejected_path(folder, job.token_id, job.attempt), encode_png(Image.fromarray(render)))
    record = {
        "token_id": job.token_id,
        "attempt": job.attempt,
        "seed": job.seed,
        "traits": {table.key: table.values[i].name for table, i in zip(destination.tables, job.combo, strict=True)},
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "verdict": ACCEPTED if verdict.accepted else REJECTED,
        "reasons": list(verdict.reasons),
        "sha256": hashlib.sha256(png).hexdigest(),
    }
    return Outcome(record, recovery.pixels if verdict.accepted else None)


def write_token(destination: Destination, job: RenderJob, png: bytes) -> None:
    """An accepted token's two files, image first: its manifest line comes after both."""
    write_atomic(image_path(destination.folder, job.token_id), png)
    write_atomic(metadata_path(destination.folder, job.token_id), expected_metadata(destination, job.token_id, job.combo))


def expected_metadata(destination: Destination, token_id: int, combo: tuple[int, ...], validated: bool = True) -> bytes:
    """The token's metadata document exactly as a run writes it: it follows from the config and traits alone."""
    return encode(token_metadata(destination.config, destination.tables, token_id, combo, validated))


def restore_token(destination: Destination, job: RenderJob, render: np.ndarray, sha256: str) -> bool:
    """Re-create an accepted token's files from a fresh render of its recorded attempt, if it gives the recorded
    pixels (same backend, device and block); False, writing nothing, where it does not."""
    png = encode_png(Image.fromarray(postprocess(render, destination, job).pixels))
    if hashlib.sha256(png).hexdigest() != sha256:
        return False
    write_token(destination, job, png)
    return True


def write_one_of_ones(destination: Destination, one_of_ones: dict[int, PlacedOneOfOne], history: History) -> list[int]:
    """Each 1/1's image and metadata, then its manifest line; a 1/1 whose files went missing or changed is rewritten
    from its source (returned: those ids), one already in place is left alone."""
    folder, rewritten = destination.folder, []
    for token_id, one in one_of_ones.items():
        document = encode(one_of_one_metadata(destination.config, one))
        files = {image_path(folder, token_id): one.art.png, metadata_path(folder, token_id): document}
        stale = [path for path, data in files.items() if not path.is_file() or path.read_bytes() != data]
        for path in stale:
            write_atomic(path, files[path])
        if token_id in history.accepted:
            rewritten += [token_id] if stale else []
            continue
        record = {"event": ONE_OF_ONE, "token_id": token_id, "traits": {}, "verdict": ACCEPTED, "reasons": []}
        record |= {"sha256": one.art.sha256, "source_sha256": one.art.source_sha256}
        append_record(folder / MANIFEST, record)
        history.add(record)
    return rewritten


def claim(destination: Destination, combo: tuple[int, ...]) -> Claim | None:
    if destination.layers is None:
        return None
    pixels, owner = destination.layers.expectation(combo)
    names = tuple((table.key, table.values[i].name) for table, i in zip(destination.tables, combo, strict=True))
    return Claim(pixels, owner, names)


def postprocess(render: np.ndarray, destination: Destination, job: RenderJob) -> Recovery:
    """The render → the S×S token, its background painted the colour the token's background trait asks for."""
    pixels = destination.config.pixels
    return recover(render, pixels.size, destination.palette, pixels.method, destination.backgrounds[job.combo[0]])
