"""``punkgen pixelate``: a folder of renders (PNG/JPEG) → S×S palette-exact PNGs with the same names.

Every file is checked before any is converted, so a bad file stops the run with nothing half
done, unless ``keep_going``, which converts the good ones and reports the bad ones. Large
folders are converted in worker processes (a 512 render takes ~10 ms). A render need not be
square: a UI's 512×768 or 1216×832 holds the art stretched to fill it, and is read per axis.

The renders are inputs only: a TARGET that is the source folder (by any path or link) is
refused, as is any result that would land on a render (a render linked in from TARGET) or on
another result (``a.png`` and ``a.jpg`` both make ``a.png``). SOURCE is read without descending
into subfolders, so ``pixelate renders renders/24px`` is fine. A TARGET that cannot be made or
written (under a file, read-only) is one line naming it, before any conversion.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from generator.errors import Arg, UserError
from generator.files import PLACE_ERRORS, RENDER_LIMIT, is_place_error, partial_path, place_errors_said, real_path, write_atomic
from generator.images import IMAGE_ERRORS, RENDER_SUFFIXES, encode_png, image_problem, open_user_image, read_user_rgba
from generator.pixels.palette import Palette
from generator.pixels.recovery import recover
from generator.progress import Advance, unseen
from generator.workers import executor_for, results_in_order

POOL_THRESHOLD = 64  # renders: above this, worker processes pay for their ~0.3 s start
CHUNK = 4  # renders per task: with 16, 300 renders split 10:9 chunks over two workers, one idle for the last 0.2 s


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
    progress: Advance = unseen,
) -> PixelateSummary:
    """Convert every render in ``source`` to ``target/<name>.png``; every refusal comes before the first write.
    ``progress`` learns how many renders there are to convert once they are checked, then each converted chunk."""
    files = _render_files(source)
    _check_results(source, target, files)
    checks = {path: _check(path, size) for path in files}  # each header read once: 300 reads cost 50 ms before any work
    problems = [problem for problem in checks.values() if problem]
    if problems and not keep_going:
        raise UserError(f"{problems[0]}; fix or remove it, or pass {Arg.KEEP_GOING} to convert the others")
    good = [path for path, problem in checks.items() if problem is None]
    _make_target(target)
    progress(0, len(good))
    chunks = [good[start : start + CHUNK] for start in range(0, len(good), CHUNK)]
    broken: list[str] = []
    executor = executor_for(len(good), POOL_THRESHOLD)
    try:
        calls = ((_convert_chunk, (chunk, target, size, palette, method)) for chunk in chunks)
        for chunk, failures in zip(chunks, results_in_order(executor, calls), strict=True):
            broken.extend(failures)
            progress(len(chunk))
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return PixelateSummary(converted=len(good) - len(broken), problems=tuple(problems + broken))


def _render_files(source: Path) -> list[Path]:
    if not source.is_dir():
        raise UserError(f"{source}: not a folder; pass the folder that holds the renders")
    with place_errors_said(source, "make the folder readable"):
        files = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in RENDER_SUFFIXES)
    if not files:
        raise UserError(f"{source}: no renders ({', '.join(RENDER_SUFFIXES)}) in this folder")
    return files


def _check_results(source: Path, target: Path, files: list[Path]) -> None:
    """Refuse a run that would overwrite a render, or write two results to one file (see the module docstring)."""
    if _same_folder(source, target):
        raise UserError(
            f"{target} is the source folder {source}: the {len(files)} results would overwrite or mix with the renders; "
            f"choose another TARGET (e.g. {real_path(source).name}-pixels)"
        )
    folder, real_target = real_path(source), real_path(target)
    inputs = {folder / path.name: path for path in files} | {real_path(path): path for path in files}  # entries, link targets
    made: dict[str, Path] = {}
    for path in files:
        result = target / f"{path.stem}.png"
        if real_target / result.name in inputs:
            raise UserError(f"{result} would overwrite the render {inputs[real_target / result.name]}; choose another TARGET")
        if result.name in made:
            raise UserError(f"{made[result.name]} and {path} would both become {result}; rename one of them")
        if result.is_dir():
            raise UserError(f"{result} is a folder, where a result goes; move it away or choose another TARGET")
        made[result.name] = path


def _same_folder(source: Path, target: Path) -> bool:
    """By path after links, or by identity (a bind mount; a case-insensitive disk spelling it ``Renders``)."""
    return real_path(source) == real_path(target) or (target.is_dir() and os.path.samefile(source, target))


def _make_target(target: Path) -> None:
    """TARGET made and writable before any conversion; the OS's refusal named in one line."""
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        if not is_place_error(error):
            raise
        blocker = next((folder for folder in (target, *target.parents) if folder.exists() and not folder.is_dir()), None)
        reason = f"{blocker} is a file, not a folder" if blocker else PLACE_ERRORS[error.errno]
        raise UserError(f"{target}: cannot make this folder ({reason}); choose another TARGET") from None
    if not os.access(target, os.W_OK | os.X_OK):  # a read-only mount answers this for root too
        raise UserError(f"{target}: not writable (read-only, or no permission); choose another TARGET or make it writable")


def _write_result(path: Path, data: bytes) -> None:
    """A refused write (a full disk, say) names the result, and leaves no staged file behind."""
    try:
        write_atomic(path, data)
    except OSError as error:
        partial_path(path).unlink(missing_ok=True)
        if not is_place_error(error):
            raise
        raise UserError(f"{path}: {PLACE_ERRORS[error.errno]}; free space or choose another TARGET, then run again") from None


def _check(path: Path, size: int) -> str | None:
    """Why ``path`` cannot be converted (read from its header only), or None."""
    try:
        with open_user_image(path, "check the path", RENDER_LIMIT) as image:  # a FIFO or device: one line, never read
            width, height = image.size
    except IMAGE_ERRORS:
        return f"{path}: not a readable image"
    if min(width, height) < size:  # any W×H holds the art stretched to fill it; fewer pixels than cells cannot
        return f"{path}: {width}×{height} is smaller than the {size}×{size} it would become"
    return None


def _convert_chunk(paths: list[Path], target: Path, size: int, palette: Palette | None, method: str) -> list[str]:
    problems = []
    for path in paths:
        try:  # 16-bit greyscale scaled, not clipped to black and white; an animation refused, not cut to its first frame
            render = np.ascontiguousarray(read_user_rgba(path, "check the path", RENDER_LIMIT, exact=False)[..., :3])
        except IMAGE_ERRORS as error:  # a header that read fine over a broken body
            problems.append(f"{path}: unreadable ({image_problem(error)})")
            continue
        except UserError as error:
            problems.append(str(error))
            continue
        pixels = recover(render, size, palette, method).pixels
        _write_result(target / f"{path.stem}.png", encode_png(Image.fromarray(pixels)))
    return problems
