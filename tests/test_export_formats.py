"""Export formats are objects (issue 28): every target behind one protocol in ``generator/publish/formats/``, the
CLI's ``--format`` choices from its registry, and no format name compared anywhere else. The toy format
(``tests/toy_format.py`` + ``tests/fixtures/toy_token.schema.json``) is registered here and exported through
``punkgen export`` with no other change: the contributor guide's exercise, done for real."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import REPO, folder_bytes, run_cli
from PIL import Image
from test_export import URI, N, export, make_collection, refused
from toy_format import CAR_REFUSAL, Toy

from generator.config import load_config
from generator.errors import Arg, UserError
from generator.publish import formats
from generator.publish.export import export_collection
from generator.schemas import validate


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> Toy:
    """The toy, registered the way a format module registers itself, for this test only."""
    monkeypatch.setattr(formats, "REGISTRY", dict(formats.REGISTRY))
    return formats.register(Toy())


@pytest.fixture
def collection(config_path: Path, tmp_path: Path) -> Path:
    return make_collection(config_path, tmp_path / "out")


def drafts(collection: Path) -> dict[int, dict]:
    return {int(p.stem): json.loads(p.read_text()) for p in (collection / "metadata").glob("*.json")}


def test_a_toy_format_registered_in_a_test_exports_through_the_cli(collection: Path, config_path: Path, toy: Toy) -> None:
    output = export(collection, config_path, "--base-uri", URI, "--format", "toy")
    assert f"{N} tokens exported" in output and "(toy, 480×480 px" in output
    published = collection / "export"
    assert sorted(p.name for p in published.iterdir()) == [".punkgen-export", "provenance.txt", "rarity.csv", "toy"]
    expected = {f"{t}.{ext}" for t in range(1, N + 1) for ext in ("png", "json")} | {"collection.png", "index.json"}
    assert {p.name for p in (published / "toy").iterdir()} == expected
    for token_id, draft in drafts(collection).items():
        document = json.loads((published / "toy" / f"{token_id}.json").read_text())
        validate(document, "toy_token.schema.json", "fixtures")
        assert document == {
            "id": token_id,
            "title": draft["name"],
            "picture": f"{URI}{token_id}.png",
            "traits": {a["trait_type"]: a["value"] for a in draft["attributes"]},
        }
        with Image.open(published / "toy" / f"{token_id}.png") as image:
            assert image.size == (480, 480)
    assert json.loads((published / "toy" / "index.json").read_text()) == {"title": "Bespoke Punks", "size": N}
    provenance = (published / "provenance.txt").read_text()
    assert "format: toy" in provenance and "\n1,toy/1.png," in provenance


def test_the_toy_publishes_what_erc721_publishes_with_a_reveal_and_its_own_placeholder_shape(
    collection: Path, config_path: Path, toy: Toy, tmp_path: Path
) -> None:
    """Not named by the issue: the reveal and the placeholder run through the same flow for a format nobody wrote
    them for; the images and the provenance hash equal erc721's, the documents take the toy's shape."""
    placeholder = tmp_path / "unrevealed.png"
    Image.new("RGB", (32, 32), (90, 40, 40)).save(placeholder)
    flags = ("--base-uri", URI, "--starting-index", 5, "--placeholder", placeholder)
    erc721 = export(collection, config_path, *flags)
    erc721_files = folder_bytes(collection / "export")
    toy_output = export(collection, config_path, *flags, "--format", "toy")
    toy_files = folder_bytes(collection / "export")
    for token_id in range(1, N + 1):
        assert toy_files[f"toy/{token_id}.png"] == erc721_files[f"images/{token_id}.png"]
        assert json.loads(toy_files[f"toy/{token_id}.json"])["title"] == json.loads(erc721_files[f"metadata/{token_id}"])["name"]
    hash_line = next(line for line in erc721.splitlines() if line.startswith("provenance hash: "))
    assert hash_line in toy_output.splitlines()
    hidden = json.loads(toy_files["hidden/hidden.json"])
    assert hidden["title"] == "Bespoke Punks — unrevealed" and hidden["traits"] == {}
    assert hidden["picture"] == json.loads(erc721_files["hidden/hidden.json"])["image"]
    assert toy_files["hidden/hidden.png"] == placeholder.read_bytes()
    assert "hiddenSettings.json" not in toy_files and "mapping.csv" not in toy_files


def test_a_flag_the_format_refuses_is_one_line_and_changes_nothing(collection: Path, config_path: Path, toy: Toy) -> None:
    export(collection, config_path, "--base-uri", URI)
    before = folder_bytes(collection)
    assert refused(collection, config_path, "--car", "--format", "toy") == f"Error: --car with --format toy: {CAR_REFUSAL}"
    assert folder_bytes(collection) == before


def test_the_choices_are_the_registry(collection: Path, config_path: Path, toy: Toy) -> None:
    help_text = run_cli("export", "--help").output
    assert "[erc721|metaplex|toy]" in help_text
    assert "'erc721', 'metaplex', 'toy'" in refused(collection, config_path, "--format", "toys")
    with pytest.raises(UserError, match="choose one of erc721, metaplex, toy"):
        export_collection(collection, load_config(config_path), base_uri=URI, fmt="Toy")


def test_a_format_document_that_breaks_its_own_schema_is_caught_before_it_is_written(
    collection: Path, config_path: Path, toy: Toy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The toy's schema lives in tests/fixtures/, not generator/schemas/: it is the one the documents are checked with."""
    monkeypatch.setattr(Toy, "token_document", lambda self, config, token, uri: {"id": -1, "title": "", "picture": uri})
    with pytest.raises(ValueError, match="breaks toy_token.schema.json"):
        export_collection(collection, load_config(config_path), base_uri=URI, fmt="toy")
    assert not (collection / "export").exists()


def test_a_name_registered_twice_is_refused(toy: Toy) -> None:
    with pytest.raises(ValueError, match="'toy' is registered already"):
        formats.register(Toy())
    assert formats.format_names() == ("erc721", "metaplex", "toy")


def test_no_format_name_is_compared_outside_the_formats_package() -> None:
    """A new target must not need an edit elsewhere: no module outside generator/publish/formats/ spells a format's
    name as a string or tests a ``fmt`` variable."""
    names = "|".join(map(re.escape, formats.format_names()))
    spelled = re.compile(rf"""(["'])({names})\1|\bfmt\s*(==|!=|\bin\b)""")
    package = REPO / "generator" / "publish" / "formats"
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted((REPO / "generator").rglob("*.py"))
        if package not in path.parents
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if spelled.search(line)
    ]
    assert offenders == []
    assert spelled.search('if fmt == "metaplex":') and spelled.search("kind in ('erc721',)"), "the pattern finds them"


def test_every_format_that_takes_car_writes_the_folders_car_packs() -> None:
    """``--car`` packs images/ and metadata/ (generator.publish.ipfs): a format that does not refuse it must put its
    token files there, or its CARs would be empty."""
    from generator.publish.ipfs import IMAGES, METADATA

    takes_car = [target for target in formats.REGISTRY.values() if Arg.CAR not in target.refusals]
    assert takes_car, "erc721 takes --car"
    for target in takes_car:
        for extension in (False, True):
            image, metadata = target.token_files(0, 7, extension)
            assert (Path(image).parent.as_posix(), Path(metadata).parent.as_posix()) == (IMAGES, METADATA), target.name


def test_metaplex_refuses_json_extension_it_cannot_honour(collection: Path, config_path: Path) -> None:
    """Candy Machine's assets are always <n>.json: the flag would silently do nothing, so it is refused."""
    export(collection, config_path, "--base-uri", URI)
    before = folder_bytes(collection)
    line = refused(collection, config_path, "--format", "metaplex", "--json-extension")
    assert (
        line
        == "Error: --json-extension with --format metaplex: Candy Machine's assets are always <n>.json; drop --json-extension"
    )
    assert folder_bytes(collection) == before
