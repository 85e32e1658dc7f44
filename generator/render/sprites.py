"""The built-in, weight-free renderer: alpha-composite each token's trait layers in ``[traits].order``.

The layers (:mod:`generator.render.layers`) do the drawing; this is the renderer face they wear
when no model is installed, the default that makes ``make collection`` work on any machine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from generator.config import Config
from generator.plan.traits import TraitTable
from generator.render import Renderer, RenderJob
from generator.render.layers import Layers, load_layers


class SpriteRenderer(Renderer):
    name = "sprites"
    # numpy's per-call overhead dominates small batches: 10,000 tokens composited 8 at a time took
    # 0.35 s, 256 at a time 0.05 s. Sprites need no GPU memory, so [render].batch_size does not apply.
    batch_size = 256
    deterministic = True  # the pixels follow from the traits alone: another attempt repeats the first
    draws_at_token_size = True  # composited from the layers at [pixels].size
    made_by_model = False  # it draws each trait's own layer: its tokens show what they claim by construction

    def __init__(self, layers: Layers):
        self.layers = self.frame_layers = layers
        self.identity = f"sprites:{layers.digest}"

    def render(self, jobs: Sequence[RenderJob]) -> np.ndarray:
        return self.layers.composite(np.array([job.combo for job in jobs]))


def create(config: Config, tables: list[TraitTable]) -> SpriteRenderer:
    return SpriteRenderer(load_layers(config, tables))
