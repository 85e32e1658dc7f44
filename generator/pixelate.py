"""``punkgen pixelate``: a folder of renders (PNG/JPEG) → S×S palette-exact PNGs with the same names.

Every file is checked before any is converted, so a bad file stops the run with nothing half
done, unless ``keep_going``, which converts the good ones and reports the bad ones. Large
folders are converted in worker processes (a 512 render takes ~10 ms).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from generator.errors import UserError
from generator.files import write_atomic
from generator.finishing import encode_png
from generator.palette import Palette
from generator.pixels import recover
from generator.workers import executor_for

RENDER_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
POOL_THRESHOLD = 64  # renders: above this, worker processes pay for their ~0.3 s start
CHUNK = 16  # renders per task


@dataclass(frozen=True)
class PixelateSummary:
    converted: int
    problems: tuple[str, ...]  # one line per file that could not be converted (with keep_going)


def pixelate_folder(
    source: Path,
    target: Path,
    size: int,
    palette: Palette | None,
    method: str,
    keep_going: bool = False,
    progress: Callable[[int], None] = lambda done: None,
) -> PixelateSummary:
    files = _render_files(source)
    problems = [problem for path in files if (problem := _check(path, size))]
    if problems and not keep_going:
        raise UserError(f"{problems[0]}; fix or remove it, or pass --keep-going to convert the others")
    good = [path for path in files if _check(path, size) is None]
    target.mkdir(parents=True, exist_ok=True)
    chunks = [good[start : start + CHUNK] for start in range(0, len(good), CHUNK)]
    broken: list[str] = []
    executor = executor_for(len(good), POOL_THRESHOLD)
    try:
        for chunk, failures in zip(
            chunks, executor.map(_convert_chunk, chunks, *_repeat(len(chunks), target, size, palette, method)), strict=True
        ):
            broken.extend(failures)
            progress(len(chunk))
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return PixelateSummary(converted=len(good) - len(broken), problems=tuple(problems + broken))


def _repeat(times: int, *values: object) -> list[list[object]]:
    return [[value] * times for value in values]


def _render_files(source: Path) -> list[Path]:
    if not source.is_dir():
        raise UserError(f"{source}: not a folder; pass the folder that holds the renders")
    files = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in RENDER_SUFFIXES)
    if not files:
        raise UserError(f"{source}: no renders ({', '.join(RENDER_SUFFIXES)}) in this folder")
    return files


def _check(path: Path, size: int) -> str | None:
    """Why ``path`` cannot be converted (read from its header only), or None."""
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError):
        return f"{path}: not a readable image"
    if width != height or width < size:
        return f"{path}: {width}×{height} is not a square render of at least {size}×{size}"
    return None


def _convert_chunk(paths: list[Path], target: Path, size: int, palette: Palette | None, method: str) -> list[str]:
    problems = []
    for path in paths:
        try:
            with Image.open(path) as image:
                render = np.asarray(image.convert("RGB"))
        except (UnidentifiedImageError, OSError) as error:  # a header that read fine over a broken body
            problems.append(f"{path}: unreadable ({error})")
            continue
        pixels = recover(render, size, palette, method).pixels
        write_atomic(target / f"{path.stem}.png", encode_png(Image.fromarray(pixels)))
    return problems
