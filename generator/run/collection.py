"""The batch loop: plan → render → pixels → quality → write, in rounds of attempts, resumable at any point.

Round 0 renders every unfinished token; a rejected token goes to the next round with the next
attempt's seed, until ``[quality].max_attempts``, then it is reported as failed. Within a round,
tokens render in id order and their manifest lines are appended in that order, each only after
its files are in place. So a run killed at any moment (``kill -9`` included) and started again
resumes from the manifest and ends byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from generator.config import Config
from generator.errors import UserError
from generator.files import is_place_error, os_error_message, remove_partials
from generator.pixels.palette import read_palette
from generator.pixels.quality import duplicate_reason, load_training_set
from generator.plan.one_of_ones import PlacedOneOfOne, place_one_of_ones
from generator.plan.plan import PlannedToken, plan_collection, token_seed
from generator.plan.prompts import PromptTemplate, prompt_template
from generator.plan.rules import compile_rules
from generator.plan.traits import TraitTable, combo_of, load_traits
from generator.progress import Advance, progress_bar
from generator.render import Renderer, RenderJob, Renders, choose_backend, create_renderer
from generator.render.imports import ImportRenderer
from generator.render.layers import background_colors, drawn_layers
from generator.run.finish import Destination, Outcome, finish_batch, write_one_of_ones
from generator.run.folder import (
    MANIFEST,
    default_folder,
    fingerprint,
    image_path,
    metadata_path,
    prepare_folder,
    refuse_overlaps,
    rejected_path,
    write_requests,
)
from generator.run.lock import folder_lock
from generator.run.manifest import REJECTED, History, encode_record, read_history, read_records
from generator.run.repair import repair_finished
from generator.run.sheet import write_reports
from generator.run.summary import Summary
from generator.run.team import Team, join_team, shards
from generator.workers import executor_for


def run_collection(
    config: Config,
    out: Path | None = None,
    force: bool = False,
    progress: bool = True,
    notify: Callable[[str], None] = lambda line: None,
) -> Summary:
    """Generate (or finish) the collection described by ``config``; every check runs before the first write.

    ``notify`` receives one-line notices (such as ``auto`` falling back to sprites) as they happen,
    before the progress bar, where a user will see them.
    """
    started = time.perf_counter()
    run = plan_run(config, out, notify)
    with run.holding_folder() as lock:
        if run.team.is_main:
            prepare_folder(run.destination.folder, run.fingerprint, force)
        run.team.barrier()
        summary = run.render_all(lock, progress)
    return replace(summary, seconds=time.perf_counter() - started)


def plan_run(config: Config, out: Path | None, notify: Callable[[str], None]) -> Run:
    """Everything a run needs, loaded and checked before anything is written: tables, prompts, backend, plan, the
    folder's destination. ``punkgen collection`` and the curation commands start here."""
    team = join_team()
    tables = load_traits(config)
    template = prompt_template(config.prompt, tables, config.path)
    choice = choose_backend(config)
    if choice.notice and team.is_main:
        notify(choice.notice)
    renderer = create_renderer(choice.name, config, tables)
    c = config.collection
    one_of_ones = place_one_of_ones(config)
    rules = compile_rules(config.rules, tables)
    plan = plan_collection(
        tables, rules, c.size - len(one_of_ones), c.seed, config.traits.sampling, c.first_token_id, frozenset(one_of_ones)
    )
    destination = _destination(out or default_folder(config), config, tables, choice.name)
    refuse_overlaps(destination.folder, config, renderer.folder if isinstance(renderer, ImportRenderer) else None)
    attempts = 1 if renderer.deterministic else config.quality.max_attempts
    art = {token_id: one.art.source_sha256 for token_id, one in one_of_ones.items()}
    return Run(
        destination,
        renderer,
        choice.name,
        plan,
        one_of_ones,
        template,
        team,
        attempts,
        fingerprint(config, tables, renderer, art),
    )


@dataclass
class Run:
    """One run over the plan: repair what an earlier run finished, render the rest in rounds, report."""

    destination: Destination
    renderer: Renderer
    backend: str
    plan: list[PlannedToken]  # the tokens to render: every id but the 1/1s'
    one_of_ones: dict[int, PlacedOneOfOne]
    template: PromptTemplate
    team: Team
    attempts: int  # per token, unless a reroll granted it more
    fingerprint: dict[str, Any]

    @contextmanager
    def holding_folder(self) -> Iterator[int | None]:
        """The folder locked for the whole block (by the main process), and a full disk or a read-only mount on the
        way said in one line."""
        folder = self.destination.folder
        with folder_lock(folder, "--out") if self.team.is_main else nullcontext(None) as lock:
            try:
                if self.team.is_main and folder.is_dir():
                    remove_partials(folder)  # staged by a killed run (or its orphaned workers): never renamed now
                yield lock
            except OSError as error:
                if not is_place_error(error):
                    raise
                raise UserError(os_error_message(error, folder, "fix that, then run the same command again to go on")) from None

    def job(self, token: PlannedToken, attempt: int) -> RenderJob:
        config = self.destination.config
        return RenderJob(
            token_id=token.token_id,
            combo=token.combo,
            prompt=self.template.compose(self.destination.tables, token.combo),
            negative_prompt=self.template.negative,
            seed=token_seed(config.collection.seed, token.token_id, attempt),
            attempt=attempt,
        )

    def blocks(self, history: History, attempt: int) -> Iterator[list[PlannedToken]]:
        """The fixed blocks of one round: the round's members (see :meth:`History.round_members`) cut every
        ``batch_size`` tokens. They follow from the manifest alone, so a resumed run renders each block with exactly
        its original companions (a diffusion image depends on them)."""
        members = history.round_members(self.plan, attempt, self.attempts)
        size = self.renderer.batch_size
        return (members[start : start + size] for start in range(0, len(members), size))

    def restore(self, history: History) -> tuple[int, ...]:
        """Before rendering: the 1/1s written (or rewritten where they differ), finished tokens' files re-created."""
        written = write_one_of_ones(self.destination, self.one_of_ones, history)
        return tuple(sorted({*written, *repair_finished(self, history)}))

    def render_all(self, lock: int | None, progress: bool) -> Summary:
        folder, team = self.destination.folder, self.team
        history = read_history(folder / MANIFEST, *shards(folder))
        self.plan = as_curated(self.plan, history, self.destination.tables)
        restored = self.restore(history) if team.is_main else ()
        team.barrier()
        resumed = sum(1 for token in self.plan if history.next_attempt(token.token_id, self.attempts) is None)
        tiles: dict[int, np.ndarray] = {}
        rendered = tasks = 0
        waiting: list[RenderJob] = []
        with (
            (folder / MANIFEST if team.world == 1 else team.shard(folder)).open("a", encoding="utf-8") as stream,
            progress_bar(
                "render",
                "token",
                progress and team.is_main,
                len(self.plan) + len(self.one_of_ones),
                resumed + len(self.one_of_ones),
            ) as advance,
        ):
            committer = _Committer(
                stream, advance, history, self.destination, tiles, self.attempts, check_duplicates=team.world == 1
            )
            executor = executor_for(len(self.plan) - resumed, hold=lock, light=self.backend == "sprites")
            try:
                for attempt in range(max([self.attempts, *history.limits.values()])):
                    for block in team.share([b for b in self.blocks(history, attempt) if _unfinished(b, history, attempt)]):
                        jobs = [self.job(token, attempt) for token in block]
                        due = [i for i, token in enumerate(block) if (token.token_id, attempt) not in history.verdicts]
                        renders = self.renderer.render(jobs)
                        waiting += [jobs[i] for i in due if renders[i] is None]  # import: not rendered yet
                        due = [i for i in due if renders[i] is not None]
                        tasks += 1  # consecutive tasks write their files in opposite orders (see finish._write_in_turn)
                        committer.add(
                            executor.submit(
                                finish_batch, self.destination, [jobs[i] for i in due], _taken(renders, due), tasks % 2 == 1
                            )
                        )
                        rendered += len(due)
                    committer.drain()  # the next round needs this round's verdicts
                    if team.world > 1:
                        history = committer.history = _merge_round(team, self.destination, self.plan)
            finally:
                executor.shutdown(wait=True, cancel_futures=True)
        waits = {job.token_id for job in waiting}
        failed = tuple(t.token_id for t in self.plan if t.token_id not in history.accepted and t.token_id not in waits)
        team.barrier()  # every shard is closed and merged
        if team.is_main:
            for shard in shards(folder):
                shard.unlink()
            write_requests(folder, self.renderer.requests(waiting) if waiting else {})
            write_reports(folder, sorted([*self.one_of_ones, *(t.token_id for t in self.plan)]), history, tiles)
        team.barrier()
        return Summary(
            folder=folder,
            backend=self.backend,
            planned=len(self.plan) + len(self.one_of_ones),
            rendered=rendered,
            resumed=resumed,
            one_of_ones=len(self.one_of_ones),
            failed=failed,
            waiting=len(waiting),
            renders=self.destination.config.resolve(self.destination.config.render.renders),
            attempts=self.attempts,
            deterministic=self.renderer.deterministic,
            restored=restored,
            acceptance=history.acceptance(),
            top_reasons=tuple(history.reason_counts().most_common(3)),
            seconds=0.0,
            main=team.is_main,
        )


def as_curated(plan: list[PlannedToken], history: History, tables: list[TraitTable]) -> list[PlannedToken]:
    """The plan as curation left it: a token whose traits a reroll or a replacement changed renders those."""
    curated = []
    for token in plan:
        traits = history.traits.get(token.token_id)
        combo = combo_of(tables, traits) if traits else None
        curated.append(replace(token, combo=combo) if combo and combo != token.combo else token)
    return curated


def _taken(renders: Renders, chosen: list[int]) -> Renders:
    """The renders at ``chosen``: one array stays one array, to cross to a worker as a single buffer."""
    return renders[chosen] if isinstance(renders, np.ndarray) else [renders[i] for i in chosen]


def _unfinished(block: list[PlannedToken], history: History, attempt: int) -> bool:
    """A block whose manifest lines were cut short is rendered again whole."""
    return any((token.token_id, attempt) not in history.verdicts for token in block)


def _merge_round(team: Team, destination: Destination, plan: list[PlannedToken]) -> History:
    """End of a round on several processes: the main process appends every shard's new lines to the manifest,
    in (attempt, plan) order with the duplicate check, as one process would have; everyone then reloads it."""
    team.barrier()
    folder = destination.folder
    if team.is_main:
        merged = read_history(folder / MANIFEST)
        position = {token.token_id: n for n, token in enumerate(plan)}
        new = [r for shard in shards(folder) for r in read_records(shard) if (r["token_id"], r["attempt"]) not in merged.verdicts]
        new.sort(key=lambda record: (record["attempt"], position[record["token_id"]]))
        lines = []
        for record in new:
            _check_duplicate(record, merged, destination)
            merged.add(record)
            lines.append(encode_record(record))
        with (folder / MANIFEST).open("a", encoding="utf-8") as stream:
            stream.write("".join(lines))
        for shard in shards(folder):  # merged lines are skipped if a kill lands before this
            shard.write_bytes(b"")
    team.barrier()
    return read_history(folder / MANIFEST)


def _destination(folder: Path, config: Config, tables: list[TraitTable], backend: str) -> Destination:
    """Load once what every token's finishing needs; a bad palette or training folder fails before any write."""
    palette_path = config.resolve(config.pixels.palette)
    training_dir = config.resolve(config.quality.training_dir)
    made = backend != "sprites"  # a model made the render: its traits are checked, a kept render says how to redo it
    return Destination(
        folder=folder,
        config=config,
        tables=tables,
        palette=read_palette(palette_path) if palette_path else None,
        backgrounds=background_colors(config, tables[0]),
        ui_parameters=made,
        training=load_training_set(training_dir, config.pixels.size) if training_dir else None,
        layers=drawn_layers(config, tables) if made else None,
    )


class _Committer:
    """Takes finished batches in submission order: duplicate check, manifest line, progress, contact-sheet tile."""

    MAX_IN_FLIGHT = 16  # batches; bounds memory while workers catch up

    def __init__(
        self,
        stream: TextIO,
        advance: Advance,
        history: History,
        destination: Destination,
        tiles: dict[int, np.ndarray],
        attempts: int,
        check_duplicates: bool,
    ):
        self.stream, self.advance, self.history, self.destination, self.tiles = stream, advance, history, destination, tiles
        self.attempts = attempts
        self.check_duplicates = check_duplicates  # several processes leave it to the round's merge
        self.pending: deque[Future[list[Outcome]]] = deque()

    def add(self, batch: Future[list[Outcome]]) -> None:
        self.pending.append(batch)
        while self.pending and (self.pending[0].done() or len(self.pending) > self.MAX_IN_FLIGHT):
            self._commit(self.pending.popleft().result())

    def drain(self) -> None:
        while self.pending:
            self._commit(self.pending.popleft().result())

    def _commit(self, outcomes: list[Outcome]) -> None:
        lines = []
        for outcome in outcomes:
            record = outcome.record
            if self.check_duplicates:
                _check_duplicate(record, self.history, self.destination)
            self.history.add(record)
            lines.append(encode_record(record))
            if record["verdict"] != REJECTED:
                self.tiles[record["token_id"]] = outcome.pixels
            if self.history.next_attempt(record["token_id"], self.attempts) is None:
                self.advance(1)
        self.stream.write("".join(lines))
        self.stream.flush()


def _check_duplicate(record: dict, history: History, destination: Destination) -> None:
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
        record.update(verdict=REJECTED, reasons=[reason])
