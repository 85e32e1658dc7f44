"""A test backend that draws at token size: each token's sprite composite, mirrored left to right.

The contributor guide's first exercise (issue 28): a new backend is this one module plus one line
that registers it (``BACKEND_MODULES["mirror"] = "mirror_backend"``; tests use ``monkeypatch.setitem``).
It declares what it is on its class, and the run reads nothing else: its arrays are the tokens
(no grid recovery), no model made them (no trait check, no A1111 text on a kept render), and
every attempt repeats the first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from generator.config import Config
from generator.plan.traits import TraitTable
from generator.render import Renderer, RenderJob
from generator.render.layers import Layers, load_layers


class MirrorRenderer(Renderer):
    name = "mirror"
    batch_size = 64
    deterministic = True
    draws_at_token_size = True
    made_by_model = False

    def __init__(self, layers: Layers):
        self.layers = layers
        self.identity = f"mirror:{layers.digest}"

    def render(self, jobs: Sequence[RenderJob]) -> np.ndarray:
        return np.ascontiguousarray(self.layers.composite(np.array([job.combo for job in jobs]))[:, :, ::-1])


def create(config: Config, tables: list[TraitTable]) -> MirrorRenderer:
    return MirrorRenderer(load_layers(config, tables))
