"""``punkgen export --onchain``'s gas report: every figure is what the EVM charged, checked here against the renderer
deployed and minted independently; the worst ``tokenURI`` a big collection reports (its candidates, not every token)
is the worst of every token; without py-evm the data is still written and the report says how to get it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import refused, run_cli, shipped_collection

from generator.config import load_config
from generator.publish.onchain import gas
from generator.publish.onchain.export import export_onchain

pytest.importorskip("eth_tester", reason="eth-tester/py-evm not installed (pip install -e '.[onchain]')")
from generator.publish.onchain.evm import Chain  # noqa: E402

URI = "tokenURI(uint256)"


def minted_chain(onchain: Path) -> tuple[Chain, list]:
    """The renderer deployed afresh with the export's data and every token really minted, and its deployment."""
    chain = Chain()
    arguments = json.loads((onchain / "contract.json").read_text())
    sent = chain.deploy(arguments, (onchain / "contract-data.bin").read_bytes())
    chain.mint(arguments["supply"])
    return chain, sent


@pytest.fixture(scope="module")
def five(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return shipped_collection(tmp_path_factory.mktemp("onchain-gas"), 5)


@pytest.mark.slow
def test_the_report_holds_the_gas_the_evm_charged_and_its_eth(five: tuple[Path, Path]) -> None:
    out, config = five
    result = run_cli("export", out, "--onchain", "--gas-price", "2.5", "--config", config)
    assert result.exit_code == 0, result.output
    onchain = out / "export" / "onchain"
    report = json.loads((onchain / "report.json").read_text())["gas"]
    chain, sent = minted_chain(onchain)
    assert report["deploy"] == [{"transaction": s.label, "gas": s.gas} for s in sent]
    assert [s["transaction"] for s in report["deploy"]] == ["deploy renderer", "store 1", "seal"]
    assert report["deploy_total"] == sum(s.gas for s in sent) > 1_000_000
    assert report["deploy_eth"] == pytest.approx(report["deploy_total"] * 2.5e-9, abs=1e-6)
    every = {token_id: chain.call_gas(URI, ["uint256"], [token_id]) for token_id in range(1, 6)}  # minted, not overridden
    uri = report["token_uri"]
    assert uri["how"] == "every token" and uri["tokens_measured"] == 5
    assert (uri["worst_token"], uri["worst"]) == max(every.items(), key=lambda item: item[1])
    assert uri["mean"] == round(sum(every.values()) / 5)
    assert 20_000 < report["mint"]["per_token_in_batch"] < report["mint"]["first_token"] < 200_000
    assert f"deployment gas: {report['deploy_total']:,} in 3 transactions" in result.output
    assert f"tokenURI gas: mean {uri['mean']:,}, worst {uri['worst']:,} (token {uri['worst_token']})" in result.output
    assert f"= {report['deploy_eth']:g} ETH at 2.5 gwei" in result.output


@pytest.mark.slow
def test_a_big_collections_candidates_hold_its_worst_token(five: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Five tokens measured as a big collection is (one top token per count, two at random): the worst reported is
    the worst of all five, each run on a chain where it was really minted."""
    out, config = five
    monkeypatch.setattr(gas, "EVERY_TOKEN_UP_TO", 2)
    monkeypatch.setattr(gas, "TOP", 1)
    monkeypatch.setattr(gas, "SAMPLE", 2)
    monkeypatch.setattr(gas, "MINT_BATCH", 1)  # tokens 3 to 5 get their owner by state override
    report = export_onchain(out, load_config(config), 1.0).report["gas"]
    chain, _ = minted_chain(out / "export" / "onchain")
    every = {token_id: chain.call_gas(URI, ["uint256"], [token_id]) for token_id in range(1, 6)}
    uri = report["token_uri"]
    assert uri["tokens_measured"] < 5 and "drawing the most rects" in uri["how"]
    assert (uri["worst_token"], uri["worst"]) == max(every.items(), key=lambda item: item[1])
    assert report["mint"]["batch"] == 1


def test_without_an_evm_the_data_is_written_and_the_report_says_how_to_measure(
    five: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, config = five
    monkeypatch.setattr(gas, "evm_missing", lambda: "gas not measured: no in-process EVM (pip install -e '.[onchain]')")
    result = run_cli("export", out, "--onchain", "--config", config)
    assert result.exit_code == 0, result.output
    onchain = out / "export" / "onchain"
    assert json.loads((onchain / "report.json").read_text())["gas"] == {
        "not_measured": "gas not measured: no in-process EVM (pip install -e '.[onchain]')"
    }
    assert "pip install -e '.[onchain]'" in result.output and (onchain / "contract-data.bin").stat().st_size > 1000


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--gas-price", "3"], "--gas-price applies only with --onchain"),
        (["--no-gas"], "--no-gas applies only with --onchain"),
        (["--onchain", "--gas-price", "0"], "--gas-price 0: a gas price is gwei per gas, above 0"),
        (["--onchain", "--gas-price", "nan"], "--gas-price nan: a gas price is gwei per gas"),
        (["--onchain", "--no-gas", "--gas-price", "3"], "--gas-price prices the gas --no-gas leaves unmeasured"),
    ],
)
def test_gas_options_that_mean_nothing_are_refused_in_one_line(five: tuple[Path, Path], extra: list[str], words: str) -> None:
    out, config = five
    line = refused("export", out, *extra, "--config", config)
    assert words in line
