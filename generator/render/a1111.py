"""AUTOMATIC1111's two text formats: the "Prompts from file or textbox" line, and the ``parameters`` text of a PNG.

A job goes out as a line of ``to-render/prompts.txt``; the script splits each line with
``shlex`` and reads ``--prompt``/``--negative_prompt`` as one quoted word (words after it that do
not start with ``--`` are joined on), ``--seed``/``--steps``/``--width``/``--height`` as integers,
``--cfg_scale`` as a float and ``--sampler_name`` as a string, so every value is quoted with
``shlex.quote`` and a line holds exactly one job. A render comes back with the infotext the web UI
writes into its PNG (``parameters``; in a JPEG or WebP, the EXIF UserComment): the prompt lines, ``Negative prompt: …``, then one line of
``Key: value`` pairs holding ``Seed: N``; punkgen writes the same text into the full-size renders
it keeps, so any render can be reproduced in the UI.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from generator.config import Config
from generator.errors import UserError
from generator.render import RenderJob

# punkgen's schedulers as the web UI names its samplers (PLMS is its PNDM)
SAMPLER_NAMES = {"dpmpp_2m_karras": "DPM++ 2M Karras", "euler_a": "Euler a", "ddim": "DDIM", "pndm": "PLMS"}
NEGATIVE = "Negative prompt:"
_SEED = re.compile(r"(?:^|,\s*)Seed:\s*(\d{1,20})(?:,|$)")  # a UI's seeds are 64-bit; 5,000 digits broke int()
EXIF_IFD, USER_COMMENT = 0x8769, 0x9286
_COMMENT_CODES = {b"UNICODE\0": "utf-16-be", b"ASCII\0\0\0": "ascii"}  # piexif's, as the web UI writes them
_SETTINGS_LINE = re.compile(r"^\s*(?:[\w ]+:\s*[^,]*,\s*){2,}")  # "Steps: 30, Sampler: …, …": three pairs at least


@dataclass(frozen=True)
class Infotext:
    """What a render says it was made from."""

    prompt: str
    negative_prompt: str
    seed: int | None


def prompt_line(job: RenderJob, config: Config) -> str:
    """One job as the "Prompts from file or textbox" script reads it."""
    for text in (job.prompt, job.negative_prompt):
        if "\n" in text or "\r" in text:
            raise UserError(
                f"token {job.token_id}: its prompt holds a line break, which would split its line in prompts.txt; "
                "remove line breaks from [prompt] and the trait tables' prompt column"
            )
    render = config.render
    values = {
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "seed": job.seed,
        "steps": render.steps,
        "cfg_scale": render.guidance_scale,
        "width": render.width,
        "height": render.height,
        "sampler_name": SAMPLER_NAMES[render.scheduler],
    }
    return " ".join(f"--{key} {shlex.quote(str(value))}" for key, value in values.items())


def parameters_text(job: RenderJob, config: Config, size: tuple[int, int]) -> str:
    """The infotext the web UI would write for this job, ``size`` being the render's (width, height)."""
    render = config.render
    settings = {
        "Steps": render.steps,
        "Sampler": SAMPLER_NAMES[render.scheduler],
        "CFG scale": render.guidance_scale,
        "Seed": job.seed,
        "Size": f"{size[0]}x{size[1]}",
        "Model": config.model.base.rsplit("/", 1)[-1],
    }
    if render.backend == "hybrid":
        settings["Denoising strength"] = render.strength
    lines = [job.prompt]
    if job.negative_prompt:
        lines.append(f"{NEGATIVE} {job.negative_prompt}")
    lines.append(", ".join(f"{key}: {value}" for key, value in settings.items()))
    return "\n".join(lines)


def read_infotext(text: str) -> Infotext:
    """The prompt, negative prompt and seed of a ``parameters`` text (the web UI's own reading of it, simplified:
    the last line is the settings line when it holds ``Key: value`` pairs)."""
    lines = text.strip().split("\n")
    settings = lines[-1] if len(lines) > 1 and _SETTINGS_LINE.match(lines[-1]) else ""
    if settings:
        lines = lines[:-1]
    prompt: list[str] = []
    negative: list[str] = []
    for line in lines:
        if line.startswith(NEGATIVE) and not negative:
            negative.append(line[len(NEGATIVE) :].strip())
        else:
            (negative if negative else prompt).append(line)
    seed = _SEED.search(settings)
    return Infotext("\n".join(prompt), "\n".join(negative), int(seed.group(1)) if seed else None)


def user_comment(raw: object) -> str | None:
    """The infotext of a JPEG or WebP the web UI saved: an EXIF UserComment, 8 bytes of character code first."""
    if not isinstance(raw, bytes):
        return None
    encoding = _COMMENT_CODES.get(raw[:8])
    return raw[8:].decode(encoding, errors="replace") if encoding else None
