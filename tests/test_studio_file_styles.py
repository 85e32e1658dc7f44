"""A save looks like a careful hand edit in files written in any style: Windows line ends (CRLF) in collection.toml,
odd spacing and comments around the rules; only the edited lines change, and every line keeps the file's own end. And
it writes only what it should: not over a link, not changing permissions, and a place that cannot be written is one line."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from studio_running import api, studio

from generator.studio import save

HOOD_RULE = 'when = { hair = "Hoodie" }\nforbid = { accessory = ["Earring", "Pipe"] }'
NEW_RULE = 'when = { hair = "Hoodie" }\nforbid = { accessory = ["Vape"] }'


def crlf_config(config_path: Path) -> bytes:
    """collection.toml as a Windows editor saves it, with a hand-spaced rule line and a comment on it."""
    text = config_path.read_text().replace('when = { hair = "Hoodie" }', '  when   =   {hair="Hoodie"}   # spaced', 1)
    config_path.write_bytes(text.replace("\n", "\r\n").encode())
    return config_path.read_bytes()


def saved_after(config_path: Path, *edits: dict) -> bytes:
    with studio(config_path) as server:
        for change in edits:
            status, view = api(server, "POST", "/api/edit", change)
            assert status == 200 and "error" not in view, view
        assert api(server, "POST", "/api/save", {})[0] == 200
    return config_path.read_bytes()


def test_an_edited_rule_in_a_crlf_config_keeps_crlf_and_its_blank_line(config_path: Path) -> None:
    """The page sends LF lines: they went into the CRLF file as they came, and the blank line after the rule was lost."""
    before = crlf_config(config_path)
    after = saved_after(config_path, {"kind": "rule", "index": 0, "text": HOOD_RULE})
    expected = before.replace(
        b'  when   =   {hair="Hoodie"}   # spaced\r\nforbid = { accessory = ["Earring"] }\r\n',
        b'when = { hair = "Hoodie" }\r\nforbid = { accessory = ["Earring", "Pipe"] }\r\n',
    )
    assert after == expected and expected != before


def test_an_added_and_a_removed_rule_in_a_crlf_config(config_path: Path) -> None:
    """The variant: a rule added (its [[rules]] line too) and one removed, every other byte as it was."""
    before = crlf_config(config_path)
    after = saved_after(
        config_path, {"kind": "rule", "index": None, "text": NEW_RULE}, {"kind": "rule", "index": 1, "text": None}
    )
    assert b"\n" not in after.replace(b"\r\n", b"")
    removed = before.split(b"[[rules]]  # a mask hides")[1].split(b"[[rules]]")[0]
    added = b'[[rules]]\r\nwhen = { hair = "Hoodie" }\r\nforbid = { accessory = ["Vape"] }\r\n\r\n'
    assert after == before.replace(b"[[rules]]  # a mask hides" + removed, b"").replace(b"[prompt]", added + b"[prompt]")


def test_rule_edits_in_an_lf_config_stay_lf(config_path: Path) -> None:
    before = config_path.read_bytes()
    after = saved_after(config_path, {"kind": "rule", "index": None, "text": NEW_RULE.replace("\n", "\r\n")})
    assert after == before.replace(
        b"[prompt]", b'[[rules]]\nwhen = { hair = "Hoodie" }\nforbid = { accessory = ["Vape"] }\n\n[prompt]'
    )


def edited_and_saved(config_path: Path, table: str = "mouth") -> tuple[int, dict]:
    with studio(config_path) as server:
        change = {"kind": "cell", "table": table, "value": "Smile", "column": "weight", "text": "25"}
        assert api(server, "POST", "/api/edit", change)[0] == 200
        return api(server, "POST", "/api/save", {})


@pytest.mark.parametrize("inside", [False, True])
def test_a_table_that_is_a_link_is_not_replaced_by_a_save(config_path: Path, tmp_path: Path, inside: bool) -> None:
    """A table linked from a shared folder was replaced by a plain file on save: the link gone, the shared table not
    edited. The save refuses, naming the link and its target; the variant: a link to a file inside the folder."""
    folder = config_path.parent
    shared = (folder / "shared" if inside else tmp_path / "shared") / "mouth.csv"
    shared.parent.mkdir()
    (folder / "mouth.csv").rename(shared)
    (folder / "mouth.csv").symlink_to(shared)
    before = shared.read_bytes()
    status, answer = edited_and_saved(config_path)
    assert status == 409 and answer["error"].startswith(f"{folder / 'mouth.csv'} is a link to {shared}, and saving would")
    assert (folder / "mouth.csv").is_symlink() and shared.read_bytes() == before


def test_a_save_keeps_the_files_permissions(config_path: Path) -> None:
    table = config_path.parent / "mouth.csv"
    table.chmod(0o640)
    assert edited_and_saved(config_path)[0] == 200
    assert stat.S_IMODE(table.stat().st_mode) == 0o640 and b"Smile,25," in table.read_bytes()


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EROFS])
def test_a_full_disk_or_read_only_folder_at_save_is_one_line(config_path: Path, monkeypatch, error: int) -> None:
    """It was an OSError out of the request: a traceback in the terminal and no answer for the page."""

    def fail(path: Path, data: bytes) -> None:
        raise OSError(error, os.strerror(error), str(path))

    monkeypatch.setattr(save, "write_atomic", fail)
    status, answer = edited_and_saved(config_path)
    assert status == 409 and answer["error"].startswith(f"{config_path.parent / 'mouth.csv'}: ")
    assert answer["error"].endswith("make the trait folder writable or free some space, then save again")


ALIGNED = "value       , weight , prompt\nNeutral     ,  40    , neutral mouth\nSmile       ,  24    , smile\nFrown       ,  14    , frown\n"


@pytest.mark.parametrize(
    ("column", "text", "line"),
    [
        ("weight", "25", "Smile       ,  25    , smile"),  # the spaces around the edited cell stayed: was ",25,"
        ("prompt", "big smile", "Smile       ,  24    , big smile"),
        ("prompt", "smile, wide", 'Smile       ,  24    ,"smile, wide"'),  # quotes gained: no spaces outside them
    ],
)
def test_a_table_aligned_by_hand_stays_aligned(config_path: Path, column: str, text: str, line: str) -> None:
    table = config_path.parent / "mouth.csv"
    rest = table.read_text().split("\n", 4)[4]
    table.write_text(ALIGNED + rest)
    with studio(config_path) as server:
        change = {"kind": "cell", "table": "mouth", "value": "Smile", "column": column, "text": text}
        status, view = api(server, "POST", "/api/edit", change)
        assert status == 200 and "error" not in view, view
        assert api(server, "POST", "/api/save", {})[0] == 200
    assert table.read_text() == ALIGNED.replace("Smile       ,  24    , smile", line) + rest


@pytest.mark.parametrize("value", ["Smile", "Frown"])
def test_the_diff_splits_lines_where_the_file_does(config_path: Path, value: str) -> None:
    """A prompt holding U+2028 (a paste from a web page) is one line of the file, but ``splitlines`` made it two in the
    diff: two changed lines the save does not write. The named case edits its row, the variant another row."""
    table = config_path.parent / "mouth.csv"
    table.write_text(table.read_text().replace("Smile,24,smile", "Smile,24,big\u2028smile"))
    with studio(config_path) as server:
        api(server, "POST", "/api/edit", {"kind": "cell", "table": "mouth", "value": value, "column": "weight", "text": "9"})
        lines = api(server, "GET", "/api/diff")[1]["diff"].split("\n")
    changed = [line for line in lines if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    smile = "Smile,24,big\u2028smile"
    if value == "Smile":
        assert changed == ["-" + smile, "+" + smile.replace("24", "9")]
    else:
        assert changed == ["-Frown,14,frown", "+Frown,9,frown"] and " " + smile in lines
