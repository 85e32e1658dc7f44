"""A save looks like a careful hand edit in files written in any style: Windows line ends (CRLF) in collection.toml,
odd spacing and comments around the rules; only the edited lines change, and every line keeps the file's own end."""

from __future__ import annotations

from pathlib import Path

from studio_running import api, studio

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
