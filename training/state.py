"""Resume state after each epoch: ``OUT/resume-state.safetensors`` (tensors) with JSON in its metadata.

It holds what the epoch's kohya checkpoint does not: the fp32 LoRA weights (the checkpoint may be
fp16), AdamW's moments, the learning-rate schedule's position, the fp16 loss scale, the step and
epoch counters, and a fingerprint of every setting that decides the weights. Everything is
tensors + JSON in one ``.safetensors`` file, so resuming never unpickles anything. Noise and
timesteps are drawn from a generator seeded by (seed, step, process), and the data order from
(seed, epoch), so a resumed run continues with exactly the draws an uninterrupted run makes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import Arg, UserError
from generator.files import write_atomic

STATE_FILE = "resume-state.safetensors"


@dataclass(frozen=True)
class Progress:
    epoch: int  # epochs finished
    step: int  # optimizer steps finished
    fingerprint: dict[str, Any]
    finished: bool = False  # the final checkpoint is written


def trainable(models: dict[str, Any]) -> dict[str, Any]:
    """``"<component>/<parameter name>" → parameter`` of every trainable (LoRA) parameter."""
    return {
        f"{component}/{name}": p
        for component, model in models.items()
        if model is not None
        for name, p in model.named_parameters()
        if p.requires_grad
    }


def save_state(out: Path, models: dict[str, Any], optimizer: Any, scheduler: Any, scaler: Any, progress: Progress) -> None:
    import torch
    from safetensors.torch import save

    tensors = {f"lora/{key}": p.detach().float().cpu().contiguous() for key, p in trainable(models).items()}
    optimizer_state = optimizer.state_dict()
    scalars: dict[str, Any] = {}
    for index, entry in optimizer_state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer/{index}/{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}/{key}"] = value
    meta = {
        "epoch": str(progress.epoch),
        "step": str(progress.step),
        "finished": json.dumps(progress.finished),
        "fingerprint": json.dumps(progress.fingerprint, sort_keys=True),
        "param_groups": json.dumps(optimizer_state["param_groups"]),
        "optimizer_scalars": json.dumps(scalars),
        "scheduler": json.dumps(_jsonable(scheduler.state_dict())),
        "scaler": json.dumps(scaler.state_dict() if scaler is not None else {}),
    }
    write_atomic(out / STATE_FILE, save(tensors, meta))


def read_progress(out: Path) -> tuple[Progress, dict[str, Any], dict[str, str]]:
    from safetensors import safe_open

    path = out / STATE_FILE
    if not path.is_file():
        raise UserError(
            f"{Arg.RESUME}: {path} not found; a run saves it after each epoch, so start this one without {Arg.RESUME}"
        )
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata() or {}
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 - safe_open has no __iter__
    try:
        progress = Progress(int(meta["epoch"]), int(meta["step"]), json.loads(meta["fingerprint"]), json.loads(meta["finished"]))
    except (KeyError, ValueError):
        raise UserError(
            f"{Arg.RESUME}: {path} is not a punkgen resume state; start without {Arg.RESUME} (and with {Arg.FORCE})"
        ) from None
    return progress, tensors, meta


def check_fingerprint(saved: dict[str, Any], current: dict[str, Any], out: Path) -> None:
    """Name the first setting that differs from the interrupted run, so a resume never mixes two recipes."""
    for key in sorted(set(saved) | set(current)):
        if saved.get(key) != current.get(key):
            raise UserError(
                f"{Arg.RESUME}: {key} is {current.get(key)!r} now but was {saved.get(key)!r} in the run in {out}; "
                f"resume with the same settings, or train into a new {Arg.OUT}"
            )


def restore(
    tensors: dict[str, Any], meta: dict[str, str], models: dict[str, Any], optimizer: Any, scheduler: Any, scaler: Any
) -> None:
    import torch

    params = trainable(models)
    with torch.no_grad():
        for key, p in params.items():
            p.copy_(tensors[f"lora/{key}"])
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer/"):
            _, index, name = key.split("/", 2)
            state.setdefault(int(index), {})[name] = value
    for key, value in json.loads(meta["optimizer_scalars"]).items():
        index, name = key.split("/", 1)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    scheduler.load_state_dict(json.loads(meta["scheduler"]))
    if scaler is not None and json.loads(meta["scaler"]):
        scaler.load_state_dict(json.loads(meta["scaler"]))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return None  # lr_lambdas functions: rebuilt by get_scheduler, not restored
