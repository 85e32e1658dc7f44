"""``punkgen compare``: finished runs of one plan beside the creator's originals (issue 29, "the comparison study").

The originals are made here from a sprite run's own tokens, so every figure is known: ``a.png`` is token 1 as it
is, ``b.png`` token 2 with 5 pixels painted magenta (a colour no sprite draws), ``c.png`` token 3 with 30. A second
"epoch" is a copy of the run where token 4 was replaced by ``b.png``: it memorised an original.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import collection_args, made_collection, refused, run_cli
from PIL import Image

from generator.run.lock import folder_lock

N = 8
MAGENTA = (255, 0, 255)
RED = (255, 90, 90)  # a near-copy's distance on the sheet
SCALE = 8  # 8 rows of 24-px pairs: two bands, 139 px high with the border, so 2,048 // 139 → capped at 8×


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def painted(token: np.ndarray, count: int) -> np.ndarray:
    """``token`` with its first ``count`` pixels (row by row, from the top left: background) painted magenta."""
    copy = token.copy()
    copy.reshape(-1, 3)[:count] = MAGENTA
    return copy


@pytest.fixture
def run(config_path: Path, tmp_path: Path) -> Path:
    return made_collection(config_path, tmp_path / "epoch-1", N)


@pytest.fixture
def originals(run: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "originals"
    folder.mkdir()
    Image.fromarray(pixels(run / "images" / "1.png")).save(folder / "a.png")
    Image.fromarray(painted(pixels(run / "images" / "2.png"), 5)).save(folder / "b.png")
    Image.fromarray(painted(pixels(run / "images" / "3.png"), 30)).save(folder / "c.png")
    return folder


@pytest.fixture
def memorised(run: Path, originals: Path, config_path: Path, tmp_path: Path) -> Path:
    """The same plan, a later "epoch": token 4 is now original b exactly."""
    epoch = tmp_path / "epoch-2"
    shutil.copytree(run, epoch)
    result = run_cli("replace", epoch, 4, "--image", originals / "b.png", "--config", config_path)
    assert result.exit_code == 0, result.output
    return epoch


def colours(images: list[np.ndarray]) -> set[tuple[int, ...]]:
    return {tuple(int(c) for c in pixel) for image in images for pixel in image.reshape(-1, 3)}


def brute_nearest(token: np.ndarray, originals: Path) -> tuple[str, int]:
    """The original with the fewest differing pixels, one by one: what the near-copy guard counts."""
    found = [(int((pixels(path) != token).any(axis=-1).sum()), path.name) for path in sorted(originals.iterdir())]
    distance, name = min(found)
    return name, distance


def test_one_run_figures_are_the_originals_known_numbers(run: Path, originals: Path, config_path: Path) -> None:
    result = run_cli("compare", run, "--originals", originals, "--config", config_path)
    assert result.exit_code == 0, result.output
    report = json.loads((run / "compare" / "report.json").read_text())
    (figures,) = report["runs"]
    tokens = [pixels(run / "images" / f"{t}.png") for t in range(1, N + 1)]
    nearest = {entry["token_id"]: (entry["original"], entry["distance"]) for entry in figures["nearest"]}
    assert (nearest[1], nearest[2], nearest[3]) == (("a.png", 0), ("b.png", 5), ("c.png", 30))
    assert nearest == {t: brute_nearest(tokens[t - 1], originals) for t in range(1, N + 1)}
    palette = colours([pixels(path) for path in originals.iterdir()])
    used = colours(tokens)
    assert MAGENTA in palette and MAGENTA not in used
    assert (figures["palette_used"], figures["palette_total"]) == (len(used & palette), len(palette))
    assert figures["palette_used"] == len(palette) - 1, "every colour of the originals but the painted magenta"
    assert figures["new_colours"] == sorted(f"#{r:02x}{g:02x}{b:02x}" for r, g, b in used - palette)
    counts = sorted(len(colours([token])) for token in tokens)  # 8 tokens: nearest-rank median is the 4th, p90 the 8th
    assert figures["colours_per_token"] == {"min": counts[0], "median": counts[3], "p90": counts[7], "max": counts[7]}
    distances = sorted(distance for _, distance in nearest.values())
    assert figures["nearest_distance"] == {"min": 0, "median": distances[3], "p90": distances[7], "max": distances[7]}
    assert figures["near_copies"] == sum(d < 24 for d in distances) >= 2, "tokens 1 and 2 are under 24 pixels"
    original_counts = sorted(len(colours([pixels(p)])) for p in originals.iterdir())
    low, middle, high = original_counts  # 3 originals: nearest-rank median is the 2nd, p90 the 3rd
    assert report["originals"]["colours_per_image"] == {"min": low, "median": middle, "p90": high, "max": high}
    assert report["originals"]["images"] == 3 and report["min_training_distance"] == 24
    lines = result.output.splitlines()
    assert lines[0].split() == ["originals", "epoch-1"] and lines[1].split() == ["images", "3", str(N)]
    assert lines[2].split()[-4:] == [str(len(palette)), str(figures["palette_used"]), "/", str(len(palette))]
    spread = figures["colours_per_token"]
    assert lines[4].split()[-1] == f"{spread['min']}/{spread['median']}/{spread['p90']}/{spread['max']}"
    assert lines[6].split()[-2:] == ["–", str(figures["near_copies"])] and "(< 24 pixels differ)" in lines[6]
    assert lines[7] == f"originals: {originals}"


def test_the_sheet_puts_each_token_beside_its_nearest_original(run: Path, originals: Path, config_path: Path) -> None:
    assert run_cli("compare", run, "--originals", originals, "--config", config_path).exit_code == 0
    sheet = np.asarray(Image.open(run / "compare" / "sheet.png").convert("RGB"))
    # 8 rows (token | original, a 7-px label) in two bands of 4, 12 px apart, a 7-px header: 110 × 137 px, a 1-px border, 8×
    assert sheet.shape == (139 * SCALE, 112 * SCALE, 3)
    for token_id, band, row, original in [(1, 0, 0, "a.png"), (2, 0, 1, "b.png"), (5, 1, 0, None)]:
        top, left = 1 + 7 + row * 33, 1 + band * 61
        tile = sheet[top * SCALE : (top + 24) * SCALE : SCALE, left * SCALE : (left + 24) * SCALE : SCALE]
        assert (tile == pixels(run / "images" / f"{token_id}.png")).all()
        beside = sheet[top * SCALE : (top + 24) * SCALE : SCALE, (left + 25) * SCALE : (left + 49) * SCALE : SCALE]
        name = original or brute_nearest(tile, originals)[0]
        assert (beside == pixels(originals / name)).all()
    label = sheet[(1 + 7 + 24 + 1) * SCALE, (1 + 49 - 3) * SCALE]  # token 1's distance, "0": the top of its glyph
    assert tuple(label) == RED, "0 pixels differ: a near-copy, in red"


def test_checkpoints_get_a_column_each_from_the_same_plan(
    run: Path, memorised: Path, originals: Path, config_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "study"
    result = run_cli("compare", run, "--checkpoints", memorised, "--originals", originals, "-o", out, "--config", config_path)
    assert result.exit_code == 0, result.output
    assert not (run / "compare").exists(), "-o puts everything there"
    first, second = json.loads((out / "report.json").read_text())["runs"]
    assert (first["name"], second["name"]) == ("epoch-1", "epoch-2")
    assert result.output.splitlines()[0].split() == ["originals", "epoch-1", "epoch-2"]
    assert second["palette_used"] == first["palette_used"] + 1, "token 4 brought the originals' magenta"
    assert second["near_copies"] == first["near_copies"] + 1
    assert second["nearest"][3] == {"token_id": 4, "original": "b.png", "distance": 0}
    assert first["nearest"][:3] == second["nearest"][:3] and first["nearest"][4:] == second["nearest"][4:]
    sheet = np.asarray(Image.open(out / "sheet.png").convert("RGB"))
    # two runs: a row is 49 + 4 + 49 px; 8 rows in two bands of 4: 216 × 137 px, a 1-px border, 8×
    assert sheet.shape == (139 * SCALE, 218 * SCALE, 3)
    top = 1 + 7 + 3 * 33  # token 4: band 0, row 3
    for left, expected in [(1, pixels(run / "images" / "4.png")), (1 + 53, pixels(originals / "b.png"))]:
        tile = sheet[top * SCALE : (top + 24) * SCALE : SCALE, left * SCALE : (left + 24) * SCALE : SCALE]
        assert (tile == expected).all()
    assert tuple(sheet[(top + 25) * SCALE, (1 + 53 + 49 - 3) * SCALE]) == RED, "epoch-2's token 4 copies b: 0, red"


def test_runs_of_another_plan_are_refused_naming_the_folder(
    run: Path, originals: Path, config_path: Path, tmp_path: Path
) -> None:
    reseeded = tmp_path / "reseeded"
    assert run_cli(*collection_args(config_path, reseeded, N), "--seed", 99).exit_code == 0
    line = refused("compare", run, "--checkpoints", reseeded, "--originals", originals, "--config", config_path)
    assert (
        line.startswith(f"Error: {reseeded}: token 1 has other traits than in {run} (") and "--checkpoints must be runs" in line
    )
    smaller = made_collection(config_path, tmp_path / "smaller", N - 2)
    line = refused("compare", run, "--checkpoints", smaller, "--originals", originals, "--config", config_path)
    assert line.startswith(f"Error: {smaller} holds tokens 1–6, {run} 1–8: --checkpoints must be runs of the same plan")
    assert not (run / "compare").exists()


def test_bad_originals_are_one_line_naming_the_path(run: Path, originals: Path, config_path: Path, tmp_path: Path) -> None:
    def compare_with(folder: Path) -> str:
        return refused("compare", run, "--originals", folder, "--config", config_path)

    assert (
        compare_with(tmp_path / "gone")
        == f"Error: {tmp_path / 'gone'}: --originals is not a folder; point it at the 24×24 originals"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no art here")
    assert compare_with(empty) == f"Error: {empty}: no images in --originals (PNG, GIF, BMP or WebP)"
    Image.new("RGB", (32, 32)).save(originals / "big.png")
    assert compare_with(originals) == f"Error: {originals / 'big.png'}: 32×32, expected 24×24 originals in --originals"
    (originals / "big.png").write_bytes(b"not a png")
    assert compare_with(originals).startswith(f"Error: {originals / 'big.png'}: not a readable image; remove it from --originals")
    line = refused("compare", run, "--originals", originals, "-o", originals / "sheets", "--config", config_path)
    assert line.startswith(f"Error: {originals / 'sheets'} is inside the originals folder {originals}")
    line = refused("compare", run, "--originals", originals, "-o", run / "images", "--config", config_path)
    assert line.startswith(f"Error: {run / 'images'} is among the files of the collection folder {run}")
    assert not (run / "compare").exists() and not (originals / "sheets").exists()


def test_a_folder_that_is_no_finished_collection_is_refused(
    run: Path, originals: Path, config_path: Path, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    line = refused("compare", plain, "--originals", originals, "--config", config_path)
    assert line.startswith(f"Error: {plain} is not a collection folder")
    line = refused("compare", run, "--checkpoints", tmp_path / "gone", "--originals", originals, "--config", config_path)
    assert line.startswith(f"Error: {tmp_path / 'gone'}: no such collection folder")
    with folder_lock(run, "a run"):  # a collection run or an export still writing it
        line = refused("compare", run, "--originals", originals, "--config", config_path)
    assert line.startswith(f"Error: {run} is in use by another punkgen process (pid {os.getpid()}")
    manifest = run / "manifest.jsonl"
    manifest.write_text("".join(manifest.read_text().splitlines(keepends=True)[:-1]))  # the last token never finished
    line = refused("compare", run, "--originals", originals, "--config", config_path)
    assert line.startswith(f"Error: {run} holds 7 of 8 tokens (missing ")
    assert not (run / "compare").exists() and not (plain / "compare").exists()


@pytest.mark.slow
def test_two_tiny_model_checkpoints_compare_by_their_own_pixels(
    config_path: Path, tiny_sd_dir: Path, originals: Path, tmp_path: Path
) -> None:
    """Two LoRA "epochs" (random kohya LoRAs, seeds 0 and 1) render the same plan; each column is its own pixels."""
    from test_diffusion import write_kohya_lora

    text = config_path.read_text().replace("stable-diffusion-v1-5/stable-diffusion-v1-5", str(tiny_sd_dir))
    for old, new in [("batch_size = 8", "batch_size = 3\nthreads = 1"), ("width = 512", "width = 64")]:
        text = text.replace(old, new)
    text = (
        text.replace("height = 512", "height = 64")
        .replace("steps = 30", "steps = 2")
        .replace('device = "auto"', 'device = "cpu"')
    )
    epochs = []
    for seed in (0, 1):
        lora = write_kohya_lora(tiny_sd_dir, tmp_path / f"lora-{seed}.safetensors", seed=seed)
        config_path.write_text(text.replace("../models/bespoke_punks_sd15_512-000002.safetensors", str(lora)))
        epochs.append(tmp_path / f"lora-epoch-{seed}")
        args = collection_args(config_path, epochs[-1], 3, "--backend", "diffusion", "--no-filter")
        made = run_cli(*args)
        assert made.exit_code == 0, made.output
    out = tmp_path / "study"
    result = run_cli(
        "compare", epochs[0], "--checkpoints", epochs[1], "--originals", originals, "-o", out, "--config", config_path
    )
    assert result.exit_code == 0, result.output
    runs = json.loads((out / "report.json").read_text())["runs"]
    for epoch, figures in zip(epochs, runs, strict=True):
        expected = [brute_nearest(pixels(epoch / "images" / f"{t}.png"), originals) for t in (1, 2, 3)]
        assert [(entry["original"], entry["distance"]) for entry in figures["nearest"]] == expected
    assert runs[0]["nearest"] != runs[1]["nearest"] or runs[0]["new_colours"] != runs[1]["new_colours"], (
        "two LoRAs render two different sets of tokens"
    )
