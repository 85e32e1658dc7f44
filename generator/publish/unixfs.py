"""UnixFS over dag-pb: the blocks IPFS stores for files and folders, encoded the way ``ipfs-car pack`` (npm, 3.x) does.

A folder's CID is the hash of its directory block, which holds its entries' CIDs, so knowing it
before an upload only takes encoding every block exactly as the reference tool would. The
formats are small and specified (IPFS specs: ``DAG-PB`` and ``UNIXFS``); what ``ipfs-car`` 3.x
chooses on top of them (its ``@ipld/unixfs`` 3 settings, read from its source and checked
byte for byte by ``tests/test_car.py``):

- CIDv1, sha2-256; a file of up to 1 MiB is one ``raw`` block (no UnixFS wrapper);
- a larger file: raw leaves of 1 MiB, under one dag-pb ``File`` node (balanced layout, 1,024 links
  a node; so one level up to 1 GiB, more than a collection ever publishes);
- a folder of up to 1,000 entries: one ``Directory`` block, links sorted by their UTF-8 names;
- above 1,000: a HAMT-sharded directory (fanout 256, murmur3-x64-64 of the name, one leaf a
  slot, a colliding slot becomes a sub-shard), see :func:`hamt_blocks`.

Every function returns :class:`Block` lists in the order ``ipfs-car`` writes them to the CAR.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha256

import mmh3
from multiformats import CID, multicodec, multihash

# ── the specs' numbers ─────────────────────────────────────────────────────────────────────────
# dag-pb (specs/ipld/codecs/dag-pb): PBNode { 2: repeated PBLink Links, 1: bytes Data }, links written first.
PBNODE_DATA, PBNODE_LINKS = 1, 2
PBLINK_HASH, PBLINK_NAME, PBLINK_TSIZE = 1, 2, 3
# UnixFS Data message (specs/unixfs): field numbers, and the DataType enum.
DATA_TYPE, DATA_DATA, DATA_FILESIZE, DATA_BLOCKSIZES, DATA_HASHTYPE, DATA_FANOUT = 1, 2, 3, 4, 5, 6
TYPE_DIRECTORY, TYPE_FILE, TYPE_HAMT_SHARD = 1, 2, 5
VARINT, LENGTH_DELIMITED = 0, 2  # protobuf wire types

# ── what ipfs-car 3.x chooses (ipfs-car/unixfs.js, @ipld/unixfs 3, @perma/map) ─────────────────
CHUNK_SIZE = 1024 * 1024  # withMaxChunkSize(1024 * 1024)
FILE_WIDTH = 1024  # balanced layout withWidth(1024): links per file node
SHARD_THRESHOLD = 1000  # "shard directory after > 1,000 items"
HAMT_FANOUT = 256  # bitWidth 8: one hash byte per level
HAMT_HASH = multicodec.get("murmur3-x64-64").code  # 0x22, written in every shard as hashType
_HASH_BYTES = 8  # murmur3-x64-64: the first 64 bits of murmur3-x64-128, big-endian

_SHA256 = multihash.get("sha2-256")


def _cid_prefix(codec: str) -> bytes:
    """CIDv1 bytes before the digest: version, codec and multihash header, from ``multiformats`` (once)."""
    return bytes(CID("base32", 1, codec, _SHA256.wrap(b"\0" * 32)))[:-32]


RAW_PREFIX, DAG_PB_PREFIX = _cid_prefix("raw"), _cid_prefix("dag-pb")


@dataclass(frozen=True)
class Block:
    cid: bytes  # binary CIDv1
    data: bytes


@dataclass(frozen=True)
class Link:
    """What a parent needs of a child: its CID and ``Tsize`` (the bytes of every block under it, itself included)."""

    cid: bytes
    size: int


def cid_text(cid: bytes) -> str:
    """The usual ``bafy…`` / ``bafk…`` form (base32 multibase)."""
    return str(CID.decode(cid).set(base="base32"))


# ── protobuf, the little of it dag-pb and UnixFS use ───────────────────────────────────────────


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def _bytes_field(field: int, value: bytes) -> bytes:
    return _key(field, LENGTH_DELIMITED) + varint(len(value)) + value


def _int_field(field: int, value: int) -> bytes:
    return _key(field, VARINT) + varint(value)


def unixfs_data(
    kind: int, data: bytes = b"", filesize: int | None = None, blocksizes: Sequence[int] = (), hamt: bool = False
) -> bytes:
    """A UnixFS ``Data`` message, fields in number order (as protobuf.js writes them); empty ``data`` is left out."""
    out = _int_field(DATA_TYPE, kind)
    if data:
        out += _bytes_field(DATA_DATA, data)
    if filesize is not None:
        out += _int_field(DATA_FILESIZE, filesize)
    for size in blocksizes:  # proto2 ``repeated uint64``: not packed
        out += _int_field(DATA_BLOCKSIZES, size)
    if hamt:
        out += _int_field(DATA_HASHTYPE, HAMT_HASH) + _int_field(DATA_FANOUT, HAMT_FANOUT)
    return out


def pb_node(data: bytes, links: Iterable[tuple[str, Link]]) -> bytes:
    """A dag-pb node: links sorted by UTF-8 name bytes (dag-pb's canonical order, stable), then ``Data``."""
    named = sorted(((name.encode(), link) for name, link in links), key=lambda item: item[0])
    out = bytearray()
    for name, link in named:
        body = _bytes_field(PBLINK_HASH, link.cid) + _bytes_field(PBLINK_NAME, name) + _int_field(PBLINK_TSIZE, link.size)
        out += _bytes_field(PBNODE_LINKS, body)
    out += _bytes_field(PBNODE_DATA, data)
    return bytes(out)


def raw_block(content: bytes) -> Block:
    return Block(RAW_PREFIX + sha256(content).digest(), content)


def dag_pb_block(data: bytes) -> Block:
    return Block(DAG_PB_PREFIX + sha256(data).digest(), data)


def _linked(block: Block, children: Iterable[Link]) -> Link:
    return Link(block.cid, len(block.data) + sum(child.size for child in children))


# ── files ──────────────────────────────────────────────────────────────────────────────────────


def file_blocks(content: bytes) -> tuple[list[Block], Link]:
    """A file's blocks (leaves first, then the node over them) and its link: one raw block up to :data:`CHUNK_SIZE`."""
    if len(content) <= CHUNK_SIZE:
        block = raw_block(content)
        return [block], Link(block.cid, len(content))
    leaves = [raw_block(content[start : start + CHUNK_SIZE]) for start in range(0, len(content), CHUNK_SIZE)]
    if len(leaves) > FILE_WIDTH:
        raise ValueError(f"a file over {FILE_WIDTH} MiB needs a deeper layout than punkgen encodes")
    links = [Link(leaf.cid, len(leaf.data)) for leaf in leaves]
    sizes = [len(leaf.data) for leaf in leaves]
    root = dag_pb_block(pb_node(unixfs_data(TYPE_FILE, filesize=len(content), blocksizes=sizes), (("", x) for x in links)))
    return [*leaves, root], _linked(root, links)


# ── folders ────────────────────────────────────────────────────────────────────────────────────


def directory_blocks(entries: dict[str, Link]) -> tuple[list[Block], Link]:
    """A folder's own blocks (its entries' blocks come before them in the CAR) and its link: flat, or HAMT-sharded."""
    if len(entries) <= SHARD_THRESHOLD:
        block = dag_pb_block(pb_node(unixfs_data(TYPE_DIRECTORY), entries.items()))
        return [block], _linked(block, entries.values())
    blocks: list[Block] = []
    link = hamt_blocks({name: (name.encode(), link) for name, link in entries.items()}, 0, blocks)
    return blocks, link


def hamt_blocks(entries: dict[str, tuple[bytes, Link]], depth: int, out: list[Block]) -> Link:
    """One shard at ``depth``, its sub-shards first (appended to ``out`` depth-first, slot order, as ``@perma/map``).

    Slot ``i`` of a shard holds the entries whose name hash has byte ``i`` at this depth: one entry
    is a link named ``"%02X" % i + name``; several make a sub-shard one level down, named ``"%02X" % i``.
    That shape depends only on the names, so the order entries arrive in never changes the CID.
    """
    slots: dict[int, dict[str, tuple[bytes, Link]]] = {}
    for name, entry in entries.items():
        slots.setdefault(hash_slot(entry[0], depth), {})[name] = entry
    links: list[tuple[str, Link]] = []
    for slot in sorted(slots):
        members = slots[slot]
        if len(members) == 1:
            ((name, (_, link)),) = members.items()
            links.append((f"{slot:02X}{name}", link))
        else:
            links.append((f"{slot:02X}", hamt_blocks(members, depth + 1, out)))
    bitfield = sum(1 << slot for slot in slots)
    data = unixfs_data(TYPE_HAMT_SHARD, data=bitfield.to_bytes((bitfield.bit_length() + 7) // 8, "big"), hamt=True)
    block = dag_pb_block(pb_node(data, links))
    out.append(block)
    return _linked(block, (link for _, link in links))


def hash_slot(name: bytes, depth: int) -> int:
    """Byte ``depth`` of the name's infinite hash: frame ``k`` is murmur3-x64-64 of ``name`` (``k`` = 0) or of
    ``name + bytes([k])``; each frame gives 8 levels."""
    frame, offset = divmod(depth, _HASH_BYTES)
    key = name if frame == 0 else name + bytes([frame])
    return mmh3.hash_bytes(key, 0, True)[_HASH_BYTES - 1 - offset]  # h1 is little-endian in mmh3's bytes
