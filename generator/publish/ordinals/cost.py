"""What inscribing costs: the bytes of each inscription's envelope, each batch's reveal transaction, the fee.

An inscription's content lives in the witness of the reveal transaction, inside an envelope that ord
0.27 builds as ``OP_FALSE OP_IF "ord"``, then tag/value pushes (content type, parents, pointer,
metadata and properties in ≤ 520-byte chunks), ``OP_0`` and the body in ≤ 520-byte pushes, ``OP_ENDIF``
(``Inscription::append_reveal_script_to_builder``). A batch puts every envelope in one tapscript,
spent by one input; in ``separate-outputs`` mode each inscription gets its own output, and a parent
is spent and returned. Witness bytes weigh 1, other bytes 4: vsize = ⌈weight / 4⌉. Checked against
a reveal transaction built by micro-ordinals (tests/test_ordinals_cost.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_PUSH = 520  # MAX_SCRIPT_ELEMENT_SIZE
MAX_WEIGHT = 400_000  # MAX_STANDARD_TX_WEIGHT: ord refuses a bigger reveal without --no-limit
WEIGHT_MARGIN = 4_000  # room for a signature or varint ord counts differently: a batch never lands on the limit
POSTAGE = 10_000  # ord's default postage (sats) in each inscription's output, and the parent's assumed value
COMMIT_VBYTES = 154  # the commit transaction: one taproot input, the commit output and change
TAPROOT_INPUT = 41  # outpoint, empty scriptSig, sequence
TAPROOT_OUTPUT = 43  # value, script length, OP_1 <32 bytes>
KEY_SPEND_WITNESS = 66  # item count, length, 64-byte Schnorr signature: a parent spent back to the wallet
SCRIPT_SPEND_WITNESS = 1 + 65 + 34  # item count, signature, control block (the script counted apart)
SCRIPT_KEY = 34  # <32-byte x-only key> OP_CHECKSIG before the envelopes
DEFAULT_FEE_RATE = 10.0  # sat/vB: a calm mempool; check mempool.space and pass --fee-rate


@dataclass(frozen=True)
class Inscription:
    """What one batch entry puts on chain (its file, and the CBOR ord makes from its YAML)."""

    file: str
    content_type: str
    body: bytes
    metadata: bytes | None = None
    properties: bytes | None = None


def push_size(length: int) -> int:
    """Bytes of a script push of ``length`` bytes (OP_0, direct, OP_PUSHDATA1 or OP_PUSHDATA2)."""
    if length == 0:
        return 1
    return length + (1 if length <= 75 else 2 if length <= 255 else 3)


def envelope_size(inscription: Inscription, pointer: int, parents: int) -> int:
    """The envelope's bytes in the reveal script; ``pointer``: the sat offset ord gives it in its batch."""
    tag = push_size(1)
    size = 2 + push_size(3)  # OP_FALSE OP_IF "ord"
    size += tag + push_size(len(inscription.content_type.encode()))
    size += parents * (tag + push_size(32))  # a parent id's txid (its index 0 trims away)
    size += tag + push_size(len(_trimmed(pointer)))
    for field in (inscription.metadata, inscription.properties):
        size += sum(tag + push_size(len(chunk)) for chunk in _chunks(field or b""))
    size += push_size(0) + sum(push_size(len(chunk)) for chunk in _chunks(inscription.body))
    return size + 1  # OP_ENDIF


def reveal_weight(inscriptions: list[Inscription], parents: int) -> int:
    """The weight of the reveal transaction inscribing ``inscriptions`` in one batch under ``parents`` parents."""
    script = SCRIPT_KEY + sum(_envelope_at(item, position, parents) for position, item in enumerate(inscriptions))
    return _weight(script, len(inscriptions), parents)


def vbytes(weight: int) -> int:
    return math.ceil(weight / 4)


def fee(vsize: int, rate: float) -> int:
    """Sats for the reveal plus its commit transaction at ``rate`` sat/vB."""
    return math.ceil((vsize + COMMIT_VBYTES) * rate)


def split_batches(inscriptions: list[Inscription], parents: int) -> list[list[Inscription]]:
    """Consecutive batches whose reveal stays under ord's standard weight (a 10,000-token collection is several)."""
    batches: list[list[Inscription]] = [[]]
    script = SCRIPT_KEY
    for item in inscriptions:
        size = _envelope_at(item, len(batches[-1]), parents)
        if batches[-1] and _weight(script + size, len(batches[-1]) + 1, parents) > MAX_WEIGHT - WEIGHT_MARGIN:
            batches.append([])
            script, size = SCRIPT_KEY, _envelope_at(item, 0, parents)
        batches[-1].append(item)
        script += size
    return batches


def _envelope_at(item: Inscription, position: int, parents: int) -> int:
    """``item``'s envelope at ``position`` in its batch: ord points it at the sat after the parents' and the
    earlier inscriptions' postage."""
    return envelope_size(item, POSTAGE * (parents + position), parents)


def _weight(script: int, inscriptions: int, parents: int) -> int:
    inputs, outputs = 1 + parents, parents + inscriptions
    base = 4 + _varint(inputs) + inputs * TAPROOT_INPUT + _varint(outputs) + outputs * TAPROOT_OUTPUT + 4
    witness = 2 + SCRIPT_SPEND_WITNESS + _varint(script) + script + parents * KEY_SPEND_WITNESS
    return 4 * base + witness


def _chunks(data: bytes) -> list[bytes]:
    return [data[i : i + MAX_PUSH] for i in range(0, len(data), MAX_PUSH)]


def _trimmed(pointer: int) -> bytes:
    """ord's pointer value: little-endian with its trailing zero bytes dropped (0 is empty)."""
    return pointer.to_bytes(8, "little").rstrip(b"\0")


def _varint(n: int) -> int:
    return 1 if n < 0xFD else 3 if n <= 0xFFFF else 5
