"""Where model weights live on this machine, found without importing torch or touching the network.

``[model].base`` is a diffusers folder, a single ``.safetensors`` checkpoint, or a hub id that
is already in the local Hugging Face cache; ``[model].lora`` is a ``.safetensors`` file. The
``auto`` backend asks this module whether both are here.
"""

from __future__ import annotations

import os
from pathlib import Path


def hub_cache() -> Path:
    """The cache folder huggingface_hub itself would use, honouring its environment variables."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = Path(os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface")
    return home / "hub"


def base_candidates(spec: str, folder: Path) -> list[Path]:
    """Every place a base model named ``spec`` may be, in order: a path (relative to the config
    folder), then, for an ``org/name`` id, its snapshot in the local hub cache."""
    path = folder / Path(spec).expanduser()
    places = [path]
    if spec.count("/") == 1 and not path.exists():
        places.append(hub_cache() / f"models--{spec.replace('/', '--')}")
    return places


def describe_search(spec: str, folder: Path) -> str:
    """``A and B``: every place :func:`base_candidates` gives, for the message that says none holds the model, so
    the render backends and ``punkgen train`` name the same places in the same words."""
    return " and ".join(str(place) for place in base_candidates(spec, folder))


def find_base_model(spec: str, folder: Path) -> Path | None:
    """The first of :func:`base_candidates` that holds the model: a ``.safetensors`` file, a diffusers folder
    (``model_index.json``), or the newest snapshot of a hub cache entry; None when none does."""
    for place in base_candidates(spec, folder):
        if place.is_file() and place.suffix == ".safetensors":
            return place
        if (place / "model_index.json").is_file():
            return place
        snapshots = sorted((place / "snapshots").glob("*/model_index.json")) if place.name.startswith("models--") else []
        if snapshots:
            return snapshots[-1].parent
    return None


def find_lora(path: Path | None) -> Path | None:
    return path if path is not None and path.is_file() and path.suffix == ".safetensors" else None
