"""``punkgen replace FOLDER ID --image FILE``: an artist's hand-fixed version of a token, recorded like any render.

The image must be the collection's S×S, or an exact integer NEAREST upscale of it (every k×k
block one colour), which is reduced; it must be opaque. A replacement that shows the same pixels
as another token is refused, as the run refuses duplicates. Colours off the collection palette
are allowed (it is the artist's call) but named in a warning. The token keeps its traits unless
``changes`` (``--set TRAIT=VALUE``) picks other values from the tables; its metadata follows them.

The image being replaced is copied to ``rejected/`` first (a render as ``<id>-<attempt>.png``, an
earlier replacement as ``<id>-replacement-<n>.png``; never over another file). The image and
metadata are written next (a replacement is a still: an animated token's GIF is removed, its ``image`` links the
PNG), then a ``replace`` line (the new image's sha256, the source file's,
where the old image went), so the manifest alone explains the token; resume and ``verify`` hold
the folder to it, and ``export`` publishes it like any token. The contact sheet is redrawn, then
a ``done`` line closes the request. Run again after a kill at any point, the same command
finishes it and ends byte-identical to an uninterrupted replacement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.config import Config
from generator.curate.finished import as_made, require_collection_folder
from generator.errors import Arg, UserError
from generator.files import place_errors_said, remove_partials, write_atomic
from generator.images import read_handmade
from generator.pixels.palette import read_palette
from generator.plan.metadata import encode, token_metadata
from generator.plan.rules import compile_rules
from generator.plan.traits import TraitTable, combo_of, load_traits
from generator.run.folder import MANIFEST, animation_path, image_path, keep_demoted, metadata_path
from generator.run.lock import folder_lock
from generator.run.manifest import ACCEPTED, DONE, KEPT, ONE_OF_ONE, REPLACE, History, append_record, event_of, read_history
from generator.run.sheet import write_reports

LISTED_COLOURS = 5  # off-palette colours named in the warning; the rest are counted


@dataclass(frozen=True)
class Replacement:
    token_id: int
    image: Path
    scale: int  # the NEAREST upscale the source was reduced from (1: it was S×S)
    traits: dict[str, str]
    off_palette: tuple[str, ...]  # #rrggbb colours not in [pixels].palette

    def report(self) -> list[str]:
        """What was done, and (prefixed ``warning:``) the colours the palette does not hold."""
        reduced = f", reduced from its {self.scale}× upscale" if self.scale > 1 else ""
        lines = [f"token {self.token_id} is now {self.image}{reduced}; traits: {', '.join(self.traits.values())}"]
        if self.off_palette:
            shown = ", ".join(self.off_palette[:LISTED_COLOURS])
            more = f" and {len(self.off_palette) - LISTED_COLOURS} more" if len(self.off_palette) > LISTED_COLOURS else ""
            lines.append(f"warning: {len(self.off_palette)} colour(s) not in [pixels].palette: {shown}{more}")
        return lines


def replace_token(config: Config, folder: Path, token_id: int, source: Path, changes: Sequence[tuple[str, str]]) -> Replacement:
    """Check everything, then write the token's image and metadata and record the replacement.

    The same replacement again (the token already shows this image with these traits) records nothing new: it finishes
    what a killed run of it left (its files, reports and done line), so a rerun never demotes the new image over the
    original render it demoted."""
    require_collection_folder(folder)
    config = as_made(config, folder)
    tables = load_traits(config)
    art = read_handmade(source, config.pixels.size, Arg.IMAGE)  # before the lock: a bad file never holds the folder
    fix = "fix that, then run the same command again: it finishes the replacement"
    with folder_lock(folder, "the replacement"), place_errors_said(folder, fix):
        remove_partials(folder)  # staged by a killed command: never renamed now
        history = read_history(folder / MANIFEST)
        _check_token(folder, config, history, token_id)
        traits = _changed_traits(tables, history.traits[token_id], changes)
        _check_distinct(config, tables, history, token_id, source, art.sha256, traits, bool(changes))
        combo = combo_of(tables, traits)
        assert combo is not None  # every value was checked against the tables
        accepted = history.accepted.get(token_id, {})
        again = event_of(accepted) == REPLACE and accepted["sha256"] == art.sha256 and accepted["traits"] == traits
        kept = None if again else keep_demoted(folder, token_id, history.demoted_label(token_id))
        write_atomic(image_path(folder, token_id), art.png)
        write_atomic(metadata_path(folder, token_id), encode(token_metadata(config, tables, token_id, combo)))
        animation_path(folder, token_id).unlink(missing_ok=True)  # a hand-made image is a still: its metadata says so
        request = accepted.get("request") if again else history.next_request()
        if not again:
            record = {
                "event": REPLACE,
                "token_id": token_id,
                "verdict": ACCEPTED,
                "reasons": [],
                "sha256": art.sha256,
                "source_sha256": art.source_sha256,
                "traits": traits,
                "request": request,
                KEPT: kept,
            }
            append_record(folder / MANIFEST, record)
            history.add(record)
        write_reports(folder, _token_ids(config), history, {})
        if request is not None and not history.requests[request].done:
            append_record(folder / MANIFEST, {"event": DONE, "request": request})
    return Replacement(token_id, source, art.scale, traits, _off_palette(config, art.pixels))


def _check_distinct(
    config: Config,
    tables: list[TraitTable],
    history: History,
    token_id: int,
    source: Path,
    digest: str,
    traits: dict[str, str],
    changed: bool,
) -> None:
    """Every token keeps its own pixels and its own traits, and ``--set`` obeys the rules."""
    owner = history.digests.get(digest)
    if owner is not None and owner != token_id:
        raise UserError(f"{source} shows the same pixels as token {owner}; every token must differ")
    twin = next((t for t, other in history.traits.items() if other == traits and t != token_id), None)
    if twin is not None:
        raise UserError(f"{Arg.CHANGES} would give token {token_id} the traits of token {twin}; every token's traits must differ")
    combo = combo_of(tables, traits)
    broken = next((rule for rule in compile_rules(config.rules, tables) if rule.violated_by(combo)), None) if changed else None
    if broken is not None:
        raise UserError(
            f"{Arg.CHANGES} would give token {token_id} traits that [[rules]] #{broken.number} of {config.path} forbids; "
            "choose values the rules allow"
        )


def _token_ids(config: Config) -> list[int]:
    c = config.collection
    return list(range(c.first_token_id, c.first_token_id + c.size))


def _check_token(folder: Path, config: Config, history: History, token_id: int) -> None:
    ids = _token_ids(config)
    if token_id not in ids:
        raise UserError(f"token {token_id} is not in {folder} (ids {ids[0]}–{ids[-1]}); pass one of its ids")
    if event_of(history.accepted.get(token_id, {})) == ONE_OF_ONE:
        raise UserError(f"token {token_id} is a 1/1; change its image in the [[one_of_one]] entries of {config.path}")
    if token_id not in history.traits:
        raise UserError(f"token {token_id} of {folder} was never rendered; finish the run first (the same collection command)")


def _changed_traits(tables: list[TraitTable], traits: dict[str, str], changes: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The token's traits with ``changes`` (trait key or attribute name, a value of that table) applied.

    A sequence, not a mapping: two changes of one trait (``Eyes=Blue`` and ``eyes=Green``) are refused, where a
    mapping would keep whichever came last without a word."""
    changed, set_by = dict(traits), dict[str, tuple[str, str]]()
    for trait, value in changes:
        table = next((t for t in tables if trait.lower() in (t.key.lower(), t.trait_type.lower())), None)
        if table is None:
            raise UserError(f"{Arg.CHANGES} {trait}={value}: no trait '{trait}'; traits: {', '.join(t.key for t in tables)}")
        if table.index_of(value) is None:
            raise UserError(f"{Arg.CHANGES} {trait}={value}: '{value}' is not a value of {table.path}; check its spelling there")
        earlier = set_by.setdefault(table.key, (trait, value))
        if earlier[1] != value:
            raise UserError(
                f"{Arg.CHANGES} {trait}={value}: {Arg.CHANGES} {'='.join(earlier)} already changes {table.key}; keep one of them"
            )
        changed[table.key] = value
    return changed


def _off_palette(config: Config, pixels: np.ndarray) -> tuple[str, ...]:
    palette_path = config.resolve(config.pixels.palette)
    if palette_path is None:
        return ()
    known = {tuple(colour) for colour in read_palette(palette_path).colors.tolist()}
    used = {tuple(colour) for colour in pixels.reshape(-1, 3).tolist()}
    return tuple("#{:02x}{:02x}{:02x}".format(*colour) for colour in sorted(used - known))
