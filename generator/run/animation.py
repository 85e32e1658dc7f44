"""Animated tokens' files: ``animations/<id>.gif``, beside the still ``images/<id>.png`` (frame 0).

A token wearing a strip of frames (see :mod:`generator.render.frames`) gets a GIF of its frames: looping for ever
(``loop=0``), every frame shown ``[animation].frame_ms``, in an exact palette made of the token's own colours (a
"P" image, no quantising, no dithering), so each decoded frame is the composite of that frame, pixel for pixel.
GIF, because every browser, wallet and marketplace that shows images plays it, and a 24-pixel punk's few colours fit
its 256-colour palette. Measured on 22 animated tokens of the test art (4 and 3 frames), median sizes at 24 px: this
GIF 486 bytes, APNG 641, lossless animated WebP 370; at the 20× export scale: GIF 5.9 KB, APNG 2.7 KB, WebP 0.5 KB.
Neither is written yet: both are smaller at export scale (WebP also at 24 px), but marketplaces' support for them is
narrower than for GIF (see docs/traits.md, Animation). A token with more than 256 colours across its frames is refused
in one line before a run writes anything (a hand-drawn 24-pixel layer set never comes close).

Pillow merges a frame identical to the one before into it (its duration grows): the file is smaller and plays the
same. :func:`timeline` undoes that, so a check compares frame by frame against ``frame_ms`` steps.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from generator.config import Config
from generator.errors import UserError
from generator.files import IMAGE_LIMIT, not_a_file, read_limited
from generator.images import IMAGE_ERRORS, pack_rgb
from generator.plan.traits import Combo, TraitTable
from generator.render.frames import Frames, check_frame_counts, strip_names
from generator.render.layers import Layers, drawn_layers

GIF_COLOURS = 256  # a GIF palette's size
COLOUR_CHECK_CANVASES = 4096  # frames composited at once by the colour check: about 20 MB at 24×24


class TooManyColours(ValueError):
    """Frames with more colours than a GIF palette holds (the count is the argument)."""


@dataclass(frozen=True)
class Animation:
    """What a collection with strips needs to animate its tokens: the frames and how long each shows."""

    frames: Frames
    frame_ms: int
    tables: list[TraitTable]  # to name a token's strips in a refusal

    def count(self, combo: Combo) -> int:
        return self.frames.count(combo)

    def gifs(self, combos: Sequence[Combo]) -> list[bytes | None]:
        """Each token's GIF (None for a still); past a GIF's 256 colours, a refusal naming the token's strips."""
        gifs: list[bytes | None] = []
        for combo, frames in zip(combos, self.expected(combos), strict=True):
            try:
                gifs.append(None if frames is None else encode_gif(frames, self.frame_ms))
            except TooManyColours as error:
                raise self._too_many_colours(combo, error.args[0]) from None
        return gifs

    def check_colours(self, combos: Sequence[Combo]) -> None:
        """Refuse a planned token past a GIF's 256 colours before any write: found mid-run, the refusal left a folder
        whose run the fixed art no longer matches, so the same command asked for ``--force``. Composited a few
        thousand canvases at a time (a 1,000-frame token is 1,000 of them): 0.45 s for 10,000 planned tokens of which
        3,734 animate over 4 or 12 frames, against 9–17 s for their run on this shared 2-core machine."""
        for chunk in self._by_canvases(combos, COLOUR_CHECK_CANVASES):
            for combo, frames in zip(chunk, self.expected(chunk), strict=True):
                if frames is not None and (count := len(np.unique(pack_rgb(frames.reshape(-1, 3))))) > GIF_COLOURS:
                    raise self._too_many_colours(combo, count)

    def _by_canvases(self, combos: Sequence[Combo], canvases: int) -> Iterator[list[Combo]]:
        """``combos`` in runs whose frames add up to about ``canvases`` (a still counts as one)."""
        chunk: list[Combo] = []
        total = 0
        for combo in combos:
            chunk.append(combo)
            total += self.count(combo)
            if total >= canvases:
                yield chunk
                chunk, total = [], 0
        if chunk:
            yield chunk

    def _too_many_colours(self, combo: Combo, count: int) -> UserError:
        return UserError(
            f"{strip_names(self.frames.layers, self.tables, combo)} give a token {count} colours across its frames, "
            f"more than a GIF's {GIF_COLOURS}; draw the strips (or the layers under them) with fewer colours"
        )

    def expected(self, combos: Sequence[Combo]) -> list[np.ndarray | None]:
        """Each token's (frames, size, size, 3), as its GIF must decode (None for a still): tokens of one frame count
        composited together, one vectorised call per frame."""
        expected: list[np.ndarray | None] = [None] * len(combos)
        by_count: dict[int, list[int]] = {}
        for position, combo in enumerate(combos):
            by_count.setdefault(self.count(combo), []).append(position)
        for count, positions in by_count.items():
            if count == 1:
                continue
            frames = self.frames.composite(np.array([combos[p] for p in positions]), count)
            for column, position in enumerate(positions):
                expected[position] = frames[:, column]
        return expected


def animation_of(layers: Layers | None, config: Config, tables: list[TraitTable]) -> Animation | None:
    """The collection's animation, or None when no value is a strip (a still collection is unchanged in every file)."""
    if layers is None or not layers.strips:
        return None
    return Animation(Frames(layers), config.animation.frame_ms, tables)


def load_animation(config: Config, tables: list[TraitTable]) -> Animation | None:
    """For the commands that check a finished folder (``verify``, ``export``): the layers read again when complete."""
    return animation_of(drawn_layers(config, tables), config, tables)


def check_animation(animation: Animation | None, combos: Sequence[Combo], max_frames: int) -> None:
    """Every planned token's frame count within ``[animation].max_frames`` and its colours within a GIF's (before any
    write)."""
    if animation is not None:
        check_frame_counts(animation.frames.layers, animation.tables, combos, max_frames)
        animation.check_colours(combos)


def encode_gif(frames: np.ndarray, frame_ms: int, scale: int = 1) -> bytes:
    """(frames, size, size, 3) → a looping GIF in one exact palette (the frames' own colours, sorted), no dithering;
    ``scale``: every pixel a ``scale``×``scale`` block (``export``'s NEAREST upscale). The palette is found at the
    token's own size and the indices upscaled: finding it among the upscaled pixels cost 58 ms a 480 px token, this 2."""
    packed = pack_rgb(frames.reshape(-1, 3))
    colours, first, index = np.unique(packed, return_index=True, return_inverse=True)
    if len(colours) > GIF_COLOURS:
        raise TooManyColours(len(colours))
    palette = frames.reshape(-1, 3)[first].tobytes()
    images = []
    for indices in index.reshape(frames.shape[:3]).astype(np.uint8):
        image = Image.fromarray(indices.repeat(scale, 0).repeat(scale, 1) if scale > 1 else indices, "P")
        image.putpalette(palette)
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=frame_ms, loop=0, disposal=1, optimize=False)
    return out.getvalue()


def timeline(data: bytes, frame_ms: int) -> tuple[np.ndarray, int]:
    """A GIF's frames as they play, one per ``frame_ms`` step (a frame shown twice as long counts twice), and its loop
    count (-1: no loop extension, so it plays once); raises ValueError for a file that is not such a GIF."""
    with Image.open(io.BytesIO(data), formats=["GIF"]) as image:
        loop = image.info.get("loop", -1)
        steps = []
        for frame in ImageSequence.Iterator(image):
            duration = frame.info.get("duration", 0)
            if duration <= 0 or duration % frame_ms:
                raise ValueError(f"a frame shows {duration} ms, not a multiple of [animation].frame_ms = {frame_ms}")
            steps += [np.asarray(frame.convert("RGB"))] * (duration // frame_ms)
    return np.stack(steps), loop


def gif_problem(path: Path, expected: np.ndarray, frame_ms: int) -> str | None:
    """An animated token's GIF against its ``expected`` frames (:meth:`Animation.expected`), frame by frame
    (``verify``); None when every frame is that frame's composite, shown ``frame_ms``, looping for ever."""
    fix = "run the same `punkgen collection` command again to rewrite it"
    if kind := not_a_file(path):
        return f"{path}: {kind}; {fix}"
    try:
        frames, loop = timeline(read_limited(path, IMAGE_LIMIT, fix), frame_ms)
    except (ValueError, *IMAGE_ERRORS) as error:
        return f"{path}: not a GIF punkgen wrote ({error}); {fix}"
    if loop != 0:
        plays = "once (no loop extension)" if loop < 0 else f"{loop} more time(s) after the first"
        return f"{path}: plays {plays} instead of looping for ever; {fix}"
    if len(frames) != len(expected):
        return f"{path}: {len(frames)} frames of {frame_ms} ms, expected {len(expected)}; {fix}"
    wrong = [f for f in range(len(frames)) if not np.array_equal(frames[f], expected[f])]
    return f"{path}: frame {wrong[0]} differs from its layers' composite; {fix}" if wrong else None
