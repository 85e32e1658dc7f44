"""Several processes, one collection: what ``accelerate launch -m generator collection …`` runs on several GPUs.

Every process plans the same collection and takes every world-th block of each round, writing
its tokens' files and its own manifest shard (one process alone is a one-member team: its shard
is the manifest itself). When a round ends, the main process merges the
shards into ``manifest.jsonl`` in the order one process would have written them, making the
duplicate check there, and every process reloads the merged manifest before the next round.
So the result equals a single-process run's, file for file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from generator.run.folder import MANIFEST

Item = TypeVar("Item")


@dataclass(frozen=True)
class Team:
    rank: int = 0
    world: int = 1
    state: Any = None  # accelerate's PartialState when several processes run

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.state is not None:
            self.state.wait_for_everyone()

    def share(self, blocks: list[Item]) -> list[Item]:
        """This process's blocks: round-robin, so a round's work stays even however many blocks are left."""
        return blocks[self.rank :: self.world]

    def journal(self, folder: Path) -> Path:
        """Where this process appends its manifest lines: each member of a team its own shard, merged in order when a
        round ends; one process alone writes them in that order already, straight into the manifest."""
        return folder / MANIFEST if self.world == 1 else folder / f"manifest.rank-{self.rank}.jsonl"


def join_team() -> Team:
    """One process unless a launcher (accelerate, torchrun) says otherwise; torch is imported only then."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Team()
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())  # without cpu=True, CPU processes would not join (gloo)
    return Team(state.process_index, state.num_processes, state)


def shards(folder: Path) -> list[Path]:
    return sorted(folder.glob("manifest.rank-*.jsonl"))
