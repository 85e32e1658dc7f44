"""``punkgen traits import``: bring another tool's layer project into a punkgen trait folder.

One module per source tool reads its config and layer folders into a
:class:`~generator.plan.importers.source.SourceProject`; :mod:`~generator.plan.importers.writer` writes it. Nothing
here runs the other tool or its JavaScript.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from generator.errors import Arg, UserError
from generator.files import real_path
from generator.plan.importers.writer import write_trait_folder

TOOLS = {"hashlips": "hashlips", "nftchef": "nftchef", "nft-generator-py": "nftgenpy"}


def import_project(
    source: Path, tool: str, target: Path, config: Path | None = None, configuration: int | None = None
) -> list[str]:
    """Write ``source`` (a ``tool`` project) as a trait folder at ``target``; returns the notes on what the source has
    that punkgen cannot represent and the choice made for each (also written into the folder's collection.toml)."""
    if tool not in TOOLS:
        raise UserError(f"{Arg.FROM} {tool!r}: unknown tool; choose one of {', '.join(TOOLS)}")
    if not source.is_dir():
        raise UserError(f"{source}: not a folder; name the {tool} project's folder")
    if real_path(source) in (resolved := real_path(target), *resolved.parents):
        raise UserError(f"{target} is inside the {tool} project {source}; choose {Arg.TO} outside it")
    module = import_module(f"generator.plan.importers.{TOOLS[tool]}")
    config_path = config or module.default_config(source)
    return write_trait_folder(module.read_project(source, config_path, configuration), target)
