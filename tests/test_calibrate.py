"""``punkgen quality calibrate``: thresholds from renders the creator calls good, so a model whose good renders the
bench's defaults reject gets a filter that accepts them and still catches the bad ones."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import collection_args, edit, refused, run_cli
from degrade import Degradation, degrade
from PIL import Image
from test_quality import PALETTE, claim_for

from generator.config import QualitySettings, load_config
from generator.pixels.quality import assess
from generator.pixels.recovery import recover
from generator.pixels.thresholds import limits, suggest
from generator.plan.plan import plan_collection
from generator.plan.rules import compile_rules
from generator.plan.traits import load_traits

SIDE = 384  # px: a grain of σ 12 reads each 16 px cell exactly, where 128 px cells (5.3 px) lose a few


def drifted(art: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A render as a grainy model may make it, cells and palette intact: noise of σ 12 levels and a slight tint, a
    smooth colour drift of 2–5 levels a channel across the image and texture of σ 1.5 levels inside the cells
    (bench/degrade.py's). The filter reads the token through the drift and texture (issue 29), but the grain inside
    every background cell is above the default max_background_roughness (10): the defaults reject nearly all."""
    how = Degradation(
        size=SIDE,
        noise=12.0,
        gain=tuple(float(v) for v in rng.uniform(0.98, 1.02, 3)),
        offset=tuple(float(v) for v in rng.uniform(-4, 4, 3)),
        drift=tuple(float(v) for v in rng.uniform(2.0, 5.0, 3)),
        drift_seed=int(rng.integers(2**31)),
        texture=1.5,
    )
    return degrade(art, how, rng)


def planned(config_path: Path, count: int, seed: int) -> list[tuple[int, ...]]:
    config = load_config(config_path)
    tables = load_traits(config)
    return [t.combo for t in plan_collection(tables, compile_rules(config.rules, tables), count, seed, "weighted", 1)]


def recovered(renders):
    """Each render with its recovery, as a run with layer art makes it (the asked-for background and the layers' token
    known): once, for every verdict a test asks of it."""
    return [
        (render, recover(render, 24, PALETTE, expected_background=claim.pixels[0, 0], expected=claim.pixels), claim)
        for render, claim in renders
    ]


def share_rejected(renders, settings: QualitySettings) -> float:
    """Judged as a run with layer art judges them: against their claims."""
    return sum(not assess(render, recovery, settings, None, claim).accepted for render, recovery, claim in renders) / len(renders)


def false_rejects(renders, settings: QualitySettings) -> float:
    """The share of renders recovered pixel-exact that are rejected all the same (the bench's false rejects)."""
    exact = [(render, recovery, claim) for render, recovery, claim in renders if (recovery.pixels == claim.pixels).all()]
    return share_rejected(exact, settings)


def wrong_accepted(renders, settings: QualitySettings) -> int:
    """Tokens with a wrong pixel that the settings let through."""
    return sum(
        assess(render, recovery, settings, None, claim).accepted and not (recovery.pixels == claim.pixels).all()
        for render, recovery, claim in renders
    )


def made(combos, rng, spoil=lambda art, claim: art):
    """A drifted render of each trait set (its art spoilt first by ``spoil``), with the set's claim."""
    renders = []
    for combo in combos:
        claim, _ = claim_for(combo)
        renders.append((drifted(spoil(claim.pixels.copy(), claim), rng), claim))
    return renders


def moved_sideways(art: np.ndarray, claim) -> np.ndarray:
    """The portrait 5 cells to the right, the background filling what it leaves."""
    moved = np.broadcast_to(art[0, 0], art.shape).copy()
    moved[:, 5:] = art[:, :-5]
    return moved


def cluttered(art: np.ndarray, claim) -> np.ndarray:
    """A 2×2 blob of one colour the palette lacks on background cells by the top corner."""
    art[2:4, 2:4] = (37, 201, 88)
    return art


@pytest.mark.slow
def test_calibrating_on_40_good_renders_ends_the_false_rejects_of_300_more(config_path: Path, tmp_path: Path) -> None:
    """The issue's test: renders of one kind the defaults reject most of; calibrate on 40, --write, then 300 more
    are judged with the written settings, and clutter and a portrait moved sideways are still caught."""
    rng = np.random.default_rng(29)
    combos = planned(config_path, 340, seed=5)
    folder = tmp_path / "good"
    folder.mkdir()
    first = made(combos[:40], rng)
    for number, (render, _) in enumerate(first):
        Image.fromarray(render).save(folder / f"{number:03d}.png")
    assert share_rejected(recovered(first), QualitySettings()) >= 0.9  # 40 of 40 here: the defaults reject most of this kind
    result = run_cli("quality", "calibrate", folder, "--config", config_path, "--write", "--quiet")
    assert result.exit_code == 0, result.output
    assert f"written to [quality] of {config_path}: " in result.output
    calibrated = load_config(config_path).quality
    assert calibrated == replace(QualitySettings(), max_background_roughness=13.3)  # only what the defaults failed
    kept = [
        line
        for line in result.output.splitlines()
        if line.endswith("kept: these renders recovered to wrong pixels; look at them")
    ]
    assert [line.split()[0] for line in kept] == ["max_background_outlier", "max_split_cells"]  # wrong tokens: never loosened
    more = recovered(made(combos[40:], rng))
    assert share_rejected(more, QualitySettings()) >= 0.9  # 300 of 300
    assert share_rejected(more, calibrated) <= 0.01  # 2 of 300, both tokens recovery got wrong
    assert false_rejects(more, calibrated) == 0.0  # of the 298 recovered pixel-exact, none
    assert wrong_accepted(more, calibrated) == 0
    assert share_rejected(recovered(made(combos[:20], rng, moved_sideways)), calibrated) == 1.0
    assert share_rejected(recovered(made(combos[20:40], rng, cluttered)), calibrated) == 1.0


def test_the_table_shows_every_setting_its_rule_and_what_it_could_not_measure(config_path: Path, tmp_path: Path) -> None:
    """Files given one by one, of any shape a UI renders (one here is 192×128: cells 8 px wide, 5.3 tall)."""
    rng = np.random.default_rng(3)
    for number, (render, _) in enumerate(made(planned(config_path, 6, seed=1), rng)):
        Image.fromarray(render).save(tmp_path / f"{number}.png")
    with Image.open(tmp_path / "0.png") as square:
        square.resize((192, 128), Image.Resampling.NEAREST).save(tmp_path / "wide.png")
    before = config_path.read_bytes()
    result = run_cli(
        "quality", "calibrate", *sorted(tmp_path.glob("*.png")), "--config", config_path, "--margin", "0.5", "--quiet"
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(
        "7 good renders; suggested: the default where it accepts them all, else the worst good value plus 50%"
    )
    rows = {line.split()[0]: line for line in lines[2:]}
    background = rows["max_background_roughness"].split()
    assert background[1] == "background_texture" and background[-3] == "✗" and int(background[-4]) >= 1 and background[-1] == "←"
    assert "not measured: needs the traits each render was asked for" in rows["max_unlike_cells"]
    assert "not measured: needs [quality].training_dir" in rows["min_training_distance"]
    assert config_path.read_bytes() == before  # no --write: the file is left alone


def test_write_keeps_the_files_comments_and_other_keys_and_deleting_the_keys_undoes_it(config_path: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    renders = tmp_path / "renders"
    renders.mkdir()
    for number, (render, _) in enumerate(made(planned(config_path, 5, seed=1), rng)):
        Image.fromarray(render).save(renders / f"{number}.png")
    before = config_path.read_text()
    result = run_cli("quality", "calibrate", renders, "--config", config_path, "--write", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"1 setting written to [quality] of {config_path}: max_background_roughness"
    after = config_path.read_text()
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == ["max_background_roughness = 13.0"]  # the worst of 5 (12.6) + 25 % of their range (11.5–12.6), outward
    assert [line for line in before.splitlines() if line not in after.splitlines()] == []  # comments and keys kept
    edit(config_path, "max_background_roughness = 13.0\n", "")  # undo: delete the key
    assert config_path.read_text() == before and load_config(config_path).quality == QualitySettings()
    edit(config_path, "max_off_centre = 0.2 ", "max_background_roughness = 11.0  # mine\nmax_off_centre = 0.2 ")
    assert run_cli("quality", "calibrate", renders, "--config", config_path, "--write", "--quiet").exit_code == 0
    assert "max_background_roughness = 13.0  # mine\nmax_off_centre = 0.2 " in config_path.read_text()


def test_an_unreadable_render_is_named_and_nothing_is_written(config_path: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    Image.fromarray(made(planned(config_path, 1, seed=1), rng)[0][0]).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"not a png")
    before = config_path.read_bytes()
    line = refused("quality", "calibrate", tmp_path, "--config", config_path, "--write")
    assert line.startswith(f"Error: {tmp_path / 'b.png'}: not a readable image")
    assert config_path.read_bytes() == before
    assert refused("quality", "calibrate", tmp_path / "nothing", "--config", config_path).endswith(
        "no such file or folder; pass render files, folders of them or a collection folder"
    )


def test_a_sprite_collection_kept_no_renders_to_calibrate_on(config_path: Path, tmp_path: Path) -> None:
    assert run_cli(*collection_args(config_path, tmp_path / "out", 3)).exit_code == 0
    line = refused("quality", "calibrate", tmp_path / "out", "--config", config_path)
    assert "its renders were not kept" in line and "pass the folder of renders your model made instead" in line


@pytest.mark.slow
def test_a_finished_import_collection_measures_the_checks_against_its_layers(config_path: Path, tmp_path: Path) -> None:
    """Its manifest names each accepted render's file and traits: the trait checks are measured too."""
    renders = tmp_path / "renders"
    renders.mkdir()
    for token_id, combo in enumerate(planned(config_path, 4, seed=42), start=1):
        art = claim_for(combo)[0].pixels
        Image.fromarray(np.asarray(Image.fromarray(art).resize((SIDE, SIDE), Image.Resampling.NEAREST))).save(
            renders / f"{token_id}-0.png"
        )
    edit(config_path, 'renders = ""', f'renders = "{renders}"')
    edit(config_path, 'backend = "auto"', 'backend = "import"')
    args = [str(a) for a in collection_args(config_path, tmp_path / "out", 4)]
    args[args.index("sprites")] = "import"
    assert run_cli(*args).exit_code == 0
    result = run_cli("quality", "calibrate", tmp_path / "out", "--config", config_path, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("4 good renders")
    unmeasured = [line.split()[0] for line in result.output.splitlines() if "not measured" in line]
    assert unmeasured == ["min_training_distance"]  # no [quality].training_dir; everything else, the claim's too
    matches = next(line for line in result.output.splitlines() if line.startswith("min_trait_match"))
    assert matches.endswith("no render gave a reading to judge: each passes it at any value")  # exact: all shown whole
    edit(config_path, f'renders = "{renders}"', 'renders = ""')  # a config that no longer says where they are
    line = refused("quality", "calibrate", tmp_path / "out", "--config", config_path)
    assert (
        line
        == f"Error: {tmp_path / 'out'}: made by the import backend; pass the --config whose [render].renders holds its renders"
    )
    unlike = next(line for line in result.output.splitlines() if line.startswith("max_unlike_cells"))
    assert unlike.split()[1:8] == ["trait_cells", "4", "0", "0", "0", "0", "0"]  # n, then min … max


def test_a_setting_moves_only_where_its_default_fails_a_good_render() -> None:
    """The rule the table states: the default where it accepts every good value, else the worst plus the margin's
    share of the range, outward to the setting's step and within its bounds."""
    by_name = {limit.setting: limit for limit in limits()}
    assert suggest(by_name["max_background_residual"], [1.0, 5.2, 9.5], 0.25) == 10  # all within the default
    assert suggest(by_name["max_background_residual"], [11.0, 12.0, 13.0], 0.25) == 13.5  # 13 + 0.25 × 2
    assert suggest(by_name["max_background_residual"], [11.0, 12.0, 13.0], 0.0) == 13.0
    assert suggest(by_name["max_rough_cells"], [0, 2, 3], 0.25) == 4  # 3.75, a count: up to 4
    assert suggest(by_name["min_subject_colors"], [3, 6, 9], 0.25) == 1  # 3 − 1.5, down to a whole count
    assert suggest(by_name["min_subject_colors"], [5, 6, 9], 0.25) == 4  # the default accepts all: kept
    assert suggest(by_name["max_isolated_share"], [0.1, 0.9], 0.5) == 1.0  # 1.3, a share: at most 1
    assert suggest(by_name["min_edge_sharpness"], [0.5, 0.7123], 0.0) == 0.5
    assert suggest(by_name["min_edge_sharpness"], [0.51234, 0.9], 0.0) == 0.512  # 3 significant digits, down


def test_a_check_that_finds_a_wrong_token_is_never_loosened() -> None:
    """A good render never fails split_cells, trait_twins or the background outlier: a render that does recovered to
    pixels its art does not have, so the default stays however many of the creator's renders fail it."""
    by_name = {limit.setting: limit for limit in limits()}
    wrong_token = {setting for setting, limit in by_name.items() if limit.check.wrong_token}
    assert wrong_token == {"max_split_cells", "max_twin_cells", "max_background_outlier"}
    assert suggest(by_name["max_split_cells"], [0, 3, 5], 0.25) == 0
    assert suggest(by_name["max_background_outlier"], [14.0, 20.0], 0.25) == 13.0
    assert suggest(by_name["max_background_residual"], [14.0, 20.0], 0.25) == 21.5  # a noise row still moves
