"""Edits in the studio go through the library: the page's shares and messages are ``traits check``'s for the same
edit, made by hand; a save changes only the edited cells and rule lines, and refuses when the files moved on disk."""

from __future__ import annotations

import codecs
import difflib
import shutil
from pathlib import Path

import pytest
from conftest import REPO, edit, refused, run_cli
from studio_running import api, studio

MASK = {"kind": "cell", "table": "accessory", "value": "Medical Mask", "column": "weight", "text": "11.6"}
HOOD_RULE = 'when = { hair = "Hoodie" }\nforbid = { accessory = ["Earring", "Pipe"] }'


def by_hand(tmp_path: Path, *edits: tuple[str, str, str]) -> Path:
    """A fresh copy of the shipped folder with ``(file, old, new)`` text edits: what a creator would type."""
    folder = tmp_path / "by-hand"
    shutil.copytree(REPO / "traits", folder)
    for name, old, new in edits:
        edit(folder / name, old, new)
    return folder / "collection.toml"


def check_output_lines(config: Path) -> dict[tuple[str, str], str]:
    """``traits check``'s printed share line per (table file stem, value)."""
    result = run_cli("traits", "check", "--config", config)
    assert result.exit_code == 0, result.output
    lines, table = {}, ""
    for line in result.output.splitlines():
        if line.endswith(".csv)"):
            table = Path(line.rsplit("(", 1)[1][:-1]).stem
        elif line.startswith("  ") and "→" in line:
            lines[(table, line[2:26].rstrip())] = line
    return lines


def assert_shares_as_printed(view: dict, config: Path) -> None:
    printed = check_output_lines(config)
    shown = [(key, share) for key, shares in view["report"]["shares"].items() for share in shares]
    assert len(shown) == len(printed) > 40
    for key, share in shown:
        configured, expected = share["shown"]
        assert printed[(key, share["value"])].endswith(f"{configured:>7} → {expected:>7}") or (
            f"{configured:>7} → {expected:>7}  ← drift" in printed[(key, share["value"])]
        ), (key, share, printed[(key, share["value"])])


def test_shares_after_a_weight_and_a_rule_edit_are_traits_checks(config_path: Path, tmp_path: Path) -> None:
    with studio(config_path) as server:
        before = api(server, "GET", "/api/state")[1]
        api(server, "POST", "/api/edit", MASK)
        status, view = api(server, "POST", "/api/edit", {"kind": "rule", "index": 0, "text": HOOD_RULE})
    assert status == 200 and "error" not in view
    hand = by_hand(
        tmp_path,
        ("accessory.csv", "Medical Mask,5,", "Medical Mask,11.6,"),
        ("collection.toml", '["Earring"]', '["Earring", "Pipe"]'),
    )
    assert_shares_as_printed(before, REPO / "traits" / "collection.toml")  # the shipped tables, as loaded
    assert_shares_as_printed(view, hand)
    mask = lambda v: next(s for s in v["report"]["shares"]["accessory"] if s["value"] == "Medical Mask")  # noqa: E731
    assert (mask(before)["shown"], mask(view)["shown"]) == (["5.00%", "2.16%"], ["10.88%", "4.87%"])  # it moved


def test_exact_mode_quota_edit_is_what_traits_check_prints_after_saving(config_path: Path) -> None:
    """The variant: sampling = "exact", a quota typed as tokens; the saved folder checks as the page showed."""
    edit(config_path, 'sampling = "weighted"', 'sampling = "exact"')
    with studio(config_path) as server:
        status, view = api(server, "POST", "/api/edit", {"kind": "quota", "table": "eyes", "value": "Visor", "tokens": 7})
        assert status == 200 and "error" not in view
        assert api(server, "POST", "/api/save", {})[0] == 200
    visor = next(s for s in view["report"]["shares"]["eyes"] if s["value"] == "Visor")
    assert visor["quota"] == 7 and visor["shown"][1] == "7.00%"
    assert "\nVisor,6.4,cyan visor\n" in (config_path.parent / "eyes.csv").read_text()  # 6.4 of 91.4: 7 of 100
    assert_shares_as_printed(view, config_path)


@pytest.mark.parametrize(
    ("change", "by_hand_edit"),
    [
        ({**MASK, "text": "lots"}, ("accessory.csv", "Medical Mask,5,", "Medical Mask,lots,")),
        (
            {"kind": "rule", "index": 0, "text": 'when = { hair = "Hoodi" }\nforbid = { accessory = ["Earring"] }'},
            ("collection.toml", '"Hoodie"', '"Hoodi"'),
        ),
        (
            {"kind": "rule", "index": 0, "text": 'when = { hat = "Cap" }\nforbid = { accessory = ["Earring"] }'},
            ("collection.toml", '{ hair = "Hoodie" }', '{ hat = "Cap" }'),
        ),
    ],
    ids=["bad-weight", "unknown-value-in-rule", "unknown-trait-in-rule"],
)
def test_the_page_shows_the_clis_own_message(config_path: Path, tmp_path: Path, change: dict, by_hand_edit) -> None:
    """And the save is refused while it shows one: the CLI would refuse the folder."""
    original = {path.name: path.read_bytes() for path in config_path.parent.iterdir() if path.is_file()}
    with studio(config_path) as server:
        status, view = api(server, "POST", "/api/edit", change)
        assert status == 200
        assert api(server, "POST", "/api/save", {}) == (409, {"error": "not saved: " + view["error"]})
    assert {path.name: path.read_bytes() for path in config_path.parent.iterdir() if path.is_file()} == original
    hand = by_hand(tmp_path, by_hand_edit)
    line = refused("traits", "check", "--config", hand)
    assert "Error: " + view["error"] == line.replace(str(hand.parent), str(config_path.parent))  # click adds "Error: "
    assert "report" not in view


def test_an_impossible_value_is_named_with_the_rules_responsible(config_path: Path) -> None:
    added = 'when = { accessory = "Medical Mask" }\nforbid = { mouth = ["Neutral"] }'
    with studio(config_path) as server:
        view = api(server, "POST", "/api/edit", {"kind": "rule", "index": None, "text": added})[1]
    assert view["impossible"] == {"accessory": {"Medical Mask": [2, 4]}}
    assert "'Medical Mask' has weight 5 but can never appear: [[rules]] #2, #4 together exclude it" in view["error"]


def changed_lines(before: bytes, after: bytes) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.decode().splitlines(True), after.decode().splitlines(True), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_a_save_changes_only_the_edited_cells_and_rule_lines(config_path: Path) -> None:
    folder = config_path.parent
    original = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
    with studio(config_path) as server:
        api(server, "POST", "/api/edit", {**MASK, "text": "6.5"})
        api(server, "POST", "/api/edit", {**MASK, "value": "Gold Chain", "column": "prompt", "text": 'gold chain, "thick"'})
        api(server, "POST", "/api/edit", {"kind": "rule", "index": 0, "text": HOOD_RULE})
        api(server, "POST", "/api/edit", {"kind": "rule", "index": 2, "text": None})
        diff = api(server, "GET", "/api/diff")[1]["diff"]
        assert {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()} == original  # nothing yet
        status, saved = api(server, "POST", "/api/save", {})
    assert status == 200 and sorted(Path(p).name for p in saved["saved"]) == ["accessory.csv", "collection.toml"]
    now = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
    assert sorted(name for name in original if now[name] != original[name]) == ["accessory.csv", "collection.toml"]
    assert changed_lines(original["accessory.csv"], now["accessory.csv"]) == [
        "-Gold Chain,8,gold chain\n",
        "-Medical Mask,5,medical mask\n",
        '+Gold Chain,8,"gold chain, ""thick"""\n',
        "+Medical Mask,6.5,medical mask\n",
    ]
    assert changed_lines(original["collection.toml"], now["collection.toml"]) == [
        '-forbid = { accessory = ["Earring"] }\n',
        '+forbid = { accessory = ["Earring", "Pipe"] }\n',
        "-\n",  # the blank line before the removed rule, which difflib takes instead of the one after it: same text
        "-[[rules]]  # a pipe or vape covers the mouth corner where a smile or frown shows: the metadata must not claim it\n",
        '-when = { accessory = ["Pipe", "Vape"] }\n',
        '-forbid = { mouth = ["Smile", "Frown"] }\n',
    ]
    assert "+Medical Mask,6.5,medical mask" in diff and '+forbid = { accessory = ["Earring", "Pipe"] }' in diff


def test_a_table_saved_by_a_spreadsheet_keeps_its_bytes(config_path: Path) -> None:
    """The variant: a UTF-8 BOM, CRLF line ends, quoted cells and spaces, as Excel writes them; one cell changes."""
    table = config_path.parent / "eyes.csv"
    lines = table.read_text().splitlines()
    lines[1] = '"Brown", 30 ,"brown eyes"'
    table.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    original = table.read_bytes()
    with studio(config_path) as server:
        view = api(
            server,
            "POST",
            "/api/edit",
            {"kind": "cell", "table": "eyes", "value": "Brown", "column": "prompt", "text": "dark brown"},
        )[1]
        assert "error" not in view
        assert api(server, "POST", "/api/save", {})[0] == 200
    assert table.read_bytes() == original.replace(b'"brown eyes"', b'"dark brown"')


def test_a_utf16_table_is_saved_as_utf16(config_path: Path) -> None:
    """The other encoding a spreadsheet writes ("Unicode text"): its byte-order mark and encoding are kept."""
    table = config_path.parent / "eyes.csv"
    text = table.read_text()
    table.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    with studio(config_path) as server:
        api(server, "POST", "/api/edit", {"kind": "cell", "table": "eyes", "value": "Blue", "column": "weight", "text": "17"})
        assert api(server, "POST", "/api/save", {})[0] == 200
    expected = text.replace("Blue,16,", "Blue,17,")
    assert table.read_bytes() == codecs.BOM_UTF16_LE + expected.encode("utf-16-le")


@pytest.mark.parametrize("moved", ["accessory.csv", "hair.csv", "collection.toml"])
def test_a_file_changed_on_disk_since_the_page_loaded_is_never_overwritten(config_path: Path, moved: str) -> None:
    """The edited file or another one the page read (the variant): the save refuses, naming it, and writes nothing."""
    folder = config_path.parent
    with studio(config_path) as server:
        api(server, "POST", "/api/edit", MASK)
        (folder / moved).write_bytes((folder / moved).read_bytes() + b"\n")
        on_disk = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
        status, answer = api(server, "POST", "/api/save", {})
        assert {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()} == on_disk
        reloaded = api(server, "POST", "/api/reload", {})[1]  # the creator takes the files as they are now
        assert api(server, "POST", "/api/save", {})[0] == 200  # nothing edited: nothing written, nothing refused
    assert status == 409
    assert answer["error"].startswith(f"{folder / moved} changed on disk since the studio loaded them")
    assert reloaded["changed"] == [] and "error" not in reloaded
    assert {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()} == on_disk


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            {"kind": "quota", "table": "eyes", "value": "Visor", "tokens": 3.5},
            "a quota for 'Visor' must be a whole number of tokens from 0 to 99",
        ),
        (
            {"kind": "quota", "table": "eyes", "value": "Visor", "tokens": 100},
            "a quota for 'Visor' must be a whole number of tokens from 0 to 99",
        ),
        ({"kind": "cell", "table": "../collection", "value": "x", "column": "weight", "text": "1"}, "no table ../collection.csv"),
        (
            {"kind": "cell", "table": "eyes", "value": "Visor", "column": "layer", "text": "x.png"},
            "with a 'layer' column the studio edits",
        ),
        ({"kind": "cell", "table": "eyes", "value": "Visor", "column": "weight"}, "an edit needs its 'text' as text"),
        ({"kind": "rule", "index": 7, "text": "when = {}"}, "there is no [[rules]] #7"),
        ({"kind": "rule", "index": 0, "text": "when = { hair = "}, "[[rules]] #1: TOML syntax error"),
        ({"kind": "nonsense"}, "unknown edit 'nonsense'"),
    ],
)
def test_an_edit_the_page_cannot_make_is_refused_in_one_line(shipped_studio, change: dict, said: str) -> None:
    """Also what a hand-made request gets: one line, nothing changed, the studio still serving."""
    status, answer = api(shipped_studio, "POST", "/api/edit", change)
    assert (status, list(answer)) == (409, ["error"]) and said in answer["error"] and "\n" not in answer["error"]
    assert api(shipped_studio, "GET", "/api/state")[1]["changed"] == []


@pytest.fixture(scope="module")
def shipped_studio(tmp_path_factory: pytest.TempPathFactory):
    """One studio on a copy of the shipped folder, for edits that are refused (and so change nothing)."""
    folder = tmp_path_factory.mktemp("refusals") / "traits"
    shutil.copytree(REPO / "traits", folder)
    with studio(folder / "collection.toml") as server:
        yield server
