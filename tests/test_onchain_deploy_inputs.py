"""``punkgen deploy``'s own arguments, refused in one line (exit 2) before any node is asked anything: a ``--mint-to``
every mint would revert on or that likely holds a typo, and a ``--key-env`` that looks like a key (whole or not), which
must never be echoed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import refused, run_cli, shipped_collection

pytest.importorskip("web3", reason="web3 not installed (pip install -e '.[onchain,dev]')")

KEY = "c4bbcb1fbec99d65bf59d85c8cb62ee2db963f0fe106f483d9afa9bc9a1e2b4f"  # a key starting with a letter
UNREACHABLE = "http://127.0.0.1:9"  # nothing listens: reaching it would be exit 3, not 2


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out, config = shipped_collection(tmp_path_factory.mktemp("inputs"), 1)
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config).exit_code == 0
    return out


@pytest.fixture
def folder(exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DEPLOYER_KEY", "0x" + KEY)
    return Path(shutil.copytree(exported, tmp_path / "out"))


def deploy_refused(folder: Path, *extra: str, key_env: str = "DEPLOYER_KEY") -> str:
    line = refused("deploy", folder, "--rpc", UNREACHABLE, "--key-env", key_env, "--quiet", *extra)
    assert not (folder / "export" / "onchain" / "deployed.json").exists()
    return line


@pytest.mark.parametrize(
    ("mint_to", "said"),
    [
        ("0x" + "0" * 40, "is the zero address"),
        ("0X" + "0" * 40, "is not an Ethereum address"),
        ("0x52908400098527886e0F7030069857D2E4169EE7", "fails its EIP-55 checksum"),  # one letter's case changed
        ("0x52908400098527886E0F7030069857D2E4169eE7", "fails its EIP-55 checksum"),
    ],
    ids=["zero", "zero-0X", "checksum-mismatch", "checksum-mismatch-last-letters"],
)
def test_a_mint_to_that_would_revert_or_hold_a_typo_is_refused_before_anything_is_sent(
    folder: Path, mint_to: str, said: str
) -> None:
    assert said in deploy_refused(folder, "--mint-to", mint_to)


@pytest.mark.parametrize(
    "mint_to",
    ["0x52908400098527886E0F7030069857D2E4169EE7", "0x52908400098527886e0f7030069857d2e4169ee7", "0x" + "AB" * 20],
    ids=["checksummed", "lower-case", "upper-case"],
)
def test_a_valid_mint_to_in_any_single_case_passes_to_the_node(folder: Path, mint_to: str) -> None:
    result = run_cli("deploy", folder, "--rpc", UNREACHABLE, "--key-env", "DEPLOYER_KEY", "--quiet", "--mint-to", mint_to)
    assert result.exit_code == 3 and "cannot reach the RPC endpoint" in result.output


@pytest.mark.parametrize(
    "key_env",
    [KEY[:-1], KEY + "0", KEY[:40], "DEPLOYER_" + KEY, KEY[:-1].upper()],
    ids=["a-digit-short", "a-digit-long", "forty-digits", "behind-a-prefix", "upper-case-short"],
)
def test_a_key_env_that_holds_much_of_a_key_is_refused_without_echoing_it(folder: Path, key_env: str) -> None:
    line = deploy_refused(folder, key_env=key_env)
    assert "NAME of an environment variable" in line
    assert KEY[:32] not in line.lower() and KEY[-32:-1] not in line.lower()


@pytest.mark.parametrize(
    "rpc",
    ["http://[::1", "http://127.0.0.1:notaport/", "http://127.0.0.1:99999/", "http://localhost:8545 ", "ws://127.0.0.1:8545"],
    ids=["ipv6-unclosed", "port-not-a-number", "port-out-of-range", "port-with-a-space", "websocket"],
)
def test_an_rpc_url_that_does_not_parse_is_one_line(folder: Path, rpc: str) -> None:
    line = refused("deploy", folder, "--rpc", rpc, "--key-env", "DEPLOYER_KEY", "--quiet")
    assert "--rpc must be an http:// or https:// JSON-RPC URL" in line
