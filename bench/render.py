"""Diffusion throughput: SD 1.5-sized UNet, VAE and text encoder with random weights, the recipe's settings.

No download: the components are built from SD 1.5's published shapes with random weights (the
same compute as the real model) plus a rank-32 LoRA on kohya's target modules. Reported per
batch size: images/s for the LoRA fused and unfused (and with torch.compile on CUDA), the
FLOPs of one image (counted with torch.utils.flop_counter: UNet evaluations × 2 for
classifier-free guidance × steps, plus the VAE decode) and the model FLOPs utilisation
against the GPU's dense fp16 peak. An H100 SXM's 989 TFLOP/s at ≈51 TFLOP an image makes
≈19 images/s the physical limit at 512×512, 30 steps.

On a machine without CUDA it runs a reduced size (128×128, 2 steps, batch 1 and 2) and says so.

    python bench/render.py                       # auto: full size on CUDA, reduced on CPU
    python bench/render.py --batches 1 4 8 16 --compile
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")  # cast and config notices about random-weight components
import torch  # noqa: E402

PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "4090": 165.0}  # dense fp16/bf16 tensor cores


def sd15_components(device: str, dtype: torch.dtype):
    """UNet, VAE and text encoder with SD 1.5's shapes (diffusers' defaults are SD 1.5's UNet)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    unet = UNet2DConditionModel(cross_attention_dim=768, attention_head_dim=8)
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=2,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12)
    )
    return [m.to(device, dtype).eval() for m in (unet, vae, text_encoder)]


def add_lora(unet, text_encoder, rank: int = 32, alpha: int = 16) -> None:
    from peft import LoraConfig, inject_adapter_in_model

    from training.kohya import TEXT_ENCODER_BLOCKS, UNET_BLOCKS, target_modules

    for model, blocks in ((unet, UNET_BLOCKS), (text_encoder, TEXT_ENCODER_BLOCKS)):
        config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=target_modules(model, blocks), init_lora_weights=False)
        inject_adapter_in_model(config, model)


def pipeline(device: str, dtype: torch.dtype, fused: bool):
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline
    from peft.tuners.lora import LoraLayer

    unet, vae, text_encoder = sd15_components(device, dtype)
    add_lora(unet, text_encoder)
    if fused:
        for model in (unet, text_encoder):
            for module in model.modules():
                if isinstance(module, LoraLayer):
                    module.merge()
    scheduler = DPMSolverMultistepScheduler(algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=True, steps_offset=1)
    pipe = StableDiffusionPipeline(vae, text_encoder, None, unet, scheduler, None, None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def flops_per_image(pipe, size: int, steps: int, device: str, dtype: torch.dtype) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    latents = torch.randn(2, 4, size // 8, size // 8, device=device, dtype=dtype)
    text = torch.randn(2, 77, 768, device=device, dtype=dtype)
    with torch.inference_mode(), FlopCounterMode(display=False) as unet_counter:
        pipe.unet(latents, 500, encoder_hidden_states=text)
    with torch.inference_mode(), FlopCounterMode(display=False) as vae_counter:
        pipe.vae.decode(latents[:1])
    return unet_counter.get_total_flops() * steps + vae_counter.get_total_flops()  # the UNet pass above is already ×2 (CFG)


def images_per_second(pipe, batch: int, size: int, steps: int, device: str, dtype: torch.dtype, repeats: int) -> float:
    embeds = torch.randn(batch, 77, 768, device=device, dtype=dtype)

    def run() -> None:
        with torch.inference_mode():
            pipe(
                prompt_embeds=embeds,
                negative_prompt_embeds=embeds,
                num_inference_steps=steps,
                height=size,
                width=size,
                output_type="np",
            )

    run()  # warm-up (and compilation)
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        run()
    if device == "cuda":
        torch.cuda.synchronize()
    return batch * repeats / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--size", type=int)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (CUDA)")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    device, dtype = ("cuda", torch.float16) if cuda else ("cpu", torch.float32)
    size, steps = args.size or (512 if cuda else 128), args.steps or (30 if cuda else 2)
    batches = args.batches or ([1, 4, 8, 16] if cuda else [1, 2])
    name = torch.cuda.get_device_name() if cuda else "CPU"
    peak = next((tflops for key, tflops in PEAK_TFLOPS.items() if key in name), None)
    if not cuda:
        print(f"no CUDA: reduced run at {size}×{size}, {steps} steps, fp32 (the recipe is 512×512, 30 steps, fp16 on a GPU)")
    print(f"device {name}; {size}×{size}, {steps} steps, CFG 7.5, rank-32 LoRA, DPM++ 2M Karras")
    variants = [("unfused", False, False), ("fused", True, False)] + (
        [("fused+compile", True, True)] if args.compile and cuda else []
    )
    flops = None
    print(f"{'variant':<15} {'batch':>5} {'images/s':>9} {'TFLOP/s':>8} {'MFU':>6}")
    for label, fused, compiled in variants:
        pipe = pipeline(device, dtype, fused)
        if compiled:
            pipe.unet = torch.compile(pipe.unet, mode="max-autotune", fullgraph=True)
        flops = flops or flops_per_image(pipe, size, steps, device, dtype)
        for batch in batches:
            rate = images_per_second(pipe, batch, size, steps, device, dtype, args.repeats)
            achieved = rate * flops / 1e12
            mfu = f"{achieved / peak:.0%}" if peak else "-"
            print(f"{label:<15} {batch:>5} {rate:>9.3f} {achieved:>8.2f} {mfu:>6}")
        del pipe
    print(
        f"{flops / 1e12:.1f} TFLOP per image"
        + (f"; peak {peak:.0f} TFLOP/s → {peak * 1e12 / flops:.1f} images/s at most" if peak else "")
    )


if __name__ == "__main__":
    main()
