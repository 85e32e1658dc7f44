"""The hybrid backend: each token's sprite composite, upscaled NEAREST, refined by img2img with the LoRA.

Text-to-image gets the style but not always the asked-for traits; the sprite composite gets
every trait right but has no hand-made variety. Hybrid starts from the composite and lets
the LoRA repaint it at ``[render].strength``, so colours and placement come from the traits
and the finish from the model. The img2img pipeline is built from the txt2img pipeline's
components: one copy of the weights (LoRA fused in) serves both. At strength s only s × steps
denoising steps run, so it is also faster than text-to-image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from generator.config import Config
from generator.errors import UserError
from generator.plan.traits import TraitTable
from generator.render import Renderer, RenderJob
from generator.render.diffusion import DiffusionRenderer
from generator.render.diffusion import create as create_diffusion
from generator.render.sprites import SpriteRenderer
from generator.render.sprites import create as create_sprites


class HybridRenderer(Renderer):
    name = "hybrid"

    def __init__(self, sprites: SpriteRenderer, diffusion: DiffusionRenderer, strength: float):
        from diffusers import StableDiffusionImg2ImgPipeline

        self.sprites = sprites
        self.diffusion = diffusion
        self.img2img = StableDiffusionImg2ImgPipeline(**diffusion.pipe.components)  # shares every module: no second copy
        self.img2img.set_progress_bar_config(disable=True)
        self.strength = strength
        self.batch_size = diffusion.batch_size
        self.identity = f"hybrid:strength={strength}:{sprites.identity}:{diffusion.identity}"

    def render(self, jobs: Sequence[RenderJob]) -> np.ndarray:
        settings = self.diffusion.settings
        sketches = [
            Image.fromarray(pixels).resize((settings.width, settings.height), Image.Resampling.NEAREST)
            for pixels in self.sprites.render(jobs)
        ]
        return self.diffusion.run(self.img2img, jobs, image=sketches, strength=self.strength)


def create(config: Config, tables: list[TraitTable]) -> HybridRenderer:
    """Checked before any weight loads: img2img runs int(strength × steps) steps, and none would crash diffusers."""
    r = config.render
    if int(r.strength * r.steps) < 1:
        raise UserError(
            f"{config.path}: [render].strength {r.strength:g} × steps {r.steps} leaves the hybrid backend no denoising step; "
            f"use at least {math.ceil(1 / r.strength)} steps ([render].steps) or a higher strength"
        )
    return HybridRenderer(create_sprites(config, tables), create_diffusion(config, tables), r.strength)
