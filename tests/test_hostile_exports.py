"""The Ordinals and on-chain exports and ``export/rarity.csv`` against a hostile config: a link holding a password must
never reach an inscription, a contract or a listing, and a trait type named like one of rarity.csv's own columns must
not make a header name two columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import edit, refused, shipped_collection

SECRET = "hunter2"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return shipped_collection(tmp_path_factory.mktemp("hostile-exports"), 4)


@pytest.mark.parametrize(
    ("target", "setting", "old"),
    [
        ("--ordinals", "external_url", 'external_url = ""'),  # meta.json's website_link
        ("--onchain", "external_url", 'external_url = ""'),  # contract.json and contract-data.bin
        ("--ordinals", "external_link", 'external_link = ""'),
    ],
)
def test_a_link_with_a_password_is_refused_without_repeating_it(
    shipped: tuple[Path, Path], target: str, setting: str, old: str
) -> None:
    out, config = shipped
    original = config.read_text()
    edit(config, old, f'{setting} = "https://bob:{SECRET}@site.example/"')
    try:
        line = refused("export", out, target, "--config", config, "--quiet")
    finally:
        config.write_text(original)
    assert f"].{setting} 'https://…@site.example/' holds a user name or password" in line
    assert SECRET not in line and "bob" not in line
    assert not (out / "export").exists()
