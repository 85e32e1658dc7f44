"""Render-sized renders through the real collection loop: recovery, the quality filter, the trait check and the writer.

Every other accepted-token test renders 24×24 sprites, which recovery passes through untouched;
here the ``degraded`` backend (tests/degraded_backend.py) sends 512² and 1024² renders of known
tokens, some spoilt on purpose, so an accepted token must come out pixel-exact and a spoilt one
must be rejected and rendered again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import degraded_backend
import numpy as np
import pytest
import test_diffusion
from conftest import REPO
from PIL import Image

from generator.config import load_config
from generator.plan.traits import load_traits
from generator.render import BACKEND_MODULES, RenderJob
from generator.render.layers import load_layers
from generator.render.weights import hub_cache
from generator.run.collection import run_collection

SHIPPED = load_config(REPO / "traits" / "collection.toml")
TABLES = load_traits(SHIPPED)
LAYERS = load_layers(SHIPPED, TABLES)
diffusion_config, lora_file = test_diffusion.diffusion_config, test_diffusion.lora_file  # tiny SD 1.5 config fixtures


@pytest.fixture
def degraded(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(BACKEND_MODULES, "degraded", "degraded_backend")
    monkeypatch.setattr(degraded_backend, "SPOIL", {})
    return degraded_backend


def run(config_path: Path, out: Path, size: int, **pixels) -> list[dict]:
    """A collection with the degraded backend; its manifest records."""
    config = load_config(config_path).override("collection", size=size).override("render", backend="degraded")
    if pixels:
        config = config.override("pixels", **pixels)
    run_collection(config, out=out, progress=False)
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def verdicts(records: list[dict]) -> dict[tuple[int, int], list[str] | None]:
    """(token, attempt) → its rejection codes, or None when accepted."""
    return {
        (r["token_id"], r["attempt"]): None if r["verdict"] == "accepted" else [x.split(":")[0] for x in r["reasons"]]
        for r in records
    }


def wrong_pixels(out: Path, record: dict) -> int:
    """Pixels of the written token that differ from its traits as the shipped layers draw them."""
    combo = tuple(table.index_of(record["traits"][table.key]) for table in TABLES)
    with Image.open(out / "images" / f"{record['token_id']}.png") as image:
        written = np.asarray(image.convert("RGB"))
    return int((written != LAYERS.expectation(combo)[0]).any(axis=-1).sum())


@pytest.mark.parametrize(("side", "tokens"), [(512, 6), (1024, 2)])
def test_good_renders_become_their_exact_tokens(config_path: Path, tmp_path: Path, degraded, monkeypatch, side, tokens) -> None:
    monkeypatch.setattr(degraded, "SIZE", side)
    records = run(config_path, tmp_path / "out", tokens)
    assert verdicts(records) == {(token, 0): None for token in range(1, tokens + 1)}
    assert [wrong_pixels(tmp_path / "out", r) for r in records] == [0] * tokens


SPOILT = {1: "blur", 2: "background", 3: "clutter", 4: "posterised", 5: "wrong_pitch", 6: "off_centre", 7: "blank"}


@pytest.mark.parametrize("with_layers", [True, False], ids=["layers", "no-layer-art"])
def test_spoilt_renders_are_rejected_and_rendered_again(config_path: Path, tmp_path: Path, degraded, with_layers) -> None:
    """Each failure class at attempt 0 is rejected, its attempt 1 accepted; with layer art a trait swap is caught too."""
    spoilt = dict(SPOILT) | ({8: "swap"} if with_layers else {})
    degraded.SPOIL.update({(token, 0): kind for token, kind in spoilt.items()})
    if not with_layers:
        shutil.rmtree(config_path.parent / "layers")
    records = run(config_path, tmp_path / "out", len(spoilt) + 1)
    seen = verdicts(records)
    missed = {kind: seen[(token, 0)] for token, kind in spoilt.items() if seen[(token, 0)] is None}
    assert not missed, f"accepted as tokens: {missed}"
    assert all(seen[(token, 1)] is None for token in spoilt), seen
    if with_layers:
        assert "trait_hair" in seen[(8, 0)], seen[(8, 0)]
    accepted = [r for r in records if r["verdict"] == "accepted"]
    assert len(accepted) == len(spoilt) + 1
    assert [wrong_pixels(tmp_path / "out", r) for r in accepted] == [0] * len(accepted)


def test_the_pixel_method_decides_the_tokens(config_path: Path, tmp_path: Path, degraded) -> None:
    """`[pixels].method` reaches the run: grid recovery gives the exact tokens, the NEAREST recipe does not."""
    config_path.write_text(config_path.read_text().replace("enabled = true", "enabled = false", 1))
    mode = run(config_path, tmp_path / "mode", 4, method="mode")
    nearest = run(config_path, tmp_path / "nearest", 4, method="nearest")
    assert [wrong_pixels(tmp_path / "mode", r) for r in mode] == [0] * 4
    assert sum(wrong_pixels(tmp_path / "nearest", r) for r in nearest) > 0
    assert [r["sha256"] for r in mode] != [r["sha256"] for r in nearest]


def test_the_tests_see_an_empty_hugging_face_cache() -> None:
    """conftest points HF_HOME and HF_HUB_CACHE at a fresh folder: a cached SD 1.5 here changes no test."""
    cache = hub_cache()
    assert cache.name == "hub" and cache.parent.name == "huggingface"
    assert cache.parent.parent.name.startswith("punkgen-tests-caches-")
    assert not cache.exists() or not any(cache.iterdir())


@pytest.mark.slow
def test_hybrid_starts_from_the_sprite_sketch(diffusion_config: Path) -> None:
    """Same prompt and seed, two trait sets: the renders differ only because their sketches do."""
    from generator.render.hybrid import create as create_hybrid

    config = load_config(diffusion_config)
    hybrid = create_hybrid(config, load_traits(config))
    slate, gold = (tuple([TABLES[0].index_of(name), 0, 0, 0, 0, 0]) for name in ("Slate", "Gold"))
    jobs = [RenderJob(1, combo, "pixel art punk", "blurry", 1234) for combo in (slate, gold, slate)]
    renders = hybrid.render(jobs).astype(int)
    assert np.array_equal(renders[0], renders[2]), "same sketch, prompt and seed: same render"
    assert np.abs(renders[0] - renders[1]).mean() > 5, "another sketch: another render"
