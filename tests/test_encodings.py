"""Text files as creators save them (Excel, Notepad, TextEdit): decoded where the file says how, refused in one line
naming the byte, the line and how to save it, where it does not."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import collection_args, edit, refused
from test_traits import check_refused, checked, row_of

from generator.config import load_config
from generator.errors import UserError
from generator.pixels.palette import read_palette
from generator.text import decode_text
from generator.toml_sections import read_toml


def recode(path: Path, encoding: str, text: str | None = None) -> None:
    """Save ``path`` (or ``text``) again the way another editor would."""
    path.write_bytes((path.read_text(encoding="utf-8") if text is None else text).encode(encoding))


# ── 1. encodings: decoded where the file says how, refused in one line where it does not ───────────


CAFE_TABLE = 'value,weight,prompt,layer\nCafé,24,smile,Smile.png\n"Grin, Wide",14,frown,Frown.png\nNeutral,40,neutral mouth,\n'


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_tables_with_a_byte_order_mark_or_none_are_read(config_path: Path, encoding: str) -> None:
    table = config_path.parent / "mouth.csv"
    text = CAFE_TABLE.replace("\n", "\r\n")  # Windows line ends too
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # the BE mark, which Python's own "utf-16" never writes on x86
    table.write_bytes(data)
    edit(config_path, 'forbid = { mouth = ["Smile", "Frown"] }', 'forbid = { mouth = ["Café", "Grin, Wide"] }')
    lines, _ = checked(config_path)
    assert "Café" in row_of(lines, "Café")
    assert row_of(lines, "Grin, Wide").split()[2] == "14"
    assert "6 traits, 3 rules" in lines[0]


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        (
            "value,weight,prompt\nCafé,1,coffee\n",
            "cp1252",
            "mouth.csv: not UTF-8 text (byte 0xe9 at line 2, 'é' in Windows-1252)",
        ),
        ("value,weight,prompt\nSmile,1,smile ± grin\n", "latin-1", "not UTF-8 text (byte 0xb1 at line 2, '±' in Windows-1252)"),
        (
            "value,weight,prompt\nSmile,1,smile\n",
            "utf-16-le",
            "contains NUL bytes (line 1), so it is UTF-16 or UTF-32 without a byte-order mark",
        ),
        ("value,weight,prompt\nSmile,1,smile\n", "utf-32-le", "contains NUL bytes"),
    ],
)
def test_tables_in_other_encodings_are_refused_naming_byte_line_and_fix(
    config_path: Path, text: str, encoding: str, expected: str
) -> None:
    (config_path.parent / "mouth.csv").write_bytes(text.encode(encoding))
    line = check_refused(config_path)
    assert expected in line
    assert line.endswith("save it as UTF-8 (Excel: Save As → CSV UTF-8; Notepad or TextEdit: encoding UTF-8)")


def test_a_broken_utf16_file_is_refused_not_misread(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"x.csv: starts with a UTF-16 byte-order mark but is not UTF-16 text"):
        decode_text(b"\xff\xfev\x00a\x00\x00\xd8", tmp_path / "x.csv")  # a lone surrogate


def test_collection_toml_in_utf16_with_bom_loads_and_in_latin1_is_refused(config_path: Path, tmp_path: Path) -> None:
    edit(config_path, 'description = "Hand-drawn', 'description = "Café-drawn')
    recode(config_path, "utf-16")
    assert load_config(config_path).collection.description.startswith("Café-drawn")
    config_path.write_bytes(config_path.read_text(encoding="utf-16").encode("latin-1", errors="replace"))
    line = refused(*collection_args(config_path, tmp_path / "out"))
    assert "collection.toml: not UTF-8 text (byte 0xe9 at line 8, 'é' in Windows-1252); save it as UTF-8" in line
    assert not (tmp_path / "out").exists()


def test_read_toml_serves_the_training_recipe_too(tmp_path: Path) -> None:
    recipe = tmp_path / "config.toml"
    recipe.write_bytes("\ufeff[train]\nrank = 32\n".encode("utf-8"))  # Notepad's UTF-8 with BOM
    assert read_toml(recipe, "pass --config FILE") == {"train": {"rank": 32}}
    recipe.write_bytes(b'[train]\nname = "\x93quoted\x94"\n')  # Word's curly quotes in cp1252
    with pytest.raises(UserError, match=r"config.toml: not UTF-8 text \(byte 0x93 at line 2, '“' in Windows-1252\)"):
        read_toml(recipe, "pass --config FILE")


def test_palettes_in_utf16_read_and_in_cp1252_are_refused(config_path: Path) -> None:
    palette = config_path.parent / "palette.hex"
    colours = read_palette(palette)
    recode(palette, "utf-16", "; palette © José\n" + palette.read_text())
    assert np.array_equal(read_palette(palette).colors, colours.colors)
    recode(palette, "cp1252", "; palette © José\n" + palette.read_text(encoding="utf-16"))
    assert "palette.hex: not UTF-8 text (byte 0xa9 at line 1, '©' in Windows-1252)" in check_refused(config_path)
    gpl = config_path.parent / "palette.gpl"
    rows = "\n".join(f"{r} {g} {b}\tcolour" for r, g, b in colours.colors.tolist())
    gpl.write_bytes(f"GIMP Palette\nName: Pünks\n#\n{rows}\n".encode("utf-16"))
    assert np.array_equal(read_palette(gpl).colors, colours.colors)


def test_a_folder_or_an_unreadable_file_is_one_line(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = config_path.parent / "mouth.csv"
    table.unlink()
    table.mkdir()
    assert "mouth.csv: is a folder, not a file" in check_refused(config_path)
    table.rmdir()
    table.write_text("value,weight,prompt\nSmile,1,smile\n")
    real = os.open

    def denied(path: object, flags: int, *args: object) -> int:  # chmod cannot lock out root, which CI runs as
        if str(path).endswith("mouth.csv"):
            raise PermissionError(13, "Permission denied")
        return real(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)  # every read of a user's file opens it with os.open (non-blocking)
    assert "mouth.csv: permission denied; make the file readable" in check_refused(config_path)
