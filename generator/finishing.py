"""Finishing a rendered token: its PNG and metadata, written atomically, and the manifest line that marks it done.

This is the CPU side of a run (PNG encoding, schema validation, file creation), so it is a
plain function of picklable data: large runs fan it out to worker processes while the main
process renders, small runs call it inline.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from generator.config import Config
from generator.files import write_atomic
from generator.metadata import encode, token_metadata
from generator.render import RenderJob
from generator.traits import TraitTable


@dataclass(frozen=True)
class Destination:
    folder: Path
    config: Config
    tables: list[TraitTable]


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def finish_batch(destination: Destination, jobs: list[RenderJob], pixels: np.ndarray) -> list[str]:
    return [finish_token(destination, job, Image.fromarray(image)) for job, image in zip(jobs, pixels, strict=True)]


def finish_token(destination: Destination, job: RenderJob, image: Image.Image) -> str:
    """Image, then metadata, each renamed into place; returns the manifest line, to be appended only after."""
    folder, config, tables = destination.folder, destination.config, destination.tables
    png = encode_png(image)
    write_atomic(folder / "images" / f"{job.token_id}.png", png)
    write_atomic(folder / "metadata" / f"{job.token_id}.json", encode(token_metadata(config, tables, job.token_id, job.combo)))
    record = {
        "token_id": job.token_id,
        "attempt": 0,
        "seed": job.seed,
        "traits": {table.key: table.values[i].name for table, i in zip(tables, job.combo, strict=True)},
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "verdict": "accepted",
        "reasons": [],
        "sha256": hashlib.sha256(png).hexdigest(),
    }
    return json.dumps(record, ensure_ascii=False) + "\n"
