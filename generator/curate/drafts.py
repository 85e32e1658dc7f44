"""Each token's metadata draft (``metadata/<id>.json``) held to the bytes punkgen wrote, and the config to the run's.

A draft is the document its id and traits give under the config that made the folder, encoded
the one way punkgen encodes (:func:`generator.plan.metadata.encode`): any other byte is an edit,
and ``export`` would publish it (a changed ``description``, an added ``external_url`` to a
phishing site). The config passed to ``verify`` or ``export`` may not be the one that made the
folder, and ``run.json`` cannot tell (its fingerprint needs the renderer, which these commands
are not given). So the drafts themselves say what the run's settings were: the value most of
them carry for a setting (more than half: a hand edit touches a few) is the run's. Where it
differs from the config's, the config changed after the run (or most drafts were edited the
same way): one line names the setting,
rather than one line per token, or an export that mixes the old text in the tokens with the new
in ``collection.json``. The rest is then checked against the run's settings, draft by draft.

The image URI is the exception: ``export`` writes it anew from ``--base-uri`` (or
``[metadata].base_uri``), so a base URI set after the run is how export is meant to be used; the
drafts must still share one base, so a single hand-edited link is reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.config import Config
from generator.errors import Arg
from generator.plan.metadata import encode
from generator.schemas import schema_problem
from generator.text import parse_json

REWRITE = "run the same `punkgen collection` command again to rewrite it"
NO_VOTE = object()  # a draft that cannot say what a setting was (unreadable, or a 1/1 with its own name)


@dataclass(frozen=True)
class Draft:
    """One token's metadata file, read once, beside what it should be."""

    token_id: int
    path: Path
    data: bytes | None  # None: missing or unreadable (``problem`` says why)
    problem: str | None  # a problem found before comparing (missing, a FIFO, no document to compare with)
    expected: Callable[[Config], dict[str, Any]] | None  # the document under a given config; None with a problem


@dataclass(frozen=True)
class Setting:
    """A setting a token's document carries: its section and key, and how to read it back from a document."""

    section: str
    key: str
    read: Callable[[dict[str, Any], int, Config], object]
    reported: bool = True  # False: export writes it anew (the base URI), so a later value is not a change


def _suffix_removed(value: object, suffix: str) -> object:
    return value[: -len(suffix)] if isinstance(value, str) and value.endswith(suffix) else NO_VOTE


SETTINGS = (
    Setting("collection", "name", lambda d, t, c: _suffix_removed(d.get("name"), f" #{t}")),
    Setting("collection", "description", lambda d, t, c: d.get("description", NO_VOTE)),
    Setting("collection", "external_url", lambda d, t, c: d.get("external_url", "")),
    Setting(
        "metadata",
        "base_uri",
        lambda d, t, c: _suffix_removed(d.get("image"), f"{t}{c.metadata.image_extension}"),
        reported=False,
    ),
)


def draft_problems(config: Config, drafts: list[Draft]) -> Iterator[tuple[int | None, str]]:
    """(token id, line) for each difference: first the settings changed since the run (token id None), then each
    draft that is not the bytes punkgen wrote under the run's settings."""
    documents, written = _documents(config, drafts)
    made = config
    for setting in SETTINGS:
        then = _agreed(setting, documents, config)
        now = getattr(getattr(config, setting.section), setting.key)
        if then is NO_VOTE or then == now:
            continue
        made = made.override(setting.section, **{setting.key: then})
        if setting.reported:
            yield None, _changed_setting(config, f"[{setting.section}].{setting.key}", now, then, drafts[0].path.parent)
    for draft in drafts:
        if draft.problem or draft.expected is None:
            yield draft.token_id, f"{draft.path}: {draft.problem}"
            continue
        if made is config and draft.token_id in written:
            continue  # already compared: the usual case, one document built per token
        expected = draft.expected(made)
        if draft.data != encode(expected):
            changes = _changes(draft.data, expected)
            yield draft.token_id, f"{draft.path}: differs from the document its traits give ({changes}); {REWRITE}"


def _changed_setting(config: Config, setting: str, now: object, then: object, drafts: Path) -> str:
    return (
        f"{config.path}: {setting} is {_short(now)}, but the tokens in {drafts} were written with {_short(then)}: the "
        f"setting changed after the run (or most token files were edited); put it back, or remake the collection with {Arg.FORCE}"
    )


def _documents(config: Config, drafts: list[Draft]) -> tuple[dict[int, dict[str, Any] | None], set[int]]:
    """Each draft as a document (None where it is none), and the ids of those that are byte for byte the config's
    document (the usual case: those are not parsed)."""
    documents: dict[int, dict[str, Any] | None] = {}
    written = set()
    for draft in drafts:
        if draft.problem or draft.data is None or draft.expected is None:
            documents[draft.token_id] = None
            continue
        expected = draft.expected(config)
        if draft.data == encode(expected):
            documents[draft.token_id] = expected
            written.add(draft.token_id)
            continue
        try:
            document = parse_json(draft.data)
        except ValueError:  # not UTF-8, not JSON, or nested past what any punkgen file is
            document = None
        documents[draft.token_id] = document if isinstance(document, dict) else None
    return documents, written


def _agreed(setting: Setting, documents: dict[int, dict[str, Any] | None], config: Config) -> object:
    """The value most drafts carry for ``setting`` (more than half of those that say one: a hand edit is one or a few
    files, a config change all of them), or NO_VOTE when none has such a majority."""
    read = (setting.read(document, token_id, config) for token_id, document in documents.items() if document is not None)
    votes = Counter(value for value in read if isinstance(value, str))  # NO_VOTE, or a hand-made list, says nothing
    if not votes:
        return NO_VOTE
    value, count = votes.most_common(1)[0]
    return value if 2 * count > sum(votes.values()) else NO_VOTE


def _changes(data: bytes | None, expected: dict[str, Any]) -> str:
    """How a draft differs from the document it should be, in a few words: what a creator needs to find the edit."""
    try:
        document = parse_json(data or b"")
    except ValueError:
        return "not JSON"
    problem = schema_problem(document, "token.schema.json")
    if problem:
        return problem
    keys = [*expected, *(key for key in document if key not in expected)]
    changed = [
        f"{key} {'added' if key not in expected else 'removed' if key not in document else 'edited'}"
        for key in keys
        if document.get(key, NO_VOTE) != expected.get(key, NO_VOTE)
    ]
    return ", ".join(changed) or "the same fields in other bytes: key order, spacing or escapes"


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 2]}…{text[-1]}"
