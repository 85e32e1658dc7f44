"""``punkgen deploy FOLDER --rpc URL --key-env NAME``: send ``export/onchain/``'s deployment plan to a chain, resumably.

Every transaction is signed here (the key never leaves this process: read from the environment variable named, never
printed, never written) and journaled in ``export/onchain/deployed.json`` BEFORE it is sent: its step, nonce, hash and
signed bytes as ``sent``, then ``confirmed`` with its receipt. A deploy killed at any moment resumes from the journal:
a sent step whose receipt exists is confirmed, one still pending is waited for, and one the node never took (its nonce
still unused) is sent again as the SAME signed transaction (or, refused, signed anew with the SAME nonce), so no step
can land twice: its nonce is fixed once signed. The journal is fsynced before each send.

Exit statuses: a :class:`~generator.errors.UserError` (2) for what the user gave (the key variable, the folder, a
journal of another plan or chain, ``--mint-to``); a :class:`ChainError` (3) for what the chain or the network did
(unreachable RPC, insufficient funds, a reverted or unmined transaction). Either way the journal keeps what was sent.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import Arg, UserError
from generator.progress import Advance, unseen
from generator.publish.onchain.journal import JOURNAL, check_records, read_journal, write_journal
from generator.publish.onchain.plan import PLAN, REEXPORT, Step, checked_plan, deploy_steps
from generator.publish.onchain.rpc import ADDRESS, ChainError, Node
from generator.run.folder import EXPORT
from generator.run.lock import folder_lock

_KEY = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_KEY_LIKE = re.compile(r"[0-9a-fA-F]{32,}")  # half a key or more: a name never holds that, a mistyped key does
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Deployed:
    address: str  # the token contract
    chain_id: int
    steps: int  # transactions in the journal, all confirmed
    sent_now: int  # signed and sent by this run
    journal: Path


def deploy(folder: Path, rpc: str, key_env: str, mint_to: str | None, progress: Advance = unseen) -> Deployed:
    """Deploy ``folder``'s on-chain export (exported with ``punkgen export --onchain``), or go on with an interrupted
    deploy; ``progress`` advances once per confirmed step."""
    onchain = folder / EXPORT / "onchain"
    if not (onchain / PLAN).is_file():  # checked before the folder lock, which would create a mistyped folder
        raise UserError(f"{onchain / PLAN} not found: {folder} has no on-chain export to deploy; {REEXPORT}")
    _require_web3()
    account = _account(key_env)
    mint_to = _address(mint_to)
    with folder_lock(folder, "the deploy"):
        journal_path = onchain / JOURNAL
        digest = checked_plan(onchain)
        node = Node(rpc)
        journal = read_journal(journal_path, digest, node.chain_id(), account.address, mint_to)
        steps, records = deploy_steps(onchain, journal["mint_to"]), journal["steps"]
        check_records(journal_path, journal, steps)
        landed = [index < len(records) and records[index]["status"] == "confirmed" for index in range(len(steps))]
        progress(sum(landed), len(steps))
        _check_funds(node, account.address, [step for step, done in zip(steps, landed, strict=True) if not done])
        sent_now = 0
        for index, step in enumerate(steps):
            if not landed[index]:
                sent_now += _land_step(node, account, journal, journal_path, index, step)
                progress(1)
    return Deployed(journal["address"], journal["chain_id"], len(steps), sent_now, journal_path)


def _land_step(node: Node, account: Any, journal: dict, journal_path: Path, index: int, step: Step) -> bool:
    """Sign and send ``step`` (unless the journal holds it as sent) and journal its receipt; whether it was signed
    now. The journal is written before the node sees the transaction, and again once it landed."""
    records = journal["steps"]
    signed = index == len(records) or records[index]["status"] == "reverted"
    if signed:
        _sign(node, account, step, journal, index)
        write_journal(journal_path, journal)
    receipt = _land(node, account, journal, journal_path, index, step)
    _confirm(journal, index, step, receipt)
    write_journal(journal_path, journal)
    if receipt["status"] != 1:
        raise ChainError(
            f"step {index} ({step.kind}) reverted in block {receipt['blockNumber']} (transaction "
            f"{records[index]['hash']}); it changed nothing: run the same command again to retry it"
        )
    return signed


def _require_web3() -> None:
    """The onchain extra (web3 and what it brings: the signing, hashing and HTTP libraries this command uses) is
    optional: only this command needs it. Looked for, not imported: web3 itself would cost 0.2 s a deploy, unused."""
    if not all(importlib.util.find_spec(name) for name in ("eth_account", "eth_utils", "rlp", "requests")):
        raise UserError("punkgen deploy needs web3: pip install 'punkgen[onchain]' (or pip install web3), then run again")


def _account(key_env: str) -> Any:
    """The signing account from the environment variable ``key_env``; no message ever holds the key's value."""
    if _KEY_LIKE.search(key_env) or not _NAME.fullmatch(key_env):
        raise UserError(
            f"{Arg.KEY_ENV} takes the NAME of an environment variable that holds the private key (e.g. DEPLOYER_KEY), "
            f"never the key itself; set it with `export DEPLOYER_KEY=…` and give {Arg.KEY_ENV} DEPLOYER_KEY"
        )
    key = os.environ.get(key_env, "").strip()
    if not key:
        raise UserError(f"the environment variable {key_env} is not set or empty; set it to the deploying account's private key")
    if not _KEY.fullmatch(key):
        raise UserError(f"the environment variable {key_env} does not hold a private key (64 hex digits, 0x optional)")
    from eth_account import Account

    try:
        return Account.from_key(key)
    except Exception:  # noqa: BLE001 - whatever the library says may quote the key: say nothing of it
        raise UserError(f"the environment variable {key_env} holds no valid private key (out of the curve's range)") from None


def _address(address: str | None) -> str | None:
    """``--mint-to`` checksummed, refused before anything is sent where the mints could only revert (the zero
    address: ERC-721 refuses to mint to it) or where a typo is likely (mixed case that is not its EIP-55 checksum)."""
    if address is None:
        return None
    if not ADDRESS.fullmatch(address):
        raise UserError(f"{Arg.MINT_TO} {address!r} is not an Ethereum address (0x and 40 hex digits)")
    from eth_utils import to_checksum_address

    checksummed = to_checksum_address(address)
    if int(address, 16) == 0:
        raise UserError(f"{Arg.MINT_TO} is the zero address, which no token can be minted to; give the recipient's address")
    hex_digits = address[2:]
    if hex_digits not in (hex_digits.lower(), hex_digits.upper()) and address != checksummed:
        raise UserError(
            f"{Arg.MINT_TO} {address} fails its EIP-55 checksum (mixed case), so it may hold a typo; copy the address "
            f"again (its checksummed form would be {checksummed}), or give it in lower case"
        )
    return checksummed


def _check_funds(node: Node, account: str, unconfirmed: list[Step], price: int | None = None) -> None:
    """Refuse a deploy the account cannot pay for at ``price`` (the node's gas price by default), each step at its
    gas limit: up front for every step left, and for a step whose transaction the node refused."""
    price = price or node.gas_price()
    balance = node.balance(account)
    needed = price * sum(step.gas for step in unconfirmed)
    if balance < needed:
        raise ChainError(
            f"insufficient funds: account {account} holds {balance / 1e18:.6f} ETH, and {_steps_left(unconfirmed)} may "
            f"need up to {needed / 1e18:.6f} ETH at {price / 1e9:.2f} gwei; fund it (or wait for a lower gas price) and "
            "run the same command again"
        )


def _steps_left(unconfirmed: list[Step]) -> str:
    return "the next transaction" if len(unconfirmed) == 1 else f"the {len(unconfirmed)} remaining transactions"


def _sign(node: Node, account: Any, step: Step, journal: dict, index: int, nonce: int | None = None) -> None:
    """Sign ``step`` (with the account's next nonce, or ``nonce`` to replace a refused transaction) at the node's gas
    price and put it in the journal as ``sent``."""
    price = node.gas_price()
    nonce = node.nonce(account.address, "pending") if nonce is None else nonce
    transaction = {"nonce": nonce, "gasPrice": price, "gas": step.gas, "value": 0, "data": step.data}
    transaction |= {"chainId": journal["chain_id"]} | ({"to": journal["address"]} if step.to_contract else {})
    signed = account.sign_transaction(transaction)
    record = {"kind": step.kind, "nonce": nonce, "gas_price": price, "hash": "0x" + bytes(signed.hash).hex()}
    record |= {"status": "sent", "raw": "0x" + bytes(signed.raw_transaction).hex()}
    if index < len(journal["steps"]):  # reverted, or refused by the node: its transaction stays on record
        earlier = journal["steps"].pop(index)
        if earlier["status"] == "sent":  # refused, never mined: same nonce, so at most one of the two lands
            record["replaced"] = [*earlier.get("replaced", []), earlier["hash"]]
        else:
            journal.setdefault("reverted", []).append(earlier)
    journal["steps"].append(record)


def _land(node: Node, account: Any, journal: dict, journal_path: Path, index: int, step: Step) -> dict:
    """The receipt of step ``index``, journaled as sent: found (its transaction's, or one it replaced), waited for,
    or after sending its signed bytes (again) where the node does not know them and their nonce is unused. A node
    that refuses them (the gas price rose past them, say) gets the step signed anew with the same nonce."""
    record = journal["steps"][index]
    for hash_ in [record["hash"], *record.get("replaced", [])]:
        if (receipt := node.receipt(hash_)) is not None:
            record["hash"] = hash_
            return receipt
    if not node.knows(record["hash"]):
        if node.nonce(account.address, "latest") > record["nonce"]:
            raise ChainError(
                f"step {index} ({step.kind})'s nonce {record['nonce']} was used by another transaction from "
                f"{account.address}, not by its own {record['hash']}; deploy with an account nothing else uses"
            )
        try:
            node.send(record["raw"], record["hash"])
        except ChainError:
            if node.knows(record["hash"]):  # an error, yet taken (hardhat so answers one that reverts): its receipt says
                return node.wait(record["hash"], record["raw"], f"step {index} ({step.kind})")
            if node.gas_price() == record["gas_price"]:
                _check_funds(node, account.address, [step], record["gas_price"])  # refused for funds: say so
                raise  # refused for another reason than its price: the node's own words, one line
            _sign(node, account, step, journal, index, nonce=record["nonce"])  # the price moved: up, or back down
            write_journal(journal_path, journal)  # after a spike that the account could not pay
            record = journal["steps"][index]
            try:
                node.send(record["raw"], record["hash"])
            except ChainError:
                _check_funds(node, account.address, [step], record["gas_price"])
                raise
    return node.wait(record["hash"], record["raw"], f"step {index} ({step.kind})")


def _confirm(journal: dict, index: int, step: Step, receipt: dict) -> None:
    record = journal["steps"][index]
    if step.kind == "deploy" and receipt["status"] == 1:
        _check_created(receipt.get("contractAddress"), journal["account"], record["nonce"])
    record.pop("raw")  # landed: its bytes are never sent again
    record |= {"status": "confirmed" if receipt["status"] == 1 else "reverted", "block": receipt["blockNumber"]}
    record["gas_used"] = receipt["gasUsed"]
    if step.kind == "deploy" and receipt["status"] == 1:
        from eth_utils import to_checksum_address  # nodes answer in lower case; signing wants the checksum

        journal["address"] = to_checksum_address(receipt["contractAddress"])


def _check_created(address: object, account: str, nonce: int) -> None:
    """The contract a deployment created is at the address its sender and nonce determine (CREATE): a node whose
    receipt says otherwise (none, or another contract's) would have every later step sent to the wrong place."""
    import rlp
    from eth_utils import keccak

    created = "0x" + keccak(rlp.encode([bytes.fromhex(account[2:]), nonce]))[12:].hex()
    if not isinstance(address, str) or address.lower() != created:
        raise ChainError(
            f"the node's receipt puts the deployed contract at {address}, but a deployment from {account} with nonce "
            f"{nonce} creates {created}; check {Arg.RPC} (is it the chain you meant?), then run again"
        )
