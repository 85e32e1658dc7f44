"""The recipe's LoRA training: diffusers + peft + accelerate, kohya-format checkpoints.

Steps, in the order they run (:func:`train` calls them by these names):
1. ``check_inputs``: read the kohya-layout dataset, find the model, check the output folder and
   what a ``--resume`` continues (before torch is imported, so a mistake is refused at once);
2. ``prepare.load_base``: tokenizer, text encoder, VAE, UNet and the DDPM noise schedule from a
   local diffusers folder (``.safetensors`` only, offline);
3. ``prepare.attach_lora``: LoRA (rank ``dim``, ``alpha``) on exactly kohya's default modules (see kohya.py);
4. ``prepare.encode_dataset``: every image once through the VAE (cached latents), every caption tokenized;
5. ``prepare.build_optimizer``: AdamW with one learning rate per network, cosine-with-restarts
   schedule, ``accelerator.prepare``; ``start_records`` writes ``run.json``, and
   ``resume_or_start`` restores an interrupted run or starts at step 0;
6. ``training_step``, per step: offset noise, random timestep, noisy latents, UNet prediction,
   min-SNR-weighted MSE, one AdamW step;
7. ``after_epoch``: kohya checkpoint, resume state, ``loss.csv``/``loss.png``, sample grid.

``accelerate launch -m training train …`` runs the same code on several GPUs: each process takes
every P-th batch of a shared, seeded order (draws.py); only the main process writes files.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from generator.errors import Arg, UserError
from generator.files import IMAGE_LIMIT, read_limited, write_atomic
from generator.render.weights import base_candidates, describe_search, find_base_model
from training import kohya, report
from training.config import RECIPE, Recipe
from training.dataset import Example, read_dataset
from training.draws import epoch_batches, step_seed
from training.state import STATE_FILE, Progress, check_fingerprint, read_progress, restore, save_state

if TYPE_CHECKING:
    from training.prepare import Setup

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


@dataclass(frozen=True)
class Inputs:
    """What step 1 checked before torch loads."""

    examples: list[Example]
    base: Path  # the diffusers folder --base names
    fingerprint: dict[str, Any]  # every input that decides the weights (see :func:`fingerprint`)
    resumed: tuple[Progress, dict[str, Any], dict[str, str]] | None  # the interrupted run's saved state, for --resume


@dataclass
class Ledger:
    """What the loop moves forward: the step counter, ``loss.csv``'s rows, the checkpoints written."""

    first_epoch: int  # 0, or the epochs an interrupted run finished
    step: int  # optimizer steps finished, counting an interrupted run's
    rows: list[dict[str, float]]
    steps_done: int = 0  # by this call
    checkpoints: list[Path] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def record(self, epoch: int, loss: float, rates: list[float], trained: dict[str, Any]) -> None:
        """One finished step: its gathered loss and the learning rates it used (0 for a network that does not train)."""
        self.step += 1
        self.steps_done += 1
        self.rows.append(
            {
                "step": self.step,
                "epoch": epoch,
                "loss": loss,
                "lr_unet": rates[0] if trained["unet"] is not None else 0.0,
                "lr_text_encoder": rates[-1] if trained["text_encoder"] is not None else 0.0,
            }
        )


def checkpoint_name(name: str, epoch: int | None) -> str:
    """``<name>-00000N.safetensors`` after epoch N, ``<name>.safetensors`` for the final one (sd-scripts' naming)."""
    return f"{name}.safetensors" if epoch is None else f"{name}-{epoch:06d}.safetensors"


def train(request: TrainRequest, on_epoch: Callable[[EpochReport], None] = lambda report: None) -> TrainSummary:
    """Train the recipe's LoRA: the steps of the module docstring, around a loop over epochs and optimizer steps."""
    t = request.recipe.training
    inputs = check_inputs(request)  # 1
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before diffusers loads: the model is local, nothing is fetched
    from tqdm import tqdm

    from training.prepare import set_up

    setup = set_up(request.recipe, inputs.base, inputs.examples)  # 2–5
    run = start_records(request, inputs, setup)
    ledger = resume_or_start(request, inputs, setup)
    runtime, total = setup.runtime, setup.total_steps
    show = request.progress and runtime.accelerator.is_local_main_process
    bar = tqdm(total=total, initial=ledger.step, disable=not show, desc="train", unit="step")
    for epoch in range(ledger.first_epoch, t.epochs):
        setup.networks.train_mode()
        losses = []
        batches = epoch_batches(len(setup.data.samples), t.batch_size, runtime.processes, t.seed, epoch)
        for batch in batches[runtime.index :: runtime.processes]:
            loss, rates = training_step(setup, request.recipe, batch, ledger.step)  # 6
            ledger.record(epoch + 1, loss, rates, setup.lora.trained)
            losses.append(loss)
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.4f}", lr=f"{rates[0]:.2e}")
            if ledger.step >= total:
                break
        finished = ledger.step >= total
        checkpoint, samples = after_epoch(request, inputs, setup, run, ledger, epoch + 1, finished)  # 7
        runtime.accelerator.wait_for_everyone()
        if runtime.is_main:
            on_epoch(EpochReport(epoch + 1, ledger.step, float(np.mean(losses)) if losses else math.nan, checkpoint, samples))
        if finished:
            break
    bar.close()
    return summary(ledger, setup)


# ── 1. before torch: the inputs and the output folder ───────────────────────────────────────────


def check_inputs(request: TrainRequest) -> Inputs:
    """Step 1: the dataset, the model folder and ``--out``, and that a ``--resume`` can work, all before the seconds
    of loading torch and the model."""
    out = request.out
    examples = read_dataset(request.data)
    base = resolve_base(request.base)
    check_output(out, request.recipe.output.name, request.resume, request.force)
    prints = fingerprint(request, examples)
    resumed = None
    if request.resume:
        resumed = read_progress(out)
        progress = resumed[0]
        check_fingerprint(progress.fingerprint, prints, out)
        if progress.finished:
            raise UserError(f"{Arg.RESUME}: the run in {out} already finished ({progress.step} steps); nothing to resume")
    return Inputs(examples, base, prints, resumed)


def resolve_base(base: str) -> Path:
    """The diffusers folder ``--base`` names: a path from the working folder, or for an ``org/name`` id its newest
    snapshot in the local hub cache, found by the renderer's own locator (:mod:`generator.render.weights`)."""
    here = Path()
    if base_candidates(base, here)[0].is_file():
        raise UserError(
            f"{Arg.BASE} {base}: a single-file checkpoint; training needs a diffusers folder (model_index.json + unet/, text_encoder/, …)"
        )
    found = find_base_model(base, here)
    if found is None:
        raise UserError(
            f"{Arg.BASE} {base}: no diffusers model folder (model_index.json) found (looked in {describe_search(base, here)}); "
            "download it once where there is internet, or pass a local folder"
        )
    return found


def check_output(out: Path, name: str, resume: bool, force: bool) -> None:
    """Refuse to mix two runs: an earlier run's files stay unless ``--resume`` or ``--force``."""
    ours = re.compile(rf"^{re.escape(name)}(-\d{{6}})?\.safetensors$")  # exactly this run's names: --force deletes them
    earlier = sorted(p for p in out.glob("*.safetensors") if ours.match(p.name)) + [p for p in (out / STATE_FILE,) if p.exists()]
    if earlier and not resume and not force:
        raise UserError(
            f"{Arg.OUT} {out}: holds an earlier run ({earlier[0].name}); pass {Arg.RESUME} to continue it or {Arg.FORCE} to start over"
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
        data.update(hashlib.sha256(read_limited(example.image, IMAGE_LIMIT, f"check the {Arg.DATA} folder")).digest())
    # The keys are stored in every resume state (state.py), so they keep the names runs were saved with.
    return {**settings, "--base": str(request.base), "--data (images, captions, repeats)": data.hexdigest()[:16]}


# ── 5. where the loop starts, and the run's record ─────────────────────────────────────────────


def resume_or_start(request: TrainRequest, inputs: Inputs, setup: Setup) -> Ledger:
    """Step 0 of a new run; for ``--resume``, the saved LoRA weights, optimizer moments, schedule position and loss
    scale, and ``loss.csv``'s rows up to the saved step."""
    if inputs.resumed is None:
        return Ledger(first_epoch=0, step=0, rows=[])
    progress, tensors, meta = inputs.resumed
    rows = report.read_loss_rows(request.out / LOSS_CSV)
    restore(tensors, meta, setup.networks.saved, setup.optimizer, setup.lr_scheduler, setup.runtime.accelerator.scaler)
    return Ledger(first_epoch=progress.epoch, step=progress.step, rows=[row for row in rows if row["step"] <= progress.step])


def start_records(request: TrainRequest, inputs: Inputs, setup: Setup) -> kohya.RunFacts:
    """The facts every checkpoint's ``ss_*`` metadata records, and ``run.json`` for a new run (main process)."""
    runtime = setup.runtime
    request.out.mkdir(parents=True, exist_ok=True)
    batch = request.recipe.training.batch_size * runtime.processes
    run = kohya.run_facts(request.base, inputs.examples, setup.steps_per_epoch, setup.total_steps, batch, runtime.mixed_precision)
    if runtime.is_main and not request.resume:
        _write_run_json(request.out / RUN_JSON, request, run, inputs.fingerprint)
    return run


# ── 6. one optimizer step ──────────────────────────────────────────────────────────────────────


def training_step(setup: Setup, recipe: Recipe, batch: list[int], step: int) -> tuple[float, list[float]]:
    """Step 6 on one batch; returns its loss averaged over the processes and the learning rates the step used."""
    loss = batch_loss(setup, recipe, batch, step)
    accelerator, t = setup.runtime.accelerator, recipe.training
    accelerator.backward(loss)
    rates = setup.lr_scheduler.get_last_lr()  # the rates this step used, before the schedule moves on
    if accelerator.sync_gradients and t.max_grad_norm:
        accelerator.clip_grad_norm_(setup.lora.parameters, t.max_grad_norm)
    setup.optimizer.step()
    setup.lr_scheduler.step()
    setup.optimizer.zero_grad(set_to_none=True)
    return accelerator.gather(loss.detach()[None]).mean().item(), rates


def batch_loss(setup: Setup, recipe: Recipe, batch: list[int], step: int) -> Any:
    """The min-SNR-weighted MSE of the UNet's prediction on the batch's latents, noised at random timesteps.

    Noise and timesteps come from a generator seeded by (seed, step, process) (draws.py), so a
    resumed run draws exactly what an uninterrupted one does.
    """
    import torch

    from training.losses import diffusion_loss, offset_noise

    runtime, data, scheduler, t = setup.runtime, setup.data, setup.model.noise_scheduler, recipe.training
    device = runtime.device
    images = torch.tensor([data.samples[i] for i in batch], device=device)
    generator = torch.Generator(device).manual_seed(step_seed(t.seed, step, runtime.index))
    clean = data.latents[images].to(runtime.weight_dtype)
    noise = offset_noise(clean, t.noise_offset, generator)
    timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (len(batch),), generator=generator, device=device)
    noisy = scheduler.add_noise(clean, noise, timesteps)
    hidden = setup.networks.text_encoder(data.token_ids[images])[0]
    prediction = setup.networks.unet(noisy, timesteps, hidden).sample
    kind = scheduler.config.prediction_type
    target = noise if kind == "epsilon" else scheduler.get_velocity(clean, noise, timesteps)
    return diffusion_loss(prediction, target, timesteps, scheduler.alphas_cumprod.to(device), t.min_snr_gamma, kind)


# ── 7. after each epoch (main process) ─────────────────────────────────────────────────────────


def after_epoch(
    request: TrainRequest, inputs: Inputs, setup: Setup, run: kohya.RunFacts, ledger: Ledger, epoch: int, finished: bool
) -> tuple[Path | None, Path | None]:
    """Step 7 after epoch ``epoch`` (1-based), in the main process (the others write nothing): the kohya checkpoint
    when due, the resume state, the loss evidence, and the sample grid when due; returns the checkpoint and grid."""
    if not setup.runtime.is_main:
        return None, None
    recipe, out = request.recipe, request.out
    checkpoint = None
    if finished or epoch % recipe.output.save_every_n_epochs == 0:
        checkpoint = out / checkpoint_name(recipe.output.name, None if finished else epoch)
        save_checkpoint(checkpoint, setup, recipe, kohya.metadata(recipe, run, epoch, ledger.step))
        ledger.checkpoints.append(checkpoint)
    scaler = setup.runtime.accelerator.scaler
    progress = Progress(epoch, ledger.step, inputs.fingerprint, finished)
    save_state(out, setup.networks.saved, setup.optimizer, setup.lr_scheduler, scaler, progress)
    report.write_loss_rows(out / LOSS_CSV, ledger.rows)
    title = f"{recipe.output.name}: loss per step, {ledger.step}/{setup.total_steps} steps"
    report.save_png(out / LOSS_PNG, report.loss_plot(ledger.rows, title))
    every = recipe.samples.every_n_epochs
    if not (request.samples and every and (finished or epoch % every == 0)):
        return checkpoint, None
    samples = out / f"samples-{epoch:06d}.png"
    render_samples(samples, setup, recipe, epoch)
    return checkpoint, samples


def save_checkpoint(path: Path, setup: Setup, recipe: Recipe, meta: dict[str, str]) -> None:
    """The trained adapters as a kohya file, in ``[output].save_precision``."""
    import torch

    precision = RECIPE.checked_choice("output", "save_precision", recipe.output.save_precision)  # never a fallback
    dtype = {"fp16": torch.float16, "fp32": torch.float32}[precision]
    saved = setup.networks.saved
    kohya.save(path, kohya.to_kohya(saved["unet"], saved["text_encoder"], recipe.network.alpha, dtype), meta)


def render_samples(path: Path, setup: Setup, recipe: Recipe, epoch: int) -> None:
    """The recipe's sample prompts through a pipeline around the networks being trained (LoRA live)."""
    model, networks = setup.model, setup.networks
    pipe = report.sample_pipeline(
        model.folder, networks.unwrapped["unet"], networks.unwrapped["text_encoder"], model.vae, model.tokenizer
    )
    with setup.runtime.accelerator.autocast():
        report.render_samples(path, pipe, recipe.samples, recipe.dataset.resolution, setup.runtime.device, epoch)


def summary(ledger: Ledger, setup: Setup) -> TrainSummary:
    seconds = time.perf_counter() - ledger.started
    runtime = setup.runtime
    return TrainSummary(
        checkpoints=ledger.checkpoints,
        steps=ledger.steps_done,
        total_steps=setup.total_steps,
        seconds=seconds,
        seconds_per_step=seconds / max(1, ledger.steps_done),
        device=str(runtime.device),
        mixed_precision=runtime.mixed_precision,
        main_process=runtime.is_main,
    )


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
