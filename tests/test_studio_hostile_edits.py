"""Edits no page sends, or text no file can hold: each is refused in one line naming the file, the edited files stay
as they were, and the studio goes on answering (a lone surrogate used to wedge it until a reload)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REPO
from studio_running import api, studio


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("studio") / "traits"
    shutil.copytree(REPO / "traits", folder)
    return folder


@pytest.fixture(scope="module")
def server(folder: Path):
    with studio(folder / "collection.toml") as running:
        yield running


def prompt(text: str) -> dict[str, str]:
    return {"kind": "cell", "table": "accessory", "value": "Pipe", "column": "prompt", "text": text}


def refused_edit(server, edit: dict) -> str:
    """The edit is refused with one line, nothing is edited, and the studio still answers."""
    status, answer = api(server, "POST", "/api/edit", edit)
    assert status == 409 and "\n" not in answer["error"], answer
    assert server.session.files.changed() == []
    status, view = api(server, "GET", "/api/state")
    assert status == 200 and "error" not in view
    return answer["error"]


def test_a_lone_surrogate_in_a_prompt_is_refused_and_the_studio_goes_on(server, folder: Path) -> None:
    """It went into the edited text, which could then not be written as UTF-8: every later request died with a
    traceback until a reload."""
    line = refused_edit(server, prompt("smoking \ud800 pipe"))
    assert (
        line == f"{folder}/accessory.csv: a cell cannot hold U+D800 (half of a surrogate pair); remove it and type the text again"
    )


def test_a_lone_surrogate_in_a_rule_is_refused(server, folder: Path) -> None:
    """The variant: the rule's lines, edited or added."""
    body = 'when = { hair = "Hoodie" }\nforbid = { accessory = ["Earring\udfff"] }'
    for index in (0, None):
        assert refused_edit(server, {"kind": "rule", "index": index, "text": body}).startswith(
            f"{folder}/collection.toml: a rule"
        )


@pytest.mark.parametrize("text", ["smoking pipe\nEvil", "pipe\r# note", "pipe\u2028x", "pipe\x00", "pipe\x1b[31m"])
def test_a_cell_holds_one_line_of_text(server, folder: Path, text: str) -> None:
    """A line break in a cell wrote a new row into the table (with no comma, unquoted); a NUL made the table
    "UTF-16 without a byte-order mark"."""
    line = refused_edit(server, prompt(text))
    assert (
        line.startswith(f"{folder}/accessory.csv: a cell cannot hold U+")
        and (folder / "accessory.csv").read_bytes() == (REPO / "traits" / "accessory.csv").read_bytes()
    )


def test_the_same_for_a_weight(server) -> None:
    edit = {"kind": "cell", "table": "accessory", "value": "Pipe", "column": "weight", "text": "5\nEvil"}
    assert "cannot hold U+000A (a line break)" in refused_edit(server, edit)


@pytest.mark.parametrize(
    "edit",
    [
        {"kind": "toggles", "none_as_value": "yes", "trait_count": None},
        {"kind": "toggles", "none_as_value": None, "trait_count": [1]},
        {"kind": "rule", "index": True, "text": 'when = { hair = "Hoodie" }\nforbid = { accessory = ["Pipe"] }'},
        {"kind": "quota", "table": "accessory", "value": "Pipe", "tokens": True},
    ],
)
def test_a_boolean_where_a_number_goes_and_text_where_a_boolean_goes_are_refused(server, edit: dict) -> None:
    """JSON's ``true`` is Python's 1: it replaced rule #2 instead of being refused."""
    refused_edit(server, edit)
    assert server.session.toggles.none_as_value is None and server.session.toggles.trait_count is None


def test_what_a_cell_may_hold_is_written(server, folder: Path) -> None:
    """Not too much is refused: quotes, commas, a tab, an `=` (the creator's own prompt) are written, quoted."""
    status, view = api(server, "POST", "/api/edit", prompt('=a "big",\tpipe'))
    assert status == 200 and "error" not in view
    assert 'Pipe,5,"=a ""big"",\tpipe"' in server.session.files.texts["accessory.csv"].splitlines()
    api(server, "POST", "/api/reload")


def test_a_prompt_longer_than_a_table_row_is_refused(server, folder: Path) -> None:
    """200,000 characters in a cell broke ``csv`` in the page's table view: that request and every later one died."""
    line = refused_edit(server, prompt("x" * 200_000))
    assert line == f"{folder}/accessory.csv: a cell holds at most 16,384 characters, like a table row; this one has 200,000"


def test_a_table_on_disk_with_a_row_too_long_opens_with_the_libraries_line(tmp_path: Path) -> None:
    """The variant: the same row written by hand; the page opens, showing ``traits check``'s line for it."""
    folder = tmp_path / "traits"
    shutil.copytree(REPO / "traits", folder)
    table = folder / "accessory.csv"
    table.write_text(table.read_text().replace("smoking pipe", "x" * 200_000))
    with studio(folder / "collection.toml") as running:
        status, view = api(running, "GET", "/api/state")
    assert status == 200 and view["error"].startswith(f"{table} line 5: 200,007 characters on one line")
    assert "Pipe" not in [row["value"] for row in view["tables"]["accessory"]["rows"]]
