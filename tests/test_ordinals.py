"""``punkgen export --ordinals``: the three phases with fake well-formed ids, what each writes, and what ord's batch
schema and the marketplace registry accept."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml
from conftest import folder_bytes, run_cli, shipped_collection
from ordinals_chain import composed, content_table, inscribe, inscribed_args
from PIL import Image

from generator.publish.ordinals.registry import registry_problems
from generator.schemas import schema_document


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 16-token sprite collection, and the config that made it."""
    return shipped_collection(tmp_path_factory.mktemp("ordinals"), 16)


def export(out: Path, config: Path, *extra: object) -> str:
    result = run_cli("export", out, "--ordinals", "--config", config, *extra)
    assert result.exit_code == 0, result.output
    return result.output


def all_phases(out: Path, config: Path, seed: str = "") -> Path:
    ordinals = out / "export" / "ordinals"
    export(out, config)
    export(out, config, *inscribed_args(inscribe(ordinals, "layers", seed)))
    export(out, config, *inscribed_args(inscribe(ordinals, "tokens", seed)))
    return ordinals


def batch(path: Path) -> dict:
    document = yaml.safe_load(path.read_text())
    jsonschema.validate(document, schema_document("ord-batch.schema.json"))
    return document


def test_phase_one_writes_each_distinct_layer_once_exactly_and_a_batch_ord_accepts(collection: tuple[Path, Path]) -> None:
    out, config = collection
    printed = export(out, config)
    ordinals = out / "export" / "ordinals"
    document = batch(ordinals / "layers.batch.yaml")
    assert document["mode"] == "separate-outputs" and "parents" not in document
    files = [entry["file"] for entry in document["inscriptions"]]
    assert files[0] == "provenance.json" and len(set(files)) == len(files)
    assert sorted(files[1:]) == sorted(f"layers/{p.name}" for p in (ordinals / "layers").iterdir())
    for file in files[1:]:  # each layer is its source art, pixel for pixel (transparent pixels compared as transparent)
        trait, value = document["inscriptions"][files.index(file)]["title"].split(": ")
        with Image.open(ordinals / file) as mine, Image.open(config.parent / "layers" / trait / f"{value}.png") as source:
            a, b = np.asarray(mine.convert("RGBA")), np.asarray(source.convert("RGBA"))
            assert np.array_equal(a[..., 3], b[..., 3]) and np.array_equal(a[a[..., 3] > 0], b[b[..., 3] > 0]), file
            assert (ordinals / file).stat().st_size <= (config.parent / "layers" / trait / f"{value}.png").stat().st_size
    assert not list(ordinals.glob("tokens*")), "tokens need the layers' ids: phase 2"
    provenance = json.loads((ordinals / "provenance.json").read_text())
    assert provenance["tokens"] == 16 and provenance["provenance"] in printed
    report = json.loads((ordinals / "report.json").read_text())
    assert report["ord"] == "0.27.1" and report["layers"]["inscriptions"] == len(files)
    assert "ord wallet batch --fee-rate <sat/vB> --batch layers.batch.yaml > layers-output.json" in printed


@pytest.mark.slow
def test_three_phases_end_in_registry_files_and_every_svg_draws_its_token(collection: tuple[Path, Path]) -> None:
    out, config = collection
    ordinals = all_phases(out, config)
    tokens = batch(ordinals / "tokens.batch.yaml")
    layer_output = json.loads((ordinals / "layers-output.json").read_text())
    assert tokens["parents"] == [layer_output["inscriptions"][0]["id"]], "the provenance inscription is every token's parent"
    table = content_table(ordinals)
    for token_id, entry in enumerate(tokens["inscriptions"], start=1):
        draft = json.loads((out / "metadata" / f"{token_id}.json").read_text())
        assert entry["file"] == f"tokens/{token_id}.svg"
        assert entry["title"] == draft["name"] and entry["metadata"]["attributes"] == draft["attributes"]
        assert entry["traits"] == {a["trait_type"]: a["value"] for a in draft["attributes"]}
        svg = (ordinals / entry["file"]).read_bytes()
        with Image.open(out / "images" / f"{token_id}.png") as master:
            assert np.array_equal(composed(svg, table), np.asarray(master.convert("RGBA"))), token_id
    registry = json.loads((ordinals / "inscriptions.json").read_text())
    token_ids = [item["id"] for item in json.loads((ordinals / "tokens-output.json").read_text())["inscriptions"]]
    assert [entry["id"] for entry in registry] == token_ids and not registry_problems(registry)
    assert registry[0]["meta"] == {
        "name": "Bespoke Punks #1",
        "attributes": json.loads((out / "metadata" / "1.json").read_text())["attributes"],
    }
    meta = json.loads((ordinals / "meta.json").read_text())
    assert meta == {
        "name": "Bespoke Punks",
        "inscription_icon": token_ids[0],
        "slug": "bespoke-punks",
        "description": meta["description"],
    }


def test_each_phase_runs_again_to_the_same_files(collection: tuple[Path, Path]) -> None:
    out, config = collection
    ordinals = all_phases(out, config)
    before = folder_bytes(ordinals)
    export(out, config, *inscribed_args(sorted(ordinals.glob("tokens*-output.json"))))
    assert folder_bytes(ordinals) == before


@pytest.mark.slow
def test_a_starting_index_inscribes_the_revealed_order_under_the_same_provenance(collection: tuple[Path, Path]) -> None:
    out, config = collection
    ordinals = all_phases(out, config)
    plain = yaml.safe_load((ordinals / "tokens.batch.yaml").read_text())["inscriptions"]
    provenance = (ordinals / "provenance.json").read_bytes()
    export(out, config, "--starting-index", 5, *inscribed_args([ordinals / "layers-output.json"]))
    revealed = yaml.safe_load((ordinals / "tokens.batch.yaml").read_text())["inscriptions"]
    assert (ordinals / "provenance.json").read_bytes() == provenance
    assert revealed[0]["traits"] == plain[5]["traits"] and revealed[0]["title"] == "Bespoke Punks #1"
    assert revealed[15]["traits"] == plain[4]["traits"]


def test_a_normal_export_and_the_ordinals_folder_keep_each_other(collection: tuple[Path, Path]) -> None:
    out, config = collection
    export(out, config)
    ordinals = folder_bytes(out / "export" / "ordinals")
    assert run_cli("export", out, "--config", config).exit_code == 0
    assert folder_bytes(out / "export" / "ordinals") == ordinals
    published = {name: data for name, data in folder_bytes(out / "export").items() if not name.startswith("ordinals/")}
    export(out, config, "--fee-rate", 25)
    kept = {name: data for name, data in folder_bytes(out / "export").items() if not name.startswith("ordinals/")}
    assert kept == published
    assert json.loads((out / "export" / "ordinals" / "report.json").read_text())["fee_rate_sat_per_vb"] == 25
