"""``punkgen export``: the folder a creator uploads and mints from, built from a finished collection without touching it.

Everything is checked before the first write (base URI, see :mod:`generator.publish.uri`; the collection
folder, see :mod:`generator.curate.finished`; royalties, Metaplex name lengths; that ``export/`` and
``index.html`` can be replaced), then ``DIR/export/`` is built in a hidden staging folder and
swapped in whole, so a refused or interrupted export leaves the previous one as it was, and
re-running with another base URI rewrites every file consistently. The masters are decoded once,
while staging: a damaged one stops the export there, before anything visible changed. A write the
system refuses (a read-only disk, a full one) is one line naming the path, like any user mistake.
The 24×24 masters in ``images/`` and the drafts in ``metadata/`` are only ever read.

Layouts (``--format``):

- ``erc721``: ``images/<id>.png`` (NEAREST upscales), ``images/collection.png`` (the contact
  sheet), ``metadata/<id>`` (``tokenURI = baseURI + tokenId``, so no extension unless asked),
  ``collection.json`` (ERC-7572 / OpenSea ``contractURI``);
- ``metaplex``: Candy Machine's ``assets/0.png``, ``assets/0.json`` … in token order plus
  ``assets/collection.png`` / ``collection.json``, and ``mapping.csv`` from file number to token id.
  ``image`` and ``properties.files[0].uri`` are the same URI on purpose: ``sugar upload`` replaces
  both with its upload link (it rewrites a file URI equal to ``image``), so the base URI only
  matters to creators who host the files themselves.

Both add ``provenance.txt`` (the BAYC method over the published images) and ``rarity.csv``
(OpenRarity ranks, see :mod:`generator.publish.rarity`); ``DIR/index.html`` is the gallery.

Options that change the flow, each in its own module:

- ``car`` (:mod:`generator.publish.ipfs`): images are written first and packed into ``images.car``;
  the metadata is then written here, linked to that CID, with ``collection.json`` inside
  ``metadata/``, and packed into ``metadata.car``;
- ``placeholder`` (:mod:`generator.publish.hidden`): ``hidden/`` and, for Metaplex, ``hiddenSettings.json``;
- ``starting_index`` (:mod:`generator.publish.reveal`): tokens publish the item the reveal gives
  them; the provenance hash stays over the generated order (:mod:`generator.publish.provenance`).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from generator.config import Config, MetadataSettings
from generator.curate.finished import RESTORE, CollectionFolder, as_made, load_collection, read_master, require_collection_folder
from generator.curate.verify import token_problems
from generator.errors import UserError
from generator.files import write_atomic
from generator.images import encode_png
from generator.plan.metadata import encode
from generator.plan.traits import load_traits
from generator.publish.car import Packed
from generator.publish.documents import FORMATS, contract_metadata, metaplex_metadata
from generator.publish.gallery import Curation, gallery_html
from generator.publish.hidden import HIDDEN, HIDDEN_SETTINGS, Placeholder, hidden_document, hidden_settings, write_hidden
from generator.publish.ipfs import (
    CONTRACT_DOCUMENT,
    IMAGES,
    METADATA,
    ContractValues,
    check_car_options,
    contract_values,
    hidden_uri,
    images_base,
    pack,
)
from generator.publish.provenance import committed_digests, provenance_hash, provenance_text
from generator.publish.rarity import rank_tokens, rarity_csv
from generator.publish.reveal import check_starting_index, revealed
from generator.publish.staging import check_replaceable, fresh_staging, swap_into_place, writing
from generator.publish.uri import PLACEHOLDER, check_base_uri
from generator.run.folder import EXPORT, GALLERY, MANIFEST, SHEET
from generator.run.lock import folder_lock
from generator.run.manifest import History, read_history
from generator.schemas import validate
from generator.workers import executor_for

METAPLEX_NAME_BYTES, METAPLEX_SYMBOL_BYTES = 32, 10  # Token Metadata program limits
DEFAULT_BASE_URI = MetadataSettings.base_uri  # ipfs://REPLACE_WITH_CID/: what --car links are checked with first
CHUNK = 250  # tokens per worker task: ~0.2 s of work, small enough to keep two cores evenly busy


@dataclass(frozen=True)
class ExportSummary:
    folder: Path  # DIR/export
    gallery: Path  # DIR/index.html
    format: str
    tokens: int
    scale: int
    pixels: int  # side of a published image
    provenance: str
    base_uri: str  # where the images are linked: the flag, the config, or ipfs://<images CID>/ with --car
    notice: str  # one line when something needs the user's attention (a placeholder URI)
    seconds: float
    contract: tuple[str, ...] = ()  # CIDs and the values to copy into the contract (--car, --placeholder)
    starting_index: int | None = None


def export_collection(
    folder: Path,
    config: Config,
    base_uri: str | None = None,
    json_extension: bool = False,
    fmt: str = "erc721",
    car: bool = False,
    placeholder: Path | None = None,
    starting_index: int | None = None,
) -> ExportSummary:
    """Write ``folder/export/`` and ``folder/index.html``; ``base_uri`` (a flag) beats ``[metadata].base_uri``.

    ``car``: pack images/ and metadata/ (and hidden/) into CAR files and link by their CIDs (see
    :mod:`generator.publish.ipfs`); ``placeholder``: the pre-reveal image (:mod:`generator.publish.hidden`);
    ``starting_index``: publish the revealed mapping (:mod:`generator.publish.reveal`).
    """
    started = time.perf_counter()
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    check_car_options(car, base_uri, fmt)
    uri = DEFAULT_BASE_URI if car else _base_uri(base_uri, config)  # with --car, the CIDs decide every link
    hidden = Placeholder(placeholder) if placeholder is not None else None
    require_collection_folder(folder)
    with folder_lock(folder, "the export") as lock:  # a collection run or another export would race this one
        generated = load_collection(folder, config)
        history = _check_against_manifest(folder, config)
        reveal = None
        if starting_index is not None:
            reveal = check_starting_index(starting_index, len(generated.tokens), config.collection.first_token_id)
        collection = revealed(generated, reveal, config) if reveal else generated
        documents = _documents(config, collection, uri, fmt)  # checked now; with --car rebuilt on the images' CID
        hidden_doc = hidden_document(config, hidden, fmt) if hidden else None
        ranks = rank_tokens(collection.attributes)
        side = _master_side(collection)
        check_replaceable(folder)
        with writing(folder / EXPORT):
            staging = fresh_staging(folder)
            try:
                jobs = _jobs(staging, collection, config, uri, fmt, json_extension)
                digests = _publish_all(jobs, config.export.scale, side, lock, with_metadata=not car)
                shutil.copyfile(folder / SHEET, jobs[0].image.parent / "collection.png")
                if car:
                    images, metadata = _pack_linked(staging, jobs, config)
                    uri = images_base(images)
                else:
                    images = metadata = None
                    for name, document in documents.items():
                        (staging / name).write_bytes(_pretty(document))
                if fmt == "metaplex":
                    mapping = [f"{n},{t.token_id},{t.document['name']}" for n, t in enumerate(collection.tokens)]
                    (staging / "mapping.csv").write_text("\n".join(["file,token_id,name", *mapping]) + "\n", encoding="utf-8")
                files = [job.image.relative_to(staging).as_posix() for job in jobs]
                committed = provenance_hash(committed_digests(digests, reveal))
                contract = _hidden(staging, config, hidden, hidden_doc, fmt, car, committed, images, metadata)
                provenance = provenance_text(config, collection, files, digests, fmt, side, reveal)
                (staging / "provenance.txt").write_text(provenance, encoding="utf-8")
                (staging / "rarity.csv").write_bytes(rarity_csv(ranks, collection.attributes))
                swap_into_place(staging, folder / EXPORT)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        c = config.collection
        items = {t: reveal.item(t) for t in collection.attributes} if reveal else None
        with writing(folder / GALLERY):
            curation = _curation(folder, config, history)
            page = gallery_html(c.name, c.description, collection.attributes, ranks, items, curation)
            write_atomic(folder / GALLERY, page.encode())
    published = folder / EXPORT / files[0].split("/")[0]
    notice = (
        f"the base URI is still the placeholder {uri}: upload {published}/, then export again with --base-uri ipfs://<its CID>/ "
        "(or export with --car to know every CID now)"
    )
    return ExportSummary(
        folder=folder / EXPORT,
        gallery=folder / GALLERY,
        format=fmt,
        tokens=len(collection.tokens),
        scale=config.export.scale,
        pixels=side * config.export.scale,
        provenance=committed,
        base_uri=uri,
        notice=notice if PLACEHOLDER in uri and fmt == "erc721" else "",  # Sugar rewrites Metaplex URIs on upload
        seconds=time.perf_counter() - started,
        contract=tuple(contract.lines()),
        starting_index=starting_index,
    )


def _documents(config: Config, collection: CollectionFolder, uri: str, fmt: str) -> dict[str, dict[str, Any]]:
    if fmt == "metaplex":
        return _metaplex_documents(config, collection, uri)
    return {"collection.json": contract_metadata(config, uri)}


def _pack_linked(staging: Path, jobs: Sequence[Job], config: Config) -> tuple[Packed, Packed]:
    """``--car``: images packed first, their CID linked into every token and ``metadata/collection.json``, then
    ``metadata/`` packed (see :mod:`generator.publish.ipfs`)."""
    images = pack(staging, IMAGES)
    uri = images_base(images)
    _write_linked_metadata(jobs, uri)
    (staging / METADATA / CONTRACT_DOCUMENT).write_bytes(_pretty(contract_metadata(config, uri)))
    return images, pack(staging, METADATA)


def _hidden(
    staging: Path,
    config: Config,
    placeholder: Placeholder | None,
    document: dict[str, Any] | None,
    fmt: str,
    car: bool,
    provenance: str,
    images: Packed | None,
    metadata: Packed | None,
) -> ContractValues:
    """``hidden/`` (and ``hidden.car``, Metaplex's ``hiddenSettings.json``) when there is a placeholder; the contract
    values either way."""
    if placeholder is None or document is None:
        return contract_values(images, metadata, "", "")
    folder = write_hidden(staging, document, placeholder, _pretty(document))
    packed = pack(staging, HIDDEN) if car else None
    uri = hidden_uri(folder, packed)
    if fmt == "metaplex":  # Candy Machine's hiddenSettings, beside assets/
        (staging / HIDDEN_SETTINGS).write_bytes(_pretty(hidden_settings(config, uri, provenance)))
    return contract_values(images, metadata, uri, uri.split("/")[2])


# ── checks: all of them run before anything is written ─────────────────────────────────────────


def _check_against_manifest(folder: Path, config: Config) -> History:
    """Publish only what the manifest vouches for: an image swapped or edited by hand would otherwise be minted."""
    history = read_history(folder / MANIFEST, repair=False)
    differences = list(token_problems(folder, config, load_traits(config), history))
    if differences:
        more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
        raise UserError(f"{differences[0]}{more}; `punkgen verify {folder}` lists them; nothing was exported")
    return history


def _curation(folder: Path, config: Config, history: History) -> Curation:
    """The gallery's curation help: each token's story, and how to reroll the ones a creator picks there."""
    made = as_made(config, folder).collection
    return Curation(history.notes(), (f"punkgen reroll {shlex.quote(str(folder))}", f"-n {made.size} --seed {made.seed}"))


def _base_uri(flag: str | None, config: Config) -> str:
    return check_base_uri(flag, "--base-uri") if flag is not None else _configured_uri(config)


def _configured_uri(config: Config) -> str:
    return check_base_uri(config.metadata.base_uri, f"{config.path}: [metadata].base_uri")


# ── documents ──────────────────────────────────────────────────────────────────────────────────


def _metaplex_documents(config: Config, collection: CollectionFolder, uri: str) -> dict[str, dict[str, Any]]:
    """Candy Machine's collection NFT; token names and the symbol are checked against the on-chain limits first."""
    c = config.collection
    longest = max((token.document["name"] for token in collection.tokens), key=lambda name: len(name.encode()))
    if len(longest.encode()) > METAPLEX_NAME_BYTES:
        raise UserError(
            f"{config.path}: [collection].name makes token names like {longest!r} ({len(longest.encode())} bytes); "
            f"Metaplex allows {METAPLEX_NAME_BYTES}: shorten the name"
        )
    if len(c.symbol.encode()) > METAPLEX_SYMBOL_BYTES:
        raise UserError(
            f"{config.path}: [collection].symbol {c.symbol!r} is over Metaplex's {METAPLEX_SYMBOL_BYTES} bytes; shorten it"
        )
    draft = {"name": c.name, "description": c.description, "attributes": []}
    if c.external_url:
        draft["external_url"] = c.external_url
    document = metaplex_metadata(config, draft, config.contract.image or f"{uri}collection.png")
    validate(document, "metaplex.schema.json")
    return {"assets/collection.json": document}


def _pretty(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


# ── images, token files and provenance ─────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Job:
    """One token's published files: a worker upscales the master, validates and writes the metadata."""

    master: Path
    image: Path
    metadata: Path
    document: dict[str, Any]
    schema: str | None  # None: an ERC-721 draft, already checked on load, with a checked base URI (~0.13 ms a token saved)


def _jobs(staging: Path, collection: CollectionFolder, config: Config, uri: str, fmt: str, json_extension: bool) -> list[Job]:
    tokens = collection.tokens
    if fmt == "metaplex":  # files 0…N-1 side by side, as Candy Machine reads them
        assets = staging / "assets"
        assets.mkdir()
        return [
            Job(
                t.master,
                assets / f"{n}.png",
                assets / f"{n}.json",
                metaplex_metadata(config, t.document, f"{uri}{n}.png"),
                "metaplex.schema.json",
            )
            for n, t in enumerate(tokens)
        ]
    images, metadata = staging / "images", staging / "metadata"
    images.mkdir()
    metadata.mkdir()
    suffix = ".json" if json_extension else ""
    return [
        Job(
            t.master,
            images / f"{t.token_id}.png",
            metadata / f"{t.token_id}{suffix}",
            {**t.document, "image": f"{uri}{t.token_id}.png"},
            None,
        )
        for t in tokens
    ]


def upscale(image: Image.Image, scale: int) -> Image.Image:
    """Exact integer NEAREST upscale; stored as an exact palette image when it has ≤ 256 colours.

    Every source pixel becomes a ``scale``×``scale`` block of the same colour, so marketplaces
    that shrink the image again never blur a 24 px punk. The palette form is lossless (the
    palette is the image's own colours) and encodes 3× faster than RGB: 0.5 ms against 2.5 ms
    per 480 px token on the 2-core development machine, at about the same file size (2.3 KB).
    """
    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB"
    pixels = np.asarray(image.convert(mode))
    flat = pixels.reshape(-1, len(mode))
    packed = np.zeros(len(flat), dtype=np.uint32)
    for channel in flat.T:  # one integer per colour: np.unique on rows (axis=0) was 10× slower
        packed = (packed << 8) | channel
    _, first, index = np.unique(packed, return_index=True, return_inverse=True)
    if len(first) > 256:
        return Image.fromarray(pixels.repeat(scale, 0).repeat(scale, 1), mode)
    result = Image.fromarray(index.reshape(pixels.shape[:2]).astype(np.uint8).repeat(scale, 0).repeat(scale, 1), "P")
    result.putpalette(flat[first].tobytes(), rawmode=mode)
    return result


def publish(jobs: Sequence[Job], scale: int, side: int | None = None, with_metadata: bool = True) -> list[str]:
    """Write each job's image and (unless ``with_metadata`` is False: ``--car`` links them later) its metadata; returns
    each image's SHA-256 (a worker task: plain data in and out).

    A master that does not decode, or is not ``side``×``side``, is a :class:`UserError` naming it.
    """
    digests = []
    for job in jobs:
        data = encode_png(upscale(read_master(job.master, side), scale))
        job.image.write_bytes(data)
        if with_metadata:
            _write_metadata(job, job.document)
        digests.append(hashlib.sha256(data).hexdigest())
    return digests


def _write_metadata(job: Job, document: dict[str, Any]) -> None:
    if job.schema:
        validate(document, job.schema)
    job.metadata.write_bytes(encode(document))


def _write_linked_metadata(jobs: Sequence[Job], images_uri: str) -> None:
    """ERC-721 documents linked to the images' folder once its CID is known (~30 µs a token, in this process)."""
    for job in jobs:
        _write_metadata(job, {**job.document, "image": f"{images_uri}{job.image.name}"})


def _publish_all(jobs: list[Job], scale: int, side: int, lock: int, with_metadata: bool = True) -> list[str]:
    """In worker processes for large collections (see :mod:`generator.workers`, which keep ``lock`` held); digests come
    back in token order."""
    executor = executor_for(len(jobs), hold=lock)
    try:
        futures = [
            executor.submit(publish, jobs[start : start + CHUNK], scale, side, with_metadata)
            for start in range(0, len(jobs), CHUNK)
        ]
        return [digest for future in futures for digest in future.result()]
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _master_side(collection: CollectionFolder) -> int:
    """The first master's side: every other one must match it (checked as each is published)."""
    first = read_master(collection.tokens[0].master)
    if first.width != first.height:
        raise UserError(f"{collection.tokens[0].master} is {first.width}×{first.height}, not square; {RESTORE}")
    return first.width
