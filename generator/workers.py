"""Where finishing work runs: inline for small runs, in worker processes for large ones.

Measured on the 2-core development machine, sprite tokens on tmpfs, inline against two workers:
1,000 tokens 0.68 s against 0.87 s, 2,000 tokens 0.90 s against 0.92 s, 4,000 tokens 1.46 s
against 1.23 s, 10,000 tokens 3.4 s against 2.3 s. PNG encoding, schema validation and file
creation are most of a run; workers overlap them with rendering, but starting them (spawn: a
fresh interpreter, safe beside CUDA and threads) costs ~0.3 s, hence the threshold.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

POOL_THRESHOLD = 2000  # tokens: the break-even measured above
MAX_WORKERS = 4
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


def executor_for(tasks: int, threshold: int = POOL_THRESHOLD) -> Executor:
    """Worker processes for ``tasks`` units of work when there are enough to pay for starting them."""
    cores = os.cpu_count() or 1
    if tasks < threshold or cores < 2:
        return InlineExecutor()
    for variable in BLAS_THREADS:  # inherited by the workers only: this process's BLAS is already loaded
        os.environ.setdefault(variable, "1")
    return ProcessPoolExecutor(
        max_workers=min(MAX_WORKERS, cores),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_setup,
        initargs=(os.getpid(),),
    )


def _worker_setup(parent: int) -> None:
    """Ctrl-C is the main process's to handle; and a worker must not outlive it, even after ``kill -9``.

    Without the watchdog, workers of a killed run were seen blocked on their task queue for
    good. Its files are safe either way: every write is atomic and the manifest is the main
    process's alone.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)
