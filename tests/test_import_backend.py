"""The AUTOMATIC1111 / ComfyUI round trip: punkgen plans and judges, the creator's UI renders (backend ``import``)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import collection_args, edit, folder_bytes, refused, run_cli
from PIL import Image
from ui_renders import a1111_infotext, read_jobs, render_of, save_a1111, save_a1111_jpeg, save_comfyui, sd15_workflow

from generator.config import load_config
from generator.errors import ExitStatus
from generator.render import RenderJob
from generator.render.a1111 import parameters_text, prompt_line, read_infotext
from generator.render.comfyui import fill, load_workflow

N = 8


def import_args(config_path: Path, out: Path, renders: Path | None, n: int = N) -> list[str]:
    """``punkgen collection`` with the import backend (and ``--renders``, unless None)."""
    args = [str(arg) for arg in collection_args(config_path, out, n, *(["--renders", renders] if renders else []))]
    args[args.index("sprites")] = "import"
    return args


def import_run(config_path: Path, out: Path, renders: Path):
    return run_cli(*import_args(config_path, out, renders))


@pytest.fixture
def sprites(config_path: Path, tmp_path: Path) -> Path:
    """The truth: a sprite run of the same config and seed (the same plan)."""
    out = tmp_path / "sprites"
    assert run_cli(*collection_args(config_path, out, N)).exit_code == 0
    return out


def test_first_run_lists_every_job_and_waits(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = import_run(config_path, out, tmp_path / "renders")
    assert result.exit_code == ExitStatus.WAITING, result.output
    assert f"waiting for renders: {N} jobs listed in {out / 'to-render'}" in result.output
    jobs = read_jobs(out)
    assert [(job["token_id"], job["attempt"]) for job in jobs] == [(t, 0) for t in range(1, N + 1)]
    assert all(0 <= job["seed"] < 2**32 and job["width"] == job["height"] == 512 for job in jobs)
    lines = (out / "to-render" / "prompts.txt").read_text().splitlines()
    assert [parse_prompt_line(line) for line in lines] == [
        {
            "prompt": job["prompt"],
            "negative_prompt": job["negative_prompt"],
            "seed": job["seed"],
            "steps": 30,
            "cfg_scale": 7.5,
            "width": 512,
            "height": 512,
            "sampler_name": "DPM++ 2M Karras",
        }
        for job in jobs
    ]
    assert not (out / "images").exists() or not any((out / "images").iterdir())
    verified = run_cli("verify", out, "--config", config_path)
    assert verified.exit_code == ExitStatus.TOKENS_FAILED
    assert (
        f"{N} tokens never finished (1, 2, 3, 4, 5, 6, 7, 8); {out / 'to-render'} lists the jobs still waiting" in verified.output
    )


def test_the_loop_ends_with_the_sprite_runs_metadata(config_path: Path, tmp_path: Path, sprites: Path) -> None:
    """Renders at 512 and 1024 px, one of the wrong line, a blank one, a duplicate and a missing one: run, render,
    run again, until every token is in; the folder then holds the sprite run's tokens and verifies."""
    out, renders = tmp_path / "out", tmp_path / "renders"
    import_run(config_path, out, renders)
    jobs = read_jobs(out)
    wrong, blank, missing, duplicated = jobs[1], jobs[2], jobs[3], jobs[4]
    for n, job in enumerate(jobs):
        if job is missing:
            continue
        size = 1024 if n % 2 else 512
        pixels = render_of(sprites, job["token_id"], size, seed=n)
        prompt = jobs[0]["prompt"] if job is wrong else job["prompt"]
        if job is blank:
            pixels = np.full_like(pixels, 200)
        infotext = a1111_infotext(prompt, job["negative_prompt"], job["seed"], size)
        save_a1111(renders / "txt2img-images" / f"{n:05d}-{job['seed']}.png", pixels, infotext)
        if job is duplicated:
            save_a1111(renders / "again" / f"{n:05d}-{job['seed']}.png", pixels, infotext)

    second = import_run(config_path, out, renders)
    assert second.exit_code == ExitStatus.WAITING, second.output
    assert "waiting for renders: 3 jobs" in second.output
    pending = read_jobs(out)
    assert [(job["token_id"], job["attempt"]) for job in pending] == sorted(
        [(wrong["token_id"], 1), (blank["token_id"], 1), (missing["token_id"], 0)]
    )
    retried = {job["seed"] for job in pending if job["attempt"] == 1}
    assert len(retried) == 2 and retried.isdisjoint(job["seed"] for job in jobs)  # new attempts, new seeds
    rejects = (out / "rejects.csv").read_text()
    assert "wrong_prompt" in rejects and "rendered the wrong line" in rejects
    kept = Image.open(out / "rejected" / f"{blank['token_id']}-0.png")
    assert read_infotext(kept.info["parameters"]).seed == blank["seed"]  # reproducible in either UI

    (renders / "other").mkdir()
    for job in pending:  # rendered by name this time, as any other tool would save jobs.jsonl's "file"
        Image.fromarray(render_of(sprites, job["token_id"], 512, seed=99)).save(renders / "other" / job["file"])
    third = import_run(config_path, out, renders)
    assert third.exit_code == 0, third.output
    assert not (out / "to-render").exists()
    assert files(out, "metadata") == files(sprites, "metadata")
    assert files(out, "images") == files(sprites, "images")  # every accepted render recovered exactly
    verified = run_cli("verify", out, "--config", config_path)
    assert verified.exit_code == 0, verified.output


def files(folder: Path, sub: str) -> dict[str, bytes]:
    return {name: data for name, data in folder_bytes(folder / sub).items()}


def test_comfyui_renders_round_trip(config_path: Path, tmp_path: Path, sprites: Path) -> None:
    """A workflow is filled per job; its renders come back with their graph in the PNG and are matched by it."""
    workflow = tmp_path / "workflow_api.json"
    workflow.write_text(json.dumps(sd15_workflow("KSamplerAdvanced")))
    edit(config_path, 'workflow = ""', f'workflow = "{workflow}"')
    out, renders = tmp_path / "out", tmp_path / "comfy-output"
    import_run(config_path, out, renders)
    jobs = read_jobs(out)
    for job in jobs:
        prefix = f"{job['token_id']}-{job['attempt']}"
        graph = json.loads((out / "to-render" / "comfyui" / f"{prefix}.json").read_text())
        pixels = render_of(sprites, job["token_id"], 1024, seed=job["token_id"])
        save_comfyui(renders / "punks", graph["9"]["inputs"]["filename_prefix"], pixels, graph)
    result = import_run(config_path, out, renders)
    assert result.exit_code == 0, result.output
    assert files(out, "metadata") == files(sprites, "metadata")


def test_a_jpeg_from_the_web_ui_is_matched_by_its_exif_comment(config_path: Path, tmp_path: Path, sprites: Path) -> None:
    out, renders = tmp_path / "out", tmp_path / "renders"
    import_run(config_path, out, renders)
    job = read_jobs(out)[0]
    infotext = a1111_infotext(job["prompt"], job["negative_prompt"], job["seed"], 512)
    save_a1111_jpeg(renders / f"00000-{job['seed']}.jpg", render_of(sprites, job["token_id"], 512, seed=1), infotext)
    assert import_run(config_path, out, renders).exit_code == ExitStatus.WAITING
    assert [j["token_id"] for j in read_jobs(out)] == list(range(2, N + 1))
    assert (out / "images" / "1.png").read_bytes() == (sprites / "images" / "1.png").read_bytes()


@pytest.mark.parametrize("sampler, seed_input", [("KSampler", "seed"), ("KSamplerAdvanced", "noise_seed")])
def test_a_workflow_is_filled_for_a_job(tmp_path: Path, sampler: str, seed_input: str) -> None:
    path = tmp_path / "api.json"
    path.write_text(json.dumps(sd15_workflow(sampler)))
    job = RenderJob(7, (0,), "pixel art, punk, 'cap'", "blurry", 4_000_000_000, attempt=2)
    filled = fill(*load_workflow(path), job)
    assert filled["6"]["inputs"]["text"] == job.prompt and filled["7"]["inputs"]["text"] == job.negative_prompt
    assert filled["3"]["inputs"][seed_input] == 4_000_000_000
    assert filled["9"]["inputs"]["filename_prefix"] == "7-2"
    assert filled["3"]["inputs"]["positive"] == ["6", 0]  # links untouched
    untouched = sd15_workflow(sampler)
    for node in ("4", "5", "8", "10"):
        assert filled[node] == untouched[node]


def test_a_conditioning_pass_through_is_followed(tmp_path: Path) -> None:
    graph = sd15_workflow()
    graph["11"] = {"class_type": "FluxGuidance", "inputs": {"guidance": 3.5, "conditioning": ["6", 0]}}
    graph["3"]["inputs"]["positive"] = ["11", 0]
    path = tmp_path / "api.json"
    path.write_text(json.dumps(graph))
    filled = fill(*load_workflow(path), RenderJob(1, (0,), "punk", "", 5))
    assert filled["6"]["inputs"]["text"] == "punk" and filled["11"] == graph["11"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda g: g.update({"12": {"class_type": "KSampler", "inputs": dict(g["3"]["inputs"])}}), "2 samplers"),
        (lambda g: g.pop("3"), "0 samplers"),
        (lambda g: g["3"]["inputs"].update(negative=["5", 0]), "negative input (3 → 5) reaches no text-encode node"),
        (lambda g: g.pop("9"), "no node with a filename_prefix"),
    ],
)
def test_a_workflow_punkgen_cannot_fill_is_refused_naming_the_nodes(
    config_path: Path, tmp_path: Path, change, message: str
) -> None:
    graph = sd15_workflow()
    change(graph)
    path = tmp_path / "api.json"
    path.write_text(json.dumps(graph))
    edit(config_path, 'workflow = ""', f'workflow = "{path}"')
    args = import_args(config_path, tmp_path / "out", tmp_path)
    line = refused(*args)
    assert message in line and str(path) in line
    if "samplers" in message and "2" in message:
        assert "3 (KSampler), 12 (KSampler)" in line
    assert not (tmp_path / "out").exists()


def test_a_ui_format_workflow_is_refused_with_the_way_to_the_api_format(config_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps({"nodes": [], "links": [], "version": 0.4}))
    edit(config_path, 'workflow = ""', f'workflow = "{path}"')
    args = import_args(config_path, tmp_path / "out", tmp_path)
    assert "Save (API Format)" in refused(*args)


def test_a_collection_inside_the_renders_folder_is_refused(config_path: Path, tmp_path: Path) -> None:
    """Its images/5.png would read as token 5's render."""
    line = refused(*import_args(config_path, tmp_path / "ui" / "punks", tmp_path / "ui"))
    assert "is inside the renders folder" in line
    assert not (tmp_path / "ui").exists()


def test_import_without_a_renders_folder_is_refused(config_path: Path, tmp_path: Path) -> None:
    args = import_args(config_path, tmp_path / "out", None)
    assert "needs a renders folder: set [render].renders (--renders) to the folder AUTOMATIC1111" in refused(*args)


TRICKY = [
    "pixel art, punk's 'cap', \"quoted\", back\\slash",
    "a -- b --seed 5 --steps 2",
    "  spaces  ,  émoji 🎩, ünïcode  ",
    "$HOME `uname` ; rm -rf / | & > <",
]


@pytest.mark.parametrize("prompt", TRICKY)
def test_prompt_lines_round_trip_through_the_scripts_rules(config_path: Path, prompt: str) -> None:
    job = RenderJob(3, (0,), prompt, "neg 'x' --cfg_scale 1", 4294967295)
    parsed = parse_prompt_line(prompt_line(job, load_config(config_path)))
    assert parsed["prompt"] == prompt and parsed["negative_prompt"] == job.negative_prompt
    assert parsed["seed"] == 4294967295


def test_a_prompt_with_a_line_break_is_refused_naming_the_token(config_path: Path) -> None:
    with pytest.raises(Exception, match="token 3: its prompt holds a line break"):
        prompt_line(RenderJob(3, (0,), "two\nlines", "", 1), load_config(config_path))


@pytest.mark.parametrize("negative", ["blurry, text", ""])
def test_the_parameters_text_reads_back(config_path: Path, negative: str) -> None:
    job = RenderJob(3, (0,), "pixel art\nsecond line", negative, 123456789)
    text = parameters_text(job, load_config(config_path), (1024, 1024))
    assert text.endswith("Seed: 123456789, Size: 1024x1024, Model: stable-diffusion-v1-5")
    back = read_infotext(text)
    assert (back.prompt, back.negative_prompt, back.seed) == (job.prompt, negative, 123456789)


def test_an_a1111_infotext_reads(tmp_path: Path) -> None:
    back = read_infotext(a1111_infotext("punk, cap", "blurry", 42, 512))
    assert (back.prompt, back.negative_prompt, back.seed) == ("punk, cap", "blurry", 42)


def parse_prompt_line(line: str) -> dict:
    """AUTOMATIC1111's scripts/prompts_from_file.py, as documented: ``shlex.split`` the line, then each ``--tag``
    takes the next word; ``--prompt``/``--negative_prompt`` also take the words after it up to the next ``--``."""
    types = {"seed": int, "steps": int, "width": int, "height": int, "cfg_scale": float, "sampler_name": str}
    args = shlex.split(line)
    parsed: dict = {}
    pos = 0
    while pos < len(args):
        assert args[pos].startswith("--"), f"unknown commandline option: {args[pos]}"
        tag = args[pos][2:]
        if tag in ("prompt", "negative_prompt"):
            pos += 1
            words = [args[pos]]
            pos += 1
            while pos < len(args) and not args[pos].startswith("--"):
                words.append(args[pos])
                pos += 1
            parsed[tag] = " ".join(words)
            continue
        parsed[tag] = types[tag](args[pos + 1])
        pos += 2
    return parsed


@pytest.mark.slow
def test_kill_9_in_an_import_run_then_resume_is_byte_identical(config_path: Path, tmp_path: Path) -> None:
    from test_interruptions import REPO, manifest_lines, wait_for_lines

    size, renders, sprites = 80, tmp_path / "renders", tmp_path / "sprites"
    assert run_cli(*collection_args(config_path, sprites, size)).exit_code == 0
    args = import_args(config_path, tmp_path / "plan", renders, size)
    assert run_cli(*args).exit_code == ExitStatus.WAITING
    for n, job in enumerate(read_jobs(tmp_path / "plan")):
        if n % 10 == 3:
            continue  # waits
        prompt = "pixel art, something else" if n % 10 == 7 else job["prompt"]  # the wrong line: rejected
        infotext = a1111_infotext(prompt, job["negative_prompt"], job["seed"], 512)
        save_a1111(renders / f"{n:05d}-{job['seed']}.png", render_of(sprites, job["token_id"], 512, n), infotext)

    def start(out: Path) -> subprocess.Popen:
        command = [sys.executable, "-m", "generator", *(str(out) if a == str(tmp_path / "plan") else a for a in args)]
        return subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert start(whole).wait(timeout=120) == ExitStatus.WAITING
    for kill_after in (1, 35):  # manifest lines when the kill lands
        process = start(killed)
        wait_for_lines(killed, kill_after)
        process.kill()
        process.wait()
        assert manifest_lines(killed) < size, "killed before the end"
    assert start(killed).wait(timeout=120) == ExitStatus.WAITING
    assert folder_bytes(killed) == folder_bytes(whole)
    assert len(read_jobs(killed)) == 16  # 8 waiting, 8 at their second attempt


def test_a_reroll_waits_for_its_render_then_finishes(config_path: Path, tmp_path: Path, sprites: Path) -> None:
    out, renders = tmp_path / "out", tmp_path / "renders"

    def render_listed(seed: int) -> None:
        for job in read_jobs(out):
            infotext = a1111_infotext(job["prompt"], job["negative_prompt"], job["seed"], 512)
            save_a1111(
                renders / f"{job['token_id']}-{job['attempt']}.png", render_of(sprites, job["token_id"], 512, seed), infotext
            )

    import_run(config_path, out, renders)
    render_listed(seed=1)
    assert import_run(config_path, out, renders).exit_code == 0
    reroll = ["reroll", out, 2, "-n", N, "--config", config_path, "--backend", "import", "--renders", renders, "--quiet"]
    waiting = run_cli(*reroll)
    assert waiting.exit_code == ExitStatus.WAITING, waiting.output
    assert [(job["token_id"], job["attempt"]) for job in read_jobs(out)] == [(2, 1)]
    render_listed(seed=2)
    done = run_cli(*reroll)
    assert done.exit_code == 0, done.output
    attempt, done_line = map(json.loads, (out / "manifest.jsonl").read_text().splitlines()[-2:])
    assert attempt["attempt"] == 1 and done_line == {"event": "done", "request": 1}, "done only once the render came"
    assert run_cli("verify", out, "--config", config_path).exit_code == 0
