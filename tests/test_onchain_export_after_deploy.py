"""``export --onchain`` over a folder a deploy journal names: the same plan is exported again (the journal carried),
another plan is refused in one line before anything is written, since it would replace the very files that deploy
sends (a half-deployed contract could never be finished) and leave a journal naming data it does not hold."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import collection_args, edit, folder_bytes, refused, run_cli

pytest.importorskip("eth_tester", reason="eth-tester/py-evm not installed (pip install -e '.[dev]')")
pytest.importorskip("web3", reason="web3 not installed (pip install -e '.[onchain,dev]')")
from eth_account import Account  # noqa: E402
from evm_node import KEY, EvmNode, running_node  # noqa: E402


@pytest.fixture
def node() -> Iterator[EvmNode]:
    with running_node() as node:
        node.fund(Account.from_key(KEY).address, 10**18)
        yield node


@pytest.fixture
def deployed(config_path: Path, tmp_path: Path, node: EvmNode, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 2)).exit_code == 0
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config_path).exit_code == 0
    monkeypatch.setenv("DEPLOYER_KEY", KEY)
    assert run_cli("deploy", out, "--rpc", node.url, "--key-env", "DEPLOYER_KEY", "--quiet").exit_code == 0
    return out


def remade_with_another_description(config_path: Path, out: Path) -> None:
    edit(config_path, 'description = "', 'description = "Changed. ')
    assert run_cli(*collection_args(config_path, out, 2, "--force")).exit_code == 0


@pytest.mark.parametrize("journal", ["finished", "half-deployed"])
def test_an_export_of_another_plan_over_a_deploy_journal_is_refused_writing_nothing(
    deployed: Path, config_path: Path, journal: str
) -> None:
    onchain = deployed / "export" / "onchain"
    if journal == "half-deployed":  # the renderer landed, its data not yet
        record = json.loads((onchain / "deployed.json").read_text())
        record["steps"] = record["steps"][:1]
        (onchain / "deployed.json").write_text(json.dumps(record))
    before = folder_bytes(onchain)
    remade_with_another_description(config_path, deployed)
    line = refused("export", deployed, "--onchain", "--no-gas", "--config", config_path)
    assert "records a deploy of this folder's earlier on-chain export (contract 0x" in line and "nothing was exported" in line
    assert folder_bytes(onchain) == before


def test_the_same_plan_exports_again_and_a_moved_journal_lets_another_plan_export(
    deployed: Path, config_path: Path, tmp_path: Path
) -> None:
    onchain = deployed / "export" / "onchain"
    journal = (onchain / "deployed.json").read_bytes()
    assert run_cli("export", deployed, "--onchain", "--no-gas", "--config", config_path).exit_code == 0
    assert (onchain / "deployed.json").read_bytes() == journal  # carried, the plan unchanged
    remade_with_another_description(config_path, deployed)
    (onchain / "deployed.json").rename(tmp_path / "deployed.json")
    assert run_cli("export", deployed, "--onchain", "--no-gas", "--config", config_path).exit_code == 0
