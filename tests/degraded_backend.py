"""A test backend: render-sized images of the shipped art, degraded like a LoRA render, some spoilt on purpose.

Registered by tests through ``generator.render.BACKEND_MODULES`` (as ``degraded``). Each token is
drawn by the shipped layers (so a collection whose own layer art is gone still gets pictures),
upscaled to ``SIZE`` and degraded within the limits of a good render (`bench/failures.py`), from
a generator seeded by the job's seed. ``SPOIL`` turns chosen (token id, attempt) pairs into one of
the failure classes of `bench/failures.py`, or ``swap``: a good render of another trait set. The
accepted tokens then go through grid recovery, the trait check and the writer as a real
diffusion run's would.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from failures import FAILURES, good

from generator.config import Config, load_config
from generator.plan.traits import TraitTable, load_traits
from generator.render import Renderer, RenderJob
from generator.render.layers import Layers, load_layers

SHIPPED = Path(__file__).resolve().parents[1] / "traits" / "collection.toml"
SIZE = 512  # render side in pixels
SPOIL: dict[tuple[int, int], str] = {}  # (token id, attempt) → a failure class of bench/failures.py, or "swap"


class DegradedRenderer(Renderer):
    name = "degraded"

    def __init__(self, layers: Layers, tables: list[TraitTable]):
        self.layers = layers
        self.tables = tables
        self.identity = f"degraded:{SIZE}:{layers.digest}"
        self.batch_size = 4
        self.deterministic = False  # each attempt has its own seed, and SPOIL is chosen per attempt

    def render(self, jobs: Sequence[RenderJob]) -> np.ndarray:
        return np.stack([self.render_one(job) for job in jobs])

    def render_one(self, job: RenderJob) -> np.ndarray:
        rng = np.random.default_rng(job.seed)
        kind = SPOIL.get((job.token_id, job.attempt), "good")
        combo = self.swapped(job.combo) if kind == "swap" else job.combo
        art, owner = self.layers.expectation(combo)
        make = FAILURES.get(kind, good)
        return make(art, owner == 0, rng, SIZE)

    def swapped(self, combo: tuple[int, ...]) -> tuple[int, ...]:
        """The same set with another hair: hair is drawn on every token and its values differ in colour or shape."""
        hair = next(i for i, table in enumerate(self.tables) if table.key == "hair")
        values = self.tables[hair].enabled_indices
        other = values[(values.index(combo[hair]) + 1) % len(values)]
        return combo[:hair] + (other,) + combo[hair + 1 :]


def create(config: Config, tables: list[TraitTable]) -> DegradedRenderer:
    """The run's own tables decide the combos; the art always comes from the shipped layers."""
    shipped = load_config(SHIPPED)
    return DegradedRenderer(load_layers(shipped, load_traits(shipped)), tables)
