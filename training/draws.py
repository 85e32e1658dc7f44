"""Every random draw of a training run, derived from the recipe's seed and the run's position in it.

The data order follows from (seed, epoch) and each step's noise and timesteps from (seed, step,
process), never from a generator that carries state across steps: so a run resumed after epoch
N draws exactly what an uninterrupted run draws from there on, and several processes draw
different noise without talking to each other. numpy only: step 1 counts steps before torch loads.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np


def step_seed(seed: int, step: int, process: int) -> int:
    """The seed of one process's noise and timesteps at one optimizer step (63 bits, as torch accepts)."""
    digest = hashlib.sha256(f"{seed}:{step}:{process}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def epoch_batches(count: int, batch_size: int, processes: int, seed: int, epoch: int) -> list[list[int]]:
    """The epoch's batches (indices into the repeated sample list), a multiple of ``processes`` long.

    The order is a permutation seeded by (seed, epoch); the last batches wrap around to the start
    so every process gets the same number of steps, as accelerate's ``even_batches`` does.
    """
    order = np.random.default_rng([seed, epoch]).permutation(count).tolist()
    batches = [order[i : i + batch_size] for i in range(0, count, batch_size)]
    steps = math.ceil(len(batches) / processes)
    return [batches[i % len(batches)] for i in range(steps * processes)]


def count_steps(count: int, batch_size: int, processes: int, seed: int, epochs: int, max_steps: int) -> tuple[int, int]:
    """``(steps per epoch, total steps)`` for ``count`` samples: optimizer steps, each taken by every process at once;
    ``max_steps`` (0: no limit) may end the run before its last epoch does."""
    per_epoch = len(epoch_batches(count, batch_size, processes, seed, 0)) // processes
    return per_epoch, min(max_steps, per_epoch * epochs) if max_steps else per_epoch * epochs
