"""``training/config.toml`` → one typed, validated, immutable :class:`Recipe`.

Every key has exactly one built-in default: the field default of its dataclass below, equal to
the shipped recipe. Precedence is command-line flag, then the TOML file, then that default; the
CLI applies its flags with :meth:`Recipe.override`. No torch import here: ``punkgen --help`` and
``punkgen train --print-kohya`` stay light.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.errors import Arg, UserError
from generator.schemas.declared import Declared
from generator.toml_sections import Sections, check, load_sections

DEFAULT_RECIPE_PATH = Path(__file__).with_name("config.toml")
SCHEMA_PACKAGE, SCHEMA = "training", "recipe.schema.json"
RECIPE = Declared(SCHEMA, SCHEMA_PACKAGE)  # the recipe's settings as its schema declares them (the flags' bounds)
MISSING_RECIPE = f"pass {Arg.CONFIG} FILE, or leave it out for training/config.toml"
# The recipe compared these four prompts across epochs (trait fragments from traits/*.csv).
SAMPLE_PROMPTS = (
    "pixel art, portrait of bespoke punk, light skin, black mohawk, brown eyes, smile, slate blue background, sharp pixel edges",
    "pixel art, portrait of bespoke punk, dark skin, messy blonde hair, black sunglasses, neutral mouth, mint green background, sharp pixel edges",
    "pixel art, portrait of bespoke punk, tan skin, grey hoodie, green eyes, frown, cigarette, peach background, sharp pixel edges",
    "pixel art, portrait of bespoke punk, medium skin, purple mohawk, blue eyes, open mouth, gold earring, lavender background, sharp pixel edges",
)


@dataclass(frozen=True)
class OutputSettings:
    name: str = "bespoke_punks_sd15_512"
    save_every_n_epochs: int = 1
    save_precision: str = "fp16"


@dataclass(frozen=True)
class DatasetSettings:
    resolution: int = 512
    repeats: int = 10
    instance: str = "bespoke punk"
    max_colors: int = 64


@dataclass(frozen=True)
class NetworkSettings:
    dim: int = 32
    alpha: float = 16


@dataclass(frozen=True)
class TrainingSettings:
    epochs: int = 3
    max_steps: int = 0
    batch_size: int = 1
    seed: int = 42
    mixed_precision: str = "fp16"
    noise_offset: float = 0.1
    min_snr_gamma: float = 5.0
    max_grad_norm: float = 1.0
    gradient_checkpointing: bool = False


@dataclass(frozen=True)
class OptimizerSettings:
    type: str = "AdamW"
    learning_rate: float = 1e-4
    unet_lr: float = 1e-4
    text_encoder_lr: float = 5e-5
    weight_decay: float = 0.01
    lr_scheduler: str = "cosine_with_restarts"
    lr_scheduler_num_cycles: int = 3
    lr_warmup_steps: int = 0


@dataclass(frozen=True)
class SampleSettings:
    every_n_epochs: int = 1
    prompts: tuple[str, ...] = SAMPLE_PROMPTS
    negative_prompt: str = "blurry, smooth, gradient, photo, text, watermark"
    seed: int = 1234
    steps: int = 30
    guidance_scale: float = 7.5
    pixel_size: int = 24


@dataclass(frozen=True)
class Recipe(Sections):
    path: Path
    output: OutputSettings = OutputSettings()
    dataset: DatasetSettings = DatasetSettings()
    network: NetworkSettings = NetworkSettings()
    training: TrainingSettings = TrainingSettings()
    optimizer: OptimizerSettings = OptimizerSettings()
    samples: SampleSettings = SampleSettings()


def load_recipe(path: Path = DEFAULT_RECIPE_PATH) -> Recipe:
    """Read and validate a recipe TOML (schema: training/recipe.schema.json); problems are one-line :class:`UserError`.

    The same steps as ``collection.toml`` (:func:`generator.toml_sections.load_sections`), then the checks no schema
    can make.
    """
    recipe = load_sections(Recipe, path, package=SCHEMA_PACKAGE, schema=SCHEMA, missing=MISSING_RECIPE)
    check_recipe(recipe)
    return recipe


def check_recipe(recipe: Recipe) -> None:
    """The schema's checks again after command-line overrides, then what no schema can say."""
    check(recipe.as_dict(), SCHEMA_PACKAGE, SCHEMA, recipe.path)
    o = recipe.optimizer
    if o.unet_lr == 0 and o.text_encoder_lr == 0:
        raise UserError(f"{recipe.path}: [optimizer].unet_lr and text_encoder_lr are both 0: nothing would train")
    if recipe.samples.every_n_epochs and not recipe.samples.prompts:
        raise UserError(f"{recipe.path}: [samples].prompts is empty; add prompts or set [samples].every_n_epochs = 0")
