"""``punkgen export --onchain``'s gas report: every figure is what the EVM charged, checked here against the renderer
deployed and minted independently; the worst ``tokenURI`` a big collection reports (its candidates, not every token)
is the worst of every token; without py-evm the data is still written and the report says how to get it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import collection_args, refused, run_cli, shipped_collection
from PIL import Image

from generator.config import load_config
from generator.publish.onchain import gas
from generator.publish.onchain.export import export_onchain

pytest.importorskip("eth_tester", reason="eth-tester/py-evm not installed (pip install -e '.[onchain]')")
from generator.publish.onchain.evm import Chain  # noqa: E402

URI = "tokenURI(uint256)"


TOKENS = 4


@pytest.fixture(scope="module")
def four(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return shipped_collection(tmp_path_factory.mktemp("onchain-gas"), TOKENS)


@pytest.fixture(scope="module")
def minted(four: tuple[Path, Path]) -> tuple[list, dict[int, int]]:
    """The export's data deployed afresh with every token really minted: its deployment, and each token's tokenURI
    gas (the export's bytes do not depend on the gas options, so every test compares with these)."""
    out, config = four
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config).exit_code == 0
    onchain = out / "export" / "onchain"
    arguments = json.loads((onchain / "contract.json").read_text())
    chain = Chain()
    sent = chain.deploy(arguments, (onchain / "contract-data.bin").read_bytes())
    chain.mint(TOKENS)
    return sent, {token_id: chain.call_gas(URI, ["uint256"], [token_id]) for token_id in range(1, TOKENS + 1)}


@pytest.mark.slow
def test_the_report_holds_the_gas_the_evm_charged_and_its_eth(four: tuple[Path, Path], minted: tuple[list, dict]) -> None:
    out, config = four
    sent, every = minted
    result = run_cli("export", out, "--onchain", "--gas-price", "2.5", "--config", config)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "export" / "onchain" / "report.json").read_text())["gas"]
    assert report["deploy"] == [{"transaction": s.label, "gas": s.gas} for s in sent]
    assert [s["transaction"] for s in report["deploy"]] == ["deploy renderer", "store 1", "seal"]
    assert report["deploy_total"] == sum(s.gas for s in sent) > 1_000_000
    assert report["deploy_eth"] == pytest.approx(report["deploy_total"] * 2.5e-9, abs=1e-6)
    uri = report["token_uri"]
    assert uri["how"] == "every token" and uri["tokens_measured"] == TOKENS
    assert (uri["worst_token"], uri["worst"]) == max(every.items(), key=lambda item: item[1])
    assert uri["mean"] == round(sum(every.values()) / TOKENS)
    assert 20_000 < report["mint"]["per_token_in_batch"] < report["mint"]["first_token"] < 200_000
    assert f"deployment gas: {report['deploy_total']:,} in 3 transactions" in result.output
    assert f"tokenURI gas: mean {uri['mean']:,}, worst {uri['worst']:,} (token {uri['worst_token']})" in result.output
    assert f"= {report['deploy_eth']:g} ETH at 2.5 gwei" in result.output


@pytest.mark.slow
def test_a_big_collections_candidates_hold_its_worst_token(
    four: tuple[Path, Path], minted: tuple[list, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four tokens measured as a big collection is (the top token of each count, one at random; tokens 3 and 4 given
    their owner by state override): the worst reported is the worst of all four, each run where it was minted."""
    out, config = four
    monkeypatch.setattr(gas, "EVERY_TOKEN_UP_TO", 2)
    monkeypatch.setattr(gas, "TOP", 1)
    monkeypatch.setattr(gas, "SAMPLE", 1)
    monkeypatch.setattr(gas, "MINT_BATCH", 1)
    report = export_onchain(out, load_config(config), 1.0).report["gas"]
    uri, every = report["token_uri"], minted[1]
    assert uri["tokens_measured"] < TOKENS and "drawing the most rects" in uri["how"]
    assert (uri["worst_token"], uri["worst"]) == max(every.items(), key=lambda item: item[1])
    assert report["mint"]["batch"] == 1


@pytest.mark.slow
def test_the_costliest_24x24_image_a_checkerboard_1of1_stays_under_15m_gas(config_path: Path, tmp_path: Path) -> None:
    """576 one-pixel runs, the most rects a 24×24 image can draw: its tokenURI must stay a callable view (the renderer
    that appended rect by rect spent over 60 M gas on it) and still draw the image exactly."""
    from test_onchain_contract_evm import assert_every_token_uri_matches_its_files

    rows, columns = np.mgrid[0:24, 0:24]
    pixels = np.where(((rows + columns) % 2 == 0)[..., None], np.uint8([250, 20, 20]), np.uint8([20, 20, 250]))
    Image.fromarray(pixels.astype(np.uint8)).save(config_path.parent / "checkerboard.png")
    entry = '\n[[one_of_one]]\nimage = "checkerboard.png"\ntoken_id = 1\nattributes = { Type = "Alien King" }\n'
    config_path.write_text(config_path.read_text() + entry)
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 2)).exit_code == 0
    assert run_cli("export", out, "--onchain", "--no-gas", "--config", config_path).exit_code == 0
    chain = assert_every_token_uri_matches_its_files(out)
    assert 5_000_000 < chain.call_gas(URI, ["uint256"], [1]) <= 15_000_000


@pytest.mark.slow
def test_a_one_token_collection_from_id_0_is_measured_too(config_path: Path, tmp_path: Path) -> None:
    """Nothing to batch, and ids from 0: the one token is minted, measured and named by its own id."""
    config_path.write_text(config_path.read_text().replace("first_token_id = 1", "first_token_id = 0"))
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 1)).exit_code == 0
    result = run_cli("export", out, "--onchain", "--config", config_path)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "export" / "onchain" / "report.json").read_text())["gas"]
    assert report["token_uri"]["worst_token"] == 0 and report["token_uri"]["worst"] == report["token_uri"]["mean"]
    assert report["mint"]["batch"] == 0 and report["mint_all_eth"] == pytest.approx(
        report["mint"]["first_token"] * 1e-8, abs=1e-6
    )
    assert f"mint gas: {report['mint']['first_token']:,} for the first token; all tokens" in result.output


def test_without_an_evm_the_data_is_written_and_the_report_says_how_to_measure(
    four: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, config = four
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
def test_gas_options_that_mean_nothing_are_refused_in_one_line(four: tuple[Path, Path], extra: list[str], words: str) -> None:
    out, config = four
    line = refused("export", out, *extra, "--config", config)
    assert words in line
