"""``training/config.toml`` → one typed, validated, immutable :class:`Recipe`.

Every key has exactly one built-in default: the field default of its dataclass below, equal to
the shipped recipe. Precedence is command-line flag, then the TOML file, then that default; the
CLI applies its flags with :meth:`Recipe.override`. No torch import here: ``punkgen --help`` and
``punkgen train --print-kohya`` stay light.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from generator.errors import UserError

DEFAULT_RECIPE_PATH = Path(__file__).with_name("config.toml")
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup")
MIXED_PRECISION = ("fp16", "bf16", "no")
SAVE_PRECISION = ("fp16", "fp32")
OPTIMIZERS = ("AdamW",)
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
class Recipe:
    path: Path
    output: OutputSettings = OutputSettings()
    dataset: DatasetSettings = DatasetSettings()
    network: NetworkSettings = NetworkSettings()
    training: TrainingSettings = TrainingSettings()
    optimizer: OptimizerSettings = OptimizerSettings()
    samples: SampleSettings = SampleSettings()

    def override(self, section: str, **values: Any) -> Recipe:
        """A copy with some keys of one section replaced; ``None`` means "flag not given"."""
        given = {key: value for key, value in values.items() if value is not None}
        if not given:
            return self
        return replace(self, **{section: replace(getattr(self, section), **given)})

    def as_dict(self) -> dict[str, Any]:
        """Every setting as plain data, for run.json, resume checks and the ss_* metadata."""
        return {
            f.name: {g.name: _plain(getattr(getattr(self, f.name), g.name)) for g in fields(getattr(self, f.name))}
            for f in fields(self)
            if f.name != "path"
        }


_CLASSES = {
    "output": OutputSettings,
    "dataset": DatasetSettings,
    "network": NetworkSettings,
    "training": TrainingSettings,
    "optimizer": OptimizerSettings,
    "samples": SampleSettings,
}
_CHOICES = {
    ("output", "save_precision"): SAVE_PRECISION,
    ("training", "mixed_precision"): MIXED_PRECISION,
    ("optimizer", "type"): OPTIMIZERS,
    ("optimizer", "lr_scheduler"): SCHEDULERS,
}
_POSITIVE = {("output", "save_every_n_epochs"), ("dataset", "resolution"), ("dataset", "repeats"), ("dataset", "max_colors")}
_POSITIVE |= {("network", "dim"), ("network", "alpha"), ("training", "epochs"), ("training", "batch_size")}
_POSITIVE |= {("optimizer", "lr_scheduler_num_cycles"), ("samples", "steps"), ("samples", "pixel_size")}


def load_recipe(path: Path = DEFAULT_RECIPE_PATH) -> Recipe:
    """Read and validate a recipe TOML; every problem is a :class:`UserError` naming the key and the fix."""
    try:
        with Path(path).open("rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise UserError(f"{path}: recipe file not found; pass --config FILE or leave it out for training/config.toml") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: TOML syntax error: {error}; fix the syntax and run again") from None
    sections = {}
    for name, raw in data.items():
        if name not in _CLASSES:
            raise UserError(f"{path}: unknown section [{name}]{_guess(name, _CLASSES)}; known sections: {', '.join(_CLASSES)}")
        if not isinstance(raw, dict):
            raise UserError(f"{path}: [{name}] must be a table of keys")
        sections[name] = _section(path, name, raw)
    recipe = Recipe(path=Path(path), **sections)
    check_recipe(recipe)
    return recipe


def _section(path: Path, name: str, raw: dict[str, Any]) -> Any:
    cls = _CLASSES[name]
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise UserError(f"{path}: unknown key [{name}].{key}{_guess(key, known)}; known keys: {', '.join(known)}")
        default = getattr(cls(), key)
        values[key] = _typed(path, f"[{name}].{key}", value, default)
    return cls(**values)


def _typed(path: Path, where: str, value: Any, default: Any) -> Any:
    """``value`` as the type of the key's default; an int is fine where a float is expected."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, tuple):
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        value = tuple(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        kind = {bool: "true or false", float: "a number", int: "an integer", tuple: "a list of strings"}.get(
            type(default), "a string"
        )
        raise UserError(f"{path}: {where} must be {kind} (got {value!r})")
    return value


def check_recipe(recipe: Recipe) -> None:
    """Range and choice checks, also after command-line overrides."""
    for (section, key), choices in _CHOICES.items():
        value = getattr(getattr(recipe, section), key)
        if value not in choices:
            raise UserError(f"{recipe.path}: [{section}].{key} must be one of {', '.join(choices)} (got {value!r})")
    for section, key in sorted(_POSITIVE):
        value = getattr(getattr(recipe, section), key)
        if value <= 0:
            raise UserError(f"{recipe.path}: [{section}].{key} must be > 0 (got {value!r})")
    t, o = recipe.training, recipe.optimizer
    for where, value in [
        ("[training].max_steps", t.max_steps),
        ("[training].noise_offset", t.noise_offset),
        ("[training].min_snr_gamma", t.min_snr_gamma),
        ("[training].max_grad_norm", t.max_grad_norm),
        ("[optimizer].learning_rate", o.learning_rate),
        ("[optimizer].unet_lr", o.unet_lr),
        ("[optimizer].text_encoder_lr", o.text_encoder_lr),
        ("[optimizer].weight_decay", o.weight_decay),
        ("[optimizer].lr_warmup_steps", o.lr_warmup_steps),
        ("[samples].every_n_epochs", recipe.samples.every_n_epochs),
    ]:
        if value < 0:
            raise UserError(f"{recipe.path}: {where} must be ≥ 0 (got {value!r})")
    if o.unet_lr == 0 and o.text_encoder_lr == 0:
        raise UserError(f"{recipe.path}: [optimizer].unet_lr and text_encoder_lr are both 0: nothing would train")
    if recipe.samples.every_n_epochs and not recipe.samples.prompts:
        raise UserError(f"{recipe.path}: [samples].prompts is empty; add prompts or set [samples].every_n_epochs = 0")


def _guess(word: str, known: Any) -> str:
    match = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
