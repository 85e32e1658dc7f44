"""The recipe's arithmetic on known inputs: noise offset, min-SNR-γ loss, the 3-cycle LR schedule, batching, and the recipe file."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import UserError
from training.config import DEFAULT_RECIPE_PATH, Recipe, load_recipe
from training.train_lora import checkpoint_name, epoch_batches, step_seed

torch = pytest.importorskip("torch")


def sd15_noise_scheduler():
    from diffusers import DDPMScheduler

    return DDPMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")


def test_offset_noise_is_gaussian_plus_a_per_channel_constant() -> None:
    from training.losses import offset_noise

    latents = torch.zeros(2, 4, 8, 8)
    noise = offset_noise(latents, 0.1, torch.Generator().manual_seed(7))
    replay = torch.Generator().manual_seed(7)
    base = torch.randn(latents.shape, generator=replay)
    shift = torch.randn((2, 4, 1, 1), generator=replay)
    assert torch.allclose(noise, base + 0.1 * shift)  # kohya: noise + offset · randn(B, C, 1, 1)
    difference = noise - base
    assert torch.allclose(difference, difference[:, :, :1, :1].expand_as(difference), atol=1e-6)
    assert torch.equal(
        offset_noise(latents, 0.0, torch.Generator().manual_seed(7)),
        torch.randn(latents.shape, generator=torch.Generator().manual_seed(7)),
    )


def test_snr_matches_the_formula_and_diffusers() -> None:
    from diffusers.training_utils import compute_snr

    from training.losses import snr

    scheduler = sd15_noise_scheduler()
    timesteps = torch.tensor([0, 1, 10, 250, 500, 999])
    alpha_bar = scheduler.alphas_cumprod[timesteps]
    assert torch.allclose(snr(scheduler.alphas_cumprod, timesteps), alpha_bar / (1 - alpha_bar))
    assert torch.allclose(snr(scheduler.alphas_cumprod, timesteps), compute_snr(scheduler, timesteps), rtol=1e-5)


def test_min_snr_weights() -> None:
    from training.losses import min_snr_weights

    values = torch.tensor([100.0, 5.0, 1.0, 0.01])
    assert torch.allclose(min_snr_weights(values, 5.0), torch.tensor([0.05, 1.0, 1.0, 1.0]))  # min(SNR, γ)/SNR
    assert torch.allclose(min_snr_weights(values, 5.0, "v_prediction"), torch.tensor([5 / 101, 5 / 6, 1 / 2, 0.01 / 1.01]))
    assert torch.equal(min_snr_weights(values, 0.0), torch.ones(4))


def test_diffusion_loss_on_known_inputs() -> None:
    from training.losses import diffusion_loss, snr

    scheduler = sd15_noise_scheduler()
    timesteps = torch.tensor([10, 900])  # a low-noise step (SNR ≫ 5, down-weighted) and a high-noise one (weight 1)
    target = torch.zeros(2, 4, 2, 2)
    prediction = torch.stack([torch.full((4, 2, 2), 1.0), torch.full((4, 2, 2), 2.0)])  # per-sample MSE 1 and 4
    ratio = snr(scheduler.alphas_cumprod, timesteps)
    assert ratio[0] > 5 > ratio[1]
    expected = (1.0 * 5.0 / ratio[0] + 4.0 * 1.0) / 2
    assert torch.isclose(diffusion_loss(prediction, target, timesteps, scheduler.alphas_cumprod, 5.0), expected)
    assert torch.isclose(diffusion_loss(prediction, target, timesteps, scheduler.alphas_cumprod, 0.0), torch.tensor(2.5))


def test_recipe_schedule_has_three_cycles_two_restarts() -> None:
    from diffusers.optimization import get_scheduler

    recipe = load_recipe()
    o = recipe.optimizer
    steps = 6090  # 203 images × 10 repeats × 3 epochs, batch 1
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([{"params": [parameter], "lr": o.unet_lr}], lr=o.learning_rate)
    schedule = get_scheduler(
        o.lr_scheduler,
        optimizer,
        num_warmup_steps=o.lr_warmup_steps,
        num_training_steps=steps,
        num_cycles=o.lr_scheduler_num_cycles,
    )
    rates = []
    for _ in range(steps):
        rates.append(schedule.get_last_lr()[0])
        optimizer.step()
        schedule.step()
    restarts = [i for i in range(1, steps) if rates[i] > rates[i - 1]]
    assert restarts == [2030, 4060]  # one cosine per epoch of 2,030 steps
    assert rates[0] == rates[2030] == rates[4060] == pytest.approx(1e-4)
    assert rates[1015] == pytest.approx(0.5e-4, rel=1e-3) and rates[-1] < 1e-7


def test_epoch_batches_cover_every_sample_and_split_evenly() -> None:
    one = epoch_batches(10, 3, 1, seed=42, epoch=0)
    assert sorted(i for batch in one for i in batch) == list(range(10)) and [len(b) for b in one] == [3, 3, 3, 1]
    assert epoch_batches(10, 3, 1, 42, 0) == one != epoch_batches(10, 3, 1, 42, 1)
    two = epoch_batches(10, 3, 2, 42, 0)
    assert len(two) == 4 and len(two[0::2]) == len(two[1::2])  # same number of steps per process
    three = epoch_batches(10, 4, 2, 42, 0)  # 3 batches for 2 processes: the 4th wraps around
    assert len(three) == 4 and three[3] == three[0]
    assert len({step_seed(42, s, p) for s in range(50) for p in range(4)}) == 200


def test_checkpoint_names_follow_sd_scripts() -> None:
    assert checkpoint_name("bespoke_punks_sd15_512", 1) == "bespoke_punks_sd15_512-000001.safetensors"
    assert checkpoint_name("bespoke_punks_sd15_512", None) == "bespoke_punks_sd15_512.safetensors"


def test_shipped_recipe_is_the_documented_one() -> None:
    recipe = load_recipe(DEFAULT_RECIPE_PATH)
    assert recipe.as_dict() == Recipe(path=Path("built-in")).as_dict()  # one default per key: file == dataclasses
    assert (recipe.network.dim, recipe.network.alpha, recipe.training.epochs, recipe.output.save_every_n_epochs) == (32, 16, 3, 1)
    assert (recipe.optimizer.unet_lr, recipe.optimizer.text_encoder_lr, recipe.optimizer.lr_scheduler_num_cycles) == (
        1e-4,
        5e-5,
        3,
    )
    assert (recipe.training.noise_offset, recipe.training.min_snr_gamma, recipe.dataset.repeats, recipe.dataset.resolution) == (
        0.1,
        5,
        10,
        512,
    )
    assert recipe.training.mixed_precision == "fp16" and recipe.optimizer.type == "AdamW"
    assert recipe.output.name == "bespoke_punks_sd15_512" and len(recipe.samples.prompts) == 4


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[network]\ndimm = 8\n", "unknown key [network].dimm (did you mean 'dim'?)"),
        ("[netwrok]\ndim = 8\n", "unknown section [netwrok] (did you mean 'network'?)"),
        ("[network]\ndim = 'big'\n", "[network].dim must be an integer (got 'big')"),
        ("[training]\nmixed_precision = 'fp8'\n", "[training].mixed_precision must be one of fp16, bf16, no"),
        ("[optimizer]\nlr_scheduler = 'cosine_restarts'\n", "[optimizer].lr_scheduler must be one of"),
        ("[network]\ndim = 0\n", "[network].dim must be > 0"),
        ("[training]\nnoise_offset = -1\n", "[training].noise_offset must be ≥ 0"),
        ("[optimizer]\nunet_lr = 0\ntext_encoder_lr = 0\n", "nothing would train"),
        ("[network\n", "TOML syntax error"),
    ],
)
def test_recipe_mistakes_name_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "recipe.toml"
    path.write_text(text)
    with pytest.raises(UserError) as error:
        load_recipe(path)
    assert fragment in str(error.value) and str(path) in str(error.value)


def test_flags_override_the_file_which_overrides_defaults(tmp_path: Path) -> None:
    path = tmp_path / "recipe.toml"
    path.write_text("[network]\ndim = 64\nalpha = 4\n[training]\nepochs = 5\n")
    recipe = load_recipe(path).override("network", dim=8, alpha=None).override("training", epochs=None)
    assert (recipe.network.dim, recipe.network.alpha, recipe.training.epochs, recipe.training.seed) == (8, 4.0, 5, 42)
