"""Depth: the order a token's art is drawn in, as ``[traits].order`` and the ``[[depth]]`` overrides declare it.

A trait's art may be drawn in several parts at different depths: ``[traits].order`` lists
``hat:back`` where the back of the hat draws (below ``hair``) and ``hat`` where its main art does.
A ``[[depth]]`` table moves one entry just above or below another for the combinations its ``when``
selects (``when = { hair = "Long" }``, ``move = "earring"``, ``above = "hair"``). This module reads
and checks that declaration against the tables, and answers, for a batch of trait sets, which
order each draws in; :mod:`generator.render.layers` draws them. Without parts or overrides the
order is ``[traits].order`` itself, one part per trait: the simple case, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from generator.config import PART_MARK, Config, DepthOverride
from generator.errors import UserError
from generator.plan.selection import check_selection

if TYPE_CHECKING:
    from generator.plan.traits import Combo, TraitTable

Order = tuple[int, ...]  # positions in DrawOrder.parts, bottom first


@dataclass(frozen=True)
class Part:
    trait: int  # the trait (position in the tables) whose value chooses this part's art, and who owns its pixels
    name: str  # "" for the trait's main art (layers/<trait>/<value>.png), else layers/<trait>/<name>/

    def label(self, tables: list[TraitTable]) -> str:
        """The part as ``[traits].order`` names it: ``hat`` or ``hat:back``."""
        return tables[self.trait].key + (f"{PART_MARK}{self.name}" if self.name else "")


@dataclass(frozen=True)
class Override:
    number: int  # 1-based position among the [[depth]] tables
    when: tuple[tuple[int, frozenset[int]], ...]  # (trait position, value indices): all must hold
    move: int  # the part moved (position in the default order)
    target: int  # the part it is drawn next to
    above: bool  # just above the target (drawn after it), else just below

    def applies(self, combos: np.ndarray) -> np.ndarray:
        """(batch, traits) → (batch,) whether this override switches on for each trait set."""
        hits = np.ones(len(combos), dtype=bool)
        for trait, values in self.when:
            hits &= np.isin(combos[:, trait], list(values))
        return hits

    def moved(self, order: Order) -> Order:
        rest = [part for part in order if part != self.move]
        at = rest.index(self.target) + (1 if self.above else 0)
        return tuple(rest[:at] + [self.move] + rest[at:])

    def over(self) -> tuple[int, int]:
        """(upper, lower): the pair this override puts one over the other."""
        return (self.move, self.target) if self.above else (self.target, self.move)


@dataclass(frozen=True)
class DrawOrder:
    parts: tuple[Part, ...]  # every part in [traits].order's order: the default drawing order
    overrides: tuple[Override, ...] = ()

    @property
    def simple(self) -> bool:
        """One part per trait and no override: the order every collection had before depth, drawn as it was."""
        return not self.overrides and all(not part.name for part in self.parts)

    @property
    def default(self) -> Order:
        return tuple(range(len(self.parts)))

    def orders(self, combos: np.ndarray) -> tuple[np.ndarray, list[Order]]:
        """Each trait set's drawing order, as (batch,) indices into a list of the distinct orders the batch uses.

        Overrides apply in file order; the batch is grouped by which of them switch on, so a batch draws once per
        distinct order (one group without overrides), never once per token."""
        if not self.overrides:
            return np.zeros(len(combos), dtype=np.intp), [self.default]
        switched = np.zeros(len(combos), dtype=np.int64)
        for bit, override in enumerate(self.overrides):
            switched |= override.applies(combos).astype(np.int64) << bit
        keys, groups = np.unique(switched, return_inverse=True)
        return groups.reshape(-1), [self.order_for(int(key)) for key in keys]

    def order_of(self, combo: Combo) -> Order:
        groups, orders = self.orders(np.array([combo]))
        return orders[groups[0]]

    def order_for(self, switched: int) -> Order:
        """The order a set of switched-on overrides (a bit each, in file order) makes of the default one."""
        order = self.default
        for bit, override in enumerate(self.overrides):
            if switched >> bit & 1:
                order = override.moved(order)
        return order


def draw_order(config: Config, tables: list[TraitTable]) -> DrawOrder:
    """``[traits].order``'s parts and the ``[[depth]]`` overrides, checked against the tables: each mistake is one
    line naming the key, so a typo never silently draws a part in the wrong place or not at all."""
    labels = {label: position for position, label in enumerate(config.traits.order)}
    keys = {table.key: trait for trait, table in enumerate(tables)}
    parts = tuple(_part(config.path, entry, keys, tables) for entry in config.traits.order)
    if parts[0].name:
        raise UserError(
            f"{config.path}: [traits].order starts with the part '{config.traits.order[0]}'; the bottom entry must be a "
            "trait, whose layers are opaque: move the part up"
        )
    drawn = DrawOrder(parts, tuple(_override(config.path, entry, labels, tables) for entry in config.depth))
    _refuse_contradictions(config.path, drawn, tables)
    return drawn


def _part(config_path: Path, entry: str, keys: dict[str, int], tables: list[TraitTable]) -> Part:
    trait, _, name = entry.partition(PART_MARK)
    if trait not in keys:
        raise UserError(
            f"{config_path}: [traits].order names the part '{entry}' of unknown trait '{trait}'; known traits: {', '.join(keys)}"
        )
    table = tables[keys[trait]]
    clash = next((value for value in table.values if name and Path(value.layer).stem.casefold() == name.casefold()), None)
    if clash is not None:  # layers/hat/back/ would be both the part's folder and the value's frames folder
        raise UserError(
            f"{config_path}: [traits].order names the part '{entry}', but layers/{trait}/{name}/ is also where {trait} "
            f"value '{clash.name}' ({table.path.name}) keeps its frames; rename the part"
        )
    return Part(keys[trait], name)


def _override(config_path: Path, entry: DepthOverride, labels: dict[str, int], tables: list[TraitTable]) -> Override:
    where = f"{config_path}: [[depth]] #{entry.number}"
    check_selection(f"{where} when", entry.when, tables)
    if bool(entry.above) == bool(entry.below):
        raise UserError(f"{where} needs exactly one of above or below (the entry '{entry.move}' is drawn next to)")
    target = entry.above or entry.below
    for key, label in (("move", entry.move), ("above" if entry.above else "below", target)):
        if label not in labels:
            raise UserError(f"{where} {key} names '{label}', which [traits].order does not list; listed: {', '.join(labels)}")
    if entry.move == target:
        raise UserError(f"{where} moves '{target}' next to itself; name another entry of [traits].order")
    bottom = next(iter(labels))
    if labels[entry.move] == 0:
        raise UserError(
            f"{where} moves the bottom layer '{bottom}', which must stay the bottom (it is opaque); move another entry"
        )
    if entry.below and labels[target] == 0:
        raise UserError(f"{where} would draw '{entry.move}' below the bottom layer '{bottom}', where nothing shows; use above")
    position = {table.key: trait for trait, table in enumerate(tables)}
    when = tuple(
        (position[trait], frozenset(tables[position[trait]].index_of(name) for name in names))  # type: ignore[misc]
        for trait, names in entry.when.items()
    )
    return Override(entry.number, when, labels[entry.move], labels[target], bool(entry.above))


def _refuse_contradictions(config_path: Path, drawn: DrawOrder, tables: list[TraitTable]) -> None:
    """Overrides that one trait set switches on together must all hold in the order they make: each puts its entry
    above (or below) its target, and a later one that moves either of the two back across the other undoes it (the
    same entry sent two ways, a pair put both ways round, or a cycle through three). File order would silently pick
    one, so the two are named. For each override, every set of the overrides bearing on it (see :func:`_bearing_on`)
    that the tables can switch on together with it is tried (rules aside)."""
    for bit, first in enumerate(drawn.overrides):
        bearing = _bearing_on(drawn.overrides, bit)
        for switched in _switchable(config_path, drawn.overrides, bearing, tables):
            if switched >> bit & 1 and switched != 1 << bit:
                _refuse_undone(config_path, drawn, tables, first, switched)


def _refuse_undone(config_path: Path, drawn: DrawOrder, tables: list[TraitTable], first: Override, switched: int) -> None:
    position = {part: at for at, part in enumerate(drawn.order_for(switched))}
    upper, lower = first.over()
    if position[upper] > position[lower]:
        return
    applied = [override for bit, override in enumerate(drawn.overrides) if switched >> bit & 1]
    second = next(later for later in applied[applied.index(first) + 1 :] if later.move in (upper, lower))
    raise UserError(
        f"{config_path}: [[depth]] #{first.number} and #{second.number} both apply to one trait set and disagree: "
        f"#{first.number} draws '{drawn.parts[upper].label(tables)}' over '{drawn.parts[lower].label(tables)}', "
        f"#{second.number} undoes it; narrow one's `when` or make them agree"
    )


def _bearing_on(overrides: tuple[Override, ...], bit: int) -> list[int]:
    """The overrides (bits, file order) that can decide whether override ``bit``'s pair ends the right way round.

    An override only changes where its own entry stands, next to its target. So after ``bit`` applies, its pair turns
    only through a later override moving one of the two, whose outcome is how its target stood to the other one when
    it applied: the last override before it that moved either, and so on back. Only these can matter; the others
    are left out, so independent overrides (one per trait, a chain of lifts) never multiply into 2^n sets to try."""
    needed = {bit}
    pending = [(overrides[bit].move, overrides[bit].target, bit + 1, len(overrides))]
    seen = set()
    while pending:
        one, other, start, end = pending.pop()
        if (one, other, start, end) in seen:
            continue
        seen.add((one, other, start, end))
        for later in range(start, end):
            moved = overrides[later].move
            if moved in (one, other):
                needed.add(later)
                stays = other if moved == one else one
                if overrides[later].target != stays:
                    pending.append((overrides[later].target, stays, 0, later))
    return sorted(needed)


SWITCHABLE_LIMIT = 1 << 15  # sets tried per override: 15 lifts of one entry, each on its own trait, check in 0.3 s here


def _switchable(config_path: Path, overrides: tuple[Override, ...], group: list[int], tables: list[TraitTable]) -> set[int]:
    """Each set of the ``group``'s overrides (a bit per override, file order) that some trait set switches on, rules aside.

    Built trait by trait: a value matters only by which ``when``s hold it, so the sets stay few however many values
    the tables have; never one per combination. Interacting overrides whose ``when``s name many traits could still
    make billions of sets, so past :data:`SWITCHABLE_LIMIT` they are refused in one line rather than checked for
    hours."""
    reachable = {sum(1 << bit for bit in group)}
    for trait in sorted({trait for bit in group for trait, _ in overrides[bit].when}):
        keeps = _kept_by_values(overrides, group, trait, len(tables[trait].values))
        reachable = {switched & kept for switched in reachable for kept in keeps}
        if len(reachable) > SWITCHABLE_LIMIT:
            numbers = ", ".join(f"#{overrides[bit].number}" for bit in group[:3]) + (", …" if len(group) > 3 else "")
            raise UserError(
                f"{config_path}: [[depth]] {numbers} ({len(group)} overrides) move entries next to one another under `when`s that combine in "
                f"more than {SWITCHABLE_LIMIT:,} ways, too many to check that they agree; name fewer traits in their "
                "`when`s, or move fewer entries relative to one another"
            )
    return reachable


def _kept_by_values(overrides: tuple[Override, ...], group: list[int], trait: int, values: int) -> set[int]:
    """The distinct sets of the group's overrides that one value of ``trait`` leaves possible: those without a
    ``when`` on the trait, plus those whose ``when`` lists the value. Read from the ``when``s' own lists, so a table of
    thousands of values costs what the overrides name, not values × overrides."""
    selecting = {bit: dict(overrides[bit].when).get(trait) for bit in group}
    unnamed = sum(1 << bit for bit, chosen in selecting.items() if chosen is None)
    named: dict[int, int] = {}
    for bit, chosen in selecting.items():
        for value in chosen or ():
            named[value] = named.get(value, unnamed) | 1 << bit
    return set(named.values()) | ({unnamed} if len(named) < values else set())
