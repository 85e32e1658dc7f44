"""The guarantees the sprite fast paths pay for once instead of per token still hold: every token document is valid
(validated once per shape), a token file written in place survives a kill -9 (resume, verify and --force), and the
sprite path imports no model or image-science library."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, collection_args, edit, folder_bytes, refused, run_cli, run_importing_none_of

from generator import files, schemas
from generator.config import load_config
from generator.curate.finished import load_collection
from generator.files import write_unvouched

TOKEN = {
    "name": "Punks #1",
    "description": "",
    "image": "ipfs://x/1.png",
    "attributes": [{"trait_type": "Background", "value": "Blue"}, {"trait_type": "Hair", "value": "Mohawk"}],
}


def with_attribute(value: object) -> dict:
    return {**TOKEN, "attributes": [*TOKEN["attributes"][:1], {"trait_type": "Hair", "value": value}]}


# ── metadata validated once per shape ─────────────────────────────────────────────────────────


METAPLEX = {
    "name": "Bespoke Punks #12",
    "symbol": "BPUNK",
    "description": "",
    "image": "12.png",
    "attributes": [{"trait_type": "Hair", "value": "Mohawk"}],
    "properties": {"files": [{"uri": "12.png", "type": "image/png"}], "category": "image"},
}


def test_schemas_made_of_keywords_a_shape_answers_are_judged_by_shape() -> None:
    assert schemas.judged_by_shape("token.schema.json") and schemas.judged_by_shape("metaplex.schema.json")
    assert not schemas.judged_by_shape("config.schema.json")  # $ref, anyOf, uniqueItems …
    assert not schemas.judged_by_shape("contract.schema.json")  # $ref, dependentRequired …


@pytest.mark.parametrize(
    "broken",
    [
        {**METAPLEX, "name": "Bespoke Punks Deluxe Edition #12345"},  # 33 characters: maxLength 32
        {**METAPLEX, "symbol": "BESPOKEPUNK"},  # maxLength 10
        {**METAPLEX, "properties": {**METAPLEX["properties"], "category": "video"}},  # enum
        {**METAPLEX, "properties": {**METAPLEX["properties"], "files": [{"uri": "12.png", "type": "image/gif"}]}},
        {**METAPLEX, "properties": {**METAPLEX["properties"], "files": []}},  # minItems 1
    ],
)
def test_a_document_differing_from_a_valid_one_in_what_its_schema_reads_is_refused(broken: dict) -> None:
    schemas.validate(METAPLEX, "metaplex.schema.json")
    schemas.validate({**METAPLEX, "name": "Bespoke Punks Deluxe Edition #99"}, "metaplex.schema.json")  # 32: fine
    with pytest.raises(ValueError, match="breaks metaplex.schema.json"):
        schemas.validate(broken, "metaplex.schema.json")


def test_names_of_one_length_are_one_shape(monkeypatch, tmp_path: Path) -> None:
    """Metaplex's schema bounds a name's length, so a name is seen as its length: 10,000 names have 5."""
    checked: list = []
    spy_on_full_checks(monkeypatch, checked)
    monkeypatch.setattr(schemas, "_valid_shapes", schemas.defaultdict(set))
    monkeypatch.setenv("PUNKGEN_CACHE", str(tmp_path))
    for token_id in (10, 11, 99, 100, 123):
        schemas.validate({**METAPLEX, "name": f"Bespoke Punks #{token_id}"}, "metaplex.schema.json")
    assert len(checked) == 2  # one per length


@pytest.mark.parametrize(
    "broken",
    [
        with_attribute(""),  # empty: minLength 1
        with_attribute(7),  # a number where a string belongs
        with_attribute(True),
        {**TOKEN, "name": ""},
        {**TOKEN, "extra": "x"},  # additionalProperties: false
        {key: value for key, value in TOKEN.items() if key != "image"},  # required
        {**TOKEN, "attributes": [{"trait_type": "Hair"}]},
        {**TOKEN, "attributes": ({"trait_type": "Hair", "value": "x"},)},  # a tuple is no JSON array
    ],
)
def test_a_document_differing_from_a_validated_one_only_in_shape_is_still_refused(broken: dict) -> None:
    schemas.validate(TOKEN, "token.schema.json")  # its shape is now known to be valid
    with pytest.raises(ValueError, match="breaks token.schema.json"):
        schemas.validate(broken, "token.schema.json")


def test_documents_of_one_shape_are_validated_in_full_once_even_across_processes(monkeypatch, tmp_path: Path) -> None:
    checked = []
    spy_on_full_checks(monkeypatch, checked)
    monkeypatch.setenv("PUNKGEN_CACHE", str(tmp_path / "cache"))
    for _process in range(2):  # the second starts with nothing in memory, as a new run does
        monkeypatch.setattr(schemas, "_valid_shapes", schemas.defaultdict(set))
        for value in ("Mohawk", "Bob", "Wild Hair", "Cap"):
            schemas.validate(with_attribute(value), "token.schema.json")
        schemas.validate({**TOKEN, "attributes": TOKEN["attributes"][:1]}, "token.schema.json")  # one attribute fewer
    assert len(checked) == 2
    assert len(list((tmp_path / "cache" / "proven").iterdir())) == 2


def test_a_schema_reading_content_validates_every_document(monkeypatch) -> None:
    checked = []
    spy_on_full_checks(monkeypatch, checked)
    for _ in range(3):
        schemas.validate({"name": "Punks", "description": "", "image": "ipfs://x"}, "contract.schema.json")
    assert len(checked) == 3


def test_drafts_read_back_are_checked_in_full_once_per_shape(config_path: Path, tmp_path: Path, monkeypatch) -> None:
    """`export` and `rarity` read every draft back from disk; jsonschema took 5 s to check 10,000 of them one by one."""
    monkeypatch.setenv("PUNKGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(schemas, "_valid_shapes", schemas.defaultdict(set))  # as in a new process: the run keeps proofs
    assert run_cli(*collection_args(config_path, tmp_path / "out", 40)).exit_code == 0
    config = load_config(config_path)
    checked: list = []
    spy_on_full_checks(monkeypatch, checked)
    for cache in ("cache", "fresh cache"):  # proven by the run; then, with nothing kept, once per shape
        monkeypatch.setenv("PUNKGEN_CACHE", str(tmp_path / cache))
        monkeypatch.setattr(schemas, "_valid_shapes", schemas.defaultdict(set))
        tokens = load_collection(tmp_path / "out", config).tokens
    shapes = {schemas.shape("token.schema.json", token.document) for token in tokens}
    assert len(tokens) == 40 and len(checked) == len(shapes) < 40


def spy_on_full_checks(monkeypatch, checked: list) -> None:
    """Record each document jsonschema itself checks."""
    full = schemas.best_error
    monkeypatch.setattr(
        schemas, "best_error", lambda document, schema, *rest: checked.append(document) or full(document, schema, *rest)
    )


# ── passes kept across runs ───────────────────────────────────────────────────────────────────


def test_a_run_of_a_proven_config_imports_neither_jsonschema_nor_tqdm(config_path: Path, tmp_path: Path, monkeypatch) -> None:
    """jsonschema (referencing, rpds, attrs) and tqdm were a fifth of a 1,000-token run's start-up: the first run's
    passes are kept, and a --quiet run draws no bar."""
    monkeypatch.setenv("PUNKGEN_CACHE", str(tmp_path / "cache"))
    probe = "import sys; from generator.cli import main\nmain(sys.argv[1:])"
    first = collection_args(config_path, tmp_path / "first", 30)
    subprocess.run([sys.executable, "-c", probe, *map(str, first)], cwd=REPO, check=True)
    assert len(list((tmp_path / "cache" / "proven").iterdir())) >= 2  # the config and a document shape
    run_importing_none_of(("jsonschema", "tqdm"), *collection_args(config_path, tmp_path / "second", 30))
    assert folder_bytes(tmp_path / "first") == folder_bytes(tmp_path / "second")


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("seed = 42", "seed = true", "[collection].seed"),  # 42 passed; a boolean is no integer
        ("seed = 42", 'seed = "42"', "[collection].seed"),
        ("size = 100", "size = 0", "[collection].size"),
        ('sampling = "weighted"', 'sampling = "Weighted"', "[traits].sampling"),
    ],
)
def test_a_config_edited_after_it_passed_is_checked_again(
    config_path: Path, tmp_path: Path, monkeypatch, old: str, new: str, named: str
) -> None:
    monkeypatch.setenv("PUNKGEN_CACHE", str(tmp_path / "cache"))
    assert run_cli("traits", "check", "--config", config_path).exit_code == 0
    assert list((tmp_path / "cache" / "proven").iterdir())
    edit(config_path, old, new)
    assert named in refused("traits", "check", "--config", config_path)


def test_a_cache_that_cannot_be_written_only_costs_the_check(config_path: Path, tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("PUNKGEN_CACHE", str(blocker))  # proven/ cannot be made inside a file
    for out in ("first", "second"):
        assert run_cli(*collection_args(config_path, tmp_path / out, 10)).exit_code == 0
    assert folder_bytes(tmp_path / "first") == folder_bytes(tmp_path / "second")
    edit(config_path, "seed = 42", "seed = -1")
    assert "[collection].seed" in refused("traits", "check", "--config", config_path)


# ── token files written in place ──────────────────────────────────────────────────────────────


def test_a_new_token_file_is_created_in_place_and_an_existing_one_replaced_atomically(tmp_path: Path, monkeypatch) -> None:
    staged = []
    atomic = files.write_atomic
    monkeypatch.setattr(files, "write_atomic", lambda path, data: staged.append(path) or atomic(path, data))
    path = tmp_path / "1.png"
    write_unvouched(path, b"first")
    assert (path.read_bytes(), staged) == (b"first", [])
    write_unvouched(path, b"second")  # it may be a file a manifest line vouches for (a reroll renders over it)
    assert (path.read_bytes(), staged) == (b"second", [path])


@pytest.mark.parametrize("images_first", [True, False])
def test_a_block_of_sprite_tokens_creates_all_of_one_folder_before_the_other(
    config_path: Path, tmp_path: Path, monkeypatch, images_first: bool
) -> None:
    """A folder takes one file creation at a time: consecutive tasks of two workers start in opposite folders."""
    from generator.config import load_config
    from generator.run import finish
    from generator.run.collection import plan_run

    run = plan_run(
        load_config(config_path).override("collection", size=6).override("render", backend="sprites"), tmp_path / "out", print
    )
    for folder in ("images", "metadata"):
        (tmp_path / "out" / folder).mkdir(parents=True)
    jobs = [run.job(token, 0) for token in run.plan]
    created = []
    monkeypatch.setattr(
        finish, "write_unvouched", lambda path, data: created.append(path.parent.name) or write_unvouched(path, data)
    )
    outcomes = finish.finish_batch(run.destination, jobs, run.renderer.render(jobs), images_first)
    combos = {job.token_id: job.combo for job in jobs}
    first, second = ("images", "metadata") if images_first else ("metadata", "images")
    assert created == [first] * 6 + [second] * 6
    assert [o.record["token_id"] for o in outcomes] == [job.token_id for job in jobs]
    for outcome in outcomes:
        token_id = outcome.record["token_id"]
        png = (tmp_path / "out" / "images" / f"{token_id}.png").read_bytes()
        assert outcome.record["sha256"] == hashlib.sha256(png).hexdigest()
        assert (tmp_path / "out" / "metadata" / f"{token_id}.json").read_bytes() == finish.expected_metadata(
            run.destination, token_id, combos[token_id]
        )


def test_token_files_torn_by_a_kill_are_named_by_verify_and_rewritten_by_the_resume(config_path: Path, tmp_path: Path) -> None:
    """What a kill -9 in the middle of writing token 6 leaves: half its image, half its metadata, no manifest line."""
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    for out in (whole, killed):
        assert run_cli(*collection_args(config_path, out, 8)).exit_code == 0
    tear(killed, last_line=5, torn=6)
    result = run_cli("verify", killed, "--config", config_path)
    assert f"{killed / 'images' / '6.png'}: left by an interrupted run of a token not finished yet" in result.output
    assert f"{killed / 'metadata' / '6.json'}: left by an interrupted run" in result.output
    assert run_cli(*collection_args(config_path, killed, 8)).exit_code == 0
    assert folder_bytes(killed) == folder_bytes(whole)


def test_force_removes_token_files_torn_by_a_kill(config_path: Path, tmp_path: Path) -> None:
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    for out in (whole, killed):
        assert run_cli(*collection_args(config_path, out, 8)).exit_code == 0
    tear(killed, last_line=5, torn=6)
    (killed / "notes.txt").write_text("the creator's own")
    assert run_cli(*collection_args(config_path, killed, 8, "--seed", 7, "--force")).exit_code == 0
    assert run_cli(*collection_args(config_path, killed, 8, "--force")).exit_code == 0
    assert folder_bytes(killed) == {**folder_bytes(whole), "notes.txt": b"the creator's own"}


def tear(out: Path, last_line: int, torn: int) -> None:
    """Cut the manifest after ``last_line`` lines, and leave token ``torn``'s files half written."""
    manifest = out / "manifest.jsonl"
    manifest.write_text("".join(manifest.read_text().splitlines(keepends=True)[:last_line]))
    for path in (out / "images" / f"{torn}.png", out / "metadata" / f"{torn}.json"):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for later in range(torn + 1, torn + 3):
        (out / "images" / f"{later}.png").unlink()
        (out / "metadata" / f"{later}.json").unlink()


@pytest.mark.parametrize("kill_after", [0, 1, 256])
def test_kill_9_while_writing_token_files_then_resume_is_byte_identical(
    config_path: Path, tmp_path: Path, kill_after: int
) -> None:
    """A real kill -9 of an inline run (no workers) as soon as ``kill_after`` manifest lines are in: it is then writing
    the files of the next batch (256 tokens, ~0.1 s of work). The resume must end as an uninterrupted run."""
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert run_cli(*collection_args(config_path, whole, 600)).exit_code == 0
    command = [sys.executable, "-m", "generator", *map(str, collection_args(config_path, killed, 600))]
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while manifest_lines(killed) < kill_after and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    process.kill()
    process.wait()
    assert run_cli(*collection_args(config_path, killed, 600)).exit_code == 0
    assert folder_bytes(killed) == folder_bytes(whole)


def manifest_lines(out: Path) -> int:
    try:
        return (out / "manifest.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return -1


# ── start-up ──────────────────────────────────────────────────────────────────────────────────


def test_a_sprite_collection_imports_no_model_or_image_science_library(config_path: Path, tmp_path: Path) -> None:
    """scikit-image and SciPy cost a sprite run ~0.5 s to import, more than 1,000 tokens of work."""
    heavy = ("torch", "diffusers", "transformers", "safetensors", "peft", "accelerate", "skimage", "scipy")
    run_importing_none_of(heavy, *collection_args(config_path, tmp_path / "out", 30))
