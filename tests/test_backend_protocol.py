"""A backend is what it declares (``generator.render.Renderer``), whatever its name, class or array shapes.

The contributor guide's backend exercise, done for real: ``tests/mirror_backend.py`` draws each
token at token size (the sprite composite, mirrored) and is registered with one line. It gets the
token path (no grid recovery, no trait check, no A1111 text, one attempt) with no change outside
its module; the same arrays declared as a model's get the model path.
"""

from __future__ import annotations

from pathlib import Path

import mirror_backend
import numpy as np
import pytest
from PIL import Image

from generator.config import load_config
from generator.curate.reroll import reroll_tokens
from generator.errors import UserError
from generator.pixels.recovery import recover
from generator.plan.traits import combo_of, load_traits
from generator.render import BACKEND_MODULES, Renderer
from generator.render.layers import Layers, load_layers
from generator.run import finish
from generator.run.collection import run_collection
from generator.run.manifest import read_history
from generator.schemas.declared import CONFIG


@pytest.fixture
def mirror(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(BACKEND_MODULES, "mirror", "mirror_backend")  # the registration: one line
    return mirror_backend.MirrorRenderer


def mirror_config(config_path: Path, size: int = 12):
    return load_config(config_path).override("collection", size=size).override("render", backend="mirror")


def expected_tokens(config_path: Path, out: Path) -> dict[int, np.ndarray]:
    """Each token's sprite composite, mirrored, drawn here from the traits the manifest recorded."""
    config = load_config(config_path)
    tables = load_traits(config)
    layers = load_layers(config, tables)
    history = read_history(out / "manifest.jsonl")
    return {
        token_id: layers.composite(np.array([combo_of(tables, record["traits"])]))[0][:, ::-1]
        for token_id, record in history.accepted.items()
    }


def image(out: Path, token_id: int) -> np.ndarray:
    with Image.open(out / "images" / f"{token_id}.png") as png:
        return np.asarray(png.convert("RGB"))


def test_a_backend_drawing_at_token_size_gets_the_token_path(config_path: Path, tmp_path: Path, monkeypatch, mirror) -> None:
    def never(name: str):
        return lambda *args: pytest.fail(f"{name} ran for a token-size backend")

    monkeypatch.setattr(finish, "recover", never("grid recovery"))
    monkeypatch.setattr(finish, "parameters_text", never("A1111 text"))
    monkeypatch.setattr(Layers, "expectation", never("the trait check's claim"))
    out = tmp_path / "out"
    summary = run_collection(mirror_config(config_path), out=out, progress=False)
    assert (summary.backend, summary.failed, summary.attempts, summary.deterministic) == ("mirror", (), 1, True)
    expected = expected_tokens(config_path, out)
    assert len(expected) == 12
    for token_id, pixels in expected.items():
        assert np.array_equal(image(out, token_id), pixels), f"token {token_id} is not its art as drawn"
    with pytest.raises(UserError, match="the mirror backend draws a token from its traits alone"):
        reroll_tokens(mirror_config(config_path), out, [min(expected)], progress=False)


def test_a_token_size_backend_repairs_a_lost_image_from_its_declaration(config_path: Path, tmp_path: Path, mirror) -> None:
    """The resume's repair re-renders a missing or altered image and takes it as drawn, byte for byte."""
    out = tmp_path / "out"
    run_collection(mirror_config(config_path), out=out, progress=False)
    lost, edited = out / "images" / "3.png", out / "images" / "5.png"
    originals = {path: path.read_bytes() for path in (lost, edited)}
    lost.unlink()
    edited.write_bytes(originals[lost])
    summary = run_collection(mirror_config(config_path), out=out, progress=False)
    assert summary.restored == (3, 5)
    assert {path: path.read_bytes() for path in (lost, edited)} == originals


def test_the_same_arrays_declared_as_a_models_get_the_model_path(config_path: Path, tmp_path: Path, monkeypatch, mirror) -> None:
    """Nothing reads the shape: declared made by a model at full size, the 24×24 mirrored art is recovered, checked
    against its traits' layers (which it mirrors, so most fail) and kept rejected with the A1111 text to redo it."""
    monkeypatch.setattr(mirror, "draws_at_token_size", False)
    monkeypatch.setattr(mirror, "made_by_model", True)
    monkeypatch.setattr(mirror, "deterministic", False)
    recovered = []
    monkeypatch.setattr(finish, "recover", lambda render, *args: recovered.append(render.shape) or recover(render, *args))
    out = tmp_path / "out"
    summary = run_collection(mirror_config(config_path, size=6).override("quality", max_attempts=1), out=out, progress=False)
    assert recovered and set(recovered) == {(24, 24, 3)}
    assert summary.failed, "a mirrored portrait shows other pixels than its traits' layers"
    assert any(code.startswith("trait_") for code, _ in summary.top_reasons)
    kept = out / "rejected" / f"{summary.failed[0]}-0.png"
    with Image.open(kept) as png:
        assert "Seed: " in png.info["parameters"]


def test_every_registered_backend_is_offered_and_every_offered_one_is_registered() -> None:
    """The config schema's [render].backend list (which --backend offers) and the registry name the same backends:
    a backend registered but not in the schema could not be chosen, one in the schema but not registered would fail
    only when chosen."""
    assert set(CONFIG.setting("render.backend").rules["enum"]) == {"auto", *BACKEND_MODULES}


def test_a_backend_declares_only_what_differs_from_a_full_size_model() -> None:
    """The base holds every declaration's default but render(): a backend without render() cannot be made, and one
    that declares nothing else is a model that renders full-size pictures itself."""

    class Silent(Renderer):
        name, identity, batch_size = "silent", "silent", 1

    with pytest.raises(TypeError, match="render"):
        Silent()

    class Model(Silent):
        def render(self, jobs):
            return np.zeros((len(jobs), 512, 512, 3), np.uint8)

    model = Model()
    declared = (model.deterministic, model.draws_at_token_size, model.made_by_model, model.renders_folder)
    assert declared == (False, False, True, None)
    assert (model.requests([]), model.folders_read()) == ({}, ())
