"""Curation through the CLI: reroll (on the tiny SD-shaped model and with fresh traits), replace, and what the
folder, resume, verify and export make of both."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, collection_args, edit, folder_bytes, manifest_records, run_cli
from PIL import Image
from test_diffusion import diffusion_config, lora_file  # noqa: F401  (fixtures: the tiny model, its LoRA, a config)
from test_interruptions import manifest_lines, wait_for_lines

from generator.config import load_config
from generator.plan.rules import compile_rules, is_valid
from generator.plan.traits import combo_of, load_traits

DIFFUSION = ("--backend", "diffusion", "--no-filter")


def records(out: Path) -> list[dict]:
    """The manifest's token lines (a curation request's closing ``done`` line is no token's)."""
    return [line for line in manifest_records(out) if line.get("event") != "done"]


def changed(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


# ── reroll ─────────────────────────────────────────────────────────────────────────────────────


def test_a_reroll_changes_exactly_its_tokens_and_repeats_in_a_copy(diffusion_config: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "out"
    assert run_cli(*collection_args(diffusion_config, out, 6), *DIFFUSION).exit_code == 0
    before, traits = folder_bytes(out), {r["token_id"]: r["traits"] for r in records(out)}
    shutil.copytree(out, tmp_path / "copy")
    reroll = ["reroll", out, 2, 5, "-n", 6, "--config", diffusion_config, "--quiet", *DIFFUSION]
    result = run_cli(*reroll)
    assert result.exit_code == 0, result.output
    assert "6 of 6 tokens" in result.output and "(2 renders with diffusion, 4 already done)" in result.output
    after = folder_bytes(out)
    assert changed(before, after) == {
        "images/2.png",
        "images/5.png",
        "rejected/2-0.png",
        "rejected/5-0.png",
        "manifest.jsonl",
        "contact_sheet.png",
        "rejects.csv",
    }  # the metadata keeps its bytes: same traits
    assert after["rejected/2-0.png"] == before["images/2.png"], "the replaced render is kept under rejected/"
    new = records(out)[6:]
    assert [(r.get("event"), r["token_id"], r["attempt"]) for r in new] == [
        ("reroll", 2, 0),
        ("reroll", 5, 0),
        (None, 2, 1),
        (None, 5, 1),
    ]
    assert all(r["traits"] == traits[r["token_id"]] for r in new)
    assert manifest_records(out)[-1] == {"event": "done", "request": 1}, "the reroll's completion is recorded after its reports"
    assert run_cli(*reroll[:1], tmp_path / "copy", *reroll[2:]).exit_code == 0
    assert folder_bytes(tmp_path / "copy") == after, "the same reroll of a copy gives the same bytes"
    assert run_cli("verify", out, "--config", diffusion_config).exit_code == 0
    assert "nothing new to render" in run_cli(*collection_args(diffusion_config, out, 6), *DIFFUSION).output


def test_reroll_refuses_flags_that_did_not_make_the_folder(diffusion_config: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "out"
    assert run_cli(*collection_args(diffusion_config, out, 4), *DIFFUSION).exit_code == 0
    before = folder_bytes(out)
    result = run_cli("reroll", out, 1, "-n", 4, "--config", diffusion_config, *DIFFUSION, "--steps", 3)
    assert result.exit_code == 2 and "was made by another run" in result.output and "--steps" in result.output
    missing = run_cli("reroll", out, 9, "-n", 4, "--config", diffusion_config, *DIFFUSION)
    assert missing.exit_code == 2 and "token 9 is not in this collection (ids 1–4)" in missing.output
    assert folder_bytes(out) == before


def test_reroll_with_fresh_traits_draws_distinct_rule_abiding_sets(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 40)).exit_code == 0
    before = {r["token_id"]: r["traits"] for r in records(out)}
    sprites = run_cli("reroll", out, 3, "-n", 40, "--config", config_path, "--backend", "sprites")
    assert sprites.exit_code == 2 and "pass --traits" in sprites.output
    chosen = [3, 7, 8, 21, 40]
    result = run_cli("reroll", out, *chosen, "-n", 40, "--config", config_path, "--backend", "sprites", "--traits")
    assert result.exit_code == 0, result.output
    config = load_config(config_path)
    tables = load_traits(config)
    rules = compile_rules(config.rules, tables)
    now = {r["token_id"]: r["traits"] for r in records(out)}  # the last line of each token wins
    assert all(now[t] != before[t] for t in chosen)
    assert all(now[t] == before[t] for t in before if t not in chosen)
    combos = [combo_of(tables, traits) for traits in now.values()]
    assert len(set(combos)) == 40 and all(is_valid(combo, rules) for combo in combos)
    for token_id in chosen:  # the metadata follows the new traits
        document = json.loads((out / "metadata" / f"{token_id}.json").read_text())
        assert {a["value"] for a in document["attributes"]} == set(now[token_id].values()) - {"None"}
    assert run_cli("verify", out, "--config", config_path).exit_code == 0


def test_a_reroll_killed_after_its_last_line_is_finished_not_repeated(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 30)).exit_code == 0
    shutil.copytree(out, tmp_path / "whole")
    reroll = ["reroll", "{out}", 4, 9, "-n", 30, "--config", config_path, "--backend", "sprites", "--traits", "--quiet"]
    run = lambda folder: run_cli(*[folder if arg == "{out}" else arg for arg in reroll])  # noqa: E731
    assert run(tmp_path / "whole").exit_code == 0
    assert run(out).exit_code == 0
    manifest = (out / "manifest.jsonl").read_bytes()  # killed after its last token line, before its reports
    (out / "manifest.jsonl").write_bytes(manifest[: manifest.rstrip(b"\n").rfind(b"\n") + 1])  # and its done line
    (out / "contact_sheet.png").unlink()
    (out / "rejects.csv").unlink()
    assert run(out).exit_code == 0
    assert folder_bytes(out) == folder_bytes(tmp_path / "whole"), "the interrupted reroll was finished, not repeated"
    count = manifest_lines(out)
    assert run(out).exit_code == 0 and manifest_lines(out) == count + 5, "after it finished, the same command rerolls again"


def test_fresh_traits_would_break_exact_counts(config_path: Path, tmp_path: Path) -> None:
    edit(config_path, 'sampling = "weighted"', 'sampling = "exact"')
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 20)).exit_code == 0
    result = run_cli("reroll", out, 3, "-n", 20, "--config", config_path, "--backend", "sprites", "--traits")
    assert result.exit_code == 2 and 'sampling = "exact" fixes every value\'s count' in result.output


@pytest.mark.slow
def test_a_reroll_killed_at_any_moment_finishes_byte_identical(config_path: Path, tmp_path: Path) -> None:
    """kill -9 in the middle of a reroll of 2,100 tokens (worker processes), then the same reroll again."""
    ids = list(range(200, 2300))
    command = ["reroll", "{out}", *ids, "-n", 2400, "--config", config_path, "--backend", "sprites", "--traits", "--quiet"]

    def reroll(out: Path) -> subprocess.Popen:
        args = [str(out) if arg == "{out}" else str(arg) for arg in command]
        return subprocess.Popen([sys.executable, "-m", "generator", *args], cwd=REPO, stderr=subprocess.PIPE, text=True)

    assert run_cli(*collection_args(config_path, tmp_path / "whole", 2400)).exit_code == 0
    shutil.copytree(tmp_path / "whole", tmp_path / "killed")
    assert reroll(tmp_path / "whole").wait(timeout=120) == 0
    for lines in (2400 + 1, 2400 + 2100, 2400 + 2100 + 900):  # among the reroll lines, then among the new attempts
        process = reroll(tmp_path / "killed")
        wait_for_lines(tmp_path / "killed", lines)
        process.kill()
        process.wait()
    assert manifest_lines(tmp_path / "killed") < 2400 + 2 * 2100, "the kills should land mid-reroll"
    finish = reroll(tmp_path / "killed")
    assert finish.wait(timeout=120) == 0, finish.stderr.read()
    assert folder_bytes(tmp_path / "killed") == folder_bytes(tmp_path / "whole")


# ── replace ────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def collection(config_path: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 8)).exit_code == 0
    return out


def hand_fixed(collection: Path, token_id: int, tmp_path: Path, scale: int = 1, colour=None) -> Path:
    pixels = np.asarray(Image.open(collection / "images" / f"{token_id}.png").convert("RGB")).copy()
    pixels[0, 0] = colour if colour is not None else pixels[0, 0] ^ 0  # an artist's touch: one pixel
    pixels[12, 12] = pixels[11, 11]
    path = tmp_path / f"fixed-{token_id}-{scale}.png"
    Image.fromarray(pixels.repeat(scale, 0).repeat(scale, 1)).save(path)
    return path


@pytest.mark.parametrize("scale", [1, 20])
def test_replace_takes_the_image_or_its_upscale_and_changes_only_that_token(
    collection: Path, config_path: Path, tmp_path: Path, scale: int
) -> None:
    before = folder_bytes(collection)
    source = hand_fixed(collection, 4, tmp_path, scale)
    result = run_cli("replace", collection, 4, "--image", source, "--config", config_path)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    after = folder_bytes(collection)
    assert changed(before, after) == {"images/4.png", "rejected/4-0.png", "manifest.jsonl", "contact_sheet.png"}
    assert after["rejected/4-0.png"] == before["images/4.png"], "the replaced render is kept"
    with Image.open(collection / "images" / "4.png") as image:
        assert image.size == (24, 24)
        assert np.array_equal(np.asarray(image.convert("RGB")), np.asarray(Image.open(source).convert("RGB"))[::scale, ::scale])
    last = records(collection)[-1]
    assert last["event"] == "replace" and last["token_id"] == 4
    assert last["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert last["sha256"] == hashlib.sha256(after["images/4.png"]).hexdigest()
    assert run_cli("verify", collection, "--config", config_path).exit_code == 0
    assert "nothing new to render" in run_cli(*collection_args(config_path, collection, 8)).output
    assert folder_bytes(collection) == after, "a resume never undoes a curation"
    assert run_cli("export", collection, "--config", config_path).exit_code == 0
    exported = Image.open(collection / "export" / "images" / "4.png").convert("RGB")
    assert np.array_equal(
        np.asarray(exported)[::20, ::20], np.asarray(Image.open(collection / "images" / "4.png").convert("RGB"))
    )


def test_replace_names_off_palette_colours_and_can_set_a_trait(collection: Path, config_path: Path, tmp_path: Path) -> None:
    source = hand_fixed(collection, 2, tmp_path, colour=(1, 2, 3))
    result = run_cli("replace", collection, 2, "--image", source, "--config", config_path, "--set", "Eyes=Shades")
    assert result.exit_code == 0, result.output
    assert "warning: 1 colour(s) not in [pixels].palette: #010203" in result.output
    document = json.loads((collection / "metadata" / "2.json").read_text())
    assert {"trait_type": "Eyes", "value": "Shades"} in document["attributes"]
    assert records(collection)[-1]["traits"]["eyes"] == "Shades"


@pytest.mark.parametrize(
    ("make", "extra", "expected"),
    [
        (lambda c, t: Image.new("RGB", (30, 30)).save(t / "x.png"), (), "30×30 is neither 24×24 nor an exact upscale"),
        (
            lambda c, t: Image.fromarray(np.random.default_rng(1).integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(
                t / "x.png"
            ),
            (),
            "is not an exact 2× NEAREST upscale",
        ),
        (lambda c, t: shutil.copyfile(c / "images" / "5.png", t / "x.png"), (), "shows the same pixels as token 5"),
        (lambda c, t: Image.new("RGBA", (24, 24)).save(t / "x.png"), (), "has transparent pixels"),
        (lambda c, t: (t / "x.png").write_bytes(b"not a png"), (), "not a readable image"),
        (lambda c, t: shutil.copyfile(c / "images" / "3.png", t / "x.png"), ("--set", "Eyes=Laser"), "'Laser' is not a value"),
        (lambda c, t: shutil.copyfile(c / "images" / "3.png", t / "x.png"), ("--set", "Eyes"), "write it as TRAIT=VALUE"),
        (
            lambda c, t: shutil.copyfile(c / "images" / "3.png", t / "x.png"),
            ("--set", "Accessory=Pipe", "--set", "Mouth=Smile"),
            "traits that [[rules]] #3 of",
        ),
    ],
)
def test_a_bad_replacement_is_one_line_and_changes_nothing(
    collection: Path, config_path: Path, tmp_path: Path, make, extra: tuple, expected: str
) -> None:
    make(collection, tmp_path)
    before = folder_bytes(collection)
    result = run_cli("replace", collection, 3, "--image", tmp_path / "x.png", "--config", config_path, *extra)
    assert result.exit_code == 2, result.output
    assert expected in result.output and len(result.output.strip().splitlines()) == 1
    assert folder_bytes(collection) == before


# ── 1/1s ───────────────────────────────────────────────────────────────────────────────────────


def legendary(folder: Path, name: str, colour: tuple[int, int, int], scale: int = 1) -> str:
    pixels = np.full((24, 24, 3), (30, 30, 40), dtype=np.uint8)
    pixels[4:20, 6:18] = colour
    pixels[8, 9] = pixels[8, 14] = (255, 255, 255)
    (folder / "legendaries").mkdir(exist_ok=True)
    Image.fromarray(pixels.repeat(scale, 0).repeat(scale, 1)).save(folder / "legendaries" / name)
    return f"legendaries/{name}"


def add_one_of_ones(config_path: Path, *entries: str) -> None:
    config_path.write_text(config_path.read_text() + "".join(f"\n[[one_of_one]]\n{entry}\n" for entry in entries))


def test_one_of_ones_take_seeded_and_fixed_ids_and_rank_first(config_path: Path, tmp_path: Path) -> None:
    king = legendary(config_path.parent, "king.png", (230, 180, 40), scale=20)
    queen = legendary(config_path.parent, "queen.png", (180, 40, 200))
    add_one_of_ones(
        config_path,
        f'image = "{king}"\nname = "Alien King"\nattributes = {{ Type = "Alien King", Hair = "Crown" }}',
        f'image = "{queen}"\nattributes = {{ Type = "Queen" }}\ntoken_id = 7',
    )
    out = tmp_path / "out"
    result = run_cli(*collection_args(config_path, out, 30))
    assert result.exit_code == 0, result.output
    assert "30 of 30 tokens" in result.output and "(28 renders with sprites, 2 1/1s)" in result.output
    ones = {r["token_id"]: r for r in records(out) if r.get("event") == "one_of_one"}
    seeded = next(t for t in ones if t != 7)
    assert sorted(ones) == sorted([7, seeded]) and 1 <= seeded <= 30
    king_doc = json.loads((out / "metadata" / f"{seeded}.json").read_text())
    assert king_doc["name"] == "Alien King"
    assert king_doc["attributes"] == [{"trait_type": "Type", "value": "Alien King"}, {"trait_type": "Hair", "value": "Crown"}]
    with Image.open(out / "images" / f"{seeded}.png") as image:
        assert image.size == (24, 24), "the 20× upscale is reduced"
    assert json.loads((out / "metadata" / "7.json").read_text())["name"] == "Bespoke Punks #7"
    assert len({r["token_id"] for r in records(out)}) == 30, "the 1/1s count towards N"
    assert run_cli("verify", out, "--config", config_path).exit_code == 0
    assert run_cli("rarity", out, "--config", config_path).exit_code == 0
    assert run_cli("export", out, "--config", config_path).exit_code == 0
    rarest = (out / "export" / "rarity.csv").read_text().splitlines()[1:3]
    assert {row.split(",")[0] for row in rarest} == {str(seeded), "7"}, "the 1/1s rank first"
    before = folder_bytes(out)
    (out / "images" / "7.png").unlink()  # resume writes a 1/1 again from its source
    assert "restored 1 token whose files were missing or altered: 7" in run_cli(*collection_args(config_path, out, 30)).output
    assert folder_bytes(out) == before


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('token_id = 3\n[[one_of_one]]\nimage = "{art}"\nattributes = {{ Type = "B" }}\ntoken_id = 3', "is also #1's"),
        ("token_id = 99", "is outside the collection's ids 1–10"),
        ('[[one_of_one]]\nimage = "{art}"\nattributes = {{ Type = "B" }}', "shows the same pixels as #1"),
        ('[[one_of_one]]\nimage = "{art}"\nattributes = {{ "" = "B" }}', "#2.attributes: '' should be non-empty"),
    ],
)
def test_a_one_of_one_id_that_clashes_or_falls_outside_is_refused(
    config_path: Path, tmp_path: Path, entry: str, expected: str
) -> None:
    art = legendary(config_path.parent, "a.png", (200, 30, 30))
    add_one_of_ones(config_path, f'image = "{art}"\nattributes = {{ Type = "A" }}\n' + entry.format(art=art))
    result = run_cli(*collection_args(config_path, tmp_path / "out", 10))
    assert result.exit_code == 2 and expected in result.output and "[[one_of_one]]" in result.output
    assert not (tmp_path / "out").exists()
