"""End to end through the CLI: the collection folder, determinism, resume, and refusing the wrong folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, collection_args, edit, folder_bytes, run_cli, run_importing_none_of
from PIL import Image

from generator.plan.metadata import validate_token
from generator.run.sheet import GAP_COLOUR, contact_sheet
from generator.workers import POOL_THRESHOLD


def make(config_path: Path, out: Path, n: int = 30, *extra: object) -> str:
    result = run_cli(*collection_args(config_path, out, n, *extra))
    assert result.exit_code == 0, result.output
    return result.output


def test_collection_folder(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 30)
    assert sorted(p.name for p in out.iterdir()) == ["contact_sheet.png", "images", "manifest.jsonl", "metadata", "run.json"]
    images = sorted(out.glob("images/*.png"), key=lambda p: int(p.stem))
    assert [p.stem for p in images] == [str(i) for i in range(1, 31)]
    pixels = set()
    for path in images:
        with Image.open(path) as image:
            assert image.size == (24, 24)
            pixels.add(image.tobytes())
    assert len(pixels) == 30, "every token looks different"
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["token_id"] for r in records] == list(range(1, 31))
    assert records[0]["prompt"].startswith("pixel art, portrait of bespoke punk, ")
    assert ", ," not in "".join(r["prompt"] for r in records)
    assert len({tuple(r["traits"].values()) for r in records}) == 30
    with Image.open(out / "contact_sheet.png") as sheet:
        assert sheet.size == ((6 * 25 + 1) * 8, (5 * 25 + 1) * 8)  # 6×5 tiles of 24 px + 1 px gaps, at 8×
        shown = np.asarray(sheet.convert("RGB"))[8::8, 8::8]  # back at 1×, gaps included
    for n, path in enumerate(images):
        row, column = divmod(n, 6)
        with Image.open(path) as image:
            assert np.array_equal(
                shown[row * 25 : row * 25 + 24, column * 25 : column * 25 + 24], np.asarray(image.convert("RGB"))
            )


def test_a_contact_sheet_of_more_than_256_colours_keeps_every_colour() -> None:
    tiles = list(np.random.default_rng(0).integers(0, 256, (3, 24, 24, 3), dtype=np.uint8))  # ~1,700 colours
    sheet = contact_sheet([*tiles[:2], None, tiles[2]])  # 2×2 tiles
    shown = np.asarray(sheet.convert("RGB"))[:: sheet.width // 51, :: sheet.width // 51]
    assert sheet.mode == "RGB" and np.array_equal(shown[1:25, 26:50], tiles[1]) and np.array_equal(shown[26:50, 26:50], tiles[2])
    assert (shown[26:50, 1:25] == GAP_COLOUR).all()  # the missing token's tile stays dark


def test_metadata_matches_the_manifest_and_schema(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 30)
    records = {json.loads(line)["token_id"]: json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()}
    for token_id, record in records.items():
        document = json.loads((out / "metadata" / f"{token_id}.json").read_text())
        validate_token(document)
        assert document["name"] == f"Bespoke Punks #{token_id}"
        assert document["image"] == f"ipfs://REPLACE_WITH_CID/{token_id}.png"
        claimed = [(a["trait_type"], a["value"]) for a in document["attributes"]]
        expected = [(key.title(), value) for key, value in record["traits"].items() if value != "None"]
        assert claimed == expected


def test_none_values_are_left_out_of_attributes(config_path: Path, tmp_path: Path) -> None:
    (config_path.parent / "accessory.csv").write_text("value,weight,prompt\nNone,1,\n")
    edit(config_path, "[[rules]]", "[[rules_off]]")
    config_path.write_text(
        config_path.read_text().split("[[rules_off]]")[0] + "[prompt]" + config_path.read_text().split("[prompt]")[1]
    )
    out = tmp_path / "out"
    make(config_path, out, 5)
    document = json.loads((out / "metadata" / "1.json").read_text())
    assert [a["trait_type"] for a in document["attributes"]] == ["Background", "Type", "Hair", "Eyes", "Mouth"]


def test_schema_rejects_broken_metadata() -> None:
    with pytest.raises(ValueError, match=r"breaks token.schema.json: attributes\[0\]: .value. is a required property"):
        validate_token({"name": "x", "description": "", "image": "ipfs://x/1.png", "attributes": [{"trait_type": "Hair"}]})


def test_same_seed_is_byte_identical_other_seed_differs(config_path: Path, tmp_path: Path) -> None:
    make(config_path, tmp_path / "a", 25, "--seed", 7)
    make(config_path, tmp_path / "b", 25, "--seed", 7, "--batch-size", 3)
    make(config_path, tmp_path / "c", 25, "--seed", 8)
    a, b, c = (folder_bytes(tmp_path / name) for name in "abc")
    assert a == b
    assert a["images/1.png"] != c["images/1.png"] or a["metadata/1.json"] != c["metadata/1.json"]
    assert a["manifest.jsonl"] != c["manifest.jsonl"]


def test_flags_override_the_config(config_path: Path, tmp_path: Path) -> None:
    edit(config_path, "size = 100", "size = 7")
    # a base model no machine has (a GPU machine's hub cache may well hold SD 1.5), so auto must fall back
    edit(config_path, 'base = "stable-diffusion-v1-5/stable-diffusion-v1-5"', 'base = "no-such-folder/no-such-model"')
    make_default = run_cli("collection", "--config", config_path, "--out", tmp_path / "a", "--quiet")
    assert make_default.exit_code == 0
    assert len(list((tmp_path / "a" / "images").iterdir())) == 7  # [collection].size
    assert "backend auto → sprites: no base model" in make_default.output  # [render].backend = auto, no model here
    make(config_path, tmp_path / "b", 9)
    assert len(list((tmp_path / "b" / "images").iterdir())) == 9  # -n beats the config


def test_resume_after_an_interruption_is_byte_identical(config_path: Path, tmp_path: Path) -> None:
    make(config_path, tmp_path / "whole", 40)
    out = tmp_path / "cut"
    make(config_path, out, 40)
    # simulate a kill mid-run: the last 15 tokens gone, a torn manifest line, files staged but never renamed
    lines = (out / "manifest.jsonl").read_text().splitlines(keepends=True)
    (out / "manifest.jsonl").write_text("".join(lines[:25]) + lines[25][:37])
    for token_id in range(27, 41):
        (out / "images" / f"{token_id}.png").unlink()
        (out / "metadata" / f"{token_id}.json").unlink()
    (out / "images" / ".26.png.4242.partial").write_bytes(b"half a png")
    (out / "contact_sheet.png").unlink()
    output = make(config_path, out, 40)
    assert "40 of 40 tokens" in output and "(15 renders with sprites, 25 already done)" in output
    assert folder_bytes(out) == folder_bytes(tmp_path / "whole")


def test_a_finished_folder_reruns_as_a_no_op(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 12)
    before = folder_bytes(out)
    assert f"nothing new to render: {out} is finished, 12 of 12 tokens done" in make(config_path, out, 12)
    assert folder_bytes(out) == before


@pytest.mark.parametrize(("n", "extra"), [(12, ("--seed", 9)), (13, ())])
def test_a_different_run_in_the_same_folder_is_refused(config_path: Path, tmp_path: Path, n: int, extra: tuple) -> None:
    out = tmp_path / "out"
    make(config_path, out, 12)
    before = folder_bytes(out)
    result = run_cli(*collection_args(config_path, out, n, *extra))
    assert result.exit_code == 2
    assert "holds a different collection" in result.output and "--force" in result.output
    assert folder_bytes(out) == before
    assert run_cli(*collection_args(config_path, out, n, *extra, "--force")).exit_code == 0
    assert folder_bytes(out) != before


def test_an_edited_trait_table_is_a_different_run(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 12)
    edit(config_path.parent / "eyes.csv", "Brown,30,", "Brown,31,")
    result = run_cli(*collection_args(config_path, out, 12))
    assert result.exit_code == 2 and "holds a different collection" in result.output


@pytest.mark.parametrize("force", [(), ("--force",)])
def test_a_foreign_folder_is_refused_even_with_force(config_path: Path, tmp_path: Path, force: tuple) -> None:
    out = tmp_path / "out"
    for name in ("images/mine.png", "metadata/1.json", "export/keep.txt", "index.html", "notes.txt"):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(f"the user's {name}")
    before = folder_bytes(out)
    result = run_cli(*collection_args(config_path, out, 5, *force))
    assert result.exit_code == 2
    assert "holds files punkgen did not write (export, images, index.html, …)" in result.output
    assert "choose another --out" in result.output
    assert folder_bytes(out) == before


def test_force_removes_only_what_punkgen_wrote(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(config_path, out, 12)
    assert run_cli("export", out, "--config", config_path).exit_code == 0
    theirs = {"images/sketch.png": b"art", "notes.txt": b"notes", "rejected/why.txt": b"notes", "metadata/x.json": b"{}"}
    for name, data in theirs.items():
        (out / name).parent.mkdir(exist_ok=True)
        (out / name).write_bytes(data)
    make(config_path, out, 5, "--seed", 3, "--force")
    left = folder_bytes(out)
    assert {name: left[name] for name in theirs} == theirs  # the user's files survive
    assert not (out / "export").exists() and not (out / "index.html").exists()  # the old run's export is gone
    assert sorted(p.name for p in (out / "images").glob("*.png")) == ["1.png", "2.png", "3.png", "4.png", "5.png", "sketch.png"]
    assert json.loads((out / "run.json").read_text())["seed"] == 3


@pytest.mark.slow
def test_the_sprite_path_never_imports_torch(config_path: Path, tmp_path: Path) -> None:
    heavy = ("torch", "diffusers", "transformers", "peft", "pandas")
    run_importing_none_of(heavy, *collection_args(config_path, tmp_path / "out", 10))


@pytest.mark.slow
def test_worker_processes_write_what_an_inline_run_writes(config_path: Path, tmp_path: Path) -> None:
    """2,100 tokens go through worker processes, 20 are finished inline; weighted plans share their prefix."""
    assert 20 < POOL_THRESHOLD <= 2100
    make(config_path, tmp_path / "pool", 2100)
    make(config_path, tmp_path / "inline", 20)
    pool, inline = folder_bytes(tmp_path / "pool"), folder_bytes(tmp_path / "inline")
    for token_id in range(1, 21):
        for name in (f"images/{token_id}.png", f"metadata/{token_id}.json"):
            assert pool[name] == inline[name], name
    assert pool["manifest.jsonl"].startswith(inline["manifest.jsonl"])


def test_traits_check_reports_shares_and_capacity(config_path: Path) -> None:
    result = run_cli("traits", "check", "--config", config_path)
    assert result.exit_code == 0, result.output
    assert "6 traits, 3 rules, 586,320 distinct valid trait sets" in result.output
    assert "Slate                          14   14.58%" in result.output  # 14 of 96 background weight
    assert "layers: 66 files checked" in result.output


def test_traits_check_refuses_what_collection_refuses(config_path: Path) -> None:
    (config_path.parent / "layers" / "hair" / "Beanie.png").unlink()
    result = run_cli("traits", "check", "--config", config_path)
    assert result.exit_code == 2
    assert "layers/hair/Beanie.png: missing layer" in result.output


@pytest.mark.parametrize("command", [[], ["collection"], ["traits"], ["traits", "check"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.exit_code == 0
    assert "Usage: " in result.output and "--help" in result.output


def torchrun(*args: object, processes: int = 2) -> subprocess.CompletedProcess:
    """What `accelerate launch -m generator collection …` does on several GPUs, on CPU processes (gloo)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes)]
    command += ["--master_port", str(29000 + os.getpid() % 1000), "-m", "generator", *map(str, args)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_two_processes_write_what_one_process_writes(config_path: Path, tmp_path: Path) -> None:
    make(config_path, tmp_path / "one", 300)
    done = torchrun(*collection_args(config_path, tmp_path / "two", 300))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("300 of 300 tokens") == 1, "one report, from the main process"
    assert folder_bytes(tmp_path / "two") == folder_bytes(tmp_path / "one")
