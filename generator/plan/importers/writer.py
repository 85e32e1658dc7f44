"""Write a :class:`~generator.plan.importers.source.SourceProject` as a punkgen trait folder, all or nothing.

The folder is what ``docs/traits.md`` describes: one ``<key>.csv`` per layer (``value,weight,prompt,layer``), the
layer PNGs under ``layers/<key>/``, and a ``collection.toml`` with the order, display names, rules, the sprite
backend and ``[pixels].size`` set to the layers' own size, so ``punkgen collection --config DIR/collection.toml``
runs at once. Every name that becomes a path is sanitised (:func:`generator.files.is_safe_name`), and two names that
sanitise to one are refused, naming both source files. The folder is staged beside ``DIR`` and renamed into place,
so a refusal half-way leaves nothing.
"""

from __future__ import annotations

import csv
import errno
import glob
import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from generator.errors import Arg, UserError
from generator.files import (
    IMAGE_LIMIT,
    PARTIAL_SUFFIX,
    in_place_of_folder,
    is_safe_name,
    remove_orphans,
    write_atomic,
)
from generator.images import IMAGE_ERRORS, encode_png, image_problem, read_user_rgba
from generator.plan.importers.source import SourceLayer, SourceProject, SourceValue
from generator.plan.traits import WEIGHT_RANGE

SIZE_RANGE = (4, 256)  # [pixels].size's bounds in the config schema


def write_trait_folder(project: SourceProject, target: Path) -> list[str]:
    """Write ``project`` to ``target`` (absent or empty); returns the notes, which are also in collection.toml.
    Everything that can be refused is checked before the first file is written."""
    if (kind := in_place_of_folder(target)) is not None:
        raise UserError(f"{target}: {Arg.TO} is {kind}, not a folder; name a new folder")
    if target.is_dir() and any(target.iterdir()):
        raise UserError(f"{target}: {Arg.TO} exists and is not empty; name a new folder")
    keys = _trait_keys(project)
    files = {layer.name: _layer_files(layer) for layer in project.layers}
    for layer in project.layers:
        _refuse_value_twins(layer)
    project.notes.extend(note for layer in project.layers if (note := _shared_images(layer)))
    pixels, size = _layer_pixels(project, files)
    tables = {keys[layer.name]: _table(layer, files[layer.name]) for layer in project.layers}
    images = {keys[name]: layer_images for name, layer_images in pixels.items()}
    _write_staged(target, tables, images, _collection_toml(project, keys, size))
    return project.notes


def _layer_pixels(project: SourceProject, files: dict[str, dict[Path, str]]) -> tuple[dict[str, dict[str, np.ndarray]], int]:
    """Every layer image as written (opacity baked in, an upscale brought to its grid) by layer and file name, and
    the one size they share, which becomes ``[pixels].size``."""
    pixels = {layer.name: _read_layer_images(layer, files[layer.name], project.notes) for layer in project.layers}
    size = _common_size(pixels)
    factor = _upscale_factor([image for images in pixels.values() for image in images.values()], size)
    if factor > 1:
        project.notes.append(
            f"the layers are {size}×{size} images of {size // factor}×{size // factor} pixel art (every {factor}×{factor} "
            f"block one colour): imported at {size // factor}×{size // factor}, one pixel per art pixel"
        )
        pixels = {layer: {name: image[::factor, ::factor] for name, image in images.items()} for layer, images in pixels.items()}
        size //= factor
    _check_size(pixels, size)
    project.notes.extend(_see_through_bottom(project.layers[0], pixels[project.layers[0].name]))
    return pixels, size


def _write_staged(target: Path, tables: dict[str, bytes], images: dict[str, dict[str, np.ndarray]], toml: str) -> None:
    """Write the folder beside ``target`` and rename it into place: a failure part-way leaves no half folder."""
    staging = target.parent / f".{target.name}.{os.getpid()}{PARTIAL_SUFFIX}"
    _remove_dead_stagings(target)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for key, table in tables.items():
            write_atomic(staging / f"{key}.csv", table)
            (staging / "layers" / key).mkdir(parents=True)
            for file_name, image in images[key].items():
                write_atomic(staging / "layers" / key / file_name, encode_png(Image.fromarray(image, "RGBA")))
        write_atomic(staging / "collection.toml", toml.encode())
        _move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _remove_dead_stagings(target: Path) -> None:
    """Delete the staging folders of imports into ``target`` that were killed before their rename (the pid in the
    name is gone); a living one is another import at work and is left to it."""
    prefix = f".{target.name}."
    staged = target.parent.glob(f"{glob.escape(prefix)}*{PARTIAL_SUFFIX}")
    remove_orphans(staged, lambda folder: folder.name[len(prefix) : -len(PARTIAL_SUFFIX)])


def _move_into_place(staging: Path, target: Path) -> None:
    """Rename the finished folder onto ``target``, or one line where another command filled ``target`` meanwhile
    (two imports into one folder at once): the rename then fails rather than mixing the two."""
    try:
        if target.is_dir():
            target.rmdir()
        staging.rename(target)
    except OSError as error:
        if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        raise UserError(f"{target}: {Arg.TO} was filled by another command while this import ran; name a new folder") from None


def trait_key(name: str) -> str:
    """``Background Colors`` → ``background_colors``: the lower-case key ``[traits].order`` accepts."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _trait_keys(project: SourceProject) -> dict[str, str]:
    keys: dict[str, str] = {}
    for layer in project.layers:
        key = trait_key(layer.name)
        if not key:
            raise UserError(f"{project.config}: layer '{layer.name}' has no letters or digits to name a trait by; rename it")
        clash = next((other for other, taken in keys.items() if taken == key), None)
        if clash is not None:
            raise UserError(f"{project.config}: layers '{clash}' and '{layer.name}' both become trait '{key}'; rename one")
        keys[layer.name] = key
    return keys


def _file_name(stem: str) -> str:
    """A source file's name made safe for any disk: characters outside punkgen's safe set become ``-``."""
    name = re.sub(r"[^A-Za-z0-9 _\-'.&+()]+", "-", stem).replace("..", "-").strip(" .-")[:60] or "layer"
    return f"{name}.png" if is_safe_name(f"{name}.png") else f"layer-{name}.png"


def _layer_files(layer: SourceLayer) -> dict[Path, str]:
    """Each source image's file name in ``layers/<key>/``; two images that sanitise to one name are refused."""
    names: dict[Path, str] = {}
    taken: dict[str, Path] = {}
    for value in layer.values:
        if value.image in names:
            continue  # nft-generator-py lets several values share one file
        name = _file_name(value.image.stem)
        if name.lower() in taken:
            raise UserError(f"{value.image}: becomes layer file '{name}' like {taken[name.lower()]}; rename one of them")
        names[value.image], taken[name.lower()] = name, value.image
    return names


def _refuse_value_twins(layer: SourceLayer) -> None:
    """Values that differ only in case are one trait to collectors and case-insensitive disks; punkgen refuses them."""
    seen: dict[str, SourceValue] = {}
    for value in layer.values:
        twin = seen.setdefault(value.name.lower(), value)
        if twin is not value:
            raise UserError(
                f"{value.image}: value '{value.name}' is also the value of {twin.image} (case aside); rename one of them"
            )


def _shared_images(layer: SourceLayer) -> str | None:
    """Values drawn by one image make tokens that differ only there look identical; punkgen keeps every token's
    pixels distinct, so it rejects the second of such a pair: said here, before a run finds it."""
    by_image: dict[Path, list[str]] = {}
    for value in layer.values:
        by_image.setdefault(value.image, []).append(value.name)
    shared = [f"{path.name}: {', '.join(names)}" for path, names in by_image.items() if len(names) > 1]
    if not shared:
        return None
    return (
        f"layer '{layer.name}': values share one image ({'; '.join(shared)}): kept, but tokens that differ only there "
        "look alike and punkgen rejects the copy as a duplicate; draw each value its own image"
    )


def _read_layer_images(layer: SourceLayer, files: dict[Path, str], notes: list[str]) -> dict[str, np.ndarray]:
    images: dict[str, np.ndarray] = {}
    blended = []
    for path, name in files.items():
        try:
            pixels = read_user_rgba(path, "check the layer folder", IMAGE_LIMIT, exact=True).copy()
        except IMAGE_ERRORS as error:
            raise UserError(f"{path}: {image_problem(error)}; export the layer as an RGBA PNG") from None
        if layer.opacity < 1:
            pixels[..., 3] = np.round(pixels[..., 3] * layer.opacity).astype(np.uint8)
        if ((pixels[..., 3] > 0) & (pixels[..., 3] < 255)).any():
            blended.append(path.name)
        images[name] = pixels
    if layer.opacity < 1:
        notes.append(
            f"layer '{layer.name}': opacity {layer.opacity:g} baked into its images' alpha, as the source draws it; "
            "its pixels blend into colours outside the art's palette"
        )
    elif blended:
        notes.append(
            f"layer '{layer.name}': {len(blended)} file(s) have semi-transparent pixels ({', '.join(blended[:3])}): "
            "they blend into colours outside the art's palette; kept as drawn"
        )
    return images


def _common_size(pixels: dict[str, dict[str, np.ndarray]]) -> int:
    """The one square size every layer image shares: it becomes ``[pixels].size``."""
    sizes = {
        (image.shape[1], image.shape[0]): (layer, name) for layer, images in pixels.items() for name, image in images.items()
    }
    if len(sizes) > 1:
        (first, where), (second, other) = list(sizes.items())[:2]
        raise UserError(
            f"layer '{other[0]}' file '{other[1]}' is {second[0]}×{second[1]} but '{where[0]}' file '{where[1]}' is "
            f"{first[0]}×{first[1]}; every layer image must be one size"
        )
    (width, height), (layer, name) = next(iter(sizes.items()))
    if width != height:
        raise UserError(f"layer '{layer}' file '{name}' is {width}×{height}; punkgen's layers are square: crop them")
    return width


def _see_through_bottom(layer: SourceLayer, images: dict[str, np.ndarray]) -> list[str]:
    """punkgen's bottom layer must be opaque (a token has no background colour of its own); said at import so the
    creator fixes it before the first run refuses it."""
    clear = [name for name, image in images.items() if image[..., 3].min() < 255]
    if not clear:
        return []
    return [
        f"layer '{layer.name}' is the bottom layer but {', '.join(clear[:3])} {'has' if len(clear) == 1 else 'have'} "
        "transparent pixels; a run refuses that: give the bottom layer opaque backgrounds"
    ]


def _upscale_factor(images: list[np.ndarray], size: int) -> int:
    """The largest k for which every image is a NEAREST k× upscale (each k×k block one colour): layers exported for
    HashLips at 480 or 1000 px are often 24-pixel art blown up, and punkgen's layers are one pixel per art pixel.
    Only a factor that leaves at least 8 pixels counts, so small art is never mistaken for an upscale."""
    for factor in sorted((k for k in range(2, size // 8 + 1) if size % k == 0), reverse=True):
        cells = size // factor
        if all(_blocks_flat(image, cells, factor) for image in images):
            return factor
    return 1


def _blocks_flat(image: np.ndarray, cells: int, factor: int) -> bool:
    blocks = image.reshape(cells, factor, cells, factor, 4)
    return bool((blocks == blocks[:, :1, :, :1]).all())


def _check_size(pixels: dict[str, dict[str, np.ndarray]], size: int) -> None:
    if not SIZE_RANGE[0] <= size <= SIZE_RANGE[1]:
        layer, images = next(iter(pixels.items()))
        raise UserError(
            f"layer '{layer}' file '{next(iter(images))}' is {size}×{size} and no NEAREST upscale of smaller pixel art; "
            f"punkgen's layers are {SIZE_RANGE[0]}–{SIZE_RANGE[1]} px pixel art: scale them to one pixel per art pixel"
        )


def _table(layer: SourceLayer, files: dict[Path, str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["value", "weight", "prompt", "layer"])
    for value in layer.values:
        if value.weight != 0 and not WEIGHT_RANGE[0] <= value.weight <= WEIGHT_RANGE[1]:
            raise UserError(f"{value.image}: weight {value.weight:g} is outside 0.000001–1,000,000,000; rescale the weights")
        weight = f"{value.weight:.6f}".rstrip("0").rstrip(".")
        writer.writerow([value.name, weight, value.name.lower(), files[value.image]])
    return out.getvalue().encode()


def _collection_toml(project: SourceProject, keys: dict[str, str], size: int) -> str:
    lines = [f"# Imported by `punkgen traits import` from {project.tool} ({project.config})."]
    if project.notes:
        lines.append("# What the source has that punkgen cannot represent, and the choice made:")
        lines += [f"#   - {note}" for note in project.notes]
    lines += ["", "[collection]", f"name = {_string(project.name)}", f"description = {_string(project.description)}"]
    lines += [f"size = {project.size}"] if project.size else []
    order = ", ".join(_string(keys[layer.name]) for layer in project.layers)
    names = ", ".join(f"{keys[layer.name]} = {_string(layer.display)}" for layer in project.layers)
    lines += ["", "[traits]", f"order = [{order}]  # bottom layer first, as the source draws them", f"names = {{ {names} }}"]
    for rule in project.rules:
        values = ", ".join(_string(value) for value in rule.values)
        lines += ["", "[[rules]]", f"when = {{ {keys[rule.when[0]]} = {_string(rule.when[1])} }}"]
        lines.append(f"{rule.kind} = {{ {keys[rule.layer]} = [{values}] }}")
    lines += [
        "",
        "[render]",
        'backend = "sprites"',
        "",
        "[pixels]",
        f"size = {size}",
        'palette = ""  # keep the layers\' colours',
        "",
        "[quality]",
        "enabled = false  # the portrait checks judge model renders; these layers are the creator's finished art",
    ]
    return "\n".join(lines) + "\n"


def _string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's."""
    return json.dumps(text, ensure_ascii=False)
