"""``punkgen export``: the folder a creator uploads and mints from, built from a finished collection without touching it.

Everything is checked before the first write (base URI, see :mod:`generator.publish.uri`; the collection
folder, see :mod:`generator.curate.finished`; royalties, Metaplex name lengths; that ``export/`` and
``index.html`` can be replaced), then ``DIR/export/`` is built in a hidden staging folder and
swapped in whole, so a refused or interrupted export leaves the previous one as it was, and
re-running with another base URI rewrites every file consistently. The masters are decoded once,
while staging: a damaged one stops the export there, before anything visible changed. A write the
system refuses (a read-only disk, a full one) is one line naming the path, like any user mistake.
The 24×24 masters in ``images/`` and the drafts in ``metadata/`` are only ever read.

Where the token files go and what their documents hold is the format's (``--format``, one object per target:
:mod:`generator.publish.formats`, ``erc721`` by default); the flow here is the same for every one. Every format
gets the contact sheet as ``collection.png`` beside its token images, ``provenance.txt`` (the BAYC method over the
published images) and ``rarity.csv`` (OpenRarity ranks, then each marketplace method's, see
:mod:`generator.publish.rank_methods`); ``DIR/index.html`` is the gallery.

Options that change the flow, each in its own module:

- ``car`` (:mod:`generator.publish.ipfs`): images are written first and packed into ``images.car``;
  the metadata is then written here, linked to that CID, with the collection documents inside
  ``metadata/``, and packed into ``metadata.car``;
- ``placeholder`` (:mod:`generator.publish.hidden`): ``hidden/`` and the format's files that point at it;
- ``starting_index`` (:mod:`generator.publish.reveal`): tokens publish the item the reveal gives
  them; the provenance hash stays over the generated order (:mod:`generator.publish.provenance`).
"""

from __future__ import annotations

import json
import shlex
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.config import Config, MetadataSettings
from generator.curate.finished import CollectionFolder, load_collection, require_collection_folder
from generator.curate.verify import token_problems
from generator.errors import Arg, UserError, plural
from generator.files import write_atomic
from generator.plan.traits import load_traits
from generator.progress import Advance, unseen
from generator.publish.car import Packed
from generator.publish.formats import DEFAULT, export_format
from generator.publish.formats.base import Documents, ExportFormat
from generator.publish.gallery import Curation, gallery_html
from generator.publish.hidden import HIDDEN, Placeholder, write_hidden
from generator.publish.ipfs import (
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
from generator.publish.rank_methods import rarity_csv
from generator.publish.rarity import TokenRarity, rank_tokens
from generator.publish.reveal import Reveal, check_starting_index, revealed
from generator.publish.staging import check_replaceable, fresh_staging, swap_into_place, writing
from generator.publish.tokens import Job, master_side, publish_all, token_jobs, write_linked_metadata
from generator.publish.uri import PLACEHOLDER, check_base_uri
from generator.run.folder import EXPORT, GALLERY, MANIFEST, SHEET, within
from generator.run.lock import folder_lock
from generator.run.manifest import History, read_history

DEFAULT_BASE_URI = MetadataSettings.base_uri  # ipfs://REPLACE_WITH_CID/: what --car links are checked with first


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
    fmt: str = DEFAULT,
    car: bool = False,
    placeholder: Path | None = None,
    starting_index: int | None = None,
    progress: Advance = unseen,
) -> ExportSummary:
    """Write ``folder/export/`` and ``folder/index.html``; ``base_uri`` (a flag) beats ``[metadata].base_uri``.

    ``fmt``: a registered format's name (:mod:`generator.publish.formats`), which refuses the options that do not
    apply to it; ``car``: pack images/ and metadata/ (and hidden/) into CAR files and link by their CIDs (see
    :mod:`generator.publish.ipfs`); ``placeholder``: the pre-reveal image (:mod:`generator.publish.hidden`);
    ``starting_index``: publish the revealed mapping (:mod:`generator.publish.reveal`); ``progress``: tokens published.
    """
    started = time.perf_counter()
    target = export_format(fmt)
    check_car_options(car, base_uri)
    target.check_options(
        {
            Arg.CAR: car,
            Arg.PLACEHOLDER: placeholder is not None,
            Arg.STARTING_INDEX: starting_index is not None,
            Arg.JSON_EXTENSION: json_extension,
        }
    )
    uri = DEFAULT_BASE_URI if car else _base_uri(base_uri, config)  # with --car, the CIDs decide every link
    if placeholder is not None and within(placeholder, folder / EXPORT):
        raise UserError(
            f"{Arg.PLACEHOLDER} {placeholder} is inside {folder / EXPORT}, which each export rebuilds; "
            "keep the image outside it (e.g. beside collection.toml) and pass that path"
        )
    hidden = Placeholder(placeholder) if placeholder is not None else None
    require_collection_folder(folder)
    with folder_lock(folder, "the export") as lock:  # a collection run or another export would race this one
        work = _checked(folder, config, uri, target, starting_index, hidden)
        theirs = check_replaceable(folder)
        with writing(folder / EXPORT):
            staged = _stage(folder, config, work, lock, car, json_extension, theirs, progress)
        with writing(folder / GALLERY):
            animated = frozenset(
                int(token.animation.stem) for token in work.collection.animated if token.animation
            )  # masters' ids: the page shows an item's own GIF after a reveal
            page = gallery_html(*_gallery_inputs(config, work), _curation(folder, config, work.history), animated)
            write_atomic(folder / GALLERY, page.encode())
    published = folder / EXPORT / staged.files[0].split("/")[0]
    notice = (
        f"the base URI is still the placeholder {staged.uri}: upload {published}/, then export again with "
        f"[metadata].base_uri = ipfs://<its CID>/ (or export with {Arg.CAR} to know every CID now)"
    )
    return ExportSummary(
        folder=folder / EXPORT,
        gallery=folder / GALLERY,
        format=target.name,
        tokens=len(work.collection.tokens),
        scale=config.export.scale,
        pixels=work.side * config.export.scale,
        provenance=staged.committed,
        base_uri=staged.uri,
        notice=notice if PLACEHOLDER in staged.uri and target.links_minted else "",
        seconds=time.perf_counter() - started,
        contract=(*staged.contract.lines(), *target.contract_lines(json_extension)),
        starting_index=starting_index,
    )


@dataclass(frozen=True)
class _Work:
    """Everything an export publishes, read and checked before anything is written."""

    collection: CollectionFolder  # in the order it is published (revealed, with a starting index)
    history: History
    reveal: Reveal | None
    documents: Documents
    hidden: Placeholder | None
    hidden_document: dict[str, Any] | None
    ranks: list[TokenRarity]
    side: int  # of a master
    uri: str
    target: ExportFormat


@dataclass(frozen=True)
class _Staged:
    files: list[str]
    uri: str  # the images' base URI, as linked (with --car: ipfs://<images CID>/)
    committed: str  # the provenance hash
    contract: Any  # the values to copy into the contract


def _checked(
    folder: Path, config: Config, uri: str, target: ExportFormat, starting_index: int | None, hidden: Placeholder | None
) -> _Work:
    generated = load_collection(folder, config)
    history = check_against_manifest(folder, config)
    if not target.animates:
        refuse_animation(generated, f"{Arg.FORMAT} {target.name}", f"export with {Arg.FORMAT} erc721")
    reveal = None
    if starting_index is not None:
        reveal = check_starting_index(starting_index, len(generated.tokens), config.collection.first_token_id)
    collection = revealed(generated, reveal, config) if reveal else generated
    documents = target.collection_documents(config, collection, uri)  # checked now; with --car rebuilt on the images' CID
    hidden_doc = target.hidden_document(config, hidden) if hidden else None
    ranks = rank_tokens(collection.attributes)
    return _Work(collection, history, reveal, documents, hidden, hidden_doc, ranks, master_side(collection), uri, target)


def _stage(
    folder: Path,
    config: Config,
    work: _Work,
    lock: int,
    car: bool,
    json_extension: bool,
    theirs: list[str],
    progress: Advance,
) -> _Staged:
    """Build the export in a staging folder and swap it in whole, with ``theirs`` (the creator's files in
    ``export/``) carried over: a refused or killed export leaves the last one."""
    staging = fresh_staging(folder)
    try:
        collection, uri, target = work.collection, work.uri, work.target
        jobs = token_jobs(staging, collection, config, uri, target, json_extension)
        digests = publish_all(jobs, config.export.scale, work.side, lock, with_metadata=not car, progress=progress)
        shutil.copyfile(folder / SHEET, jobs[0].image.parent / "collection.png")
        if car:
            images, metadata = _pack_linked(staging, jobs, config, work)
            uri = images_base(images)
        else:
            images = metadata = None
            _write_documents(staging, work.documents)
        for name, data in target.extra_files(collection).items():
            (staging / name).write_bytes(data)
        files = [job.image.relative_to(staging).as_posix() for job in jobs]
        committed = provenance_hash(committed_digests(digests, work.reveal))
        contract = _hidden(staging, config, work, car, committed, images, metadata)
        provenance = provenance_text(config, collection, files, digests, target.name, work.side, work.reveal)
        (staging / "provenance.txt").write_text(provenance, encoding="utf-8")
        (staging / "rarity.csv").write_bytes(rarity_csv(work.ranks, collection.attributes))
        swap_into_place(staging, folder / EXPORT, theirs)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _Staged(files, uri, committed, contract)


def _gallery_inputs(config: Config, work: _Work) -> tuple:
    c, attributes = config.collection, work.collection.attributes
    items = {t: work.reveal.item(t) for t in attributes} if work.reveal else None
    return c.name, c.description, attributes, work.ranks, items


def _write_documents(folder: Path, documents: Documents) -> None:
    for name, document in documents.items():
        (folder / name).write_bytes(_pretty(document))


def _pack_linked(staging: Path, jobs: Sequence[Job], config: Config, work: _Work) -> tuple[Packed, Packed]:
    """``--car``: images packed first, their CID linked into every token and the collection documents (written inside
    ``metadata/``), then ``metadata/`` packed (see :mod:`generator.publish.ipfs`)."""
    images = pack(staging, IMAGES)
    uri = images_base(images)
    tokens, target = work.collection.tokens, work.target
    linked = [target.token_document(config, t, f"{uri}{job.linked.name}") for t, job in zip(tokens, jobs, strict=True)]
    write_linked_metadata(jobs, linked)
    _write_documents(staging / METADATA, target.collection_documents(config, work.collection, uri))
    return images, pack(staging, METADATA)


def _hidden(
    staging: Path, config: Config, work: _Work, car: bool, provenance: str, images: Packed | None, metadata: Packed | None
) -> ContractValues:
    """``hidden/`` (and ``hidden.car``, and the format's files that point at it) when there is a placeholder; the
    contract values either way."""
    placeholder, document = work.hidden, work.hidden_document
    if placeholder is None or document is None:
        return contract_values(images, metadata, "", "")
    folder = write_hidden(staging, document, placeholder, _pretty(document))
    packed = pack(staging, HIDDEN) if car else None
    uri = hidden_uri(folder, packed)
    _write_documents(staging, work.target.hidden_extras(config, uri, provenance))
    return contract_values(images, metadata, uri, uri.split("/")[2])


# ── checks: all of them run before anything is written ─────────────────────────────────────────


def check_against_manifest(folder: Path, config: Config) -> History:
    """Publish only what the manifest vouches for: an image swapped or edited by hand would otherwise be minted."""
    history = read_history(folder / MANIFEST, repair=False)
    differences = list(token_problems(folder, config, load_traits(config), history))
    if differences:
        more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
        raise UserError(f"{differences[0]}{more}; `punkgen verify {folder}` lists them; nothing was exported")
    return history


def refuse_animation(collection: CollectionFolder, target: str, instead: str) -> None:
    """A target that publishes stills only refuses an animated collection in one line, rather than drop its frames."""
    if animated := collection.animated:
        raise UserError(
            f"{collection.folder}: {target} publishes still images only, and {plural(len(animated), 'token')} animate "
            f"({animated[0].animation} …); {instead}, or draw the strips as single frames"
        )


def _curation(folder: Path, config: Config, history: History) -> Curation:
    """The gallery's curation help: each token's story, and how to reroll the ones a creator picks there (reroll reads
    N and the seed from run.json; the config that made the folder is named, since it need not be the default one)."""
    return Curation(history.notes(), (f"punkgen reroll {shlex.quote(str(folder))}", f"--config {shlex.quote(str(config.path))}"))


def _base_uri(flag: str | None, config: Config) -> str:
    return check_base_uri(flag, "[metadata].base_uri") if flag is not None else _configured_uri(config)


def _configured_uri(config: Config) -> str:
    return check_base_uri(config.metadata.base_uri, f"{config.path}: [metadata].base_uri")


def _pretty(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
