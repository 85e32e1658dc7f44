"""Progress bars for long commands, and none at all (not even tqdm's import, 25 ms) where they are hidden."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Advance(Protocol):
    def __call__(self, more: int, total: int | None = None, /) -> object:
        """``more`` units finished since the last call; ``total``: the whole count, once the work has found it out."""


def unseen(more: int, total: int | None = None, /) -> None:
    """Advances no bar: what a library call reports to when nobody watches."""


@contextmanager
def progress_bar(desc: str, unit: str, shown: bool, total: int | None = None, finished: int = 0) -> Iterator[Advance]:
    """A tqdm bar's advance function (``finished`` units done before it starts), or :func:`unseen` when ``shown`` is
    False (``--quiet``, a team's other processes): a quiet command never imports tqdm. Without a ``total``, the bar
    appears at the first advance, which may bring it: checks that come before the work (export's, pixelate's) show
    no empty bar. A command that fails wipes its bar, so its one-line error stands alone; an interrupted one keeps
    it, showing how far it got. No monitor thread: punkgen forks its workers, and a forked process should hold no
    thread but the one forking."""
    if not shown:
        yield unseen
        return
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    bars: list[tqdm] = [] if total is None else [tqdm(total=total, initial=finished, unit=unit, desc=desc)]

    def advance(more: int, total: int | None = None, /) -> None:
        if not bars:
            bars.append(tqdm(total=total, initial=finished, unit=unit, desc=desc))
        elif total is not None and total != bars[0].total:
            bars[0].total = total
            bars[0].refresh()
        bars[0].update(more)

    try:
        yield advance
    except Exception:
        for bar in bars:
            bar.leave = False
        raise
    finally:
        for bar in bars:
            bar.close()
