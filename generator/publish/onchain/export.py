"""``punkgen export FOLDER --onchain``: the art as contract data under ``export/onchain/``, staged and swapped in whole.

Files (docs/onchain.md says how a renderer reads them):

- ``image-data.json``: Nouns' shape, byte-equal to ``@nouns/sdk``'s encoder for the same images in the same order;
- ``palette.bin``: ``0x000000`` then each colour's three bytes, as Nouns' ``setPalette`` takes it;
- ``images.bin`` and ``images.json``: every image's RLE bytes back to back, and each one's folder, name, offset, length;
- ``tokens.bin``: one record of a byte per trait per token, in token order (:func:`.layout.token_records`);
- ``contract-data.bin`` and ``contract.json``: the renderer contract's data stream and constructor arguments
  (:mod:`.contract`);
- ``report.json``: the bytes and data contracts (:mod:`.report`), and the gas measured in an in-process EVM
  (:mod:`.gas`);
- ``deploy-plan.json``: the transactions ``punkgen deploy`` sends, each one's digest and gas limit (:mod:`.plan`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from generator.config import Config
from generator.curate.finished import load_collection, require_collection_folder
from generator.errors import Arg, UserError
from generator.publish.export import check_against_manifest, refuse_animation
from generator.publish.onchain.contract import contract_data
from generator.publish.onchain.evm import DEFAULT_GAS_PRICE
from generator.publish.onchain.gas import measure_gas
from generator.publish.onchain.journal import JOURNAL, refuse_replanning
from generator.publish.onchain.layout import OnchainArt, plan_art, token_records
from generator.publish.onchain.nouns import image_data, image_data_json
from generator.publish.onchain.plan import PLAN, plan_document, steps_for
from generator.publish.onchain.report import onchain_report
from generator.publish.ordinals.phases import write_staged
from generator.publish.provenance import master_provenance
from generator.run.folder import EXPORT
from generator.run.lock import folder_lock

ONCHAIN = "onchain"  # under export/


@dataclass(frozen=True)
class OnchainSummary:
    folder: Path  # export/onchain
    report: dict


def check_onchain_options(given: dict[str, bool]) -> None:
    """Refuse an export option (option → whether given) that means nothing for contract data."""
    for option, present in given.items():
        if present:
            raise UserError(
                f"{option} does not apply with {Arg.ONCHAIN}: the contract stores the art itself, with no files, base URI "
                "or format; leave it out"
            )


def check_gas_options(gas_price: float | None, no_gas: bool, onchain: bool) -> None:
    """Refuse ``--gas-price`` or ``--no-gas`` without ``--onchain``, both together, or a price that is not one."""
    for option, given in {Arg.GAS_PRICE: gas_price is not None, Arg.NO_GAS: no_gas}.items():
        if given and not onchain:
            raise UserError(f"{option} applies only with {Arg.ONCHAIN}: add it, or leave {option} out")
    if gas_price is None:
        return
    if no_gas:
        raise UserError(f"{Arg.GAS_PRICE} prices the gas {Arg.NO_GAS} leaves unmeasured: give one or the other")
    if not 0 < gas_price < 1e6:
        raise UserError(f"{Arg.GAS_PRICE} {gas_price:g}: a gas price is gwei per gas, above 0 (mainnet is usually under 10)")


def export_onchain(folder: Path, config: Config, gas_price: float | None = DEFAULT_GAS_PRICE) -> OnchainSummary:
    """Encode the finished collection in ``folder`` and write ``export/onchain/`` whole, or nothing on a refusal;
    the report's ETH is at ``gas_price`` gwei (``None``: no gas measured)."""
    require_collection_folder(folder)
    target = folder / EXPORT / ONCHAIN
    with folder_lock(folder, "the export"):
        collection = load_collection(folder, config)
        check_against_manifest(folder, config)  # store only what the manifest vouches for, as every export
        refuse_animation(collection, f"export {Arg.ONCHAIN}", f"export it without {Arg.ONCHAIN} (erc721 carries animations)")
        art = plan_art(config, collection)
        stream, arguments = contract_data(config, art, collection, master_provenance(collection))
        plan = plan_document(steps_for(arguments, stream))  # what `punkgen deploy` sends
        refuse_replanning(target / JOURNAL, plan["plan"])  # before the gas is measured: it takes seconds
        report = onchain_report(art) | {"gas": measure_gas(art, arguments, stream, gas_price)}
        files = onchain_files(art, [token.token_id for token in collection.tokens], report)
        files |= {"contract-data.bin": stream, "contract.json": _pretty(arguments), PLAN: _pretty(plan)}
        write_staged(folder, target, files)
    return OnchainSummary(target, report)


def onchain_files(art: OnchainArt, token_ids: list[int], report: dict) -> dict[str, bytes]:
    """Every file of ``export/onchain/``, by name."""
    offsets, position = [], 0
    for part in art.parts:
        offsets.append({"folder": part.folder, "name": part.name, "offset": position, "length": len(part.data)})
        position += len(part.data)
    document = image_data(art.palette, art.parts, [])
    return {
        "image-data.json": image_data_json(document).encode(),
        "palette.bin": bytes(3) + b"".join(bytes.fromhex(color) for color in art.palette[1:]),
        "images.bin": b"".join(part.data for part in art.parts),
        "images.json": _pretty({"traits": art.traits, "first_token_id": token_ids[0], "images": offsets}),
        "tokens.bin": token_records(art, token_ids),
        "report.json": _pretty(report),
    }


def _pretty(document: object) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
