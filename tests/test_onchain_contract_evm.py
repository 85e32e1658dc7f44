"""The committed renderer contract, deployed into an in-process EVM (py-evm through eth-tester) with the data and
constructor arguments ``punkgen export --onchain`` writes: every token's ``tokenURI`` decodes to its
``metadata/<id>.json`` (the image aside) and its SVG's pixels equal ``images/<id>.png``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, collection_args, run_cli, shipped_collection
from onchain_checks import assert_token_uris_match, json_of
from test_one_of_one_attributes import add_legendary

eth_tester = pytest.importorskip("eth_tester", reason="eth-tester/py-evm not installed (pip install -e '.[dev]')")
from eth_abi import decode, encode  # noqa: E402  (installed with eth-tester)
from eth_utils import keccak  # noqa: E402

ARTIFACT = REPO / "contracts" / "artifacts" / "PunkgenRenderer.json"
LAYOUT = "(uint256,uint256,uint256,bytes32,uint256,uint256,uint256,uint256[],uint256,string[4],string)"


class Reverted(Exception):
    """A transaction the contract reverted (its receipt's status 0)."""


class Chain:
    """An eth-tester chain holding one deployed renderer, called as its owner."""

    def __init__(self, onchain: Path) -> None:
        self.tester = eth_tester.EthereumTester(
            eth_tester.PyEVMBackend(eth_tester.PyEVMBackend.generate_genesis_params(overrides={"gas_limit": 60_000_000}))
        )
        self.owner = self.tester.get_accounts()[0]
        args = json.loads((onchain / "contract.json").read_text())
        layout = [args[key] for key in ("first_token_id", "supply", "traits_per_token")]
        layout += [bytes.fromhex(args["provenance"][2:])]
        layout += [args[key] for key in ("palette_start", "image_table_start", "tokens_start", "trait_bases", "whole_base")]
        layout += [args["token_json"], args["contract_json"]]
        code = bytes.fromhex(json.loads(ARTIFACT.read_text())["bytecode"][2:])
        self.address = self.send(code + encode(["string", "string", LAYOUT], [args["name"], args["symbol"], layout]))[
            "contract_address"
        ]
        stream, at = (onchain / "contract-data.bin").read_bytes(), 0
        for size in args["chunks"]:
            self.send_call("store(bytes)", ["bytes"], [stream[at : at + size]])
            at += size
        self.send_call("seal()", [], [])
        self.send_call("mint(address,uint256)", ["address", "uint256"], [self.owner, args["supply"]])

    def send(self, data: bytes, to: str | None = None) -> dict:
        transaction = {"from": self.owner, "gas": 30_000_000, "data": "0x" + data.hex()} | ({"to": to} if to else {})
        receipt = self.tester.get_transaction_receipt(self.tester.send_transaction(transaction))
        if receipt["status"] != 1:
            raise Reverted(receipt)
        return receipt

    def send_call(self, signature: str, types: list[str], values: list) -> dict:
        return self.send(keccak(signature.encode())[:4] + encode(types, values), self.address)

    def call(self, signature: str, types: list[str], values: list, returns: str):
        data = keccak(signature.encode())[:4] + encode(types, values)
        out = self.tester.call({"from": self.owner, "to": self.address, "data": "0x" + data.hex(), "gas": 50_000_000})
        return decode([returns], bytes.fromhex(out[2:]) if isinstance(out, str) else bytes(out))[0]


def assert_every_token_uri_matches_its_files(out: Path) -> Chain:
    chain = Chain(out / "export" / "onchain")
    assert assert_token_uris_match(out, chain.call) > 0
    return chain


@pytest.mark.slow
def test_the_shipped_sprite_collection_renders_every_token_from_the_contract(tmp_path: Path) -> None:
    out, config = shipped_collection(tmp_path, 5)
    assert run_cli("export", out, "--onchain", "--config", config).exit_code == 0
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
    assert run_cli("export", out, "--onchain", "--config", config_path).exit_code == 0
    tokens = (out / "export" / "onchain" / "tokens.bin").read_bytes()
    assert 0xFF in tokens[:: len(json.loads((out / "export" / "onchain" / "contract.json").read_text())["trait_bases"])]
    assert_every_token_uri_matches_its_files(out)


@pytest.mark.slow
def test_only_the_owner_stores_and_mints_and_only_within_n_after_seal(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 2)).exit_code == 0
    assert run_cli("export", out, "--onchain", "--config", config_path).exit_code == 0
    chain = Chain(out / "export" / "onchain")  # stored, sealed, and both tokens minted to the owner
    stranger = chain.tester.get_accounts()[1]
    with pytest.raises(Reverted):  # past N
        chain.send_call("mint(address,uint256)", ["address", "uint256"], [chain.owner, 1])
    with pytest.raises(Reverted):  # sealed: the data can no longer change
        chain.send_call("store(bytes)", ["bytes"], [b"\x01"])
    chain.owner, owner = stranger, chain.owner
    with pytest.raises(Reverted):  # not the owner
        chain.send_call("seal()", [], [])
    assert chain.call("ownerOf(uint256)", ["uint256"], [2], "address").lower() == owner.lower()
    with pytest.raises(eth_tester.exceptions.TransactionFailed):  # no token 3
        chain.call("tokenURI(uint256)", ["uint256"], [3], "string")
