"""What the on-chain art costs in bytes, by kind, and how many EIP-170 data contracts hold it.

Sizes are the stored bytes themselves, uncompressed: bench/onchain.py measured FastLZ (solady's ``LibZip``) and
deflate on the shipped 10,000 and neither pays for its decoding (docs/onchain.md, "Compression"). The gas is
:mod:`.gas`'s. A data contract (SSTORE2) holds at most 24,575 bytes: EIP-170's 24,576-byte code limit
less the leading STOP byte. Images are packed whole, in order, so a renderer never reads one across two.
"""

from __future__ import annotations

from generator.publish.onchain.contract import CHUNK as CONTRACT_BYTES  # a data contract's bytes (EIP-170)
from generator.publish.onchain.layout import TOKENS, OnchainArt

COLOR_BYTES = 3  # rrggbb


def onchain_report(art: OnchainArt) -> dict:
    """Bytes per kind (the palette as Nouns' ``setPalette`` takes it, index 0 included; a record of a byte per trait
    for every token), what packing the layered tokens' indices to bits would save, and the data contracts needed."""
    layers = [len(part.data) for part in art.parts if part.folder != TOKENS]
    whole = [len(part.data) for part in art.parts if part.folder == TOKENS]
    palette = COLOR_BYTES * len(art.palette)
    records = (len(art.layered) + len(art.whole)) * len(art.traits)
    blobs = [palette, *layers, *whole, records]
    return {
        "tokens": {"layered": len(art.layered), "whole": len(art.whole)},
        "colors": len(art.palette) - 1,
        "bytes": {
            "palette": palette,
            "layers": sum(layers),
            "whole_tokens": sum(whole),
            "token_records": records,
            "total": sum(blobs),
        },
        "layered_indices_packed_bytes": (len(art.layered) * art.index_bits + 7) // 8,
        "data_contracts": data_contracts(blobs),
        "contract_bytes": CONTRACT_BYTES,
        "compression": "none: decoding costs more per tokenURI than it saves at deployment (measured: docs/onchain.md)",
    }


def data_contracts(blobs: list[int]) -> int:
    """Contracts of ``CONTRACT_BYTES`` that hold ``blobs`` in order, none split (a longer blob takes its own run)."""
    count, used = 0, CONTRACT_BYTES
    for size in blobs:
        while size > CONTRACT_BYTES:  # only the trait indices of a big collection: a flat array, readable across
            count, size = count + 1, size - CONTRACT_BYTES
        if used + size > CONTRACT_BYTES:
            count, used = count + 1, 0
        used += size
    return count if blobs and sum(blobs) else 0


def report_lines(report: dict) -> list[str]:
    """The printed summary."""
    counted = report["bytes"]
    return [
        f"on-chain art: {report['tokens']['layered']} layered tokens, {report['tokens']['whole']} stored whole, "
        f"{report['colors']} colours",
        f"bytes: {counted['total']:,} (palette {counted['palette']:,}, layers {counted['layers']:,}, "
        f"whole tokens {counted['whole_tokens']:,}, token records {counted['token_records']:,}; the layered tokens' "
        f"indices packed to bits would be {report['layered_indices_packed_bytes']:,})",
        f"data contracts (≤{CONTRACT_BYTES:,} bytes each, EIP-170): {report['data_contracts']}",
        *gas_lines(report["gas"]),
    ]


def gas_lines(gas: dict) -> list[str]:
    """The printed gas figures (:mod:`.gas`), or the one line saying why there are none."""
    if "not_measured" in gas:
        return [gas["not_measured"]]
    each = ", ".join(f"{sent['transaction']} {sent['gas']:,}" for sent in gas["deploy"])
    uri, mint = gas["token_uri"], gas["mint"]
    return [
        f"deployment gas: {gas['deploy_total']:,} in {len(gas['deploy'])} transactions ({each}) = "
        f"{gas['deploy_eth']:g} ETH at {gas['gas_price_gwei']:g} gwei",
        f"mint gas: {mint['first_token']:,} for the first token"
        + (f", {mint['per_token_in_batch']:,} per token in a batch of {mint['batch']}" if mint["batch"] else "")
        + f"; all tokens {gas['mint_all_eth']:g} ETH",
        f"tokenURI gas: mean {uri['mean']:,}, worst {uri['worst']:,} (token {uri['worst_token']}); {uri['how']}",
        f"measured in {gas['measured_in'].split(',')[0]}",
    ]
