"""The cost model (envelope bytes, reveal weight, vsize) against reveal transactions built and signed by micro-ordinals
and @scure/btc-signer: the recorded reference always runs; the live one where .ci/run could install them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from generator.publish.ordinals import cbor
from generator.publish.ordinals.batch import Entry
from generator.publish.ordinals.cost import (
    MAX_WEIGHT,
    Inscription,
    envelope_size,
    push_size,
    reveal_weight,
    split_batches,
    vbytes,
)

REPO = Path(__file__).parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "ordinals"
SAMPLES = json.loads((FIXTURES / "reveal-samples.json").read_text())
REFERENCE = json.loads((FIXTURES / "micro-ordinals-reveals.json").read_text())["reveals"]
NODE_MODULES = REPO / ".ci" / "node" / "node_modules"


def inscriptions(sample: dict) -> list[Inscription]:
    return [
        Inscription(
            item["file"],
            item["content_type"],
            bytes.fromhex(item["body"]),
            cbor.encode(item["metadata"]) if "metadata" in item else None,
            bytes.fromhex(item["properties"]) if "properties" in item else None,
        )
        for item in sample["inscriptions"]
    ]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["name"] for s in SAMPLES])
def test_vsize_matches_the_reference_reveal(sample: dict) -> None:
    """Within a vbyte: micro-ordinals pushes a zero pointer as one byte where ord pushes none (weight 1)."""
    reference = next(r for r in REFERENCE if r["name"] == sample["name"])
    weight = reveal_weight(inscriptions(sample), parents=1 if sample["parent"] else 0)
    assert abs(weight - reference["weight"]) <= 1, (weight, reference)
    assert abs(vbytes(weight) - reference["vsize"]) <= 1


def test_metadata_cbor_is_what_ord_writes() -> None:
    """ord's ciborium and minicbor: shortest heads, text keys for metadata, integer keys for properties."""
    entry = Entry("tokens/1.svg", b"<svg/>", "Punk #1", {"Hair": "Mohawk"}, {"name": "Punk #1", "n": 300, "ok": True})
    item = entry.inscription()
    assert item.content_type == "image/svg+xml"
    assert item.metadata == bytes.fromhex("a3646e616d656750756e6b202331616e19012c626f6bf5")
    assert item.properties == bytes.fromhex("a101a2006750756e6b20233101a16448616972664d6f6861776b")


def test_pushes_and_chunks_follow_script_rules() -> None:
    assert [push_size(n) for n in (0, 1, 75, 76, 255, 256, 520)] == [1, 2, 76, 78, 257, 259, 523]
    small = Inscription("a.png", "image/png", b"x" * 520)
    two = Inscription("a.png", "image/png", b"x" * 521)
    assert envelope_size(two, 0, 0) - envelope_size(small, 0, 0) == 2, "a 521st byte is a second push: 1 + its length"


def test_a_big_collection_is_split_into_standard_reveals() -> None:
    token = Inscription("t.svg", "image/svg+xml", b"x" * 600, b"m" * 150, b"p" * 120)
    batches = split_batches([token] * 2_000, parents=1)
    assert len(batches) > 1 and sum(len(b) for b in batches) == 2_000
    assert all(reveal_weight(b, 1) <= MAX_WEIGHT for b in batches)
    assert reveal_weight([*batches[0], token], 1) > MAX_WEIGHT - 4_000, "each batch is filled before the next starts"


@pytest.mark.skipif(
    not (NODE_MODULES / "micro-ordinals").is_dir() or not shutil.which("node"),
    reason="needs micro-ordinals and @scure/btc-signer in .ci/node (.ci/run installs them); the recorded reference ran",
)
def test_the_recorded_reference_is_what_micro_ordinals_builds() -> None:
    with (FIXTURES / "reveal-samples.json").open() as samples:
        script = FIXTURES / "reveal_vsize.mjs"
        printed = subprocess.run(
            ["node", script], stdin=samples, capture_output=True, text=True, check=True, cwd=REPO, timeout=60
        )
    assert json.loads(printed.stdout) == REFERENCE
