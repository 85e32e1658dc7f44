"""CAR files: a folder packed for IPFS, with its root CID known before anything is uploaded.

``pack_folder(folder, car)`` writes the same bytes as ``ipfs-car pack <folder> --output <car>``
(npm ``ipfs-car`` 3.x, default ``--wrap``): for a folder, the root is the folder's own directory
(``ipfs-car`` strips the common path, so ``images/`` is not wrapped in another directory), its
CID is what ``ipfs://<CID>/<name>`` resolves against, and uploading either the CAR or the folder
with that tool gives the same CID. What the reference does, and this module copies:

- entries are the folder's files whose names do not start with ``.`` (``--hidden`` off), taken in
  path order (JavaScript string order: UTF-16 code units), subfolders included;
- each file's blocks, then each folder's, in that order (see :mod:`generator.publish.unixfs`);
  identical files are written twice, as the reference does;
- the CARv1 header names the root (the tool writes a placeholder and patches it in place: same bytes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from generator.publish.unixfs import Block, Link, cid_text, directory_blocks, file_blocks, varint

CAR_VERSION = 1


@dataclass(frozen=True)
class Packed:
    car: Path
    cid: str  # the folder's root CID, bafy…
    blocks: int
    bytes: int


def pack_folder(folder: Path, car: Path) -> Packed:
    """Write ``car`` for ``folder`` and return its root CID; ``car`` may not be inside ``folder``."""
    blocks, root = folder_blocks(folder)
    with car.open("wb") as out:
        written = write_car(out, root.cid, blocks)
    return Packed(car, cid_text(root.cid), len(blocks), written)


def folder_cid(folder: Path) -> str:
    """The root CID ``pack_folder`` would write, without writing the CAR."""
    return cid_text(folder_blocks(folder)[1].cid)


def folder_blocks(folder: Path) -> tuple[list[Block], Link]:
    """Every block of ``folder`` in the reference tool's order, and the folder's link."""
    blocks: list[Block] = []
    link = _directory(folder, blocks)
    return blocks, link


def _directory(folder: Path, out: list[Block]) -> Link:
    entries: dict[str, Link] = {}
    for path in _entries(folder):
        if path.is_dir():
            entries[path.name] = _directory(path, out)
        else:
            blocks, entries[path.name] = file_blocks(path.read_bytes())
            out.extend(blocks)
    blocks, link = directory_blocks(entries)
    out.extend(blocks)
    return link


def _entries(folder: Path) -> list[Path]:
    """Visible files and folders holding a visible file, in the order ``files-from-path`` sorts full paths.

    Sorting full paths puts ``a.png`` before ``a/x.png`` (``.`` < ``/``), so names are compared
    with the ``/`` that follows a folder's name; JavaScript compares UTF-16 code units.
    """
    found = [p for p in folder.iterdir() if not p.name.startswith(".") and (p.is_file() or (p.is_dir() and _has_files(p)))]
    return sorted(found, key=lambda p: (p.name + ("/" if p.is_dir() else "")).encode("utf-16-be"))


def _has_files(folder: Path) -> bool:
    return any(not p.name.startswith(".") and (p.is_file() or (p.is_dir() and _has_files(p))) for p in folder.iterdir())


def write_car(out: BinaryIO, root: bytes, blocks: list[Block]) -> int:
    """CARv1: a varint-framed DAG-CBOR header ``{roots: [root], version: 1}``, then each block as varint-framed
    ``CID + data``. Returns the bytes written."""
    written = out.write(_frame(car_header(root)))
    chunk = bytearray()
    for block in blocks:
        chunk += varint(len(block.cid) + len(block.data)) + block.cid + block.data
        if len(chunk) > 1 << 20:
            written += out.write(chunk)
            chunk.clear()
    return written + out.write(chunk)


def car_header(root: bytes) -> bytes:
    """DAG-CBOR of ``{"roots": [root], "version": 1}``, by hand: a map of two keys, sorted (shorter key first);
    a CID is tag 42 over its bytes with a leading zero (the identity multibase)."""
    link = b"\x00" + root
    roots = b"\x81" + b"\xd8\x2a" + _cbor_bytes_head(len(link)) + link  # array(1), tag(42), bytes
    return b"\xa2" + b"\x65roots" + roots + b"\x67version" + bytes([CAR_VERSION])


def _cbor_bytes_head(length: int) -> bytes:
    if length < 24:
        return bytes([0x40 | length])
    if length < 256:
        return bytes([0x58, length])
    return bytes([0x59]) + length.to_bytes(2, "big")


def _frame(data: bytes) -> bytes:
    return varint(len(data)) + data


def read_car(path: Path) -> tuple[bytes, Iterator[tuple[bytes, bytes]]]:
    """The header bytes and each (CID, data) of a CAR with CIDv1 sha2-256 blocks (what this module writes); for tests."""
    data = path.read_bytes()
    length, offset = _read_varint(data, 0)
    header = data[offset : offset + length]

    def blocks() -> Iterator[tuple[bytes, bytes]]:
        position = offset + length
        while position < len(data):
            size, start = _read_varint(data, position)
            yield data[start : start + 36], data[start + 36 : start + size]
            position = start + size

    return header, blocks()


def _read_varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, offset
