"""``punkgen reroll FOLDER ID …``: render chosen tokens again at their next attempts, through the run's own path.

A reroll is one request in the manifest. For each listed token a ``reroll`` line demotes its
accepted image (a render is kept as ``rejected/<id>-<attempt>.png``, a replacement as
``rejected/<id>-replacement-<n>.png``; never over another file), reason ``rerolled``, and
grants it as many attempts again as a run does; then the collection loop finishes what is
unfinished: those tokens, at their next seeds (same traits, same prompt), in blocks of their
own, through pixels → quality → write, until accepted or out of attempts. Every other file keeps
its bytes; the contact sheet is redrawn.

``fresh_traits`` also draws each token a new trait set the plan's way (weighted, rules obeyed,
distinct from every other token), seeded by the collection seed, the token and the request, so
the same reroll of a copy of the folder gives the same bytes. Exact sampling refuses it (it
would break the counts), and the sprite backend refuses a reroll without it (its pixels follow
from the traits: another attempt would repeat the first). A fresh set always differs from the
token's own; where the tables and rules allow no other, the reroll is refused before any write.

N and the seed come from the folder's ``run.json``, as for every command that reads a finished folder.
Running the same reroll again after an interruption (``kill -9`` included) finishes that request
instead of starting another, and ends byte-identical to an uninterrupted reroll. A request is
finished when its ``done`` line is in the manifest, appended after its reports: never judged by
file times, so a copied or touched folder tells the same story. Then the same command is a new reroll.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from generator.config import Config
from generator.curate.finished import as_made, require_collection_folder
from generator.errors import Arg, UserError
from generator.plan.plan import draw_weighted
from generator.plan.rules import compile_rules, count_valid
from generator.run.animation import check_animation
from generator.run.collection import Run, as_curated, plan_run
from generator.run.folder import MANIFEST, RUN_FILE, keep_demoted, require_run
from generator.run.manifest import DONE, KEPT, REJECTED, REROLL, History, append_record, encode_record, read_history
from generator.run.summary import Summary


def reroll_tokens(
    config: Config,
    folder: Path,
    token_ids: Sequence[int],
    fresh_traits: bool = False,
    progress: bool = True,
    notify: Callable[[str], None] = lambda line: None,
    size: int | None = None,
    seed: int | None = None,
) -> Summary:
    """Reroll ``token_ids`` of ``folder``, made with ``config`` and the N and seed of its ``run.json`` (``size`` and
    ``seed``: what the user passed, if anything, which must agree with it)."""
    started = time.perf_counter()
    require_collection_folder(folder)
    config = _as_made_agreeing(config, folder, size, seed)
    run = plan_run(config, folder, notify)
    wanted = _check_request(run, token_ids, fresh_traits)
    with run.holding_folder() as lock:
        require_run(folder, run.fingerprint)
        history = read_history(folder / MANIFEST)
        request, missing = _open_request(run, history, wanted)
        draw = _TraitDraw(run, history, request) if fresh_traits else None
        traits = {t: draw.fresh(t) if draw else history.traits[t] for t in missing}  # a refusal comes before any write
        if draw:  # new sets may animate past the frame cap or a GIF's colours, which the plan's sets were checked for
            destination = run.destination
            check_animation(destination.animation, [draw.combos[t] for t in missing], destination.config.animation.max_frames)
        with (folder / MANIFEST).open("a", encoding="utf-8") as stream:
            for token_id in missing:
                record = _demote(run, history, token_id, request, wanted, traits[token_id])
                stream.write(encode_record(record))
                stream.flush()  # line by line: a kill leaves whole lines, and the rerun writes only the rest
                history.add(record)
        summary = run.render_all(lock, progress)
        if not _pending(run, read_history(folder / MANIFEST), wanted):  # else: waiting for renders (import)
            append_record(folder / MANIFEST, {"event": DONE, "request": request})  # after the reports render_all wrote
    return replace(summary, seconds=time.perf_counter() - started)


def _as_made_agreeing(config: Config, folder: Path, size: int | None, seed: int | None) -> Config:
    """The config with the folder's own N and seed (as ``verify``, ``export`` and ``replace`` read them); a flag that
    says otherwise is refused rather than silently ignored."""
    made = as_made(config, folder)
    for setting, given, recorded in (
        ("[collection].size", size, made.collection.size),
        ("[collection].seed", seed, made.collection.seed),
    ):
        if given is not None and given != recorded:
            raise UserError(
                f"{setting} = {given} disagrees with {folder / RUN_FILE}, which made the folder with {recorded}; "
                "leave it out (reroll reads it from there)"
            )
    return made


def _check_request(run: Run, token_ids: Sequence[int], fresh_traits: bool) -> frozenset[int]:
    planned = {token.token_id for token in run.plan}
    unknown = sorted(set(token_ids) - planned)
    if unknown and unknown[0] in run.one_of_ones:
        raise UserError(f"token {unknown[0]} is a 1/1; change its image in the [[one_of_one]] entries of the config")
    if unknown:
        first, last = min(planned | set(run.one_of_ones)), max(planned | set(run.one_of_ones))
        raise UserError(f"token {unknown[0]} is not in this collection (ids {first}–{last}); pass ids of its tokens")
    if run.renderer.deterministic and not fresh_traits:
        raise UserError(
            f"the {run.renderer.name} backend draws a token from its traits alone, so a reroll would repeat it; "
            f"pass {Arg.FRESH_TRAITS} to draw new traits, or use punkgen replace"
        )
    if fresh_traits and run.destination.config.traits.sampling == "exact":
        raise UserError(
            f'{run.destination.config.path}: [traits].sampling = "exact" fixes every value\'s count, and new traits '
            f"would break them; reroll without {Arg.FRESH_TRAITS}"
        )
    if run.team.world > 1:
        raise UserError("reroll runs in one process; start it without accelerate launch or torchrun")
    return frozenset(token_ids)


def _open_request(run: Run, history: History, wanted: frozenset[int]) -> tuple[int, list[int]]:
    """The request to work on, and the tokens still to demote in it: the last reroll again if it asked for the same
    tokens and did not finish, else a new request for all of them.

    Finished: its done line is in the manifest, written after its reports. A reroll made before done lines existed
    counts as finished once every token is demoted and none has attempts left."""
    rerolls = [number for number, request in history.requests.items() if request.event == REROLL]
    if rerolls:
        last = history.requests[max(rerolls)]
        finished = last.done or (last.legacy and last.written == last.asked and not _pending(run, history, last.asked))
        if last.asked == wanted and not finished:
            return max(rerolls), sorted(last.asked - last.written)
    return history.next_request(), sorted(wanted)


def _pending(run: Run, history: History, tokens: frozenset[int]) -> bool:
    """Whether a token still has to be demoted or rendered (an import reroll waiting for its renders)."""
    return any(history.next_attempt(token_id, run.attempts) is not None for token_id in tokens)


def _demote(
    run: Run, history: History, token_id: int, request: int, wanted: frozenset[int], traits: dict[str, str]
) -> dict[str, Any]:
    """Keep the token's image under rejected/ and return its reroll line (in that order: after a kill between the two
    the rerun finds the image already kept, and writes the line). Its files stay until its new render replaces them,
    or the reports remove them if it fails."""
    attempt = history.last_attempt(token_id)
    accepted = history.accepted.get(token_id)
    kept = keep_demoted(run.destination.folder, token_id, history.demoted_label(token_id))
    return {
        "event": REROLL,
        "token_id": token_id,
        "attempt": attempt,
        "verdict": REJECTED,
        "reasons": ["rerolled"],
        "sha256": accepted["sha256"] if accepted else "",
        "traits": traits,
        "request": request,
        "of": sorted(wanted),
        "until": attempt + 1 + run.attempts,
        KEPT: kept,
    }


class _TraitDraw:
    """Fresh trait sets the plan's way, each distinct from every token's current set (the rerolled token's own
    included: a fresh draw that hands back the same traits is no reroll), kept as one set, updated as tokens change, so
    a reroll of thousands stays linear; seeded by collection, token and request."""

    def __init__(self, run: Run, history: History, request: int):
        self.tables, config = run.destination.tables, run.destination.config
        self.rules = compile_rules(config.rules, self.tables)
        self.combos = {token.token_id: token.combo for token in as_curated(run.plan, history, self.tables)}
        self.taken = set(self.combos.values())
        self.seed, self.request = config.collection.seed, request
        self.capacity = count_valid(self.tables, self.rules)
        self.folder = run.destination.folder

    def fresh(self, token_id: int) -> dict[str, str]:
        if len(self.taken) >= self.capacity:
            raise UserError(
                f"{Arg.FRESH_TRAITS}: all {self.capacity} trait sets the tables and [[rules]] allow are taken by tokens of "
                f"{self.folder}, so token {token_id} cannot get new ones; add values to the trait tables or lower N "
                "(a new collection), or fix the token with punkgen replace"
            )
        rng = random.Random(f"punkgen-reroll:{self.seed}:{token_id}:{self.request}")
        combo = draw_weighted(self.tables, self.rules, 1, rng, self.taken)[0]
        self.taken.discard(self.combos[token_id])
        self.taken.add(combo)
        self.combos[token_id] = combo
        return {table.key: table.values[i].name for table, i in zip(self.tables, combo, strict=True)}
