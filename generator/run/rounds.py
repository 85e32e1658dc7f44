"""Phase 3 of a run, the render rounds: blocks rendered here, finished by workers, committed in plan order.

Round 0 renders every unfinished token; a rejected token goes to the next round with the next
attempt's seed, until its attempts are spent. Within a round, tokens render in id order and
their manifest lines are appended in that order, each only after its files are in place, so a
run killed at any moment (``kill -9`` included) resumes from the manifest alone.

Every run is a team (:mod:`generator.run.team`): each member renders its share of a round's
blocks into its own journal, and the round ends with the journals merged into the manifest in
the order one process would have written them. A one-member team's journal is the manifest
itself, already in that order, so its merge has nothing to add.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

import numpy as np

from generator.pixels.quality import duplicate_reason
from generator.plan.plan import PlannedToken
from generator.progress import Advance, progress_bar
from generator.render import RenderJob, Renders
from generator.run.finish import Destination, Outcome, finish_batch
from generator.run.folder import MANIFEST, animation_path, image_path, metadata_path, rejected_path
from generator.run.manifest import ANIMATION_SHA256, REJECTED, History, encode_record, read_history, read_records
from generator.run.team import Team, shards
from generator.workers import executor_for

if TYPE_CHECKING:
    from generator.run.collection import Run


@dataclass
class Rounds:
    """What the rounds leave for the commit and the report."""

    history: History  # the manifest as the last round's merge left it
    resumed: int  # tokens an earlier run had finished
    tiles: dict[int, np.ndarray] = field(default_factory=dict)  # accepted tokens' pixels, for the contact sheet
    rendered: int = 0  # attempts rendered by this process
    tasks: int = 0  # blocks handed to workers
    waiting: list[RenderJob] = field(default_factory=list)  # jobs whose render is not there yet (import)


def render_rounds(run: Run, history: History, lock: int | None, progress: bool) -> Rounds:
    """Render this member's share of every round's unfinished blocks, then merge the round before the next one."""
    folder, team = run.destination.folder, run.team
    rounds = Rounds(history, resumed=sum(1 for t in run.plan if history.next_attempt(t.token_id, run.attempts) is None))
    journal = team.journal(folder)
    with (
        journal.open("a", encoding="utf-8") as stream,
        progress_bar(
            "render",
            "token",
            progress and team.is_main,
            len(run.plan) + len(run.one_of_ones),
            rounds.resumed + len(run.one_of_ones),
        ) as advance,
    ):
        # Lines written straight into the manifest are checked for duplicates as they are committed; a shard's are
        # checked when the round's merge puts them in order.
        committer = _Committer(stream, advance, rounds, run.destination, run.attempts, check_duplicates=journal.name == MANIFEST)
        executor = executor_for(len(run.plan) - rounds.resumed, hold=lock, light=run.renderer.draws_at_token_size)
        try:
            for attempt in range(max([run.attempts, *history.limits.values()])):
                for block in team.share(list(_unfinished_blocks(run, rounds.history, attempt))):
                    committer.add(_render_block(run, block, attempt, rounds, executor))
                committer.drain()  # the next round needs this round's verdicts
                rounds.history = merge_round(team, run.destination, run.plan, rounds.history)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
    return rounds


def _unfinished_blocks(run: Run, history: History, attempt: int) -> Iterator[list[PlannedToken]]:
    """The round's blocks still to render: a block whose manifest lines were cut short is rendered again whole."""
    for block in run.blocks(history, attempt):
        if any((token.token_id, attempt) not in history.verdicts for token in block):
            yield block


def _render_block(run: Run, block: list[PlannedToken], attempt: int, rounds: Rounds, executor: Executor) -> Future[list[Outcome]]:
    """Render one block and hand its unjudged renders to a worker to finish; a job with no render yet waits."""
    jobs = [run.job(token, attempt) for token in block]
    due = [i for i, token in enumerate(block) if (token.token_id, attempt) not in rounds.history.verdicts]
    renders = run.renderer.render(jobs)
    rounds.waiting += [jobs[i] for i in due if renders[i] is None]
    due = [i for i in due if renders[i] is not None]
    rounds.rendered += len(due)
    rounds.tasks += 1  # consecutive tasks write their files in opposite orders (see finish._write_in_turn)
    return executor.submit(finish_batch, run.destination, [jobs[i] for i in due], _taken(renders, due), rounds.tasks % 2 == 1)


def _taken(renders: Renders, chosen: list[int]) -> Renders:
    """The renders at ``chosen``: one array stays one array, to cross to a worker as a single buffer."""
    return renders[chosen] if isinstance(renders, np.ndarray) else [renders[i] for i in chosen]


def merge_round(team: Team, destination: Destination, plan: list[PlannedToken], history: History) -> History:
    """End of a round: the main process appends every shard's new lines to the manifest, in (attempt, plan) order with
    the duplicate check, as one process would have; everyone then reloads it. Where there is no shard (one process
    wrote straight into the manifest), ``history`` is the manifest's already: a reload cost ~16 ms per 1,000 tokens."""
    folder = destination.folder
    if not shards(folder):  # every member of a larger team has one: all take this branch alike, or none does
        return history
    team.barrier()
    if team.is_main:
        merged = read_history(folder / MANIFEST)
        position = {token.token_id: n for n, token in enumerate(plan)}
        new = [r for shard in shards(folder) for r in read_records(shard) if (r["token_id"], r["attempt"]) not in merged.verdicts]
        new.sort(key=lambda record: (record["attempt"], position[record["token_id"]]))
        lines = []
        for record in new:
            check_duplicate(record, merged, destination)
            merged.add(record)
            lines.append(encode_record(record))
        with (folder / MANIFEST).open("a", encoding="utf-8") as stream:
            stream.write("".join(lines))
        for shard in shards(folder):  # merged lines are skipped if a kill lands before this
            shard.write_bytes(b"")
    team.barrier()
    return read_history(folder / MANIFEST)


class _Committer:
    """Takes finished batches in submission order: duplicate check, manifest line, progress, contact-sheet tile."""

    MAX_IN_FLIGHT = 16  # batches; bounds memory while workers catch up

    def __init__(
        self, stream: TextIO, advance: Advance, rounds: Rounds, destination: Destination, attempts: int, check_duplicates: bool
    ):
        self.stream, self.advance, self.rounds, self.destination = stream, advance, rounds, destination
        self.attempts = attempts
        self.check_duplicates = check_duplicates
        self.pending: deque[Future[list[Outcome]]] = deque()

    def add(self, batch: Future[list[Outcome]]) -> None:
        self.pending.append(batch)
        while self.pending and (self.pending[0].done() or len(self.pending) > self.MAX_IN_FLIGHT):
            self._commit(self.pending.popleft().result())

    def drain(self) -> None:
        while self.pending:
            self._commit(self.pending.popleft().result())

    def _commit(self, outcomes: list[Outcome]) -> None:
        history, lines = self.rounds.history, []
        for outcome in outcomes:
            record = outcome.record
            if self.check_duplicates:
                check_duplicate(record, history, self.destination)
            history.add(record)
            lines.append(encode_record(record))
            if record["verdict"] != REJECTED:
                self.rounds.tiles[record["token_id"]] = outcome.pixels
            if history.next_attempt(record["token_id"], self.attempts) is None:
                self.advance(1)
        self.stream.write("".join(lines))
        self.stream.flush()


def check_duplicate(record: dict, history: History, destination: Destination) -> None:
    """A worker could not know an earlier token (or a 1/1: written before any render) had the same pixels: move such a
    token to rejected/. Distinct pixels are a property of the collection, not a quality setting, so this holds with
    ``[quality].enabled = false`` too (verify and export refuse a collection with two equal images)."""
    if record["verdict"] == REJECTED:
        return
    reason = duplicate_reason(record["sha256"], history.digests)
    if reason:
        folder, token_id = destination.folder, record["token_id"]
        os.replace(image_path(folder, token_id), rejected_path(folder, token_id, record["attempt"]))
        metadata_path(folder, token_id).unlink()
        animation_path(folder, token_id).unlink(missing_ok=True)
        record.pop(ANIMATION_SHA256, None)
        record.update(verdict=REJECTED, reasons=[reason])
