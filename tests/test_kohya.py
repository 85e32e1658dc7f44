"""training/kohya.py: kohya's default modules and names, state-dict conversion both ways, file format, sd-scripts command."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import REPO, run_cli
from test_dataset import write_originals

from generator.errors import UserError
from training import kohya
from training.config import load_recipe

torch = pytest.importorskip("torch")

PER_TRANSFORMER = {"proj_in", "proj_out", "ff_net_0_proj", "ff_net_2"} | {
    f"{attn}_{proj}" for attn in ("attn1", "attn2") for proj in ("to_q", "to_k", "to_v", "to_out_0")
}
PER_CLIP_LAYER = {"self_attn_q_proj", "self_attn_k_proj", "self_attn_v_proj", "self_attn_out_proj", "mlp_fc1", "mlp_fc2"}


def sd15_shaped_models():
    """SD 1.5's real UNet and CLIP text encoder architectures, on the meta device (no memory, no weights)."""
    from accelerate import init_empty_weights
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    with init_empty_weights():
        unet = UNet2DConditionModel(cross_attention_dim=768)  # the other defaults are SD 1.x's
        config = CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12)
        return unet, CLIPTextModel(config)


def tiny_models(folder: Path):
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", local_files_only=True)
    text_encoder = CLIPTextModel.from_pretrained(folder, subfolder="text_encoder", local_files_only=True)
    return unet, text_encoder


def test_sd15_gets_kohyas_192_unet_and_72_text_encoder_modules() -> None:
    """sd-scripts logs "create LoRA for Text Encoder: 72 modules" and "U-Net: 192 modules" for SD 1.5."""
    names = kohya.kohya_names(*sd15_shaped_models())
    unet = sorted(name for name in names if name.startswith("lora_unet_"))
    text = sorted(name for name in names if name.startswith("lora_te_"))
    assert (len(unet), len(text)) == (192, 72)
    assert "lora_unet_down_blocks_0_attentions_0_proj_in" in unet
    assert "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k" in unet
    assert "lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_ff_net_0_proj" in unet
    assert "lora_te_text_model_encoder_layers_11_self_attn_out_proj" in text  # transformers 5 has no text_model. segment
    blocks = {name.split("_transformer_blocks_")[0].removesuffix("_proj_in").removesuffix("_proj_out") for name in unet}
    assert len(blocks) == 16  # every Transformer2DModel: 6 down, 1 mid, 9 up
    for block in blocks:
        mine = {
            name.removeprefix(block + "_").replace("transformer_blocks_0_", "") for name in unet if name.startswith(block + "_")
        }
        assert mine == PER_TRANSFORMER
    assert {name.split("_", 7)[-1] for name in text} == PER_CLIP_LAYER


def test_tiny_model_has_the_same_module_kinds(tiny_sd_dir: Path) -> None:
    names = kohya.kohya_names(*tiny_models(tiny_sd_dir))
    assert len([n for n in names if n.startswith("lora_unet_")]) == 4 * len(PER_TRANSFORMER)
    assert len([n for n in names if n.startswith("lora_te_")]) == 2 * len(PER_CLIP_LAYER)


def inject(unet, text_encoder, rank: int = 4, alpha: float = 2.0, seed: int = 0):
    from peft import LoraConfig, inject_adapter_in_model

    def config(targets):
        return LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets, init_lora_weights=True)

    unet.add_adapter(config(kohya.target_modules(unet, kohya.UNET_BLOCKS)))
    inject_adapter_in_model(config(kohya.target_modules(text_encoder, kohya.TEXT_ENCODER_BLOCKS)), text_encoder)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for model in (unet, text_encoder):
            for name, parameter in model.named_parameters():
                if "lora_" in name:
                    parameter.copy_(torch.randn(parameter.shape, generator=generator))
    return unet, text_encoder


def test_to_kohya_and_back(tiny_sd_dir: Path) -> None:
    unet, text_encoder = inject(*tiny_models(tiny_sd_dir))
    state = kohya.to_kohya(unet, text_encoder, alpha=2.0, dtype=torch.float32)
    assert kohya.module_names(state) == set(kohya.kohya_names(unet, text_encoder)), "every targeted module, nothing else"
    assert len(state) == 3 * 60
    name = "lora_unet_down_blocks_0_attentions_0_proj_in"  # a 1×1 conv: 4-d tensors, as kohya writes them
    assert state[f"{name}.lora_down.weight"].shape == (4, 32, 1, 1) and state[f"{name}.lora_up.weight"].shape == (32, 4, 1, 1)
    assert state[f"{name}.alpha"].ndim == 0 and float(state[f"{name}.alpha"]) == 2.0  # network_alpha, not the rank
    layer = unet.get_submodule("down_blocks.0.attentions.0.proj_in")
    expected = layer.scaling["default"] * (layer.lora_B["default"].weight.flatten(1) @ layer.lora_A["default"].weight.flatten(1))
    assert torch.allclose(kohya.delta_weight(state, name), expected)

    fresh_unet, fresh_text = inject(*tiny_models(tiny_sd_dir), seed=1)
    assert kohya.load_into(state, fresh_unet, fresh_text) == 60
    again = kohya.to_kohya(fresh_unet, fresh_text, alpha=2.0, dtype=torch.float32)
    assert all(torch.equal(again[key], state[key]) for key in state)


def test_file_format_metadata_and_hashes(tmp_path: Path) -> None:
    state = {
        "lora_unet_a_proj_in.lora_down.weight": torch.ones(2, 3, dtype=torch.float16),
        "lora_unet_a_proj_in.lora_up.weight": torch.ones(3, 2, dtype=torch.float16),
        "lora_unet_a_proj_in.alpha": torch.tensor(16.0, dtype=torch.float16),
    }
    run = kohya.RunFacts(
        base_model="/models/sd15",
        num_train_images=2030,
        num_batches_per_epoch=2030,
        max_train_steps=6090,
        total_batch_size=1,
        mixed_precision="fp16",
    )
    meta = kohya.metadata(load_recipe(), run, epoch=2, steps=4060)
    path = tmp_path / "x.safetensors"
    kohya.save(path, state, meta)
    tensors, read_meta = kohya.read(path)
    assert set(tensors) == set(state)
    assert read_meta["ss_network_dim"] == "32" and float(read_meta["ss_network_alpha"]) == 16.0
    assert (
        read_meta["ss_epoch"] == "2"
        and read_meta["ss_steps"] == "4060"
        and read_meta["ss_lr_scheduler"] == "cosine_with_restarts"
    )
    assert (
        read_meta["ss_noise_offset"] == "0.1"
        and read_meta["ss_min_snr_gamma"] == "5.0"
        and read_meta["ss_mixed_precision"] == "fp16"
    )
    assert read_meta["ss_sd_model_name"] == "sd15" and read_meta["ss_resolution"] == "(512, 512)"
    data = path.read_bytes()
    header = int.from_bytes(data[:8], "little")
    assert read_meta["sshs_model_hash"] == hashlib.sha256(data[8 + header :]).hexdigest()  # the tensor bytes (sd-webui's hash)
    assert all(isinstance(value, str) for value in read_meta.values())


def test_read_refuses_what_is_not_a_kohya_safetensors(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    with pytest.raises(UserError, match=r"only \.safetensors"):
        kohya.read(tmp_path / "lora.ckpt")
    (tmp_path / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(UserError, match="not a valid .safetensors"):
        kohya.read(tmp_path / "broken.safetensors")
    save_file({"unet.down.lora_A.weight": torch.ones(1)}, tmp_path / "peft.safetensors")
    with pytest.raises(UserError, match="is not a kohya LoRA key"):
        kohya.read(tmp_path / "peft.safetensors")


def test_print_kohya_writes_the_sd_scripts_command_and_dataset_toml(tmp_path: Path) -> None:
    write_originals(tmp_path / "src", 2)
    assert run_cli("dataset", tmp_path / "src", tmp_path / "data", "--resolution", 48).exit_code == 0
    out = tmp_path / "out"
    result = run_cli(
        "train",
        "--base",
        "stable-diffusion-v1-5/stable-diffusion-v1-5",
        "--data",
        tmp_path / "data",
        "--out",
        out,
        "--rank",
        64,
        "--print-kohya",
    )
    assert result.exit_code == 0, result.output
    for flag in (
        "train_network.py",
        "--network_module=networks.lora",
        "--network_dim=64",
        "--network_alpha=16",
        "--unet_lr=0.0001",
        "--text_encoder_lr=5e-05",
        "--lr_scheduler=cosine_with_restarts",
        "--lr_scheduler_num_cycles=3",
        "--noise_offset=0.1",
        "--min_snr_gamma=5",
        "--mixed_precision=fp16",
        "--max_train_epochs=3",
        "--save_every_n_epochs=1",
        "--output_name=bespoke_punks_sd15_512",
        "--pretrained_model_name_or_path=stable-diffusion-v1-5/stable-diffusion-v1-5",
    ):
        assert flag in result.output, flag
    config = tomllib.loads((out / "kohya_dataset.toml").read_text())
    assert config["general"]["caption_extension"] == ".txt"  # sd-scripts would look for .caption otherwise
    subset = config["datasets"][0]["subsets"][0]
    assert (subset["num_repeats"], subset["class_tokens"]) == (10, "bespoke punk")
    assert Path(subset["image_dir"]).is_absolute() and Path(subset["image_dir"]).is_dir()
    assert config["datasets"][0]["resolution"] == 512 and not list(out.glob("*.safetensors"))


@pytest.mark.slow
def test_python_m_training_runs_without_importing_torch(tmp_path: Path) -> None:
    """`python -m training` is what `accelerate launch -m training train …` runs; --print-kohya and --help never load torch."""
    write_originals(tmp_path / "src", 1)
    assert run_cli("dataset", tmp_path / "src", tmp_path / "data", "--resolution", 48).exit_code == 0
    probe = (
        "import runpy, sys; sys.argv = ['training', 'train', '--base', 'x/y', '--data', sys.argv[1], '--out', sys.argv[2], '--print-kohya'];"
        'exec(\'try:\\n runpy.run_module("training", run_name="__main__")\\nexcept SystemExit as e:\\n assert not e.code, e.code\');'
        "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules, 'torch imported'; print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "data"), str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stdout + done.stderr
    assert str((tmp_path / "data" / "10_bespoke punk").resolve()) in (tmp_path / "out" / "kohya_dataset.toml").read_text()


def test_save_precision_maps_to_sd_scripts_or_is_refused_never_a_fallback() -> None:
    """A recipe object that never met the schema (a script's) with a precision sd-scripts has no name for is refused
    naming the setting, instead of quietly training in fp16."""
    recipe = load_recipe()
    command = kohya.kohya_command(recipe, "base", Path("out"), Path("data.toml"))
    assert "--save_precision=fp16" in command
    fp32 = recipe.override("output", save_precision="fp32")
    assert "--save_precision=float" in kohya.kohya_command(fp32, "base", Path("out"), Path("data.toml"))
    with pytest.raises(ValueError, match=r"\[output\]\.save_precision"):
        kohya.kohya_command(recipe.override("output", save_precision="bf16"), "base", Path("out"), Path("data.toml"))
