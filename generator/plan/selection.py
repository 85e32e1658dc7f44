"""A ``{ trait = values }`` selection, as ``[[rules]]`` and ``[[depth]]`` write their ``when``, checked against the tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.errors import UserError

if TYPE_CHECKING:
    from generator.plan.traits import TraitTable


def check_selection(where: str, selection: dict[str, tuple[str, ...]], tables: list[TraitTable]) -> None:
    """A ``{ trait = values }`` selection ([[rules]], [[depth]]) names only traits and values the tables hold."""
    by_key = {table.key: table for table in tables}
    for trait, names in selection.items():
        table = by_key.get(trait)
        if table is None:
            raise UserError(f"{where} names unknown trait '{trait}'; known traits: {', '.join(by_key)}")
        for name in names:
            if table.index_of(name) is None:
                raise UserError(f"{where} names unknown {trait} value '{name}'; check {table.path} for the spelling")
