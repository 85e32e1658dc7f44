"""The ``punkgen`` command's entry: ``python -m generator`` (what ``accelerate launch -m generator`` runs), and the
``punkgen`` script, which calls :data:`main` from here.

Importing punkgen takes ~0.2 s (numpy, Pillow, click) before its command group can answer a
Ctrl-C; one landing then printed a traceback and killed the process by SIGINT (status -2 to a
script). So Ctrl-C is held while it imports and answered, as any other, once it has.

numpy's OpenBLAS starts a thread per core when it is imported, and they spin for a while: 0.08 s of CPU on the 2-core
machine, in every punkgen process and worker, taken from the run's own workers. punkgen's matrices are 3×3 colour
transforms, which one thread multiplies as fast, so a punkgen process asks for one unless the user set
``OPENBLAS_NUM_THREADS``. (torch brings its own BLAS and threads; this setting does not reach them.)

glibc hands a freed block back to the OS once over a threshold that it raises only as far as the blocks it has seen
freed, so a few 2 MB temporaries at once (a 512 render's cell sums) were page-faulted in afresh for every render:
`punkgen pixelate` on 300 renders spent 13 % of its CPU there (farm-bench, median of 5: 4.02 s against 4.64, same
output). A punkgen process takes blocks under 32 MB from its heap, which keeps up to 128 MB free for reuse (a
10,000-token sprite run's peak: +2 MB). Forked workers inherit this; other C libraries take no notice.
"""

import os
import signal
from collections.abc import Callable

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>


def _imported_main() -> Callable[[], None]:
    """``generator.cli.main``, imported with Ctrl-C held: one that came meanwhile ends the run (one line, 130)."""
    held: list[object] = []
    previous = signal.signal(signal.SIGINT, lambda *received: held.append(received))
    try:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported (see the module's docstring)
        _reuse_freed_memory()
        from generator.cli import main
    finally:
        signal.signal(signal.SIGINT, previous)  # runs one still pending through the lambda first
    if held and __name__ != "__mp_main__":  # a worker re-importing this module has Ctrl-C blocked and ignored
        from generator.command import exit_interrupted

        exit_interrupted()
    return main


def _reuse_freed_memory() -> None:
    """Blocks under 32 MB from the heap, and up to 128 MB of freed heap kept (see the module's docstring)."""
    import ctypes  # here, with Ctrl-C held (numpy imports it anyway)

    try:
        libc = ctypes.CDLL(None)  # this process's own symbols: glibc's, where it is the C library
        libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 128 << 20)
    except (OSError, AttributeError, TypeError):
        pass  # another C library (macOS, musl's stub, Windows): its own policy stands


main = _imported_main()

if __name__ == "__main__":  # worker processes re-import this module under another name
    main()
