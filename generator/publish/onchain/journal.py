"""``export/onchain/deployed.json``: the deploy's journal, the one record of what was signed, sent and mined.

A resumed deploy trusts it to send nothing twice, so it is read as strictly as it is written: a regular file (not a
link: a dangling one would read as "no journal" and deploy a second contract), writable by its owner alone (anyone
else could redirect the mints by editing ``mint_to``), of this plan, chain and account, and every record of the shape
:mod:`.deploy` writes, in the plan's order, all confirmed but the last. Anything else is one line naming what is
wrong (exit 2), never a traceback and never a deploy that starts over.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from generator.errors import Arg, UserError
from generator.files import TEXT_LIMIT, read_limited, write_atomic
from generator.publish.onchain.plan import REEXPORT, Step
from generator.publish.onchain.rpc import ADDRESS
from generator.text import parse_json

JOURNAL = "deployed.json"
_HASH = re.compile(r"0x[0-9a-f]{64}")
_RAW = re.compile(r"0x(?:[0-9a-f]{2})+")
_MOVE_AWAY = "restore the file punkgen wrote, or move it away to deploy anew (a new contract)"


def read_journal(path: Path, digest: str, chain_id: int, account: str, mint_to: str | None) -> dict:
    """The deploy's journal: a new one, or the one on disk if it is this plan's, on this chain, by this account."""
    if not os.path.lexists(path):
        return {"plan": digest, "chain_id": chain_id, "account": account, "mint_to": mint_to, "address": None, "steps": []}
    if path.is_symlink():
        raise UserError(f"{path} is a symbolic link; the deploy keeps its journal as a plain file: put the file in its place")
    if stat.S_ISREG(path.stat().st_mode) and path.stat().st_mode & stat.S_IWOTH:
        raise UserError(f"{path} is writable by every user, who could redirect the deploy; chmod o-w it, then run again")
    try:
        journal = parse_json(read_limited(path, TEXT_LIMIT, REEXPORT))
    except ValueError:
        raise UserError(f"{path}: not JSON; {_MOVE_AWAY}") from None
    if problem := _shape_problem(journal):
        raise UserError(f"{path}: {problem}; {_MOVE_AWAY}")
    if journal["plan"] != digest:
        raise UserError(
            f"{path} records a deploy of another export (plan {journal['plan'][:12]}…); move it away (it names that "
            "contract) to deploy this export as a new one"
        )
    if journal["chain_id"] != chain_id:
        raise UserError(
            f"{path} records a deploy on chain {journal['chain_id']}, but {Arg.RPC} serves chain {chain_id}; give that "
            "chain's RPC"
        )
    if journal["account"] != account:
        raise UserError(
            f"{path} records a deploy by account {journal['account']}; set the key of that account (the contract's owner)"
        )
    minted = any(record["kind"] == "mint" for record in journal["steps"])
    if mint_to and journal.get("mint_to") not in (None, mint_to) and minted:
        raise UserError(f"{path}: the tokens are being minted to {journal['mint_to']}; give {Arg.MINT_TO} {journal['mint_to']}")
    journal["mint_to"] = mint_to or journal.get("mint_to")
    return journal


def refuse_replanning(path: Path, digest: str) -> None:
    """Refuse an export whose plan (``digest``) is not the one the journal at ``path`` deploys: the export replaces
    the files that deploy sends, so a contract left half-deployed could never be finished, and a finished one's
    record would name data it does not hold. The journal's own shape is :func:`read_journal`'s business."""
    if not os.path.lexists(path):
        return
    try:
        journal = parse_json(read_limited(path, TEXT_LIMIT, REEXPORT))
        recorded, address = journal["plan"], journal.get("address")
    except (ValueError, KeyError, TypeError, UserError):
        recorded, address = None, None
    if recorded == digest:
        return
    contract = f"contract {address}" if isinstance(address, str) else "its contract not yet deployed"
    raise UserError(
        f"{path} records a deploy of this folder's earlier on-chain export ({contract}), and this export's plan differs, "
        f"so that deploy could no longer be finished or checked: finish it first (punkgen deploy), or move {path.name} "
        "out of the folder to keep it and export anew; nothing was exported"
    )


def check_records(path: Path, journal: dict, steps: list[Step]) -> None:
    """Refuse records that are not the plan's ``steps`` in order (a step confirmed only after every one before it)."""
    records = journal["steps"]
    problem = None
    if len(records) > len(steps):
        problem = f"{len(records)} transactions recorded for a plan of {len(steps)}"
    elif kinds := [i for i, (record, step) in enumerate(zip(records, steps, strict=False)) if record["kind"] != step.kind]:
        problem = f"step {kinds[0]} is recorded as {records[kinds[0]]['kind']}, but the plan's is {steps[kinds[0]].kind}"
    elif any(record["status"] != "confirmed" for record in records[:-1]):
        problem = "a step before the last is not confirmed"
    elif (journal["address"] is None) == (bool(records) and records[0]["status"] == "confirmed"):
        problem = "the token contract's address does not agree with its deployment's record"
    if problem:
        raise UserError(f"{path}: {problem}; {_MOVE_AWAY}")


def write_journal(path: Path, journal: dict) -> None:
    """Replace the journal atomically, then flush it and its folder to disk before anything is sent: a deploy
    spends money, so its record must outlive a power cut, not only a killed process (a few fsyncs a transaction
    against seconds of block time). Never writable by others, as :func:`read_journal` requires."""
    write_atomic(path, (json.dumps(journal, indent=2) + "\n").encode())
    os.chmod(path, stat.S_IMODE(path.stat().st_mode) & ~stat.S_IWOTH)  # whatever the umask: read_journal refuses o+w
    for synced in (path, path.parent):
        descriptor = os.open(synced, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _shape_problem(journal: Any) -> str | None:
    """What keeps ``journal`` from being one punkgen wrote, or None."""
    if not isinstance(journal, dict):
        return "not a JSON object"
    expected = {"plan": (str, "a string"), "chain_id": (int, "an integer"), "account": (str, "a string")}
    for key, (kind, named) in (expected | {"steps": (list, "a list")}).items():
        if not isinstance(journal.get(key), kind) or isinstance(journal.get(key), bool):
            return f"its {key!r} is missing or not {named}"
    for key in ("address", "mint_to"):
        if journal.get(key) is not None and not (isinstance(journal[key], str) and ADDRESS.fullmatch(journal[key])):
            return f"its {key!r} is not an address"
    for index, record in enumerate(journal["steps"]):
        if problem := _record_problem(record):
            return f"step {index} {problem}"
    return None


def _record_problem(record: Any) -> str | None:
    """What keeps one step's ``record`` from being one :mod:`.deploy` wrote, or None."""
    if not isinstance(record, dict):
        return "is not a JSON object"
    if not (isinstance(record.get("kind"), str) and isinstance(record.get("hash"), str) and _HASH.fullmatch(record["hash"])):
        return "has no kind or transaction hash"
    if not all(type(record.get(key)) is int and record[key] >= 0 for key in ("nonce", "gas_price")):
        return "has no nonce or gas price"
    if not all(isinstance(hash_, str) and _HASH.fullmatch(hash_) for hash_ in record.get("replaced", [])):
        return "replaced what is not a transaction hash"
    if record.get("status") == "sent":
        return None if isinstance(record.get("raw"), str) and _RAW.fullmatch(record["raw"]) else "is sent with no signed bytes"
    return None if record.get("status") in ("confirmed", "reverted") else "has no status sent, confirmed or reverted"
