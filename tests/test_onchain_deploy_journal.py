"""A deploy's journal (``export/onchain/deployed.json``) that is not what punkgen wrote: edited by hand, cut short,
a link (dangling: it must not read as "no journal" and deploy a second contract), writable by everyone. Each is one
line, exit 2, before any transaction is sent, and the file is left as it was."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import refused, run_cli, shipped_collection

pytest.importorskip("eth_tester", reason="eth-tester/py-evm not installed (pip install -e '.[dev]')")
pytest.importorskip("web3", reason="web3 not installed (pip install -e '.[onchain,dev]')")
from eth_account import Account  # noqa: E402
from evm_node import KEY, EvmNode, running_node  # noqa: E402

ENV = "DEPLOYER_KEY"


@pytest.fixture(scope="module")
def node() -> Iterator[EvmNode]:
    with running_node() as node:
        node.fund(Account.from_key(KEY).address, 10**18)
        yield node


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, node: EvmNode) -> Path:
    """A 1-token collection deployed (renderer, one page, seal), its journal complete."""
    out, config = shipped_collection(tmp_path_factory.mktemp("journal"), 1)
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config).exit_code == 0
    os.environ[ENV] = KEY
    try:
        assert run_cli(*deploy_args(out, node)).exit_code == 0
    finally:
        del os.environ[ENV]
    return out


@pytest.fixture
def folder(deployed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ENV, KEY)
    return Path(shutil.copytree(deployed, tmp_path / "out"))


def deploy_args(folder: Path, node: EvmNode) -> list[str]:
    return ["deploy", str(folder), "--rpc", node.url, "--key-env", ENV, "--quiet"]


def journal_path(folder: Path) -> Path:
    return folder / "export" / "onchain" / "deployed.json"


EDITS = {
    "steps-not-a-list": lambda j: j.update(steps="x"),
    "step-not-an-object": lambda j: j.update(steps=[1, 2]),
    "status-missing": lambda j: j["steps"][1].pop("status"),
    "status-unknown": lambda j: j["steps"][1].update(status="weird"),
    "sent-without-bytes": lambda j: j["steps"][2].update(status="sent"),
    "kind-swapped": lambda j: j["steps"][1].update(kind="mint"),
    "more-steps-than-the-plan": lambda j: j["steps"].append(j["steps"][1]),
    "address-erased": lambda j: j.update(address=None),
    "chain-id-a-string": lambda j: j.update(chain_id=str(j["chain_id"])),
    "negative-nonce": lambda j: j["steps"][0].update(nonce=-1),
    "mint-to-not-an-address": lambda j: j.update(mint_to="0x12"),
    "a-json-list": lambda j: j.clear(),
}


@pytest.mark.parametrize("edit", list(EDITS), ids=list(EDITS))
def test_a_journal_edited_by_hand_is_refused_in_one_line_sending_nothing(folder: Path, node: EvmNode, edit: str) -> None:
    path = journal_path(folder)
    journal = json.loads(path.read_text())
    EDITS[edit](journal)
    path.write_text(json.dumps(journal or [1]))
    before, received = path.read_bytes(), len(node.received)
    line = refused(*deploy_args(folder, node))
    assert str(path) in line and "move it away to deploy anew" in line
    assert path.read_bytes() == before and len(node.received) == received


def test_a_truncated_journal_is_refused_in_one_line(folder: Path, node: EvmNode) -> None:
    path = journal_path(folder)
    path.write_bytes(path.read_bytes()[:150])
    assert "not JSON" in refused(*deploy_args(folder, node))


def test_a_journal_behind_a_link_is_refused_even_dangling(folder: Path, node: EvmNode, tmp_path: Path) -> None:
    path, received = journal_path(folder), len(node.received)
    elsewhere = tmp_path / "elsewhere.json"
    path.rename(elsewhere)
    path.symlink_to(elsewhere)
    assert "is a symbolic link" in refused(*deploy_args(folder, node))
    elsewhere.unlink()  # the disk it lived on is gone: no journal must not mean a new deploy
    assert "is a symbolic link" in refused(*deploy_args(folder, node))
    assert path.is_symlink() and len(node.received) == received


def test_a_world_writable_journal_is_refused_and_one_written_never_is(folder: Path, node: EvmNode) -> None:
    path = journal_path(folder)
    path.chmod(0o666)
    assert "writable by every user" in refused(*deploy_args(folder, node))
    path.unlink()  # a new deploy of the same export under a umask of 0: its journal is still not o+w
    previous = os.umask(0)
    try:
        assert run_cli(*deploy_args(folder, node)).exit_code == 0
    finally:
        os.umask(previous)
    assert not path.stat().st_mode & 0o002
    assert run_cli(*deploy_args(folder, node)).exit_code == 0
