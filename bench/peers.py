"""Adapters that run the open pixel-art cleaners on a render and return (24, 24, 3) uint8, each at its best settings.

Filled in as each peer is measured; an adapter returns None when its package is not installed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from generator.palette import Palette

Adapter = Callable[[np.ndarray], np.ndarray]
PEERS: dict[str, Callable[[int, Palette], Adapter | None]] = {}
