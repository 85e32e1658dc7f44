"""What ``punkgen traits check`` reports: the tables, rules, plan and layers validated without rendering a token.

Errors (a :class:`UserError`, exit 2) are what a collection run would refuse: bad tables, rules
that leave a weighted value no valid set, a plan that cannot be made. Warnings are what a run
would survive but a creator would not want:

- **rarity drift**: rules (and, for large N, drawing distinct sets) change the shares a run
  realises; each value's configured share is shown beside its expected one, and a value that
  moves by more than :data:`DRIFT_RELATIVE` or :data:`DRIFT_ABSOLUTE` is marked and explained;
- **layers the quality filter will reject** or the palette snap will change (:mod:`generator.preflight.layer_warnings`).

Where a trait draws in parts or ``[[depth]]`` overrides the order, the report shows the drawing order, which values
draw each part, and how many planned tokens each override switches on for (:mod:`generator.preflight.depth_lines`).

:func:`report_lines` and :func:`warning_lines` are exactly what the command prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.config import Config
from generator.pixels.palette import read_palette
from generator.plan.one_of_ones import place_one_of_ones
from generator.plan.plan import expected_shares, plan_collection
from generator.plan.prompts import prompt_template
from generator.plan.rules import CompiledRule, Support, analyse, compile_rules
from generator.plan.traits import TraitTable, load_traits
from generator.preflight.animation_lines import animation_lines
from generator.preflight.depth_lines import depth_lines, drawn_values, hidden_values, idle_overrides
from generator.preflight.layer_warnings import layer_warnings
from generator.render.layers import load_layers

# A value is marked when its expected share differs from its configured one by a quarter of it
# (rarity is relative: OpenRarity scores are log(1/share), and 25 % moves a value by 0.3 bits, about
# the gap between neighbouring weights in the shipped tables), or by 5 points for common values,
# where a quarter would be a large absolute change: one token in twenty looks different. The shipped
# rules mark Medical Mask (5 % → 2.2 %), Pipe and Vape (5 % → 3.3 %), and nothing else at N = 100.
DRIFT_RELATIVE = 0.25
DRIFT_ABSOLUTE = 0.05
DRIFT_MARK = "← drift"


@dataclass(frozen=True)
class ValueShare:
    """One value's share of the tokens: as weighted, after the rules (one draw), and in the N-token plan."""

    name: str
    weight: float
    configured: float
    under_rules: float  # one weighted draw of a valid set
    expected: float  # in a plan of [collection].size tokens, by [traits].sampling

    @property
    def drifts(self) -> bool:
        return drifted(self.configured, self.expected)


def drifted(configured: float, realised: float) -> bool:
    change = abs(realised - configured)
    return change >= DRIFT_ABSOLUTE or (configured > 0 and change >= DRIFT_RELATIVE * configured)


@dataclass(frozen=True)
class TraitReport:
    config_path: Path
    tables: list[TraitTable]
    capacity: int  # distinct valid trait sets
    rules: int
    layers: int  # layer files loaded and checked
    layers_folder: Path
    size: int  # tokens the plan was checked for
    sampling: str
    shares: list[list[ValueShare]]  # per table, per value
    warnings: list[str]  # without the "warning: " prefix
    depth: list[str]  # the parts and [[depth]] overrides, where the collection has any
    animation: (
        tuple[str, ...] | list[str]
    ) = ()  # the strips and the planned tokens' frame counts, where the collection has strips


def check_traits(config: Config) -> TraitReport:
    """Run every check a collection run makes before its first write (the plan included); raises :class:`UserError`."""
    tables = load_traits(config)
    rules = compile_rules(config.rules, tables)
    prompt_template(config.prompt, tables, config.path)
    layers = load_layers(config, tables)
    palette_path = config.resolve(config.pixels.palette)
    palette = read_palette(palette_path) if palette_path else None
    c = config.collection
    one_of_ones = place_one_of_ones(config)
    size = c.size - len(one_of_ones)  # the tokens drawn from the tables
    planned = plan_collection(tables, rules, size, c.seed, config.traits.sampling, c.first_token_id, frozenset(one_of_ones))
    support = analyse(tables, rules)
    shares = _shares(tables, support, expected_shares(tables, rules, size, config.traits.sampling, support))
    warnings = _drift_warnings(tables, rules, shares, size, support.capacity, config.traits.sampling)
    warnings += layer_warnings(config, tables, layers, palette, palette_path)
    combos = np.array([token.combo for token in planned])
    warnings += idle_overrides(config.path, tables, layers, combos)
    warnings += hidden_values(config, tables, layers, combos)
    return TraitReport(
        config_path=config.path,
        tables=tables,
        capacity=support.capacity,
        rules=len(rules),
        layers=sum(len(drawn) for drawn in drawn_values(layers)),
        layers_folder=config.layers_folder,
        size=size,
        sampling=config.traits.sampling,
        shares=shares,
        warnings=warnings,
        depth=depth_lines(tables, layers, combos),
        animation=animation_lines(config, tables, layers, [token.combo for token in planned]),
    )


def _shares(tables: list[TraitTable], support: Support, expected: list[list[float]]) -> list[list[ValueShare]]:
    return [
        [
            ValueShare(value.name, value.weight, configured, under_rules, planned)
            for value, configured, under_rules, planned in zip(
                table.values, table.shares(), support.law[t], expected[t], strict=True
            )
        ]
        for t, table in enumerate(tables)
    ]


def _drift_warnings(
    tables: list[TraitTable], rules: tuple[CompiledRule, ...], shares: list[list[ValueShare]], size: int, capacity: int, mode: str
) -> list[str]:
    """One line per marked value: how far it moves, and whether the rules or the drawing of distinct sets moves it."""
    lines = []
    for t, table in enumerate(tables):
        for i, share in enumerate(shares[t]):
            if not share.drifts:
                continue
            moved = f"{table.key} '{share.name}' is configured at {share.configured:.2%} but a {size:,}-token plan holds about {share.expected:.2%}"
            if mode == "exact":
                tokens = round(share.expected * size)
                lines.append(
                    f"{moved} ({tokens} of {size:,} tokens): quotas are whole tokens; raise N or change its weight in {table.path}"
                )
            elif drifted(share.configured, share.under_rules):
                direction = "raise" if share.expected < share.configured else "lower"
                # first order: the value's law scales with its weight (the table total moves too, hence "about")
                target = share.weight * share.configured / share.under_rules
                lines.append(
                    f"{moved} because of {_rules_on(rules, t, i)}; to get {share.configured:.2%}, {direction} its weight "
                    f"in {table.path} to about {target:.3g}, or relax the rules"
                )
            else:
                lines.append(
                    f"{moved}: {mode} sampling draws {size:,} distinct sets of only {capacity:,}, which evens the shares out; "
                    "lower N or add values"
                )
    return lines


def _rules_on(rules: tuple[CompiledRule, ...], trait: int, index: int) -> str:
    """The rules that name this value (in when, forbid or require), else those about its trait, as ``[[rules]] #2, #3``."""
    naming = [rule for rule in rules if any(t == trait and index in values for t, values in rule.when + rule.banned)]
    about = naming or [rule for rule in rules if any(t == trait for t, _ in rule.when + rule.banned)]
    if not about:
        return "the rules on the traits it is combined with"
    return "[[rules]] " + ", ".join(f"#{rule.number}" for rule in about)


def report_lines(report: TraitReport) -> list[str]:
    """The report as ``punkgen traits check`` prints it to stdout (warnings: :func:`warning_lines`)."""
    lines = [
        f"{report.config_path}: {len(report.tables)} traits, {report.rules} rules, {report.capacity:,} distinct valid trait sets",
        f"shares: configured (weight ÷ table total) → expected in a plan of {report.size:,} tokens under the rules "
        f"({report.sampling} sampling); {DRIFT_MARK} marks a change of {DRIFT_RELATIVE:.0%} of the share or {DRIFT_ABSOLUTE * 100:g} percentage points",
    ]
    for table, shares in zip(report.tables, report.shares, strict=True):
        lines += ["", f"{table.trait_type} ({table.path})"]
        for share in shares:
            mark = f"  {DRIFT_MARK}" if share.drifts else ""
            lines.append(f"  {share.name:<24} {share.weight:>8g}  {share.configured:7.2%} → {share.expected:7.2%}{mark}")
    lines += ["", f"layers: {report.layers} files checked in {report.layers_folder}"]
    return lines + report.depth + list(report.animation)


def warning_lines(report: TraitReport) -> list[str]:
    """What a run would survive but a creator should fix, one ``warning:`` line each, for stderr."""
    return [f"warning: {warning}" for warning in report.warnings]
