"""Export formats: one module per target behind one protocol (:class:`~generator.publish.formats.base.ExportFormat`),
and the registry that maps ``--format`` names to them.

Adding a target: subclass ``ExportFormat`` in its own module (its schema beside it, or in :mod:`generator.schemas`)
and :func:`register` an instance here. ``punkgen export --format`` offers every registered name, and
:func:`generator.publish.export.export_collection` runs it through the same flow as the others.
"""

from __future__ import annotations

from generator.errors import Arg, UserError
from generator.publish.formats.base import ExportFormat
from generator.publish.formats.erc721 import ERC721
from generator.publish.formats.metaplex import Metaplex

REGISTRY: dict[str, ExportFormat] = {}


def register(target: ExportFormat) -> ExportFormat:
    """Offer ``target`` as ``--format <its name>``; a name taken twice is a bug in the format's module."""
    if target.name in REGISTRY:
        raise ValueError(f"export format {target.name!r} is registered already ({type(REGISTRY[target.name]).__name__})")
    REGISTRY[target.name] = target
    return target


def format_names() -> tuple[str, ...]:
    """The ``--format`` choices, the default first, in the order they were registered."""
    return tuple(REGISTRY)


def export_format(name: str) -> ExportFormat:
    if name not in REGISTRY:
        raise UserError(f"{Arg.FORMAT} {name!r}: choose one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


DEFAULT = register(ERC721()).name
register(Metaplex())
