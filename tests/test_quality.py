"""The quality verdict: each reason triggered by a crafted image; the retry loop with a renderer that fails on purpose."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import flaky_backend
import numpy as np
import pytest
from conftest import REPO, folder_bytes
from degrade import Degradation, degrade
from PIL import Image
from test_pixels import TOKENS, upscale

from generator.config import QualitySettings, load_config
from generator.pixels.drawn import judge_drawn
from generator.pixels.measures import Claim
from generator.pixels.palette import read_palette
from generator.pixels.quality import assess, duplicate_reason
from generator.pixels.recovery import drawn_recovery, recover
from generator.pixels.training_set import TrainingSet, load_training_set
from generator.render import BACKEND_MODULES
from generator.run.collection import run_collection

PALETTE = read_palette(REPO / "traits" / "palette.hex")
SETTINGS = QualitySettings()


def verdict(render: np.ndarray, expected: np.ndarray | None = None, training=None):
    """A 24×24 image here stands for art drawn at token size (the sprites'), anything larger for a model's render."""
    drawn = render.shape[:2] == (24, 24)
    recovery = drawn_recovery(render, expected) if drawn else recover(render, 24, PALETTE, expected_background=expected)
    return assess(render, recovery, SETTINGS, training)


def codes(render: np.ndarray, **kwargs) -> set[str]:
    return {reason.split(":")[0] for reason in verdict(render, **kwargs).reasons}


def test_real_tokens_pass() -> None:
    rng = np.random.default_rng(2)
    for token in TOKENS:
        assert verdict(degrade(token, Degradation.random(rng), rng), expected=token[0, 0]).accepted


def test_blank_render() -> None:
    assert "blank" in codes(np.zeros((512, 512, 3), dtype=np.uint8))


def test_noise_is_not_pixel_art() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    assert "grid_fidelity" in codes(noise)


def test_a_smooth_gradient_is_not_pixel_art() -> None:
    ramp = np.linspace(0, 255, 512)
    gradient = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], np.full((512, 512), 128.0)), axis=-1).astype(np.uint8)
    assert {"grid_fidelity", "background_uniformity"} <= codes(gradient)


def test_too_many_colours() -> None:
    token = TOKENS[0].copy()
    token[4:20, 4:20] = np.random.default_rng(1).integers(0, 256, (16, 16, 3))
    assert "colors" in codes(token)


def test_background_not_the_asked_for_colour() -> None:
    assert "background_color" in codes(TOKENS[0], expected=np.array([255, 0, 255]))


def test_coverage_empty_and_full() -> None:
    empty = np.broadcast_to(TOKENS[0][0, 0], (24, 24, 3)).copy()
    empty[10:12, 10:12] = 0
    assert "coverage" in codes(empty)
    full = TOKENS[0].copy()
    full[1:, 1:-1] = (0, 0, 0)
    assert "coverage" in codes(full)


def test_off_centre_subject() -> None:
    token = TOKENS[0]
    shifted = np.broadcast_to(token[0, 0], token.shape).copy()
    shifted[:, :14] = token[:, 8:22]  # the head moved 8 px left
    assert "off_centre" in codes(shifted)


def test_near_copy_of_a_training_image(tmp_path: Path) -> None:
    for n, token in enumerate(TOKENS[:3]):
        Image.fromarray(token).save(tmp_path / f"original-{n}.png")
    training = load_training_set(tmp_path, 24)
    copy = TOKENS[1].copy()
    copy[0, :5] = (0, 0, 0)  # 5 pixels changed
    reasons = verdict(upscale(copy, 512), training=training).reasons
    assert any(r.startswith("near_copy: 5 pixels from training image original-1.png") for r in reasons), reasons
    assert verdict(upscale(TOKENS[4], 512), training=training).accepted


def test_duplicate_reason() -> None:
    assert duplicate_reason("abc", {"abc": 7}) == "duplicate: same pixels as token 7"
    assert duplicate_reason("abd", {"abc": 7}) is None


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(BACKEND_MODULES, "flaky", "flaky_backend")
    flaky_backend.BLANK.clear()
    flaky_backend.NOISE.clear()
    return flaky_backend


def flaky_run(config_path: Path, out: Path, size: int = 12, **quality):
    config = load_config(config_path).override("collection", size=size).override("render", backend="flaky")
    return run_collection(config.override("quality", **quality), out=out, progress=False)


def test_a_rejected_render_is_kept_and_rendered_again(config_path: Path, tmp_path: Path, flaky) -> None:
    flaky.BLANK.update({(3, 0), (5, 0), (5, 1)})
    flaky.NOISE.add((8, 0))
    summary = flaky_run(config_path, tmp_path / "out")
    assert summary.failed == ()
    assert summary.rendered == 12 + 3 + 1  # round 0, then 3, 5, 8 again, then 5 once more
    assert summary.acceptance == pytest.approx(12 / 16)
    assert summary.top_reasons[0] == ("blank", 3)
    records = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert [(r["token_id"], r["attempt"], r["verdict"]) for r in records if r["token_id"] in (3, 5, 8)] == [
        (3, 0, "rejected"),
        (5, 0, "rejected"),
        (8, 0, "rejected"),
        (3, 1, "accepted"),
        (5, 1, "rejected"),
        (8, 1, "accepted"),
        (5, 2, "accepted"),
    ]
    assert records[-1]["seed"] != records[2]["seed"], "each attempt has its own seed"
    assert sorted(p.name for p in (tmp_path / "out" / "rejected").iterdir()) == ["3-0.png", "5-0.png", "5-1.png", "8-0.png"]
    with Image.open(tmp_path / "out" / "rejected" / "8-0.png") as kept:
        assert kept.size == (24, 24)
    rows = list(csv.DictReader((tmp_path / "out" / "rejects.csv").open()))
    assert [(row["token_id"], row["attempt"]) for row in rows] == [("3", "0"), ("5", "0"), ("8", "0"), ("5", "1")]
    assert rows[0]["reasons"].startswith("blank: the render is flat")
    assert len(list((tmp_path / "out" / "images").iterdir())) == 12


def test_a_token_out_of_attempts_is_reported_and_the_run_goes_on(config_path: Path, tmp_path: Path, flaky) -> None:
    flaky.BLANK.update({(4, attempt) for attempt in range(3)})
    summary = flaky_run(config_path, tmp_path / "out", max_attempts=3)
    assert summary.failed == (4,)
    out = tmp_path / "out"
    assert not (out / "images" / "4.png").exists() and not (out / "metadata" / "4.json").exists()
    assert len(list((out / "images").iterdir())) == 11


def test_the_filter_can_be_switched_off(config_path: Path, tmp_path: Path, flaky) -> None:
    flaky.BLANK.add((2, 0))
    summary = flaky_run(config_path, tmp_path / "out", enabled=False)
    assert summary.failed == () and summary.rendered == 12
    with Image.open(tmp_path / "out" / "images" / "2.png") as image:
        assert np.asarray(image).max() == 0


def test_a_run_with_retries_resumes_byte_identical(config_path: Path, tmp_path: Path, flaky) -> None:
    flaky.BLANK.update({(3, 0), (5, 0), (5, 1), (9, 0)})
    flaky_run(config_path, tmp_path / "whole")
    cut = tmp_path / "cut"
    flaky_run(config_path, cut)
    lines = (cut / "manifest.jsonl").read_text().splitlines(keepends=True)
    (cut / "manifest.jsonl").write_text("".join(lines[:14]))  # killed in round 1, after token 3's retry
    flaky_run(config_path, cut)
    assert folder_bytes(cut) == folder_bytes(tmp_path / "whole")


def test_a_duplicate_render_is_moved_to_rejected(config_path: Path, tmp_path: Path, flaky, monkeypatch) -> None:
    from generator.plan.plan import plan_collection
    from generator.plan.rules import compile_rules
    from generator.plan.traits import load_traits

    config = load_config(config_path)
    tables = load_traits(config)
    plan = {t.token_id: t.combo for t in plan_collection(tables, compile_rules(config.rules, tables), 12, 42, "weighted", 1)}
    first, twin = next((a, b) for a in plan for b in plan if a < b and plan[a][0] == plan[b][0])  # same background
    original = flaky.FlakyRenderer.render

    def render_twin_like_first(self, jobs):
        pixels = original(self, jobs)
        for i, job in enumerate(jobs):
            if job.token_id == twin and job.attempt == 0:
                pixels[i] = self.sprites.layers.composite(np.array([plan[first]]))[0]
        return pixels

    monkeypatch.setattr(flaky.FlakyRenderer, "render", render_twin_like_first)
    summary = flaky_run(config_path, tmp_path / "out", min_trait_match=0.0)  # the twin shows token 1's traits, too
    assert summary.failed == () and summary.top_reasons == (("duplicate", 1),)
    assert (tmp_path / "out" / "rejected" / f"{twin}-0.png").exists()
    records = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert [r["reasons"] for r in records if r["token_id"] == twin] == [[f"duplicate: same pixels as token {first}"], []]


def claim_for(combo: tuple[int, ...]):
    from generator.pixels.measures import Claim
    from generator.plan.traits import load_traits
    from generator.render.layers import load_layers

    config = load_config(REPO / "traits" / "collection.toml")
    tables = load_traits(config)
    pixels, owner = load_layers(config, tables).expectation(combo)
    return Claim(pixels, owner, tuple((t.key, t.values[i].name) for t, i in zip(tables, combo, strict=True))), tables


@pytest.mark.parametrize(("trait", "claimed_name"), [("hair", "Mohawk Blonde"), ("eyes", "Green"), ("type", "Alien")])
def test_the_trait_check_catches_a_claim_the_render_does_not_show(trait: str, claimed_name: str) -> None:
    truth_claim, tables = claim_for((0, 0, 0, 0, 0, 0))  # Slate, Light, Mohawk Black, Brown eyes, Neutral, None
    position = next(i for i, t in enumerate(tables) if t.key == trait)
    claimed = [0] * len(tables)
    claimed[position] = tables[position].index_of(claimed_name)
    wrong_claim, _ = claim_for(tuple(claimed))
    rng = np.random.default_rng(9)
    render = degrade(truth_claim.pixels, Degradation.random(rng), rng)
    recovery = recover(render, 24, PALETTE, expected_background=truth_claim.pixels[0, 0])
    assert assess(render, recovery, SETTINGS, claim=truth_claim).accepted
    reasons = assess(render, recovery, SETTINGS, claim=wrong_claim).reasons
    assert [reason.split(":")[0] for reason in reasons] == [f"trait_{trait}"], reasons
    assert claimed_name in reasons[0]


def shipped_token(combo: tuple[int, ...] = (0, 0, 0, 0, 0, 0)) -> tuple[np.ndarray, np.ndarray]:
    """A token as the shipped layers draw it (Slate, Light, Mohawk Black, …), and its background cells."""
    claim, _ = claim_for(combo)
    return claim.pixels, claim.owner == 0


@pytest.mark.parametrize(
    ("spoil", "expected"),  # expected: any of these codes
    [
        ("blur", {"soft_edges"}),
        ("wrong_pitch", {"soft_edges", "rough_cells"}),
        ("background", {"background_texture"}),
        ("clutter", {"stray_cells"}),
        ("off_centre", {"sideways", "floating"}),
    ],
)
def test_each_structure_check_catches_its_failure_without_layer_art(spoil: str, expected: set[str]) -> None:
    """bench/failures.py's classes, judged with no claim and no asked-for background, as a collection without layers."""
    import failures

    art, background = shipped_token()
    rng = np.random.default_rng(4)
    render = failures.FAILURES[spoil](art, background, rng)
    assert expected & codes(render), codes(render)
    assert verdict(failures.good(art, background, rng)).accepted


def test_a_speckled_face_and_a_portrait_off_its_place() -> None:
    art, background = shipped_token()
    rng = np.random.default_rng(5)
    speckled = art.copy()
    face = ~background & (rng.random(background.shape) < 0.4)
    speckled[face] = art[rng.integers(0, 24, face.sum()), rng.integers(0, 24, face.sum())]
    assert "speckled" in codes(upscale(speckled, 512))
    floating = np.broadcast_to(art[0, 0], art.shape).copy()
    floating[:-4] = art[4:]  # the portrait moved up 4 rows: its neck no longer stands on the bottom edge
    assert "floating" in codes(upscale(floating, 512))
    sideways = np.broadcast_to(art[0, 0], art.shape).copy()
    sideways[:, :-5] = art[:, 5:]  # moved 5 columns left
    assert "sideways" in codes(upscale(sideways, 512))


def test_layers_catch_clutter_and_small_swaps_the_other_checks_miss() -> None:
    """A hair-coloured cell beside the head where the layers leave background; an accessory the claim does not name."""
    claim, tables = claim_for((0, 0, 0, 0, 0, 0))
    cluttered = claim.pixels.copy()
    row, col = 12, int(np.flatnonzero(claim.owner[12] > 0)[0]) - 1  # left of the face: on the palette, touching it
    cluttered[row, col] = claim.pixels[claim.owner == 2][0]
    recovery = recover(upscale(cluttered, 512), 24, PALETTE, expected_background=claim.pixels[0, 0])
    assert [r.split(":")[0] for r in assess(upscale(cluttered, 512), recovery, SETTINGS, claim=claim).reasons] == [
        "background_leak"
    ]
    accessory = next(i for i, t in enumerate(tables) if t.key == "accessory")
    drawn, _ = claim_for(tuple(tables[accessory].index_of("Gold Chain") if i == accessory else 0 for i in range(6)))
    render = upscale(drawn.pixels, 512)
    recovery = recover(render, 24, PALETTE, expected_background=claim.pixels[0, 0])
    reasons = assess(render, recovery, SETTINGS, claim=claim).reasons
    assert reasons and all(r.startswith(("trait_", "background_leak")) for r in reasons), reasons


def test_off_palette_cells_touching_the_figure() -> None:
    """Clutter the silhouette cannot tell apart (it touches the face) still shows as colours the palette lacks."""
    art, background = shipped_token()
    for row in (12, 13):
        art[row, np.flatnonzero(~background[row])[0] - 1] = (0, 255, 0)
    assert codes(upscale(art, 512)) == {"rough_cells"}


def test_portrait_heuristics_judge_renders_not_layer_art_as_drawn() -> None:
    """A detached pixel is clutter in a render, but a sprite token shows exactly what its creator drew."""
    art, background = shipped_token()
    art[3, 3] = art[~background][0]
    assert "stray_cells" not in codes(art)
    assert "stray_cells" in codes(upscale(art, 512))


# ── art drawn at token size is judged a block at a time, exactly as one token at a time ─────────────────


def drawn_cases() -> list[tuple[np.ndarray, np.ndarray | None, Claim | None]]:
    """(token, background asked for, claim): every kind of verdict drawn art can get, and the cases that read
    the background or the claim differently."""
    rng = np.random.default_rng(5)
    cases: list[tuple[np.ndarray, np.ndarray | None, Claim | None]] = []
    for token in TOKENS:
        subject = (token != token[0, 0]).any(axis=-1)
        owner = subject.astype(np.int16)
        cases.append((token, token[0, 0], None))
        cases.append((token, None, None))
        cases.append((token, np.array([200, 30, 30], dtype=np.uint8), None))  # another background asked for
        cases.append((token, token[0, 0], Claim(token, owner, (("background", "a"), ("type", "b")))))
        repainted = token.copy()
        repainted[subject & (rng.random(subject.shape) < 0.3)] = (0, 255, 0)  # trait cells unlike their claim
        cases.append((repainted, token[0, 0], Claim(token, owner, (("background", "a"), ("type", "b")))))
        cases.append((np.roll(token, 7, axis=1), token[0, 0], None))  # off centre, background split
        walled = token.copy()
        walled[:, 0] = rng.integers(0, 256, (24, 3))  # a border of many colours
        cases.append((walled, token[0, 0], None))
    cases.append((np.zeros((24, 24, 3), dtype=np.uint8), None, None))  # blank
    cases.append((np.full((24, 24, 3), (220, 20, 20), dtype=np.uint8), None, None))  # flat red: blank too
    cases.append((rng.integers(0, 256, (24, 24, 3), dtype=np.uint8), None, None))  # noise: no background at all
    return cases


@pytest.mark.parametrize("trait_match", [0.0, SETTINGS.min_trait_match])
def test_a_block_of_drawn_tokens_gets_the_verdicts_each_token_gets_alone(trait_match: float) -> None:
    cases = drawn_cases()
    settings = QualitySettings(min_trait_match=trait_match)
    training = TrainingSet(("a.png", "b.png"), np.stack([TOKENS[0], TOKENS[1]]))
    tokens = np.stack([token for token, _, _ in cases])
    block = judge_drawn(tokens, [asked for _, asked, _ in cases], settings, training, [claim for _, _, claim in cases])
    alone = [assess(t, drawn_recovery(t, asked), settings, training, claim) for t, asked, claim in cases]
    assert [v.reasons for v in block] == [v.reasons for v in alone]
    assert [v.metrics for v in block] == [v.metrics for v in alone]
    reasons = {reason.split(":")[0] for verdict in alone for reason in verdict.reasons}
    drawn = {"blank", "background_color", "background_uniformity", "off_centre", "sideways", "colors", "coverage", "near_copy"}
    assert reasons == drawn | ({"trait_type", "trait_cells"} if trait_match else set())  # the cases reach every verdict
