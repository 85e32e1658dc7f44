"""``provenance.txt``: the BAYC-method commitment to the published images, with the reveal rule when there is one.

The hash is always over the items in generated order, so it can be published before the sale
and stays the same whatever starting index the reveal draws: an export with ``--starting-index``
gives the same hash as one without, and the file says how to get from one order to the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from generator.config import Config
from generator.curate.finished import RESTORE, CollectionFolder
from generator.files import IMAGE_LIMIT, read_limited
from generator.publish.reveal import Reveal, in_generated_order, provenance_lines


def provenance_hash(digests: Sequence[str]) -> str:
    """The BAYC method: per-image SHA-256 hex digests concatenated in generated order, hashed again."""
    return hashlib.sha256("".join(digests).encode()).hexdigest()


def master_provenance(collection: CollectionFolder) -> str:
    """The hash over the masters as they are on disk, in token order: what the Ordinals and on-chain exports commit to
    (they publish no other images)."""
    return provenance_hash([hashlib.sha256(read_limited(t.master, IMAGE_LIMIT, RESTORE)).hexdigest() for t in collection.tokens])


def committed_digests(digests: Sequence[str], reveal: Reveal | None) -> list[str]:
    """Per-token digests (token order) in the order the hash commits to: generated order."""
    return in_generated_order(reveal, digests) if reveal else list(digests)


def provenance_text(
    config: Config,
    collection: CollectionFolder,
    files: Sequence[str],
    digests: Sequence[str],
    format_name: str,
    side: int,
    reveal: Reveal | None = None,
) -> str:
    """The record a reader checks: ``collection`` and ``files`` and ``digests`` are per published token, token order."""
    scale = config.export.scale
    committed = committed_digests(digests, reveal)
    header = [
        f"{config.collection.name}: provenance record (BAYC method)",
        "",
        f"provenance hash: {provenance_hash(committed)}",
        f"tokens: {len(digests)}",
        f"format: {format_name}",
        f"scale: {scale}",
        f"images: {side * scale}×{side * scale} px PNG, exact NEAREST {scale}× upscales of the {side}×{side} masters",
        "method: the SHA-256 of every image file exactly as published, as lowercase hex, concatenated in token",
        "        order without separators; the SHA-256 of that string is the provenance hash.",
    ]
    if reveal is None:
        rows = [
            f"{token.token_id},{file},{digest}" for token, file, digest in zip(collection.tokens, files, digests, strict=True)
        ]
        return "\n".join([*header, "", "token_id,file,sha256", *rows]) + "\n"
    items = range(reveal.first, reveal.first + reveal.size)
    by_item = in_generated_order(reveal, files)
    rows = [f"{item},{reveal.token(item)},{file},{digest}" for item, file, digest in zip(items, by_item, committed, strict=True)]
    return "\n".join([*header, *provenance_lines(reveal), "", "item_id,token_id,file,sha256", *rows]) + "\n"
