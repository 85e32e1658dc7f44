"""The JSON-RPC endpoint a deploy talks to: one POST per call, bounded in time and size, every answer checked.

A deploy spends money on whatever a node says, and a node (or a proxy in front of it) may answer an HTML error page,
a 500, garbage, JSON of the wrong shape, or nothing at all, byte by byte. So each call has one deadline for the whole
exchange (connect, send, read: no retries that multiply it), a cap on the answer's size, and its result is checked
against the shape the method returns before anyone uses it: any departure is one :class:`ChainError` line (exit 3),
never a traceback, never a hang. Messages name the endpoint by scheme and host only, and a node's own words are cut
to one line with the URL's secret parts (credentials, an API key in the path or query) blanked out.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from generator.errors import Arg, UserError
from generator.text import parse_json

WAIT_S = 600.0  # for one receipt: a testnet mines in seconds; a congested one may take minutes
CALL_S = 30.0  # one whole JSON-RPC exchange; a healthy node answers in milliseconds
ANSWER_LIMIT = 4 * 2**20  # bytes: a receipt or a transaction is a few KB
_QUANTITY = re.compile(r"0x[0-9a-fA-F]{1,64}")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")  # an Ethereum address as JSON-RPC and the journal write it


class ChainError(Exception):
    """What the chain or the network refused or failed to do: one line, exit status 3, the journal kept."""


class Node:
    """The JSON-RPC endpoint ``rpc``; every failure a :class:`ChainError` that names only its scheme and host."""

    def __init__(self, rpc: str) -> None:
        try:  # urlsplit and .port raise ValueError on a bad IPv6 literal or port: the same line, never a traceback
            parts = urlsplit(rpc)
            self.host = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise UserError(f"{Arg.RPC} must be an http:// or https:// JSON-RPC URL (e.g. http://127.0.0.1:8545)")
        self.url = rpc
        self.secrets = _secrets(rpc)
        self.calls = 0

    def chain_id(self) -> int:
        return self._quantity("eth_chainId", [])

    def gas_price(self) -> int:
        return self._quantity("eth_gasPrice", [])

    def balance(self, account: str) -> int:
        return self._quantity("eth_getBalance", [account, "latest"])

    def nonce(self, account: str, block: str) -> int:
        return self._quantity("eth_getTransactionCount", [account, block])

    def receipt(self, hash_: str) -> dict | None:
        """The mined receipt of ``hash_`` with ``status``, ``blockNumber`` and ``gasUsed`` as ints; None if unmined."""
        receipt = self._call("eth_getTransactionReceipt", [hash_])
        if receipt is None or (isinstance(receipt, dict) and receipt.get("blockNumber") is None):
            return None
        if not isinstance(receipt, dict) or receipt.get("transactionHash", hash_).lower() != hash_.lower():
            raise self._malformed("eth_getTransactionReceipt")
        checked = dict(receipt)
        for key in ("status", "blockNumber", "gasUsed"):
            checked[key] = self._number(receipt.get(key), "eth_getTransactionReceipt")
        address = receipt.get("contractAddress")
        if address is not None and not (isinstance(address, str) and ADDRESS.fullmatch(address)):
            raise self._malformed("eth_getTransactionReceipt")
        return checked

    def knows(self, hash_: str) -> bool:
        found = self._call("eth_getTransactionByHash", [hash_])
        if found is not None and not isinstance(found, dict):
            raise self._malformed("eth_getTransactionByHash")
        return found is not None

    def send(self, raw: str, hash_: str) -> None:
        """Send the signed ``raw`` transaction whose hash is ``hash_``; a node that already holds it is no failure."""
        try:
            answer = self._call("eth_sendRawTransaction", [raw])
        except ChainError as error:
            if any(known in str(error).lower() for known in ("already known", "known transaction")):
                return
            raise
        if not (isinstance(answer, str) and answer.lower() == hash_.lower()):
            raise self._malformed("eth_sendRawTransaction")

    def wait(self, hash_: str, raw: str, what: str) -> dict:
        """The receipt of ``hash_`` (signed as ``raw``; ``what`` names its step), polled with a growing pause for
        :data:`WAIT_S`. A node may drop a transaction from its pool (restarted, evicted it, or a load balancer asked
        another node): one it no longer knows is sent again, the same signed bytes, so its nonce still lands once."""
        start, pause = time.monotonic(), 0.05
        while (receipt := self.receipt(hash_)) is None:
            if time.monotonic() - start > WAIT_S:
                raise ChainError(
                    f"{what} was sent as {hash_} but not mined in {WAIT_S / 60:.0f} minutes; run the same command "
                    "again to go on waiting"
                )
            time.sleep(pause)
            pause = min(2.0, pause * 2)
            if pause >= 0.4 and not self.knows(hash_):  # not at once: a node may take a moment to show it
                with contextlib.suppress(ChainError):  # refused: mined meanwhile (its nonce used), as a receipt says
                    self.send(raw, hash_)
        return receipt

    def _quantity(self, method: str, params: list) -> int:
        return self._number(self._call(method, params), method)

    def _number(self, value: Any, method: str) -> int:
        if not (isinstance(value, str) and _QUANTITY.fullmatch(value)):
            raise self._malformed(method)
        return int(value, 16)

    def _malformed(self, method: str) -> ChainError:
        return ChainError(f"{self.host} answered {method} with something that is not its JSON-RPC result; check {Arg.RPC}")

    def _call(self, method: str, params: list) -> Any:
        """One JSON-RPC call's ``result``, or a :class:`ChainError` line: the node unreachable, slow past
        :data:`CALL_S`, answering what is not JSON-RPC, or refusing (its message, one line, secrets blanked)."""
        self.calls += 1
        request = {"jsonrpc": "2.0", "id": self.calls, "method": method, "params": params}
        answer = self._post(json.dumps(request).encode(), method)
        try:
            response = parse_json(answer)  # bounded nesting: eth_account's py_ecc raises the recursion limit to 100,000
        except ValueError:
            response = None
        if not isinstance(response, dict) or not ("result" in response or "error" in response):
            raise ChainError(f"{self.host} did not answer {method} in JSON-RPC; check {Arg.RPC}")
        if response.get("error") is not None:
            error = response["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ChainError(f"the node at {self.host} refused {method}: {self._one_line(str(message))}")
        return response["result"]

    def _post(self, body: bytes, method: str) -> bytes:
        """The answer's body, read within :data:`CALL_S` in all and :data:`ANSWER_LIMIT` bytes."""
        import requests

        deadline = time.monotonic() + CALL_S
        headers = {"Content-Type": "application/json"}
        try:
            with requests.post(self.url, data=body, headers=headers, timeout=CALL_S, stream=True) as response:
                response.raise_for_status()
                answer = bytearray()
                while piece := response.raw.read1(
                    65536, decode_content=True
                ):  # what has arrived: a trickle cannot outlast the deadline
                    answer += piece
                    if len(answer) > ANSWER_LIMIT or time.monotonic() > deadline:
                        raise ChainError(
                            f"{self.host} sent more than {ANSWER_LIMIT // 2**20} MB or took more than {CALL_S:.0f} s "
                            f"to answer {method}; check {Arg.RPC}, then run again"
                        )
                return bytes(answer)
        except (requests.RequestException, OSError) as error:
            raise ChainError(
                f"cannot reach the RPC endpoint {self.host} ({type(error).__name__}); check {Arg.RPC} and the "
                "network, then run again"
            ) from None

    def _one_line(self, message: str) -> str:
        """A node's message as one line of at most 200 characters, with no part of ``--rpc`` that may be secret."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            message = message.replace(secret, "…")
        message = " ".join(message.split())
        return message if len(message) <= 200 else message[:199] + "…"


def _secrets(rpc: str) -> set[str]:
    """The parts of ``rpc`` that may hold a credential: the URL itself, its user and password, its path, query and
    their pieces (a provider's API key is one of them), raw and unquoted, and the basic-auth header they make."""
    parts = urlsplit(rpc)
    pieces = {
        rpc,
        parts.netloc if "@" in parts.netloc else "",
        parts.username or "",
        parts.password or "",
        parts.path,
        parts.query,
        parts.fragment,
    }
    pieces |= set(parts.path.split("/")) | {value for pair in parse_qsl(parts.query) for value in pair}
    pieces |= {unquote(piece) for piece in pieces}
    if parts.username is not None:  # sent as HTTP basic auth, which a gateway may quote back
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        pieces.add(base64.b64encode(credentials).decode())
    return {piece for piece in pieces if len(piece) >= 4 and piece != parts.hostname}
