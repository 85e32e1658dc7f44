"""The deployment plan ``export --onchain`` writes (deploy-plan.json): its calldata is what eth-abi encodes, its gas
limits hold in a real EVM (tests/test_onchain_deploy.py sends them), and a deploy refuses files that no longer build
the exported plan; exporting imports no Ethereum package."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import refused, run_cli, run_importing_none_of, shipped_collection

from generator.publish.onchain.plan import MINT, MINT_BATCH, SEAL, STORE, constructor_arguments, plan_steps

eth_abi = pytest.importorskip("eth_abi", reason="eth-abi not installed (pip install -e '.[dev]')")
from eth_utils import keccak  # noqa: E402

LAYOUT = "(uint256,uint256,uint256,bytes32,uint256,uint256,uint256,uint256[],uint256,string[4],string)"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out, config = shipped_collection(tmp_path_factory.mktemp("plan"), 3)
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config).exit_code == 0
    return out


def test_the_selectors_are_the_renderers_functions() -> None:
    for selector, signature in ((STORE, "store(bytes)"), (SEAL, "seal()"), (MINT, "mint(address,uint256)")):
        assert selector == keccak(signature.encode())[:4]


@pytest.mark.parametrize(
    "changes",
    [{}, {"name": "Ünïcode Punks ✓", "trait_bases": list(range(40)), "token_json": ["", "x" * 70, "{", "}" * 33]}],
    ids=["exported", "long-and-unicode"],
)
def test_the_constructor_arguments_are_what_eth_abi_encodes(exported: Path, changes: dict) -> None:
    arguments = json.loads((exported / "export" / "onchain" / "contract.json").read_text()) | changes
    layout = [arguments[key] for key in ("first_token_id", "supply", "traits_per_token")]
    layout += [bytes.fromhex(arguments["provenance"][2:])]
    layout += [arguments[key] for key in ("palette_start", "image_table_start", "tokens_start", "trait_bases", "whole_base")]
    layout += [arguments["token_json"], arguments["contract_json"]]
    expected = eth_abi.encode(["string", "string", LAYOUT], [arguments["name"], arguments["symbol"], layout])
    assert constructor_arguments(arguments) == expected


def test_the_plan_names_every_step_by_its_calldata_digest(exported: Path) -> None:
    onchain = exported / "export" / "onchain"
    plan = json.loads((onchain / "deploy-plan.json").read_text())
    chunks = json.loads((onchain / "contract.json").read_text())["chunks"]
    assert [step["kind"] for step in plan["steps"]] == ["deploy", *["store"] * len(chunks), "seal", "mint"]
    stream = (onchain / "contract-data.bin").read_bytes()
    store = plan_steps(onchain)[1]
    assert store.data == STORE + eth_abi.encode(["bytes"], [stream[: chunks[0]]])
    assert plan["steps"][1]["sha256"] == hashlib.sha256(store.data).hexdigest() and plan["steps"][1]["size"] == len(store.data)
    assert plan["steps"][-1] == {"kind": "mint", "quantity": 3, "gas": plan_steps(onchain)[-1].gas}
    assert plan["gas"] == sum(step["gas"] for step in plan["steps"])


def test_a_large_supply_is_minted_in_batches(exported: Path, tmp_path: Path) -> None:
    onchain = tmp_path / "onchain"
    onchain.mkdir()
    for name in ("contract.json", "contract-data.bin"):
        (onchain / name).write_bytes((exported / "export" / "onchain" / name).read_bytes())
    arguments = json.loads((onchain / "contract.json").read_text()) | {"supply": 2 * MINT_BATCH + 1}
    (onchain / "contract.json").write_text(json.dumps(arguments))
    recipient = "0x" + "ab" * 20
    mints = [step for step in plan_steps(onchain, recipient) if step.kind == "mint"]
    assert [step.quantity for step in mints] == [MINT_BATCH, MINT_BATCH, 1]
    assert mints[-1].data == MINT + eth_abi.encode(["address", "uint256"], [recipient, 1])


@pytest.mark.parametrize("tampered", ["contract-data.bin", "contract.json"])
def test_a_deploy_refuses_files_that_no_longer_build_the_exported_plan(
    exported: Path, tmp_path: Path, tampered: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    folder = Path(shutil.copytree(exported, tmp_path / "out"))
    path = folder / "export" / "onchain" / tampered
    data = bytearray(path.read_bytes())
    if tampered == "contract.json":
        data = bytearray(data.replace(b'"symbol": "BPUNK"', b'"symbol": "EVIL"'))
    else:
        data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    monkeypatch.setenv("DEPLOYER_KEY", "11" * 32)
    line = refused("deploy", folder, "--rpc", "http://127.0.0.1:9", "--key-env", "DEPLOYER_KEY")
    assert "deploy-plan.json: its step" in line and "export the collection again" in line


def test_exporting_imports_no_ethereum_package(exported: Path) -> None:
    config = exported.parent / "traits" / "collection.toml"
    run_importing_none_of(
        ("web3", "eth_account", "eth_abi", "requests"), "export", exported, "--onchain", "--no-gas", "--config", config
    )
    # measuring gas loads the in-process EVM (py-evm, eth-abi), never the deploy's JSON-RPC client
    run_importing_none_of(("web3", "requests"), "export", exported, "--onchain", "--config", config)
