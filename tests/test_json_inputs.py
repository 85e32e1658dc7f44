"""JSON a user hands punkgen (a ComfyUI workflow, a render's embedded graph, a collection's metadata and run record):
nested past reason is one line, never a RecursionError; a workflow whose filling would contradict itself (one text node
for the prompt and the negative prompt, a seed holder that also feeds something else) is refused up front, naming the
node, instead of every render coming back ``wrong_prompt``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, collection_args, edit, folder_bytes, refused, run_cli
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from test_import_backend import import_args
from ui_renders import sd15_workflow

DEEP = "[" * 100_000 + "]" * 100_000  # past Python's recursion limit at any setting CI uses


def workflow_refused(config_path: Path, tmp_path: Path, graph: dict | str) -> str:
    path = tmp_path / "api.json"
    path.write_text(graph if isinstance(graph, str) else json.dumps(graph))
    edit(config_path, 'workflow = ""', f'workflow = "{path}"')
    line = refused(*import_args(config_path, tmp_path / "out", tmp_path / "renders"))
    assert str(path) in line
    assert not (tmp_path / "out").exists()
    return line


@pytest.mark.parametrize(
    "document",
    [DEEP, json.dumps({"3": {"class_type": "KSampler", "inputs": {"positive": json.loads("[" * 80 + "]" * 80)}}})],
)
def test_a_workflow_nested_past_reason_is_one_line(config_path: Path, tmp_path: Path, document: str) -> None:
    line = workflow_refused(config_path, tmp_path, document)
    assert "not an API-format workflow (its JSON is nested deeper than 64 levels); save it with Save (API Format)" in line


@pytest.mark.parametrize("inputs", [5, "text", ["6", 0], None])
def test_a_node_whose_inputs_are_not_an_object_is_one_line(config_path: Path, tmp_path: Path, inputs: object) -> None:
    graph = sd15_workflow()
    graph["5"]["inputs"] = inputs
    assert "not an API-format graph of nodes with inputs" in workflow_refused(config_path, tmp_path, graph)


# ── one text node, or one seed holder, for two jobs ──────────────────────────────────────────────


def test_positive_and_negative_on_one_text_node_are_refused_naming_it(config_path: Path, tmp_path: Path) -> None:
    graph = sd15_workflow()
    graph["3"]["inputs"]["negative"] = ["6", 0]
    line = workflow_refused(config_path, tmp_path, graph)
    assert "the sampler 3's positive and negative inputs both lead to node 6 (CLIPTextEncode)" in line
    assert "give the negative input its own text-encode node" in line


def test_a_negative_made_from_the_prompt_through_a_pass_through_is_refused(config_path: Path, tmp_path: Path) -> None:
    """Flux's ConditioningZeroOut: the negative reaches the prompt's own text node through a conditioning input."""
    graph = sd15_workflow()
    graph["11"] = {"class_type": "FluxGuidance", "inputs": {"guidance": 3.5, "conditioning": ["6", 0]}}
    graph["12"] = {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["11", 0]}}
    graph["3"]["inputs"].update(positive=["11", 0], negative=["12", 0])
    line = workflow_refused(config_path, tmp_path, graph)
    assert "positive and negative inputs both lead to node 11 (FluxGuidance)" in line


def test_a_seed_primitive_that_also_feeds_the_steps_is_refused(config_path: Path, tmp_path: Path) -> None:
    graph = sd15_workflow()
    graph["20"] = {"class_type": "PrimitiveInt", "inputs": {"value": 7}}
    graph["3"]["inputs"].update(seed=["20", 0], steps=["20", 0])
    line = workflow_refused(config_path, tmp_path, graph)
    assert "node 20 holds the sampler 3's seed (value) but also feeds 3.steps" in line
    assert "give the seed its own primitive node" in line


def test_a_seed_primitive_of_its_own_is_still_filled(tmp_path: Path) -> None:
    from generator.render import RenderJob
    from generator.render.comfyui import fill, load_workflow

    graph = sd15_workflow()
    graph["20"] = {"class_type": "PrimitiveInt", "inputs": {"value": 7}}
    graph["3"]["inputs"]["seed"] = ["20", 0]
    (tmp_path / "api.json").write_text(json.dumps(graph))
    filled = fill(*load_workflow(tmp_path / "api.json"), RenderJob(1, (0,), "punk", "blurry", 99))
    assert filled["20"]["inputs"]["value"] == 99 and filled["3"]["inputs"]["seed"] == ["20", 0]


# ── JSON read back: a render's graph, a collection's files ───────────────────────────────────────


@pytest.mark.parametrize("graph", [DEEP, json.dumps({"3": {"inputs": json.loads("[" * 90 + "]" * 90)}})])
def test_a_render_whose_embedded_graph_is_nested_past_reason_is_matched_by_its_name(
    config_path: Path, tmp_path: Path, graph: str
) -> None:
    """The graph says nothing readable (it once raised RecursionError), so the file is token 1's first attempt by its
    name, and the run goes on to wait for the others."""
    renders = tmp_path / "renders"
    renders.mkdir()
    info = PngInfo()
    info.add_text("prompt", graph)
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(renders / "1-0_00001_.png", pnginfo=info)
    result = run_cli(*import_args(config_path, tmp_path / "out", renders))
    assert result.exit_code == 5, result.output  # waiting for the others
    records = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert [(record["token_id"], record["render_file"]) for record in records] == [(1, "1-0_00001_.png")]


def test_a_render_whose_infotext_seed_is_absurdly_long_is_matched_by_its_name(config_path: Path, tmp_path: Path) -> None:
    """Python refuses to read an integer of over 4,300 digits (a ValueError once uncaught): no seed, so its name."""
    renders = tmp_path / "renders"
    renders.mkdir()
    info = PngInfo()
    info.add_text("parameters", "punk\nNegative prompt: blurry\nSteps: 30, Sampler: Euler a, Seed: " + "7" * 5000)
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(renders / "1-0.png", pnginfo=info)
    result = run_cli(*import_args(config_path, tmp_path / "out", renders))
    assert result.exit_code == 5, result.output
    records = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert [(record["token_id"], record["render_file"]) for record in records] == [(1, "1-0.png")]


def test_a_metadata_file_nested_past_reason_is_named(config_path: Path, tmp_path: Path) -> None:
    """``verify`` lists it as a difference (exit 4); ``export`` refuses it in one line (exit 2)."""
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 6)).exit_code == 0
    (out / "metadata" / "3.json").write_text(DEEP)
    verified = run_cli("verify", out, "--config", config_path)
    assert verified.exit_code == 4 and "Traceback" not in verified.output, verified.output
    assert "metadata/3.json: differs from the document its traits give (not JSON)" in verified.output
    line = refused("export", out, "--config", config_path)
    assert "metadata/3.json is not valid UTF-8 JSON (nested deeper than 64 levels)" in line


def test_a_run_record_nested_past_reason_is_corrupt_not_a_traceback(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 6)).exit_code == 0
    (out / "run.json").write_text(DEEP)
    before = folder_bytes(out)
    assert "run.json is corrupt; pass --force" in refused(*collection_args(config_path, out, 6))
    assert folder_bytes(out) == before


@pytest.mark.parametrize(
    "document", ['"[' + "[" * 80 + '"', "[" * 200_000 + "]" * 200_000, '{"a":' * 100_000 + "1" + "}" * 100_000]
)
def test_deep_json_is_refused_even_where_a_library_raised_the_recursion_limit(document: str) -> None:
    """py_ecc (imported with the EVM test tools) sets the recursion limit to 100,000 for the whole process: Python's
    JSON reader then overflowed the C stack (a segmentation fault) before any RecursionError. In a process of its own,
    so the raised limit stays there; brackets inside a string do not count."""
    probe = (
        "import sys; sys.setrecursionlimit(100_000)\n"
        "from generator.text import parse_json\n"
        "try:\n    print(parse_json(sys.stdin.read()))\nexcept ValueError as error:\n    print('refused:', error)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], input=document, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr[-500:]
    expected = "[" + "[" * 80 if document.startswith('"') else "refused: nested deeper than 64 levels"
    assert done.stdout.strip() == expected
