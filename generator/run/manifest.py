"""``manifest.jsonl``: one line per render attempt, appended only after the attempt's files are in place.

It is both the reproducibility record (traits, prompt, seed, verdict, reasons, PNG sha256 of
every attempt) and the resume state: what is finished, what failed, which attempt comes next.
Curation adds its own lines (a reroll, a replacement, and a ``done`` line closing each such
request once its reports are written), so whether a command finished is read here, never
inferred from file times that a copy or a touch changes.
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

from generator.errors import Arg, UserError
from generator.files import LOG_LIMIT, read_limited
from generator.text import parse_json


class _Token(Protocol):
    token_id: int


Item = TypeVar("Item", bound=_Token)

ACCEPTED, REJECTED = "accepted", "rejected"
# What a line records. Attempt lines carry no "event" key (as before curation existed); a reroll line demotes a
# token's accepted image (it moves to rejected/) and grants it more attempts; a replace line accepts a creator's own
# image for a token; a one_of_one line writes a hand-made 1/1 (its traits are empty: its attributes are free text, not
# values of the tables); a done line says curation request N (a reroll or a replace) finished, reports included.
# Curation lines also say where the image they demoted went ("kept": a path under the folder, or null).
ATTEMPT, REROLL, REPLACE, ONE_OF_ONE, DONE = "attempt", "reroll", "replace", "one_of_one", "done"
RECORD_KEYS = {
    ATTEMPT: frozenset({"token_id", "attempt", "seed", "traits", "verdict", "reasons", "sha256"}),
    REROLL: frozenset({"event", "token_id", "attempt", "traits", "verdict", "reasons", "sha256", "request", "of", "until"}),
    REPLACE: frozenset({"event", "token_id", "traits", "verdict", "reasons", "sha256", "source_sha256"}),
    ONE_OF_ONE: frozenset({"event", "token_id", "traits", "verdict", "reasons", "sha256", "source_sha256"}),
    DONE: frozenset({"event", "request"}),
}
ANIMATION_SHA256 = "animation_sha256"  # on an animated token's attempt or reroll line: its GIF's (see run/animation.py)
KEPT = "kept"  # on curation lines since done lines exist: their request is finished only by its done line


def event_of(record: dict[str, Any]) -> str:
    return record.get("event", ATTEMPT)


@dataclass
class Request:
    """One curation command in the manifest (a reroll of some tokens, or one replace)."""

    event: str  # REROLL or REPLACE
    asked: frozenset[int]  # the tokens it is for
    written: set[int] = field(default_factory=set)  # those whose line is in the manifest
    done: bool = False  # its done line is in the manifest: its reports were written after its last line
    legacy: bool = False  # written before done lines existed: whether it finished is left to its tokens' state


@dataclass
class History:
    """What the manifest says so far, kept current as lines are appended."""

    records: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[int, dict[str, Any]] = field(default_factory=dict)  # token id → the line that accepted its image
    rejections: Counter[int] = field(default_factory=Counter)  # token id → rejected attempts
    digests: dict[str, int] = field(default_factory=dict)  # sha256 of an accepted PNG → token id
    verdicts: dict[tuple[int, int], str] = field(default_factory=dict)  # (token id, attempt) → verdict
    traits: dict[int, dict[str, str]] = field(default_factory=dict)  # token id → its traits, as the latest line says
    limits: dict[int, int] = field(default_factory=dict)  # token id → attempts it may use, where a reroll extended them
    last_attempts: dict[int, int] = field(default_factory=dict)  # token id → the highest attempt with a verdict
    requests: dict[int, Request] = field(default_factory=dict)  # curation request number → what it asked and did:
    # an interrupted request is finished, not repeated
    replacements: Counter[int] = field(default_factory=Counter)  # token id → replace lines so far

    def add(self, record: dict[str, Any]) -> None:
        """Take one more line; a done line is no token's record (``records`` stays the token lines)."""
        if event_of(record) == DONE:
            if record["request"] in self.requests:
                self.requests[record["request"]].done = True
            return
        self.records.append(record)
        token_id = record["token_id"]
        self.traits[token_id] = record["traits"]
        event = event_of(record)
        if event == REPLACE:
            self.replacements[token_id] += 1
            self._note_request(record)
        if event in (REPLACE, ONE_OF_ONE):
            self._accept(record)
        elif event == REROLL:
            self._demote(record)
        else:
            self.verdicts[token_id, record["attempt"]] = record["verdict"]
            self.last_attempts[token_id] = max(record["attempt"], self.last_attempts.get(token_id, -1))
            if record["verdict"] == ACCEPTED:
                self._accept(record)
            else:
                self.rejections[token_id] += 1

    def _accept(self, record: dict[str, Any]) -> None:
        previous = self.accepted.get(record["token_id"])
        if previous is not None:
            self.digests.pop(previous["sha256"], None)
        self.accepted[record["token_id"]] = record
        self.digests[record["sha256"]] = record["token_id"]

    def _demote(self, record: dict[str, Any]) -> None:
        """A reroll: the token's image is no longer accepted, its attempt counts as rejected, and it may go on to
        ``until`` attempts in all."""
        token_id, attempt = record["token_id"], record["attempt"]
        previous = self.accepted.pop(token_id, None)
        if previous is not None:
            self.digests.pop(previous["sha256"], None)
        self.verdicts[token_id, attempt] = REJECTED
        self.rejections[token_id] = attempt + 1
        self.limits[token_id] = record["until"]
        self._note_request(record)

    def _note_request(self, record: dict[str, Any]) -> None:
        """A curation line joins its request (a replace line made before requests were numbered has none)."""
        if "request" not in record:
            return
        asked = frozenset(record.get("of", [record["token_id"]]))
        request = self.requests.setdefault(record["request"], Request(event_of(record), asked, legacy=KEPT not in record))
        request.written.add(record["token_id"])

    def next_request(self) -> int:
        return max(self.requests, default=0) + 1

    def demoted_label(self, token_id: int) -> str | None:
        """What names the token's accepted image once curation demotes it (``rejected/<id>-<label>.png``): a render
        its attempt (no other render has it: attempts only count up), the n-th replacement of the token
        ``replacement-<n>`` (the accepted one is always the latest); None for a 1/1 or a token with none."""
        record = self.accepted.get(token_id)
        if record is None or event_of(record) == ONE_OF_ONE:
            return None
        return f"replacement-{self.replacements[token_id]}" if event_of(record) == REPLACE else str(record["attempt"])

    def limit(self, token_id: int, max_attempts: int) -> int:
        return self.limits.get(token_id, max_attempts)

    def next_attempt(self, token_id: int, max_attempts: int) -> int | None:
        """The attempt to render next, or None when the token is accepted or out of attempts."""
        if token_id in self.accepted or self.rejections[token_id] >= self.limit(token_id, max_attempts):
            return None
        return self.rejections[token_id]

    def last_attempt(self, token_id: int) -> int:
        """The highest attempt that has a verdict (-1 for none): where a reroll of this token starts counting."""
        return self.last_attempts.get(token_id, -1)

    def round_members(self, plan: Sequence[Item], attempt: int, max_attempts: int) -> list[Item]:
        """The tokens that round ``attempt`` renders (before cutting into blocks): the whole plan at first, then those
        rejected at the attempt before that still have attempts left, in plan order; all of it follows from the
        manifest alone."""
        if attempt == 0:
            return list(plan)
        return [
            token
            for token in plan
            if self.verdicts.get((token.token_id, attempt - 1)) == REJECTED and attempt < self.limit(token.token_id, max_attempts)
        ]

    def renders(self) -> list[dict[str, Any]]:
        """The attempt lines: every render judged so far (curation lines are not renders)."""
        return [record for record in self.records if event_of(record) == ATTEMPT]

    def acceptance(self) -> float:
        renders = self.renders()
        return sum(record["verdict"] == ACCEPTED for record in renders) / max(1, len(renders))

    def notes(self) -> dict[int, tuple[int, str]]:
        """Per token with a story worth telling: how many renders it took, and ``rerolled``, ``replaced`` or ``1/1``
        (empty: none); tokens accepted at their first render, untouched, are left out. For the gallery."""
        renders = Counter(record["token_id"] for record in self.renders())
        rerolled = {record["token_id"] for record in self.records if event_of(record) == REROLL}
        marks = {ONE_OF_ONE: "1/1", REPLACE: "replaced"}
        notes = {}
        for token_id, record in self.accepted.items():
            mark = marks.get(event_of(record), "rerolled" if token_id in rerolled else "")
            if renders[token_id] > 1 or mark:
                notes[token_id] = (renders[token_id], mark)
        return notes

    def reason_counts(self) -> Counter[str]:
        """Rejections by reason code (``grid_fidelity``, ``duplicate`` …), over every render so far."""
        return Counter(reason.split(":")[0] for record in self.renders() for reason in record["reasons"])


def read_history(path: Path, *more: Path, repair: bool = True) -> History:
    """Every complete line of ``path`` (then of ``more``: shards not merged yet, skipping what is already in)."""
    history = History()
    for source in (path, *more):
        for record in read_records(source, repair):
            if event_of(record) != ATTEMPT or (record["token_id"], record["attempt"]) not in history.verdicts:
                history.add(record)
    return history


def read_records(path: Path, repair: bool = True) -> list[dict[str, Any]]:
    """Every complete line; a torn last line (a run killed mid-write) is ignored, and cut off if ``repair``, so
    appends stay clean (readers that only look, such as ``verify``, leave the file as it is)."""
    if not path.exists():
        return []
    data = read_limited(path, LOG_LIMIT, "")  # a FIFO or a link to /dev/zero is refused, never read
    complete = data[: data.rfind(b"\n") + 1]
    if repair and len(complete) != len(data):
        with path.open("r+b") as stream:
            stream.truncate(len(complete))
    return [_parse(path, number, line) for number, line in enumerate(complete.split(b"\n")[:-1], start=1)]


def _parse(path: Path, number: int, line: bytes) -> dict[str, Any]:
    fix = f"restore the file from a backup, or start the collection again with {Arg.FORCE}"
    try:
        record = parse_json(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{path} line {number} is not UTF-8 text; {fix}") from None
    except ValueError:  # not JSON, or nested past any record
        raise UserError(f"{path} line {number} is not a manifest record (not JSON); {fix}") from None
    problem = record_problem(record)
    if problem:
        raise UserError(f"{path} line {number} is not a manifest record ({problem}); {fix}")
    return record


def record_problem(record: Any) -> str | None:
    """How a line read back breaks the manifest's vocabulary (a hand edit, a bad merge), or None."""
    if not isinstance(record, dict):
        return f"a JSON object with {', '.join(sorted(RECORD_KEYS[ATTEMPT]))}"
    if event_of(record) not in RECORD_KEYS:
        return f"event {event_of(record)!r} is not one of {', '.join(RECORD_KEYS)}"
    keys = RECORD_KEYS[event_of(record)]
    if not record.keys() >= keys:
        return f"a JSON object with {', '.join(sorted(keys))}"
    for key in ("token_id", "attempt", "request", "until"):
        if key in record and (not isinstance(record[key], int) or isinstance(record[key], bool)):
            return f"{key} {record[key]!r} is not a whole number"
    if event_of(record) == DONE:
        return None
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


def append_record(path: Path, record: dict[str, Any]) -> None:
    """One line, appended and flushed on its own: a kill leaves whole lines (the curation commands, the 1/1s)."""
    with path.open("a", encoding="utf-8") as stream:
        stream.write(encode_record(record))


def rejects_csv(history: History) -> bytes:
    """``rejects.csv``: token_id, attempt, reasons: the rejected attempts (and rerolled ones), for a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["token_id", "attempt", "reasons"])
    for record in history.records:
        if record["verdict"] == REJECTED:
            writer.writerow([record["token_id"], record["attempt"], "; ".join(record["reasons"])])
    return buffer.getvalue().encode()
