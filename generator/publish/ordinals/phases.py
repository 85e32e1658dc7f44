"""``punkgen export FOLDER --ordinals``: the three phases, which one runs, and the staged, all-or-nothing writes.

Without ``--inscribed`` the layers phase runs. With the JSON ``ord wallet batch`` printed, the file says
which batch it answers: one inscribed under no parent answers the layers' batch (phase 2 writes the
tokens), one under the provenance parent answers the tokens' batch (phase 3 writes the registry). Each
phase re-derives everything from the collection and checks the batch files already in the folder are
byte for byte what it would write: what was inscribed is what the ids are matched to. All checks run
before ``export/ordinals/`` is rebuilt in a staging folder and swapped in whole (with the ``ord`` outputs
it was given recorded under ``inscribed/``), so a refusal writes nothing and every phase can be re-run.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from generator.config import Config
from generator.curate.finished import CollectionFolder, load_collection, require_collection_folder
from generator.errors import Arg, UserError
from generator.files import read_limited
from generator.publish.export import check_against_manifest, refuse_animation
from generator.publish.ordinals.batch import ORD_COMMAND, ORD_VERSION, Entry, batch_document, batch_yaml, output_name
from generator.publish.ordinals.cost import DEFAULT_FEE_RATE, Inscription, split_batches
from generator.publish.ordinals.entries import layer_entries, placeholder_ids, plan_collection, token_entries
from generator.publish.ordinals.inscribed import Output, match_outputs, read_output
from generator.publish.ordinals.registry import inscriptions_json, meta_json
from generator.publish.ordinals.report import Costs, cost_report
from generator.publish.staging import creators_files, fresh_staging, swap_into_place, writing
from generator.run.folder import EXPORT
from generator.run.lock import folder_lock

ORDINALS = "ordinals"  # under export/
LAYERS, TOKENS = "layers", "tokens"


@dataclass(frozen=True)
class OrdinalsSummary:
    folder: Path  # export/ordinals
    phase: int
    batches: list[str]  # the batch files to inscribe next (none after phase 3)
    costs: Costs
    provenance: str


def check_ordinals_options(ordinals: bool, only_with: dict[str, bool], never_with: dict[str, bool]) -> None:
    """Refuse an option that means something only with, or nothing with, ``--ordinals`` (option → whether given)."""
    for option, given in only_with.items():
        if given and not ordinals:
            raise UserError(f"{option} applies only with {Arg.ORDINALS}: add it, or leave {option} out")
    for option, given in never_with.items():
        if given and ordinals:
            raise UserError(
                f"{option} does not apply with {Arg.ORDINALS}: inscriptions are the files themselves, on chain, with no "
                "base URI or format; leave it out"
            )


def export_ordinals(
    folder: Path,
    config: Config,
    inscribed: Sequence[Path] = (),
    fee_rate: float = DEFAULT_FEE_RATE,
    starting_index: int | None = None,
) -> OrdinalsSummary:
    """Write the phase that ``inscribed`` (``ord wallet batch`` outputs, one per batch file, in order) calls for."""
    if not fee_rate > 0:
        raise UserError(f"{Arg.FEE_RATE} {fee_rate}: a fee rate is sats per virtual byte, above 0 (10 is a calm mempool)")
    require_collection_folder(folder)
    target = folder / EXPORT / ORDINALS
    with folder_lock(folder, "the export"):
        outputs = [read_output(path) for path in inscribed]
        collection = load_collection(folder, config)
        check_against_manifest(folder, config)  # inscribe only what the manifest vouches for, as every export
        refuse_animation(collection, f"export {Arg.ORDINALS}", f"export it without {Arg.ORDINALS} (erc721 carries animations)")
        plan = plan_collection(folder, config, collection, starting_index)
        phase = 1 if not outputs else 2 if not outputs[0].parents else 3
        layers = _batches(LAYERS, layer_entries(plan), plan.layer_batches, (), plan.name)
        files = {**{entry.file: entry.body for entry in layers.entries}, **layers.files}
        layer_ids = placeholder_ids(plan.layer_batches)  # as long as the real ones: phase 1 knows every token's bytes
        if phase > 1:
            _check_unchanged(target, layers.files, "the layers")
            answers = outputs if phase == 2 else _recorded(target, LAYERS)
            layer_ids = match_outputs(answers, layers.names, layers.counts, ())
            files |= _records(LAYERS, answers)
        entries = token_entries(plan, layer_ids, config.pixels.size)
        tokens = _batches(
            TOKENS, entries, split_batches([e.inscription() for e in entries], parents=1), [layer_ids[0]], plan.name
        )
        if phase > 1:
            files |= {entry.file: entry.body for entry in tokens.entries} | tokens.files
        if phase == 3:
            _check_unchanged(target, tokens.files, "the tokens")
            token_ids = match_outputs(outputs, tokens.names, tokens.counts, [layer_ids[0]])
            files |= _records(TOKENS, outputs) | _registry(config, plan.collection, token_ids)
        costs = cost_report(plan, tokens.inscriptions, fee_rate, config.pixels.size)
        files["report.json"] = _pretty(costs.document)
        write_staged(folder, target, files)
    next_batches = {1: layers.names, 2: tokens.names, 3: []}[phase]
    return OrdinalsSummary(target, phase, next_batches, costs, plan.provenance)


@dataclass(frozen=True)
class _Batches:
    """One kind's batch files: their names, what each inscribes, and their YAML."""

    names: list[str]
    entries: list[Entry]
    inscriptions: list[list[Inscription]]
    files: dict[str, bytes]

    @property
    def counts(self) -> list[int]:
        return [len(batch) for batch in self.inscriptions]


def _batches(
    kind: str, entries: list[Entry], inscriptions: list[list[Inscription]], parents: Sequence[str], collection: str
) -> _Batches:
    """``entries`` in the batches ``inscriptions`` splits them into: ``<kind>.batch.yaml``, or ``<kind>-<n>.batch.yaml``
    when one reveal cannot hold them all; each file says how to inscribe it."""
    count = len(inscriptions)
    names = [f"{kind}.batch.yaml"] if count == 1 else [f"{kind}-{n}.batch.yaml" for n in range(1, count + 1)]
    files, start = {}, 0
    for number, (name, batch) in enumerate(zip(names, inscriptions, strict=True), start=1):
        document = batch_document(entries[start : start + len(batch)], parents)
        comment = (
            f"{collection}: batch {number} of {count}, {len(batch)} inscriptions (ord {ORD_VERSION}). From this folder:\n"
            + ORD_COMMAND.format(batch=name, output=output_name(name))
        )
        files[name] = batch_yaml(document, comment)
        start += len(batch)
    return _Batches(names, entries, inscriptions, files)


def _check_unchanged(target: Path, files: dict[str, bytes], what: str) -> None:
    """The batch files in the folder must be the ones this collection gives: the ids answer them. Each is read only
    when its size matches and through the bounded reader, so a pipe, a folder or a 2 GB file put in its place is one
    line, never a hang or a 2 GB read."""
    for name, data in files.items():
        path = target / name
        again = f"export with {Arg.ORDINALS} (and the earlier phases' {Arg.INSCRIBED} files) first"
        if not os.path.lexists(path):
            raise UserError(
                f"{path} is missing: {Arg.INSCRIBED} answers the batch files an earlier {Arg.ORDINALS} export wrote for "
                f"{what}; {again}"
            )
        if (path.is_file() and path.stat().st_size != len(data)) or read_limited(path, len(data), again) != data:
            raise UserError(
                f"{path} is not what this collection gives now: the collection or its config changed since {what} "
                f"were exported; inscribe what {path.parent} holds from the collection that made it"
            )


def _recorded(target: Path, kind: str) -> list[Output]:
    """The layers' outputs an earlier phase 2 recorded: phase 3 needs their ids for the tokens' batch."""
    paths = sorted((target / "inscribed").glob(f"{kind}*.json"), key=lambda path: (len(path.name), path.name))
    if not paths:
        raise UserError(f"{target} holds no inscribed layers: give {Arg.INSCRIBED} the layers' `ord wallet batch` output first")
    return [read_output(path) for path in paths]


def _records(kind: str, outputs: list[Output]) -> dict[str, bytes]:
    names = (
        [f"inscribed/{kind}.json"] if len(outputs) == 1 else [f"inscribed/{kind}-{n}.json" for n in range(1, len(outputs) + 1)]
    )
    return {name: output.path.read_bytes() for name, output in zip(names, outputs, strict=True)}


def _registry(config: Config, collection: CollectionFolder, ids: list[str]) -> dict[str, bytes]:
    entries = inscriptions_json(collection.tokens, ids)
    return {"inscriptions.json": _pretty(entries), "meta.json": _pretty(meta_json(config, ids[0]))}


def write_staged(folder: Path, target: Path, files: dict[str, bytes]) -> None:
    """``files`` (name → bytes) as ``target``, built in a staging folder and swapped in whole (also the on-chain export)."""
    theirs = creators_files(target)  # the creator's files there are carried, or refused where a phase writes
    with writing(target):
        staging = fresh_staging(folder)
        try:
            for name, data in files.items():
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                (staging / name).write_bytes(data)
            target.parent.mkdir(exist_ok=True)
            swap_into_place(staging, target, theirs)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _pretty(document: object) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
