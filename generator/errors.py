"""The one exception type for a user's mistake.

The CLI turns it into a single line on stderr and exit status 2, so every message must say
where the problem is (file, line or key) and what to do about it.
"""


class UserError(Exception):
    """Bad input that the user can fix: printed as one line, never as a traceback."""
