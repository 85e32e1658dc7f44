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
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
from PIL import Image
from tqdm import tqdm

from generator.config import Config
from generator.errors import UserError
from generator.files import write_atomic
from generator.finishing import Destination, Outcome, encode_png, finish_batch, image_path, metadata_path, rejected_path
from generator.folder import MANIFEST, REJECTS, SHEET, default_folder, fingerprint, prepare_folder
from generator.manifest import REJECTED, History, encode_record, read_history, read_records, rejects_csv
from generator.palette import read_palette
from generator.prompts import PromptTemplate, prompt_template
from generator.quality import duplicate_reason, load_training_set
from generator.render import RenderJob, choose_backend, create_renderer
from generator.render.sprites import SpriteRenderer, background_colors
from generator.render.sprites import create as create_sprites
from generator.rules import compile_rules
from generator.sampling import PlannedToken, plan_collection, token_seed
from generator.sheet import contact_sheet
from generator.team import Team, join_team, shards
from generator.traits import TraitTable, load_traits
from generator.workers import executor_for


@dataclass(frozen=True)
class Summary:
    folder: Path
    backend: str
    planned: int
    rendered: int  # attempts rendered by this run
    resumed: int  # tokens an earlier run had finished
    failed: tuple[int, ...]  # token ids out of attempts
    acceptance: float  # accepted attempts / all attempts, over the whole collection
    top_reasons: tuple[tuple[str, int], ...]
    seconds: float
    main: bool = True  # False in the other processes of a multi-process run: they print nothing


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
    team = join_team()
    tables = load_traits(config)
    template = prompt_template(config.prompt, tables, config.path)
    choice = choose_backend(config)
    if choice.notice and team.is_main:
        notify(choice.notice)
    renderer = create_renderer(choice.name, config, tables)
    c = config.collection
    plan = plan_collection(tables, compile_rules(config.rules, tables), c.size, c.seed, config.traits.sampling, c.first_token_id)
    destination = _destination(out or default_folder(config), config, tables, check_traits=choice.name != "sprites")
    if team.is_main:
        prepare_folder(destination.folder, fingerprint(config, tables, renderer), force)
    team.barrier()
    folder = destination.folder
    history = read_history(folder / MANIFEST, *shards(folder))
    resumed = sum(1 for token in plan if history.next_attempt(token.token_id, config.quality.max_attempts) is None)
    tiles: dict[int, np.ndarray] = {}
    rendered = 0
    with (
        (folder / MANIFEST if team.world == 1 else team.shard(folder)).open("a", encoding="utf-8") as stream,
        tqdm(total=len(plan), initial=resumed, unit="token", desc="render", disable=not (progress and team.is_main)) as bar,
    ):
        committer = _Committer(stream, bar, history, destination, tiles, check_duplicates=team.world == 1)
        executor = executor_for(len(plan) - resumed)
        try:
            for attempt in range(config.quality.max_attempts):
                for block in team.share(list(_blocks(plan, history, attempt, renderer.batch_size))):
                    jobs = [_job(config, tables, template, token, attempt) for token in block]
                    due = [i for i, token in enumerate(block) if (token.token_id, attempt) not in history.verdicts]
                    renders = renderer.render(jobs)
                    committer.add(executor.submit(finish_batch, destination, [jobs[i] for i in due], renders[due]))
                    rendered += len(due)
                committer.drain()  # the next round needs this round's verdicts
                if team.world > 1:
                    history = committer.history = _merge_round(team, destination, plan)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
    failed = tuple(t.token_id for t in plan if t.token_id not in history.accepted)
    team.barrier()  # every shard is closed and merged
    if team.is_main:
        for shard in shards(folder):
            shard.unlink()
        _write_reports(folder, plan, history, failed, tiles)
    team.barrier()
    accepted = len(history.accepted)
    return Summary(
        folder=folder,
        backend=choice.name,
        planned=len(plan),
        rendered=rendered,
        resumed=resumed,
        failed=failed,
        acceptance=accepted / max(1, len(history.records)),
        top_reasons=tuple(history.reason_counts().most_common(3)),
        seconds=time.perf_counter() - started,
        main=team.is_main,
    )


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


def _destination(folder: Path, config: Config, tables: list[TraitTable], check_traits: bool) -> Destination:
    """Load once what every token's finishing needs; a bad palette or training folder fails before any write."""
    palette_path = config.resolve(config.pixels.palette)
    training_dir = config.resolve(config.quality.training_dir)
    return Destination(
        folder=folder,
        config=config,
        tables=tables,
        palette=read_palette(palette_path) if palette_path else None,
        backgrounds=background_colors(config, tables[0]),
        training=load_training_set(training_dir, config.pixels.size) if training_dir else None,
        sprites=_sprites_if_drawn(config, tables) if check_traits else None,
    )


def _sprites_if_drawn(config: Config, tables: list[TraitTable]) -> SpriteRenderer | None:
    """The layers, for the trait check; a diffusion-only collection without layer art simply skips that check."""
    try:
        return create_sprites(config, tables)
    except UserError:
        return None


def _job(config: Config, tables: list[TraitTable], template: PromptTemplate, token: PlannedToken, attempt: int) -> RenderJob:
    return RenderJob(
        token_id=token.token_id,
        combo=token.combo,
        prompt=template.compose(tables, token.combo),
        negative_prompt=template.negative,
        seed=token_seed(config.collection.seed, token.token_id, attempt),
        attempt=attempt,
    )


class _Committer:
    """Takes finished batches in submission order: duplicate check, manifest line, progress, contact-sheet tile."""

    MAX_IN_FLIGHT = 16  # batches; bounds memory while workers catch up

    def __init__(
        self,
        stream: TextIO,
        bar: tqdm,
        history: History,
        destination: Destination,
        tiles: dict[int, np.ndarray],
        check_duplicates: bool,
    ):
        self.stream, self.bar, self.history, self.destination, self.tiles = stream, bar, history, destination, tiles
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
            if self.history.next_attempt(record["token_id"], self.destination.config.quality.max_attempts) is None:
                self.bar.update(1)
        self.stream.write("".join(lines))
        self.stream.flush()


def _check_duplicate(record: dict, history: History, destination: Destination) -> None:
    """A worker could not know an earlier token had the same pixels: move such a token to rejected/."""
    if record["verdict"] == REJECTED or not destination.config.quality.enabled:
        return
    reason = duplicate_reason(record["sha256"], history.digests)
    if reason:
        folder, token_id = destination.folder, record["token_id"]
        os.replace(image_path(folder, token_id), rejected_path(folder, token_id, record["attempt"]))
        metadata_path(folder, token_id).unlink()
        record.update(verdict=REJECTED, reasons=[reason])


def _write_reports(folder: Path, plan: list[PlannedToken], history: History, failed: tuple[int, ...], tiles: dict) -> None:
    """The contact sheet (failed tokens as dark tiles) and rejects.csv; stale files of failed tokens go."""
    for token_id in failed:  # a killed run may have left files of an attempt that a later round demoted
        image_path(folder, token_id).unlink(missing_ok=True)
        metadata_path(folder, token_id).unlink(missing_ok=True)
    write_atomic(folder / SHEET, encode_png(contact_sheet([_tile(folder, t.token_id, tiles, history) for t in plan])))
    if any(record["verdict"] == REJECTED for record in history.records):
        write_atomic(folder / REJECTS, rejects_csv(history))


def _tile(folder: Path, token_id: int, tiles: dict[int, np.ndarray], history: History) -> np.ndarray | None:
    """This run's pixels from memory; tokens finished by an earlier run are read back from disk; failed ones are None."""
    if token_id not in history.accepted:
        return None
    if token_id not in tiles:
        with Image.open(image_path(folder, token_id)) as image:
            tiles[token_id] = np.asarray(image.convert("RGB"))
    return tiles[token_id]


def _blocks(plan: list[PlannedToken], history: History, attempt: int, size: int) -> Iterator[list[PlannedToken]]:
    """The fixed blocks of one round that still hold unfinished work.

    Round 0's blocks are the plan cut every ``size`` tokens; round r's are the tokens rejected
    at attempt r−1, in id order, cut the same way. Both follow from the manifest alone, so a
    resumed run renders each block with exactly its original companions (a diffusion image
    depends on them), re-rendering a block whose manifest lines were cut short, whole.
    """
    members = plan if attempt == 0 else [t for t in plan if history.verdicts.get((t.token_id, attempt - 1)) == REJECTED]
    for start in range(0, len(members), size):
        block = members[start : start + size]
        if any((token.token_id, attempt) not in history.verdicts for token in block):
            yield block
