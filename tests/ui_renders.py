"""Renders saved the way AUTOMATIC1111 and ComfyUI save them, for tests of the ``import`` backend.

The PNG text is written with Pillow exactly as each UI writes it: AUTOMATIC1111 puts its infotext
in a ``parameters`` tEXt chunk (modules/images.py, ``PngInfo.add_text``); ComfyUI's SaveImage puts
the executed API graph in ``prompt`` and the UI graph in ``workflow`` and names the file
``<filename_prefix>_00001_.png``. The pictures are a sprite run's tokens, upscaled and degraded
like a render (bench/degrade.py), so the import run's pixels can be checked against the truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from degrade import Degradation, degrade
from PIL import Image
from PIL.PngImagePlugin import PngInfo


def read_jobs(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "to-render" / "jobs.jsonl").read_text().splitlines()]


def render_of(sprites: Path, token_id: int, size: int, seed: int) -> np.ndarray:
    """The sprite run's token, as a render of ``size`` pixels with a mild grid shift, blur, cast and noise."""
    truth = np.asarray(Image.open(sprites / "images" / f"{token_id}.png").convert("RGB"))
    rng = np.random.default_rng(seed)
    how = Degradation(size=size, shift=(2, -1), blur=0.8, noise=4.0, gain=(1.02, 0.99, 1.0), offset=(2.0, -1.0, 0.0))
    return degrade(truth, how, rng)


def a1111_infotext(prompt: str, negative: str, seed: int, size: int) -> str:
    """AUTOMATIC1111 1.10's infotext: prompt, negative prompt, then the settings line."""
    return (
        f"{prompt}\nNegative prompt: {negative}\n"
        f"Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: {seed}, Size: {size}x{size}, "
        'Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Lora hashes: "bespoke: 3a1b2c", Version: v1.10.1'
    )


def save_a1111(path: Path, pixels: np.ndarray, infotext: str) -> None:
    info = PngInfo()
    info.add_text("parameters", infotext)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, pnginfo=info)


def save_a1111_jpeg(path: Path, pixels: np.ndarray, infotext: str) -> None:
    """The web UI's JPEG: the infotext as an EXIF UserComment, piexif's UNICODE code (UTF-16 big-endian)."""
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + infotext.encode("utf-16-be")
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, exif=exif, quality=95)


def save_comfyui(folder: Path, prefix: str, pixels: np.ndarray, graph: dict) -> Path:
    info = PngInfo()
    info.add_text("prompt", json.dumps(graph))
    info.add_text("workflow", json.dumps({"nodes": [], "links": [], "version": 0.4}))
    path = folder / f"{prefix}_00001_.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, pnginfo=info, compress_level=4)
    return path


def sd15_workflow(sampler: str = "KSampler") -> dict:
    """ComfyUI's default text-to-image graph in API format, with either sampler."""
    seed = {"seed": 156680208700286} if sampler == "KSampler" else {"noise_seed": 156680208700286, "add_noise": "enable"}
    advanced = {"start_at_step": 0, "end_at_step": 10000, "return_with_leftover_noise": "disable"}
    return {
        "3": {
            "class_type": sampler,
            "inputs": {
                **seed,
                "steps": 30,
                "cfg": 7.5,
                "sampler_name": "dpmpp_2m",
                "scheduler": "karras",
                **({"denoise": 1.0} if sampler == "KSampler" else advanced),
                "model": ["10", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "beautiful scenery", "clip": ["10", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["10", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
        "10": {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": "bespoke.safetensors",
                "strength_model": 1.0,
                "strength_clip": 1.0,
                "model": ["4", 0],
                "clip": ["4", 1],
            },
        },
    }
