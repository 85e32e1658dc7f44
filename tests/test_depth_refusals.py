"""A malformed depth declaration (issue 32) is one line, exit 2, naming the file and the key, before anything is
written: a part of an unknown trait, a part listed twice, an override naming what the tables or the order lack, and
two overrides that disagree about one trait set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import collection_args, refused, run_cli
from depth_art import ORDER, TABLES, art_path, draw, trait_folder


def depth(when: str, move: str, side: str, target: str) -> str:
    return f'[[depth]]\nwhen = {{ {when} }}\nmove = "{move}"\n{side} = "{target}"\n'


LIFT = depth('hair = "Long"', "earring", "above", "hair")

CYCLE = [
    depth('hair = "Long"', "hat:back", "above", "earring"),
    depth('hat = "Cap"', "earring", "above", "head"),
    depth('head = "Dark"', "head", "above", "hat:back"),
]


REFUSED_DECLARATIONS = {
    "part of an unknown trait": (
        ORDER + ["hta:front"],
        "",
        ["[traits].order names the part 'hta:front' of unknown trait 'hta'", "known traits: background, head"],
    ),
    "part name with a path": (
        ORDER + ["hat:../front"],
        "",
        ["[traits].order[6] is 'hat:../front', which is not a trait key, or `<trait>:<part>`", "e.g. `hat` or `hat:back`"],
    ),
    "part name in capitals": (ORDER + ["hat:Front"], "", ["[traits].order[6] is 'hat:Front', which is not a trait key"]),
    "part listed twice": (ORDER + ["hat:back"], "", ["[traits].order lists 'hat:back' more than once"]),
    "part at the bottom": (["hat:back", *[e for e in ORDER if e != "hat:back"]], "", ["starts with the part 'hat:back'"]),
    "override: unknown trait": (
        ORDER,
        depth('hiar = "Long"', "earring", "above", "hair"),
        ["#1 when names unknown trait 'hiar'"],
    ),
    "override: unknown value": (
        ORDER,
        depth('hair = ["Long", "Mullet"]', "earring", "above", "hair"),
        ["unknown hair value 'Mullet'"],
    ),
    "override: a value that is a number": (
        ORDER,
        depth("hair = 3", "earring", "above", "hair"),
        ["[[depth]] #1.when.hair must be a string or a list (got 3)"],
    ),
    "override: a value that is a table": (
        ORDER,
        depth("hair = { name = 'Long' }", "earring", "above", "hair"),
        ["[[depth]] #1.when.hair must be a string or a list (got {'name': 'Long'})"],
    ),
    "override: unknown entry moved": (ORDER, depth('hair = "Long"', "earing", "above", "hair"), ["#1 move names 'earing'"]),
    "override: unknown part as target": (
        ORDER,
        depth('hair = "Long"', "earring", "below", "hat:front"),
        ["#1 below names 'hat:front'"],
    ),
    "override: above and below": (ORDER, LIFT + 'below = "hat"\n', ["#1 needs exactly one of above or below"]),
    "override: neither above nor below": (ORDER, '[[depth]]\nwhen = { hair = "Long" }\nmove = "earring"\n', ["exactly one of"]),
    "override: under the bottom": (ORDER, depth('hair = "Long"', "earring", "below", "background"), ["below the bottom layer"]),
    "override: moves the bottom": (ORDER, depth('hair = "Long"', "background", "above", "hair"), ["moves the bottom layer"]),
    "override: next to itself": (ORDER, depth('hair = "Long"', "hair", "above", "hair"), ["next to itself"]),
    "overrides: one entry sent two ways": (
        ORDER,
        LIFT + depth('hat = "Cap"', "earring", "below", "head"),
        ["[[depth]] #1 and #2 both apply to one trait set", "#1 draws 'earring' over 'hair', #2 undoes it"],
    ),
    "overrides: a pair both ways round": (
        ORDER,
        LIFT + depth('head = "Dark"', "hair", "above", "earring"),
        ["[[depth]] #1 and #2 both apply", "#1 draws 'earring' over 'hair'"],
    ),
    "overrides: above one way, below the other": (
        ORDER,
        LIFT + depth('hat = ["Cap", "Bare"]', "earring", "below", "hair"),
        ["#1 and #2"],
    ),
    "overrides: more than a token's mask holds": (ORDER, LIFT * 63, ["[depth] holds 63 entries, more than the 62 allowed"]),
    "overrides: a cycle through three, each pair agreeing": (
        ORDER,
        "".join(CYCLE),
        ["both apply to one trait set and disagree"],
    ),
}


@pytest.mark.parametrize("case", REFUSED_DECLARATIONS)
def test_a_malformed_declaration_is_one_line_naming_the_key(tmp_path: Path, case: str) -> None:
    order, declared, expected = REFUSED_DECLARATIONS[case]
    config = trait_folder(tmp_path, order, declared)
    line = refused("traits", "check", "--config", config)
    assert line.startswith(f"Error: {config}: ") and all(text in line for text in expected), line


@pytest.mark.parametrize(
    "overrides",
    [
        LIFT + depth('hair = "Short"', "earring", "below", "head"),  # whens that exclude each other
        LIFT + depth('hat = "Cap"', "earring", "above", "hat"),  # over the hat is over the hair too: both hold
        CYCLE[0] + CYCLE[1],  # any two of the cycle's three agree
        CYCLE[1] + CYCLE[2],
        CYCLE[0] + CYCLE[2],
    ],
)
def test_overrides_that_agree_or_never_meet_are_accepted(tmp_path: Path, overrides: str) -> None:
    result = run_cli("traits", "check", "--config", trait_folder(tmp_path, ORDER, overrides))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("mistake", "expected"),
    [
        ("no folder", "[traits].order names the part 'hat:back' but"),
        ("stray file", "Cpa.png: no hat value draws this file"),
        ("upper-case extension", "back/Cap.PNG: no hat value draws this file"),  # once skipped: Cap drew no back
        ("hashlips name", "back/Cap#1.png: no hat value draws this file"),
        ("stray frames folder", "back/Cpa: no hat value draws this file"),
        ("empty folder", "no layer for any enabled hat value"),
        ("not a png", "not a readable PNG"),
        ("folder where a png goes", "back/Cap.png: is a folder, not a file"),  # once skipped as "Cap has no back"
        ("pipe where a png goes", "back/Cap.png: is a named pipe (FIFO), not a regular file"),
        ("broken link", "back/Cap.png: is a link to /nowhere/Cap.png, which does not exist; point it at the layer"),
    ],
)
def test_a_parts_files_are_checked_before_anything_is_written(tmp_path: Path, mistake: str, expected: str) -> None:
    config = trait_folder(tmp_path / "traits")
    back = art_path(tmp_path / "traits", "hat", "back", "Cap")
    if mistake == "no folder":
        back.unlink()
        back.parent.rmdir()
    elif mistake == "stray file":
        draw(back.with_name("Cpa.png"), [])
    elif mistake in ("upper-case extension", "hashlips name"):
        back.rename(back.with_name("Cap.PNG" if mistake.startswith("upper") else "Cap#1.png"))
        assert "rename it 'Cap.png' (the layer of hat 'Cap')" in refused("traits", "check", "--config", config)
    elif mistake == "stray frames folder":
        draw(back.with_name("Cpa") / "0.png", [])
    elif mistake == "empty folder":
        back.unlink()
    elif mistake == "not a png":
        back.write_bytes(b"not a png")
    else:  # another value draws the part, so the folder is not empty: the entry at Cap's name must still be read
        draw(art_path(tmp_path / "traits", "hat", "back", "Beanie"), [(2, 4, 14, 20, 41, 255)])
        back.unlink()
        if mistake.startswith("folder"):
            back.mkdir()
        elif mistake.startswith("pipe"):
            os.mkfifo(back)
        else:
            back.symlink_to("/nowhere/Cap.png")
    line = refused(*collection_args(config, tmp_path / "out", 4))
    assert expected in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["collection", "traits check"])
def test_an_unreadable_part_folder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    """Its listing is read to find misnamed files; a folder the user cannot list (chmod 000: root, who runs these
    tests, reads it anyway, so the listing's error is raised by hand) is one line, not a traceback."""
    config = trait_folder(tmp_path / "traits")
    back = art_path(tmp_path / "traits", "hat", "back", "Cap").parent
    listing = Path.iterdir

    def denied(folder: Path):
        if folder == back:
            raise PermissionError(13, "Permission denied")
        return listing(folder)

    monkeypatch.setattr(Path, "iterdir", denied)
    args = collection_args(config, tmp_path / "out", 4) if command == "collection" else ["traits", "check", "--config", config]
    line = refused(*args)
    assert line == f"Error: {back}: cannot be read (Permission denied); check the folder and run again", line
    assert not (tmp_path / "out").exists()


def test_a_broken_link_as_a_main_layer_names_the_link(tmp_path: Path) -> None:
    config = trait_folder(tmp_path / "traits")
    layer = art_path(tmp_path / "traits", "hair", "", "Long")
    layer.unlink()
    layer.symlink_to(tmp_path / "moved" / "Long.png")
    line = refused("traits", "check", "--config", config)
    assert (
        line
        == f"Error: {layer}: is a link to {tmp_path / 'moved' / 'Long.png'}, which does not exist; point it at the layer or remove it"
    ), line


@pytest.mark.parametrize("value", ["back", "Back"])
def test_a_part_named_as_a_value_of_its_trait_is_refused(tmp_path: Path, value: str) -> None:
    """layers/hat/back/ would hold both the part and the value's frames: without back.png the value's art was
    looked for in the part's folder ("frame 0.png is missing"), with it one folder meant two things. Case apart
    too: one folder on a case-insensitive disk."""
    config = trait_folder(tmp_path, tables={**TABLES, "hat": [*TABLES["hat"], value]})
    draw(art_path(tmp_path, "hat", "", value), [(2, 7, 6, 17, 44, 255)])
    line = refused("traits", "check", "--config", config)
    assert line == (
        f"Error: {config}: [traits].order names the part 'hat:back', but layers/hat/back/ is also where hat value "
        f"'{value}' (hat.csv) keeps its frames; rename the part"
    ), line
