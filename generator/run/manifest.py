"""``manifest.jsonl``: one line per render attempt, appended only after the attempt's files are in place.

It is both the reproducibility record (traits, prompt, seed, verdict, reasons, PNG sha256 of
every attempt) and the resume state: what is finished, what failed, which attempt comes next.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from generator.errors import UserError


class _Token(Protocol):
    token_id: int


Item = TypeVar("Item", bound=_Token)

ACCEPTED, REJECTED = "accepted", "rejected"
RECORD_KEYS = frozenset({"token_id", "attempt", "seed", "traits", "verdict", "reasons", "sha256"})


@dataclass
class History:
    """What the manifest says so far, kept current as lines are appended."""

    records: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[int, dict[str, Any]] = field(default_factory=dict)  # token id → its accepted record
    rejections: Counter[int] = field(default_factory=Counter)  # token id → rejected attempts
    digests: dict[str, int] = field(default_factory=dict)  # sha256 of an accepted PNG → token id
    verdicts: dict[tuple[int, int], str] = field(default_factory=dict)  # (token id, attempt) → verdict

    def add(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        self.verdicts[record["token_id"], record["attempt"]] = record["verdict"]
        if record["verdict"] == ACCEPTED:
            self.accepted[record["token_id"]] = record
            self.digests[record["sha256"]] = record["token_id"]
        else:
            self.rejections[record["token_id"]] += 1

    def next_attempt(self, token_id: int, max_attempts: int) -> int | None:
        """The attempt to render next, or None when the token is accepted or out of attempts."""
        if token_id in self.accepted or self.rejections[token_id] >= max_attempts:
            return None
        return self.rejections[token_id]

    def round_members(self, plan: Sequence[Item], attempt: int) -> list[Item]:
        """The tokens that round ``attempt`` renders (before cutting into blocks): the whole plan at first, then those
        rejected at the attempt before, in plan order; both follow from the manifest alone."""
        if attempt == 0:
            return list(plan)
        return [token for token in plan if self.verdicts.get((token.token_id, attempt - 1)) == REJECTED]

    def reason_counts(self) -> Counter[str]:
        """Rejections by reason code (``grid_fidelity``, ``duplicate`` …), over every attempt so far."""
        return Counter(reason.split(":")[0] for record in self.records for reason in record["reasons"])


def read_history(path: Path, *more: Path, repair: bool = True) -> History:
    """Every complete line of ``path`` (then of ``more``: shards not merged yet, skipping what is already in)."""
    history = History()
    for source in (path, *more):
        for record in read_records(source, repair):
            if (record["token_id"], record["attempt"]) not in history.verdicts:
                history.add(record)
    return history


def read_records(path: Path, repair: bool = True) -> list[dict[str, Any]]:
    """Every complete line; a torn last line (a run killed mid-write) is ignored, and cut off if ``repair``, so
    appends stay clean (readers that only look, such as ``verify``, leave the file as it is)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if repair and len(complete) != len(data):
        with path.open("r+b") as stream:
            stream.truncate(len(complete))
    return [_parse(path, number, line) for number, line in enumerate(complete.split(b"\n")[:-1], start=1)]


def _parse(path: Path, number: int, line: bytes) -> dict[str, Any]:
    fix = "restore the file from a backup, or start the collection again with --force"
    try:
        record = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{path} line {number} is not UTF-8 text; {fix}") from None
    except json.JSONDecodeError:
        raise UserError(f"{path} line {number} is not a manifest record (not JSON); {fix}") from None
    problem = record_problem(record)
    if problem:
        raise UserError(f"{path} line {number} is not a manifest record ({problem}); {fix}")
    return record


def record_problem(record: Any) -> str | None:
    """How a line read back breaks the manifest's vocabulary (a hand edit, a bad merge), or None."""
    if not isinstance(record, dict) or not record.keys() >= RECORD_KEYS:
        return f"a JSON object with {', '.join(sorted(RECORD_KEYS))}"
    for key in ("token_id", "attempt"):
        if not isinstance(record[key], int) or isinstance(record[key], bool):
            return f"{key} {record[key]!r} is not a whole number"
    if record["verdict"] not in (ACCEPTED, REJECTED):
        return f"verdict {record['verdict']!r} is neither {ACCEPTED} nor {REJECTED}"
    traits = record["traits"]
    if not isinstance(traits, dict) or not all(isinstance(value, str) for value in traits.values()):
        return "traits is not an object of trait → value strings"
    if not isinstance(record["sha256"], str):
        return "sha256 is not a string"
    return None


def encode_record(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def rejects_csv(history: History) -> bytes:
    """``rejects.csv``: token_id, attempt, reasons: the rejected attempts, for a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["token_id", "attempt", "reasons"])
    for record in history.records:
        if record["verdict"] == REJECTED:
            writer.writerow([record["token_id"], record["attempt"], "; ".join(record["reasons"])])
    return buffer.getvalue().encode()
