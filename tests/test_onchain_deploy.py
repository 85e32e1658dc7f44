"""``punkgen deploy`` into a real EVM behind a JSON-RPC node on 127.0.0.1 (tests/evm_node.py): the plan lands whole,
every token's ``tokenURI`` matches its files, and a deploy killed at any moment resumes sending no step twice."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, refused, run_cli, shipped_collection

pytest.importorskip("eth_tester", reason="eth-tester/py-evm not installed (pip install -e '.[dev]')")
pytest.importorskip("web3", reason="web3 not installed (pip install -e '.[onchain,dev]')")
from crash_points import killed_at  # noqa: E402
from eth_account import Account  # noqa: E402
from evm_node import KEY, EvmNode, renderer_call, running_node  # noqa: E402
from onchain_checks import assert_token_uris_match  # noqa: E402

from generator.publish.onchain.plan import MINT, SEAL, STORE, plan_document, plan_steps  # noqa: E402

ACCOUNT = Account.from_key(KEY).address
ENV = "DEPLOYER_KEY"
TOKENS = 2
SELECTORS = {STORE.hex(): "store", SEAL.hex(): "seal", MINT.hex(): "mint"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished sprite collection exported --onchain, copied fresh by each test (:func:`folder`)."""
    out, config = shipped_collection(tmp_path_factory.mktemp("deploy"), TOKENS)
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config).exit_code == 0
    return out


@pytest.fixture
def folder(exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ENV, KEY)
    return Path(shutil.copytree(exported, tmp_path / "out", symlinks=True))


@pytest.fixture
def paged(folder: Path) -> Path:
    """``folder`` with its data stream cut into three pages (a big collection's is cut at 24,575 bytes; a small
    one's pages keep these tests fast), its plan written again for them."""
    onchain = folder / "export" / "onchain"
    arguments = json.loads((onchain / "contract.json").read_text())
    size = sum(arguments["chunks"])
    arguments["chunks"] = [size // 3, size // 3, size - 2 * (size // 3)]
    (onchain / "contract.json").write_text(json.dumps(arguments))
    (onchain / "deploy-plan.json").write_text(json.dumps(plan_document(plan_steps(onchain))))
    return folder


def deploy_args(folder: Path, node: EvmNode, *extra: object) -> list[str]:
    return ["deploy", str(folder), "--rpc", node.url, "--key-env", ENV, "--mint-to", ACCOUNT, "--quiet", *map(str, extra)]


def deploy_process(folder: Path, node: EvmNode) -> subprocess.Popen:
    """``punkgen deploy`` in its own process, as a user runs it (and a node may kill it)."""
    env = os.environ | {"PYTHONPATH": str(REPO), ENV: KEY}
    command = [sys.executable, "-m", "generator", *deploy_args(folder, node)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)


def journal_of(folder: Path) -> dict:
    return json.loads((folder / "export" / "onchain" / "deployed.json").read_text())


def sent_kinds(node: EvmNode) -> list[str]:
    """The kind of every transaction the deploying account got mined, in order."""
    kinds = []
    for transaction in node.mined():
        data = transaction["data"]
        kinds.append("deploy" if not transaction["to"] else SELECTORS[data[2:10]])
    return kinds


def assert_deployed_once(folder: Path, node: EvmNode, every_token: bool = False) -> None:
    """One renderer, each step of the plan mined exactly once and in order, and the last token (or every one) right."""
    plan = json.loads((folder / "export" / "onchain" / "deploy-plan.json").read_text())
    assert sent_kinds(node) == [step["kind"] for step in plan["steps"]]
    for transaction, step in zip(node.mined(), plan["steps"], strict=True):  # every page once, as exported
        if step["kind"] != "mint":
            assert hashlib.sha256(bytes.fromhex(transaction["data"][2:])).hexdigest() == step["sha256"]
    journal = journal_of(folder)
    assert [record["status"] for record in journal["steps"]] == ["confirmed"] * len(plan["steps"])
    assert all("raw" not in record for record in journal["steps"])
    assert [record["hash"] for record in journal["steps"]] == [t["hash"] for t in node.mined()]
    call = renderer_call(node, journal["address"])
    assert call("minted()", [], [], "uint256") == TOKENS
    assert assert_token_uris_match(folder, call, None if every_token else 1) == (TOKENS if every_token else 1)


@pytest.fixture
def node() -> Iterator[EvmNode]:
    """A node whose chain funds the deploying account with 1 ETH."""
    with running_node() as node:
        node.fund(ACCOUNT, 10**18)
        yield node


@pytest.mark.slow
def test_a_deploy_sends_the_plan_once_and_every_token_uri_matches_its_files(folder: Path, node: EvmNode) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "generator", *deploy_args(folder, node)],
        env=os.environ | {"PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert_deployed_once(folder, node, every_token=True)
    journal = journal_of(folder)
    assert finished.stdout.splitlines()[-1] == journal["address"]
    assert journal["chain_id"] == node.chain_id and journal["mint_to"] == ACCOUNT
    assert_key_nowhere(folder, finished.stdout + finished.stderr)
    again = run_cli(*deploy_args(folder, node))  # a finished deploy run again sends nothing
    assert again.exit_code == 0 and again.output.splitlines()[-1] == journal["address"]
    assert len(node.received) == len(journal["steps"])


def assert_key_nowhere(folder: Path, output: str) -> None:
    """The private key is in no output and no file, in any spelling."""
    spellings = [KEY, KEY[2:], KEY[2:].upper()]
    assert not any(key in output for key in spellings)
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(key.encode() in data for key in spellings), path


@pytest.mark.slow
def test_a_deploy_killed_by_the_node_three_times_resumes_sending_no_step_twice(paged: Path, node: EvmNode) -> None:
    """Killed as the node takes the deploy (mined, never answered), as it would take page 2 (lost: the resumed deploy
    sends the same signed bytes again) and with page 3 left pending in its pool (the resumed deploy waits for it)."""
    for count, moment, step in ((1, "after", 0), (3, "before", 2), (5, "pending", 3)):
        process = deploy_process(paged, node)
        node.kill_at(count, moment, process.pid)
        _, errors = process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL, errors
        assert journal_of(paged)["steps"][step]["status"] == "sent"  # journaled before the node saw it
    resumed = run_cli(*deploy_args(paged, node))
    assert resumed.exit_code == 0, resumed.output
    assert_deployed_once(paged, node)
    page_2 = journal_of(paged)["steps"][2]["hash"]
    assert [h for i, h in enumerate(node.received) if h in node.received[:i]] == [page_2]  # its one resend


@pytest.mark.slow
def test_a_journaled_transaction_refused_after_the_gas_price_rose_is_signed_again_with_its_nonce(
    paged: Path, node: EvmNode
) -> None:
    process = deploy_process(paged, node)
    node.kill_at(2, "before", process.pid)  # page 1 journaled as sent, never taken
    process.communicate(timeout=60)
    node.price_rise = 5 * 10**9  # the pool now refuses it as underpriced
    resumed = run_cli(*deploy_args(paged, node))
    assert resumed.exit_code == 0, resumed.output
    assert_deployed_once(paged, node)
    page_1 = journal_of(paged)["steps"][1]
    assert page_1["replaced"] == [node.received[1]] and page_1["hash"] == node.received[3]  # sent, refused, signed again
    assert page_1["nonce"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("drops", [1, 3], ids=["dropped-once", "dropped-again-when-sent-again"])
def test_a_transaction_the_node_drops_from_its_pool_is_sent_again_and_lands_once(paged: Path, node: EvmNode, drops: int) -> None:
    node.drops = drops  # the deployment is taken and forgotten (and, the second time, so are its first resends)
    deployed = run_cli(*deploy_args(paged, node))
    assert deployed.exit_code == 0, deployed.output
    assert_deployed_once(paged, node)
    repeats = {hash_: node.received.count(hash_) for hash_ in node.received}
    assert repeats[journal_of(paged)["steps"][0]["hash"]] == drops + 1  # the same signed bytes each time
    assert sorted(repeats.values())[:-1] == [1] * (len(repeats) - 1)  # every other step sent once


@pytest.mark.slow
@pytest.mark.parametrize("errors", [1, 2], ids=["one-send", "two-sends-in-a-row"])
def test_a_send_the_node_answers_with_an_error_but_mines_is_waited_for_not_signed_again(
    paged: Path, node: EvmNode, errors: int
) -> None:
    node.errors_after_taking = errors  # as hardhat answers a transaction that reverts: an error, yet mined
    deployed = run_cli(*deploy_args(paged, node))
    assert deployed.exit_code == 0, deployed.output
    assert_deployed_once(paged, node)
    assert len(set(node.received)) == len(node.received)  # nothing signed again, nothing sent twice
    assert not [record for record in journal_of(paged)["steps"] if "replaced" in record]


@pytest.mark.slow
@pytest.mark.parametrize("answered", [None, "0x" + "ab" * 20], ids=["no-address", "another-address"])
def test_a_receipt_placing_the_contract_elsewhere_stops_the_deploy_before_any_step_goes_there(
    folder: Path, node: EvmNode, answered: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = node._receipt

    def lying(hash_: str) -> dict | None:
        found = receipt(hash_)
        return found and (found | {"contractAddress": answered} if found.get("contractAddress") else found)

    monkeypatch.setattr(node, "_receipt", lying)
    line = refused_by_chain(*deploy_args(folder, node))
    assert f"puts the deployed contract at {answered}" in line and "with nonce 0 creates 0x" in line
    assert sent_kinds(node) == ["deploy"] and journal_of(folder)["address"] is None
    monkeypatch.setattr(node, "_receipt", receipt)  # a truthful node: the deploy goes on, sending nothing twice
    assert run_cli(*deploy_args(folder, node)).exit_code == 0
    assert_deployed_once(folder, node)


@pytest.mark.slow
@pytest.mark.parametrize("then", ["price-falls-back", "account-funded"])
def test_a_gas_price_spike_the_account_cannot_pay_stops_in_one_line_and_resumes(
    folder: Path, node: EvmNode, then: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = node._raw

    def spiking(raw: str) -> str:
        hash_ = taken(raw)
        node.price_rise = 20_000 * 10**9  # after the deployment: 20,000 gwei more, past the account's 1 ETH
        return hash_

    monkeypatch.setattr(node, "_raw", spiking)
    line = refused_by_chain(*deploy_args(folder, node))
    assert "insufficient funds" in line and "the next transaction may need" in line
    assert [record["status"] for record in journal_of(folder)["steps"]] == ["confirmed", "sent"]
    monkeypatch.setattr(node, "_raw", taken)
    if then == "price-falls-back":  # signed again at the lower price, with the same nonce
        node.price_rise = 0
    else:  # sent as signed, at the spiked price
        node.fund(ACCOUNT, 100 * 10**18)
    resumed = run_cli(*deploy_args(folder, node))
    assert resumed.exit_code == 0, resumed.output
    assert_deployed_once(folder, node)


@pytest.mark.slow
def test_a_deploy_killed_at_three_journal_writes_resumes_sending_no_step_twice(paged: Path, node: EvmNode) -> None:
    """Killed before a journal write lands, three runs in a row: the deploy signed but not journaled (so never sent),
    page 2 mined with its receipt not journaled yet, and the seal signed but not journaled."""
    for write, received, journaled in ((1, 0, 0), (6, 3, 3), (4, 4, 4)):  # the run's n-th write; after it, the totals

        def at(kind: str, path: str, write: int = write, seen: list[str] = []) -> bool:  # noqa: B006 (a fresh list each run: the def runs once per run)
            if kind == "replace" and Path(path).name.startswith(".deployed.json."):
                seen.append(path)
                return len(seen) == write
            return False

        assert killed_at(deploy_args(paged, node), paged / "export" / "onchain", at=at)
        steps = journal_of(paged)["steps"] if journaled else []
        assert (len(node.received), len(steps)) == (received, journaled)  # a step signed but not journaled: never sent
    assert steps[2]["status"] == "confirmed"  # the resumed run found page 2's receipt
    assert run_cli(*deploy_args(paged, node)).exit_code == 0
    assert_deployed_once(paged, node)
    assert len(set(node.received)) == len(node.received)


def test_a_missing_or_malformed_key_variable_is_one_line_that_never_shows_the_key(
    folder: Path, node: EvmNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV)
    assert f"the environment variable {ENV} is not set or empty" in refused(*deploy_args(folder, node))
    monkeypatch.setenv(ENV, "")
    assert ENV in refused(*deploy_args(folder, node))
    monkeypatch.setenv(ENV, KEY[:-1] + "z")
    line = refused(*deploy_args(folder, node))
    assert "does not hold a private key" in line and KEY[2:-1] not in line
    monkeypatch.setenv(ENV, KEY)
    args = deploy_args(folder, node)
    args[args.index(ENV)] = KEY  # the key itself typed as the variable's name: refused without echoing it
    line = refused(*args)
    assert "NAME of an environment variable" in line
    assert_key_nowhere(folder, line)
    assert node.received == [] and not (folder / "export" / "onchain" / "deployed.json").exists()


def test_a_folder_with_no_onchain_export_is_one_line_and_stays_untouched(tmp_path: Path, node: EvmNode) -> None:
    line = refused(*deploy_args(tmp_path / "typo", node))
    assert "has no on-chain export to deploy" in line and "punkgen export FOLDER --onchain" in line
    assert not (tmp_path / "typo").exists() and node.received == []


def refused_by_chain(*args: object) -> str:
    """``punkgen ARGS`` exits 3 (the chain or the network) with one line; returns it."""
    result = run_cli(*args)
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_an_unreachable_rpc_is_one_line_exit_3(folder: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["deploy", folder, "--rpc", f"http://user:secret@127.0.0.1:{port}/v3/apikey", "--key-env", ENV, "--quiet"]
    line = refused_by_chain(*args)
    assert f"cannot reach the RPC endpoint http://127.0.0.1:{port}" in line
    assert "secret" not in line and "apikey" not in line  # a provider URL's credentials are never printed


def test_insufficient_funds_is_one_line_exit_3_before_anything_is_sent(folder: Path) -> None:
    with running_node() as poor:
        poor.fund(ACCOUNT, 10**9)  # one gwei's worth
        line = refused_by_chain(*deploy_args(folder, poor))
        assert line.startswith("Error: insufficient funds: account " + ACCOUNT)
        assert poor.received == [] and not (folder / "export" / "onchain" / "deployed.json").exists()


@pytest.mark.slow
def test_a_journal_of_another_chain_account_recipient_or_export_is_refused(
    folder: Path, node: EvmNode, exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(*deploy_args(folder, node)).exit_code == 0
    before = journal_of(folder)
    with running_node(reported_chain_id=11155111) as other:  # a node of another chain (Sepolia's id)
        other.fund(ACCOUNT, 10**18)
        line = refused(*deploy_args(folder, other))
        assert f"on chain {node.chain_id}, but --rpc serves chain 11155111" in line
        assert other.received == []
    monkeypatch.setenv(ENV, "0x" + "22" * 32)  # another account: not the renderer's owner
    assert f"records a deploy by account {ACCOUNT}" in refused(*deploy_args(folder, node))
    monkeypatch.setenv(ENV, KEY)
    args = deploy_args(folder, node)
    args[args.index(ACCOUNT)] = "0x" + "ab" * 20  # the tokens went to ACCOUNT already
    assert f"give --mint-to {ACCOUNT}" in refused(*args)
    traits = Path(shutil.copytree(exported.parent / "traits", tmp_path / "traits"))
    config = traits / "collection.toml"  # the symbol changed, exported again: another plan
    config.write_text(config.read_text().replace('symbol = "BPUNK"', 'symbol = "BPNK2"'))
    assert "records a deploy of this folder's earlier on-chain export" in refused(
        "export", folder, "--onchain", "--no-gas", "--config", config
    )  # the export will not replace the files this deploy sends (tests/test_onchain_export_after_deploy.py)
    journal = folder / "export" / "onchain" / "deployed.json"
    journal.rename(tmp_path / "deployed.json")  # moved away, exported, put back: the deploy refuses it itself
    assert run_cli("export", folder, "--onchain", "--no-gas", "--config", config).exit_code == 0
    (tmp_path / "deployed.json").rename(journal)
    assert journal_of(folder) == before
    assert "records a deploy of another export" in refused(*deploy_args(folder, node))


@pytest.mark.slow
def test_a_reverted_step_is_one_line_exit_3_naming_it_and_kept_in_the_journal(folder: Path, node: EvmNode) -> None:
    process = deploy_process(folder, node)
    node.kill_at(1, "after", process.pid)  # the renderer is mined; then its owner gives it away
    process.communicate(timeout=60)
    address = node.tester.get_transaction_receipt(node.received[0])["contract_address"]
    node.tester.add_account(KEY)
    renounce = "0x715018a6"  # renounceOwnership(): every owner-only step reverts from now on
    node.tester.send_transaction({"from": ACCOUNT, "to": address, "data": renounce, "gas": 100_000})
    line = refused_by_chain(*deploy_args(folder, node))
    assert "step 1 (store) reverted" in line
    journal = journal_of(folder)
    assert [record["status"] for record in journal["steps"]] == ["confirmed", "reverted"]
    assert journal["address"] == address
