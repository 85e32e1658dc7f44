"""Where finishing work runs: inline for small runs, in worker processes for large ones.

Measured on the 2-core development machine, sprite tokens on tmpfs, inline against two workers:
1,000 tokens 0.68 s against 0.87 s, 2,000 tokens 0.90 s against 0.92 s, 4,000 tokens 1.46 s
against 1.23 s, 10,000 tokens 3.4 s against 2.3 s. PNG encoding, schema validation and file
creation are most of a run; workers overlap them with rendering, but starting them (spawn: a
fresh interpreter, safe beside CUDA and threads) costs ~0.3 s, hence the threshold.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import multiprocessing.reduction
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

POOL_THRESHOLD = 2000  # tokens: the break-even measured above
MAX_WORKERS = 4
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# One BLAS thread per worker: two workers each running OpenBLAS's two threads on two cores spin
# against each other (`punkgen pixelate` on 200 renders: 20 images/s, against 100+ with one).
BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class InlineExecutor(Executor):
    """Runs each task at submission, so callers need one code path whether or not workers exist."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - delivered to the caller through the future, as a pool would
            future.set_exception(error)
        return future


def executor_for(tasks: int, threshold: int = POOL_THRESHOLD, hold: int | None = None) -> Executor:
    """Worker processes for ``tasks`` units of work when there are enough to pay for starting them.

    ``hold``: a locked descriptor (see :mod:`generator.run.lock`) every worker keeps a duplicate of, so
    the folder stays locked while any worker of this run is alive.
    """
    cores = os.cpu_count() or 1
    if tasks < threshold or cores < 2:
        return InlineExecutor()
    for variable in BLAS_THREADS:  # inherited by the workers only: this process's BLAS is already loaded
        os.environ.setdefault(variable, "1")
    context = multiprocessing.get_context("spawn")
    return _WorkerPool(
        max_workers=min(MAX_WORKERS, cores),
        mp_context=context,
        initializer=_worker_setup,
        initargs=(os.getpid(), None if hold is None else _Inherited(hold)),
    )


class _Inherited:
    """A descriptor that each worker receives a duplicate of as it starts (multiprocessing passes it along with the
    spawn), arriving as a plain ``int``. Every worker gets its own duplicate, unlike a shared one-use handle."""

    def __init__(self, descriptor: int):
        self.descriptor = descriptor

    def __reduce__(self) -> tuple[Callable[[Any], int], tuple[Any]]:
        return _detach, (multiprocessing.reduction.DupFd(self.descriptor),)


def _detach(duplicate: Any) -> int:
    return duplicate.detach()


class _WorkerPool(ProcessPoolExecutor):
    """Starts workers with Ctrl-C held back, on both sides of the spawn.

    A terminal's SIGINT reaches the whole process group: a worker still importing when it lands
    printed a traceback (~90 lines for four), and a main process interrupted while handing a new
    worker its start-up data left that worker reading a cut pipe (``EOFError``). So the signal is
    blocked while a worker starts (a new process inherits the mask, and :func:`_worker_setup`
    ignores it before unblocking), and the main process's own Ctrl-C is deferred to the end of
    ``submit``: blocking alone would not do, as the kernel hands the signal to another thread.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        deferred: list[tuple[int, Any]] = []
        handler = signal.signal(signal.SIGINT, lambda *received: deferred.append(received))
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # workers start inside submit
        try:
            return super().submit(fn, *args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            signal.signal(signal.SIGINT, handler)
            if deferred and callable(handler):
                handler(*deferred[0])  # Python's default handler raises KeyboardInterrupt here


def _worker_setup(parent: int, held: int | None) -> None:
    """Ctrl-C is the main process's to handle; and a worker must not outlive it, even after ``kill -9``.

    On Linux the kernel kills the worker with its parent (``PR_SET_PDEATHSIG``); elsewhere a
    watchdog thread polls. Without either, workers of a killed run were seen writing files for
    up to 2 s, racing the resumed run's sweep of staged files. ``held`` (the folder lock's
    duplicate) is never closed: the lock lasts while this process does.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the watchdog thread is the only guard


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)
