"""The committed renderer contract (``contracts/PunkgenRenderer.sol`` compiled by ``make contracts``), shipped as
package data so that exporting and deploying need neither Node nor the repository's ``contracts/`` folder."""

from __future__ import annotations

import json
from pathlib import Path

ARTIFACT = Path(__file__).resolve().with_name("PunkgenRenderer.json")  # ABI, creation bytecode, compiler settings


def renderer_code() -> bytes:
    """The renderer's creation code, without constructor arguments."""
    return bytes.fromhex(json.loads(ARTIFACT.read_text())["bytecode"].removeprefix("0x"))
