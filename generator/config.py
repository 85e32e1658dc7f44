"""``collection.toml`` → one typed, validated, immutable :class:`Config`.

Every setting is declared once, in ``schemas/config.schema.json``: its meaning, bounds or choices, and built-in
default (read as data by :mod:`generator.schemas.declared`), from which the flags' types and help and
``docs/configuration.md`` are generated (:mod:`generator.schemas.reference`).
The dataclasses below type those settings; their field defaults are that default again, typed out so a reader (and
mypy) sees them here, and ``tests/test_config_reference.py`` fails when one differs from the schema's. The precedence
is command-line flag, then ``collection.toml``, then that default; the CLI applies its flags with
:meth:`Config.override`, so the library never re-reads options from anywhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import Arg, UserError
from generator.schemas.declared import CONFIG
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
    sampling: str = "weighted"
    names: dict[str, str] = field(default_factory=dict)
    layers: str = "layers"

    @property
    def keys(self) -> tuple[str, ...]:
        """The trait keys, in attribute order: ``order`` without its parts (``hat:back`` draws part of ``hat``)."""
        return tuple(entry for entry in self.order if PART_MARK not in entry)


PART_MARK = ":"  # ``[traits].order``'s ``<trait>:<part>``: a trait's second drawing, at another depth


@dataclass(frozen=True)
class Rule:
    """When every ``when`` trait has one of its listed values, ``forbid`` and ``require`` apply."""

    number: int  # 1-based position among the [[rules]], for messages
    when: dict[str, tuple[str, ...]]
    forbid: dict[str, tuple[str, ...]] = field(default_factory=dict)
    require: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class DepthOverride:
    """When every ``when`` trait has one of its listed values, ``move`` draws just ``above`` (or ``below``) another
    entry of ``[traits].order``, instead of at its own place."""

    number: int  # 1-based position among the [[depth]] tables, for messages
    when: dict[str, tuple[str, ...]]
    move: str
    above: str = ""
    below: str = ""


@dataclass(frozen=True)
class OneOfOne:
    """A hand-made legendary: its own image and free-text attributes instead of a trait set from the tables."""

    image: str
    attributes: dict[str, str]
    name: str = ""
    token_id: int | None = None


@dataclass(frozen=True)
class PromptSettings:
    template: str = ""
    negative: str = ""


@dataclass(frozen=True)
class ModelSettings:
    base: str = "stable-diffusion-v1-5/stable-diffusion-v1-5"
    lora: str = "../models/bespoke_punks_sd15_512-000002.safetensors"
    lora_scale: float = 1.0
    config: str = ""
    fuse_lora: bool = True
    allow_download: bool = False


@dataclass(frozen=True)
class RenderSettings:
    backend: str = "auto"
    batch_size: int = 8
    width: int = 512
    height: int = 512
    steps: int = 30
    guidance_scale: float = 7.5
    scheduler: str = "dpmpp_2m_karras"
    device: str = "auto"
    dtype: str = "auto"
    threads: int = 0
    strength: float = 0.5
    renders: str = ""
    workflow: str = ""


@dataclass(frozen=True)
class PixelsSettings:
    size: int = 24
    method: str = "mode"
    palette: str = "palette.hex"


@dataclass(frozen=True)
class AnimationSettings:
    frame_ms: int = 100
    max_frames: int = 120


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds of the quality verdict; a rejected render is re-rendered with the next attempt's seed."""

    enabled: bool = True
    max_attempts: int = 4
    min_colors: int = 3
    max_colors: int = 40
    min_grid_fidelity: float = 0.85
    min_background_uniformity: float = 0.6
    max_background_distance: float = 10.0
    min_coverage: float = 0.15
    max_coverage: float = 0.8
    max_off_centre: float = 0.2
    min_render_spread: float = 3.0
    min_render_mean: float = 8.0
    min_edge_sharpness: float = 0.8
    max_rough_cells: int = 1
    max_background_leaks: int = 0
    max_background_residual: float = 10.0
    max_background_outlier: float = 13.0
    max_background_drift: float = 18.0
    max_background_roughness: float = 10.0
    max_stray_cells: int = 0
    max_bottom_gap: int = 1
    max_column_offset: float = 0.12
    max_isolated_share: float = 0.2
    max_alone_share: float = 0.09
    max_lattice_share: float = 0.9
    max_split_cells: int = 0
    min_subject_colors: int = 4
    max_unlike_cells: int = 4
    max_twin_cells: int = 0
    min_trait_match: float = 0.5
    min_training_distance: int = 24
    training_dir: str = ""


@dataclass(frozen=True)
class MetadataSettings:
    base_uri: str = "ipfs://REPLACE_WITH_CID/"
    image_extension: str = ".png"


@dataclass(frozen=True)
class ContractSettings:
    """Contract-level metadata (ERC-7572 / OpenSea ``contractURI``) beyond [collection]'s name and description."""

    image: str = ""
    banner_image: str = ""
    featured_image: str = ""
    external_link: str = ""
    collaborators: tuple[str, ...] = ()
    seller_fee_basis_points: int = 0
    fee_recipient: str = ""


@dataclass(frozen=True)
class ExportSettings:
    scale: int = 20
    unrevealed_name: str = ""


@dataclass(frozen=True)
class Config(Sections):
    path: Path  # the collection.toml this came from; trait tables live beside it
    collection: CollectionSettings
    traits: TraitSettings
    rules: tuple[Rule, ...] = ()
    depth: tuple[DepthOverride, ...] = ()
    one_of_one: tuple[OneOfOne, ...] = ()
    prompt: PromptSettings = PromptSettings()
    model: ModelSettings = ModelSettings()
    render: RenderSettings = RenderSettings()
    pixels: PixelsSettings = PixelsSettings()
    animation: AnimationSettings = AnimationSettings()
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


PUBLISHED_LINKS = (  # links the published files repeat verbatim: metadata, meta.json, contract.json, inscriptions
    ("collection", "external_url"),
    ("contract", "image"),
    ("contract", "banner_image"),
    ("contract", "featured_image"),
    ("contract", "external_link"),
)


def load_config(path: Path = DEFAULT_CONFIG_PATH) -> Config:
    """Read, validate and type a collection.toml; every problem becomes a :class:`UserError`."""
    config = load_sections(
        Config,
        path,
        package=CONFIG.package,
        schema=CONFIG.schema,
        missing=f"run from the project folder or pass {Arg.CONFIG} FILE",
        build={
            "rules": lambda raw: tuple(_rule(number, rule) for number, rule in enumerate(raw, start=1)),
            "depth": lambda raw: tuple(_depth(number, entry) for number, entry in enumerate(raw, start=1)),
            "one_of_one": lambda raw: tuple(OneOfOne(**entry) for entry in raw),
        },
    )
    _refuse_credential_links(config)
    return config


def _refuse_credential_links(config: Config) -> None:
    """A link every published file would carry with a user name or password in it (``https://user:pw@host/``) is
    refused when the config is read, whichever command reads it: token metadata, an inscription or a contract keeps it
    for good. The message never repeats the secret."""
    for section, key in PUBLISHED_LINKS:
        link = getattr(getattr(config, section), key)
        if holds_credentials(link):
            raise UserError(
                f"{config.path}: [{section}].{key} {without_secrets(link)!r} holds a user name or password (…@host): "
                "the published files would carry it for good; use an address that needs no credentials"
            )


def holds_credentials(link: str) -> bool:
    """User info (``user:password@``) between a link's ``//`` and its first ``/``."""
    return "//" in link and "@" in link.split("//", 1)[1].split("/", 1)[0]


def without_secrets(link: str) -> str:
    """``link`` as a message may show it: a password or user name (``user:…@``) and a query (``?token=…``) left out."""
    head, slashes, rest = link.partition("//")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "…@" + authority.rsplit("@", 1)[1]
    shown = f"{head}{slashes}{authority}{slash}{path}" if slashes else link
    return shown.split("?", 1)[0] + ("?…" if "?" in shown else "")


def _rule(number: int, raw: dict[str, Any]) -> Rule:
    return Rule(number=number, **{key: _as_tuples(value) for key, value in raw.items()})


def _depth(number: int, raw: dict[str, Any]) -> DepthOverride:
    return DepthOverride(number=number, **{**raw, "when": _as_tuples(raw["when"])})


def _as_tuples(selection: dict[str, str | list[str]]) -> dict[str, tuple[str, ...]]:
    """A ``when``-style selection with each trait's values as a tuple (``{ hair = "Long" }`` names one value)."""
    return {trait: (values,) if isinstance(values, str) else tuple(values) for trait, values in selection.items()}
