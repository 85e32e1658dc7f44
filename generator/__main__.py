"""``python -m generator`` (what ``accelerate launch -m generator`` runs).

Importing punkgen takes ~0.3 s (numpy, Pillow, jsonschema) before its command group can answer a
Ctrl-C; one landing then printed a traceback and killed the process by SIGINT (status -2 to a
script). So Ctrl-C is held while it imports and answered, as any other, once it has.
"""

import signal
from collections.abc import Callable


def _imported_main() -> Callable[[], None]:
    """``generator.cli.main``, imported with Ctrl-C held: one that came meanwhile ends the run (one line, 130)."""
    held: list[object] = []
    previous = signal.signal(signal.SIGINT, lambda *received: held.append(received))
    try:
        from generator.cli import main
    finally:
        signal.signal(signal.SIGINT, previous)  # runs one still pending through the lambda first
    if held and __name__ == "__main__":  # a worker re-importing this module has Ctrl-C blocked and ignored
        from generator.command import exit_interrupted

        exit_interrupted()
    return main


main = _imported_main()

if __name__ == "__main__":  # worker processes re-import this module under another name
    main()
