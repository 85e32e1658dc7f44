"""The standalone tools (``quality calibrate``, ``compare``, ``traits import``) used as a hostile user would: special
files where files go, odd images, interrupted and concurrent runs, outputs inside folders punkgen writes."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import refused


def test_calibrate_names_a_fifo_given_as_a_render_for_what_it_is(tmp_path: Path, config_path: Path) -> None:
    fifo = tmp_path / "good.png"
    os.mkfifo(fifo)
    line = refused("quality", "calibrate", fifo, "--config", config_path, "--quiet")
    assert (
        line
        == f"Error: {fifo}: a named pipe (FIFO), not a regular file; pass render files, folders of them or a collection folder"
    )


def test_calibrate_names_a_device_given_as_a_render_and_still_calls_an_absent_one_missing(
    config_path: Path, tmp_path: Path
) -> None:
    assert "/dev/zero: a character device, not a regular file" in refused(
        "quality", "calibrate", "/dev/zero", "--config", config_path
    )
    absent = tmp_path / "absent.png"
    assert refused("quality", "calibrate", absent, "--config", config_path).startswith(
        f"Error: {absent}: no such file or folder;"
    )


def test_compare_names_a_fifo_given_as_the_collection_for_what_it_is(tmp_path: Path, config_path: Path) -> None:
    fifo = tmp_path / "run"
    os.mkfifo(fifo)
    (tmp_path / "originals").mkdir()
    line = refused("compare", fifo, "--originals", tmp_path / "originals", "--config", config_path)
    assert line.startswith(f"Error: {fifo}: is a named pipe (FIFO), not a collection folder; pass the folder")


def test_compare_names_a_file_or_device_given_as_the_collection_for_what_it_is(tmp_path: Path, config_path: Path) -> None:
    (tmp_path / "originals").mkdir()
    image = tmp_path / "token.png"
    image.write_bytes(b"not a folder")
    for given, said in ((image, "is a file"), (Path("/dev/zero"), "is a character device")):
        line = refused("compare", given, "--originals", tmp_path / "originals", "--config", config_path)
        assert line.startswith(f"Error: {given}: {said}, not a collection folder;"), line
