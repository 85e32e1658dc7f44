"""Every token's pixels differ from every other token's and every 1/1's: a property of the collection, enforced with
``[quality].enabled = false`` too (issue 27), where a duplicate is rejected and re-rendered like any other."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import collection_args, edit, manifest_records, refused, run_cli
from PIL import Image

from generator.errors import ExitStatus


def no_quality(config_path: Path) -> None:
    edit(config_path, "enabled = true", "enabled = false")


def test_a_token_that_repeats_a_one_of_ones_pixels_is_rejected_without_the_filter(config_path: Path, tmp_path: Path) -> None:
    no_quality(config_path)
    assert run_cli(*collection_args(config_path, tmp_path / "plain", 10)).exit_code == 0
    shutil.copyfile(tmp_path / "plain" / "images" / "3.png", config_path.parent / "twin.png")
    config_path.write_text(
        config_path.read_text() + '\n[[one_of_one]]\nimage = "twin.png"\nattributes = { Type = "Twin" }\ntoken_id = 11\n'
    )
    out = tmp_path / "out"
    result = run_cli(*collection_args(config_path, out, 11))
    assert result.exit_code == ExitStatus.TOKENS_FAILED, result.output
    token_3 = [line for line in manifest_records(out) if line["token_id"] == 3]
    assert [(line["verdict"], line["reasons"]) for line in token_3] == [("rejected", ["duplicate: same pixels as token 11"])]
    assert (out / "images" / "11.png").is_file() and not (out / "images" / "3.png").exists()
    verify = run_cli("verify", out, "--config", config_path)
    assert "the same image as" not in verify.output
    line = refused("replace", out, 5, "--image", config_path.parent / "twin.png", "--config", config_path)
    assert "shows the same pixels as token 11" in line


def test_generated_twins_are_rejected_without_the_filter(config_path: Path, tmp_path: Path) -> None:
    no_quality(config_path)
    blank = Image.new("RGBA", (24, 24))
    for trait in ("hair", "eyes", "mouth", "accessory"):  # only background and type show: 70 looks for 40 tokens
        for layer in (config_path.parent / "layers" / trait).glob("*.png"):
            blank.save(layer)
    out = tmp_path / "out"
    result = run_cli(*collection_args(config_path, out, 40))
    assert result.exit_code == ExitStatus.TOKENS_FAILED, result.output
    accepted = [line["sha256"] for line in manifest_records(out) if line["verdict"] == "accepted"]
    assert len(accepted) == len(set(accepted)) < 40
    assert any(
        reason.startswith("duplicate: same pixels as token") for line in manifest_records(out) for reason in line["reasons"]
    )
