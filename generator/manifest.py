"""``manifest.jsonl``: one line per render attempt, appended only after the attempt's files are in place.

It is both the reproducibility record (traits, prompt, seed, verdict, reasons, PNG sha256 of
every attempt) and the resume state: what is finished, what failed, which attempt comes next.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCEPTED, REJECTED = "accepted", "rejected"


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

    def reason_counts(self) -> Counter[str]:
        """Rejections by reason code (``grid_fidelity``, ``duplicate`` …), over every attempt so far."""
        return Counter(reason.split(":")[0] for record in self.records for reason in record["reasons"])


def read_history(path: Path, *more: Path) -> History:
    """Every complete line of ``path`` (then of ``more``: shards not merged yet, skipping what is already in)."""
    history = History()
    for source in (path, *more):
        for record in read_records(source):
            if (record["token_id"], record["attempt"]) not in history.verdicts:
                history.add(record)
    return history


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every complete line; a torn last line (a run killed mid-write) is cut off so appends stay clean."""
    if not path.exists():
        return []
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with path.open("r+b") as stream:
            stream.truncate(len(complete))
    return [json.loads(line) for line in complete.decode("utf-8").splitlines()]


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
