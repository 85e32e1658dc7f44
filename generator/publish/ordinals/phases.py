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
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from generator.config import Config
from generator.curate.finished import CollectionFolder, load_collection, require_collection_folder
from generator.errors import Arg, UserError
from generator.publish.export import check_against_manifest
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
        plan = plan_collection(folder, config, collection, starting_index)
        layer_files = _batch_files(LAYERS, plan.layer_batches)
        files = {**plan.layer_files, **_yaml_files(layer_files, plan.layer_batches, layer_entries(plan), (), plan.name)}
        phase, layer_ids, token_ids = 1, placeholder_ids(plan.layer_batches), None
        if outputs:
            _check_unchanged(target, files, "the layers")
            layer_outputs = outputs if not outputs[0].parents else _recorded(target, LAYERS)
            layer_ids = match_outputs(layer_outputs, layer_files, [len(b) for b in plan.layer_batches], ())
            files |= _records(LAYERS, layer_outputs)
            phase = 2
        tokens = token_entries(plan, layer_ids, config.pixels.size)
        token_batches = split_batches([entry.inscription() for entry in tokens], parents=1)
        token_files = _batch_files(TOKENS, token_batches)
        if outputs:
            files |= {entry.file: entry.body for entry in tokens}
            files |= _yaml_files(token_files, token_batches, tokens, [layer_ids[0]], plan.name)
        if outputs and outputs[0].parents:
            _check_unchanged(target, files, "the tokens")
            token_ids = match_outputs(outputs, token_files, [len(b) for b in token_batches], [layer_ids[0]])
            files |= _records(TOKENS, outputs) | _registry(config, plan.collection, token_ids)
            phase = 3
        costs = cost_report(plan, token_batches, fee_rate, config.pixels.size)
        files["report.json"] = _pretty(costs.document)
        _write_all(folder, target, files)
    batches = {1: layer_files, 2: token_files, 3: []}[phase]
    return OrdinalsSummary(target, phase, batches, costs, plan.provenance)


def _batch_files(kind: str, batches: list[list[Inscription]]) -> list[str]:
    return [f"{kind}.batch.yaml"] if len(batches) == 1 else [f"{kind}-{n}.batch.yaml" for n in range(1, len(batches) + 1)]


def _yaml_files(
    names: list[str], batches: list[list[Inscription]], entries: list[Entry], parents: Sequence[str], collection: str
) -> dict[str, bytes]:
    """Each batch file: ord's YAML for its share of ``entries``, under ``parents``, saying how to inscribe it."""
    files, start = {}, 0
    for number, (name, batch) in enumerate(zip(names, batches, strict=True), start=1):
        document = batch_document(entries[start : start + len(batch)], parents)
        comment = (
            f"{collection}: batch {number} of {len(names)}, {len(batch)} inscriptions (ord {ORD_VERSION}). From this folder:\n"
            + ORD_COMMAND.format(batch=name, output=output_name(name))
        )
        files[name] = batch_yaml(document, comment)
        start += len(batch)
    return files


def _check_unchanged(target: Path, files: dict[str, bytes], what: str) -> None:
    """The batch files in the folder must be the ones this collection gives: the ids answer them."""
    for name, data in files.items():
        if not name.endswith(".batch.yaml"):
            continue
        path = target / name
        if not path.is_file():
            raise UserError(
                f"{path} is missing: {Arg.INSCRIBED} answers the batch files an earlier {Arg.ORDINALS} export wrote for "
                f"{what}; export with {Arg.ORDINALS} (and the earlier phases' {Arg.INSCRIBED} files) first"
            )
        if path.read_bytes() != data:
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


def _write_all(folder: Path, target: Path, files: dict[str, bytes]) -> None:
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
