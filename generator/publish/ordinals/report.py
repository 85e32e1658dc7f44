"""The cost report: bytes of every inscription, each phase's batches with their vbytes and fees, and what
inscribing every token as its PNG would cost instead. Printed by the CLI and written as ``report.json``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.errors import plural
from generator.publish.ordinals.batch import ORD_VERSION
from generator.publish.ordinals.cost import POSTAGE, Inscription, fee, reveal_weight, split_batches, vbytes
from generator.publish.ordinals.entries import Plan, placeholder_ids, token_entries


@dataclass(frozen=True)
class Costs:
    document: dict[str, Any]
    lines: list[str]


def cost_report(plan: Plan, token_batches: list[list[Inscription]], fee_rate: float, side: int) -> Costs:
    whole = [entry.inscription() for entry in token_entries(plan, placeholder_ids(plan.layer_batches), side, whole=True)]
    phases = {
        "layers": _phase(plan.layer_batches, 0, fee_rate),
        "tokens": _phase(token_batches, 1, fee_rate),
        "every_token_as_png": _phase(split_batches(whole, 1), 1, fee_rate),
    }
    recursive = phases["layers"]["fee_sats"] + phases["tokens"]["fee_sats"]
    share = recursive / phases["every_token_as_png"]["fee_sats"]
    files = [{"file": i.file, "bytes": len(i.body)} for batch in [*plan.layer_batches, *token_batches] for i in batch]
    document = {
        "ord": ORD_VERSION,
        "fee_rate_sat_per_vb": fee_rate,
        "postage_sats_each": POSTAGE,
        **phases,
        "recursive_over_png_fee": round(share, 4),
        "inscriptions": files,
    }
    lines = [_line(name, phase, fee_rate) for name, phase in phases.items()]
    lines.append(
        f"layers + tokens cost {share:.0%} of inscribing every token as its PNG, at {fee_rate:g} sat/vB "
        f"(plus {POSTAGE:,} sats of postage kept in each inscription)"
    )
    return Costs(document, lines)


def _phase(batches: list[list[Inscription]], parents: int, fee_rate: float) -> dict[str, Any]:
    sizes = [vbytes(reveal_weight(batch, parents)) for batch in batches]
    count = sum(len(batch) for batch in batches)
    content = sum(len(item.body) for batch in batches for item in batch)
    return {
        "inscriptions": count,
        "content_bytes": content,
        "average_bytes": round(content / count, 1),
        "batches": len(batches),
        "vbytes": sum(sizes),
        "fee_sats": sum(fee(size, fee_rate) for size in sizes),
    }


def _line(name: str, phase: dict[str, Any], fee_rate: float) -> str:
    return (
        f"{name.replace('_', ' ')}: {plural(phase['inscriptions'], 'inscription')}, {phase['content_bytes']:,} bytes "
        f"({phase['average_bytes']:,} average), {phase['batches']} batch{'es' if phase['batches'] > 1 else ''}, {phase['vbytes']:,} vB, "
        f"{phase['fee_sats']:,} sats at {fee_rate:g} sat/vB"
    )
