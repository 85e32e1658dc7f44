"""The standalone tools (``quality calibrate``, ``compare``, ``traits import``) used as a hostile user would: special
files where files go, odd images, interrupted and concurrent runs, outputs inside folders punkgen writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import made_collection, refused, run_cli
from test_traits_import_hashlips import hashlips_project


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


@pytest.mark.parametrize("make", [os.mkfifo, lambda path: path.symlink_to("/dev/null")], ids=["fifo", "device"])
def test_import_names_a_fifo_or_device_given_as_to_for_what_it_is(tmp_path: Path, make) -> None:  # noqa: ANN001
    target = tmp_path / "traits"
    make(target)
    project = hashlips_project(tmp_path / "project")
    line = refused("traits", "import", project, "--from", "hashlips", "--to", target)
    kind = "a named pipe (FIFO)" if target.is_fifo() else "a character device"
    assert line == f"Error: {target}: --to is {kind}, not a folder; name a new folder"


def test_import_sweeps_the_staging_folder_a_killed_import_left_and_spares_a_living_ones(tmp_path: Path) -> None:
    project = hashlips_project(tmp_path / "project")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    killed = tmp_path / f".traits.{dead.stdout.strip()}.partial"
    living = tmp_path / f".traits.{os.getppid()}.partial"
    for staged in (killed, living):
        (staged / "layers").mkdir(parents=True)
        (staged / "eyes.csv").write_text("half")
    assert run_cli("traits", "import", project, "--from", "hashlips", "--to", tmp_path / "traits").exit_code == 0
    assert not killed.exists() and (living / "eyes.csv").read_text() == "half"
    assert (tmp_path / "traits" / "collection.toml").is_file()


def test_import_racing_another_into_the_same_folder_is_one_line_and_keeps_the_others_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.plan.importers import writer

    project = hashlips_project(tmp_path / "project")
    target = tmp_path / "traits"
    encode = writer.encode_png

    def other_import_finishes_first(image):  # noqa: ANN001, ANN202
        target.mkdir(exist_ok=True)
        (target / "collection.toml").write_text("the other import's")
        return encode(image)

    monkeypatch.setattr(writer, "encode_png", other_import_finishes_first)
    line = refused("traits", "import", project, "--from", "hashlips", "--to", target)
    assert line == f"Error: {target}: --to was filled by another command while this import ran; name a new folder"
    assert (target / "collection.toml").read_text() == "the other import's"
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".partial")] == []


@pytest.mark.parametrize("inside", ["layers/New", "out", "."])
def test_import_into_the_project_it_reads_is_refused_and_writes_nothing(tmp_path: Path, inside: str) -> None:
    project = hashlips_project(tmp_path / "project")
    before = sorted(project.rglob("*"))
    line = refused("traits", "import", project, "--from", "hashlips", "--to", project / inside)
    assert line == f"Error: {project / inside} is inside the hashlips project {project}; choose --to outside it"
    assert sorted(project.rglob("*")) == before


def test_import_into_its_project_through_a_link_is_refused(tmp_path: Path) -> None:
    project = hashlips_project(tmp_path / "project")
    (tmp_path / "link").symlink_to(project)
    line = refused("traits", "import", tmp_path / "link", "--from", "hashlips", "--to", project / "layers" / "New")
    assert line.endswith("choose --to outside it") and not (project / "layers" / "New").exists()


@pytest.mark.parametrize("inside", ["layers/eyes", "layers"])
def test_compare_out_among_the_configs_layer_images_is_refused(config_path: Path, tmp_path: Path, inside: str) -> None:
    run = made_collection(config_path, tmp_path / "run", 4)
    originals = tmp_path / "originals"
    originals.mkdir()
    (originals / "a.png").write_bytes((run / "images" / "1.png").read_bytes())
    out = config_path.parent / inside
    before = sorted(out.rglob("*"))
    line = refused("compare", run, "--originals", originals, "--out", out, "--config", config_path)
    assert line == f"Error: {out} is inside the layers folder {config_path.parent / 'layers'}; choose an --out outside it"
    assert sorted(out.rglob("*")) == before


@pytest.mark.parametrize(
    "broken",
    [
        'const baseUri = "https://alice:s3cretPW@host.example/x?token=TOK123;',  # the string never closes
        "const apiKey = #s3cret-TOK123-alice;",  # a character no JavaScript literal holds, right before the key
    ],
)
def test_an_unreadable_config_js_is_refused_without_quoting_the_credentials_in_it(tmp_path: Path, broken: str) -> None:
    project = hashlips_project(tmp_path / "project")
    config = project / "src" / "config.js"
    config.write_text(config.read_text().replace('const baseUri = "ipfs://NewUriToReplace";', broken))
    line = refused("traits", "import", project, "--from", "hashlips", "--to", tmp_path / "traits")
    assert line.startswith(f"Error: {config} line 10, column ") and "not a JavaScript config" in line
    assert "s3cret" not in line and "TOK123" not in line and "alice" not in line
    assert not (tmp_path / "traits").exists()


@pytest.mark.parametrize("make", [os.mkfifo, lambda path: path.write_bytes(b"x")], ids=["fifo", "file"])
def test_a_layer_folder_that_is_a_fifo_or_file_is_named_for_what_it_is(tmp_path: Path, make) -> None:  # noqa: ANN001
    project = hashlips_project(tmp_path / "project")
    layer = project / "layers" / "Eyes"
    for image in layer.iterdir():
        image.unlink()
    layer.rmdir()
    make(layer)
    kind = "a named pipe (FIFO)" if layer.is_fifo() else "a file"
    line = refused("traits", "import", project, "--from", "hashlips", "--to", tmp_path / "traits")
    assert line == f"Error: {layer}: is {kind}, not a layer folder; put the layer's PNGs in a folder of that name"
