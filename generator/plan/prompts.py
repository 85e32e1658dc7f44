"""``[prompt].template`` + each trait's ``prompt`` fragment → the text a diffusion backend renders."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

from generator.config import PromptSettings
from generator.errors import UserError
from generator.plan.traits import Combo, TraitTable


@dataclass(frozen=True)
class PromptTemplate:
    template: str
    negative: str

    def compose(self, tables: list[TraitTable], combo: Combo) -> str:
        """Fill every ``{trait}``; an empty fragment (e.g. accessory None) leaves no stray comma behind."""
        fragments = {table.key: table.values[i].prompt for table, i in zip(tables, combo, strict=True)}
        return _tidy(self.template.format_map(fragments))


def prompt_template(settings: PromptSettings, tables: list[TraitTable], config_path: Path) -> PromptTemplate:
    """Check the placeholders once, so a typo fails before rendering rather than on token 1."""
    known = {table.key for table in tables}
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(settings.template) if name is not None]
    except ValueError as error:
        raise UserError(f"{config_path}: [prompt].template: {error}; write a literal brace as {{{{ or }}}}") from None
    for name in fields:
        if name not in known:
            raise UserError(
                f"{config_path}: [prompt].template uses {{{name}}} but there is no trait '{name}'; known: {', '.join(sorted(known))}"
            )
    return PromptTemplate(template=settings.template, negative=settings.negative)


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"(\s*,\s*)+", ", ", text)  # collapse the commas around empty fragments
    return text.strip(" ,")
