"""None, FastLZ or deflate for the renderer's data, chosen by total gas: deployment + N × ``tokenURI``.

On the collection's real data stream, cut into the same data contracts: each chunk FastLZ-compressed by solady's
own JavaScript (``LibZip.flzCompress``) and raw-deflated by zlib, and each version stored with the renderer's real
``store`` in py-evm (deployment gas measured, not estimated). What decompressing costs is measured for FastLZ with
solady's ``LibZip.flzDecompress`` (contracts/bench/FlzBench.sol): reading a chunk and decompressing it, less reading
it. A ``tokenURI`` reads its token's record, so with compression it decompresses at least the chunk holding it: the
FastLZ total uses that least cost, a bound in FastLZ's favour. solady has no inflate; deflate's decoder is not
measured, and the break-even says what it would have to cost.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generator.publish.onchain.evm import Chain  # noqa: E402

NODE = REPO / ".ci" / "node"


def compression(onchain: Path, report: dict) -> None:
    arguments = json.loads((onchain / "contract.json").read_text())
    stream = (onchain / "contract-data.bin").read_bytes()
    chunks, at = [], 0
    for size in arguments["chunks"]:
        chunks.append(stream[at : at + size])
        at += size
    if not (NODE / "node_modules" / "solady").is_dir():
        print("FastLZ not measured: solady and solc-js are not installed (make contract-tools)")
        return
    bytecode, flz = _fastlz(chunks)
    deflated = [_deflate(chunk) for chunk in chunks]
    supply, uri = arguments["supply"], report["gas"]["token_uri"]["mean"]
    none = report["gas"]["deploy_total"]
    flz_deploy, decompress = _flz_costs(arguments, flz, bytecode)
    deflate_deploy, _ = _deployed(arguments, deflated)
    rows = [
        ("none", len(stream), none, uri, none + supply * uri),
        ("FastLZ", sum(map(len, flz)), flz_deploy, uri + min(decompress), flz_deploy + supply * (uri + min(decompress))),
    ]
    print(f"| {'':<8} | stored bytes | deploy gas | tokenURI gas (mean) | deploy + {supply:,} × tokenURI |")
    print("|----------|-------------:|-----------:|--------------------:|------------------------:|")
    for name, stored, deploy, per_uri, total in rows:
        print(f"| {name:<8} | {stored:>12,} | {deploy:>10,} | {per_uri:>19,} | {total:>23,} |")
    print(f"| {'deflate':<8} | {sum(map(len, deflated)):>12,} | {deflate_deploy:>10,} | {'(decoder not measured)':>19} | |")
    print(f"FastLZ decompression per chunk (read and decompress, less read): {', '.join(f'{g:,}' for g in decompress)} gas")
    best_saving = none - min(flz_deploy, deflate_deploy)
    print(
        f"break-even: compression saves at most {best_saving:,} gas of deployment, {best_saving / supply:,.0f} gas per "
        f"tokenURI over {supply:,} tokens; a decoder must cost less than that per tokenURI to win"
    )
    winner = min(rows, key=lambda row: row[4])[0]
    print(f"chosen: {winner} (lowest deploy + N × tokenURI)")


def _fastlz(chunks: list[bytes]) -> tuple[bytes, list[bytes]]:
    """Solady's FastLZ of each chunk, and FlzBench's creation code."""
    with tempfile.TemporaryDirectory() as scratch:
        files = []
        for number, chunk in enumerate(chunks):
            files.append(Path(scratch) / f"{number}.bin")
            files[-1].write_bytes(chunk)
        script = REPO / "bench" / "onchain_flz.mjs"
        out = subprocess.run(["node", str(script), str(NODE), *map(str, files)], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    return bytes.fromhex(result["bytecode"][2:]), [bytes.fromhex(c[2:]) for c in result["compressed"]]


def _deflate(chunk: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, as an on-chain inflate takes it
    return compressor.compress(chunk) + compressor.flush()


def _deployed(arguments: dict, chunks: list[bytes]) -> tuple[int, Chain]:
    """The renderer deployed with ``chunks`` as its data contracts: total deployment gas, and the chain."""
    chain = Chain()
    sent = chain.deploy(dict(arguments, chunks=[len(c) for c in chunks]), b"".join(chunks))
    return sum(s.gas for s in sent), chain


def _flz_costs(arguments: dict, flz: list[bytes], bytecode: bytes) -> tuple[int, list[int]]:
    """Deployment gas with FastLZ chunks, and each chunk's decompression gas."""
    deploy, chain = _deployed(arguments, flz)
    _, receipt = chain.send("flz bench", bytecode)
    bench = receipt["contract_address"]
    costs = []
    for number, chunk in enumerate(flz):
        pointer = chain.call("pointers(uint256)", ["uint256"], [number], "address")
        assert (
            chain.call("readAndDecompress(address)", ["address"], [pointer], "uint256", to=bench) == arguments["chunks"][number]
        )
        read = chain.call_gas("read(address)", ["address"], [pointer], to=bench)
        costs.append(chain.call_gas("readAndDecompress(address)", ["address"], [pointer], to=bench) - read)
        assert len(chunk) <= arguments["chunks"][number]
    return deploy, costs
