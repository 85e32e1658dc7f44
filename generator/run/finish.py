"""Finishing a render: pixel recovery, the quality verdict, and the token's files, before its manifest line.

This is the CPU side of a run, so it is a plain function of picklable data: large runs fan it
out to worker processes while the main process renders, small runs call it inline. What needs
every earlier token (the duplicate check, the manifest) stays with the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from generator.config import Config
from generator.files import IMAGE_LIMIT, read_if_regular, write_atomic, write_unvouched
from generator.images import encode_png
from generator.pixels.drawn import judge_drawn
from generator.pixels.measures import Claim
from generator.pixels.palette import Palette
from generator.pixels.quality import Verdict, assess
from generator.pixels.recovery import Recovery, drawn_recovery, recover
from generator.pixels.training_set import TrainingSet
from generator.plan.metadata import encode, token_metadata
from generator.plan.one_of_ones import PlacedOneOfOne, one_of_one_metadata
from generator.plan.traits import TraitTable
from generator.render import Found, RenderJob, Renders
from generator.render.a1111 import parameters_text
from generator.render.layers import Layers
from generator.run.animation import Animation
from generator.run.folder import ANIMATIONS, MANIFEST, animation_path, image_path, metadata_path, rejected_path
from generator.run.manifest import ACCEPTED, ANIMATION_SHA256, ONE_OF_ONE, REJECTED, History, append_record

Writer = Callable[[Path, bytes], None]


@dataclass(frozen=True)
class Destination:
    """Everything a worker needs to finish tokens, sent along with each batch."""

    folder: Path
    config: Config
    tables: list[TraitTable]
    palette: Palette | None
    backgrounds: tuple[np.ndarray | None, ...]  # asked-for colour of each value of the first (bottom) trait
    training: TrainingSet | None
    drawn: bool  # the renderer draws at token size (Renderer.draws_at_token_size): its renders are the tokens
    ui_parameters: bool  # rejected renders keep the A1111 text of their job (Renderer.made_by_model)
    layers: Layers | None  # draw each token's claim for the trait check; None without layer art, or when
    # the sprite renderer drew the render itself (its tokens show their claims by construction)
    animation: Animation | None = None  # the frames of tokens wearing a strip (sprites only); None: a still collection


@dataclass(frozen=True)
class Outcome:
    record: dict[str, Any]  # the manifest line, still without the duplicate check
    pixels: np.ndarray | None  # the accepted S×S image, for the contact sheet


def finish_batch(destination: Destination, jobs: list[RenderJob], renders: Renders, images_first: bool = True) -> list[Outcome]:
    """``images_first``: in a block of renders drawn at token size, every image is written before every metadata
    document, or the other way round (see :func:`_write_in_turn`); a model's renders write token by token."""
    if destination.drawn:
        return _finish_drawn(destination, jobs, np.asarray(renders), images_first)
    return [finish_token(destination, job, render) for job, render in zip(jobs, renders, strict=True)]


def finish_token(destination: Destination, job: RenderJob, render: np.ndarray | Found) -> Outcome:
    """Recover the pixels, judge them, write the token (or keep the render under rejected/).

    A found render (``import``) that claims this job but was made from another prompt is rejected whatever the
    filter says: it is another token's picture."""
    config = destination.config
    found = render if isinstance(render, Found) else None
    render = found.pixels if found else render
    claimed = claim(destination, job.combo)  # read by recovery and by the verdict: composed once
    recovery = postprocess(render, destination, job, claimed)
    verdict = Verdict((), {})
    if config.quality.enabled:
        verdict = assess(render, recovery, config.quality, destination.training, claimed)
    if found and found.mismatch:
        verdict = Verdict((found.mismatch, *verdict.reasons), verdict.metrics)
    return conclude(destination, job, render, recovery.pixels, verdict, found)


def _finish_drawn(destination: Destination, jobs: list[RenderJob], tokens: np.ndarray, images_first: bool) -> list[Outcome]:
    """A block of renders drawn at token size (the sprite renderer's): the pixels are the token, judged as a block."""
    quality = destination.config.quality
    verdicts = [Verdict((), {})] * len(jobs)
    if quality.enabled:
        expected = [destination.backgrounds[job.combo[0]] for job in jobs]
        claims = [claim(destination, job.combo) for job in jobs]
        verdicts = judge_drawn(tokens, expected, quality, destination.training, claims)
    pngs = [encode_png(Image.fromarray(token)) for token in tokens]
    gifs = animations(destination, jobs)
    accepted = [(job, png, gif) for job, png, gif, verdict in zip(jobs, pngs, gifs, verdicts, strict=True) if verdict.accepted]
    _write_in_turn(destination, accepted, images_first)
    for job, token, verdict in zip(jobs, tokens, verdicts, strict=True):
        if not verdict.accepted:
            _keep_rejected(destination, job, token)
    return [
        Outcome(token_record(destination, job, png, verdict, gif=gif), token if verdict.accepted else None)
        for job, token, png, gif, verdict in zip(jobs, tokens, pngs, gifs, verdicts, strict=True)
    ]


def _write_in_turn(destination: Destination, tokens: list[tuple[RenderJob, bytes, bytes | None]], images_first: bool) -> None:
    """Every token's image, then every token's metadata (or the other way round): a folder takes one file creation at
    a time (its inode lock), so two workers creating files in one folder take turns. On this project's VM a creation
    cost ~1 ms of kernel time; two processes created 1,000 files in one folder in 1.1 s, in two folders in 0.6 s.
    Consecutive tasks start in opposite folders, so the two workers mostly create files in different ones. An animated
    token's GIF comes first either way: its manifest line vouches for it too."""
    folder = destination.folder
    gifs = [(animation_path(folder, job.token_id), gif) for job, _, gif in tokens if gif is not None]
    images = [(image_path(folder, job.token_id), png) for job, png, _ in tokens]
    documents = [
        (metadata_path(folder, job.token_id), expected_metadata(destination, job.token_id, job.combo)) for job, *_ in tokens
    ]
    if gifs:
        (folder / ANIMATIONS).mkdir(exist_ok=True)
    if destination.animation is not None:  # a reroll's new traits may be a still: its old GIF goes with its old image
        for job, _, gif in tokens:
            if gif is None:
                animation_path(folder, job.token_id).unlink(missing_ok=True)
    for path, data in [*gifs, *images, *documents] if images_first else [*gifs, *documents, *images]:
        write_unvouched(path, data)  # no line vouches for this attempt yet


def animations(destination: Destination, jobs: list[RenderJob]) -> list[bytes | None]:
    """Each job's GIF (None for a still, and for every token of a still collection)."""
    if destination.animation is None:
        return [None] * len(jobs)
    return destination.animation.gifs([job.combo for job in jobs])


def conclude(
    destination: Destination, job: RenderJob, render: np.ndarray, pixels: np.ndarray, verdict: Verdict, found: Found | None = None
) -> Outcome:
    """Write the accepted token, or keep its render under rejected/; the manifest line that will vouch for it."""
    png = encode_png(Image.fromarray(pixels))
    if verdict.accepted:
        write_token(destination, job, png, write_unvouched)  # no line vouches for this attempt yet
    else:
        _keep_rejected(destination, job, render)
    return Outcome(token_record(destination, job, png, verdict, found), pixels if verdict.accepted else None)


def _keep_rejected(destination: Destination, job: RenderJob, render: np.ndarray) -> None:
    kept = encode_png(Image.fromarray(render), kept_text(destination, job, render))
    write_atomic(rejected_path(destination.folder, job.token_id, job.attempt), kept)


def token_record(
    destination: Destination, job: RenderJob, png: bytes, verdict: Verdict, found: Found | None = None, gif: bytes | None = None
) -> dict[str, Any]:
    """The manifest line of one attempt, still without the duplicate check; an animated token's also records its GIF's
    sha256, so a resume finds an altered or missing GIF without encoding every one again."""
    record = {
        "token_id": job.token_id,
        "attempt": job.attempt,
        "seed": job.seed,
        "traits": {table.key: table.values[i].name for table, i in zip(destination.tables, job.combo, strict=True)},
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "verdict": ACCEPTED if verdict.accepted else REJECTED,
        "reasons": list(verdict.reasons),
        "sha256": hashlib.sha256(png).hexdigest(),
    }
    if found:
        record["render_file"] = found.source
    if gif is not None:
        record[ANIMATION_SHA256] = hashlib.sha256(gif).hexdigest()
    return record


def kept_text(destination: Destination, job: RenderJob, render: np.ndarray) -> dict[str, str] | None:
    """A kept full-size render carries AUTOMATIC1111's ``parameters``, so either UI can reproduce it; a sprite
    render has nothing to reproduce."""
    if not destination.ui_parameters:
        return None
    return {"parameters": parameters_text(job, destination.config, (render.shape[1], render.shape[0]))}


def write_token(destination: Destination, job: RenderJob, png: bytes, write: Writer = write_atomic) -> None:
    """An accepted token's two files, image first: its manifest line comes after both. ``write``: atomic for files a
    manifest line vouches for (a restore), :func:`~generator.files.write_unvouched` for a new attempt's. An animated
    token's GIF comes first."""
    (gif,) = animations(destination, [job])
    if gif is not None:
        (destination.folder / ANIMATIONS).mkdir(exist_ok=True)
        write(animation_path(destination.folder, job.token_id), gif)
    write(image_path(destination.folder, job.token_id), png)
    write(metadata_path(destination.folder, job.token_id), expected_metadata(destination, job.token_id, job.combo))


def expected_metadata(destination: Destination, token_id: int, combo: tuple[int, ...], validated: bool = True) -> bytes:
    """The token's metadata document exactly as a run writes it: it follows from the config and traits alone."""
    animated = destination.animation is not None and destination.animation.count(combo) > 1
    return encode(token_metadata(destination.config, destination.tables, token_id, combo, validated, animated))


def restore_token(destination: Destination, job: RenderJob, render: np.ndarray | Found | None, sha256: str) -> bool:
    """Re-create an accepted token's files from a fresh render of its recorded attempt, if it gives the recorded
    pixels (same backend, device and block; for ``import``, the same file); False, writing nothing, where it does
    not."""
    if render is None:  # import: the file is no longer in the renders folder
        return False
    render = render.pixels if isinstance(render, Found) else render
    png = encode_png(Image.fromarray(postprocess(render, destination, job, claim(destination, job.combo)).pixels))
    if hashlib.sha256(png).hexdigest() != sha256:
        return False
    write_token(destination, job, png)
    return True


def write_one_of_ones(destination: Destination, one_of_ones: dict[int, PlacedOneOfOne], history: History) -> list[int]:
    """Each 1/1's image and metadata, then its manifest line; a 1/1 whose files went missing or changed is rewritten
    from its source (returned: those ids), one already in place is left alone."""
    folder, rewritten = destination.folder, []
    for token_id, one in one_of_ones.items():
        document = encode(one_of_one_metadata(destination.config, one))
        files = {image_path(folder, token_id): one.art.png, metadata_path(folder, token_id): document}
        stale = [path for path, data in files.items() if read_if_regular(path, IMAGE_LIMIT) != data]  # FIFO: stale
        for path in stale:
            write_atomic(path, files[path])
        if token_id in history.accepted:
            rewritten += [token_id] if stale else []
            continue
        record = {"event": ONE_OF_ONE, "token_id": token_id, "traits": {}, "verdict": ACCEPTED, "reasons": []}
        record |= {"sha256": one.art.sha256, "source_sha256": one.art.source_sha256}
        append_record(folder / MANIFEST, record)
        history.add(record)
    return rewritten


def claim(destination: Destination, combo: tuple[int, ...]) -> Claim | None:
    if destination.layers is None:
        return None
    pixels, owner = destination.layers.expectation(combo)
    names = tuple((table.key, table.values[i].name) for table, i in zip(destination.tables, combo, strict=True))
    return Claim(pixels, owner, names)


def postprocess(render: np.ndarray, destination: Destination, job: RenderJob, claimed: Claim | None) -> Recovery:
    """The render → the S×S token, its background painted the colour the token's background trait asks for, palette
    near-twins it cannot tell apart resolved by the layers' art where there is some; art drawn at token size is the
    token already."""
    pixels, background = destination.config.pixels, destination.backgrounds[job.combo[0]]
    if destination.drawn:
        return drawn_recovery(render, background)
    expected = claimed.pixels if claimed is not None else None
    return recover(render, pixels.size, destination.palette, pixels.method, background, expected)
