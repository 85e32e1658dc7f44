"""Text a creator writes, read strictly: a trait table's quotes, cell sizes, separator and weights, every mistake one
line naming the file and the line, instead of a table that silently loses rows or a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import collection_args, edit, refused, run_cli
from test_dataset import write_originals

from generator.config import load_config
from generator.plan.traits import load_traits


def eyes_refused(config_path: Path, old: str, new: str) -> str:
    """``traits check`` and ``collection`` both refuse the edited eyes table; returns the line (the same for both)."""
    edit(config_path.parent / "eyes.csv", old, new)
    line = refused("traits", "check", "--config", config_path)
    assert refused(*collection_args(config_path, config_path.parent.parent / "out", 10)) == line
    assert not (config_path.parent.parent / "out").exists()
    return line


# ── quotes, cells and separators ──────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("old", "new", "line", "expected"),
    [
        ("Blue,16,blue eyes", 'Blue,16,"blue eyes', 3, 'an odd number of " quotes'),  # the row
        ("Green,12,green eyes", 'Green,12,green "emerald eyes', 4, 'an odd number of " quotes'),  # inside a cell
        ("Blue,16,blue eyes", 'Blue,16,"blue\neyes"', 3, "a cell cannot span lines"),  # balanced, across two lines
        ("Blue,16,blue eyes", 'Blue,16,"blue" eyes', 3, "',' expected after '\"'"),  # text after the closing quote
    ],
)
def test_unbalanced_quotes_are_refused_naming_the_line(config_path: Path, old: str, new: str, line: int, expected: str) -> None:
    message = eyes_refused(config_path, old, new)
    assert f"eyes.csv line {line}: " in message and expected in message
    assert 'quote a cell that holds a comma as "…", and write a quote inside it as ""' in message


def test_quoted_cells_with_commas_and_doubled_quotes_still_read(config_path: Path) -> None:
    edit(config_path.parent / "eyes.csv", "Blue,16,blue eyes", 'Blue,16,"blue eyes, ""ice"" blue"')
    assert run_cli("traits", "check", "--config", config_path).exit_code == 0
    eyes = load_traits(load_config(config_path))[3]
    assert eyes.key == "eyes" and eyes.values[1].prompt == 'blue eyes, "ice" blue'


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (131_073, "131,081 characters on one line, more than a table row may have (16,384)"),  # past csv's field limit
        (1_001, "cell 3 has 1,001 characters, more than the 1,000 a cell may hold"),
    ],
)
def test_an_overlong_cell_is_refused_naming_the_line(config_path: Path, size: int, expected: str) -> None:
    message = eyes_refused(config_path, "Blue,16,blue eyes", "Blue,16," + "b" * size)
    assert message.endswith(
        expected + ("; split or shorten it" if "row" in expected else "; shorten it (or is a quote missing?)")
    )
    assert "eyes.csv line 3: " in message


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_table_separated_by_semicolons_or_tabs_is_refused_with_the_fix(config_path: Path, separator: str, name: str) -> None:
    table = config_path.parent / "eyes.csv"
    table.write_text(table.read_text().replace(",", separator))
    message = refused("traits", "check", "--config", config_path)
    assert f"eyes.csv line 1: the columns are separated by {name}; punkgen's tables are comma-separated" in message


def test_one_row_separated_by_semicolons_is_named_as_such(config_path: Path) -> None:
    message = eyes_refused(config_path, "Green,12,green eyes", "Green;12;green eyes")
    assert "eyes.csv line 4: the columns are separated by semicolons; punkgen's tables are comma-separated" in message


# ── weights ───────────────────────────────────────────────────────────────────────────────────────


def test_weights_whose_sum_overflows_are_refused_naming_the_line(config_path: Path) -> None:
    edit(config_path.parent / "eyes.csv", "Brown,30,", "Brown,1e308,")  # the pair: 1e308 twice overflowed the sum
    message = eyes_refused(config_path, "Blue,16,", "Blue,1e308,")
    assert "eyes.csv line 2: weight '1e308' must be 0 (disables the value) or a number from 0.000001 to 1,000,000,000" in (
        message
    )


@pytest.mark.parametrize("weight", ["inf", "nan", "1e-400", "2e9", "-1", "1_000", "0x10", "1e-7", "NaN", "Infinity", "+inf"])
def test_each_bad_weight_alone_is_named(config_path: Path, weight: str) -> None:
    message = eyes_refused(config_path, "Blue,16,", f"Blue,{weight},")
    assert f"eyes.csv line 3: weight {weight!r} must be 0 (disables the value) or a number from" in message


@pytest.mark.parametrize("weight", ["-0", "0e5", "0.0"])
def test_every_spelling_of_zero_disables_the_value(config_path: Path, tmp_path: Path, weight: str) -> None:
    edit(config_path.parent / "eyes.csv", "Brown,30,", f"Brown,{weight},")
    result = run_cli(*collection_args(config_path, tmp_path / "out", 40))
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()
    eyes = {json.loads(line)["traits"]["eyes"] for line in lines}
    assert "Brown" not in eyes and "Blue" in eyes


def test_the_largest_and_smallest_weights_plan_without_overflow(config_path: Path, tmp_path: Path) -> None:
    """Every table at the bounds at once: sums, shares and products across six traits stay finite and non-zero."""
    for table in config_path.parent.glob("*.csv"):
        lines = table.read_text().splitlines()
        rows = [line.split(",", 2) for line in lines[1:]]
        extreme = [f"{r[0]},{'1000000000' if i % 2 else '0.000001'},{r[2]}" for i, r in enumerate(rows)]
        table.write_text("\n".join([lines[0], *extreme]) + "\n")
    result = run_cli("traits", "check", "--config", config_path)
    assert result.exit_code == 0, result.output
    assert "nan" not in result.output.lower()
    assert run_cli(*collection_args(config_path, tmp_path / "out", 10)).exit_code == 0


# ── the other table punkgen reads: training captions ─────────────────────────────────────────────


def test_a_captions_table_is_read_as_strictly(tmp_path: Path) -> None:
    write_originals(tmp_path / "src", 2)
    captions = tmp_path / "captions.csv"
    captions.write_text('file,caption\n1.png,"pixel art, one\n2.png,pixel art two\n')
    message = refused("dataset", tmp_path / "src", tmp_path / "out", "--captions", captions, "--instance", "punk")
    assert f'{captions} line 2: an odd number of " quotes' in message
    assert not (tmp_path / "out").exists()


# ── collection.toml nested past reason ───────────────────────────────────────────────────────────


@pytest.mark.parametrize("depth", [600, 100_000])  # past what json.dumps and jsonschema recurse through; past tomllib
def test_a_config_nested_past_reason_is_one_line(config_path: Path, depth: int) -> None:
    edit(config_path, "[collection]\n", "[collection]\nzz = " + "[" * depth + "]" * depth + "\n")
    message = refused("traits", "check", "--config", config_path)
    assert message.endswith(
        "collection.toml: values nested deeper than 64 levels, which no setting is; fix the file and run again"
    )


def test_a_palette_line_is_numbered_as_an_editor_numbers_it(config_path: Path) -> None:
    """A form feed or U+2028 inside a line is no line break to an editor, so it must not shift the number named."""
    palette = config_path.parent / "palette.hex"
    lines = palette.read_text().splitlines()
    palette.write_text("\n".join(["; colours\f of the starter layers", *lines[:3], "zz\u2028zz", *lines[3:]]) + "\n")
    assert "palette.hex line 5: 'zz\\u2028zz' is not a colour" in refused("traits", "check", "--config", config_path)
