"""The ``import`` backend: renders made elsewhere (AUTOMATIC1111, ComfyUI, any tool), found instead of made.

punkgen plans and judges; the creator's UI renders. Each run reads the renders folder
(``[render].renders``, recursively) and gives each job the file made for it:

1. a file whose text says what it was made from — AUTOMATIC1111's ``parameters`` (or its EXIF
   UserComment in a JPEG or WebP), ComfyUI's ``prompt`` graph — belongs to the job with its seed. If its prompt or negative prompt is not
   that job's, the creator rendered the wrong line: the render comes back with a mismatch, which
   rejects it, and the token moves on to its next attempt (and seed);
2. a file without such text belongs to a job by its name: ``<id>-<attempt>…`` (ComfyUI's
   ``<id>-<attempt>_00001_.png`` from the filled workflow, or jobs.jsonl's ``file``), or ``<id>``
   for a first attempt.

Several files for one job: the first by path wins, so every run decides alike. A job with no
file waits: the run lists it under ``to-render/`` (:meth:`ImportRenderer.requests`) and stops
with the "waiting for renders" exit status. Seeds are 32 bits, so two jobs of a large collection
can share one; the prompt tells them apart.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from generator.config import Config
from generator.errors import UserError
from generator.files import RENDER_LIMIT
from generator.images import IMAGE_ERRORS, RENDER_SUFFIXES, open_user_image, rgba_pixels
from generator.plan.traits import TraitTable
from generator.render import Found, Renderer, RenderJob
from generator.render.a1111 import EXIF_IFD, USER_COMMENT, Infotext, prompt_line, read_infotext, user_comment
from generator.render.comfyui import Graph, Shape, fill, load_workflow, read_prompt_chunk

_NAMED = re.compile(r"(\d+)-(\d+)(?:\D.*)?|(\d+)")  # <id>-<attempt>[anything not a digit…] | <id>
WRONG_PROMPT = "wrong_prompt"
MOVE_IT = "move it out of the renders folder"


@dataclass(frozen=True)
class RenderFile:
    path: Path
    claim: Infotext | None  # what its PNG text says it was made from; None: matched by name


@dataclass
class Index:
    by_seed: dict[int, list[RenderFile]]
    by_name: dict[tuple[int, int], list[RenderFile]]


class ImportRenderer(Renderer):
    name = "import"
    identity = "import"  # the pixels come from files; the manifest records each accepted one's sha256
    deterministic = False  # a rejected job's next attempt has a new seed, so a new render

    def __init__(self, config: Config, folder: Path, workflow: tuple[Graph, Shape] | None):
        self.config, self.folder, self.workflow = config, folder, workflow
        self.batch_size = config.render.batch_size
        self._index: Index | None = None

    @property
    def renders_folder(self) -> Path:  # it waits for the renders a UI saves there
        return self.folder

    def render(self, jobs: Sequence[RenderJob]) -> list[Found | None]:
        if self._index is None:
            self._index = index_renders(self.folder)
        return [self._find(self._index, job) for job in jobs]

    def requests(self, jobs: Sequence[RenderJob]) -> dict[str, bytes]:
        """``to-render/``'s files for the jobs still waiting: the A1111 prompt list, one filled ComfyUI workflow per
        job (with ``[render].workflow``), and ``jobs.jsonl`` for any other tool."""
        render = self.config.render
        jobs = sorted(jobs, key=lambda job: (job.token_id, job.attempt))
        lines = [prompt_line(job, self.config) + "\n" for job in jobs]
        records = [
            json.dumps(
                {
                    "token_id": job.token_id,
                    "attempt": job.attempt,
                    "seed": job.seed,
                    "prompt": job.prompt,
                    "negative_prompt": job.negative_prompt,
                    "width": render.width,
                    "height": render.height,
                    "file": f"{job.token_id}-{job.attempt}.png",
                },
                ensure_ascii=False,
            )
            + "\n"
            for job in jobs
        ]
        files = {"prompts.txt": "".join(lines).encode(), "jobs.jsonl": "".join(records).encode()}
        if self.workflow is not None:
            graph, shape = self.workflow
            for job in jobs:
                filled = json.dumps(fill(graph, shape, job), indent=2, ensure_ascii=False) + "\n"
                files[f"comfyui/{job.token_id}-{job.attempt}.json"] = filled.encode()
        return files

    def _find(self, index: Index, job: RenderJob) -> Found | None:
        claimed = index.by_seed.get(job.seed, [])
        exact = [file for file in claimed if _same_texts(file.claim, job)]
        if exact:
            return self._load(exact[0])
        if claimed:
            name = claimed[0].path.relative_to(self.folder)
            return self._load(
                claimed[0], f"{WRONG_PROMPT}: {name} has this attempt's seed but another prompt (rendered the wrong line?)"
            )
        named = index.by_name.get((job.token_id, job.attempt))
        return self._load(named[0]) if named else None

    def _load(self, file: RenderFile, mismatch: str = "") -> Found | None:
        """The file's RGB pixels; None (the job waits) where it can't be decoded, e.g. still being written."""
        try:
            with _open_render(file.path) as image:
                pixels = rgba_pixels(file.path, image)[..., :3]
        except IMAGE_ERRORS:
            return None
        return Found(np.ascontiguousarray(pixels), file.path.relative_to(self.folder).as_posix(), mismatch)


def index_renders(folder: Path) -> Index:
    """Every render file under ``folder`` by the seed its text claims, or else by its name; read in path order."""
    index = Index({}, {})
    # Not only regular files: a FIFO or a link to a device named like a render is refused, naming it, not skipped
    # (the job would wait for it without a word).
    paths = (
        sorted(p for p in folder.rglob("*") if p.suffix.lower() in RENDER_SUFFIXES and not p.is_dir()) if folder.is_dir() else []
    )
    for path in paths:
        claim = _claim(path)
        if claim is not None and claim.seed is not None:
            index.by_seed.setdefault(claim.seed, []).append(RenderFile(path, claim))
        elif key := _named(path.stem):
            index.by_name.setdefault(key, []).append(RenderFile(path, None))
    return index


def _claim(path: Path) -> Infotext | None:
    """What the UI wrote into the file (read from the header: no pixels decoded)."""
    try:
        with _open_render(path) as image:
            info: dict[str, Any] = dict(image.info)
            comment = None if "parameters" in info else user_comment(image.getexif().get_ifd(EXIF_IFD).get(USER_COMMENT))
    except IMAGE_ERRORS:
        return None
    if isinstance(info.get("parameters"), str):
        return read_infotext(info["parameters"])
    if isinstance(info.get("prompt"), str):
        return read_prompt_chunk(info["prompt"])
    return read_infotext(comment) if comment else None


@contextmanager
def _open_render(path: Path) -> Iterator[Image.Image]:
    """A render file, opened once it proved a regular file of bounded size (:func:`~generator.images.open_user_image`).
    A header claiming more pixels than Pillow decodes (a decompression bomb) is an error naming the file: as a
    damaged file it would wait forever for a render that was already there."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with open_user_image(path, MOVE_IT, RENDER_LIMIT) as image:
                yield image
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise UserError(f"{path}: {error}; it is no render of this collection, {MOVE_IT}") from None


def _named(stem: str) -> tuple[int, int] | None:
    match = _NAMED.fullmatch(stem)
    if match is None:
        return None
    if match.group(3) is not None:
        return int(match.group(3)), 0
    return int(match.group(1)), int(match.group(2))


def _same_texts(claim: Infotext | None, job: RenderJob) -> bool:
    """Same prompt and negative prompt, up to whitespace (a UI may trim or re-wrap them)."""
    if claim is None:
        return False
    return claim.prompt.split() == job.prompt.split() and claim.negative_prompt.split() == job.negative_prompt.split()


def create(config: Config, tables: list[TraitTable]) -> ImportRenderer:
    if not config.render.renders:
        raise UserError(
            f'{config.path}: [render].backend = "import" needs a renders folder: set [render].renders '
            "to the folder AUTOMATIC1111 or ComfyUI saves its images in"
        )
    folder = config.resolve(config.render.renders)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: [render].renders must be a folder (where the UI saves renders), not a file")
    workflow = load_workflow(config.resolve(config.render.workflow)) if config.render.workflow else None
    return ImportRenderer(config, folder, workflow)
