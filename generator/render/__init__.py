"""Render: render jobs (a token's trait set, prompt and seed) in, one ``(batch, height, width, 3)`` uint8 array out.

This module holds the renderer protocol and the backend registry. One array, not a list of PIL
images: the pixel steps after it are numpy, and one array crosses to worker processes as a single
buffer (a list of images cost ~0.4 s per 10,000 sprite tokens in conversions and pickling).
``sprites`` composites the trait ``layers`` (no weights, any machine); ``diffusion`` and
``hybrid`` run Stable Diffusion with the LoRA, found by ``weights``; ``imports`` finds renders an
AUTOMATIC1111 or ComfyUI made (``a1111``, ``comfyui``): one :class:`Found` per job, of any size,
or None where the job's render is not there yet. Backend modules are imported
only when chosen, so the sprite path never imports torch.

Every backend subclasses :class:`Renderer` and declares what it is there: whether it draws at
token size, whether a model made its pictures, whether it waits for renders made elsewhere.
Callers read those declarations, never a backend's name or class, so a new backend takes one
module and one line in :data:`BACKEND_MODULES` (see ``docs/contributing.md``).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from generator.config import Config
from generator.errors import UserError
from generator.plan.traits import Combo, TraitTable
from generator.render.weights import describe_search, find_base_model, find_lora

if TYPE_CHECKING:
    from generator.render.layers import Layers

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


class Renderer(ABC):
    """What every backend is, with the defaults of a model that renders full-size pictures itself.

    A backend overrides what differs: the run, repair, reroll and the pixel steps read these
    declarations, so a new backend changes nothing outside its own module.
    """

    name: str  # the backend's name in messages ("12 renders with sprites")
    identity: str  # what besides the config decides the pixels (e.g. a hash of the layers), for resume checks
    batch_size: int  # jobs per render() call
    deterministic = False  # every attempt at a token gives the same pixels, so a rejected token is failed at once
    # Its renders are the tokens' exact pixels (S×S, palette-true): no grid recovery or snapping, judged as drawn
    # art, a block at a time; its small arrays also let worker processes be forked (see workers.start_method).
    draws_at_token_size = False
    # A model made the picture, so it may show other traits than asked: each token is checked against the traits'
    # layers, and a rejected render keeps AUTOMATIC1111's `parameters` text, to redo it in a UI.
    made_by_model = True
    renders_folder: Path | None = None  # where it finds renders made elsewhere (import); None: it makes its own
    # The layers it composites, whose strips of frames animate its tokens (sprites); None: it draws one picture per
    # token, and an animated trait folder is refused (see generator.run.collection).
    frame_layers: Layers | None = None

    @abstractmethod
    def render(self, jobs: Sequence[RenderJob]) -> Renders: ...

    def requests(self, jobs: Sequence[RenderJob]) -> dict[str, bytes]:
        """``to-render/``'s files (name → bytes) for jobs whose render is not there yet; none for a backend that
        makes its own."""
        return {}

    def folders_read(self) -> tuple[tuple[str, Path], ...]:
        """The folders it reads whole, each with how the user named it: the collection folder must not overlap one
        (its own files would be read back as renders)."""
        if self.renders_folder is None:
            return ()
        return (("renders folder [render].renders", self.renders_folder),)


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
        raise UserError(f"backend '{name}' is not available in this version of punkgen; set [render].backend to sprites")
    return importlib.import_module(module_name).create(config, tables)
