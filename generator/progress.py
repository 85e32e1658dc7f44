"""Progress bars for long commands, and none at all (not even tqdm's import, 25 ms) where they are hidden."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Advance(Protocol):
    def __call__(self, done: int, total: int | None = None) -> object:
        """``done`` more units finished; ``total``: the whole count, once the work has found it out."""


@contextmanager
def progress_bar(desc: str, unit: str, shown: bool, total: int | None = None, done: int = 0) -> Iterator[Advance]:
    """A tqdm bar's advance function, or one that does nothing when ``shown`` is False (``--quiet``, a team's other
    processes): a quiet command never imports tqdm."""
    if not shown:
        yield _unseen
        return
    from tqdm import tqdm

    with tqdm(total=total, initial=done, unit=unit, desc=desc) as bar:

        def advance(done: int, total: int | None = None) -> None:
            if total is not None and total != bar.total:
                bar.total = total
                bar.refresh()
            bar.update(done)

        yield advance


def _unseen(done: int, total: int | None = None) -> None:
    """Advances a bar that is not shown."""
