"""``punkgen deploy`` into hardhat 2.x's ``hardhat node`` (npm; current hardforks), a real local JSON-RPC node the test
starts on 127.0.0.1, where ``.ci/run`` could install it: killed mid-deploy, resumed, every step once and every token
right. Skipped without it; tests/test_onchain_deploy.py's py-evm node always runs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, run_cli, shipped_collection

HARDHAT = REPO / ".ci" / "node" / "node_modules" / ".bin" / "hardhat"
if not HARDHAT.exists():
    pytest.skip("hardhat not installed (.ci/run installs it into .ci/node)", allow_module_level=True)
pytest.importorskip("web3", reason="web3 not installed (pip install -e '.[onchain,dev]')")
from crash_points import killed_at  # noqa: E402
from eth_abi import decode, encode  # noqa: E402
from eth_utils import keccak  # noqa: E402
from onchain_checks import assert_token_uris_match  # noqa: E402

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # hardhat's public account #0
ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def rpc(url: str, method: str, params: list) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        reply = json.loads(response.read())
    assert "error" not in reply, reply
    return reply["result"]


@pytest.fixture
def hardhat(tmp_path: Path) -> Iterator[str]:
    """``hardhat node`` on a free port, chain id 31337, from a config of one line in a folder of its own (hardhat runs
    only from a project it is installed in: the folder links .ci/node's node_modules)."""
    project = tmp_path / "hardhat"
    project.mkdir()
    (project / "node_modules").symlink_to(HARDHAT.parents[1], target_is_directory=True)
    (project / "hardhat.config.js").write_text("module.exports = { networks: { hardhat: { chainId: 31337 } } };\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {"HARDHAT_DISABLE_TELEMETRY_PROMPT": "true", "CI": "true"}
    node = subprocess.Popen(
        [str(HARDHAT), "node", "--hostname", "127.0.0.1", "--port", str(port)],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert rpc(url, "eth_chainId", []) == hex(31337)
                break
            except OSError:
                assert node.poll() is None and time.monotonic() < deadline, "hardhat node did not start"
                time.sleep(0.25)
        yield url
    finally:
        node.kill()
        node.wait()


@pytest.mark.slow
def test_a_deploy_into_hardhat_killed_and_resumed_sends_every_step_once(
    hardhat: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, config = shipped_collection(tmp_path, 3)
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config).exit_code == 0
    monkeypatch.setenv("HARDHAT_KEY", KEY)
    args = ["deploy", out, "--rpc", hardhat, "--key-env", "HARDHAT_KEY", "--mint-to", ACCOUNT, "--quiet"]
    replaces: list[str] = []

    def at(kind: str, path: str) -> bool:  # the store's receipt is in, its journal line not yet
        if kind == "replace" and Path(path).name.startswith(".deployed.json."):
            replaces.append(path)
            return len(replaces) == 4
        return False

    assert killed_at(args, out / "export" / "onchain", at=at)
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    journal = json.loads((out / "export" / "onchain" / "deployed.json").read_text())
    plan = json.loads((out / "export" / "onchain" / "deploy-plan.json").read_text())
    assert journal["chain_id"] == 31337 and result.output.splitlines()[-1] == journal["address"]
    assert int(rpc(hardhat, "eth_getTransactionCount", [ACCOUNT, "latest"]), 16) == len(plan["steps"])  # none twice
    for record in journal["steps"]:
        assert rpc(hardhat, "eth_getTransactionReceipt", [record["hash"]])["status"] == "0x1"

    def call(signature: str, types: list, values: list, returns: str) -> object:
        data = "0x" + (keccak(signature.encode())[:4] + encode(types, values)).hex()
        out_ = rpc(hardhat, "eth_call", [{"to": journal["address"], "data": data}, "latest"])
        return decode([returns], bytes.fromhex(out_[2:]))[0]

    assert assert_token_uris_match(out, call) == 3
