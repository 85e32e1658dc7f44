"""The published token files: each master NEAREST-upscaled, each token's metadata with its image link, in worker
processes for large collections (a plain function of picklable jobs, so the pool can run it)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from generator.config import Config
from generator.curate.finished import RESTORE, CollectionFolder, read_master
from generator.errors import UserError
from generator.files import IMAGE_LIMIT, read_limited
from generator.images import encode_png, pack_rgb
from generator.plan.metadata import ANIMATED_EXTENSION, encode
from generator.progress import Advance, unseen
from generator.publish.formats.base import ExportFormat
from generator.run.animation import encode_gif, timeline
from generator.schemas import PACKAGE, validate
from generator.workers import executor_for, results_in_order

CHUNK = 250  # tokens per worker task: ~0.2 s of work, small enough to keep two cores evenly busy


@dataclass(frozen=True)
class Job:
    """One token's published files: a worker upscales the master, validates and writes the metadata."""

    master: Path
    image: Path
    metadata: Path
    document: dict[str, Any]
    schema: str | None  # the format's token schema (None: the format's documents need no check as they are written)
    schema_package: str = PACKAGE
    animation: Path | None = None  # an animated token's GIF in the collection folder
    frame_ms: int = 0  # how long each of its frames shows

    @property
    def linked(self) -> Path:
        """The file the token's document links: its GIF beside the image when it animates, else the image."""
        return self.image.with_suffix(ANIMATED_EXTENSION) if self.animation else self.image


def token_jobs(
    staging: Path, collection: CollectionFolder, config: Config, uri: str, target: ExportFormat, json_extension: bool
) -> list[Job]:
    """Each token's files where ``target`` puts them, its document linked to ``uri`` + its image's file name."""
    jobs, folders = [], set()
    for position, token in enumerate(collection.tokens):
        image, metadata = target.token_files(position, token.token_id, json_extension)
        images, _, name = image.rpartition("/")
        folders |= {images, metadata.rpartition("/")[0]}
        if token.animation:
            name = name.removesuffix(".png") + ANIMATED_EXTENSION
        document = target.token_document(config, token, f"{uri}{name}")
        schema = target.token_schema
        frame_ms = config.animation.frame_ms
        jobs.append(
            Job(
                token.master,
                staging / image,
                staging / metadata,
                document,
                schema,
                target.schema_package,
                token.animation,
                frame_ms,
            )
        )
    for folder in sorted(folders):
        (staging / folder).mkdir(parents=True, exist_ok=True)
    return jobs


def upscale(image: Image.Image, scale: int) -> Image.Image:
    """Exact integer NEAREST upscale; stored as an exact palette image when it has ≤ 256 colours.

    Every source pixel becomes a ``scale``×``scale`` block of the same colour, so marketplaces
    that shrink the image again never blur a 24 px punk. The palette form is lossless (the
    palette is the image's own colours) and encodes 3× faster than RGB: 0.5 ms against 2.5 ms
    per 480 px token on the 2-core development machine, at about the same file size (2.3 KB).
    """
    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB"
    pixels = np.asarray(image.convert(mode))
    flat = pixels.reshape(-1, len(mode))
    _, first, index = np.unique(pack_rgb(flat), return_index=True, return_inverse=True)
    if len(first) > 256:
        return Image.fromarray(pixels.repeat(scale, 0).repeat(scale, 1), mode)
    result = Image.fromarray(index.reshape(pixels.shape[:2]).astype(np.uint8).repeat(scale, 0).repeat(scale, 1), "P")
    result.putpalette(flat[first].tobytes(), rawmode=mode)
    return result


def publish(jobs: Sequence[Job], scale: int, side: int | None = None, with_metadata: bool = True) -> list[str]:
    """Write each job's image and (unless ``with_metadata`` is False: ``--car`` links them later) its metadata; returns
    each image's SHA-256 (a worker task: plain data in and out).

    A master that does not decode, or is not ``side``×``side``, is a :class:`UserError` naming it.
    """
    digests = []
    for job in jobs:
        data = encode_png(upscale(read_master(job.master, side), scale))
        job.image.write_bytes(data)
        if job.animation:
            job.linked.write_bytes(upscaled_gif(job.animation, job.frame_ms, scale))
        if with_metadata:
            _write_metadata(job, job.document)
        digests.append(hashlib.sha256(data).hexdigest())
    return digests


def upscaled_gif(path: Path, frame_ms: int, scale: int) -> bytes:
    """An animated token's GIF, every frame NEAREST-upscaled like its image, in the same exact palette and timing
    (``verify`` checked it frame by frame against the layers before any export)."""
    frames, _ = timeline(read_limited(path, IMAGE_LIMIT, RESTORE), frame_ms)
    return encode_gif(frames, frame_ms, scale)


def _write_metadata(job: Job, document: dict[str, Any]) -> None:
    if job.schema:
        validate(document, job.schema, job.schema_package)
    job.metadata.write_bytes(encode(document))


def write_linked_metadata(jobs: Sequence[Job], documents: Sequence[dict[str, Any]]) -> None:
    """Each job's document as re-linked to the images' folder once its CID is known (~30 µs a token, in this process)."""
    for job, document in zip(jobs, documents, strict=True):
        _write_metadata(job, document)


def publish_all(
    jobs: list[Job],
    scale: int,
    side: int,
    lock: int,
    with_metadata: bool = True,
    progress: Advance = unseen,
) -> list[str]:
    """In worker processes for large collections (see :mod:`generator.workers`, which keep ``lock`` held); digests come
    back in token order, and ``progress`` hears of each chunk as it does."""
    executor = executor_for(len(jobs), hold=lock)
    progress(0, len(jobs))
    digests: list[str] = []
    try:
        calls = ((publish, (jobs[start : start + CHUNK], scale, side, with_metadata)) for start in range(0, len(jobs), CHUNK))
        for published in results_in_order(executor, calls):
            digests += published
            progress(len(published))
        return digests
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def master_side(collection: CollectionFolder) -> int:
    """The first master's side: every other one must match it (checked as each is published)."""
    first = read_master(collection.tokens[0].master)
    if first.width != first.height:
        raise UserError(f"{collection.tokens[0].master} is {first.width}×{first.height}, not square; {RESTORE}")
    return first.width
