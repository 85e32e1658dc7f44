"""The renderer contract's committed artifact: it exposes what the issue promises, and it is what the pinned
solc-js makes of contracts/PunkgenRenderer.sol today (recompiled where ``make contract-tools`` could install it)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from generator.publish.onchain.artifact import ARTIFACT

REPO = Path(__file__).resolve().parent.parent
NODE = REPO / ".ci" / "node"


def _functions(abi: list[dict]) -> dict[str, dict]:
    return {entry["name"]: entry for entry in abi if entry["type"] == "function"}


def test_artifact_exposes_the_renderer_interface():
    artifact = json.loads(ARTIFACT.read_text())
    functions = _functions(artifact["abi"])
    assert [i["type"] for i in functions["tokenURI"]["inputs"]] == ["uint256"]
    assert [o["type"] for o in functions["tokenURI"]["outputs"]] == ["string"]
    assert [o["type"] for o in functions["contractURI"]["outputs"]] == ["string"]
    assert [i["type"] for i in functions["mint"]["inputs"]] == ["address", "uint256"]
    assert [i["type"] for i in functions["store"]["inputs"]] == ["bytes"]
    for constant, kind in {"PROVENANCE": "bytes32", "N": "uint256", "FIRST_TOKEN_ID": "uint256"}.items():
        assert functions[constant]["stateMutability"] == "view" and functions[constant]["outputs"][0]["type"] == kind
    for erc721 in ("ownerOf", "balanceOf", "transferFrom", "safeTransferFrom", "supportsInterface", "owner", "seal"):
        assert erc721 in functions
    assert functions["mint"]["stateMutability"] == "nonpayable"


def test_artifact_records_its_pinned_compiler_and_fits_eip170():
    artifact = json.loads(ARTIFACT.read_text())
    assert artifact["compiler"]["solc"].startswith("0.8.28+commit.")
    assert artifact["compiler"]["openzeppelin"].startswith("5.")
    assert artifact["compiler"]["settings"]["optimizer"] == {"enabled": True, "runs": 200}
    creation = bytes.fromhex(artifact["bytecode"].removeprefix("0x"))
    assert 1000 < len(creation) <= 49152  # EIP-3860's initcode limit; the runtime is checked when deployed
    assert "pragma solidity 0.8.28;" in (REPO / "contracts" / "PunkgenRenderer.sol").read_text()


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("node") is None or not (NODE / "node_modules" / "solc").is_dir(),
    reason="solc-js not installed (`make contract-tools`, which .ci/run tries); the committed artifact's checks still run",
)
def test_recompiling_gives_the_committed_artifact_byte_for_byte(tmp_path):
    fresh = tmp_path / "PunkgenRenderer.json"
    subprocess.run(["node", str(REPO / "contracts" / "compile.mjs"), str(NODE), str(fresh)], check=True, capture_output=True)
    assert fresh.read_bytes() == ARTIFACT.read_bytes(), "contracts/ changed: run `make contracts` and commit the artifact"
