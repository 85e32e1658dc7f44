"""What `export` prints for the contract is enough to set it: with --json-extension the metadata files end in .json,
which a contract's tokenURI (baseURI + tokenId) does not add by itself (issue 27, #6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import made_collection, run_cli

RULE = 'tokenURI = baseURI + tokenId + ".json"'


@pytest.fixture
def collection(config_path: Path, tmp_path: Path) -> Path:
    return made_collection(config_path, tmp_path / "out", 5)


def exported(out: Path, config_path: Path, *flags: str) -> list[str]:
    result = run_cli("export", out, "--config", config_path, "--quiet", *flags)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_car_with_json_extension_says_the_contract_must_append_json(collection: Path, config_path: Path) -> None:
    lines = exported(collection, config_path, "--car", "--json-extension")
    base = next(line for line in lines if line.startswith("baseURI = ")).removeprefix("baseURI = ")
    rule = next(line for line in lines if line.startswith(RULE))
    assert 'must append ".json"' in rule
    assert lines.index(rule) == lines.index(f"baseURI = {base}") + 2, "beside the baseURI (after contractURI)"
    cid = base.removeprefix("ipfs://").rstrip("/")
    assert (collection / "export" / "metadata" / "3.json").is_file(), f"{base}3.json is a file: {cid}"
    assert not (collection / "export" / "metadata" / "3").exists(), f"{base}3 is not, hence the rule"


def test_https_hosting_with_json_extension_says_it_too(collection: Path, config_path: Path) -> None:
    lines = exported(collection, config_path, "--base-uri", "https://cdn.example.com/p/", "--json-extension")
    assert any(line.startswith(RULE) for line in lines), lines
    assert json.loads((collection / "export" / "metadata" / "2.json").read_text())["image"] == "https://cdn.example.com/p/2.png"


@pytest.mark.parametrize("flags", [("--car",), ("--base-uri", "https://cdn.example.com/p/"), ("--format", "metaplex")])
def test_without_json_files_for_a_contract_no_rule_is_printed(
    collection: Path, config_path: Path, flags: tuple[str, ...]
) -> None:
    assert not any(line.startswith(RULE) for line in exported(collection, config_path, *flags))
