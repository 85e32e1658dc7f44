"""The renderer contract deployed into an in-process EVM (py-evm through eth-tester): what the gas report measures.

Nothing here is estimated: every figure is the gas the EVM charged. Transactions are sent as a deployer would
send them (the renderer's creation, each ``store``, ``seal``, ``mint``) and their receipts' ``gasUsed`` read;
a view call (``tokenURI``) is run as a transaction on a snapshot that is then reverted, and its gas is what
the EVM charged it, the 21,000 + calldata intrinsic cost included, as ``eth_estimateGas`` reports it.

py-evm is an optional dependency (``pip install -e '.[onchain]'``): :func:`evm_missing` says how to get it, and
this module imports it only when a chain is made.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from generator.publish.onchain.artifact import renderer_code

BLOCK_GAS = 60_000_000  # room for any one transaction a collection needs; mainnet's 36 M caps each at 30 M here
DEFAULT_GAS_PRICE = 10.0  # gwei: above Ethereum mainnet's usual base fee in 2025, so the ETH shown is not optimistic
INSTALL = "pip install -e '.[onchain]' (py-evm and eth-tester)"


def evm_missing() -> str | None:
    """Why no EVM can run here (the install command), or ``None`` when py-evm and eth-tester import."""
    if all(importlib.util.find_spec(name) for name in ("eth_tester", "eth", "eth_abi")):
        return None
    return f"gas not measured: no in-process EVM ({INSTALL})"


@dataclass(frozen=True)
class Transaction:
    label: str  # 'deploy', 'store 1', 'seal', 'mint'…
    gas: int


def constructor_data(arguments: dict[str, Any]) -> bytes:
    """The creation transaction's data: the renderer's code and its ABI-encoded constructor arguments
    (``contract.json``), as the deployment plan sends it (:mod:`.plan`)."""
    from generator.publish.onchain.plan import constructor_arguments

    return renderer_code() + constructor_arguments(arguments)


def selector(signature: str) -> bytes:
    from eth_utils import keccak

    return keccak(signature.encode())[:4]


def call_data(signature: str, types: list[str], values: list[Any]) -> bytes:
    from eth_abi import encode

    return selector(signature) + encode(types, values)


class Reverted(Exception):
    """A transaction the contract reverted."""


class Chain:
    """A fresh in-process chain with one funded account, the owner of whatever it deploys."""

    def __init__(self) -> None:
        import eth_tester

        params = eth_tester.PyEVMBackend.generate_genesis_params(overrides={"gas_limit": BLOCK_GAS})
        self.tester = eth_tester.EthereumTester(eth_tester.PyEVMBackend(params))
        self.owner = self.tester.get_accounts()[0]
        self.address: str | None = None
        self._view: Any = None  # the VM view calls run on, at the last block (see :meth:`view_state`)

    def send(self, label: str, data: bytes, to: str | None = None) -> tuple[Transaction, dict]:
        """Mine one transaction from the owner; its gas as the receipt has it (a revert raises :class:`Reverted`)."""
        transaction = {"from": self.owner, "gas": BLOCK_GAS // 2, "data": "0x" + data.hex()} | ({"to": to} if to else {})
        receipt = self.tester.get_transaction_receipt(self.tester.send_transaction(transaction))
        self._view = None
        if receipt["status"] != 1:
            raise Reverted(label)
        return Transaction(label, receipt["gas_used"]), receipt

    def deploy(self, arguments: dict[str, Any], stream: bytes) -> list[Transaction]:
        """The renderer created, the data stream stored chunk by chunk (``contract.json``'s ``chunks``), then sealed."""
        created, receipt = self.send("deploy renderer", constructor_data(arguments))
        self.address = receipt["contract_address"]
        sent, at = [created], 0
        for number, size in enumerate(arguments["chunks"], 1):
            sent.append(self.transact(f"store {number}", "store(bytes)", ["bytes"], [stream[at : at + size]]))
            at += size
        return [*sent, self.transact("seal", "seal()", [], [])]

    def transact(self, label: str, signature: str, types: list[str], values: list[Any]) -> Transaction:
        assert self.address is not None, "deploy first"
        return self.send(label, call_data(signature, types, values), self.address)[0]

    def mint(self, quantity: int) -> Transaction:
        return self.transact(f"mint {quantity}", "mint(address,uint256)", ["address", "uint256"], [self.owner, quantity])

    def call(self, signature: str, types: list[str], values: list[Any], returns: str, to: str | None = None) -> Any:
        """A view function's decoded result (of the renderer, or of the contract at ``to``)."""
        from eth_abi import decode

        data = call_data(signature, types, values)
        out = self.tester.call({"from": self.owner, "to": to or self.address, "data": "0x" + data.hex(), "gas": BLOCK_GAS})
        return decode([returns], bytes.fromhex(out[2:]) if isinstance(out, str) else bytes(out))[0]

    def call_gas(self, signature: str, types: list[str], values: list[Any], to: str | None = None) -> int:
        """The gas a view call (of the renderer, or of the contract at ``to``) costs, intrinsic included as
        ``eth_estimateGas`` gives it, run once and reverted."""
        from eth.vm.spoof import SpoofTransaction

        vm = self.view_vm()
        owner = bytes.fromhex(self.owner[2:])
        unsigned = vm.create_unsigned_transaction(
            nonce=vm.state.get_nonce(owner),
            gas_price=vm.state.base_fee,  # the least the block takes; the snapshot is reverted, nothing is paid
            gas=BLOCK_GAS,
            to=bytes.fromhex((to or self.address)[2:]),
            value=0,
            data=call_data(signature, types, values),
        )
        snapshot = vm.state.snapshot()
        try:
            computation = vm.state.apply_transaction(SpoofTransaction(unsigned, from_=owner))
        finally:
            vm.state.revert(snapshot)
        if computation.is_error:
            raise Reverted(signature)
        return unsigned.intrinsic_gas + computation.get_gas_used()

    def view_vm(self) -> Any:
        """The VM :meth:`call_gas` runs on, kept until the next transaction, so that storage written into its state
        (:func:`.gas` gives unminted tokens an owner, as ``eth_call``'s state override does) stays for every call."""
        if self._view is None:
            self._view = self.tester.backend.chain.get_vm()
        return self._view
