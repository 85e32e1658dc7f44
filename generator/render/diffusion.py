"""The diffusion backend: Stable Diffusion 1.5 with the collection's LoRA, rendering trait prompts in batches.

The creator's recipe, as steps in the order they run (each in the function named after it):

1. :func:`locate_base`: ``[model].base`` is a diffusers folder, a single ``.safetensors``
   checkpoint (its component configs from ``[model].config``), or a hub id already in the local
   Hugging Face cache. Nothing is downloaded unless ``[model].allow_download``; loads run with
   ``HF_HUB_OFFLINE=1``, since diffusers 0.42 quietly retries online when the cache is empty.
2. :func:`load_pipeline`: fp16 on cuda/mps, fp32 on cpu; PyTorch SDPA attention (diffusers'
   default on torch 2); the safety checker off (its black squares are useless for pixel art;
   black or NaN renders are caught by the quality filter and rendered again); DPM++ 2M Karras.
3. :func:`attach_lora`: ``.safetensors`` only (a pickle runs code when loaded); every module
   named in the file must attach to a peft LoRA layer, or the run stops, because diffusers only
   logs a warning for keys it skips; then the LoRA is fused into the weights and its wrappers
   dropped, so rendering pays nothing for it.
4. :meth:`DiffusionRenderer.render`: one ``torch.Generator`` per image, seeded from (collection
   seed, token id, attempt), so an image depends on its own seed and on which fixed block of
   tokens it renders with (on CPU a batch of 1 and of 2 differ by one level), never on resumes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from generator.config import Config, ModelSettings
from generator.errors import UserError
from generator.files import MODEL_LIMIT, open_limited
from generator.plan.traits import TraitTable
from generator.render import Renderer, RenderJob
from generator.render.weights import base_candidates, describe_search, find_base_model

ADAPTER = "punkgen"
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl")
SCHEDULERS = {  # name → (diffusers class, config overrides)
    "dpmpp_2m_karras": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True},
    ),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "ddim": ("DDIMScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
}


class DiffusionRenderer(Renderer):
    name = "diffusion"

    def __init__(self, pipe: Any, config: Config, device: str, dtype: Any, identity: str):
        self.pipe = pipe  # a StableDiffusionPipeline, LoRA attached (and fused)
        self.settings = config.render
        self.device = device
        self.dtype = dtype
        self.batch_size = config.render.batch_size
        self.identity = identity

    def render(self, jobs: Sequence[RenderJob]) -> np.ndarray:
        return self.run(self.pipe, jobs, width=self.settings.width, height=self.settings.height)

    def run(self, pipe: Any, jobs: Sequence[RenderJob], **inputs: Any) -> np.ndarray:
        """Any SD pipeline on a batch: (batch, height, width, 3) uint8; a NaN render comes out black for quality to reject."""
        import torch

        generators = [torch.Generator(device=self.device).manual_seed(job.seed) for job in jobs]
        with torch.inference_mode():
            images = pipe(
                prompt=[job.prompt for job in jobs],
                negative_prompt=[job.negative_prompt for job in jobs],
                num_inference_steps=self.settings.steps,
                guidance_scale=self.settings.guidance_scale,
                generator=generators,
                output_type="np",
                **inputs,
            ).images
        return np.rint(np.clip(np.nan_to_num(images, nan=0.0), 0.0, 1.0) * 255).astype(np.uint8)


def create(config: Config, tables: list[TraitTable]) -> DiffusionRenderer:
    """Load everything once; every problem with the model or the LoRA is a one-line error before any write."""
    import torch

    if config.render.threads:
        torch.set_num_threads(config.render.threads)
    device, dtype = pick_device(config.render.device, config.render.dtype)
    base = locate_base(config)
    pipe = load_pipeline(config, base, device, dtype)
    lora = config.resolve(config.model.lora)
    if lora is not None:
        attach_lora(pipe, lora, config.model.lora_scale, config.model.fuse_lora)
    return DiffusionRenderer(pipe, config, device, dtype, _identity(config, base, lora, device, dtype))


def pick_device(device: str, dtype: str) -> tuple[str, Any]:
    """``auto``: cuda, then mps, then cpu; half precision where the hardware is built for it."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise UserError("[render].device = 'cuda': no CUDA GPU is visible to torch; set it to auto or cpu")
    elif device == "mps" and not torch.backends.mps.is_available():
        raise UserError("[render].device = 'mps': Apple's Metal backend is not available; set it to auto or cpu")
    if device == "cuda" and "LOCAL_RANK" in os.environ:  # one GPU per process under accelerate launch / torchrun
        device = f"cuda:{os.environ['LOCAL_RANK']}"
    if dtype == "auto":
        return device, torch.float16 if device.startswith(("cuda", "mps")) else torch.float32
    return device, getattr(torch, dtype)


def locate_base(config: Config) -> tuple[str, str]:
    """``(kind, where)``: kind is ``folder``, ``file`` or ``hub``; ``where`` is what diffusers is given."""
    spec = config.model.base
    local = base_candidates(spec, config.folder)[0]
    if local.is_file():
        _safetensors_only(local, "[model].base")  # a pickle checkpoint is refused before anything reads it
    found = find_base_model(spec, config.folder)
    if found == local:
        return ("file" if local.is_file() else "folder"), str(local)
    if found is not None or (config.model.allow_download and spec.count("/") == 1):
        return "hub", spec
    looked = describe_search(spec, config.folder)
    raise UserError(
        f"base model '{spec}' not found (looked in {looked}); point [model].base at a diffusers folder or a "
        ".safetensors checkpoint, or set [model].allow_download to fetch the hub id"
    )


def load_pipeline(config: Config, base: tuple[str, str], device: str, dtype: Any) -> Any:
    kind, where = base
    if not config.model.allow_download:
        os.environ["HF_HUB_OFFLINE"] = "1"
    for variable in ("DIFFUSERS_VERBOSITY", "TRANSFORMERS_VERBOSITY"):  # for what they log while being imported
        os.environ.setdefault(variable, "error")
    import diffusers
    import transformers

    for library in (diffusers, transformers):  # their load and truncation chatter would bury punkgen's own messages
        library.utils.logging.set_verbosity_error()
        library.utils.logging.disable_progress_bar()
    options = {"dtype": dtype, "safety_checker": None, "requires_safety_checker": False}
    options["local_files_only"] = not config.model.allow_download
    try:
        if kind == "file":
            pipe = diffusers.StableDiffusionPipeline.from_single_file(where, config=_single_file_config(config), **options)
        else:
            pipe = diffusers.StableDiffusionPipeline.from_pretrained(where, **options)
    except (OSError, ValueError) as error:
        raise UserError(f"{where}: could not load a Stable Diffusion 1.5 pipeline ({_first_line(error)})") from None
    name, overrides = SCHEDULERS[config.render.scheduler]
    pipe.scheduler = getattr(diffusers, name).from_config(pipe.scheduler.config, **overrides)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def _single_file_config(config: Config) -> str:
    """A single-file checkpoint carries weights only; its configs come from a local folder or a cached hub id."""
    spec = config.model.config or ModelSettings().base  # the maintained SD 1.5 repo, when it is cached
    for place in base_candidates(spec, config.folder):
        if (place / "model_index.json").is_file():
            return str(place)
    if find_base_model(spec, config.folder) is not None or config.model.allow_download:
        return spec
    raise UserError(
        f"[model].config '{spec}' not found: a single-file checkpoint needs SD 1.5's component configs from a local "
        "diffusers folder or a cached hub id; set [model].config to one"
    )


def attach_lora(pipe: Any, path: Path, scale: float, fuse: bool) -> None:
    """Load a kohya or diffusers LoRA, prove every module in it attached, then fuse it at ``scale``."""
    _safetensors_only(path, "[model].lora")
    if not path.is_file():
        raise UserError(
            f"{path}: LoRA not found; put the .safetensors file there, or point [model].lora at it ('' or none: no LoRA)"
        )
    expected = lora_modules(path)
    try:
        pipe.load_lora_weights(str(path), adapter_name=ADAPTER)
    except (ValueError, RuntimeError, KeyError) as error:  # peft's NoMatchingPeftModuleError is a ValueError
        raise _mismatch(path, {"unet": 0, "text_encoder": 0}, expected, _first_line(error)) from None
    attached = {component: _count_lora_layers(getattr(pipe, component)) for component in expected}
    if attached != {component: len(names) for component, names in expected.items()}:
        raise _mismatch(path, attached, expected, "")
    if fuse:
        pipe.fuse_lora(lora_scale=scale, adapter_names=[ADAPTER])
        pipe.unload_lora_weights()  # the fused weights stay; the peft wrappers (and their per-call cost) go
    else:
        pipe.set_adapters([ADAPTER], adapter_weights=[scale])


def lora_modules(path: Path) -> dict[str, set[str]]:
    """Distinct module names in a LoRA file, by the pipeline component they adapt."""
    from safetensors import safe_open

    modules: dict[str, set[str]] = {"unet": set(), "text_encoder": set()}
    with safe_open(str(path), framework="pt") as handle:
        for key in handle.keys():  # noqa: SIM118 - safe_open handles are not iterable
            name = key.split(".")[0]
            if name.startswith("lora_unet_") or key.startswith("unet."):
                modules["unet"].add(name if name.startswith("lora_") else key.rsplit(".lora", 1)[0])
            else:
                modules["text_encoder"].add(name if name.startswith("lora_") else key.rsplit(".lora", 1)[0])
    return {component: names for component, names in modules.items() if names}


def _count_lora_layers(model: Any) -> int:
    from peft.tuners.lora import LoraLayer

    return sum(1 for module in model.modules() if isinstance(module, LoraLayer) and ADAPTER in module.lora_A)


def _mismatch(path: Path, attached: dict[str, int], expected: dict[str, set[str]], detail: str) -> UserError:
    parts = ", ".join(f"{component} {attached.get(component, 0)} of {len(names)}" for component, names in expected.items())
    matched = sum(attached.get(component, 0) for component in expected)
    total = sum(len(names) for names in expected.values())
    why = f" ({detail})" if detail else ""
    return UserError(
        f"{path}: only {matched} of {total} LoRA modules matched the model ({parts}){why}; "
        "is it a LoRA for Stable Diffusion 1.5 (kohya lora_unet_/lora_te_ or diffusers keys)?"
    )


def _safetensors_only(path: Path, setting: str) -> Path:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise UserError(
            f"{path}: {path.suffix} files are pickles and loading one runs arbitrary code; {setting} takes .safetensors "
            "(convert it once with a trusted tool)"
        )
    if path.suffix.lower() != ".safetensors" and path.is_file():
        raise UserError(f"{path}: {setting} must be a .safetensors file")
    return path


def _file_digest(path: Path) -> str:
    """sha256 of a weights file, read in chunks from a checked regular file: a LoRA may be hundreds of MB."""
    with open_limited(path, MODEL_LIMIT, "check [model].lora") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _identity(config: Config, base: tuple[str, str], lora: Path | None, device: str, dtype: Any) -> str:
    """What decides the pixels beyond the settings: the LoRA's bytes, the base, device, dtype, block size, versions."""
    import diffusers
    import torch

    lora_digest = _file_digest(lora)[:16] if lora is not None else "none"
    kind, where = base
    return (
        f"diffusion:{kind}:{where}:seeds=u32:lora={lora_digest}:{device}:{dtype}:batch={config.render.batch_size}:"
        f"torch={torch.__version__}:diffusers={diffusers.__version__}"
    )


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
