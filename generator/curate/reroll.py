"""``punkgen reroll FOLDER ID …``: render chosen tokens again at their next attempts, through the run's own path.

A reroll is one request in the manifest. For each listed token a ``reroll`` line demotes its
accepted attempt (its render moves to ``rejected/<id>-<attempt>.png``, reason ``rerolled``) and
grants it as many attempts again as a run does; then the collection loop finishes what is
unfinished: those tokens, at their next seeds (same traits, same prompt), in blocks of their
own, through pixels → quality → write, until accepted or out of attempts. Every other file keeps
its bytes; the contact sheet is redrawn.

``fresh_traits`` also draws each token a new trait set the plan's way (weighted, rules obeyed,
distinct from every other token), seeded by the collection seed, the token and the request, so
the same reroll of a copy of the folder gives the same bytes. Exact sampling refuses it (it
would break the counts), and the sprite backend refuses a reroll without it (its pixels follow
from the traits: another attempt would repeat the first).

Running the same reroll again after an interruption (``kill -9`` included) finishes that request
instead of starting another, and ends byte-identical to an uninterrupted reroll; once it has
finished, the same command is a new reroll.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from generator.config import Config
from generator.errors import UserError
from generator.plan.plan import draw_weighted
from generator.plan.rules import compile_rules
from generator.run.collection import Run, as_curated, plan_run
from generator.run.folder import MANIFEST, SHEET, image_path, metadata_path, rejected_path, require_run
from generator.run.manifest import REJECTED, REROLL, History, encode_record, read_history
from generator.run.summary import Summary


def reroll_tokens(
    config: Config,
    folder: Path,
    token_ids: Sequence[int],
    fresh_traits: bool = False,
    progress: bool = True,
    notify: Callable[[str], None] = lambda line: None,
) -> Summary:
    started = time.perf_counter()
    run = plan_run(config, folder, notify)
    wanted = _check_request(run, token_ids, fresh_traits)
    with run.holding_folder() as lock:
        require_run(folder, run.fingerprint)
        history = read_history(folder / MANIFEST)
        request, missing = _open_request(run, history, wanted)
        draw = _TraitDraw(run, history, request) if fresh_traits else None
        with (folder / MANIFEST).open("a", encoding="utf-8") as stream:
            for token_id in missing:
                record = _demote(run, history, token_id, request, wanted, draw)
                stream.write(encode_record(record))
                stream.flush()  # line by line: a kill leaves whole lines, and the rerun writes only the rest
                history.add(record)
        summary = run.render_all(lock, progress)
    return replace(summary, seconds=time.perf_counter() - started)


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
            f"the {run.backend} backend draws a token from its traits alone, so a reroll would repeat it; "
            "pass --traits to draw new traits, or use punkgen replace"
        )
    if fresh_traits and run.destination.config.traits.sampling == "exact":
        raise UserError(
            f'{run.destination.config.path}: [traits].sampling = "exact" fixes every value\'s count, and new traits '
            "would break them; reroll without --traits"
        )
    if run.team.world > 1:
        raise UserError("reroll runs in one process; start it without accelerate launch or torchrun")
    return frozenset(token_ids)


def _open_request(run: Run, history: History, wanted: frozenset[int]) -> tuple[int, list[int]]:
    """The request to work on, and the tokens still to demote in it: the last request again if it asked for the same
    tokens and was interrupted, else a new one for all of them.

    Interrupted: some of its tokens are not demoted yet or still have attempts left, or the command was killed after
    its last manifest line but before its reports (every command that ends well writes the contact sheet after its
    last line, so the sheet is then older than the manifest)."""
    if history.requests:
        last = max(history.requests)
        asked, demoted = history.requests[last]
        pending = any(history.next_attempt(token_id, run.attempts) is not None for token_id in demoted)
        if asked == wanted and (demoted != asked or pending or not _reports_written(run.destination.folder)):
            return last, sorted(asked - demoted)
    return max(history.requests, default=0) + 1, sorted(wanted)


def _reports_written(folder: Path) -> bool:
    sheet, manifest = folder / SHEET, folder / MANIFEST
    return sheet.exists() and sheet.stat().st_mtime_ns >= manifest.stat().st_mtime_ns


def _demote(
    run: Run, history: History, token_id: int, request: int, wanted: frozenset[int], draw: _TraitDraw | None
) -> dict[str, Any]:
    """Move the token's image aside and return its reroll line (in that order: after a kill between the two the
    rerun finds the image already moved, and writes the line)."""
    folder = run.destination.folder
    attempt = history.last_attempt(token_id)
    accepted = history.accepted.get(token_id)
    if accepted is not None and image_path(folder, token_id).exists():
        os.replace(image_path(folder, token_id), rejected_path(folder, token_id, attempt))
    metadata_path(folder, token_id).unlink(missing_ok=True)
    return {
        "event": REROLL,
        "token_id": token_id,
        "attempt": attempt,
        "verdict": REJECTED,
        "reasons": ["rerolled"],
        "sha256": accepted["sha256"] if accepted else "",
        "traits": draw.fresh(token_id) if draw else history.traits[token_id],
        "request": request,
        "of": sorted(wanted),
        "until": attempt + 1 + run.attempts,
    }


class _TraitDraw:
    """Fresh trait sets the plan's way, each distinct from every other token's current set (kept as one set, updated
    as tokens change, so a reroll of thousands stays linear), seeded by collection, token and request."""

    def __init__(self, run: Run, history: History, request: int):
        self.tables, config = run.destination.tables, run.destination.config
        self.rules = compile_rules(config.rules, self.tables)
        self.combos = {token.token_id: token.combo for token in as_curated(run.plan, history, self.tables)}
        self.taken = set(self.combos.values())
        self.seed, self.request = config.collection.seed, request

    def fresh(self, token_id: int) -> dict[str, str]:
        self.taken.discard(self.combos[token_id])
        rng = random.Random(f"punkgen-reroll:{self.seed}:{token_id}:{self.request}")
        combo = draw_weighted(self.tables, self.rules, 1, rng, self.taken)[0]
        self.taken.add(combo)
        self.combos[token_id] = combo
        return {table.key: table.values[i].name for table, i in zip(self.tables, combo, strict=True)}
