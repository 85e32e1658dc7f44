"""The one exception type for a user's mistake, and the exit statuses every command shares.

The CLI turns a :class:`UserError` into a single line on stderr and exit status 2, so every
message must say where the problem is (file, line or key) and what to do about it.
"""

from enum import IntEnum


class UserError(Exception):
    """Bad input that the user can fix: printed as one line, never as a traceback."""


class ExitStatus(IntEnum):
    """What a script calling punkgen can rely on (the README's "Exit status" section)."""

    DONE = 0
    BUG = 1  # a traceback: please report it
    USER_MISTAKE = 2  # one line names the file, key or row and the fix; nothing was written
    TOKENS_FAILED = 3  # the run finished, but some tokens are out of attempts: the collection is incomplete
    FOLDER_DIFFERS = 4  # `punkgen verify`: files differ from the manifest or the schemas
    WAITING = 5  # backend import: jobs wait for renders, listed in FOLDER/to-render/; render them, run again
    INTERRUPTED = 130  # Ctrl-C: what was finished is kept


def plural(count: int, noun: str) -> str:
    """``1 token``, ``2 tokens``: counts in messages read as English."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
