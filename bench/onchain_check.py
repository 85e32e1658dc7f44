"""Every token's ``tokenURI`` run in an EVM and compared with its files: the JSON with ``metadata/<id>.json`` (all but
``image``), the SVG's pixels with ``images/<id>.png``.

py-evm runs a ``tokenURI`` in about a second, so 10,000 of them take hours; revm (PyPI ``pyrevm``, in the bench
extra) runs one in a few milliseconds and is used for the outputs when it is installed. Gas figures always come
from py-evm (``export --onchain``'s report): pyrevm 0.3.7's ``message_call`` charges a first storage read as warm
(100 gas, where EIP-2929 charges 2,100: ``minted()`` costs 21,522 there, 23,522 in py-evm), so its gas is not a
transaction's.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generator.publish.onchain.evm import Chain, call_data, constructor_data  # noqa: E402

RECT = re.compile(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="1" fill="#([0-9a-f]{6})"/>')
SVG_HEAD = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" shape-rendering="crispEdges">'
OWNER = "0x" + "11" * 20
MINT_BATCH = 500  # 12.7 M gas: under Osaka's 16.7 M cap on one transaction


def revm_available() -> bool:
    return importlib.util.find_spec("pyrevm") is not None


def revm_token_uri(onchain: Path, revm_gas: dict[int, int]) -> Callable[[int], str]:
    """``tokenURI`` of the renderer deployed in revm with ``onchain``'s data, every token minted; each call's revm gas
    goes into ``revm_gas`` (for ranking tokens: it is py-evm's less 2,000 per first storage read)."""
    from eth_abi import decode
    from pyrevm import EVM

    arguments = json.loads((onchain / "contract.json").read_text())
    stream = (onchain / "contract-data.bin").read_bytes()
    evm = EVM(gas_limit=60_000_000)
    evm.set_balance(OWNER, 10**24)
    address = evm.deploy(OWNER, constructor_data(arguments), gas=30_000_000)
    at = 0
    for size in arguments["chunks"]:
        evm.message_call(OWNER, address, call_data("store(bytes)", ["bytes"], [stream[at : at + size]]), gas=30_000_000)
        at += size
    evm.message_call(OWNER, address, call_data("seal()", [], []), gas=30_000_000)
    for start in range(0, arguments["supply"], MINT_BATCH):
        quantity = min(MINT_BATCH, arguments["supply"] - start)
        mint = call_data("mint(address,uint256)", ["address", "uint256"], [OWNER, quantity])
        evm.message_call(OWNER, address, mint, gas=30_000_000)

    def token_uri(token_id: int) -> str:
        out = evm.message_call(OWNER, address, call_data("tokenURI(uint256)", ["uint256"], [token_id]), gas=50_000_000)
        revm_gas[token_id] = evm.result.gas_used
        return decode(["string"], bytes(out))[0]

    return token_uri


def pyevm_token_uri(onchain: Path) -> Callable[[int], str]:
    """The same through py-evm (slow: use on a sample)."""
    arguments = json.loads((onchain / "contract.json").read_text())
    chain = Chain()
    chain.deploy(arguments, (onchain / "contract-data.bin").read_bytes())
    for start in range(0, arguments["supply"], MINT_BATCH):
        chain.mint(min(MINT_BATCH, arguments["supply"] - start))
    return lambda token_id: chain.call("tokenURI(uint256)", ["uint256"], [token_id], "string")


def svg_pixels(svg: str) -> np.ndarray:
    """The SVG painted as drawn: only one-pixel-high opaque rects on a transparent 24×24 canvas (else an error)."""
    body = svg.removeprefix(SVG_HEAD).removesuffix("</svg>")
    if not svg.startswith(SVG_HEAD) or RECT.sub("", body):
        raise ValueError("the SVG holds something other than the renderer's rects")
    canvas = np.zeros((24, 24, 4), np.uint8)
    for x, y, width, colour in RECT.findall(body):
        canvas[int(y), int(x) : int(x) + int(width)] = [*bytes.fromhex(colour), 255]
    return canvas


def matches(folder: Path, token_id: int, uri: str) -> bool:
    """Whether ``uri`` decodes to the token's metadata (image aside) and its SVG to the token's PNG."""
    document = json.loads(base64.b64decode(uri.removeprefix("data:application/json;base64,")))
    image = document.pop("image")
    expected = json.loads((folder / "metadata" / f"{token_id}.json").read_text())
    expected.pop("image")
    if document != expected or not image.startswith("data:image/svg+xml;base64,"):
        return False
    svg = base64.b64decode(image.removeprefix("data:image/svg+xml;base64,")).decode()
    master = np.asarray(Image.open(folder / "images" / f"{token_id}.png").convert("RGBA")).copy()
    master[master[..., 3] == 0] = 0
    return np.array_equal(svg_pixels(svg), master)
