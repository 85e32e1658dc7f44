"""The recipe's loss: noise offset on the sampled noise, then a min-SNR-γ weighted MSE.

Both follow kohya sd-scripts (``apply_noise_offset``, ``apply_snr_weight``), so a LoRA trained
here matches one trained there with the same flags:

- noise offset: ``noise + offset · n``, one ``n ~ N(0, 1)`` per sample and latent channel,
  broadcast over height and width; it lets the model learn to shift a whole image's brightness
  (flat pixel-art backgrounds are exactly such low-frequency content).
- min-SNR-γ (Hang et al. 2023): with ``SNR(t) = ᾱ_t / (1 − ᾱ_t)``, each sample's MSE is weighted
  by ``min(SNR, γ) / SNR`` for epsilon prediction and ``min(SNR, γ) / (SNR + 1)`` for v-prediction,
  so the many easy low-noise timesteps stop dominating the gradient.
"""

from __future__ import annotations

import torch


def offset_noise(latents: torch.Tensor, offset: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Gaussian noise shaped like ``latents`` plus ``offset`` × a per-(sample, channel) constant."""
    noise = torch.randn(latents.shape, generator=generator, device=latents.device, dtype=latents.dtype)
    if offset:
        batch, channels = latents.shape[:2]
        shift = torch.randn((batch, channels, 1, 1), generator=generator, device=latents.device, dtype=latents.dtype)
        noise = noise + offset * shift
    return noise


def snr(alphas_cumprod: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
    """Signal-to-noise ratio ``ᾱ_t / (1 − ᾱ_t)`` of each timestep (kohya's ``all_snr``, diffusers' ``compute_snr``)."""
    alpha_bar = alphas_cumprod.to(timesteps.device)[timesteps].float()
    return alpha_bar / (1.0 - alpha_bar)


def min_snr_weights(snr_values: torch.Tensor, gamma: float, prediction_type: str = "epsilon") -> torch.Tensor:
    """Per-sample loss weights; ``gamma`` 0 means no weighting (all ones)."""
    if not gamma:
        return torch.ones_like(snr_values)
    clipped = torch.clamp(snr_values, max=gamma)
    return clipped / (snr_values + 1.0) if prediction_type == "v_prediction" else clipped / snr_values


def diffusion_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    timesteps: torch.Tensor,
    alphas_cumprod: torch.Tensor,
    min_snr_gamma: float,
    prediction_type: str = "epsilon",
) -> torch.Tensor:
    """Mean over the batch of (per-sample mean squared error) × (min-SNR weight), computed in fp32."""
    per_sample = torch.nn.functional.mse_loss(prediction.float(), target.float(), reduction="none")
    per_sample = per_sample.mean(dim=tuple(range(1, per_sample.ndim)))
    weights = min_snr_weights(snr(alphas_cumprod, timesteps), min_snr_gamma, prediction_type)
    return (per_sample * weights.to(per_sample.device)).mean()
