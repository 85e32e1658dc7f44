"""Render: render jobs (a token's trait set, prompt and seed) in, one ``(batch, height, width, 3)`` uint8 array out.

This module holds the renderer protocol and the backend registry. One array, not a list of PIL
images: the pixel steps after it are numpy, and one array crosses to worker processes as a single
buffer (a list of images cost ~0.4 s per 10,000 sprite tokens in conversions and pickling).
``sprites`` composites the trait ``layers`` (no weights, any machine); ``diffusion`` and
``hybrid`` run Stable Diffusion with the LoRA, found by ``weights``; ``imports`` finds renders an
AUTOMATIC1111 or ComfyUI made (``a1111``, ``comfyui``): one :class:`Found` per job, of any size,
or None where the job's render is not there yet. Backend modules are imported
only when chosen, so the sprite path never imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from generator.config import Config
from generator.errors import UserError
from generator.plan.traits import Combo, TraitTable
from generator.render.weights import describe_search, find_base_model, find_lora

BACKEND_MODULES = {
    "sprites": "generator.render.sprites",
    "diffusion": "generator.render.diffusion",
    "hybrid": "generator.render.hybrid",
    "import": "generator.render.imports",
}


@dataclass(frozen=True)
class RenderJob:
    token_id: int
    combo: Combo
    prompt: str
    negative_prompt: str
    seed: int
    attempt: int = 0


@dataclass(frozen=True)
class Found:
    """A render a backend found rather than made (``import``)."""

    pixels: np.ndarray  # (height, width, 3) uint8, any size
    source: str  # its file, relative to the renders folder
    mismatch: str = ""  # a rejection reason: the file claims this job (its seed) but was made from another prompt


Renders = np.ndarray | Sequence[Found | None]  # one (batch, h, w, 3) array, or per job what was found


class Renderer(Protocol):
    identity: str  # what besides the config decides the pixels (e.g. a hash of the layers), for resume checks
    batch_size: int  # jobs per render() call
    deterministic: bool  # every attempt at a token gives the same pixels, so a rejected token is failed at once

    def render(self, jobs: Sequence[RenderJob]) -> Renders: ...


@dataclass(frozen=True)
class BackendChoice:
    name: str
    notice: str = ""  # one line for the user when auto had to fall back


def choose_backend(config: Config) -> BackendChoice:
    """``auto`` means diffusion when the configured model and LoRA are on this machine, else sprites."""
    if config.render.backend != "auto":
        return BackendChoice(config.render.backend)
    missing = []
    if find_base_model(config.model.base, config.folder) is None:
        looked = describe_search(config.model.base, config.folder)
        missing.append(f"base model '{config.model.base}' (looked for {looked})")
    lora = config.resolve(config.model.lora)
    if find_lora(lora) is None:
        missing.append(f"LoRA {lora or '(none configured)'}")
    if missing:
        return BackendChoice("sprites", notice=f"backend auto → sprites: no {' and no '.join(missing)}")
    return BackendChoice("diffusion")


def create_renderer(name: str, config: Config, tables: list[TraitTable]) -> Renderer:
    module_name = BACKEND_MODULES.get(name)
    if module_name is None:
        raise UserError(f"backend '{name}' is not available in this version of punkgen; use --backend sprites")
    return importlib.import_module(module_name).create(config, tables)
