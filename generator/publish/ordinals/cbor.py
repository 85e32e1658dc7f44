"""The little CBOR (RFC 8949) an inscription carries: its metadata and ord's properties.

ord converts a batch entry's ``metadata`` to CBOR with ciborium (text keys) and encodes ``title`` and
``traits`` as properties with minicbor (integer keys). Computing the same bytes here lets the cost
report count them exactly, without ord; only the shapes punkgen writes are supported.
"""

from __future__ import annotations

from typing import Any

_MAJOR = {"uint": 0, "negint": 1, "text": 3, "array": 4, "map": 5}


def encode(value: Any) -> bytes:
    """``value`` (dict, list, str, int, bool, None) in CBOR's shortest definite-length form."""
    if value is None:
        return b"\xf6"
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _head("uint", value) if value >= 0 else _head("negint", -1 - value)
    if isinstance(value, str):
        data = value.encode()
        return _head("text", len(data)) + data
    if isinstance(value, list | tuple):
        return _head("array", len(value)) + b"".join(encode(item) for item in value)
    if isinstance(value, dict):
        return _head("map", len(value)) + b"".join(encode(k) + encode(v) for k, v in value.items())
    raise TypeError(f"no CBOR encoding for {type(value).__name__}")


def _head(kind: str, argument: int) -> bytes:
    major = _MAJOR[kind] << 5
    if argument < 24:
        return bytes([major | argument])
    for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * size):
            return bytes([major | extra]) + argument.to_bytes(size, "big")
    raise ValueError(f"{argument} is over CBOR's 64-bit range")
