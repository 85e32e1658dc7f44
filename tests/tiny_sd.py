"""A tiny, randomly initialised Stable Diffusion 1.5-shaped pipeline folder for offline tests.

No test may download SD weights, so the training and rendering tests run the real code paths
(``from_pretrained``, LoRA injection, ``load_lora_weights``, the denoising loop) on a model that
has SD 1.5's *shape* at a toy size:

- UNet: ``CrossAttnDownBlock2D`` / ``CrossAttnUpBlock2D`` and a cross-attention mid block, so
  the kohya module names look like SD 1.5's (``lora_unet_down_blocks_0_attentions_0_proj_in``,
  ``…_transformer_blocks_0_attn2_to_k``, ``lora_unet_mid_block_attentions_0_…``); 1×1-conv
  ``proj_in``/``proj_out`` as in SD 1.5 (``use_linear_projection=False``); epsilon prediction.
- VAE: four blocks, so the latent is 1/8 of the image as in SD 1.5 (64 px → 8×8×4 latent).
- Text encoder: ``CLIPTextModel`` with hidden size 32 and 2 layers; tokenizer: a byte-level
  CLIP BPE vocabulary (every byte, with and without ``</w>``, no merges) written here, so any
  text tokenizes, one token per character, padded to 77 like SD's.
- Scheduler: ``PNDMScheduler`` with SD 1.5's betas (what the hub folder ships).

Public API:
    build_tiny_sd(path, seed=0) -> Path     write the folder (model_index.json + subfolders, .safetensors)
    tiny_sd_dir                             session-scoped pytest fixture: the folder, built once per session

The folder loads with ``StableDiffusionPipeline.from_pretrained(path)`` and with each
component's ``from_pretrained(path, subfolder=…)``. Building it takes 0.1 s once torch and
diffusers are imported (the imports take 3–4 s); it is 3.6 MB on disk. A 2-step 32×32 render
takes about 0.03 s on one CPU thread; with peft LoRA layers on CPU, prefer
``torch.set_num_threads(1)`` in tests (2 OpenMP threads spin-wait badly when other processes
share the cores).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CROSS_ATTENTION_DIM = 32  # the text encoder's hidden size, as 768 is for SD 1.5
TOKENIZER_MAX_LENGTH = 77  # SD 1.5's context length


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's (and GPT-2's) reversible byte → printable-character table used by byte-level BPE."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars), strict=True))


def write_tiny_tokenizer_files(folder: Path) -> Path:
    """``vocab.json`` + ``merges.txt`` for a character-level CLIP BPE tokenizer (514 tokens)."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = list(_bytes_to_unicode().values())
    vocab = {token: index for index, token in enumerate(symbols + [s + "</w>" for s in symbols])}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return folder


def build_tiny_sd(path: Path, seed: int = 0) -> Path:
    """Write a tiny SD 1.5-shaped diffusers pipeline folder at ``path`` and return it.

    Weights are random (seeded, so two builds with one seed are identical) and saved as
    ``.safetensors``; no safety checker or feature extractor, as in a stripped SD 1.5 folder.
    """
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    path = Path(path)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=CROSS_ATTENTION_DIM,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 16, 16),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
        scaling_factor=0.18215,
    )
    tokenizer_files = write_tiny_tokenizer_files(path / "_tokenizer_source")
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_files, model_max_length=TOKENIZER_MAX_LENGTH)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=CROSS_ATTENTION_DIM,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=TOKENIZER_MAX_LENGTH,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            projection_dim=CROSS_ATTENTION_DIM,
        )
    )
    scheduler = PNDMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        set_alpha_to_one=False,
        skip_prk_steps=True,
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(path, safe_serialization=True)
    for leftover in (path / "_tokenizer_source").iterdir():
        leftover.unlink()
    (path / "_tokenizer_source").rmdir()
    return path


@pytest.fixture(scope="session")
def tiny_sd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SD 1.5-shaped diffusers folder, built once per test session; tests must not modify it."""
    return build_tiny_sd(tmp_path_factory.mktemp("tiny-sd") / "tiny-sd15")
