"""A JSON-RPC node on 127.0.0.1 over a real EVM (py-evm through eth-tester), for ``punkgen deploy``'s tests.

It answers the methods a deploy uses, over HTTP as any node does, and records every raw transaction it receives, so
a test can count what a deploy sent. It can also kill the deploying process at a chosen raw transaction, the way a
``kill -9`` lands: before the node takes it (the transaction is lost), after (it is mined, but the client never
hears), or leaving it pending in the pool (mined only once a resumed client has waited for it).
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import eth_tester
from eth_account import Account
from eth_tester.exceptions import TransactionNotFound

GWEI = 10**9
KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"  # a test key, funded by fund()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def _wire(value: Any) -> Any:
    """eth-tester's Python values as JSON-RPC writes them: quantities in hex, keys in camelCase, addresses in lower
    case (as geth and hardhat answer: a client must checksum them itself)."""
    if isinstance(value, str) and _ADDRESS.fullmatch(value):
        return value.lower()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {_camel(key): _wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(item) for item in value]
    return value


class EvmNode:
    """The node: ``url`` to give ``--rpc``; ``kill_at(k, moment, pid)`` arms a kill at the k-th raw transaction."""

    def __init__(self, reported_chain_id: int | None = None) -> None:
        params = eth_tester.PyEVMBackend.generate_genesis_params(overrides={"gas_limit": 60_000_000})
        self.tester = eth_tester.EthereumTester(eth_tester.PyEVMBackend(params))
        self.chain_id = reported_chain_id or 131277322940537  # eth-tester's chain; another one only to refuse
        self.lock = threading.Lock()
        self.received: list[str] = []  # every raw transaction's hash, in arrival order, repeats included
        self.armed: tuple[int, str, int] | None = None
        self.polls_before_mining = 0
        self.price_rise = 0  # wei added to the gas price the node asks (and its pool requires)
        self.pool: dict[str, str] = {}  # hash → raw transaction held unmined (a "pending" kill)
        self.drops = 0  # raw transactions still to take and then forget, as a node dropping them from its pool does
        self.errors_after_taking = 0  # raw transactions still to mine and then answer with an error (hardhat, reverted)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def fund(self, address: str, wei: int) -> None:
        funder = self.tester.get_accounts()[0]
        self.tester.send_transaction({"from": funder, "to": address, "value": wei, "gas": 21_000})

    def kill_at(self, count: int, moment: str, pid: int) -> None:
        """Kill ``pid`` at the ``count``-th raw transaction received: ``before`` taking it, ``after`` mining it, or
        with it ``pending`` (mined after the resumed client asked for its receipt twice)."""
        self.armed = (count, moment, pid)

    def mined(self) -> list[dict]:
        """Every transaction mined from the deploying account, oldest first."""
        sender = Account.from_key(KEY).address
        found, number = [], self.tester.get_block_by_number("latest")["number"]
        for height in range(number + 1):
            for hash_ in self.tester.get_block_by_number(height)["transactions"]:
                transaction = self.tester.get_transaction_by_hash(hash_)
                if transaction["from"].lower() == sender.lower():
                    found.append(transaction)
        return found

    # ---- JSON-RPC ----

    def answer(self, method: str, params: list) -> Any:
        tester = self.tester
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "net_version":
            return str(self.chain_id)
        if method == "eth_blockNumber":
            return hex(tester.get_block_by_number("latest")["number"])
        if method == "eth_gasPrice":
            return hex(self._price())
        if method == "eth_getBalance":
            return hex(tester.get_balance(params[0]))
        if method == "eth_getTransactionCount":
            return hex(tester.get_nonce(params[0], "pending" if params[1] == "pending" else "latest"))
        if method == "eth_getCode":
            return _wire(tester.get_code(params[0]))
        if method == "eth_call":
            call = {"to": params[0]["to"], "data": params[0].get("data", "0x"), "gas": 50_000_000}
            return _wire(tester.call(call | ({"from": params[0]["from"]} if "from" in params[0] else {})))
        if method == "eth_sendRawTransaction":
            return self._raw(params[0])
        if method == "eth_getTransactionByHash":
            if params[0] in self.pool:  # what a node says of a transaction in its pool
                return {"hash": params[0], "blockNumber": None}
            try:
                return _wire(tester.get_transaction_by_hash(params[0]))
            except TransactionNotFound:
                return None
        if method == "eth_getTransactionReceipt":
            return self._receipt(params[0])
        raise LookupError(method)

    def _price(self) -> int:
        return self.tester.get_block_by_number("latest")["base_fee_per_gas"] + GWEI + self.price_rise

    def _raw(self, raw: str) -> str:
        import rlp
        from eth_utils import keccak

        self.received.append("0x" + keccak(bytes.fromhex(raw[2:])).hex())
        if int.from_bytes(rlp.decode(bytes.fromhex(raw[2:]))[1], "big") < self._price():  # a legacy tx's gasPrice
            raise ValueError("transaction underpriced")  # as a node's pool refuses one below its price
        if self.drops:
            self.drops -= 1
            return "0x" + keccak(bytes.fromhex(raw[2:])).hex()
        count, moment, pid = self.armed or (0, "", 0)
        if len(self.received) == count and moment == "before":
            self._kill(pid)
        if len(self.received) == count and moment == "pending":  # held in the pool; killed; mined later
            self.polls_before_mining = 2
            self.pool[self.received[-1]] = raw
            self._kill(pid)
        hash_ = self.tester.send_raw_transaction(raw)
        if self.errors_after_taking:
            self.errors_after_taking -= 1
            raise ValueError("Transaction reverted without a reason string")  # yet it is mined, as hardhat does
        if len(self.received) == count and moment == "after":
            self._kill(pid)
        return hash_

    def _receipt(self, hash_: str) -> dict | None:
        if self.polls_before_mining:
            self.polls_before_mining -= 1
            if self.polls_before_mining:
                return None
            for raw in self.pool.values():  # mined now, in arrival order
                self.tester.send_raw_transaction(raw)
            self.pool.clear()
        try:
            receipt = self.tester.get_transaction_receipt(hash_)
        except TransactionNotFound:
            return None
        return None if receipt["block_number"] is None else _wire(receipt)

    def _kill(self, pid: int) -> None:
        self.armed = None
        os.kill(pid, signal.SIGKILL)
        raise ConnectionAbortedError  # the handler closes the connection: the client is gone anyway

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        node = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                try:
                    with node.lock:
                        reply = {"result": node.answer(request["method"], request.get("params", []))}
                except ConnectionAbortedError:
                    self.close_connection = True
                    return
                except Exception as error:  # noqa: BLE001 - a node answers a refused call with a JSON-RPC error
                    reply = {"error": {"code": -32000, "message": str(error) or type(error).__name__}}
                body = json.dumps({"jsonrpc": "2.0", "id": request.get("id")} | reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                """Quiet: the test's output is the deploy's."""

        return Handler


@contextmanager
def running_node(reported_chain_id: int | None = None) -> Iterator[EvmNode]:
    """A node serving on a free port for the block."""
    node = EvmNode(reported_chain_id)
    thread = threading.Thread(target=node.server.serve_forever, args=(0.05,), daemon=True)  # shutdown() waits a poll
    thread.start()
    try:
        yield node
    finally:
        node.server.shutdown()
        node.server.server_close()


def renderer_call(node: EvmNode, address: str):
    """``call(signature, types, values, returns)`` against the contract at ``address`` (see onchain_checks.Call)."""
    from eth_abi import decode, encode
    from eth_utils import keccak

    def call(signature: str, types: list, values: list, returns: str) -> object:
        data = keccak(signature.encode())[:4] + encode(types, values)
        out = node.tester.call(
            {"from": node.tester.get_accounts()[0], "to": address, "data": "0x" + data.hex(), "gas": 50_000_000}
        )
        return decode([returns], bytes.fromhex(out[2:]) if isinstance(out, str) else bytes(out))[0]

    return call
