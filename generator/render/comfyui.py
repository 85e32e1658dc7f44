"""ComfyUI workflows in API format ("Save (API Format)"): fill one in per job, and read a render's back.

An API workflow is a JSON object of nodes, ``{id: {"class_type": …, "inputs": {…}}}``, where an
input is a value or a link ``[node id, output index]``. Its shape is found once: the one sampler
(a node with ``positive`` and ``negative`` inputs and a ``seed`` or ``noise_seed``, as KSampler,
KSamplerAdvanced and SamplerCustom have), the text-encode node at the end of each of those two
links (followed through ``conditioning`` inputs, so a FluxGuidance or a conditioning combiner in
between is fine), and the save nodes (``filename_prefix``). ComfyUI writes the executed workflow
into each PNG's ``prompt`` text, so the same shape reads the seed and texts of a render.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import UserError
from generator.render import RenderJob
from generator.render.a1111 import Infotext
from generator.text import parse_json, read_text

TEXT_INPUTS = ("text", "text_g", "text_l", "clip_l", "t5xxl")  # CLIPTextEncode, …SDXL, …Flux
SEED_INPUTS = ("seed", "noise_seed")
PASS_THROUGH = "conditioning"  # followed from a sampler input to the node that holds the text

Graph = dict[str, dict[str, Any]]


class WorkflowError(ValueError):
    """The graph is not one punkgen can fill: the message names the nodes it found."""


@dataclass(frozen=True)
class Shape:
    sampler: str
    seed: tuple[str, str]  # (node id, input name) holding the seed: the sampler's, or a primitive it links to
    positive: str  # node id of the text-encode node
    negative: str
    savers: tuple[str, ...]


def load_workflow(path: Path) -> tuple[Graph, Shape]:
    """A creator's workflow file, checked before anything is written."""
    text = read_text(path, "check [render].workflow")
    try:
        graph = parse_json(text)
    except json.JSONDecodeError as error:
        raise UserError(
            f"{path}: not JSON ({error.msg}, line {error.lineno}); save the workflow with Save (API Format)"
        ) from None
    except ValueError as error:  # nested past any workflow
        raise UserError(f"{path}: not an API-format workflow (its JSON is {error}); save it with Save (API Format)") from None
    if isinstance(graph, dict) and "nodes" in graph and "links" in graph:
        raise UserError(
            f"{path} is a ComfyUI workflow in UI format; [render].workflow takes the API format "
            "(enable dev mode options in ComfyUI's settings, then Save (API Format))"
        )
    try:
        shape = shape_of(graph)
        if not shape.savers:
            raise WorkflowError("no node with a filename_prefix (a Save Image node) to name the renders")
    except WorkflowError as error:
        raise UserError(f"{path}: {error}; [render].workflow needs one sampler wired to two text-encode nodes") from None
    return graph, shape


def shape_of(graph: Any) -> Shape:
    """The nodes a job changes; a :class:`WorkflowError` where there is not exactly one sampler or a text is lost."""
    if not isinstance(graph, dict) or not all(
        isinstance(node, dict) and isinstance(node.get("inputs"), dict) for node in graph.values()
    ):
        raise WorkflowError("not an API-format graph of nodes with inputs")
    samplers = sorted((node_id for node_id, node in graph.items() if _is_sampler(node["inputs"])), key=_id_order)
    if len(samplers) != 1:
        found = ", ".join(f"{n} ({graph[n].get('class_type', '?')})" for n in samplers) or "none"
        raise WorkflowError(f"{len(samplers)} samplers (nodes with positive, negative and a seed): {found}")
    sampler = samplers[0]
    inputs = graph[sampler]["inputs"]
    positive = _text_route(graph, inputs["positive"], sampler, "positive")
    negative = _text_route(graph, inputs["negative"], sampler, "negative")
    _refuse_shared_text(graph, sampler, positive, negative)
    seed = _seed_holder(graph, sampler)
    _refuse_shared_seed(graph, sampler, seed, (positive[-1], negative[-1]))
    return Shape(
        sampler=sampler,
        seed=seed,
        positive=positive[-1],
        negative=negative[-1],
        savers=tuple(sorted((node_id for node_id, node in graph.items() if "filename_prefix" in node["inputs"]), key=_id_order)),
    )


def fill(graph: Graph, shape: Shape, job: RenderJob) -> Graph:
    """A copy of the workflow that renders ``job`` and saves it as ``<id>-<attempt>_00001_.png``."""
    filled = copy.deepcopy(graph)
    for node_id, text in ((shape.positive, job.prompt), (shape.negative, job.negative_prompt)):
        for name in _text_inputs(filled[node_id]["inputs"]):
            filled[node_id]["inputs"][name] = text
    node_id, name = shape.seed
    filled[node_id]["inputs"][name] = job.seed
    for node_id in shape.savers:
        filled[node_id]["inputs"]["filename_prefix"] = f"{job.token_id}-{job.attempt}"
    return filled


def read_prompt_chunk(text: str) -> Infotext | None:
    """What a ComfyUI render was made from, from its PNG's ``prompt`` text; None where the graph can't be read."""
    try:
        graph = parse_json(text)
        shape = shape_of(graph)
    except (ValueError, KeyError, TypeError):
        return None
    seed_node, seed_name = shape.seed
    seed = graph[seed_node]["inputs"][seed_name]
    texts = [_text_of(graph[node]["inputs"]) for node in (shape.positive, shape.negative)]
    return Infotext(texts[0], texts[1], seed if isinstance(seed, int) else None)


def _id_order(node_id: str) -> tuple[int, str]:
    """ComfyUI's ids are numbers as strings: 3 before 12."""
    return (int(node_id), "") if node_id.isdigit() else (2**63, node_id)


def _is_sampler(inputs: dict[str, Any]) -> bool:
    return "positive" in inputs and "negative" in inputs and any(name in inputs for name in SEED_INPUTS)


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int)


def _seed_holder(graph: Graph, sampler: str) -> tuple[str, str]:
    """The sampler's seed input, or the integer input of the primitive node it links to."""
    inputs = graph[sampler]["inputs"]
    name = next(name for name in SEED_INPUTS if name in inputs)
    if not _is_link(inputs[name]):
        return sampler, name
    source = str(inputs[name][0])
    held = [key for key, value in graph.get(source, {}).get("inputs", {}).items() if isinstance(value, int)]
    if len(held) != 1:
        raise WorkflowError(f"the sampler {sampler}'s {name} comes from node {source}, which holds no single number to set")
    return source, held[0]


def _text_route(graph: Graph, link: Any, sampler: str, side: str) -> list[str]:
    """The nodes from a sampler input back through conditioning pass-throughs to the one holding the prompt text (last)."""
    seen: list[str] = []
    while _is_link(link) and str(link[0]) in graph and str(link[0]) not in seen:
        node_id = str(link[0])
        seen.append(node_id)
        inputs = graph[node_id]["inputs"]
        if _text_inputs(inputs):
            return seen
        link = inputs.get(PASS_THROUGH)
    route = " → ".join([sampler, *seen]) or sampler
    raise WorkflowError(f"the sampler's {side} input ({route}) reaches no text-encode node with a text input")


def _refuse_shared_text(graph: Graph, sampler: str, positive: list[str], negative: list[str]) -> None:
    """Both inputs ending at one text node: filling the negative prompt would overwrite the prompt, so every render
    would come back with the wrong text (rejected as ``wrong_prompt``, attempt after attempt). Names the node where the
    two routes meet (a shared text node, or a pass-through such as ConditioningZeroOut fed by the prompt's node)."""
    if positive[-1] != negative[-1]:
        return
    meet = next(node_id for node_id in negative if node_id in positive)
    kind = graph[meet].get("class_type", "?")
    raise WorkflowError(
        f"the sampler {sampler}'s positive and negative inputs both lead to node {meet} ({kind}), so the prompt and the "
        f"negative prompt would be one text; give the negative input its own text-encode node"
    )


def _refuse_shared_seed(graph: Graph, sampler: str, seed: tuple[str, str], texts: tuple[str, str]) -> None:
    """The seed's holder must hold only the seed: a primitive that also feeds, say, the steps or a text would have those
    changed with every job's seed."""
    holder, name = seed
    if holder == sampler:
        return
    uses = [
        f"{node_id}.{key}"
        for node_id, node in sorted(graph.items(), key=lambda item: _id_order(item[0]))
        for key, value in node["inputs"].items()
        if _is_link(value) and str(value[0]) == holder and not (node_id == sampler and key in SEED_INPUTS)
    ]
    if holder in texts or uses:
        also = f"also feeds {', '.join(uses)}" if uses else "is also a text-encode node"
        raise WorkflowError(
            f"node {holder} holds the sampler {sampler}'s seed ({name}) but {also}, which every job's seed would change; "
            "give the seed its own primitive node, or type it into the sampler"
        )


def _text_inputs(inputs: dict[str, Any]) -> list[str]:
    return [name for name in TEXT_INPUTS if isinstance(inputs.get(name), str)]


def _text_of(inputs: dict[str, Any]) -> str:
    return inputs[_text_inputs(inputs)[0]]
