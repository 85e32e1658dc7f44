"""``export --car``: the minting folder with its IPFS addresses known before anything is uploaded.

Without it, a creator exports, uploads ``images/`` with another tool, copies its CID, exports
again with ``--base-uri``, uploads ``metadata/``, copies that CID into the contract: the round
trip where collections ship with broken image links. With it, one export computes every CID
locally (:mod:`generator.publish.car`, byte-equal to ``ipfs-car pack``), in order:

1. ``images/`` is packed into ``images.car``: its root CID is the images folder's;
2. every token's ``image`` becomes ``ipfs://<images CID>/<id>.png``; ``collection.json`` (its
   image ``ipfs://<images CID>/collection.png``) goes *inside* ``metadata/``, so one CID serves both;
3. ``metadata/`` is packed into ``metadata.car``: ``baseURI = ipfs://<metadata CID>/`` and
   ``contractURI = ipfs://<metadata CID>/collection.json``;
4. with ``--placeholder``, ``hidden/`` is packed into ``hidden.car``: the unrevealed URI is
   ``ipfs://<hidden CID>/hidden.json``.

Uploading a CAR to a pinning service, or the folder with ``ipfs-car``, serves the same CIDs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.errors import Arg, UserError
from generator.publish.car import Packed, folder_cid, pack_folder
from generator.publish.hidden import HIDDEN, HIDDEN_DOCUMENT

IMAGES, METADATA = "images", "metadata"
CONTRACT_DOCUMENT = "collection.json"


def check_car_options(car: bool, base_uri: str | None) -> None:
    """``--car`` decides every link itself: a base URI beside it is a mistake (a format it does not apply to refuses it
    itself: :attr:`generator.publish.formats.base.ExportFormat.refusals`)."""
    if not car:
        return
    if base_uri is not None and base_uri.startswith("ipfs://"):
        raise UserError(
            f"{Arg.CAR} with [metadata].base_uri = {base_uri!r}: {Arg.CAR} computes the images' CID itself and links every token to it; "
            f"drop [metadata].base_uri (keep it, without {Arg.CAR}, for https:// or ar:// hosting)"
        )
    if base_uri is not None:
        raise UserError(
            f"{Arg.CAR} with [metadata].base_uri = {base_uri!r}: the CAR files are for IPFS, the base URI for other hosting; choose one"
        )


def pack(staging: Path, name: str) -> Packed:
    """``staging/<name>/`` packed into ``staging/<name>.car``."""
    return pack_folder(staging / name, staging / f"{name}.car")


def images_base(images: Packed) -> str:
    return f"ipfs://{images.cid}/"


@dataclass(frozen=True)
class ContractValues:
    """What the creator copies into the contract (and prints)."""

    base_uri: str  # ERC-721 baseURI: tokenURI = baseURI + tokenId
    contract_uri: str
    hidden_uri: str  # "" without a placeholder
    cids: tuple[tuple[str, str], ...]  # (folder, CID) for the folders packed or addressed

    def lines(self) -> list[str]:
        lines = [f"{folder}/ CID: {cid}" for folder, cid in self.cids]
        if self.base_uri:
            lines += [f"baseURI = {self.base_uri}", f"contractURI = {self.contract_uri}"]
        if self.hidden_uri:
            lines.append(f"unrevealed URI (every token before the reveal) = {self.hidden_uri}")
        return lines


def hidden_uri(hidden: Path, packed: Packed | None) -> str:
    """``ipfs://<hidden/ CID>/hidden.json``: from its CAR when one was packed, computed otherwise."""
    return f"ipfs://{packed.cid if packed else folder_cid(hidden)}/{HIDDEN_DOCUMENT}"


def contract_values(images: Packed | None, metadata: Packed | None, hidden: str, hidden_cid: str) -> ContractValues:
    cids = [(name, packed.cid) for name, packed in ((IMAGES, images), (METADATA, metadata)) if packed]
    if hidden_cid:
        cids.append((HIDDEN, hidden_cid))
    base = f"ipfs://{metadata.cid}/" if metadata else ""
    return ContractValues(base, f"{base}{CONTRACT_DOCUMENT}" if base else "", hidden, tuple(cids))
