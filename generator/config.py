"""``collection.toml`` → one typed, validated, immutable :class:`Config`.

Every setting has exactly one built-in default: the field default of its dataclass below. The
precedence is command-line flag, then ``collection.toml``, then that default; the CLI applies its
flags with :meth:`Config.override`, so the library never re-reads options from anywhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.schemas import schema_document
from generator.toml_sections import Sections, load_sections

DEFAULT_CONFIG_PATH = Path("traits/collection.toml")


@dataclass(frozen=True)
class CollectionSettings:
    name: str
    symbol: str = ""
    description: str = ""
    external_url: str = ""
    size: int = 100
    seed: int = 42
    first_token_id: int = 1


@dataclass(frozen=True)
class TraitSettings:
    order: tuple[str, ...]
    sampling: str = "weighted"  # weighted: independent draws | exact: counts follow the weights
    names: dict[str, str] = field(default_factory=dict)  # trait key → metadata trait_type
    layers: str = "layers"  # sprite layer folder, relative to the config file's folder


@dataclass(frozen=True)
class Rule:
    """When every ``when`` trait has one of its listed values, ``forbid`` and ``require`` apply."""

    number: int  # 1-based position among the [[rules]], for messages
    when: dict[str, tuple[str, ...]]
    forbid: dict[str, tuple[str, ...]] = field(default_factory=dict)
    require: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class OneOfOne:
    """A hand-made legendary: its own image and free-text attributes instead of a trait set from the tables."""

    image: str  # relative to the config's folder: S×S, or an exact NEAREST upscale of it
    attributes: dict[str, str]  # trait_type → value, in the order written
    name: str = ""  # the token's name; empty: "<collection> #<id>" like every token
    token_id: int | None = None  # None: a seeded position among the collection's ids


@dataclass(frozen=True)
class PromptSettings:
    template: str = ""
    negative: str = ""


@dataclass(frozen=True)
class ModelSettings:
    base: str = "stable-diffusion-v1-5/stable-diffusion-v1-5"  # diffusers folder, .safetensors file, or cached hub id
    lora: str = "../models/bespoke_punks_sd15_512-000002.safetensors"  # relative to the config folder; "" for none
    lora_scale: float = 1.0
    config: str = ""  # for a single-file base: a diffusers folder or cached hub id holding its component configs
    fuse_lora: bool = True  # fold the LoRA into the weights once: no per-step LoRA cost
    allow_download: bool = False  # never touch the network unless asked


@dataclass(frozen=True)
class RenderSettings:
    backend: str = "auto"  # auto | sprites | diffusion | hybrid | import
    batch_size: int = 8  # prompts per diffusion batch; token blocks of this size always render together
    width: int = 512
    height: int = 512
    steps: int = 30
    guidance_scale: float = 7.5
    scheduler: str = "dpmpp_2m_karras"  # dpmpp_2m_karras | euler_a | ddim | pndm
    device: str = "auto"  # auto: cuda > mps > cpu
    dtype: str = "auto"  # auto: float16 on cuda/mps, float32 on cpu
    threads: int = 0  # CPU threads for torch; 0 leaves torch's default (fix it for bit-exact CPU renders)
    strength: float = 0.5  # hybrid: how far img2img may move from the sprite sketch (it runs strength × steps steps)
    renders: str = ""  # import: the folder where AUTOMATIC1111 or ComfyUI saves renders (relative to the config folder)
    workflow: str = ""  # import: a ComfyUI workflow in API format, filled in per job under to-render/comfyui/


@dataclass(frozen=True)
class PixelsSettings:
    size: int = 24  # the output grid
    method: str = "mode"  # mode: grid recovery + palette snap | nearest: the original NEAREST downscale
    palette: str = "palette.hex"  # relative to the config folder; "" snaps to nothing


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds of the quality verdict; a rejected render is re-rendered with the next attempt's seed."""

    enabled: bool = True
    max_attempts: int = 4
    min_colors: int = 3
    max_colors: int = 40
    min_grid_fidelity: float = 0.85  # share of cells whose interior is one flat colour close to the one written
    min_background_uniformity: float = (
        0.6  # share of top, left and right edge cells in the one background region (big hair: 0.76)
    )
    max_background_distance: float = 10.0  # ΔE76 between the observed and the asked-for background
    min_coverage: float = 0.15  # share of cells that are not background
    max_coverage: float = 0.8
    max_off_centre: float = 0.2  # subject centroid's distance from the centre, as a share of the width
    min_trait_match: float = 0.5  # share of a trait's own pixels that must show its colours (0 turns the check off)
    min_training_distance: int = 24  # pixels that must differ from every training image
    training_dir: str = ""  # the 24×24 originals the LoRA learnt from, relative to the config folder


@dataclass(frozen=True)
class MetadataSettings:
    base_uri: str = "ipfs://REPLACE_WITH_CID/"
    image_extension: str = ".png"


@dataclass(frozen=True)
class ContractSettings:
    """Contract-level metadata (ERC-7572 / OpenSea ``contractURI``) beyond [collection]'s name and description."""

    image: str = ""  # empty: the export publishes the contact sheet as collection.png
    banner_image: str = ""
    featured_image: str = ""
    external_link: str = ""  # empty: [collection].external_url
    collaborators: tuple[str, ...] = ()
    seller_fee_basis_points: int = 0  # royalties are written only when this and fee_recipient are set
    fee_recipient: str = ""


@dataclass(frozen=True)
class ExportSettings:
    scale: int = 20  # NEAREST upscale of the published images: 24 px → 480 px
    unrevealed_name: str = ""  # the placeholder's name before a reveal; empty: "<collection> — unrevealed"


@dataclass(frozen=True)
class Config(Sections):
    path: Path  # the collection.toml this came from; trait tables live beside it
    collection: CollectionSettings
    traits: TraitSettings
    rules: tuple[Rule, ...] = ()
    one_of_one: tuple[OneOfOne, ...] = ()
    prompt: PromptSettings = PromptSettings()
    model: ModelSettings = ModelSettings()
    render: RenderSettings = RenderSettings()
    pixels: PixelsSettings = PixelsSettings()
    quality: QualitySettings = QualitySettings()
    metadata: MetadataSettings = MetadataSettings()
    contract: ContractSettings = ContractSettings()
    export: ExportSettings = ExportSettings()

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def layers_folder(self) -> Path:
        return self.folder / self.traits.layers

    def resolve(self, setting: str) -> Path | None:
        """A path setting from the file: relative to the config's folder, so a config folder travels whole."""
        return Path(os.path.normpath(self.folder / Path(setting).expanduser())) if setting else None


def choices(section: str, key: str) -> tuple[str, ...]:
    """The values the schema allows for one setting: command-line flags offer exactly these, never a re-typed list."""
    return tuple(schema_document("config.schema.json")["properties"][section]["properties"][key]["enum"])


def load_config(path: Path = DEFAULT_CONFIG_PATH) -> Config:
    """Read, validate and type a collection.toml; every problem becomes a :class:`UserError`."""
    return load_sections(
        Config,
        path,
        package="generator.schemas",
        schema="config.schema.json",
        missing="run from the project folder or pass --config FILE",
        build={
            "rules": lambda raw: tuple(_rule(number, rule) for number, rule in enumerate(raw, start=1)),
            "one_of_one": lambda raw: tuple(OneOfOne(**entry) for entry in raw),
        },
    )


def _rule(number: int, raw: dict[str, Any]) -> Rule:
    def as_tuples(selection: dict[str, str | list[str]]) -> dict[str, tuple[str, ...]]:
        return {trait: (values,) if isinstance(values, str) else tuple(values) for trait, values in selection.items()}

    return Rule(number=number, **{key: as_tuples(value) for key, value in raw.items()})
