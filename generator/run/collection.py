"""A collection run: plan it (:func:`plan_run`), then :meth:`Run.render_all` in five phases, resumable at any point.

1. restore curation: the plan as rerolls and replacements left it;
2. repair: the 1/1s written, finished tokens' files checked against the manifest and re-created;
3. render rounds (:mod:`generator.run.rounds`): render → pixels → quality → write, a round per attempt;
4. commit: the round's shards merged away, the jobs still waiting for a render listed;
5. report: rejects.csv, the contact sheet, and the :class:`Summary`.

A token's files are in place before its manifest line, so a run killed at any moment (``kill -9``
included) and started again resumes from the manifest and ends byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from generator.config import Config
from generator.errors import Arg, UserError
from generator.files import place_errors_said, remove_partials
from generator.pixels.palette import read_palette
from generator.pixels.training_set import load_training_set
from generator.plan.one_of_ones import PlacedOneOfOne, place_one_of_ones
from generator.plan.plan import PlannedToken, plan_collection, token_seed
from generator.plan.prompts import PromptTemplate, prompt_template
from generator.plan.rules import compile_rules
from generator.plan.traits import TraitTable, combo_of, load_traits
from generator.render import Renderer, RenderJob, choose_backend, create_renderer
from generator.render.frames import strip_label
from generator.render.layers import Layers, background_colors, drawn_layers
from generator.run.animation import animation_of, check_animation
from generator.run.finish import Destination, write_one_of_ones
from generator.run.folder import (
    MANIFEST,
    default_folder,
    fingerprint,
    prepare_folder,
    refuse_overlaps,
    write_requests,
)
from generator.run.lock import folder_lock
from generator.run.manifest import History, read_history
from generator.run.repair import repair_finished
from generator.run.rounds import Rounds, render_rounds
from generator.run.sheet import write_reports
from generator.run.summary import Summary
from generator.run.team import Team, join_team, shards


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
    destination = _destination(out or default_folder(config), config, tables, renderer)
    check_animation(destination.animation, [token.combo for token in plan], config.animation.max_frames)
    refuse_overlaps(destination.folder, config, renderer.folders_read())
    attempts = 1 if renderer.deterministic else config.quality.max_attempts
    art = {token_id: one.art.source_sha256 for token_id, one in one_of_ones.items()}
    return Run(
        destination,
        renderer,
        plan,
        one_of_ones,
        template,
        team,
        attempts,
        fingerprint(config, tables, renderer, art),
    )


@dataclass(frozen=True)
class Run:
    """One run over the plan: repair what an earlier run finished, render the rest in rounds, report."""

    destination: Destination
    renderer: Renderer
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
        with (
            folder_lock(folder, Arg.OUT) if self.team.is_main else nullcontext(None) as lock,
            place_errors_said(folder, "fix that, then run the same command again to go on"),
        ):
            if self.team.is_main and folder.is_dir():
                remove_partials(folder)  # staged by a killed run (or its orphaned workers): never renamed now
            yield lock

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

    def render_all(self, lock: int | None, progress: bool) -> Summary:
        """The run, phase by phase, every member of the team through the same steps (barriers are no-ops alone)."""
        history = read_history(self.destination.folder / MANIFEST, *shards(self.destination.folder))
        run = self.restore_curation(history)  # 1. the plan as rerolls and replacements left it
        restored = run.repair(history)  # 2. finished tokens' files checked against the manifest, re-created
        rounds = render_rounds(run, history, lock, progress)  # 3. the unfinished tokens, round by round
        run.commit(rounds)  # 4. the shards gone, the jobs still waiting for a render listed
        return run.report(rounds, restored)  # 5. rejects.csv, the contact sheet, and what the run did

    def restore_curation(self, history: History) -> Run:
        """The run over the plan as curation left it: a token whose traits a reroll or a replacement changed renders
        those."""
        return replace(self, plan=as_curated(self.plan, history, self.destination.tables))

    def repair(self, history: History) -> tuple[int, ...]:
        """Before rendering (by the main process): the 1/1s written (or rewritten where they differ), finished tokens'
        files re-created; returns the ids whose files it wrote."""
        restored: tuple[int, ...] = ()
        if self.team.is_main:
            written = write_one_of_ones(self.destination, self.one_of_ones, history)
            restored = tuple(sorted({*written, *repair_finished(self, history)}))
        self.team.barrier()
        return restored

    def commit(self, rounds: Rounds) -> None:
        """After the last round's merge: the shards removed, and ``to-render/`` listing the jobs still waiting."""
        self.team.barrier()  # every shard is closed and merged
        if self.team.is_main:
            folder = self.destination.folder
            for shard in shards(folder):
                shard.unlink()
            write_requests(folder, self.renderer.requests(rounds.waiting) if rounds.waiting else {})

    def report(self, rounds: Rounds, restored: tuple[int, ...]) -> Summary:
        """The reports in the folder (by the main process), and the summary every process returns."""
        history, planned = rounds.history, len(self.plan) + len(self.one_of_ones)
        if self.team.is_main:
            ids = sorted([*self.one_of_ones, *(t.token_id for t in self.plan)])
            write_reports(self.destination.folder, ids, history, rounds.tiles)
        self.team.barrier()
        waits = {job.token_id for job in rounds.waiting}
        return Summary(
            folder=self.destination.folder,
            backend=self.renderer.name,
            planned=planned,
            rendered=rounds.rendered,
            resumed=rounds.resumed,
            one_of_ones=len(self.one_of_ones),
            failed=tuple(t.token_id for t in self.plan if t.token_id not in history.accepted and t.token_id not in waits),
            waiting=len(rounds.waiting),
            renders=self.renderer.renders_folder,
            attempts=self.attempts,
            deterministic=self.renderer.deterministic,
            restored=restored,
            acceptance=history.acceptance(),
            top_reasons=tuple(history.reason_counts().most_common(3)),
            seconds=0.0,
            main=self.team.is_main,
        )


def as_curated(plan: list[PlannedToken], history: History, tables: list[TraitTable]) -> list[PlannedToken]:
    """The plan as curation left it: a token whose traits a reroll or a replacement changed renders those."""
    curated = []
    for token in plan:
        traits = history.traits.get(token.token_id)
        combo = combo_of(tables, traits) if traits else None
        curated.append(replace(token, combo=combo) if combo and combo != token.combo else token)
    return curated


def _destination(folder: Path, config: Config, tables: list[TraitTable], renderer: Renderer) -> Destination:
    """Load once what every token's finishing needs; a bad palette or training folder fails before any write."""
    palette_path = config.resolve(config.pixels.palette)
    training_dir = config.resolve(config.quality.training_dir)
    made = renderer.made_by_model  # its traits are checked, a kept render says how to redo it
    layers = drawn_layers(config, tables) if made else None
    if layers is not None and layers.strips and renderer.frame_layers is None:
        _refuse_model_animation(config, tables, layers, renderer.name)
    return Destination(
        folder=folder,
        config=config,
        tables=tables,
        palette=read_palette(palette_path) if palette_path else None,
        backgrounds=background_colors(config, tables[0]),
        drawn=renderer.draws_at_token_size,
        ui_parameters=made,
        training=load_training_set(training_dir, config.pixels.size) if training_dir else None,
        layers=layers,
        animation=animation_of(renderer.frame_layers, config, tables),
    )


def _refuse_model_animation(config: Config, tables: list[TraitTable], layers: Layers, backend: str) -> None:
    """A model draws one picture per token: it cannot follow a strip's frames, so an animated trait folder is refused
    by every backend but sprites, naming one strip."""
    (part, value), strip = next(iter(layers.strips.items()))
    raise UserError(
        f"{config.layers_folder}: {strip_label(layers, tables, part, value)} is a strip of {len(strip)} frames, and only "
        f'[render].backend = "sprites" animates (this run: {backend}); use sprites, or give the value a single-frame layer'
    )
