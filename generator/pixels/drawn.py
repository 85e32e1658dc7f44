"""Art drawn at token size (the sprite renderer's), judged a block at a time.

Such art is exact by construction: no grid to find, no colour cast, nothing to snap, every cell
flat. What is left to read (its background, colours, placement, flatness) is read for a whole
block, one numpy call per measure: on 24×24 tokens numpy's per-call overhead cost more than
the work, ~170 µs a token read one at a time against ~25 µs in blocks of 256. The verdict is
:func:`generator.pixels.quality.judge`'s, on the same measures :func:`~generator.pixels.quality.assess`
takes of one such token (a test holds the two equal); a check of drawn renders whose named measure
is not taken here raises instead of passing every sprite token unjudged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from generator.config import QualitySettings
from generator.pixels.measures import Claim, Sample, claim_measures, token_measures
from generator.pixels.quality import Verdict, judge, judged_claim, table_for
from generator.pixels.recovery import drawn_backgrounds
from generator.pixels.training_set import TrainingSet

# What the grid measures read on art at token size, by construction: every cell flat and exactly its colour,
# cells of one screen pixel (too small for edges to blur), the background exactly one colour.
AS_DRAWN = {
    "grid_fidelity": 1.0,
    "rough_cells": 0.0,
    "edge_sharpness": 1.0,
    "background_variation": 0.0,
    "background_residual": 0.0,
    "background_outlier": 0.0,
    "background_drift": 0.0,
    "background_roughness": 0.0,
}


def judge_drawn(
    tokens: np.ndarray,
    expected: Sequence[np.ndarray | None],
    settings: QualitySettings,
    training: TrainingSet | None,
    claims: Sequence[Claim | None],
) -> list[Verdict]:
    """(N, S, S, 3) tokens as drawn → a verdict each; ``expected``: the background colour each asks for."""
    background, distance = drawn_backgrounds(tokens, expected)
    columns = {name: values.tolist() for name, values in token_measures(tokens, tokens, background).items()}
    flat = np.zeros(tokens.shape[1:3])
    tables = {claimed: table_for(settings, drawn=True, claim=claimed, training=training is not None) for claimed in (False, True)}
    verdicts = []
    for n, claim in enumerate(claims):
        metrics = {name: float(values[n]) for name, values in columns.items()} | AS_DRAWN
        metrics["background_distance"] = float(distance[n])
        judged, unlike = judged_claim(claim, settings, tokens[n])
        if judged is not None and unlike is not None:
            metrics |= claim_measures(judged, unlike, flat)
        sample = Sample(tokens[n], tokens[n], background[n], True, None, judged, unlike, training)
        verdicts.append(judge(sample, metrics, tables[judged is not None]))
    return verdicts
