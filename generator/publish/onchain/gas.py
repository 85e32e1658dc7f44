"""The gas report: ``export/onchain/`` deployed into an in-process EVM and every figure read from it, none estimated.

Measured: each deployment transaction (the renderer, each ``store``, ``seal``) and their total; ``mint`` for the
first token alone and per token in a batch; ``tokenURI`` for the mean and the worst token. py-evm runs a
``tokenURI`` in about a second, so a big collection is not run token by token:

- **worst**: a token's ``tokenURI`` cost grows with the ``<rect>``s it draws and the bytes they take (each is
  written, then base64-encoded twice: the SVG into the JSON, the JSON into the URI), and the rest of its work (one
  read per image, the attributes) barely varies. Every token's rects and SVG bytes are counted here, walking its
  images exactly as the contract does (:func:`~.rle.drawn_runs`), and the tokens at the top of either count are
  measured: the worst of them is the collection's worst;
- **mean**: the mean over :data:`SAMPLE` tokens spread evenly through the collection ranked by SVG bytes (the
  middle of each sixth): on the shipped 10,000 it came within 0.2 % of every token's mean, where 6 tokens at
  random typically miss by 6 % (bench/onchain.py runs every token in revm and checks the worst and the mean);
- a collection of at most :data:`EVERY_TOKEN_UP_TO` tokens is measured token by token for both.

Tokens need an owner to have a ``tokenURI``: the first are minted (that is the mint measurement), the others get
their owner written into the ERC-721 ``_owners`` slot, as ``eth_call``'s state override does, which costs a view
call exactly what a minted token's costs (checked against a minted token every run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.errors import Arg
from generator.publish.onchain.evm import Chain, Transaction, evm_missing
from generator.publish.onchain.layout import OnchainArt, token_parts
from generator.publish.onchain.rle import drawn_runs

EVERY_TOKEN_UP_TO = 8  # tokens measured one by one below this; above it, the top candidates and a sample
TOP = 2  # tokens measured from the top of each count (rects, SVG bytes) for the worst
SAMPLE = 6  # tokens measured for the mean of a bigger collection
MINT_BATCH = 100  # tokens in the batch whose per-token mint gas is reported
OWNERS_SLOT = 2  # OpenZeppelin 5 ERC721's `_owners` mapping: after `_name` (0) and `_symbol` (1)
RECT_FIXED = len('<rect x="" y="" width="" height="1" fill="#rrggbb"/>')
TOKEN_URI = "tokenURI(uint256)"


@dataclass(frozen=True)
class Drawn:
    """What a token's SVG holds: the rects drawn and their bytes, counted as the contract draws them."""

    rects: int
    svg_bytes: int


def measure_gas(art: OnchainArt, arguments: dict[str, Any], stream: bytes, gas_price: float | None) -> dict[str, Any]:
    """The ``gas`` section of ``report.json`` with ETH at ``gas_price`` gwei; ``None`` (``--no-gas``) or no py-evm
    measures nothing and says why. The same data gives the same figures (no timings in it: they vary)."""
    if gas_price is None:
        return {"not_measured": f"gas not measured ({Arg.NO_GAS}); export again without it for the figures"}
    missing = evm_missing()
    if missing:
        return {"not_measured": missing}
    chain = Chain()
    deployed = chain.deploy(arguments, stream)
    first, supply = arguments["first_token_id"], arguments["supply"]
    mint_first = chain.mint(1)
    batch = min(MINT_BATCH, supply - 1)
    mint_batch = chain.mint(batch) if batch else None
    _give_owners(chain, range(first + 1 + batch, first + supply))
    chosen, how = tokens_to_measure(art, list(range(first, first + supply)))
    uri_gas = {
        token_id: chain.call_gas(TOKEN_URI, ["uint256"], [token_id])
        for token_id in sorted(set(chosen["worst"]) | set(chosen["mean"]))
    }
    worst = max(chosen["worst"], key=lambda token_id: uri_gas[token_id])
    total = sum(sent.gas for sent in deployed)
    return {
        "deploy": [{"transaction": sent.label, "gas": sent.gas} for sent in deployed],
        "deploy_total": total,
        "mint": {"first_token": mint_first.gas, "per_token_in_batch": _per_token(mint_batch, batch), "batch": batch},
        "token_uri": {
            "mean": round(sum(uri_gas[t] for t in chosen["mean"]) / len(chosen["mean"])),
            "worst": uri_gas[worst],
            "worst_token": worst,
            "tokens_measured": len(uri_gas),
            "how": how,
            "worst_over": chosen["worst"],
            "mean_over": chosen["mean"],
        },
        "gas_price_gwei": gas_price,
        "deploy_eth": eth(total, gas_price),
        "mint_all_eth": eth(mint_first.gas + (supply - 1) * _per_token(mint_batch, batch), gas_price),
        "measured_in": "py-evm (eth-tester), Prague rules: the gas each transaction's receipt and each call charged",
    }


def eth(gas: int, gwei: float) -> float:
    """``gas`` at ``gwei`` per gas, in ETH."""
    return round(gas * gwei / 1e9, 6)


def _per_token(sent: Transaction | None, batch: int) -> int:
    return round(sent.gas / batch) if sent and batch else 0


def tokens_to_measure(art: OnchainArt, token_ids: list[int]) -> tuple[dict[str, list[int]], str]:
    """The tokens whose ``tokenURI`` is run for the worst and for the mean, and how they were chosen."""
    if len(token_ids) <= EVERY_TOKEN_UP_TO:
        return {"worst": token_ids, "mean": token_ids}, "every token"
    drawn = drawn_tokens(art, token_ids)
    by_rects = sorted(token_ids, key=lambda t: (drawn[t].rects, drawn[t].svg_bytes), reverse=True)[:TOP]
    by_bytes = sorted(token_ids, key=lambda t: (drawn[t].svg_bytes, drawn[t].rects), reverse=True)[:TOP]
    ranked = sorted(token_ids, key=lambda t: (drawn[t].svg_bytes, drawn[t].rects, t))
    sample = sorted({ranked[(2 * part + 1) * len(ranked) // (2 * SAMPLE)] for part in range(SAMPLE)})
    how = (
        f"worst over the {TOP} tokens drawing the most rects and the {TOP} with the most SVG bytes (cost grows with "
        f"both); mean over {SAMPLE} tokens spread evenly by SVG bytes"
    )
    return {"worst": sorted(set(by_rects + by_bytes + sample)), "mean": sample}, how


def drawn_tokens(art: OnchainArt, token_ids: list[int]) -> dict[int, Drawn]:
    """Each token's rects and SVG bytes, from its images' runs (each image's counted once)."""
    per_part: dict[bytes, Drawn] = {}
    for part in art.parts:
        runs = drawn_runs(part.data)
        digits = sum(len(str(x)) + len(str(y)) + len(str(width)) for x, y, width, _ in runs)
        per_part[part.data] = Drawn(len(runs), len(runs) * RECT_FIXED + digits)
    drawn = {}
    for token_id in token_ids:
        parts = [per_part[part.data] for part in token_parts(art, token_id)]
        drawn[token_id] = Drawn(sum(p.rects for p in parts), sum(p.svg_bytes for p in parts))
    return drawn


def _give_owners(chain: Chain, token_ids: range) -> None:
    """Write the owner of each of ``token_ids`` (not minted) into ``_owners``, after checking on the first minted
    token that the slot is where the contract keeps it."""
    from eth_abi import encode
    from eth_utils import keccak

    state = chain.view_vm().state
    address = bytes.fromhex(chain.address[2:])
    owner = int(chain.owner, 16)
    first = chain.call("FIRST_TOKEN_ID()", [], [], "uint256")

    def slot(token_id: int) -> int:
        return int.from_bytes(keccak(encode(["uint256", "uint256"], [token_id, OWNERS_SLOT])), "big")

    if state.get_storage(address, slot(first)) != owner:
        raise RuntimeError("the renderer's _owners slot moved: update gas.OWNERS_SLOT")
    for token_id in token_ids:
        state.set_storage(address, slot(token_id), owner)
