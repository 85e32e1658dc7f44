"""punkgen: trait tables in, finished 24×24 pixel-art punk collections out.

The import package is ``generator``; the distribution and the command are ``punkgen``.
"""

__version__ = "0.1.0"
