"""What ``punkgen traits check`` says of animation: the strips, and how many planned tokens animate over how many
frames; a planned token past ``[animation].max_frames`` or a GIF's 256 colours is refused here as a run would refuse it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from generator.config import Config
from generator.plan.traits import Combo, TraitTable
from generator.render.frames import frame_count, strip_label
from generator.render.layers import Layers
from generator.run.animation import animation_of, check_animation


def animation_lines(config: Config, tables: list[TraitTable], layers: Layers, combos: Sequence[Combo]) -> list[str]:
    """Nothing for a still collection; else the strips, then the planned tokens by frame count (raises past the cap)."""
    if not layers.strips:
        return []
    check_animation(animation_of(layers, config, tables), combos, config.animation.max_frames)
    strips = ", ".join(f"{strip_label(layers, tables, *strip)} ({len(frames)})" for strip, frames in layers.strips.items())
    counts = Counter(frame_count(layers, combo) for combo in combos)
    animated = sum(n for frames, n in counts.items() if frames > 1)
    spread = ", ".join(f"{n} × {frames} frames" for frames, n in sorted(counts.items()) if frames > 1)
    return [
        "",
        f"animation: strips {strips}; {animated:,} of {len(combos):,} planned tokens animate ({spread or 'none'}), "
        f"{config.animation.frame_ms} ms a frame, at most {config.animation.max_frames} frames",
    ]
