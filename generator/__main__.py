"""The ``punkgen`` command's entry: ``python -m generator`` (what ``accelerate launch -m generator`` runs), and the
``punkgen`` script, which calls :data:`main` from here.

Importing punkgen takes ~0.2 s (numpy, Pillow, click) before its command group can answer a
Ctrl-C; one landing then printed a traceback and killed the process by SIGINT (status -2 to a
script). So Ctrl-C is held while it imports and answered, as any other, once it has.

numpy's OpenBLAS starts a thread per core when it is imported, and they spin for a while: 0.08 s of CPU on the 2-core
machine, in every punkgen process and worker, taken from the run's own workers. punkgen's matrices are 3×3 colour
transforms, which one thread multiplies as fast, so a punkgen process asks for one unless the user set
``OPENBLAS_NUM_THREADS``. (torch brings its own BLAS and threads; this setting does not reach them.)
"""

import os
import signal
from collections.abc import Callable


def _imported_main() -> Callable[[], None]:
    """``generator.cli.main``, imported with Ctrl-C held: one that came meanwhile ends the run (one line, 130)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported (see the module's docstring)
    held: list[object] = []
    previous = signal.signal(signal.SIGINT, lambda *received: held.append(received))
    try:
        from generator.cli import main
    finally:
        signal.signal(signal.SIGINT, previous)  # runs one still pending through the lambda first
    if held and __name__ != "__mp_main__":  # a worker re-importing this module has Ctrl-C blocked and ignored
        from generator.command import exit_interrupted

        exit_interrupted()
    return main


main = _imported_main()

if __name__ == "__main__":  # worker processes re-import this module under another name
    main()
