"""What ``punkgen traits check`` reports: the tables, rules and layers validated without rendering a token."""

from __future__ import annotations

from dataclasses import dataclass

from generator.config import Config
from generator.prompts import prompt_template
from generator.render import create_renderer
from generator.rules import compile_rules, count_valid
from generator.traits import TraitTable, load_traits


@dataclass(frozen=True)
class TraitReport:
    tables: list[TraitTable]
    capacity: int  # distinct valid trait sets
    rules: int
    layers: int  # layer files loaded and checked


def check_traits(config: Config) -> TraitReport:
    """Run every check a collection run makes before its first write; raises :class:`UserError` on the first problem."""
    tables = load_traits(config)
    rules = compile_rules(config.rules, tables)
    prompt_template(config.prompt, tables, config.path)
    create_renderer("sprites", config, tables)
    return TraitReport(
        tables=tables,
        capacity=count_valid(tables, rules),
        rules=len(rules),
        layers=sum(len(table.enabled_indices) for table in tables),
    )
