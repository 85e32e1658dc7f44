"""A bad ``--inscribed`` file, or an option that means nothing with ``--ordinals``, is one line, exit 2, and nothing
written: the ids would be matched to the wrong files, and an inscription cannot be taken back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import folder_bytes, made_collection, refused, run_cli, shipped_collection
from ordinals_chain import inscribe, inscribed_args


@pytest.fixture(scope="module")
def answered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A collection through phase 2 (its layers inscribed), the config, and the layers' ord output."""
    out, config = shipped_collection(tmp_path_factory.mktemp("ordinals-refusals"), 6)
    assert run_cli("export", out, "--ordinals", "--config", config).exit_code == 0
    ordinals = out / "export" / "ordinals"
    layers = inscribe(ordinals, "layers")
    assert run_cli("export", out, "--ordinals", "--config", config, *inscribed_args(layers)).exit_code == 0
    return out, config, layers[0]


def edited(source: Path, tmp_path: Path, change: Callable[[dict], object]) -> Path:
    document = json.loads(source.read_text())
    change(document)
    path = tmp_path / "output.json"
    path.write_text(json.dumps(document))
    return path


def swap_first_two(document: dict) -> None:
    items = document["inscriptions"]
    items[0], items[1] = items[1], items[0]


def one_more(document: dict) -> None:
    items = document["inscriptions"]
    items.append({**items[0], "id": f"{document['reveal']}i{len(items)}"})


def another_parent(document: dict) -> None:
    document["parents"] = ["ab" * 32 + "i0"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["inscriptions"].pop(), "lists 18 inscriptions, layers.batch.yaml has 19: it answers another batch"),
        (one_more, "lists 20 inscriptions, layers.batch.yaml has 19: it answers another batch"),
        (lambda d: d["inscriptions"][3].update(id="xyz"), "inscription 4's id 'xyz' is not <64 hex digits>i<number>"),
        (lambda d: d["inscriptions"][3].update(id=d["reveal"].upper() + "i3"), "is not <64 hex digits>i<number>"),
        (swap_first_two, "the file was edited or reordered"),
        (another_parent, "lists 19 inscriptions, tokens.batch.yaml has 6: it answers another batch"),
        (lambda d: d.pop("reveal"), "is not what `ord wallet batch` prints"),
    ],
)
def test_a_file_that_does_not_answer_the_batch_is_refused(
    answered: tuple[Path, Path, Path], tmp_path: Path, change: Callable[[dict], object], expected: str
) -> None:
    out, config, layers = answered
    before = folder_bytes(out / "export")
    line = refused("export", out, "--ordinals", "--config", config, "--inscribed", edited(layers, tmp_path, change))
    assert expected in line and line.startswith("Error: --inscribed "), line
    assert folder_bytes(out / "export") == before


def test_truncated_json_is_refused(answered: tuple[Path, Path, Path], tmp_path: Path) -> None:
    out, config, layers = answered
    before = folder_bytes(out / "export")
    cut = tmp_path / "cut.json"
    cut.write_bytes(layers.read_bytes()[: len(layers.read_bytes()) // 2])
    assert "is not complete JSON (a truncated copy?)" in refused(
        "export", out, "--ordinals", "--config", config, "--inscribed", cut
    )
    assert folder_bytes(out / "export") == before


def test_the_tokens_output_of_another_collection_is_refused(answered: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """Right count, well-formed ids, but inscribed under another parent: another collection's tokens."""
    out, config, _ = answered
    ordinals = out / "export" / "ordinals"
    tokens = json.loads(inscribe(ordinals, "tokens", seed="elsewhere")[0].read_text())
    (ordinals / "tokens-output.json").unlink()
    tokens["parents"] = ["cd" * 32 + "i0"]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(tokens))
    before = folder_bytes(out / "export")
    line = refused("export", out, "--ordinals", "--config", config, "--inscribed", other)
    assert "was inscribed under parents ['" + "cd" * 32 + "i0'], tokens.batch.yaml names ['" in line, line
    assert folder_bytes(out / "export") == before


def test_one_file_for_two_batches_is_refused(answered: tuple[Path, Path, Path]) -> None:
    out, config, layers = answered
    line = refused("export", out, "--ordinals", "--config", config, "--inscribed", layers, "--inscribed", layers)
    assert "--inscribed was given 2 file(s) for 1 batch file(s) (layers.batch.yaml)" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--inscribed", "x.json"), "--inscribed applies only with --ordinals"),
        (("--fee-rate", "5"), "--fee-rate applies only with --ordinals"),
        (("--ordinals", "--car"), "--car does not apply with --ordinals"),
        (("--ordinals", "--base-uri", "ipfs://x/"), "[metadata].base_uri (--base-uri) does not apply with --ordinals"),
        (("--ordinals", "--format", "metaplex"), "--format does not apply with --ordinals"),
        (("--ordinals", "--fee-rate", "0"), "--fee-rate 0.0: a fee rate is sats per virtual byte, above 0"),
    ],
)
def test_options_that_mean_nothing_here_are_refused(answered: tuple[Path, Path, Path], args: tuple, expected: str) -> None:
    out, config, _ = answered
    before = folder_bytes(out / "export")
    assert expected in refused("export", out, "--config", config, *args)
    assert folder_bytes(out / "export") == before


def test_an_answer_before_its_batch_was_written_is_refused(answered: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """The layers' output for a folder with no batch files yet, and the tokens' output before the layers'."""
    _, config, layers = answered
    out = made_collection(config, tmp_path / "fresh", 6)
    line = refused("export", out, "--ordinals", "--config", config, "--inscribed", layers)
    assert "layers.batch.yaml is missing: --inscribed answers the batch files an earlier --ordinals export wrote" in line
    assert not (out / "export").exists()
    assert run_cli("export", out, "--ordinals", "--config", config).exit_code == 0
    tokens = edited(layers, tmp_path, another_parent)
    before = folder_bytes(out / "export")
    assert "holds no inscribed layers" in refused("export", out, "--ordinals", "--config", config, "--inscribed", tokens)
    assert folder_bytes(out / "export") == before
