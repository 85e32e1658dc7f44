"""Every place the user names is checked against every folder punkgen writes, both ways and through links (issue 27,
#1): `--renders OUT/images --out OUT` let the 24×24 tokens overwrite renders saved as 1.png…, and verify passed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import collection_args, edit, folder_bytes, refused, run_cli
from PIL import Image

from generator.run.folder import MANIFEST


def import_args(config_path: Path, out: Path, renders: Path) -> list[object]:
    args = collection_args(config_path, out, 4, "--renders", renders)
    args[args.index("sprites")] = "import"
    return args


def png(path: Path, size: int = 24) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), (200, 100, 50)).save(path)
    return path


def test_renders_inside_the_collection_folder_are_refused_before_a_token_is_written(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "I"
    render = png(out / "images" / "1.png", 512)  # saved by the UI as <id>.png, a naming the README allows
    before = folder_bytes(out)
    line = refused(*import_args(config_path, out, out / "images"))
    assert line == (
        f"Error: the renders folder [render].renders (--renders) {out / 'images'} is inside the collection folder {out}, "
        "among the files punkgen writes there (and --force removes); move it out of that folder, or choose another --out"
    )
    assert folder_bytes(out) == before and render.stat().st_size > 1000, "the render is as the UI saved it"


@pytest.mark.parametrize("where", ["equal", "link to inside", "link to the folder above"])
def test_renders_overlapping_through_links_or_equal_are_refused(config_path: Path, tmp_path: Path, where: str) -> None:
    out = tmp_path / "I"
    if where == "equal":
        renders = out
    elif where == "link to inside":
        (out / "ui").mkdir(parents=True)
        renders = tmp_path / "renders"
        renders.symlink_to(out / "ui")
    else:  # the collection folder is named through a link into the renders folder
        (tmp_path / "ui").mkdir()
        (tmp_path / "link").symlink_to(tmp_path / "ui")
        renders, out = tmp_path / "ui", tmp_path / "link" / "I"
    line = refused(*import_args(config_path, out, renders))
    assert "renders folder [render].renders (--renders)" in line and str(out.resolve()) in line
    assert not (out / MANIFEST).exists() and not (out / "run.json").exists()


def test_a_collection_inside_the_training_originals_is_refused(config_path: Path, tmp_path: Path) -> None:
    """[quality].training_dir is read whole: the run's own tokens would become near-copy originals of themselves."""
    originals = tmp_path / "originals"
    png(originals / "a.png")
    edit(config_path, 'training_dir = ""', f'training_dir = "{originals}"')
    line = refused(*collection_args(config_path, originals / "run", 4))
    assert line.startswith(f"Error: {originals / 'run'} is inside the [quality].training_dir {originals}, so its own files")
    assert not (originals / "run").exists()


def test_training_originals_inside_the_collection_folder_are_refused(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 4)).exit_code == 0
    edit(config_path, 'training_dir = ""', f'training_dir = "{out / "images"}"')
    before = folder_bytes(out)
    assert f"the [quality].training_dir {out / 'images'} is inside the collection folder {out}" in refused(
        *collection_args(config_path, out, 4)
    )
    assert folder_bytes(out) == before


def test_the_trait_folder_inside_the_collection_folder_is_refused(config_path: Path, tmp_path: Path) -> None:
    """`--out .` beside traits/: the run would write among the tables it reads (and --force clear around them)."""
    line = refused(*collection_args(config_path, tmp_path, 4))
    assert f"the config's folder (trait tables) {config_path.parent} is inside the collection folder {tmp_path}" in line
    assert not (tmp_path / "images").exists()


def test_a_collection_folder_inside_the_config_folder_is_a_project_layout(config_path: Path) -> None:
    """collection.toml + tables + output/ in one project folder: read by file name, so nothing overlaps."""
    out = config_path.parent / "output" / "punks"
    assert run_cli(*collection_args(config_path, out, 4)).exit_code == 0
    assert run_cli("verify", out, "--config", config_path).exit_code == 0


@pytest.mark.parametrize("inside", ["export", "images", "export/run2"])
def test_a_collection_folder_inside_another_is_refused(config_path: Path, tmp_path: Path, inside: str) -> None:
    first = tmp_path / "I"
    assert run_cli(*collection_args(config_path, first, 4)).exit_code == 0
    before = folder_bytes(first)
    line = refused(*collection_args(config_path, first / inside, 4))
    assert line.startswith(f"Error: {first / inside} is inside the collection folder {first}, whose export")
    assert folder_bytes(first) == before


def test_a_placeholder_inside_the_export_folder_is_refused(config_path: Path, tmp_path: Path) -> None:
    """An export's input never lives in its output: export/ is rebuilt by each export."""
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 4)).exit_code == 0
    assert run_cli("export", out, "--config", config_path, "--quiet").exit_code == 0
    placeholder = png(out / "export" / "hidden" / "unrevealed.png")
    before = folder_bytes(out)
    line = refused("export", out, "--config", config_path, "--placeholder", placeholder)
    assert f"--placeholder {placeholder} is inside {out / 'export'}, which each export rebuilds" in line
    assert folder_bytes(out) == before


def test_a_one_of_one_image_inside_the_collection_folder_is_refused(config_path: Path, tmp_path: Path) -> None:
    """A 1/1 kept among the run's files would be swept by --force (images/<id>.png is a token name)."""
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 4)).exit_code == 0
    art = png(out / "images" / "9.png")
    config_path.write_text(config_path.read_text() + f'\n[[one_of_one]]\nimage = "{art}"\nattributes = {{ Type = "King" }}\n')
    before = folder_bytes(out)
    line = refused(*collection_args(config_path, out, 4, "--force"))
    assert line.startswith(f"Error: the [[one_of_one]] image {art} is inside the collection folder {out}")
    assert folder_bytes(out) == before
