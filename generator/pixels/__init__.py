"""Pixels: a render of any size in, a palette-exact S×S token and the quality verdict out.

``recovery`` finds the pixel grid and snaps each cell to the palette (``palette``: .hex/.gpl
files and CIELAB distances), ``quality`` judges the result with named reasons: ``measures``
takes the numbers, ``checks`` holds every check as one row, ``drawn`` judges art drawn at token
size a block at a time, ``training_set`` reads the originals for the near-copy check. ``pixelate`` is
the same recovery over a folder of renders, as the ``punkgen pixelate`` command.
"""
