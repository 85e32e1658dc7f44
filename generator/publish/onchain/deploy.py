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

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from generator.errors import Arg, UserError
from generator.files import TEXT_LIMIT, read_limited, write_atomic
from generator.progress import Advance, unseen
from generator.publish.onchain.plan import PLAN, REEXPORT, Step, checked_plan, deploy_steps
from generator.run.folder import EXPORT
from generator.run.lock import folder_lock
from generator.text import parse_json

JOURNAL = "deployed.json"
WAIT_S = 600.0  # for one receipt: a testnet mines in seconds; a congested one may take minutes
_KEY = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


class ChainError(Exception):
    """What the chain or the network refused or failed to do: one line, exit status 3, the journal kept."""


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
        node = _Node(rpc)
        journal = _journal(journal_path, digest, node.chain_id(), account.address, mint_to)
        steps, records = deploy_steps(onchain, journal["mint_to"]), journal["steps"]
        landed = [index < len(records) and records[index]["status"] == "confirmed" for index in range(len(steps))]
        progress(sum(landed), len(steps))
        _check_funds(node, account.address, [step for step, done in zip(steps, landed, strict=True) if not done])
        sent_now = 0
        for index, step in enumerate(steps):
            if not landed[index]:
                sent_now += _land_step(node, account, journal, journal_path, index, step)
                progress(1)
    return Deployed(journal["address"], journal["chain_id"], len(steps), sent_now, journal_path)


def _land_step(node: _Node, account: Any, journal: dict, journal_path: Path, index: int, step: Step) -> bool:
    """Sign and send ``step`` (unless the journal holds it as sent) and journal its receipt; whether it was signed
    now. The journal is written before the node sees the transaction, and again once it landed."""
    records = journal["steps"]
    signed = index == len(records) or records[index]["status"] == "reverted"
    if signed:
        _sign(node, account, step, journal, index)
        _write_journal(journal_path, journal)
    receipt = _land(node, account, journal, journal_path, index, step)
    _confirm(journal, index, step, receipt)
    _write_journal(journal_path, journal)
    if receipt["status"] != 1:
        raise ChainError(
            f"step {index} ({step.kind}) reverted in block {receipt['blockNumber']} (transaction "
            f"{records[index]['hash']}); it changed nothing: run the same command again to retry it"
        )
    return signed


def _require_web3() -> None:
    """web3 is an optional extra: only this command needs it."""
    try:
        import web3  # noqa: F401
    except ImportError:
        raise UserError(
            "punkgen deploy needs web3: pip install 'punkgen[onchain]' (or pip install web3), then run again"
        ) from None


def _account(key_env: str) -> Any:
    """The signing account from the environment variable ``key_env``; no message ever holds the key's value."""
    if _KEY.fullmatch(key_env) or not _NAME.fullmatch(key_env):
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
    if address is None:
        return None
    if not _ADDRESS.fullmatch(address):
        raise UserError(f"{Arg.MINT_TO} {address!r} is not an Ethereum address (0x and 40 hex digits)")
    from eth_utils import to_checksum_address

    return to_checksum_address(address)


def _journal(path: Path, digest: str, chain_id: int, account: str, mint_to: str | None) -> dict:
    """The deploy's journal: a new one, or the one on disk if it is this plan's, on this chain, by this account."""
    if not path.exists():
        return {"plan": digest, "chain_id": chain_id, "account": account, "mint_to": mint_to, "address": None, "steps": []}
    try:
        journal = parse_json(read_limited(path, TEXT_LIMIT, REEXPORT))
        fields = (journal["plan"], journal["chain_id"], journal["account"], journal["steps"], journal["address"])
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{path}: not a deploy journal punkgen wrote; move it away to deploy anew") from None
    if fields[0] != digest:
        raise UserError(
            f"{path} records a deploy of another export (plan {fields[0][:12]}…); move it away (it names that contract) "
            "to deploy this export as a new one"
        )
    if fields[1] != chain_id:
        raise UserError(
            f"{path} records a deploy on chain {fields[1]}, but {Arg.RPC} serves chain {chain_id}; give that chain's RPC"
        )
    if fields[2] != account:
        raise UserError(f"{path} records a deploy by account {fields[2]}; set the key of that account (the contract's owner)")
    minted = any(record["kind"] == "mint" for record in journal["steps"])
    if mint_to and journal.get("mint_to") not in (None, mint_to) and minted:
        raise UserError(f"{path}: the tokens are being minted to {journal['mint_to']}; give {Arg.MINT_TO} {journal['mint_to']}")
    journal["mint_to"] = mint_to or journal.get("mint_to")
    return journal


def _check_funds(node: _Node, account: str, unconfirmed: list[Step], price: int | None = None) -> None:
    """Refuse a deploy the account cannot pay for at ``price`` (the node's gas price by default), each step at its
    gas limit: up front for every step left, and for a step whose transaction the node refused."""
    price = price or node.gas_price()
    balance = node.balance(account)
    needed = price * sum(step.gas for step in unconfirmed)
    if balance < needed:
        raise ChainError(
            f"insufficient funds: account {account} holds {balance / 1e18:.6f} ETH, and the {len(unconfirmed)} remaining "
            f"transactions may need up to {needed / 1e18:.6f} ETH at {price / 1e9:.2f} gwei; fund it and run the same "
            "command again"
        )


def _sign(node: _Node, account: Any, step: Step, journal: dict, index: int, nonce: int | None = None) -> None:
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


def _land(node: _Node, account: Any, journal: dict, journal_path: Path, index: int, step: Step) -> dict:
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
            node.send(record["raw"])
        except ChainError:
            _check_funds(node, account.address, [step], record["gas_price"])
            if node.gas_price() == record["gas_price"]:
                raise  # refused for another reason than its price: the node's own words, one line
            _sign(node, account, step, journal, index, nonce=record["nonce"])
            _write_journal(journal_path, journal)
            record = journal["steps"][index]
            node.send(record["raw"])
    return node.wait(record["hash"], index, step)


def _confirm(journal: dict, index: int, step: Step, receipt: dict) -> None:
    record = journal["steps"][index]
    record.pop("raw")  # landed: its bytes are never sent again
    record |= {"status": "confirmed" if receipt["status"] == 1 else "reverted", "block": receipt["blockNumber"]}
    record["gas_used"] = receipt["gasUsed"]
    if step.kind == "deploy" and receipt["status"] == 1:
        from eth_utils import to_checksum_address  # nodes answer in lower case; signing wants the checksum

        journal["address"] = to_checksum_address(receipt["contractAddress"])


def _write_journal(path: Path, journal: dict) -> None:
    """Replace the journal atomically, then flush it and its folder to disk before anything is sent: a deploy
    spends money, so its record must outlive a power cut, not only a killed process (a few fsyncs a transaction
    against seconds of block time)."""
    write_atomic(path, (json.dumps(journal, indent=2) + "\n").encode())
    for synced in (path, path.parent):
        descriptor = os.open(synced, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


class _Node:
    """The JSON-RPC endpoint through web3, every failure turned into one line that names its host (never the whole
    URL: a provider's URL often holds an API key)."""

    def __init__(self, rpc: str) -> None:
        parts = urlsplit(rpc)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UserError(f"{Arg.RPC} must be an http:// or https:// JSON-RPC URL (e.g. http://127.0.0.1:8545)")
        from web3 import HTTPProvider, Web3

        self.host = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        self.web3 = Web3(HTTPProvider(rpc, request_kwargs={"timeout": 60}))

    def chain_id(self) -> int:
        return self._call("eth_chainId", [])

    def gas_price(self) -> int:
        return self._call("eth_gasPrice", [])

    def balance(self, account: str) -> int:
        return self._call("eth_getBalance", [account, "latest"])

    def nonce(self, account: str, block: str) -> int:
        return self._call("eth_getTransactionCount", [account, block])

    def receipt(self, hash_: str) -> dict | None:
        receipt = self._call("eth_getTransactionReceipt", [hash_], quantities=False)
        if not receipt or receipt.get("blockNumber") is None:
            return None
        return {key: int(receipt[key], 16) if key in ("status", "blockNumber", "gasUsed") else receipt[key] for key in receipt}

    def knows(self, hash_: str) -> bool:
        return self._call("eth_getTransactionByHash", [hash_], quantities=False) is not None

    def send(self, raw: str) -> None:
        try:
            self._call("eth_sendRawTransaction", [raw], quantities=False)
        except ChainError as error:
            if not any(known in str(error).lower() for known in ("already known", "known transaction")):  # it holds it
                raise

    def wait(self, hash_: str, index: int, step: Step) -> dict:
        start, pause = time.monotonic(), 0.05
        while (receipt := self.receipt(hash_)) is None:
            if time.monotonic() - start > WAIT_S:
                raise ChainError(
                    f"step {index} ({step.kind}) was sent as {hash_} but not mined in {WAIT_S / 60:.0f} minutes; "
                    "run the same command again to go on waiting"
                )
            time.sleep(pause)
            pause = min(2.0, pause * 2)
        return receipt

    def _call(self, method: str, params: list, quantities: bool = True) -> Any:
        """One JSON-RPC call: its result (a quantity as an int), or a :class:`ChainError` line."""
        import requests

        try:
            response = self.web3.provider.make_request(method, params)
        except (requests.RequestException, OSError) as error:
            reason = type(error).__name__
            raise ChainError(
                f"cannot reach the RPC endpoint {self.host} ({reason}); check {Arg.RPC} and the network, then run again"
            ) from None
        except ValueError:
            raise ChainError(f"{self.host} did not answer {method} in JSON-RPC; check {Arg.RPC}") from None
        if response.get("error"):
            message = str(response["error"].get("message", response["error"]))
            raise ChainError(f"the node at {self.host} refused {method}: {message}")
        result = response.get("result")
        return int(result, 16) if quantities and isinstance(result, str) else result
