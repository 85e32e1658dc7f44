"""kohya sd-scripts LoRA format: module selection, key names, ``ss_*`` metadata, files, and the sd-scripts command.

A kohya LoRA file holds, per adapted module, ``<name>.lora_down.weight`` (rank × in),
``<name>.lora_up.weight`` (out × rank) and ``<name>.alpha`` (a scalar), where ``<name>`` is
``lora_unet_`` or ``lora_te_`` + the module's path with dots as underscores. The applied update
is ``ΔW = (alpha / rank) · up @ down``; peft's ``lora_B @ lora_A · lora_alpha / r`` is the same
thing, so the conversion is a renaming, with ``alpha = network_alpha`` written explicitly.

Why not diffusers' ``convert_state_dict_to_kohya``: with diffusers 0.42 / transformers 5.24 it
writes ``alpha = rank`` (a rank-32/alpha-16 LoRA would apply at twice its trained strength), uses
the SDXL prefix ``lora_te1_``, and, since transformers 5 flattened CLIPTextModel (no
``text_model.`` segment in module names), writes ``lora_te1_encoder_layers_0_…`` keys that no
SD 1.5 tool expects. So the names are built here from the live modules: SD 1.5's text encoder
keys are always ``lora_te_text_model_encoder_layers_…``, on any transformers version.

Modules: kohya's defaults (``networks/lora.py``), every ``Linear`` and 1×1 ``Conv2d`` inside
the UNet's ``Transformer2DModel`` blocks and inside the text encoder's ``CLIPAttention``/``CLIPMLP``.
"""

from __future__ import annotations

import hashlib
import json
import random
import shlex
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import UserError
from generator.files import MODEL_LIMIT, read_limited, write_atomic
from training.config import RECIPE, Recipe

UNET_PREFIX = "lora_unet"
TEXT_ENCODER_PREFIX = "lora_te"
UNET_BLOCKS = ("Transformer2DModel",)
TEXT_ENCODER_BLOCKS = ("CLIPAttention", "CLIPSdpaAttention", "CLIPFlashAttention2", "CLIPMLP")
SUFFIXES = (".lora_down.weight", ".lora_up.weight", ".alpha")
SD_SCRIPTS_PRECISION = {"fp16": "fp16", "fp32": "float"}  # [output].save_precision → sd-scripts' --save_precision


def target_modules(model: Any, blocks: tuple[str, ...]) -> list[str]:
    """Paths of every Linear and 1×1 Conv2d inside a module whose class is in ``blocks`` (kohya's rule)."""
    import torch

    found: dict[str, None] = {}
    for name, module in model.named_modules():
        if type(module).__name__ not in blocks:
            continue
        wrapped: list[str] = []  # peft layers already injected: the layer counts, not its base_layer/lora_A/lora_B
        for child_name, child in module.named_modules():
            if not child_name or any(child_name.startswith(prefix + ".") for prefix in wrapped):
                continue
            base = getattr(child, "base_layer", None)
            if base is not None:
                wrapped.append(child_name)
                child = base
            is_linear = isinstance(child, torch.nn.Linear)
            is_pointwise = isinstance(child, torch.nn.Conv2d) and tuple(child.kernel_size) == (1, 1)
            if is_linear or is_pointwise:
                found[f"{name}.{child_name}" if name else child_name] = None
    return list(found)


def text_encoder_path(module_path: str, text_encoder: Any) -> str:
    """The module path as SD 1.5 tools name it: always under ``text_model.`` (transformers 5 dropped it)."""
    has_wrapper = hasattr(text_encoder, "text_model")
    return module_path if has_wrapper or module_path.startswith("text_model.") else f"text_model.{module_path}"


def kohya_name(prefix: str, module_path: str) -> str:
    return f"{prefix}_{module_path.replace('.', '_')}"


def kohya_names(unet: Any | None, text_encoder: Any | None) -> dict[str, tuple[str, str]]:
    """``kohya name → (component, module path)`` for every module kohya would adapt in these models."""
    names = {}
    if unet is not None:
        for path in target_modules(unet, UNET_BLOCKS):
            names[kohya_name(UNET_PREFIX, path)] = ("unet", path)
    if text_encoder is not None:
        for path in target_modules(text_encoder, TEXT_ENCODER_BLOCKS):
            names[kohya_name(TEXT_ENCODER_PREFIX, text_encoder_path(path, text_encoder))] = ("text_encoder", path)
    return names


def lora_layers(model: Any) -> dict[str, Any]:
    """``module path → peft LoraLayer`` of a model with injected adapters."""
    from peft.tuners.lora import LoraLayer

    return {name: module for name, module in model.named_modules() if isinstance(module, LoraLayer)}


def to_kohya(unet: Any | None, text_encoder: Any | None, alpha: float, dtype: Any, adapter: str = "default") -> dict[str, Any]:
    """The trained peft adapters as a kohya state dict (``alpha`` = network_alpha, tensors in ``dtype``, on CPU)."""
    import torch

    state = {}
    for prefix, model in ((UNET_PREFIX, unet), (TEXT_ENCODER_PREFIX, text_encoder)):
        if model is None:
            continue
        for path, layer in lora_layers(model).items():
            if adapter not in layer.lora_A:
                continue
            shown = text_encoder_path(path, model) if prefix == TEXT_ENCODER_PREFIX else path
            name = kohya_name(prefix, shown)
            state[f"{name}.lora_down.weight"] = layer.lora_A[adapter].weight.detach().to("cpu", dtype).contiguous()
            state[f"{name}.lora_up.weight"] = layer.lora_B[adapter].weight.detach().to("cpu", dtype).contiguous()
            state[f"{name}.alpha"] = torch.tensor(float(alpha), dtype=dtype)
    return state


def load_into(state: dict[str, Any], unet: Any | None, text_encoder: Any | None, adapter: str = "default") -> int:
    """Copy kohya tensors into the matching injected peft layers (the inverse of :func:`to_kohya`); returns the count."""
    import torch

    layers = {}
    for component, model in (("unet", unet), ("text_encoder", text_encoder)):
        if model is not None:
            found = lora_layers(model)
            for name, (owner, path) in kohya_names(unet, text_encoder).items():
                if owner == component and path in found:
                    layers[name] = found[path]
    loaded = 0
    with torch.no_grad():
        for key in state:
            if not key.endswith(".lora_down.weight"):
                continue
            name = key.removesuffix(".lora_down.weight")
            if name not in layers:
                raise UserError(f"LoRA module {name} has no matching layer in this model; was it trained on another base model?")
            layers[name].lora_A[adapter].weight.copy_(state[key])
            layers[name].lora_B[adapter].weight.copy_(state[f"{name}.lora_up.weight"])
            loaded += 1
    return loaded


@dataclass(frozen=True)
class RunFacts:
    """What the ``ss_*`` metadata records besides the recipe: the run's data, sizes and precision."""

    base_model: str
    num_train_images: int  # images × repeats
    num_batches_per_epoch: int
    max_train_steps: int
    total_batch_size: int
    mixed_precision: str  # effective: "no" on CPU
    dataset_dirs: dict[str, dict[str, int]] = field(default_factory=dict)  # folder → n_repeats, img_count
    tag_frequency: dict[str, dict[str, int]] = field(default_factory=dict)
    session_id: int = 0
    started_at: float = 0.0


def run_facts(
    base: str, examples: list[Any], steps_per_epoch: int, total_steps: int, total_batch_size: int, mixed: str
) -> RunFacts:
    """The dataset summary sd-scripts records: images × repeats, per-folder counts, and caption tag frequencies."""
    folders: dict[str, dict[str, int]] = {}
    tags: dict[str, Counter] = {}
    for example in examples:
        folder = example.image.parent.name
        folders.setdefault(folder, {"n_repeats": example.repeats, "img_count": 0})["img_count"] += 1
        tags.setdefault(folder, Counter()).update(tag.strip() for tag in example.caption.split(",") if tag.strip())
    return RunFacts(
        base_model=base,
        num_train_images=sum(example.repeats for example in examples),
        num_batches_per_epoch=steps_per_epoch,
        max_train_steps=total_steps,
        total_batch_size=total_batch_size,
        mixed_precision=mixed,
        dataset_dirs=folders,
        tag_frequency={folder: dict(counter) for folder, counter in tags.items()},
        session_id=random.Random(time.time_ns()).randrange(2**31),
        started_at=time.time(),
    )


def metadata(recipe: Recipe, run: RunFacts, epoch: int, steps: int) -> dict[str, str]:
    """sd-scripts' ``ss_*`` training metadata (what A1111, ComfyUI and civitai read), plus modelspec keys.

    One table, whole, in sd-scripts' own key order, so it reads line by line against ``train_network.py``.
    """
    t, o, n = recipe.training, recipe.optimizer, recipe.network
    resolution = recipe.dataset.resolution
    data: dict[str, Any] = {
        "ss_session_id": run.session_id,
        "ss_training_started_at": run.started_at,
        "ss_training_finished_at": time.time(),
        "ss_output_name": recipe.output.name,
        "ss_sd_model_name": Path(run.base_model).name or run.base_model,
        "ss_base_model_version": "sd_v1",
        "ss_v2": False,
        "ss_network_module": "networks.lora",
        "ss_network_dim": n.dim,
        "ss_network_alpha": _number(n.alpha),
        "ss_network_dropout": None,
        "ss_learning_rate": o.learning_rate,
        "ss_unet_lr": o.unet_lr,
        "ss_text_encoder_lr": o.text_encoder_lr,
        "ss_optimizer": f"torch.optim.adamw.AdamW(weight_decay={o.weight_decay})",
        "ss_lr_scheduler": o.lr_scheduler,
        "ss_lr_scheduler_num_cycles": o.lr_scheduler_num_cycles,
        "ss_lr_warmup_steps": o.lr_warmup_steps,
        "ss_max_grad_norm": t.max_grad_norm,
        "ss_num_epochs": t.epochs,
        "ss_epoch": epoch,
        "ss_steps": steps,
        "ss_max_train_steps": run.max_train_steps,
        "ss_num_train_images": run.num_train_images,
        "ss_num_reg_images": 0,
        "ss_num_batches_per_epoch": run.num_batches_per_epoch,
        "ss_batch_size_per_device": t.batch_size,
        "ss_total_batch_size": run.total_batch_size,
        "ss_gradient_accumulation_steps": 1,
        "ss_gradient_checkpointing": t.gradient_checkpointing,
        "ss_mixed_precision": run.mixed_precision,
        "ss_full_fp16": False,
        "ss_resolution": f"({resolution}, {resolution})",
        "ss_enable_bucket": False,
        "ss_cache_latents": True,
        "ss_clip_skip": None,
        "ss_seed": t.seed,
        "ss_noise_offset": t.noise_offset,
        "ss_min_snr_gamma": t.min_snr_gamma,
        "ss_prediction_type": "epsilon",
        "ss_caption_dropout_rate": 0.0,
        "ss_shuffle_caption": False,
        "ss_keep_tokens": 0,
        "ss_dataset_dirs": json.dumps(run.dataset_dirs),
        "ss_tag_frequency": json.dumps(run.tag_frequency),
        "ss_training_comment": "punkgen train (diffusers + peft)",
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": "stable-diffusion-v1/lora",
        "modelspec.implementation": "diffusers",
        "modelspec.title": recipe.output.name,
        "modelspec.resolution": f"{resolution}x{resolution}",
        "modelspec.date": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(run.started_at or time.time())),
    }
    return {key: str(value) for key, value in data.items()}


def save(path: Path, state: dict[str, Any], meta: dict[str, str]) -> None:
    """Write a kohya ``.safetensors`` atomically, with the ``sshs_*`` hashes sd-webui shows for the file."""
    from safetensors.torch import save

    ss_only = {key: value for key, value in meta.items() if key.startswith("ss_")}
    body = save(state, ss_only)
    header_length = int.from_bytes(body[:8], "little")
    meta = {
        **meta,
        "sshs_model_hash": hashlib.sha256(body[8 + header_length :]).hexdigest(),
        "sshs_legacy_hash": hashlib.sha256(body[0x100000 : 0x100000 + 0x10000]).hexdigest()[:8],
    }
    write_atomic(path, save(state, meta))


def read(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """A kohya LoRA file's tensors and metadata; ``.safetensors`` only, every key checked."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    if path.suffix != ".safetensors":
        raise UserError(f"{path}: only .safetensors LoRA files are read (a .ckpt/.pt could run code when loaded)")
    data = read_limited(path, MODEL_LIMIT, "pass the LoRA's .safetensors file")  # a FIFO or device: one line
    try:
        state = load(data)
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
    except (SafetensorError, ValueError) as error:
        raise UserError(f"{path}: not a valid .safetensors file ({error})") from None
    for key in state:
        if not key.startswith((UNET_PREFIX + "_", TEXT_ENCODER_PREFIX + "_")) or not key.endswith(SUFFIXES):
            raise UserError(f"{path}: key {key} is not a kohya LoRA key (lora_unet_…/lora_te_… .lora_down/.lora_up/.alpha)")
    return state, header.get("__metadata__", {})


def module_names(state: dict[str, Any]) -> set[str]:
    """The distinct adapted modules (kohya names) in a state dict."""
    return {key.rsplit(".", 2)[0] if key.endswith(".weight") else key.rsplit(".", 1)[0] for key in state}


def delta_weight(state: dict[str, Any], name: str) -> Any:
    """The update a kohya module applies: ``(alpha / rank) · up @ down`` (1×1 convs flattened), in fp32."""
    down = state[f"{name}.lora_down.weight"].float()
    up = state[f"{name}.lora_up.weight"].float()
    rank = down.shape[0]
    scale = float(state[f"{name}.alpha"]) / rank if f"{name}.alpha" in state else 1.0
    return scale * (up.flatten(1) @ down.flatten(1))


def kohya_dataset_toml(recipe: Recipe, data: Path, subsets: dict[str, tuple[int, str]]) -> str:
    """sd-scripts' ``--dataset_config`` for the same data: one subset per ``<repeats>_<name>`` folder."""
    lines = [
        "# sd-scripts dataset config written by `punkgen train --print-kohya`",
        "[general]",
        'caption_extension = ".txt"  # sd-scripts defaults to .caption',
        "shuffle_caption = false",
        "keep_tokens = 0",
        "",
        "[[datasets]]",
        f"resolution = {recipe.dataset.resolution}",
        f"batch_size = {recipe.training.batch_size}",
        "enable_bucket = false",
    ]
    for folder, (repeats, name) in sorted(subsets.items()):
        lines += ["", "  [[datasets.subsets]]", f"  image_dir = {json.dumps(str(data / folder))}"]
        lines += [f"  num_repeats = {repeats}", f"  class_tokens = {json.dumps(name)}"]
    return "\n".join(lines) + "\n"


def kohya_command(recipe: Recipe, base: str, out: Path, dataset_toml: Path) -> str:
    """The sd-scripts ``train_network.py`` command line that trains the same recipe."""
    t, o, n = recipe.training, recipe.optimizer, recipe.network
    flags = [
        ("pretrained_model_name_or_path", base),
        ("dataset_config", str(dataset_toml)),
        ("output_dir", str(out)),
        ("output_name", recipe.output.name),
        ("save_model_as", "safetensors"),
        ("save_precision", SD_SCRIPTS_PRECISION[RECIPE.checked_choice("output", "save_precision", recipe.output.save_precision)]),
        ("save_every_n_epochs", recipe.output.save_every_n_epochs),
        ("max_train_epochs", t.epochs),
        *([("max_train_steps", t.max_steps)] if t.max_steps else []),
        ("network_module", "networks.lora"),
        ("network_dim", n.dim),
        ("network_alpha", _number(n.alpha)),
        ("optimizer_type", o.type),
        ("optimizer_args", f"weight_decay={o.weight_decay}"),
        ("learning_rate", o.learning_rate),
        ("unet_lr", o.unet_lr),
        ("text_encoder_lr", o.text_encoder_lr),
        ("lr_scheduler", o.lr_scheduler),
        ("lr_scheduler_num_cycles", o.lr_scheduler_num_cycles),
        ("lr_warmup_steps", o.lr_warmup_steps),
        ("mixed_precision", t.mixed_precision),
        ("noise_offset", t.noise_offset),
        ("min_snr_gamma", _number(t.min_snr_gamma)),
        ("max_grad_norm", t.max_grad_norm),
        ("seed", t.seed),
    ]
    parts = ["accelerate launch --num_cpu_threads_per_process=2 train_network.py"]
    parts += [f"--{key}={shlex.quote(str(value))}" for key, value in flags]
    parts += ["--cache_latents", "--sdpa"] + (["--gradient_checkpointing"] if t.gradient_checkpointing else [])
    return " \\\n  ".join(parts)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
