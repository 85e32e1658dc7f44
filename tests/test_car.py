"""CAR files and CIDs byte-equal to ``ipfs-car pack`` (npm, 3.x): recorded reference (always), the real tool (where installed).

The record (``tests/fixtures/ipfs_car_reference.json``, made by ``tests/fixtures/record_ipfs_car.py``)
holds, per deterministic folder of ``tests/fixtures/car_folders.py``, the root CID, the CAR's
size and SHA-256, its block count and the digest of the files ``ipfs-car unpack`` gave back.
Equal CAR bytes mean the reference tool reads punkgen's CAR exactly as its own; the live tests
check that directly, with ``ipfs-car`` on PATH (``npm install ipfs-car@3``; see the recorder).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.publish.car import car_header, folder_cid, pack_folder, read_car
from generator.publish.unixfs import DAG_PB_PREFIX, RAW_PREFIX, hash_slot, raw_block, varint

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
from car_folders import FOLDERS, build  # noqa: E402

REFERENCE = json.loads((FIXTURES / "ipfs_car_reference.json").read_text())["folders"]
IPFS_CAR = shutil.which("ipfs-car")
needs_tool = pytest.mark.skipif(IPFS_CAR is None, reason="ipfs-car (npm, 3.x) is not on PATH")


def visible_files(folder: Path) -> dict[str, str]:
    """What ``ipfs-car`` packs: every file not starting with ``.``, by relative path, as SHA-256."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }


def digest_of(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


@pytest.mark.parametrize("name", [name for name in FOLDERS if "10000" not in name])
def test_car_bytes_equal_the_recorded_reference(name: str, tmp_path: Path) -> None:
    check_against_record(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in FOLDERS if "10000" in name])
def test_10000_entry_hamt_equals_the_recorded_reference(name: str, tmp_path: Path) -> None:
    check_against_record(name, tmp_path)


def check_against_record(name: str, tmp_path: Path) -> None:
    folder = build(name, tmp_path)
    packed = pack_folder(folder, tmp_path / f"{name}.car")
    recorded = REFERENCE[name]
    data = packed.car.read_bytes()
    assert packed.cid == recorded["cid"] == folder_cid(folder)
    assert (len(data), packed.blocks) == (recorded["car_bytes"], recorded["blocks"])
    assert hashlib.sha256(data).hexdigest() == recorded["car_sha256"], "CAR bytes differ from ipfs-car's"
    assert digest_of(visible_files(folder)) == recorded["unpacked_sha256"], "ipfs-car unpacked these very files"


def test_the_recorded_shapes_flat_up_to_1000_entries_then_sharded() -> None:
    """Blocks beyond one a file are directory blocks: one for 1,000 entries, hundreds of HAMT shards above."""
    files = {"flat-1000": 1000, "hamt-1001": 1001, "hamt-2000": 2001, "hamt-10000": 10_000, "images-10000": 10_001}
    directory_blocks = {name: REFERENCE[name]["blocks"] - count for name, count in files.items()}
    assert directory_blocks["flat-1000"] == 1
    assert all(directory_blocks[name] > 200 for name in files if name != "flat-1000"), directory_blocks


def test_car_structure_header_root_and_raw_leaves(tmp_path: Path) -> None:
    folder = build("small", tmp_path)
    packed = pack_folder(folder, tmp_path / "small.car")
    header, blocks = read_car(packed.car)
    root = bytes.fromhex("01701220") + hashlib.sha256(b"").digest()  # any dag-pb CID has the header's shape
    assert len(header) == len(car_header(root))
    cids = [cid for cid, _ in blocks]
    png = (folder / "1.png").read_bytes()
    assert raw_block(png).cid in cids, "a small file is one raw block, its CID the file's sha2-256"
    assert cids[-1].startswith(DAG_PB_PREFIX), "the root directory is dag-pb"
    assert RAW_PREFIX.hex() == "01551220", "CIDv1, raw, sha2-256, 32 bytes"
    assert header.endswith(b"\x67version\x01") and cids[-1] in header, "the root, the last block written, heads the CAR"


def test_primitives() -> None:
    assert varint(0) == b"\x00" and varint(127) == b"\x7f" and varint(300) == b"\xac\x02"
    # murmur3-x64-64 of "1.png" is 039ecc12f77d0c12 (ipfs-car's @multiformats/murmur3): levels read it byte by byte
    assert [hash_slot(b"1.png", depth) for depth in range(8)] == list(bytes.fromhex("039ecc12f77d0c12"))


@needs_tool
@pytest.mark.parametrize("name", ["small", "hamt-2000"])
def test_real_ipfs_car_packs_the_same_and_unpacks_punkgen_cars(name: str, tmp_path: Path) -> None:
    folder = build(name, tmp_path / "in")
    ours = pack_folder(folder, tmp_path / "ours.car")
    reference = tmp_path / "reference.car"
    out = subprocess.run([IPFS_CAR, "pack", str(folder), "--output", str(reference)], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == ours.cid
    assert reference.read_bytes() == ours.car.read_bytes()
    unpacked = tmp_path / "out"
    subprocess.run([IPFS_CAR, "unpack", str(ours.car), "--output", str(unpacked)], check=True, capture_output=True)
    assert visible_files(unpacked) == visible_files(folder)
