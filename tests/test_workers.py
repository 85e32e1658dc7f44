"""A punkgen process and its workers: how workers start (forked where that is safe, spawned otherwise), results as they
come, and the process settings the entry makes (one OpenBLAS thread, freed memory reused)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest
from conftest import REPO

from generator import workers

# ── worker processes ──────────────────────────────────────────────────────────────────────────


@pytest.fixture
def no_accelerator_loaded(monkeypatch) -> None:
    """As in a sprite run's process; earlier tests of this session may have imported torch."""
    for name in workers.ACCELERATOR_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)


def test_light_work_forks_its_workers_unless_an_accelerator_library_is_loaded(monkeypatch, no_accelerator_loaded) -> None:
    assert workers.start_method(light=True) == "fork"
    monkeypatch.setitem(sys.modules, "torch", object())  # CUDA may be initialised: a forked child cannot use it
    assert workers.start_method(light=True) == "spawn"
    assert workers.start_method(light=False) == "spawn"


def test_inline_results_come_as_each_call_runs_so_a_bar_moves_with_the_work() -> None:
    ran: list[int] = []
    seen = [len(ran) for _ in workers.results_in_order(workers.InlineExecutor(), ((ran.append, (n,)) for n in range(3)))]
    assert seen == [1, 2, 3]


@pytest.mark.skipif(sys.platform != "linux" or (os.cpu_count() or 1) < 2, reason="workers, forked: Linux, 2+ cores")
def test_heavy_work_forks_only_while_no_thread_runs_that_python_did_not_start() -> None:
    """A forked worker runs as many BLAS threads as its parent: on large arrays two workers' pools fight for the cores.
    A punkgen process (one OpenBLAS thread, which then starts none) forks; a native thread anywhere makes it spawn, and
    an adopted thread that ended (Python keeps its "dummy" in its list) hides none."""
    probe = (
        "import os, threading, time, _thread, numpy\n"
        "from generator import workers\n"
        "pool = workers.executor_for(64, threshold=64)\n"
        "alone = workers.start_method(light=False), pool._mp_context.get_start_method(), pool.submit(os.getppid).result()\n"
        "pool.shutdown()\n"
        "_thread.start_new_thread(lambda: threading.current_thread(), ())  # adopted, then ends\n"
        "_thread.start_new_thread(time.sleep, (30,))  # a native thread Python's threading never sees\n"
        "time.sleep(0.2)\n"
        "print(*alone, workers.start_method(light=False), workers.start_method(light=True), os.getpid())\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    shown = subprocess.run([sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    chosen, started, parent, beside_a_thread, light, pid = shown.stdout.split()
    assert (chosen, started, parent) == ("fork", "fork", pid)
    assert (beside_a_thread, light) == ("spawn", "fork")


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no workers")
def test_a_forked_pool_runs_its_tasks_in_children_of_this_process(no_accelerator_loaded) -> None:
    executor = workers.executor_for(workers.FORKED_THRESHOLD, light=True)
    try:
        pids = {executor.submit(os.getpid).result() for _ in range(8)}
        parents = {executor.submit(os.getppid).result() for _ in range(8)}
    finally:
        executor.shutdown()
    assert os.getpid() not in pids and parents == {os.getpid()}
    assert workers.executor_for(workers.FORKED_THRESHOLD - 1, light=True).__class__ is workers.InlineExecutor


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator is the one tuned")
def test_a_punkgen_process_reuses_freed_blocks_instead_of_faulting_them_in_again() -> None:
    """Three 3 MB temporaries at once, four times: glibc's default gave them back to the OS every time, and the next
    round page-faulted all 9 MB in again (a 512 render's cell sums, once per render)."""
    probe = (
        "import resource, sys\n"
        "if sys.argv[1] == 'punkgen': import generator.__main__\n"
        "import numpy as np\n"
        "def faults():\n"
        "    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "    blocks = [np.ones(3 << 20, dtype=np.uint8) for _ in range(3)]\n"
        "    del blocks\n"
        "    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before\n"
        "print(*[faults() for _ in range(4)])\n"
    )
    rounds = {
        process: [
            int(n)
            for n in subprocess.run(
                [sys.executable, "-c", probe, process], cwd=REPO, capture_output=True, text=True, check=True
            ).stdout.split()
        ]
        for process in ("plain", "punkgen")
    }
    first = rounds["punkgen"][0]
    assert first > 1500 and max(rounds["punkgen"][1:]) < first / 10  # 9 MB is ~2,300 pages of 4 KiB
    assert min(rounds["plain"][1:]) > first / 2  # what the setting changes


# ── the entry's process settings ──────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("3", "3")])
def test_a_punkgen_process_asks_openblas_for_one_thread_unless_the_user_chose(given: str | None, expected: str) -> None:
    """numpy's OpenBLAS pool spun 0.08 s of CPU in every punkgen process for 3×3 colour matrices."""
    probe = "import os, generator.__main__; print(os.environ['OPENBLAS_NUM_THREADS'])"
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    env |= {"OPENBLAS_NUM_THREADS": given} if given else {}
    shown = subprocess.run([sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == expected
