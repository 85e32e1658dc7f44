"""Steps 2–5 of a training run (train_lora.py lists them all): everything the loop runs on, built in run order.

:func:`set_up` reads as that order: accelerate and the seed, the frozen base model, LoRA on
kohya's modules, the cached latents, the optimizer and schedule, and last the networks handed to
accelerate. torch, diffusers, transformers, peft and accelerate load with this module, so
train_lora.py imports it only after step 1 has checked the inputs: a mistake is refused in a
second, not after the imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import set_seed
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from diffusers.optimization import get_scheduler
from diffusers.utils import logging as diffusers_logging
from peft import LoraConfig, inject_adapter_in_model
from transformers import CLIPTextModel, CLIPTokenizer
from transformers.utils import logging as transformers_logging

from training import kohya
from training.config import NetworkSettings, OptimizerSettings, Recipe, TrainingSettings
from training.dataset import Example, training_pixels
from training.draws import count_steps

VAE_BATCH = 8  # images per VAE call while caching latents


@dataclass(frozen=True)
class Runtime:
    """Where the run computes: accelerate's processes and device, and the precision the frozen weights run in."""

    accelerator: Accelerator
    mixed_precision: str  # effective: fp16 asked for on a machine without CUDA trains in fp32 ("no")
    weight_dtype: torch.dtype

    @property
    def device(self) -> torch.device:
        return self.accelerator.device

    @property
    def processes(self) -> int:
        return self.accelerator.num_processes

    @property
    def index(self) -> int:
        return self.accelerator.process_index

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process


@dataclass(frozen=True)
class BaseModel:
    """SD 1.5's parts, frozen; :func:`attach_lora` adds the trainable layers to ``unet`` and ``text_encoder`` in place."""

    folder: Path
    tokenizer: Any
    text_encoder: Any
    vae: Any
    unet: Any
    noise_scheduler: Any


@dataclass(frozen=True)
class Lora:
    """The networks whose LoRA trains (a learning rate of 0 leaves a network out) and AdamW's groups of their weights."""

    trained: dict[str, Any]  # "unet" / "text_encoder" → the network, or None where it does not train
    groups: list[dict[str, Any]]  # one per trained network: its LoRA parameters (fp32 master weights) and learning rate

    @property
    def parameters(self) -> list[Any]:
        return [p for group in self.groups for p in group["params"]]


@dataclass(frozen=True)
class Encoded:
    """The dataset as the loop reads it, on the device: each image and caption encoded once, however often it repeats."""

    latents: torch.Tensor  # (images, 4, r/8, r/8): VAE latents, scaled
    token_ids: torch.Tensor  # (images, tokenizer length)
    samples: list[int]  # the image of each sample, every image ``repeats`` times: what the epoch's batches index


@dataclass(frozen=True)
class Networks:
    """The UNet and text encoder as the loop calls them (wrapped by accelerate where they train) and as they are saved."""

    unet: Any
    text_encoder: Any
    unwrapped: dict[str, Any]  # both, unwrapped: what the sample pipeline runs
    saved: dict[str, Any]  # the trained ones, unwrapped (None for the other): what checkpoints and resume states hold

    def train_mode(self) -> None:
        self.unet.train()
        self.text_encoder.train()


@dataclass(frozen=True)
class Setup:
    """What steps 2–5 build; the loop and the after-epoch step read nothing else."""

    runtime: Runtime
    model: BaseModel
    lora: Lora
    data: Encoded
    optimizer: Any
    lr_scheduler: Any
    networks: Networks
    steps_per_epoch: int
    total_steps: int


def set_up(recipe: Recipe, base: Path, examples: list[Example]) -> Setup:
    """Steps 2–5, in the order they run; the order is part of the result (see the comments)."""
    t = recipe.training
    runtime = start_runtime(t)  # seeds torch: the LoRA initialisation below draws from it
    model = load_base(base, runtime)
    lora = attach_lora(model, recipe.network, recipe.optimizer, runtime, t.gradient_checkpointing)
    data = encode_dataset(examples, model, recipe.dataset.resolution, runtime, t.seed)
    steps_per_epoch, total_steps = count_steps(len(data.samples), t.batch_size, runtime.processes, t.seed, t.epochs, t.max_steps)
    optimizer, lr_scheduler = build_optimizer(lora, recipe.optimizer, total_steps, runtime)
    networks = wrap_networks(model, lora, runtime)  # after the optimizer: accelerate pairs them in this order
    return Setup(runtime, model, lora, data, optimizer, lr_scheduler, networks, steps_per_epoch, total_steps)


def start_runtime(t: TrainingSettings) -> Runtime:
    """accelerate's state for this run, the effective precision, and the seed of the LoRA initialisation."""
    for library in (diffusers_logging, transformers_logging):  # our bar and lines only: no per-file load bars or notices
        library.set_verbosity_error()
        library.disable_progress_bar()
    # fp16 autocast is a CUDA feature: on CPU "fp16" trains in fp32; bf16 autocast works on both
    mixed = t.mixed_precision if torch.cuda.is_available() or t.mixed_precision == "bf16" else "no"
    # accelerate keeps one process-wide state; a second run in one process (tests, notebooks) may change the precision
    AcceleratorState._reset_state(reset_partial_state=False)
    accelerator = Accelerator(mixed_precision=mixed)
    weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(mixed, torch.float32)
    set_seed(t.seed)  # python, numpy and torch
    return Runtime(accelerator, mixed, weight_dtype)


def load_base(folder: Path, runtime: Runtime) -> BaseModel:
    """Step 2: SD 1.5 from a local diffusers folder (``.safetensors`` weights only, offline), every part frozen."""
    local = {"local_files_only": True}
    weights = {"use_safetensors": True, **local}
    model = BaseModel(  # the keywords run in this order: tokenizer, text encoder, VAE, UNet, noise schedule
        folder=folder,
        tokenizer=CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer", **local),
        text_encoder=CLIPTextModel.from_pretrained(folder, subfolder="text_encoder", **weights),
        vae=AutoencoderKL.from_pretrained(folder, subfolder="vae", **weights),
        unet=UNet2DConditionModel.from_pretrained(folder, subfolder="unet", **weights),
        noise_scheduler=DDPMScheduler.from_pretrained(folder, subfolder="scheduler", **local),
    )
    for part in (model.text_encoder, model.vae, model.unet):
        part.requires_grad_(False)
    model.vae.to(runtime.device, torch.float32)  # fp32: it only encodes once (latents cached) and decodes samples
    return model


def attach_lora(
    model: BaseModel, n: NetworkSettings, o: OptimizerSettings, runtime: Runtime, gradient_checkpointing: bool
) -> Lora:
    """Step 3: LoRA of rank ``dim`` on exactly kohya's modules of each network whose learning rate is above 0.

    The frozen weights then move to the run's precision while the LoRA weights stay fp32 master
    weights (autocast runs them in 16 bit), so small fp16 updates are not rounded away.
    """
    rates = {"unet": o.unet_lr, "text_encoder": o.text_encoder_lr}
    networks = {"unet": model.unet, "text_encoder": model.text_encoder}
    trained = {key: network if rates[key] > 0 else None for key, network in networks.items()}

    def config(targets: list[str]) -> LoraConfig:
        return LoraConfig(r=n.dim, lora_alpha=n.alpha, target_modules=targets, init_lora_weights=True, lora_dropout=0.0)

    if trained["unet"] is not None:
        model.unet.add_adapter(config(kohya.target_modules(model.unet, kohya.UNET_BLOCKS)))
    if trained["text_encoder"] is not None:
        text_encoder = model.text_encoder
        inject_adapter_in_model(config(kohya.target_modules(text_encoder, kohya.TEXT_ENCODER_BLOCKS)), text_encoder)
    for network in networks.values():
        network.to(runtime.device, runtime.weight_dtype)
    groups = []
    for key, network in trained.items():
        if network is not None:
            params = [p for p in network.parameters() if p.requires_grad]
            for p in params:
                p.data = p.data.float()
            groups.append({"params": params, "lr": rates[key]})
    if gradient_checkpointing:
        model.unet.enable_gradient_checkpointing()
    return Lora(trained, groups)


def encode_dataset(examples: list[Example], model: BaseModel, resolution: int, runtime: Runtime, seed: int) -> Encoded:
    """Step 4: every image through the VAE once (its latent sampled from a seeded generator), every caption tokenized."""
    device, vae, tokenizer = runtime.device, model.vae, model.tokenizer
    with torch.no_grad():
        generator = torch.Generator(device).manual_seed(seed)
        pixels = [torch.from_numpy(training_pixels(example.image, resolution)) for example in examples]
        latents = torch.cat(
            [
                vae.encode(torch.stack(pixels[i : i + VAE_BATCH]).to(device)).latent_dist.sample(generator)
                * vae.config.scaling_factor
                for i in range(0, len(pixels), VAE_BATCH)
            ]
        )
        captions = [example.caption for example in examples]
        token_ids = tokenizer(
            captions, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
        ).input_ids.to(device)
    samples = [i for i, example in enumerate(examples) for _ in range(example.repeats)]
    return Encoded(latents, token_ids, samples)


def build_optimizer(lora: Lora, o: OptimizerSettings, total_steps: int, runtime: Runtime) -> tuple[Any, Any]:
    """Step 5: AdamW with one learning rate per network, and the recipe's schedule, both prepared by accelerate.

    accelerate steps a prepared schedule once per process at every optimizer step: hence the step counts × processes.
    """
    optimizer = torch.optim.AdamW(lora.groups, lr=o.learning_rate, weight_decay=o.weight_decay)
    lr_scheduler = get_scheduler(
        o.lr_scheduler,
        optimizer,
        num_warmup_steps=o.lr_warmup_steps * runtime.processes,
        num_training_steps=total_steps * runtime.processes,
        num_cycles=o.lr_scheduler_num_cycles,
    )
    optimizer, lr_scheduler = runtime.accelerator.prepare(optimizer, lr_scheduler)
    return optimizer, lr_scheduler


def wrap_networks(model: BaseModel, lora: Lora, runtime: Runtime) -> Networks:
    """The trained networks through ``accelerator.prepare`` (DDP on several processes); only those, since DDP refuses
    a model with nothing to train."""
    accelerator = runtime.accelerator
    unet = accelerator.prepare(model.unet) if lora.trained["unet"] is not None else model.unet
    text_encoder = model.text_encoder
    if lora.trained["text_encoder"] is not None:
        text_encoder = accelerator.prepare(text_encoder)
    unwrapped = {"unet": accelerator.unwrap_model(unet), "text_encoder": accelerator.unwrap_model(text_encoder)}
    saved = {key: network if lora.trained[key] is not None else None for key, network in unwrapped.items()}
    return Networks(unet, text_encoder, unwrapped, saved)
