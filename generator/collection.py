"""The batch loop: plan → render → write, resumable at any point.

A token is finished when its line is in ``manifest.jsonl``; the line is appended only after its
image and metadata were renamed into place, so a run killed at any moment (``kill -9``
included) and started again skips exactly the finished tokens and ends byte-identical to an
uninterrupted run. ``run.json`` fingerprints everything that decides the pixels and metadata;
a different config or seed in the same folder is refused unless ``force``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from PIL import Image
from tqdm import tqdm

from generator.config import Config
from generator.errors import UserError
from generator.files import remove_partials, slugify, write_atomic
from generator.finishing import Destination, encode_png, finish_batch
from generator.prompts import PromptTemplate, prompt_template
from generator.render import Renderer, RenderJob, choose_backend, create_renderer
from generator.rules import compile_rules
from generator.sampling import PlannedToken, plan_collection, token_seed
from generator.sheet import contact_sheet
from generator.traits import TraitTable, load_traits
from generator.workers import executor_for

RUN_FILE = "run.json"
MANIFEST = "manifest.jsonl"
SHEET = "contact_sheet.png"
OWNED = (RUN_FILE, MANIFEST, SHEET, "images", "metadata", "rejected", "export", "index.html", "rejects.csv")


@dataclass(frozen=True)
class Summary:
    folder: Path
    backend: str
    planned: int
    rendered: int
    resumed: int
    seconds: float


def default_folder(config: Config) -> Path:
    return Path("output") / slugify(config.collection.name)


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
    tables = load_traits(config)
    rules = compile_rules(config.rules, tables)
    template = prompt_template(config.prompt, tables, config.path)
    choice = choose_backend(config)
    if choice.notice:
        notify(choice.notice)
    renderer = create_renderer(choice.name, config, tables)
    c = config.collection
    plan = plan_collection(tables, rules, c.size, c.seed, config.traits.sampling, c.first_token_id)
    folder = out or default_folder(config)
    _prepare_folder(folder, _fingerprint(config, tables, renderer), force)
    finished = _finished_tokens(folder / MANIFEST)
    todo = [token for token in plan if token.token_id not in finished]
    destination = Destination(folder, config, tables)
    tiles: dict[int, np.ndarray] = {}
    with (
        (folder / MANIFEST).open("a", encoding="utf-8") as stream,
        tqdm(total=len(plan), initial=len(plan) - len(todo), unit="token", desc="render", disable=not progress) as bar,
    ):
        manifest = _Manifest(stream, bar)
        executor = executor_for(len(todo))
        try:
            for batch in _batches(todo, renderer.batch_size):
                jobs = [_job(config, tables, template, token) for token in batch]
                pixels = renderer.render(jobs)
                tiles.update(zip((job.token_id for job in jobs), pixels, strict=True))
                manifest.add(executor.submit(finish_batch, destination, jobs, pixels))
            manifest.drain()
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
    write_atomic(folder / SHEET, encode_png(contact_sheet([_tile(folder, token.token_id, tiles) for token in plan])))
    return Summary(folder, choice.name, len(plan), len(todo), len(plan) - len(todo), time.perf_counter() - started)


def _job(config: Config, tables: list[TraitTable], template: PromptTemplate, token: PlannedToken) -> RenderJob:
    return RenderJob(
        token_id=token.token_id,
        combo=token.combo,
        prompt=template.compose(tables, token.combo),
        negative_prompt=template.negative,
        seed=token_seed(config.collection.seed, token.token_id, 0),
    )


class _Manifest:
    """Appends each batch's lines once its files are written, in submission order, so the manifest stays a prefix."""

    MAX_IN_FLIGHT = 16  # batches; bounds memory while workers catch up

    def __init__(self, stream: TextIO, bar: tqdm):
        self.stream, self.bar = stream, bar
        self.pending: deque[Future[list[str]]] = deque()

    def add(self, batch: Future[list[str]]) -> None:
        self.pending.append(batch)
        while self.pending and (self.pending[0].done() or len(self.pending) > self.MAX_IN_FLIGHT):
            self._append(self.pending.popleft().result())

    def drain(self) -> None:
        while self.pending:
            self._append(self.pending.popleft().result())

    def _append(self, lines: list[str]) -> None:
        self.stream.write("".join(lines))
        self.stream.flush()
        self.bar.update(len(lines))


def _tile(folder: Path, token_id: int, tiles: dict[int, np.ndarray]) -> np.ndarray:
    """This run's pixels from memory; tokens finished by an earlier run are read back from disk."""
    if token_id not in tiles:
        with Image.open(folder / "images" / f"{token_id}.png") as image:
            tiles[token_id] = np.asarray(image.convert("RGB"))
    return tiles[token_id]


def _batches(tokens: Sequence[PlannedToken], size: int) -> Iterator[Sequence[PlannedToken]]:
    for start in range(0, len(tokens), size):
        yield tokens[start : start + size]


def _fingerprint(config: Config, tables: list[TraitTable], renderer: Renderer) -> dict[str, Any]:
    """Everything that decides the output files; a resumed run must match it exactly.

    The batch size is left to the renderer's identity: it cannot change a sprite, while a
    diffusion backend whose pixels depend on it says so there.
    """
    settings = config.as_dict()
    del settings["render"]["batch_size"]
    inputs = {
        "config": settings,
        "traits": [[table.key, [[v.name, v.weight, v.prompt, v.layer] for v in table.values]] for table in tables],
        "renderer": renderer.identity,
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return {"fingerprint": digest, "seed": config.collection.seed, "size": config.collection.size}


def _prepare_folder(folder: Path, run: dict[str, Any], force: bool) -> None:
    """Create the layout, or check that an existing folder holds this very run; ``force`` clears what punkgen owns."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file; choose another --out")
    existing = _read_run(folder)
    if force:
        for name in OWNED:
            target = folder / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    elif existing is not None and existing != run:
        raise UserError(
            f"{folder} holds a different collection (seed {existing.get('seed')}, size {existing.get('size')}, or other settings); "
            "use another --out, or pass --force to replace it"
        )
    elif existing is None and folder.exists() and any(folder.iterdir()):
        raise UserError(f"{folder} is not empty and holds no punkgen run ({RUN_FILE}); use another --out, or pass --force")
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / RUN_FILE, (json.dumps(run, indent=2) + "\n").encode())
    for sub in ("images", "metadata"):
        (folder / sub).mkdir(exist_ok=True)
    remove_partials(folder)


def _read_run(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / RUN_FILE).read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{folder / RUN_FILE} is corrupt; pass --force to start this folder again") from None


def _finished_tokens(manifest: Path) -> set[int]:
    """Token ids with an accepted line; a torn last line (killed mid-write) is cut off so appends stay clean."""
    if not manifest.exists():
        return set()
    data = manifest.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with manifest.open("r+b") as stream:
            stream.truncate(len(complete))
    records = (json.loads(line) for line in complete.decode("utf-8").splitlines())
    return {record["token_id"] for record in records if record["verdict"] == "accepted"}
