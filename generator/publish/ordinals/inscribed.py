"""What ``ord wallet batch`` printed: the ids the chain gave a batch, read as untrusted and matched to that batch.

ord 0.27.1 prints ``{"commit", "inscriptions": [{"destination", "id", "location"}], "parents", "reveal",
…}`` (``wallet::batch::Output``). A batch's inscriptions are the envelopes of one reveal transaction, so
their ids are ``<reveal txid>i0``, ``i1``, … in the batch file's order: an id of another form, another
transaction or another position means the file was edited, reordered or belongs to another batch, and
is refused in one line before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import Arg, UserError
from generator.text import parse_json, read_bytes

INSCRIPTION_ID = re.compile(r"[0-9a-f]{64}i[0-9]+")  # the registry's rule, and ord's own form
TXID = re.compile(r"[0-9a-f]{64}")
FIX = "pass the JSON `ord wallet batch` printed for that batch file, unedited"


@dataclass(frozen=True)
class Output:
    path: Path
    ids: list[str]  # in the batch file's order
    parents: list[str]


def read_output(path: Path) -> Output:
    """One ``ord wallet batch`` output, its shape and every id checked."""
    try:
        document = parse_json(read_bytes(path, FIX))
    except ValueError:
        raise UserError(f"{Arg.INSCRIBED} {path} is not complete JSON (a truncated copy?); {FIX}") from None
    reveal = document.get("reveal") if isinstance(document, dict) else None
    inscriptions = document.get("inscriptions") if isinstance(document, dict) else None
    parents = document.get("parents", []) if isinstance(document, dict) else None
    if not (isinstance(reveal, str) and TXID.fullmatch(reveal) and isinstance(inscriptions, list) and inscriptions):
        raise UserError(f"{Arg.INSCRIBED} {path} is not what `ord wallet batch` prints (no 'reveal' and 'inscriptions'); {FIX}")
    if not isinstance(parents, list) or not all(isinstance(p, str) and INSCRIPTION_ID.fullmatch(p) for p in parents):
        raise UserError(f"{Arg.INSCRIBED} {path}: 'parents' is not a list of inscription ids; {FIX}")
    return Output(path, [_id(path, reveal, position, item) for position, item in enumerate(inscriptions)], parents)


def match_outputs(outputs: Sequence[Output], batches: Sequence[str], counts: Sequence[int], parents: Sequence[str]) -> list[str]:
    """Every id of ``outputs``, which must answer the batch files named in ``batches`` one by one (their
    inscription ``counts``, under ``parents``); else one line saying which file does not match which batch."""
    if len(outputs) != len(batches):
        raise UserError(
            f"{Arg.INSCRIBED} was given {len(outputs)} file(s) for {len(batches)} batch file(s) ({', '.join(batches)}); "
            f"pass {Arg.INSCRIBED} once per batch file, in that order"
        )
    for output, batch, count in zip(outputs, batches, counts, strict=True):
        if len(output.ids) != count:
            raise UserError(
                f"{Arg.INSCRIBED} {output.path} lists {len(output.ids)} inscriptions, {batch} has {count}: it answers "
                f"another batch; {FIX}"
            )
        if output.parents != list(parents):
            raise UserError(
                f"{Arg.INSCRIBED} {output.path} was inscribed under parents {output.parents or 'none'}, {batch} names "
                f"{list(parents) or 'none'}: it answers another batch; {FIX}"
            )
    return [inscription_id for output in outputs for inscription_id in output.ids]


def _id(path: Path, reveal: str, position: int, item: Any) -> str:
    value = item.get("id") if isinstance(item, dict) else None
    if not isinstance(value, str) or not INSCRIPTION_ID.fullmatch(value):
        raise UserError(
            f"{Arg.INSCRIBED} {path}: inscription {position + 1}'s id {value!r} is not <64 hex digits>i<number>; {FIX}"
        )
    if value != f"{reveal}i{position}":
        raise UserError(
            f"{Arg.INSCRIBED} {path}: inscription {position + 1} is {value}, not {reveal}i{position} (the batch file's "
            f"order in its reveal transaction): the file was edited or reordered; {FIX}"
        )
    return value
