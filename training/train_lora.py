"""The recipe's LoRA training: diffusers + peft + accelerate, kohya-format checkpoints.

Steps, in the order they run:
1. read the kohya-layout dataset and check the output folder (before torch is imported);
2. load tokenizer, text encoder, VAE, UNet and the DDPM noise schedule from a local diffusers
   folder (``.safetensors`` only, offline);
3. inject LoRA (rank ``dim``, ``alpha``) into exactly kohya's default modules (see kohya.py);
4. encode every image once with the VAE (cached latents) and tokenize every caption;
5. AdamW with one learning rate per network, cosine-with-restarts schedule, ``accelerator.prepare``;
6. per step: offset noise, random timestep, noisy latents, UNet prediction, min-SNR-weighted MSE;
7. after each epoch: kohya checkpoint, resume state, ``loss.csv``/``loss.png``, sample grid.

``accelerate launch -m training train …`` runs the same code on several GPUs: each process takes
every P-th batch of a shared, seeded order; only the main process writes files.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generator.errors import UserError
from generator.files import write_atomic
from generator.render.weights import hub_cache
from training import kohya, report
from training.config import Recipe
from training.dataset import Example, read_dataset, training_pixels
from training.state import STATE_FILE, Progress, check_fingerprint, read_progress, restore, save_state

LOSS_CSV, LOSS_PNG, RUN_JSON = "loss.csv", "loss.png", "run.json"


@dataclass(frozen=True)
class TrainRequest:
    base: str  # diffusers folder, or a hub id already in the local cache
    data: Path  # kohya-layout dataset folder (punkgen dataset DST)
    out: Path
    recipe: Recipe
    resume: bool = False
    force: bool = False  # replace an earlier run's files in ``out``
    progress: bool = True
    samples: bool = True


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    step: int
    loss: float  # mean loss over the epoch's steps
    checkpoint: Path | None
    samples: Path | None


@dataclass(frozen=True)
class TrainSummary:
    checkpoints: list[Path]
    steps: int  # optimizer steps done by this call
    total_steps: int
    seconds: float
    seconds_per_step: float
    device: str
    mixed_precision: str
    main_process: bool = True  # False in the other processes of a multi-GPU run, which print nothing


def checkpoint_name(name: str, epoch: int | None) -> str:
    """``<name>-00000N.safetensors`` after epoch N, ``<name>.safetensors`` for the final one (sd-scripts' naming)."""
    return f"{name}.safetensors" if epoch is None else f"{name}-{epoch:06d}.safetensors"


def step_seed(seed: int, step: int, process: int) -> int:
    digest = hashlib.sha256(f"{seed}:{step}:{process}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def epoch_batches(count: int, batch_size: int, processes: int, seed: int, epoch: int) -> list[list[int]]:
    """The epoch's batches (indices into the repeated sample list), a multiple of ``processes`` long.

    The order is a permutation seeded by (seed, epoch); the last batches wrap around to the start
    so every process gets the same number of steps, as accelerate's ``even_batches`` does.
    """
    order = np.random.default_rng([seed, epoch]).permutation(count).tolist()
    batches = [order[i : i + batch_size] for i in range(0, count, batch_size)]
    steps = math.ceil(len(batches) / processes)
    return [batches[i % len(batches)] for i in range(steps * processes)]


def resolve_base(base: str) -> Path:
    """A diffusers folder: the path itself, or for an ``org/name`` id its newest snapshot in the local hub cache."""
    path = Path(base).expanduser()
    places = [path]
    if base.count("/") == 1 and not path.exists():
        places.append(hub_cache() / f"models--{base.replace('/', '--')}")
    for place in places:
        if place.is_file():
            raise UserError(
                f"--base {base}: a single-file checkpoint; training needs a diffusers folder (model_index.json + unet/, text_encoder/, …)"
            )
        if (place / "model_index.json").is_file():
            return place
        snapshots = sorted((place / "snapshots").glob("*/model_index.json"))
        if snapshots:
            return snapshots[-1].parent
    looked = " or ".join(str(place) for place in places)
    raise UserError(
        f"--base {base}: no diffusers model folder (model_index.json) at {looked}; download it once where there is internet, or pass a local folder"
    )


def check_output(out: Path, name: str, resume: bool, force: bool) -> None:
    """Refuse to mix two runs: an earlier run's files stay unless ``--resume`` or ``--force``."""
    ours = re.compile(rf"^{re.escape(name)}(-\d{{6}})?\.safetensors$")  # exactly this run's names: --force deletes them
    earlier = sorted(p for p in out.glob("*.safetensors") if ours.match(p.name)) + [p for p in (out / STATE_FILE,) if p.exists()]
    if earlier and not resume and not force:
        raise UserError(
            f"--out {out}: holds an earlier run ({earlier[0].name}); pass --resume to continue it or --force to start over"
        )
    if force and not resume:
        for path in [*earlier, *out.glob("samples-*.png"), out / LOSS_CSV, out / LOSS_PNG, out / RUN_JSON]:
            path.unlink(missing_ok=True)


def fingerprint(request: TrainRequest, examples: list[Example]) -> dict[str, Any]:
    """Every input that decides the weights: the recipe (not its sample settings), base model and data."""
    settings = {
        f"[{section}].{key}": value
        for section, keys in request.recipe.as_dict().items()
        if section != "samples"
        for key, value in keys.items()
    }
    data = hashlib.sha256()
    for example in examples:
        data.update(f"{example.image.name}\0{example.caption}\0{example.repeats}\0".encode())
        data.update(hashlib.sha256(example.image.read_bytes()).digest())
    return {**settings, "--base": str(request.base), "--data (images, captions, repeats)": data.hexdigest()[:16]}


def train(request: TrainRequest, on_epoch: Callable[[EpochReport], None] = lambda report: None) -> TrainSummary:
    """Train the recipe's LoRA; see the module docstring for the steps."""
    recipe, out = request.recipe, request.out
    examples = read_dataset(request.data)
    base = resolve_base(request.base)
    check_output(out, recipe.output.name, request.resume, request.force)
    prints = fingerprint(request, examples)
    if request.resume:  # fail before the minutes of loading when the resume cannot work
        progress, tensors, meta = read_progress(out)
        check_fingerprint(progress.fingerprint, prints, out)
        if progress.finished:
            raise UserError(f"--resume: the run in {out} already finished ({progress.step} steps); nothing to resume")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import set_seed
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from diffusers.optimization import get_scheduler
    from diffusers.utils import logging as diffusers_logging
    from peft import LoraConfig, inject_adapter_in_model
    from tqdm import tqdm
    from transformers import CLIPTextModel, CLIPTokenizer
    from transformers.utils import logging as transformers_logging

    from training.losses import diffusion_loss, offset_noise

    for library in (diffusers_logging, transformers_logging):  # our bar and lines only: no per-file load bars or notices
        library.set_verbosity_error()
        library.disable_progress_bar()
    t, o, n = recipe.training, recipe.optimizer, recipe.network
    # fp16 autocast is a CUDA feature: on CPU "fp16" trains in fp32; bf16 autocast works on both
    mixed = t.mixed_precision if torch.cuda.is_available() or t.mixed_precision == "bf16" else "no"
    # accelerate keeps one process-wide state; a second run in one process (tests, notebooks) may change the precision
    AcceleratorState._reset_state(reset_partial_state=False)
    accelerator = Accelerator(mixed_precision=mixed)
    device, processes = accelerator.device, accelerator.num_processes
    weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(mixed, torch.float32)
    set_seed(t.seed)  # python, numpy and torch: the LoRA initialisation

    # 2. the frozen base model
    load = {"local_files_only": True}
    tokenizer = CLIPTokenizer.from_pretrained(base, subfolder="tokenizer", **load)
    text_encoder = CLIPTextModel.from_pretrained(base, subfolder="text_encoder", use_safetensors=True, **load)
    vae = AutoencoderKL.from_pretrained(base, subfolder="vae", use_safetensors=True, **load)
    unet = UNet2DConditionModel.from_pretrained(base, subfolder="unet", use_safetensors=True, **load)
    noise_scheduler = DDPMScheduler.from_pretrained(base, subfolder="scheduler", **load)
    for model in (text_encoder, vae, unet):
        model.requires_grad_(False)
    vae.to(device, torch.float32)  # fp32: it only encodes once (latents cached) and decodes samples

    # 3. LoRA on kohya's modules; a network with learning rate 0 gets none
    def lora_config(targets: list[str]) -> Any:
        return LoraConfig(r=n.dim, lora_alpha=n.alpha, target_modules=targets, init_lora_weights=True, lora_dropout=0.0)

    models: dict[str, Any] = {
        "unet": unet if o.unet_lr > 0 else None,
        "text_encoder": text_encoder if o.text_encoder_lr > 0 else None,
    }
    if models["unet"] is not None:
        unet.add_adapter(lora_config(kohya.target_modules(unet, kohya.UNET_BLOCKS)))
    if models["text_encoder"] is not None:
        inject_adapter_in_model(lora_config(kohya.target_modules(text_encoder, kohya.TEXT_ENCODER_BLOCKS)), text_encoder)
    unet.to(device, weight_dtype)
    text_encoder.to(device, weight_dtype)
    groups = []
    for key, lr in (("unet", o.unet_lr), ("text_encoder", o.text_encoder_lr)):
        if models[key] is not None:
            params = [p for p in models[key].parameters() if p.requires_grad]
            for p in params:
                p.data = p.data.float()  # fp32 master weights for the LoRA under fp16 autocast
            groups.append({"params": params, "lr": lr})
    if t.gradient_checkpointing:
        unet.enable_gradient_checkpointing()

    # 4. cached latents and token ids (each image once; repeats index into them)
    with torch.no_grad():
        encoder = torch.Generator(device).manual_seed(t.seed)
        pixels = [torch.from_numpy(training_pixels(example.image, recipe.dataset.resolution)) for example in examples]
        latents = torch.cat(
            [
                vae.encode(torch.stack(pixels[i : i + 8]).to(device)).latent_dist.sample(encoder) * vae.config.scaling_factor
                for i in range(0, len(pixels), 8)
            ]
        )
        captions = [example.caption for example in examples]
        token_ids = tokenizer(
            captions, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
        ).input_ids.to(device)
    samples_list = [i for i, example in enumerate(examples) for _ in range(example.repeats)]
    steps_per_epoch = len(epoch_batches(len(samples_list), t.batch_size, processes, t.seed, 0)) // processes
    total_steps = steps_per_epoch * t.epochs if not t.max_steps else min(t.max_steps, steps_per_epoch * t.epochs)

    # 5. optimizer and schedule (stepped once per process per step by accelerate: hence × processes)
    optimizer = torch.optim.AdamW(groups, lr=o.learning_rate, weight_decay=o.weight_decay)
    lr_scheduler = get_scheduler(
        o.lr_scheduler,
        optimizer,
        num_warmup_steps=o.lr_warmup_steps * processes,
        num_training_steps=total_steps * processes,
        num_cycles=o.lr_scheduler_num_cycles,
    )
    optimizer, lr_scheduler = accelerator.prepare(optimizer, lr_scheduler)
    if models["unet"] is not None:  # only trained models are wrapped (DDP refuses a model with nothing to train)
        unet = accelerator.prepare(unet)
    if models["text_encoder"] is not None:
        text_encoder = accelerator.prepare(text_encoder)
    trained = [p for group in groups for p in group["params"]]
    unwrapped = {"unet": accelerator.unwrap_model(unet), "text_encoder": accelerator.unwrap_model(text_encoder)}
    plain = {key: model if models[key] is not None else None for key, model in unwrapped.items()}  # what gets saved

    start_epoch, global_step = 0, 0
    rows = report.read_loss_rows(out / LOSS_CSV) if request.resume else []
    if request.resume:
        restore(tensors, meta, plain, optimizer, lr_scheduler, accelerator.scaler)
        start_epoch, global_step = progress.epoch, progress.step
        rows = [row for row in rows if row["step"] <= global_step]
    out.mkdir(parents=True, exist_ok=True)
    run = kohya.run_facts(request.base, examples, steps_per_epoch, total_steps, t.batch_size * processes, mixed)
    if accelerator.is_main_process and not request.resume:
        _write_run_json(out / RUN_JSON, request, run, prints)

    # 6. the loop
    alphas_cumprod = noise_scheduler.alphas_cumprod.to(device)
    prediction_type = noise_scheduler.config.prediction_type
    bar = tqdm(
        total=total_steps,
        initial=global_step,
        disable=not (request.progress and accelerator.is_local_main_process),
        desc="train",
        unit="step",
    )
    checkpoints: list[Path] = []
    steps_done, started = 0, time.perf_counter()
    for epoch in range(start_epoch, t.epochs):
        unet.train()
        text_encoder.train()
        epoch_losses = []
        batches = epoch_batches(len(samples_list), t.batch_size, processes, t.seed, epoch)
        for batch in batches[accelerator.process_index :: processes]:
            rows_index = torch.tensor([samples_list[i] for i in batch], device=device)
            generator = torch.Generator(device).manual_seed(step_seed(t.seed, global_step, accelerator.process_index))
            clean = latents[rows_index].to(weight_dtype)
            noise = offset_noise(clean, t.noise_offset, generator)
            timesteps = torch.randint(
                0, noise_scheduler.config.num_train_timesteps, (len(batch),), generator=generator, device=device
            )
            noisy = noise_scheduler.add_noise(clean, noise, timesteps)
            hidden = text_encoder(token_ids[rows_index])[0]
            prediction = unet(noisy, timesteps, hidden).sample
            target = noise if prediction_type == "epsilon" else noise_scheduler.get_velocity(clean, noise, timesteps)
            loss = diffusion_loss(prediction, target, timesteps, alphas_cumprod, t.min_snr_gamma, prediction_type)
            accelerator.backward(loss)
            lrs = lr_scheduler.get_last_lr()  # the rates this step used, before the schedule moves on
            if accelerator.sync_gradients and t.max_grad_norm:
                accelerator.clip_grad_norm_(trained, t.max_grad_norm)
            optimizer.step()
            lr_scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            global_step += 1
            steps_done += 1
            step_loss = accelerator.gather(loss.detach()[None]).mean().item()
            epoch_losses.append(step_loss)
            rows.append(
                {
                    "step": global_step,
                    "epoch": epoch + 1,
                    "loss": step_loss,
                    "lr_unet": lrs[0] if models["unet"] is not None else 0.0,
                    "lr_text_encoder": lrs[-1] if models["text_encoder"] is not None else 0.0,
                }
            )
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{step_loss:.4f}", lr=f"{lrs[0]:.2e}")
            if global_step >= total_steps:
                break
        finished = global_step >= total_steps
        # 7. after the epoch
        checkpoint = sample_path = None
        if accelerator.is_main_process:
            if finished or (epoch + 1) % recipe.output.save_every_n_epochs == 0:
                checkpoint = out / checkpoint_name(recipe.output.name, None if finished else epoch + 1)
                save_dtype = torch.float16 if recipe.output.save_precision == "fp16" else torch.float32
                state = kohya.to_kohya(plain["unet"], plain["text_encoder"], n.alpha, save_dtype)
                kohya.save(checkpoint, state, kohya.metadata(recipe, run, epoch + 1, global_step))
                checkpoints.append(checkpoint)
            save_state(
                out, plain, optimizer, lr_scheduler, accelerator.scaler, Progress(epoch + 1, global_step, prints, finished)
            )
            report.write_loss_rows(out / LOSS_CSV, rows)
            report.save_png(
                out / LOSS_PNG, report.loss_plot(rows, f"{recipe.output.name}: loss per step, {global_step}/{total_steps} steps")
            )
            wanted = recipe.samples.every_n_epochs and (finished or (epoch + 1) % recipe.samples.every_n_epochs == 0)
            if request.samples and wanted:
                sample_path = out / f"samples-{epoch + 1:06d}.png"
                pipe = report.sample_pipeline(base, unwrapped["unet"], unwrapped["text_encoder"], vae, tokenizer)
                with accelerator.autocast():
                    report.render_samples(sample_path, pipe, recipe.samples, recipe.dataset.resolution, device, epoch + 1)
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            on_epoch(
                EpochReport(
                    epoch + 1, global_step, float(np.mean(epoch_losses)) if epoch_losses else math.nan, checkpoint, sample_path
                )
            )
        if finished:
            break
    bar.close()
    seconds = time.perf_counter() - started
    per_step = seconds / max(1, steps_done)
    return TrainSummary(checkpoints, steps_done, total_steps, seconds, per_step, str(device), mixed, accelerator.is_main_process)


def _write_run_json(path: Path, request: TrainRequest, run: kohya.RunFacts, fingerprint: dict[str, Any]) -> None:
    record = {
        "base": request.base,
        "data": str(request.data),
        "recipe": request.recipe.as_dict(),
        "steps": run.max_train_steps,
        "steps_per_epoch": run.num_batches_per_epoch,
        "mixed_precision": run.mixed_precision,
        "fingerprint": fingerprint,
    }
    write_atomic(path, (json.dumps(record, indent=2) + "\n").encode())
