"""A stand-in for the chain in the Ordinals tests: the JSON ``ord wallet batch`` (0.27.1) prints for a batch file,
with fake but well-formed ids, and a recursive SVG composed the way a browser stacks it."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import yaml
from PIL import Image


def ord_output(batch: Path, seed: str = "") -> dict:
    """What ``ord wallet batch --batch BATCH`` prints: one reveal transaction, ids ``<reveal>i0``, ``i1``, … in file
    order (``wallet::batch::Output``)."""
    document = yaml.safe_load(batch.read_text())
    reveal = hashlib.sha256(f"reveal {batch.name} {seed}".encode()).hexdigest()
    commit = hashlib.sha256(f"commit {batch.name} {seed}".encode()).hexdigest()
    inscriptions = [
        {
            "destination": "bc1pdqrcrxa8vx6gy75mfdfj84puhxffh4fq46h3gkp6jxdd0vjcsdyspfxcv6",
            "id": f"{reveal}i{n}",
            "location": f"{reveal}:{n}:0",
        }
        for n in range(len(document["inscriptions"]))
    ]
    return {
        "commit": commit,
        "commit_psbt": None,
        "inscriptions": inscriptions,
        "parents": document.get("parents", []),
        "reveal": reveal,
        "reveal_broadcast": True,
        "reveal_psbt": None,
        "rune": None,
        "total_fees": 12345,
    }


def inscribe(ordinals: Path, kind: str, seed: str = "") -> list[Path]:
    """Inscribe every ``<kind>*.batch.yaml`` in ``ordinals`` (in order): the output files, written beside them."""
    batches = sorted(ordinals.glob(f"{kind}*.batch.yaml"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0))
    outputs = []
    for batch in batches:
        output = ordinals / batch.name.replace(".batch.yaml", "-output.json")
        output.write_text(json.dumps(ord_output(batch, seed), indent=2))
        outputs.append(output)
    return outputs


def inscribed_args(outputs: list[Path]) -> list[object]:
    return [arg for output in outputs for arg in ("--inscribed", output)]


def content_table(ordinals: Path) -> dict[str, Path]:
    """inscription id → the file inscribed, for every batch answered so far (what /content/<id> serves)."""
    table = {}
    for batch in sorted(ordinals.glob("*.batch.yaml")):
        output = ordinals / batch.name.replace(".batch.yaml", "-output.json")
        if output.exists():
            files = [entry["file"] for entry in yaml.safe_load(batch.read_text())["inscriptions"]]
            ids = [item["id"] for item in json.loads(output.read_text())["inscriptions"]]
            table |= {i: ordinals / f for i, f in zip(ids, files, strict=True)}
    return table


def composed(svg: bytes, table: dict[str, Path]) -> np.ndarray:
    """The RGB pixels of a token SVG, its background colour and its layers stacked as a browser does (alpha 0 or 255)."""
    text = svg.decode()
    fill = re.search(r"svg\{background:#([0-9a-f]{6})\}", text)
    canvas = Image.new("RGBA", (24, 24), "#" + fill.group(1) if fill else (0, 0, 0, 0))
    for layer_id in re.findall(r'<image href="/content/([0-9a-fi]+)"/>', text):
        with Image.open(table[layer_id]) as layer:
            canvas.alpha_composite(layer.convert("RGBA"))
    return np.asarray(canvas)
