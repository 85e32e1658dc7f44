"""The deployment plan: the ordered transactions that put an ``export/onchain/`` folder on a chain.

Deploy the renderer (the committed artifact's bytecode and ``contract.json``'s constructor arguments), ``store`` each
chunk of ``contract-data.bin``, ``seal``, then optionally ``mint`` the supply in batches. The export writes the plan
as ``deploy-plan.json``: each step's kind, size, SHA-256 of its calldata and gas limit, and the plan's own digest.
``punkgen deploy`` rebuilds the steps from the same files with :func:`plan_steps` and sends only what matches the
plan, so a deploy never sends data the export did not write, and its journal names the plan it belongs to.

The calldata is ABI-encoded here (a few lines for the constructor's types) rather than with ``eth-abi``, so an
export (``--no-gas``) needs no Ethereum package; :mod:`.evm` measures the gas of this same encoding, and the tests
check it against ``eth-abi`` and the selectors against Keccak-256.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from generator.errors import UserError
from generator.files import TEXT_LIMIT, read_limited
from generator.publish.onchain.artifact import renderer_code
from generator.text import parse_json

PLAN = "deploy-plan.json"
STORE, SEAL, MINT = bytes.fromhex("b374012b"), bytes.fromhex("3fb27b85"), bytes.fromhex("40c10f19")  # 4-byte selectors
MINT_BATCH = 250  # tokens per mint transaction: ~6.4 M gas measured, well inside any block (30 M and more)
REEXPORT = "export the collection again (punkgen export FOLDER --onchain)"

# Gas limits: upper bounds of what each call spends (the tests deploy every kind into a real EVM under them); unused
# gas is refunded, so a generous limit costs nothing, while a short one reverts the step.
_TX, _CREATE, _DEPOSIT, _NEW_SLOT = 21_000, 32_000, 200, 22_100
_STORE_EXTRA = 150_000  # two array pushes (new slots and lengths) and the call's own work, plus memory and margin
_STORE_PER_BYTE = 10  # per chunk byte: a full chunk's store spent 5,385,700 in py-evm, ~5 % under the limit this gives
_MINT_PER_TOKEN = 35_000  # an ERC-721 _mint (owner slot, balance, Transfer event): 25,400 measured
_MARGIN = 100_000


@dataclass(frozen=True)
class Step:
    """One transaction: ``data`` is its calldata (a deploy's is the creation code), ``to_contract`` whether it calls
    the renderer (every step but the deploy)."""

    kind: str  # deploy, store, seal, mint
    data: bytes
    gas: int
    quantity: int = 0  # mint: tokens this batch mints

    @property
    def to_contract(self) -> bool:
        return self.kind != "deploy"

    def record(self) -> dict:
        """What the plan says of it: enough to check the calldata rebuilt at deploy time is the exported one."""
        if self.kind == "mint":  # its recipient is chosen at deploy time: only the quantity is planned
            return {"kind": self.kind, "quantity": self.quantity, "gas": self.gas}
        return {"kind": self.kind, "size": len(self.data), "sha256": hashlib.sha256(self.data).hexdigest(), "gas": self.gas}


def plan_steps(onchain: Path, mint_to: str | None = None) -> list[Step]:
    """Every step for the ``export/onchain/`` folder ``onchain``, read from its files (see :func:`steps_for`)."""
    arguments = _read_json(onchain / "contract.json")
    stream = read_limited(onchain / "contract-data.bin", 2**31, REEXPORT)
    if sum(arguments["chunks"]) != len(stream):
        raise UserError(f"{onchain / 'contract-data.bin'} is not the bytes contract.json cuts in chunks; {REEXPORT}")
    return steps_for(arguments, stream, mint_to)


def steps_for(arguments: dict, stream: bytes, mint_to: str | None = None) -> list[Step]:
    """Every step for ``contract.json``'s ``arguments`` and the data ``stream``, mints included (to ``mint_to``, or
    to the zero address only to plan them)."""
    constructor = constructor_arguments(arguments)
    creation = renderer_code() + constructor
    steps = [Step("deploy", creation, _deploy_gas(creation, constructor))]
    at = 0
    for size in arguments["chunks"]:
        call = STORE + _sequence([(True, _bytes(stream[at : at + size]))])
        steps.append(
            Step("store", call, _TX + _calldata_gas(call) + _CREATE + (_DEPOSIT + _STORE_PER_BYTE) * (size + 1) + _STORE_EXTRA)
        )
        at += size
    steps.append(Step("seal", SEAL, _TX + _NEW_SLOT + _MARGIN))
    recipient = bytes(12) + bytes.fromhex((mint_to or "0x" + "00" * 20)[2:])
    for first in range(0, arguments["supply"], MINT_BATCH):
        quantity = min(MINT_BATCH, arguments["supply"] - first)
        call = MINT + recipient + _word(quantity)
        steps.append(Step("mint", call, _TX + _calldata_gas(call) + _MINT_PER_TOKEN * quantity + _MARGIN, quantity))
    return steps


def plan_document(steps: list[Step]) -> dict:
    """``deploy-plan.json``: the steps' records and the digest that names this plan in a deploy's journal."""
    records = [step.record() for step in steps]
    digest = hashlib.sha256(json.dumps(records, sort_keys=True).encode()).hexdigest()
    return {"plan": digest, "gas": sum(step.gas for step in steps), "steps": records}


def checked_plan(onchain: Path) -> str:
    """The digest of ``onchain``'s ``deploy-plan.json``, refused unless its files and this punkgen's renderer still
    build exactly that plan."""
    planned = _read_json(onchain / PLAN)
    rebuilt = plan_document(plan_steps(onchain))
    if rebuilt["plan"] != planned.get("plan"):
        differing = next(
            (i for i, (a, b) in enumerate(zip(rebuilt["steps"], planned.get("steps", []), strict=False)) if a != b), None
        )
        where = f"its step {differing} ({rebuilt['steps'][differing]['kind']})" if differing is not None else "its steps"
        raise UserError(
            f"{onchain / PLAN}: {where} differs from what contract.json, contract-data.bin and this punkgen's renderer "
            f"build; {REEXPORT}"
        )
    return rebuilt["plan"]


def deploy_steps(onchain: Path, mint_to: str | None) -> list[Step]:
    """The steps a deploy sends: the plan's, its mints only with a recipient."""
    return [step for step in plan_steps(onchain, mint_to) if mint_to or step.kind != "mint"]


def constructor_arguments(arguments: dict) -> bytes:
    """``constructor(string name, string symbol, Layout layout)``'s ABI encoding, from ``contract.json``."""
    layout = [(False, _word(arguments[key])) for key in ("first_token_id", "supply", "traits_per_token")]
    layout.append((False, bytes.fromhex(arguments["provenance"][2:]).rjust(32, b"\0")))
    layout += [(False, _word(arguments[key])) for key in ("palette_start", "image_table_start", "tokens_start")]
    layout.append((True, _word(len(arguments["trait_bases"])) + b"".join(_word(base) for base in arguments["trait_bases"])))
    layout.append((False, _word(arguments["whole_base"])))
    layout.append((True, _sequence([(True, _bytes(piece.encode())) for piece in arguments["token_json"]])))
    layout.append((True, _bytes(arguments["contract_json"].encode())))
    text = [(True, _bytes(arguments[key].encode())) for key in ("name", "symbol")]
    return _sequence([*text, (True, _sequence(layout))])


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _bytes(data: bytes) -> bytes:
    """ABI ``bytes``/``string``: the length, then the data padded to whole words."""
    return _word(len(data)) + data + bytes(-len(data) % 32)


def _sequence(items: list[tuple[bool, bytes]]) -> bytes:
    """ABI tuple of (dynamic?, encoding) items: static ones inline, dynamic ones as offsets to their tails."""
    head_size = sum(32 if dynamic else len(encoded) for dynamic, encoded in items)
    heads, tails = b"", b""
    for dynamic, encoded in items:
        if dynamic:
            heads += _word(head_size + len(tails))
            tails += encoded
        else:
            heads += encoded
    return heads + tails


def _calldata_gas(data: bytes) -> int:
    zeros = data.count(0)
    return 4 * zeros + 16 * (len(data) - zeros)


def _deploy_gas(creation: bytes, constructor: bytes) -> int:
    """The creation transaction: its calldata, the code deposit (the runtime is shorter than the creation code),
    the initcode words (EIP-3860) and, at most, a new storage slot for every word of the constructor's arguments."""
    words = len(creation) // 32 + 1
    slots = len(constructor) // 32 + 1
    return _TX + _CREATE + _calldata_gas(creation) + _DEPOSIT * len(creation) + 2 * words + _NEW_SLOT * slots + _MARGIN


def _read_json(path: Path) -> dict:
    try:
        document = parse_json(read_limited(path, TEXT_LIMIT, REEXPORT))
    except ValueError as error:
        raise UserError(f"{path}: not valid JSON ({error}); {REEXPORT}") from None
    if not isinstance(document, dict):
        raise UserError(f"{path}: not the JSON object punkgen export writes; {REEXPORT}")
    return document
