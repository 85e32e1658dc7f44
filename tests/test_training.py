"""`punkgen train` on the tiny SD 1.5-shaped model (CPU, 32 px): recipe-named kohya checkpoints that diffusers loads with
every module attached at the trained strength, evidence files, resume, and a loss that falls when overfitting."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli
from PIL import Image
from test_dataset import punk

from training import kohya
from training.config import load_recipe
from training.dataset import SourceImage, write_dataset
from training.state import STATE_FILE
from training.train_lora import TrainRequest, train

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.slow  # tiny-model runs: seconds each

NAME = "bespoke_punks_sd15_512"
TINY_RECIPE = "[dataset]\nresolution = 32\n\n[samples]\nsteps = 2\n"  # everything else: the shipped recipe
RUN_FLAGS = ("--epochs", 3, "--rank", 4, "--alpha", 2, "--quiet")  # alpha/rank = 0.5, as the recipe's 16/32
STEPS_PER_EPOCH = 6  # 2 images × 3 repeats, batch 1


def two_originals(dst: Path, repeats: int) -> Path:
    sources = [
        SourceImage(
            "a", punk((219, 177, 128)), "pixel art, portrait of bespoke punk, light skin, slate blue background", "txt", "a"
        ),
        SourceImage(
            "b",
            punk((113, 63, 29), (255, 203, 164)),
            "pixel art, portrait of bespoke punk, dark skin, peach background",
            "txt",
            "b",
        ),
    ]
    write_dataset(sources, dst, 32, repeats, "bespoke punk")
    return dst


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from a second thread, and OpenMP threads spin-wait when other processes share the
    2 cores: the same 18-step run took 8 s alone and 42 s beside another test session with 2 threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "tiny.toml"
    path.write_text(TINY_RECIPE)
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_originals(tmp_path_factory.mktemp("data") / "data", repeats=3)


@pytest.fixture(scope="module")
def trained(tiny_sd_dir: Path, data_dir: Path, tiny_recipe: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 3-epoch run through the command line, shared by the checks below."""
    out = tmp_path_factory.mktemp("run") / "out"
    result = run_cli("train", "--base", tiny_sd_dir, "--data", data_dir, "--out", out, "--config", tiny_recipe, *RUN_FLAGS)
    assert result.exit_code == 0, result.output
    assert "epoch 3/3" in result.output and f"final LoRA {out / (NAME + '.safetensors')}" in result.output
    return out


def loss_rows(out: Path) -> list[dict[str, str]]:
    with (out / "loss.csv").open() as stream:
        return list(csv.DictReader(stream))


def test_recipe_named_checkpoints_and_evidence(trained: Path) -> None:
    files = [NAME + "-000001.safetensors", NAME + "-000002.safetensors", NAME + ".safetensors"]
    for epoch, file in enumerate(files, start=1):
        state, meta = kohya.read(trained / file)
        assert (meta["ss_epoch"], meta["ss_steps"]) == (str(epoch), str(epoch * STEPS_PER_EPOCH))
        assert (meta["ss_network_dim"], float(meta["ss_network_alpha"]), meta["ss_num_epochs"]) == ("4", 2.0, "3")
        effective = "fp16" if torch.cuda.is_available() else "no"  # the recipe's fp16 where CUDA is; fp32 on the CPU
        assert meta["ss_mixed_precision"] == effective and meta["ss_num_train_images"] == "6" and meta["ss_output_name"] == NAME
        assert all(tensor.dtype == torch.float16 for tensor in state.values())  # [output].save_precision
        assert all(float(state[key]) == 2.0 for key in state if key.endswith(".alpha"))
    rows = loss_rows(trained)
    assert [int(row["step"]) for row in rows] == list(range(1, 19)) and {row["epoch"] for row in rows} == {"1", "2", "3"}
    rates = [float(row["lr_unet"]) for row in rows]
    assert [i for i in range(1, 18) if rates[i] > rates[i - 1]] == [6, 12]  # 3 cosine cycles: two restarts
    assert float(rows[0]["lr_unet"]) == pytest.approx(1e-4, rel=1e-3) and float(rows[6]["lr_text_encoder"]) == pytest.approx(
        5e-5, rel=1e-3
    )
    for epoch in (1, 2, 3):
        assert Image.open(trained / f"samples-{epoch:06d}.png").size == (
            4 * 32,
            2 * 32 + 16,
        )  # 4 prompts: render + 24×24 reduction
    assert Image.open(trained / "loss.png").size == (900, 420)
    assert (trained / "run.json").is_file() and (trained / STATE_FILE).is_file()


def test_diffusers_loads_every_module_at_the_trained_strength(trained: Path, tiny_sd_dir: Path) -> None:
    """The key round trip: the epoch-2 file (what [model].lora points at) in a StableDiffusionPipeline via load_lora_weights."""
    from diffusers import StableDiffusionPipeline
    from peft.tuners.lora import LoraLayer

    path = trained / f"{NAME}-000002.safetensors"
    state, _ = kohya.read(path)
    in_file = kohya.module_names(state)
    pipe = StableDiffusionPipeline.from_pretrained(tiny_sd_dir, local_files_only=True, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)

    def render() -> np.ndarray:
        generator = torch.Generator().manual_seed(3)
        return pipe(
            "pixel art, portrait of bespoke punk",
            height=32,
            width=32,
            num_inference_steps=2,
            generator=generator,
            output_type="np",
        ).images[0]

    before = render()
    pipe.load_lora_weights(str(path), adapter_name="punks")
    attached = {
        (component, name): module
        for component, model in (("unet", pipe.unet), ("text_encoder", pipe.text_encoder))
        for name, module in model.named_modules()
        if isinstance(module, LoraLayer)
    }
    assert len(attached) == len(in_file) == 60  # 48 UNet + 12 text encoder: every module in the file attached, no other
    where = kohya.kohya_names(pipe.unet, pipe.text_encoder)
    assert {where[name] for name in in_file} == set(attached)
    for name in in_file:
        layer = attached[where[name]]
        assert torch.equal(layer.lora_A["punks"].weight, state[f"{name}.lora_down.weight"].float())
        assert torch.equal(layer.lora_B["punks"].weight, state[f"{name}.lora_up.weight"].float())
        assert layer.scaling["punks"] == pytest.approx(0.5)  # alpha/rank = 2/4, not 1 (the alpha = rank pitfall)
        effective = layer.scaling["punks"] * (layer.lora_B["punks"].weight.flatten(1) @ layer.lora_A["punks"].weight.flatten(1))
        assert torch.allclose(effective, kohya.delta_weight(state, name))
    assert np.abs(render() - before).max() > 1e-4, "the LoRA must change the render"


def test_checkpoint_reproduces_the_trained_weights(trained: Path) -> None:
    """The final file against the fp32 LoRA weights the run ended with (kept in the resume state)."""
    from safetensors.torch import load_file

    final, _ = kohya.read(trained / f"{NAME}.safetensors")
    trained_state = load_file(trained / STATE_FILE)
    lora = {key.removeprefix("lora/"): value for key, value in trained_state.items() if key.startswith("lora/")}
    assert len(lora) == 2 * 60
    for key, value in lora.items():
        component, parameter = key.split("/", 1)
        module, which = parameter.rsplit(".lora_", 1)
        prefix, path = ("lora_unet", module) if component == "unet" else ("lora_te", f"text_model.{module}")
        name = kohya.kohya_name(prefix, path)
        suffix = ".lora_down.weight" if which.startswith("A.") else ".lora_up.weight"
        assert torch.equal(final[name + suffix], value.half())
    name = "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k"
    down = lora["unet/mid_block.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.default.weight"]
    up = lora["unet/mid_block.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.default.weight"]
    assert up.abs().max() > 0, "the up weights start at zero: training must have moved them"
    assert torch.allclose(kohya.delta_weight(final, name), 0.5 * up @ down, rtol=2e-2, atol=1e-6)


def test_resume_continues_the_step_count(
    trained: Path, tiny_sd_dir: Path, data_dir: Path, tiny_recipe: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    recipe = load_recipe(tiny_recipe).override("training", epochs=3).override("network", dim=4, alpha=2)

    def interrupt(report) -> None:
        if report.epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(TrainRequest(str(tiny_sd_dir), data_dir, out, recipe, progress=False), on_epoch=interrupt)
    assert (out / f"{NAME}-000001.safetensors").is_file() and not (out / f"{NAME}-000002.safetensors").exists()

    refused = run_cli("train", "--base", tiny_sd_dir, "--data", data_dir, "--out", out, "--config", tiny_recipe, *RUN_FLAGS)
    assert refused.exit_code == 2 and "--resume to continue it or --force" in refused.output
    changed = run_cli(
        "train",
        "--base",
        tiny_sd_dir,
        "--data",
        data_dir,
        "--out",
        out,
        "--config",
        tiny_recipe,
        *RUN_FLAGS,
        "--rank",
        8,
        "--resume",
    )
    assert changed.exit_code == 2 and "[network].dim (--rank) is 8 now but was 4" in changed.output

    result = run_cli(
        "train", "--base", tiny_sd_dir, "--data", data_dir, "--out", out, "--config", tiny_recipe, *RUN_FLAGS, "--resume"
    )
    assert result.exit_code == 0, result.output
    assert "epoch 1/3" not in result.output and "epoch 2/3" in result.output and result.output.count("steps in") == 1
    assert f"{2 * STEPS_PER_EPOCH} steps in" in result.output
    assert loss_rows(out) == loss_rows(trained), "same steps, same losses as the uninterrupted run"
    resumed, meta = kohya.read(out / f"{NAME}.safetensors")
    uninterrupted, _ = kohya.read(trained / f"{NAME}.safetensors")
    assert meta["ss_steps"] == str(3 * STEPS_PER_EPOCH)
    assert all(torch.equal(resumed[key], uninterrupted[key]) for key in uninterrupted)
    finished = run_cli(
        "train", "--base", tiny_sd_dir, "--data", data_dir, "--out", out, "--config", tiny_recipe, *RUN_FLAGS, "--resume"
    )
    assert finished.exit_code == 2 and "already finished" in finished.output


def test_overfitting_two_images_lowers_the_loss(tiny_sd_dir: Path, tmp_path: Path) -> None:
    """On fixed (noise, timestep) draws, the trained LoRA predicts the noise of its two images better than the base."""
    from diffusers import StableDiffusionPipeline

    data = two_originals(tmp_path / "data", repeats=20)
    recipe = (
        load_recipe()
        .override("dataset", resolution=32)
        .override("training", epochs=1)
        .override("network", dim=8, alpha=8)
        .override("optimizer", unet_lr=3e-3, text_encoder_lr=3e-3, lr_scheduler="constant")
        .override("samples", every_n_epochs=0)
    )
    summary = train(TrainRequest(str(tiny_sd_dir), data, tmp_path / "out", recipe, progress=False))
    assert summary.steps == 40
    losses = [float(row["loss"]) for row in loss_rows(tmp_path / "out")]
    assert np.mean(losses[-10:]) < np.mean(losses[:10])

    pipe = StableDiffusionPipeline.from_pretrained(tiny_sd_dir, local_files_only=True, use_safetensors=True)
    images = sorted((data / "20_bespoke punk").glob("*.png"))
    pixels = torch.stack(
        [torch.from_numpy(np.asarray(Image.open(p).convert("RGB"), np.float32) / 127.5 - 1).permute(2, 0, 1) for p in images]
    )
    ids = pipe.tokenizer(
        [p.with_suffix(".txt").read_text().strip() for p in images],
        padding="max_length",
        max_length=77,
        truncation=True,
        return_tensors="pt",
    ).input_ids

    def evaluation_loss() -> float:
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            latents = pipe.vae.encode(pixels).latent_dist.mean * pipe.vae.config.scaling_factor
            hidden = pipe.text_encoder(ids)[0]
            losses = []
            for _ in range(16):
                noise = torch.randn(latents.shape, generator=generator)
                timesteps = torch.randint(0, 1000, (len(images),), generator=generator)
                prediction = pipe.unet(pipe.scheduler.add_noise(latents, noise, timesteps), timesteps, hidden).sample
                losses.append(torch.nn.functional.mse_loss(prediction, noise).item())
        return float(np.mean(losses))

    base = evaluation_loss()
    pipe.load_lora_weights(str(tmp_path / "out" / f"{NAME}.safetensors"))
    assert evaluation_loss() < 0.9 * base


def test_max_steps_stops_mid_epoch_with_a_final_checkpoint(
    tiny_sd_dir: Path, data_dir: Path, tiny_recipe: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "train",
        "--base",
        tiny_sd_dir,
        "--data",
        data_dir,
        "--out",
        out,
        "--config",
        tiny_recipe,
        *RUN_FLAGS,
        "--max-steps",
        4,
        "--no-samples",
    )
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.glob("*.safetensors")) == [f"{NAME}.safetensors", STATE_FILE]
    _, meta = kohya.read(out / f"{NAME}.safetensors")
    assert (meta["ss_epoch"], meta["ss_steps"], meta["ss_max_train_steps"]) == ("1", "4", "4")
    rates = [float(row["lr_unet"]) for row in loss_rows(out)]
    assert len(rates) == 4 and rates[0] == pytest.approx(1e-4) and rates[3] > rates[2]  # 3 cycles over the 4 steps


def test_two_processes_share_the_epoch(tiny_sd_dir: Path, data_dir: Path, tiny_recipe: Path, tmp_path: Path) -> None:
    """The multi-GPU path on CPU: torchrun + gloo is what `accelerate launch -m training train` does on several GPUs.

    Each process takes every other batch (3 steps per epoch instead of 6), the models are DDP-wrapped,
    the loss is gathered, and only the main process writes files and prints.
    """
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(29500 + os.getpid() % 1000),
        "-m",
        "training",
        "train",
        "--base",
        str(tiny_sd_dir),
        "--data",
        str(data_dir),
        "--out",
        str(out),
        "--config",
        str(tiny_recipe),
        "--epochs",
        "2",
        "--rank",
        "4",
        "--alpha",
        "2",
        "--quiet",
        "--no-samples",
    ]
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.stdout.count("steps in") == 1 and done.stderr.count("epoch 2/2") == 1, (
        done.stdout + done.stderr
    )  # --quiet: epochs on stderr
    assert [int(row["step"]) for row in loss_rows(out)] == list(range(1, 7))
    state, meta = kohya.read(out / f"{NAME}.safetensors")
    assert meta["ss_steps"] == "6" and meta["ss_total_batch_size"] == "2" and len(kohya.module_names(state)) == 60


def test_train_mistakes_are_one_line(tiny_sd_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    def refused(*args: object) -> str:
        result = run_cli("train", *args)
        assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
        return result.output

    assert "no diffusers model folder" in refused("--base", tmp_path / "nope", "--data", data_dir, "--out", tmp_path / "o")
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert "single-file checkpoint" in refused(
        "--base", tmp_path / "model.safetensors", "--data", data_dir, "--out", tmp_path / "o"
    )
    assert "build one with `punkgen dataset" in refused("--base", tiny_sd_dir, "--data", tmp_path, "--out", tmp_path / "o")
    assert "this is a subset folder" in refused(
        "--base", tiny_sd_dir, "--data", data_dir / "3_bespoke punk", "--out", tmp_path / "o"
    )
    assert "--resume: " in refused("--base", tiny_sd_dir, "--data", data_dir, "--out", tmp_path / "fresh", "--resume")
    assert not (tmp_path / "o").exists() and not (tmp_path / "fresh").exists()


def test_bf16_mixed_precision_path(tiny_sd_dir: Path, data_dir: Path, tiny_recipe: Path, tmp_path: Path) -> None:
    """The low-precision path the GPU recipe takes (base weights in 16 bit, fp32 LoRA master weights, autocast, samples),
    run on CPU with bf16; fp16 itself needs CUDA, where the same code adds the loss scaler."""
    recipe = load_recipe(tiny_recipe).override("training", epochs=1, mixed_precision="bf16").override("network", dim=4, alpha=2)
    summary = train(TrainRequest(str(tiny_sd_dir), data_dir, tmp_path / "out", recipe, progress=False))
    assert summary.mixed_precision == "bf16" and summary.steps == STEPS_PER_EPOCH
    state, meta = kohya.read(tmp_path / "out" / f"{NAME}.safetensors")
    assert meta["ss_mixed_precision"] == "bf16" and all(torch.isfinite(tensor).all() for tensor in state.values())
    assert any(state[key].abs().max() > 0 for key in state if key.endswith(".lora_up.weight"))
    assert (tmp_path / "out" / "samples-000001.png").is_file()
