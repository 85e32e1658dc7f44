"""Where a training image's caption comes from, in this order:

1. ``<stem>.txt`` beside the source image (kohya's own convention);
2. ``--captions FILE.csv``: a ``file,caption`` table, or a ``file,<trait>,<trait>…`` table whose
   trait values are turned into the prompt by the collection's trait tables and template
   (``--traits traits/collection.toml``), so captions read exactly like the prompts punkgen renders;
3. a punkgen collection folder's ``manifest.jsonl`` (its ``prompt`` for each token id);
4. otherwise the instance phrase, as kohya does for an uncaptioned image (the summary counts these).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from generator.errors import UserError
from generator.run.manifest import read_history
from generator.text import read_csv, read_text

MAX_CAPTION = 2_000  # characters: kohya's CLIP reads 75 tokens of it (225 with --max_token_length)
SOURCE_TXT, SOURCE_CSV, SOURCE_MANIFEST, SOURCE_INSTANCE = "txt", "csv", "manifest", "instance"


def one_line(text: str) -> str:
    """kohya reads the first line of a caption file only; keep the caption on one line."""
    return " ".join(text.split())


def caption_lookup(
    captions_csv: Path | None, traits_config: Path | None, manifest: Path | None, instance: str
) -> Callable[[Path], tuple[str, str]]:
    """A function ``source image → (caption, source)`` following the order above."""
    table = read_captions_csv(captions_csv, traits_config) if captions_csv else {}
    prompts = read_manifest_prompts(manifest) if manifest else {}

    def lookup(image: Path) -> tuple[str, str]:
        beside = image.with_suffix(".txt")
        if beside.is_file():
            text = one_line(read_text(beside, "write the caption as one line of UTF-8 text"))  # bounded, strict UTF-8
            if text:
                return text, SOURCE_TXT
        for key in (image.name, image.stem):
            if key in table:
                return table[key], SOURCE_CSV
        if image.stem in prompts:
            return prompts[image.stem], SOURCE_MANIFEST
        return instance, SOURCE_INSTANCE

    return lookup


def read_captions_csv(path: Path, traits_config: Path | None) -> dict[str, str]:
    """``file → caption`` from a ``file,caption`` table or a ``file,<trait>…`` table (via the trait tables)."""
    rows = read_csv(path, "pass a CSV with columns file,caption", MAX_CAPTION)  # strict: a stray quote is named
    header = [cell.strip() for cell in rows[0][1]] if rows else []
    if "file" not in header:
        raise UserError(f"{path} line 1: no 'file' column; the header must be file,caption or file,<trait>,<trait>…")
    body = [(line, dict(zip(header, (cell.strip() for cell in row), strict=False))) for line, row in rows[1:] if any(row)]
    if "caption" in header:
        return {cells["file"]: one_line(cells.get("caption", "")) for _, cells in body}
    return _captions_from_traits(path, header, body, traits_config)


def _captions_from_traits(
    path: Path, header: list[str], body: list[tuple[int, dict[str, str]]], traits_config: Path | None
) -> dict[str, str]:
    from generator.config import DEFAULT_CONFIG_PATH, load_config
    from generator.plan.prompts import prompt_template
    from generator.plan.traits import load_traits

    config = load_config(traits_config or DEFAULT_CONFIG_PATH)
    tables = load_traits(config)
    template = prompt_template(config.prompt, tables, config.path)
    keys = [table.key for table in tables]
    missing = [key for key in keys if key not in header]
    unknown = [column for column in header if column not in keys and column != "file"]
    if unknown or missing:
        problem = f"unknown column(s) {', '.join(unknown)}" if unknown else f"missing trait column(s) {', '.join(missing)}"
        raise UserError(
            f"{path} line 1: {problem}; the header must be file,caption or file,{','.join(keys)} (traits of {config.path})"
        )
    captions = {}
    for line, cells in body:
        combo = []
        for table in tables:
            index = table.index_of(cells.get(table.key, ""))
            if index is None:
                raise UserError(
                    f"{path} line {line}: {table.key} value {cells.get(table.key, '')!r} is not in {table.path}; check the spelling"
                )
            combo.append(index)
        captions[cells["file"]] = template.compose(tables, tuple(combo))
    return captions


def read_manifest_prompts(path: Path) -> dict[str, str]:
    """``token id → prompt`` of the accepted tokens in a punkgen collection's manifest.

    Read by the manifest's own reader (which names a line that is not a record), and only read: a
    torn last line of a killed run is skipped here and left for the collection's next run to cut
    off. A token accepted by a line without a prompt (a replaced image) keeps the prompt its
    latest render had: the replacement shows the same token.
    """
    history = read_history(path, repair=False)
    rendered = {record["token_id"]: record["prompt"] for record in history.records if record.get("prompt")}
    prompts = {token_id: record.get("prompt") or rendered.get(token_id) for token_id, record in history.accepted.items()}
    return {str(token_id): one_line(prompt) for token_id, prompt in prompts.items() if prompt}
