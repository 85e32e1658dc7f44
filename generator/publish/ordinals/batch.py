"""ord's batch files: what ``ord wallet batch --batch FILE`` inscribes, in the ord version punkgen targets.

ord reads the file with serde and ``deny_unknown_fields``: one field it does not know and the whole
batch is refused, so only the fields of ord 0.27.1 are written, and every file is checked against
``generator/schemas/ord-batch.schema.json``, derived from that version's structs, before it is written.
Paths are relative to the ordinals folder: ord reads them from where it runs, so the docs run it there.

YAML is written by hand, block style with every scalar a JSON string (valid YAML 1.1 and 1.2, as
serde_yaml reads it), so nothing here needs a YAML library and no value can turn into another type
(``No``, ``1e3``, ``null`` stay text).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from generator.publish.ordinals import cbor
from generator.publish.ordinals.cost import Inscription
from generator.schemas import schema_problem

ORD_VERSION = "0.27.1"
SCHEMA = "ord-batch.schema.json"
MODE = "separate-outputs"  # each inscription in its own output: tokens can be sent or sold one by one
ORD_COMMAND = "ord wallet batch --fee-rate <sat/vB> --batch {batch} > {output}"  # run in the ordinals folder
CONTENT_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".json": "application/json"}  # ord's Media table


@dataclass(frozen=True)
class Entry:
    """One inscription of a batch: its file and the title, traits and metadata ord records with it."""

    file: str
    body: bytes
    title: str | None = None
    traits: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        fields = {"file": self.file, "title": self.title, "traits": self.traits, "metadata": self.metadata}
        return {key: value for key, value in fields.items() if value is not None}

    def inscription(self) -> Inscription:
        """What ord puts on chain for this entry: its content type, body, metadata and properties as CBOR."""
        suffix = self.file[self.file.rfind(".") :]
        return Inscription(self.file, CONTENT_TYPES[suffix], self.body, self._metadata(), self._properties())

    def _metadata(self) -> bytes | None:
        return cbor.encode(self.metadata) if self.metadata is not None else None

    def _properties(self) -> bytes | None:
        """minicbor's Properties {1: Attributes {0: title, 1: traits}}, each left out when empty."""
        attributes = {key: value for key, value in ((0, self.title), (1, self.traits)) if value}
        return cbor.encode({1: attributes}) if attributes else None


def batch_document(entries: Sequence[Entry], parents: Sequence[str] = ()) -> dict[str, Any]:
    document: dict[str, Any] = {"mode": MODE}
    if parents:
        document["parents"] = list(parents)
    document["inscriptions"] = [entry.document() for entry in entries]
    problem = schema_problem(document, SCHEMA)
    if problem:  # punkgen wrote something ord would refuse: a bug, not the user's mistake
        raise AssertionError(f"a batch file ord {ORD_VERSION} would refuse: {problem}")
    return document


def output_name(batch: str) -> str:
    """Where the docs and the batch file's comment save what ord prints for ``batch``."""
    return f"{batch.removesuffix('.batch.yaml')}-output.json"


def batch_yaml(document: dict[str, Any], comment: str) -> bytes:
    """``document`` as block YAML under a ``#`` comment that says how to inscribe it."""
    lines = [f"# {line}" for line in comment.splitlines()]
    return ("\n".join([*lines, *_block(document, 0)]) + "\n").encode()


def _block(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if _is_scalar(item) or item in ({}, []):
                lines.append(f"{pad}{_scalar(key)}: {_scalar(item)}")
            else:
                lines += [f"{pad}{_scalar(key)}:", *_block(item, indent + 2)]
        return lines
    lines = []
    for item in value:
        if _is_scalar(item):
            lines.append(f"{pad}- {_scalar(item)}")
        else:
            first, *rest = _block(item, indent + 2)
            lines += [f"{pad}- {first.lstrip()}", *rest]
    return lines


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _scalar(value: Any) -> str:
    """A JSON scalar is a YAML flow scalar; keys are quoted too, so a trait named ``on`` stays a string."""
    return json.dumps(value, ensure_ascii=False)
