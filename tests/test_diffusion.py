"""The diffusion backend on a tiny SD-1.5-shaped model: the real loading, LoRA and rendering code, offline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import collection_args, edit, folder_bytes, run_cli
from PIL import Image
from safetensors.torch import save_file

from generator.config import load_config
from generator.errors import ExitStatus, UserError
from generator.render import RenderJob
from generator.render.a1111 import read_infotext
from generator.render.diffusion import create, lora_modules
from training.kohya import kohya_names

pytestmark = pytest.mark.slow
RANK = 4


def write_kohya_lora(model_dir: Path, path: Path, keep: float = 1.0, seed: int = 0) -> Path:
    """Random non-zero kohya LoRA for every module kohya targets in the tiny model (``keep`` < 1 drops some)."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    unet = UNet2DConditionModel.from_pretrained(model_dir, subfolder="unet")
    text_encoder = CLIPTextModel.from_pretrained(model_dir, subfolder="text_encoder")
    generator = torch.Generator().manual_seed(seed)
    state = {}
    names = sorted(kohya_names(unet, text_encoder).items())
    for name, (component, module_path) in names[: max(1, int(len(names) * keep))]:
        module = (unet if component == "unet" else text_encoder).get_submodule(module_path)
        weight = module.weight
        down_shape = (RANK, weight.shape[1], *weight.shape[2:])
        up_shape = (weight.shape[0], RANK, *([1] * (weight.dim() - 2)))
        state[f"{name}.lora_down.weight"] = torch.randn(down_shape, generator=generator) * 0.5
        state[f"{name}.lora_up.weight"] = torch.randn(up_shape, generator=generator) * 0.5
        state[f"{name}.alpha"] = torch.tensor(RANK / 2)
    save_file(state, str(path))
    return path


@pytest.fixture(scope="module")
def lora_file(tiny_sd_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_kohya_lora(tiny_sd_dir, tmp_path_factory.mktemp("lora") / "punks.safetensors")


@pytest.fixture
def diffusion_config(config_path: Path, tiny_sd_dir: Path, lora_file: Path) -> Path:
    """The shipped config, pointed at the tiny model, at 64 px and 2 steps, one CPU thread (bit-exact)."""
    text = config_path.read_text()
    text = text.replace('base = "stable-diffusion-v1-5/stable-diffusion-v1-5"', f'base = "{tiny_sd_dir}"')
    text = text.replace('lora = "../models/bespoke_punks_sd15_512-000002.safetensors"', f'lora = "{lora_file}"')
    for old, new in [
        ("batch_size = 8", "batch_size = 2\nthreads = 1"),
        ("width = 512", "width = 64"),
        ("height = 512", "height = 64"),
    ]:
        text = text.replace(old, new)
    text = text.replace("steps = 30", "steps = 2").replace('device = "auto"', 'device = "cpu"')
    config_path.write_text(text)
    return config_path


def jobs(count: int = 2) -> list[RenderJob]:
    return [RenderJob(n, (0, 0, 0, 0, 0, 0), f"pixel art punk {n}", "blurry", 1000 + n) for n in range(count)]


def renderer(config_path: Path, **model):
    return create(load_config(config_path).override("model", **model), [])


def test_renders_batches_deterministically(diffusion_config: Path) -> None:
    first = renderer(diffusion_config)
    images = first.render(jobs())
    assert images.shape == (2, 64, 64, 3) and images.dtype == np.uint8
    assert images.std() > 1, "a real render, not a blank"
    assert np.array_equal(images, first.render(jobs())), "same seeds, same images"
    assert not np.array_equal(images[0], images[1]), "each image has its own seed"


def test_every_module_of_the_lora_attaches_and_changes_the_output(diffusion_config: Path, lora_file: Path) -> None:
    unfused = renderer(diffusion_config, fuse_lora=False)
    from peft.tuners.lora import LoraLayer

    attached = sum(isinstance(m, LoraLayer) for c in (unfused.pipe.unet, unfused.pipe.text_encoder) for m in c.modules())
    assert attached == sum(len(names) for names in lora_modules(lora_file).values()) > 0
    with_lora = unfused.render(jobs())
    without = renderer(diffusion_config, lora="").render(jobs())
    assert np.abs(with_lora.astype(int) - without).mean() > 1


def test_fusing_drops_the_wrappers_and_keeps_the_output(diffusion_config: Path) -> None:
    fused = renderer(diffusion_config)
    from peft.tuners.lora import LoraLayer

    assert not any(isinstance(m, LoraLayer) for m in fused.pipe.unet.modules())
    difference = np.abs(fused.render(jobs()).astype(int) - renderer(diffusion_config, fuse_lora=False).render(jobs()))
    assert difference.max() <= 1, "fused equals unfused within one uint8 level"


def test_lora_scale_zero_equals_no_lora(diffusion_config: Path) -> None:
    assert np.array_equal(
        renderer(diffusion_config, lora_scale=0.0).render(jobs()), renderer(diffusion_config, lora="").render(jobs())
    )


def test_a_lora_for_another_model_is_refused(diffusion_config: Path, tmp_path: Path) -> None:
    alien = tmp_path / "sdxl.safetensors"
    save_file(
        {
            "lora_unet_input_blocks_4_1_proj_in.lora_down.weight": torch.ones(4, 320),
            "lora_unet_input_blocks_4_1_proj_in.lora_up.weight": torch.ones(320, 4),
        },
        str(alien),
    )
    with pytest.raises(UserError, match=r"only 0 of 1 LoRA modules matched the model"):
        renderer(diffusion_config, lora=str(alien))


def test_a_partly_matching_lora_is_refused_with_counts(diffusion_config: Path, tiny_sd_dir: Path, tmp_path: Path) -> None:
    partial = write_kohya_lora(tiny_sd_dir, tmp_path / "partial.safetensors")
    from safetensors.torch import load_file

    state = load_file(str(partial))
    state["lora_unet_no_such_block_proj_in.lora_down.weight"] = torch.ones(RANK, 8)
    state["lora_unet_no_such_block_proj_in.lora_up.weight"] = torch.ones(8, RANK)
    save_file(state, str(partial))
    total = sum(len(names) for names in lora_modules(partial).values())
    with pytest.raises(UserError, match=rf"only {total - 1} of {total} LoRA modules matched"):
        renderer(diffusion_config, lora=str(partial))


def test_a_pickle_lora_is_refused_unread(diffusion_config: Path, tmp_path: Path) -> None:
    pickle = tmp_path / "lora.ckpt"
    pickle.write_bytes(b"\x80\x04not even read")
    with pytest.raises(UserError, match=r"lora.ckpt: .ckpt files are pickles and loading one runs arbitrary code"):
        renderer(diffusion_config, lora=str(pickle))


def test_missing_model_names_every_place_looked(config_path: Path, tmp_path: Path) -> None:
    result = run_cli(
        *collection_args(config_path, tmp_path / "out", 2), "--backend", "diffusion", "--model", "someone/missing-model"
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "base model 'someone/missing-model' not found (looked in" in result.output
    assert "models--someone--missing-model" in result.output and "--allow-download" in result.output
    assert not (tmp_path / "out").exists()


def test_missing_lora_file(diffusion_config: Path, tmp_path: Path) -> None:
    result = run_cli(
        *collection_args(diffusion_config, tmp_path / "out", 2), "--backend", "diffusion", "--lora", tmp_path / "gone.safetensors"
    )
    assert result.exit_code == 2 and "gone.safetensors: LoRA not found" in result.output


def test_collection_with_the_diffusion_backend_resumes_byte_identical(diffusion_config: Path, tmp_path: Path) -> None:
    args = ["--backend", "diffusion", "--no-filter"]
    whole = run_cli(*collection_args(diffusion_config, tmp_path / "whole", 5), *args)
    assert whole.exit_code == 0, whole.output
    assert "5 of 5 tokens" in whole.output and "with diffusion" in whole.output
    cut = tmp_path / "cut"
    assert run_cli(*collection_args(diffusion_config, cut, 5), *args).exit_code == 0
    lines = (cut / "manifest.jsonl").read_text().splitlines(keepends=True)
    (cut / "manifest.jsonl").write_text("".join(lines[:2]) + lines[2][:20])  # torn inside block 2 (tokens 3, 4)
    (cut / "contact_sheet.png").unlink()
    assert run_cli(*collection_args(diffusion_config, cut, 5), *args).exit_code == 0
    assert folder_bytes(cut) == folder_bytes(tmp_path / "whole")
    record = json.loads(lines[0])
    assert record["prompt"].startswith("pixel art, portrait of bespoke punk") and record["seed"] > 0


def test_the_quality_filter_rejects_an_untrained_models_renders(diffusion_config: Path, tmp_path: Path) -> None:
    edit(diffusion_config, "max_attempts = 4", "max_attempts = 2")
    result = run_cli(*collection_args(diffusion_config, tmp_path / "out", 2), "--backend", "diffusion")
    assert result.exit_code == ExitStatus.TOKENS_FAILED, result.output
    assert "0 of 2 tokens" in result.output and "incomplete: 2 tokens failed after 2 attempts (1, 2)" in result.output
    assert len(list((tmp_path / "out" / "rejected").iterdir())) == 4
    record = json.loads((tmp_path / "out" / "manifest.jsonl").read_text().splitlines()[-1])  # token 2, attempt 1
    kept = Image.open(tmp_path / "out" / "rejected" / "2-1.png")  # reproducible in AUTOMATIC1111 or ComfyUI
    said = read_infotext(kept.info["parameters"])
    assert (said.prompt, said.negative_prompt, said.seed) == (record["prompt"], record["negative_prompt"], record["seed"])
    assert f"Size: {kept.width}x{kept.height}, " in kept.info["parameters"]


def test_hybrid_shares_one_copy_of_the_weights_and_renders_a_collection(diffusion_config: Path, tmp_path: Path) -> None:
    from generator.plan.traits import load_traits
    from generator.render.hybrid import create as create_hybrid

    config = load_config(diffusion_config)
    hybrid = create_hybrid(config, load_traits(config))
    for name in ("unet", "vae", "text_encoder"):
        assert getattr(hybrid.img2img, name) is getattr(hybrid.diffusion.pipe, name)
    pointers = {p.data_ptr() for p in hybrid.diffusion.pipe.unet.parameters()}
    assert pointers == {p.data_ptr() for p in hybrid.img2img.unet.parameters()}, "one copy of the weights"
    result = run_cli(*collection_args(diffusion_config, tmp_path / "out", 4), "--backend", "hybrid", "--no-filter")
    assert result.exit_code == 0, result.output
    assert "4 of 4 tokens" in result.output and "with hybrid" in result.output
    assert len(list((tmp_path / "out" / "metadata").iterdir())) == 4


def test_hybrid_runs_strength_times_steps_denoising_steps(diffusion_config: Path) -> None:
    """img2img from the sketch skips the first (1 − strength) of the schedule: that is hybrid's speed-up."""
    from generator.plan.traits import load_traits
    from generator.render.hybrid import create as create_hybrid

    config = load_config(diffusion_config).override("render", steps=8)
    calls = []

    def count(config, backend: str) -> int:
        renderer = create_hybrid(config, load_traits(config)) if backend == "hybrid" else create(config, [])
        pipe = renderer.diffusion.pipe if backend == "hybrid" else renderer.pipe
        handle = pipe.unet.register_forward_hook(lambda *_: calls.append(1))
        calls.clear()
        renderer.render([RenderJob(1, (0, 0, 0, 0, 0, 0), "pixel art punk", "", 5)])
        handle.remove()
        return len(calls)

    assert count(config, "diffusion") == 8
    assert count(config.override("render", strength=0.5), "hybrid") == 4
    assert count(config.override("render", strength=0.25), "hybrid") == 2


def test_a_hybrid_run_with_no_denoising_step_left_is_refused(diffusion_config: Path, tmp_path: Path) -> None:
    """strength 0.5 × 1 step is 0 img2img steps: one line before any weight loads, not a tensor-shape traceback."""
    result = run_cli(*collection_args(diffusion_config, tmp_path / "out", 2), "--backend", "hybrid", "--steps", "1")
    assert result.exit_code == 2
    assert "[render].strength 0.5 × steps 1 leaves the hybrid backend no denoising step; use at least 2 steps" in result.output
    assert not (tmp_path / "out").exists()


def test_two_processes_render_what_one_renders(diffusion_config: Path, tmp_path: Path) -> None:
    """Blocks are dealt round-robin; retries and the merge keep the single-process order, file for file."""
    from test_collection import torchrun

    edit(diffusion_config, "max_attempts = 4", "max_attempts = 2")
    args = ["--backend", "diffusion"]  # the filter on: every render of an untrained model is rejected and retried
    assert run_cli(*collection_args(diffusion_config, tmp_path / "one", 5), *args).exit_code == ExitStatus.TOKENS_FAILED
    done = torchrun(*collection_args(diffusion_config, tmp_path / "two", 5), *args)
    assert done.returncode != 0 and done.stdout.count("incomplete: 5 tokens failed") == 1, done.stderr[-3000:]  # torchrun: 1
    assert folder_bytes(tmp_path / "two") == folder_bytes(tmp_path / "one")


def test_a_lora_of_the_wrong_shape_is_refused(diffusion_config: Path, lora_file: Path, tmp_path: Path) -> None:
    """Right module names, wrong rank-by-width shapes (another model size): the same one-line refusal."""
    from safetensors.torch import load_file

    state = load_file(str(lora_file))
    name = sorted(key for key in state if key.endswith(".lora_down.weight"))[0]
    state[name] = torch.ones(RANK, state[name].shape[1] + 3, *state[name].shape[2:])
    save_file(state, str(tmp_path / "wrong.safetensors"))
    result = run_cli(
        *collection_args(diffusion_config, tmp_path / "out", 2),
        "--backend",
        "diffusion",
        "--lora",
        tmp_path / "wrong.safetensors",
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "LoRA modules matched the model" in result.output and "wrong.safetensors" in result.output


def test_auto_picks_diffusion_when_model_and_lora_are_here(diffusion_config: Path, tmp_path: Path) -> None:
    args = collection_args(diffusion_config, tmp_path / "out", 2)
    args[args.index("--backend") + 1] = "auto"
    result = run_cli(*args, "--no-filter")
    assert result.exit_code == 0, result.output
    assert "with diffusion" in result.output and "backend auto → sprites" not in result.output
