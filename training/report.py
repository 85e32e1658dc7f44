"""Evidence of a run: ``loss.csv``, ``loss.png`` (drawn with Pillow: no matplotlib dependency) and sample grids.

A sample grid has one column per prompt: the top row is the raw render at the training
resolution, the bottom row the same image through the collection's pixel step
(:func:`generator.pixels.recover`, without a palette) and shown NEAREST-upscaled: what a
collection token would look like.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from generator.files import write_atomic
from generator.images import encode_png
from training.config import SampleSettings

LOSS_COLUMNS = ("step", "epoch", "loss", "lr_unet", "lr_text_encoder")


def read_loss_rows(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    with path.open(newline="") as stream:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(stream)]


def write_loss_rows(path: Path, rows: Sequence[dict[str, float]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOSS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                "step": int(row["step"]),
                "epoch": int(row["epoch"]),
                "loss": f"{row['loss']:.6f}",
                "lr_unet": f"{row['lr_unet']:.4g}",
                "lr_text_encoder": f"{row['lr_text_encoder']:.4g}",
            }
        )
    write_atomic(path, buffer.getvalue().encode())


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing mean over ``window`` values (shorter at the start), the smoothed line of the plot."""
    data = np.asarray(values, dtype=np.float64)
    sums = np.cumsum(np.insert(data, 0, 0.0))
    ends = np.arange(1, len(data) + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def loss_plot(rows: Sequence[dict[str, float]], title: str, size: tuple[int, int] = (900, 420)) -> Image.Image:
    """Raw per-step loss (grey), its moving average (blue) and epoch boundaries (dotted)."""
    width, height = size
    left, right, top, bottom = 70, 20, 36, 44
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    draw.text((left, 10), title, fill="black", font=font)
    plot_w, plot_h = width - left - right, height - top - bottom
    draw.rectangle((left, top, left + plot_w, top + plot_h), outline="black")
    if not rows:
        draw.text((left + 10, top + 10), "no steps yet", fill="black", font=font)
        return image
    steps = np.array([row["step"] for row in rows])
    losses = np.array([row["loss"] for row in rows])
    smooth = moving_average(losses, max(1, len(losses) // 25))  # ~25 windows across the run
    low, high = float(np.percentile(losses, 1)), float(np.percentile(losses, 99))
    low, high = min(low, float(smooth.min())), max(high, float(smooth.max()))
    if high - low < 1e-12:
        low, high = low - 1e-3, high + 1e-3
    x_first, x_last = float(steps[0]), float(max(steps[-1], steps[0] + 1))

    def point(step: float, value: float) -> tuple[float, float]:
        x = left + (step - x_first) / (x_last - x_first) * plot_w
        y = top + (1 - (min(max(value, low), high) - low) / (high - low)) * plot_h
        return x, y

    for row_index in range(1, len(rows)):
        if rows[row_index]["epoch"] != rows[row_index - 1]["epoch"]:
            x = point(steps[row_index], low)[0]
            for y in range(top, top + plot_h, 6):
                draw.line((x, y, x, y + 2), fill=(150, 150, 150))
    draw.line([point(s, v) for s, v in zip(steps, losses, strict=True)], fill=(190, 190, 190), width=1)
    draw.line([point(s, v) for s, v in zip(steps, smooth, strict=True)], fill=(30, 90, 200), width=2)
    for fraction in (0.0, 0.5, 1.0):
        value = low + fraction * (high - low)
        y = point(x_first, value)[1]
        draw.line((left - 4, y, left, y), fill="black")
        draw.text((4, y - 6), f"{value:.4f}", fill="black", font=font)
    for step in (x_first, (x_first + x_last) / 2, x_last):
        x = point(step, low)[0]
        draw.line((x, top + plot_h, x, top + plot_h + 4), fill="black")
        draw.text((x - 10, top + plot_h + 8), f"{int(round(step))}", fill="black", font=font)
    draw.text((left + plot_w // 2 - 40, height - 18), "optimizer step", fill="black", font=font)
    window = max(1, len(losses) // 25)
    last = f"mean loss, first {window} steps {losses[:window].mean():.4f} -> last {window} steps {losses[-window:].mean():.4f}"
    draw.text((left + plot_w - 6 * len(last) - 10, 10), last, fill=(30, 90, 200), font=font)
    return image


def save_png(path: Path, image: Image.Image) -> None:
    write_atomic(path, encode_png(image))


def sample_grid(renders: Sequence[np.ndarray], pixel_size: int, label: str) -> Image.Image:
    """One column per prompt: raw render on top, the pixel-grid reduction below (both at the render size)."""
    from generator.pixels.recovery import recover

    size = renders[0].shape[0]
    grid = Image.new("RGB", (size * len(renders), size * 2 + 16), "white")
    for column, render in enumerate(renders):
        grid.paste(Image.fromarray(render), (column * size, 16))
        small = Image.fromarray(recover(render, pixel_size, None).pixels)  # the collection's own pixel step
        grid.paste(small.resize((size, size), Image.Resampling.NEAREST), (column * size, size + 16))
    ImageDraw.Draw(grid).text((4, 2), label, fill="black", font=ImageFont.load_default())
    return grid


def sample_pipeline(base: Path, unet: Any, text_encoder: Any, vae: Any, tokenizer: Any) -> Any:
    """A StableDiffusionPipeline around the models being trained (LoRA live), sampling with DPM++ 2M Karras,
    the collection's default sampler."""
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline

    scheduler = DPMSolverMultistepScheduler.from_pretrained(
        base, subfolder="scheduler", local_files_only=True, use_karras_sigmas=True
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def render_samples(path: Path, pipe: Any, samples: SampleSettings, resolution: int, device: Any, epoch: int) -> None:
    """The fixed prompts, each from the same fixed seed, so grids compare across epochs; written as one grid PNG."""
    import torch

    pipe.unet.eval()
    pipe.text_encoder.eval()
    renders = []
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # diffusers' DPM solver: np.array(tensor) under numpy 2
        for prompt in samples.prompts:
            image = pipe(
                prompt,
                negative_prompt=samples.negative_prompt or None,
                num_inference_steps=samples.steps,
                guidance_scale=samples.guidance_scale,
                height=resolution,
                width=resolution,
                generator=torch.Generator(device).manual_seed(samples.seed),
                output_type="np",
            ).images[0]
            renders.append(np.clip(np.rint(image * 255), 0, 255).astype(np.uint8))
    label = f"epoch {epoch}: {len(samples.prompts)} prompts, seed {samples.seed}"
    save_png(path, sample_grid(renders, samples.pixel_size, label))
