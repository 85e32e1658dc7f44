"""The committed renderer contract, deployed into an in-process EVM (py-evm through eth-tester) with the data and
constructor arguments ``punkgen export --onchain`` writes: every token's ``tokenURI`` decodes to its
``metadata/<id>.json`` (the image aside) and its SVG's pixels equal ``images/<id>.png``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import collection_args, run_cli, shipped_collection
from onchain_checks import assert_token_uris_match, json_of
from test_one_of_one_attributes import add_legendary

pytest.importorskip("eth_tester", reason="eth-tester/py-evm not installed (pip install -e '.[dev]')")
from eth_tester.exceptions import TransactionFailed  # noqa: E402

from generator.publish.onchain.evm import Chain, Reverted  # noqa: E402


def deployed(onchain: Path) -> Chain:
    """A fresh chain holding the renderer with ``onchain``'s data, stored, sealed and every token minted to the owner."""
    chain = Chain()
    arguments = json.loads((onchain / "contract.json").read_text())
    chain.deploy(arguments, (onchain / "contract-data.bin").read_bytes())
    chain.mint(arguments["supply"])
    return chain


def assert_every_token_uri_matches_its_files(out: Path) -> Chain:
    chain = deployed(out / "export" / "onchain")
    assert assert_token_uris_match(out, chain.call) > 0
    return chain


@pytest.mark.slow
def test_the_shipped_sprite_collection_renders_every_token_from_the_contract(tmp_path: Path) -> None:
    out, config = shipped_collection(tmp_path, 5)
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config).exit_code == 0
    lengths = {len(json.loads(path.read_text())["attributes"]) for path in (out / "metadata").glob("*.json")}
    assert len(lengths) > 1  # some token leaves a trait unpublished (None): its layer has an empty attributes entry
    chain = assert_every_token_uri_matches_its_files(out)
    args = json.loads((out / "export" / "onchain" / "contract.json").read_text())
    assert chain.call("N()", [], [], "uint256") == 5
    assert "0x" + chain.call("PROVENANCE()", [], [], "bytes32").hex() == args["provenance"]
    assert json_of(chain.call("contractURI()", [], [], "string")) == json.loads(args["contract_json"])


@pytest.mark.slow
def test_a_one_of_one_stored_whole_renders_from_the_contract_too(config_path: Path, tmp_path: Path) -> None:
    add_legendary(config_path, 'Type = "Alien King"', token_id=2)
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 4)).exit_code == 0
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config_path).exit_code == 0
    tokens = (out / "export" / "onchain" / "tokens.bin").read_bytes()
    assert 0xFF in tokens[:: len(json.loads((out / "export" / "onchain" / "contract.json").read_text())["trait_bases"])]
    assert_every_token_uri_matches_its_files(out)


@pytest.mark.slow
def test_only_the_owner_stores_and_mints_and_only_within_n_after_seal(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 2)).exit_code == 0
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config_path).exit_code == 0
    chain = deployed(out / "export" / "onchain")  # stored, sealed, and both tokens minted to the owner
    stranger = chain.tester.get_accounts()[1]
    with pytest.raises(Reverted):  # past N
        chain.mint(1)
    with pytest.raises(Reverted):  # sealed: the data can no longer change
        chain.transact("store", "store(bytes)", ["bytes"], [b"\x01"])
    chain.owner, owner = stranger, chain.owner
    with pytest.raises(Reverted):  # not the owner
        chain.transact("seal", "seal()", [], [])
    assert chain.call("ownerOf(uint256)", ["uint256"], [2], "address").lower() == owner.lower()
    with pytest.raises(TransactionFailed):  # no token 3
        chain.call("tokenURI(uint256)", ["uint256"], [3], "string")
