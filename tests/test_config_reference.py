"""One source per knob (issue 28): every setting's meaning, bounds or choices and default are declared once, in
``generator/schemas/config.schema.json``; the flags' help and types and ``docs/configuration.md`` come from there, and
what is still typed elsewhere (the dataclass defaults, the example ``traits/collection.toml``) is checked against it.
An unknown choice is refused where it is read, never taken for the default.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, refused, run_cli

from generator import config as config_module
from generator.cli import main
from generator.config import Config, load_config
from generator.pixels.recovery import recover
from generator.plan.plan import expected_shares, plan_collection
from generator.plan.rules import analyse, compile_rules
from generator.plan.traits import load_traits
from generator.schemas.declared import CONFIG
from generator.schemas.reference import flags_of, reference_page
from generator.toml_sections import plain

DOCS = REPO / "docs" / "configuration.md"
EXAMPLE = REPO / "traits" / "collection.toml"
REGENERATE = "run `make docs` (or the python -c line of its recipe) and commit docs/configuration.md"


def dataclass_defaults() -> dict[str, object]:
    """``[section].key`` → the field default of its dataclass in generator.config, as plain data (tuples as lists)."""
    found: dict[str, object] = {}
    for section in fields(Config):
        if section.name == "path":
            continue
        kind = getattr(config_module, type(section.default).__name__, None) if section.default is not MISSING else None
        kind = kind or _element_kind(section)
        for field in fields(kind):
            if field.name == "number":  # a [[rules]] entry's own position, for messages: no setting
                continue
            default = field.default_factory() if field.default_factory is not MISSING else field.default
            found[f"[{section.name}].{field.name}"] = plain(default)
    return found


def _element_kind(section) -> type:
    """The dataclass of a section whose annotation names it (``collection``, ``traits``, or a tuple's element)."""
    names = re.findall(r"\w+", str(section.type))
    return next(
        getattr(config_module, name) for name in names if hasattr(getattr(config_module, name, None), "__dataclass_fields__")
    )


def test_every_dataclass_default_is_the_schemas_default() -> None:
    declared = {s.name: (s.default if s.has_default else MISSING) for s in CONFIG.settings()}
    typed = dataclass_defaults()
    assert sorted(typed) == sorted(declared), "a setting exists in generator/config.py or the schema but not both"
    differing = {
        name: (typed[name], declared[name])
        for name in declared
        if typed[name] is not MISSING and not (typed[name] is None and declared[name] is MISSING)
        if typed[name] != declared[name] or type(typed[name]) is not type(declared[name])
    }
    assert not differing, f"dataclass default vs schema default: {differing}"


def test_every_setting_says_what_it_means() -> None:
    assert all(s.description.strip() for s in CONFIG.settings())


def test_the_committed_reference_is_the_generated_one() -> None:
    page = DOCS.read_text(encoding="utf-8")
    assert page == reference_page(page, flags_of(main)), f"docs/configuration.md is out of date: {REGENERATE}"


def test_the_reference_lists_every_setting_with_its_default_bounds_and_flags() -> None:
    page = DOCS.read_text(encoding="utf-8")
    rows = {
        tuple(cell.strip() for cell in line.strip("|").split(" | ")[:4]) for line in page.splitlines() if line.startswith("| `")
    }
    assert ("`steps`", "`30`", "integer ≥ 1", "`--steps` (collection, reroll)") in rows
    assert ("`scale`", "`20`", "integer ≥ 1, ≤ 64", "`--scale` (export)") in rows
    assert ("`method`", '`"mode"`', "`mode`, `nearest`", "–") in rows
    assert ("`width`", "`512`", "integer ≥ 64, multiple of 8", "`--render-size` (collection, reroll)") in rows
    assert sum(line.startswith("| `") for line in page.splitlines()) == len(
        CONFIG.settings()
    )  # [[rules]] and [[depth]] share a `when` row


def test_a_flag_help_names_its_setting_and_the_schemas_default() -> None:
    result = run_cli("collection", "--help")
    text = " ".join(result.output.split())
    assert "Denoising steps [default: [render].steps, else 30]" in text
    assert "Render width and height in pixels [default: [render].width, else 512; [render].height, else 512]" in text
    export = " ".join(run_cli("export", "--help").output.split())
    assert "[default: [export].scale, else 20] [1<=x<=64]" in export


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # bounds come from the schema: the file refuses 300, so pixelate's --size did not (it had min=4, no max)
        (["pixelate", "in", "out", "--size", "300"], "Invalid value for '--size': 300 is not in the range 4<=x<=256"),
        # --render-size took 65, which the file refuses (SD's latents are 1/8 size)
        (["collection", "--render-size", "100"], "Invalid value for '--render-size': 100 is not a multiple of 8"),
        (["export", "f", "--scale", "65"], "Invalid value for '--scale': 65 is not in the range 1<=x<=64"),
    ],
)
def test_a_flag_accepts_what_the_file_accepts(args: list[str], expected: str) -> None:
    assert expected in refused(*args)


def test_every_key_of_the_example_is_declared_even_commented_out() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    names = {s.name for s in CONFIG.settings()}
    section, seen = "", set()
    for line in text.splitlines():
        header = re.match(r"^\[\[?(\w+)\]\]?", line)
        if header:
            section = header.group(1)
        key = re.match(r"^#? ?(\w+) = ", line)
        if key and section:
            seen.add(f"[{section}].{key.group(1)}")
    assert seen - names == set(), "keys of traits/collection.toml the schema does not declare"
    data = tomllib.loads(text)
    written = {f"[{name}].{key}" for name, table in data.items() for key in (table[0] if isinstance(table, list) else table)}
    assert written <= seen and "[export].unrevealed_name" in seen  # the parse found every key, commented ones too
    load_config(EXAMPLE)  # and its values pass the schema


def test_choices_listed_in_the_example_comments_are_the_schemas() -> None:
    """``backend = "auto"  # auto | sprites | …``: a list of choices beside a key names exactly the schema's."""
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    checked = 0
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r'^(\w+) = "[^"]*"\s+# (.*\|.*)$', line)
        if not match:
            continue
        section = next(name for name, table in data.items() if isinstance(table, dict) and match.group(1) in table)
        listed = [part.strip().split(":")[0].split()[0] for part in match.group(2).split("|")]
        assert listed == CONFIG.setting(f"{section}.{match.group(1)}").rules["enum"], line
        checked += 1
    assert checked >= 4


def test_every_scheduler_choice_has_its_diffusers_class_and_its_a1111_name() -> None:
    """A choice added to the schema without its mappings would pass the file's check and fail mid-run (KeyError)."""
    from generator.render.a1111 import SAMPLER_NAMES
    from generator.render.diffusion import SCHEDULERS

    choices = CONFIG.setting("render.scheduler").rules["enum"]
    assert list(SCHEDULERS) == choices and list(SAMPLER_NAMES) == choices


def test_a_typo_in_a_choice_is_refused_with_the_key_and_a_guess(config_path: Path) -> None:
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace('method = "mode"', 'method = "mdoe"'), encoding="utf-8")
    line = refused("traits", "check", "--config", config_path)
    assert line.endswith("[pixels].method must be one of mode, nearest (got 'mdoe'; did you mean 'mode'?)")
    config_path.write_text(text.replace('scheduler = "dpmpp_2m_karras"', 'scheduler = "euler"'), encoding="utf-8")
    assert (
        "[render].scheduler must be one of dpmpp_2m_karras, euler_a, ddim, pndm (got 'euler'; did you mean 'euler_a'?)"
        in refused("traits", "check", "--config", config_path)
    )


def test_an_unknown_pixel_method_is_refused_where_it_is_read() -> None:
    render = np.zeros((96, 96, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"\[pixels\]\.method must be one of mode, nearest \(got 'Nearest'"):
        recover(render, 24, None, "Nearest")
    with pytest.raises(ValueError, match=r"\[pixels\]\.method"):
        recover(render[:24, :24], 24, None, "sharp")  # art already at token size: refused all the same
    assert recover(render, 24, None).pixels.shape == (24, 24, 3)  # the default is the setting's


def test_an_unknown_sampling_mode_is_refused_where_it_is_read(config_path: Path) -> None:
    """The plan took any string but ``exact`` for ``weighted``; the shares report did the same."""
    config = load_config(config_path)
    tables = load_traits(config)
    rules = compile_rules(config.rules, tables)
    with pytest.raises(ValueError, match=r"\[traits\]\.sampling must be one of weighted, exact \(got 'Exact'"):
        plan_collection(tables, rules, 10, 42, "Exact", 1)
    with pytest.raises(ValueError, match=r"\[traits\]\.sampling"):
        expected_shares(tables, rules, 10, "random", analyse(tables, rules))
    assert len(plan_collection(tables, rules, 10, 42, config.traits.sampling, 1)) == 10


def test_a_training_flag_accepts_what_the_recipe_accepts(tmp_path: Path) -> None:
    """The recipe flags typed their own bounds: --max-steps refused 0 (the recipe's "the epochs decide")."""
    base = ["train", "--base", "b", "--data", tmp_path / "missing", "--out", tmp_path / "out", "--print-kohya"]
    assert refused(*base, "--max-steps", "0").endswith("folder not found; build one with `punkgen dataset SRC DST`")
    assert "Invalid value for '--resolution': 4 is not in the range x>=8" in refused(*base, "--resolution", "4")


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        # the flag refused a resolution under 8 and a negative seed; the file took them (numpy then refused the seed mid-run)
        ("[dataset]\nresolution = 4\n", "[dataset].resolution (--resolution) must be ≥ 8 (got 4)"),
        ("[training]\nseed = -1\n", "[training].seed (--seed) must be ≥ 0 (got -1)"),
    ],
)
def test_a_recipe_refuses_what_its_flag_refuses(tmp_path: Path, table: str, expected: str) -> None:
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(table, encoding="utf-8")
    line = refused("train", "--base", "b", "--data", tmp_path, "--out", tmp_path / "out", "--config", recipe, "--print-kohya")
    assert line.endswith(expected)
