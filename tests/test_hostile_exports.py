"""The Ordinals and on-chain exports and ``export/rarity.csv`` against a hostile config: a link holding a password must
never reach an inscription, a contract or a listing, and a trait type named like one of rarity.csv's own columns must
not make a header name two columns."""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import edit, made_collection, refused, run_cli, shipped_collection
from ordinals_chain import inscribe, inscribed_args

SECRET = "hunter2"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return shipped_collection(tmp_path_factory.mktemp("hostile-exports"), 4)


@pytest.mark.parametrize(
    ("target", "setting", "old"),
    [
        ("--ordinals", "external_url", 'external_url = ""'),  # meta.json's website_link
        ("--onchain", "external_url", 'external_url = ""'),  # contract.json and contract-data.bin
        ("--ordinals", "external_link", 'external_link = ""'),
        ("--car", "external_url", 'external_url = ""'),  # every token's metadata: refused when the config is read
    ],
)
def test_a_link_with_a_password_is_refused_without_repeating_it(
    shipped: tuple[Path, Path], target: str, setting: str, old: str
) -> None:
    out, config = shipped
    original = config.read_text()
    edit(config, old, f'{setting} = "https://bob:{SECRET}@site.example/"')
    try:
        line = refused("export", out, target, "--config", config, "--quiet")
    finally:
        config.write_text(original)
    assert f"].{setting} 'https://…@site.example/' holds a user name or password" in line
    assert SECRET not in line and "bob" not in line
    assert not (out / "export").exists()


def test_a_collection_with_a_password_in_its_link_is_refused_before_a_token_is_written(config_path: Path, tmp_path: Path) -> None:
    """The same rule where the link is first published: the run's own metadata/."""
    edit(config_path, 'external_url = ""', f'external_url = "https://bob:{SECRET}@site.example/?token=t"')
    line = refused("collection", "-n", "2", "--out", tmp_path / "out", "--config", config_path)
    assert "[collection].external_url 'https://…@site.example/?…' holds a user name or password" in line
    assert SECRET not in line and "bob" not in line and "token=t" not in line
    assert not (tmp_path / "out").exists()


def rarity_header(config: Path, out: Path, names: str) -> tuple[list[str], list[dict[str, str]]]:
    edit(config, "sampling = ", f"names = {{ {names} }}\nsampling = ")
    made_collection(config, out, 4)
    assert run_cli("export", out, "--config", config, "--quiet").exit_code == 0
    text = (out / "export" / "rarity.csv").read_text()
    return next(csv.reader(io.StringIO(text))), list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("names", "renamed"),
    [
        ('eyes = "statistical_rank"', {"statistical_rank"}),
        ('mouth = "token_id", hair = "rank", eyes = "trait:rank"', {"token_id", "rank"}),
    ],
)
def test_a_trait_type_named_like_a_rarity_column_gets_its_own_column(
    config_path: Path, tmp_path: Path, names: str, renamed: set[str]
) -> None:
    header, rows = rarity_header(config_path, tmp_path / "out", names)
    assert len(header) == len(set(header)), header
    assert {f"trait:{name}" for name in renamed} <= set(header)
    assert all(row[f"trait:{name}"] and not row[f"trait:{name}"].isdigit() for name in renamed for row in rows)
    assert all(row["token_id"].isdigit() and row["rank"].isdigit() for row in rows)
    assert all(row["statistical_rank"].isdigit() for row in rows)


@pytest.mark.parametrize(
    ("plant", "said"),
    [
        (os.mkfifo, "is a named pipe (FIFO), not a regular file"),  # would block a plain read forever
        (lambda path: path.symlink_to("/dev/zero"), "is a character device, not a regular file"),
        (lambda path: path.mkdir(), "is a folder, not a file"),
        (lambda path: os.truncate(path.touch() or path, 2 << 30), "is not what this collection gives now"),  # sparse
    ],
)
def test_a_batch_file_swapped_for_a_pipe_device_folder_or_huge_file_is_one_line(
    shipped: tuple[Path, Path], tmp_path: Path, plant: Callable[[Path], object], said: str
) -> None:
    source, config = shipped
    out = tmp_path / "out"
    shutil.copytree(source, out)
    assert run_cli("export", out, "--ordinals", "--config", config, "--quiet").exit_code == 0
    ordinals = out / "export" / "ordinals"
    layers = inscribe(ordinals, "layers")
    batch = ordinals / "layers.batch.yaml"
    batch.unlink()
    plant(batch)
    before = {path.name for path in ordinals.iterdir()}
    line = refused("export", out, "--ordinals", "--config", config, "--quiet", *inscribed_args(layers))
    assert str(batch) in line and said in line
    assert {path.name for path in ordinals.iterdir()} == before
