"""A test backend: the sprite renderer, except that chosen (token, attempt) pairs come out blank or as noise.

Registered by tests through ``generator.render.BACKEND_MODULES``; it exercises the real retry
loop, quality filter and manifest with renders that fail on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from generator.config import Config
from generator.plan.traits import TraitTable
from generator.render import Renderer, RenderJob
from generator.render.sprites import create as create_sprites

BLANK: set[tuple[int, int]] = set()  # (token id, attempt) rendered all black
NOISE: set[tuple[int, int]] = set()  # (token id, attempt) rendered as 512×512 noise, then downscaled by the pixel step


class FlakyRenderer(Renderer):
    name = "flaky"
    draws_at_token_size = True  # the sprites' 24×24 arrays, blank or noise included
    # made_by_model stays True: its renders may not show their traits, so each is checked against its claim

    def __init__(self, config: Config, tables: list[TraitTable]):
        self.sprites = create_sprites(config, tables)
        self.identity = "flaky:" + self.sprites.identity
        self.batch_size = 4
        self.deterministic = False  # its failures are chosen per (token, attempt)

    def render(self, jobs: Sequence[RenderJob]) -> np.ndarray:
        pixels = self.sprites.render(jobs)
        for i, job in enumerate(jobs):
            if (job.token_id, job.attempt) in BLANK:
                pixels[i] = 0
            if (job.token_id, job.attempt) in NOISE:
                pixels[i] = np.random.default_rng(job.seed).integers(0, 256, pixels[i].shape, dtype=np.uint8)
        return pixels


def create(config: Config, tables: list[TraitTable]) -> FlakyRenderer:
    return FlakyRenderer(config, tables)
