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
    processes): a quiet command never imports tqdm. Without a ``total``, the bar appears at the first advance, which
    may bring it: checks that come before the work (export's, pixelate's) show no empty bar. A command that fails
    wipes its bar."""
    if not shown:
        yield _unseen
        return
    from tqdm import tqdm

    bars: list[tqdm] = [] if total is None else [tqdm(total=total, initial=done, unit=unit, desc=desc)]

    def advance(more: int, count: int | None = None) -> None:
        if not bars:
            bars.append(tqdm(total=count, initial=done, unit=unit, desc=desc))
        elif count is not None and count != bars[0].total:
            bars[0].total = count
            bars[0].refresh()
        bars[0].update(more)

    try:
        yield advance
    except BaseException:
        for bar in bars:
            bar.leave = False  # a failed command's bar is wiped, so its one-line error stands alone
        raise
    finally:
        for bar in bars:
            bar.close()


def _unseen(done: int, total: int | None = None) -> None:
    """Advances a bar that is not shown."""
