"""Where finishing work runs: inline for small runs, in worker processes for large ones.

Workers overlap PNG encoding, the quality checks and file creation with rendering. Spawning one
(a fresh interpreter: safe beside CUDA and threads) costs ~0.3 s of CPU before its first task, so
spawned workers start from :data:`POOL_THRESHOLD` tasks; forked ones, which start warm with this
process's imports, wherever :func:`start_method` finds forking safe. Measured on the 2-core development machine
(``farm-bench``, whole ``punkgen collection`` processes on tmpfs, forked pool against inline,
median of 7 pairs): wall ratio 1.07 at 300 tokens, 0.98 at 600, 0.93 at 1,000; at 10,000, 0.69
(median of 5), hence :data:`FORKED_THRESHOLD`. A first task run here before forking, so that
workers inherited what it loaded, stopped paying once sprite tokens were judged in blocks: its
first-call cost fell to ~2 ms, while the serial task delayed both workers.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.reduction
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

POOL_THRESHOLD = 2000  # tasks: spawned workers' break-even on sprite tokens (2,000: 0.90 s inline, 0.92 s pooled)
FORKED_THRESHOLD = 1000  # tasks: where a forked pool stops costing anything (measured above)
MAX_WORKERS = 4
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# One BLAS thread per worker: two workers each running OpenBLAS's two threads on two cores spin
# against each other (`punkgen pixelate` on 200 renders: 20 images/s, against 100+ with one).
BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
ACCELERATOR_MODULES = {"torch", "jax", "tensorflow"}  # loaded: CUDA may be initialised, so workers are spawned


class InlineExecutor(Executor):
    """Runs each task at submission, so callers need one code path whether or not workers exist."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - delivered to the caller through the future, as a pool would
            future.set_exception(error)
        return future


def executor_for(tasks: int, threshold: int = POOL_THRESHOLD, hold: int | None = None, light: bool = False) -> Executor:
    """Worker processes for ``tasks`` units of work when there are enough to pay for starting them.

    ``hold``: a locked descriptor (see :mod:`generator.run.lock`) every worker keeps a duplicate of, so
    the folder stays locked while any worker of this run is alive. ``light``: each task works on small
    arrays (sprite tokens), so workers may be forked whatever threads run here (see :func:`start_method`).
    """
    cores = os.cpu_count() or 1
    method = start_method(light)
    if tasks < (min(threshold, FORKED_THRESHOLD) if method == "fork" else threshold) or cores < 2:
        return InlineExecutor()
    for variable in BLAS_THREADS:  # inherited by spawned workers only: this process's BLAS is already loaded
        os.environ.setdefault(variable, "1")
    held = None if hold is None or method == "fork" else _Inherited(hold)  # a forked worker shares the lock itself
    return _WorkerPool(
        max_workers=min(MAX_WORKERS, cores),
        mp_context=multiprocessing.get_context(method),
        initializer=_worker_setup,
        initargs=(os.getpid(), held),
    )


def start_method(light: bool) -> str:
    """``fork`` on Linux while no accelerator library is loaded, for light work or where no native thread runs; else
    ``spawn``.

    A spawned worker is a fresh interpreter that imports numpy, Pillow and punkgen again (~0.3 s of
    CPU each, before its first task: on 2 cores two of them cost a 1,000-token sprite run as much
    as they save), while a forked one starts in ~10 ms with this process's modules. Fork is unsafe
    beside CUDA (the child cannot use the parent's context) and on macOS (system frameworks), so a
    run that loaded torch, or any other OS, spawns. A forked worker runs its BLAS with as many
    threads as this process's, which oversubscribe the cores on large arrays (see
    :data:`BLAS_THREADS`): so heavy work forks only where no thread runs that Python did not start
    (``punkgen`` asks OpenBLAS for one thread, which then starts none; a library caller's numpy may
    run a pool). A pool that starts on first use (OpenMP, MKL) is not seen yet: the price is
    oversubscription, never a wrong result. Light work's small arrays never wake a BLAS pool, and
    Python's own threads hold no lock a worker takes.
    """
    if sys.platform != "linux" or ACCELERATOR_MODULES.intersection(sys.modules):
        return "spawn"
    return "fork" if light or native_threads() == 0 else "spawn"


def native_threads() -> int | None:
    """Threads of this process that Python's threading did not start or adopt (a BLAS's pool, which a forked worker
    would run as well); None where the OS does not list them. By thread id, so a thread that ended uncounted (an
    adopted "dummy" thread stays in Python's list) hides nothing."""
    try:
        running = {int(name) for name in os.listdir("/proc/self/task")}
    except OSError:
        return None
    return len(running - {thread.native_id for thread in threading.enumerate()})


def results_in_order(executor: Executor, calls: Iterable[tuple[Callable[..., Any], tuple[Any, ...]]]) -> Iterator[Any]:
    """Each call's result in the order submitted, yielded as soon as it and every earlier one are done: a pool's while
    later calls are still being submitted, an inline executor's right after each runs (a progress bar then moves with
    the work instead of jumping to the end)."""
    pending: deque[Future] = deque()
    for fn, args in calls:
        pending.append(executor.submit(fn, *args))
        while pending and pending[0].done():
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


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
        with _ctrl_c_held():  # workers start inside submit
            return super().submit(fn, *args, **kwargs)


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """SIGINT blocked in this thread, and a Ctrl-C that reaches another thread deferred to the end of the block."""
    deferred: list[tuple[int, Any]] = []
    handler = signal.signal(signal.SIGINT, lambda *received: deferred.append(received))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
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
        libc = ctypes.CDLL(None, use_errno=True)  # this process's own symbols, libc's among them: no ldconfig run
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError, TypeError):
        pass  # no prctl here (not Linux): the watchdog thread is the only guard


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)
