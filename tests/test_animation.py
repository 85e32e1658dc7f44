"""Animated tokens: a value drawn as a strip of frames (side by side, or a folder of numbered frames) makes its tokens
animate; each animated token gets ``animations/<id>.gif`` beside its still, and every command carries it or refuses
in one line.

The reference for every frame is Pillow's ``alpha_composite`` of that frame's layers, read straight from the files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from animated_art import FOLDER_FRAMES, STRIP_FRAMES, animate_folder, animate_strip
from conftest import REPO, collection_args, edit, folder_bytes, manifest_records, refused, run_cli
from PIL import Image, ImageSequence

N = 24
FRAME_MS = 80  # not the default 100: "as configured"
ORDER = ["background", "type", "hair", "eyes", "mouth", "accessory"]


def animated_traits(root: Path) -> Path:
    """The shipped traits with Brown eyes a 4-frame strip, Pipe a 3-frame folder, a pipe smoker always Brown-eyed (so
    some tokens wear both: 12 frames), and [animation].frame_ms = 80; returns the collection.toml."""
    traits = root / "traits"
    shutil.copytree(REPO / "traits", traits)
    animate_strip(traits)
    animate_folder(traits)
    edit(traits / "accessory.csv", "Pipe,5,", "Pipe,40,")  # enough pipe smokers in a few tokens
    config = traits / "collection.toml"
    text = config.read_text()
    rule = '[[rules]]\nwhen = { accessory = "Pipe" }\nrequire = { eyes = ["Brown"] }\n\n'
    config.write_text(text.replace("[[rules]]", rule + "[[rules]]", 1) + f"\n[animation]\nframe_ms = {FRAME_MS}\n")
    return config


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(collection folder, config) of a finished animated sprite collection of N tokens."""
    root = tmp_path_factory.mktemp("animated")
    config = animated_traits(root)
    out = root / "out"
    result = run_cli(*collection_args(config, out, N))
    assert result.exit_code == 0, result.output
    return out, config


def reference_frame(config: Path, traits: dict[str, str], frame: int) -> np.ndarray:
    """Frame ``frame`` of a token, as Pillow composites it from the layer files: each strip at ``frame mod k``."""
    layers = config.parent / "layers"
    canvas = None
    for key in ORDER:
        path = layers / key / f"{traits[key]}.png"
        if path.with_suffix("").is_dir():  # a folder of frames
            count = len(list(path.with_suffix("").glob("*.png")))
            layer = Image.open(path.with_suffix("") / f"{frame % count}.png").convert("RGBA")
        else:
            layer = Image.open(path).convert("RGBA")
            count = layer.width // layer.height
            size = layer.height
            layer = layer.crop(((frame % count) * size, 0, (frame % count + 1) * size, size))
        canvas = layer if canvas is None else Image.alpha_composite(canvas, layer)
    return np.asarray(canvas.convert("RGB"))


def played(path: Path) -> tuple[list[np.ndarray], list[int], int]:
    """A GIF's decoded frames, each frame's duration, and its loop count."""
    with Image.open(path) as image:
        frames, durations = [], []
        for frame in ImageSequence.Iterator(image):
            frames.append(np.asarray(frame.convert("RGB")))
            durations.append(frame.info["duration"])
        return frames, durations, image.info["loop"]


def expected_count(traits: dict[str, str]) -> int:
    strip, folder = traits["eyes"] == "Brown", traits["accessory"] == "Pipe"
    return {(False, False): 1, (True, False): STRIP_FRAMES, (False, True): FOLDER_FRAMES}.get((strip, folder), 12)


def test_every_decoded_frame_is_that_frame_composited_alone(made: tuple[Path, Path]) -> None:
    out, config = made
    counts = []
    for record in manifest_records(out):
        token_id, traits = record["token_id"], record["traits"]
        count = expected_count(traits)
        counts.append(count)
        gif = out / "animations" / f"{token_id}.gif"
        document = json.loads((out / "metadata" / f"{token_id}.json").read_text())
        still = np.asarray(Image.open(out / "images" / f"{token_id}.png").convert("RGB"))
        assert np.array_equal(still, reference_frame(config, traits, 0)), "the still is frame 0"
        if count == 1:
            assert not gif.exists() and document["image"].endswith(f"/{token_id}.png"), "a still token is unchanged"
            continue
        assert document["image"].endswith(f"/{token_id}.gif"), "OpenSea's image plays the GIF"
        frames, durations, loop = played(gif)
        assert loop == 0, "loops for ever"
        assert all(d % FRAME_MS == 0 for d in durations) and sum(durations) == count * FRAME_MS
        timeline = [frame for frame, d in zip(frames, durations, strict=True) for _ in range(d // FRAME_MS)]
        for number, frame in enumerate(timeline):
            assert np.array_equal(frame, reference_frame(config, traits, number)), (token_id, number)
    assert {1, STRIP_FRAMES, 12} <= set(counts), "stills, a strip alone and both strips (lcm 4, 3 = 12) were made"


def test_the_gif_is_an_exact_palette_of_the_tokens_own_colours(made: tuple[Path, Path]) -> None:
    out, _ = made
    gif = sorted((out / "animations").glob("*.gif"))[0]
    with Image.open(gif) as image:
        assert image.mode == "P"
        colours = {tuple(c) for frame in played(gif)[0] for c in frame.reshape(-1, 3)}
        palette = np.frombuffer(image.palette.tobytes(), np.uint8).reshape(-1, 3)
        assert colours <= {tuple(c) for c in palette} and len(colours) <= 256


def test_a_still_collection_writes_no_animation_and_keeps_its_fingerprint(config_path: Path, tmp_path: Path) -> None:
    """Shipped art has no strip: no animations/ folder, the image links stay .png, and an [animation] section at its
    defaults leaves run.json as it was (folders made before animation still resume)."""
    plain = tmp_path / "plain"
    assert run_cli(*collection_args(config_path, plain, 6)).exit_code == 0
    assert not (plain / "animations").exists()
    assert all("animation_sha256" not in record for record in manifest_records(plain))
    config_path.write_text(config_path.read_text() + "\n[animation]\nframe_ms = 100\n")
    again = tmp_path / "again"
    assert run_cli(*collection_args(config_path, again, 6)).exit_code == 0
    assert folder_bytes(again) == folder_bytes(plain)


def test_a_folder_strip_and_a_side_by_side_strip_both_animate(made: tuple[Path, Path]) -> None:
    out, _ = made
    records = manifest_records(out)
    pipe = next(r for r in records if r["traits"]["accessory"] == "Pipe")
    brown = next(r for r in records if r["traits"]["eyes"] == "Brown" and r["traits"]["accessory"] != "Pipe")
    assert len(played(out / "animations" / f"{pipe['token_id']}.gif")[0]) >= 3
    assert sum(played(out / "animations" / f"{brown['token_id']}.gif")[1]) == STRIP_FRAMES * FRAME_MS


def test_frames_past_the_cap_are_refused_naming_the_values(tmp_path: Path) -> None:
    config = animated_traits(tmp_path)
    edit(config, f"frame_ms = {FRAME_MS}", f"frame_ms = {FRAME_MS}\nmax_frames = 8")
    line = refused(*collection_args(config, tmp_path / "out", N))
    assert "eyes 'Brown' (4 frames), accessory 'Pipe' (3 frames) animate together over 12 frames" in line
    assert "[animation].max_frames = 8" in line and not (tmp_path / "out").exists()


def test_a_strip_whose_width_is_no_multiple_of_the_size_is_refused(tmp_path: Path) -> None:
    config = animated_traits(tmp_path)
    path = config.parent / "layers" / "eyes" / "Blue.png"
    Image.new("RGBA", (30, 24)).save(path)
    assert refused(*collection_args(config, tmp_path / "out", N)) == (
        f"Error: {path}: layer is 30×24, expected 24×24 ([pixels].size), or k·24×24 for a strip of k frames side by side"
    )


def test_a_gap_in_a_folder_of_frames_is_refused(tmp_path: Path) -> None:
    config = animated_traits(tmp_path)
    (config.parent / "layers" / "accessory" / "Pipe" / "1.png").unlink()
    line = refused(*collection_args(config, tmp_path / "out", N))
    assert (
        line
        == f"Error: {config.parent / 'layers' / 'accessory' / 'Pipe'}/: frame 1.png is missing; number a value's frames 0.png, 1.png, … without gaps"
    )


def test_a_value_drawn_both_as_a_file_and_as_a_folder_is_refused(tmp_path: Path) -> None:
    config = animated_traits(tmp_path)
    pipe = config.parent / "layers" / "accessory" / "Pipe"
    shutil.copyfile(pipe / "0.png", pipe.with_suffix(".png"))
    line = refused(*collection_args(config, tmp_path / "out", N))
    assert line == f"Error: {pipe.with_suffix('.png')} and {pipe}/ both draw the value; keep one (a strip, or a folder of frames)"


def test_a_model_backend_refuses_strips_in_one_line(tmp_path: Path) -> None:
    config = animated_traits(tmp_path)
    args = [a if a != "sprites" else "import" for a in collection_args(config, tmp_path / "out", N)]
    line = refused(*args, "--renders", tmp_path / "renders")
    assert line.startswith(f"Error: {config.parent / 'layers'}: eyes 'Brown' is a strip of 4 frames")
    assert '= "sprites" animates (this run: import)' in line


def test_verify_catches_a_tampered_frame_and_resume_restores_it(made: tuple[Path, Path], tmp_path: Path) -> None:
    source, config = made
    out = tmp_path / "out"
    shutil.copytree(source, out)
    gif = sorted((out / "animations").glob("*.gif"))[0]
    original = gif.read_bytes()
    frames, durations, _ = played(gif)
    frames = [Image.fromarray(f) for f in frames]
    pixels = np.asarray(frames[-1]).copy()
    pixels[5, 5] = (1, 2, 3)
    frames[-1] = Image.fromarray(pixels)
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    result = run_cli("verify", out, "--config", config)
    assert result.exit_code != 0
    tampered = len([d for d in durations[:-1] for _ in range(d // FRAME_MS)])
    assert f"{gif}: frame {tampered} differs from its layers' composite" in result.output
    result = run_cli(*collection_args(config, out, N))
    assert result.exit_code == 0 and gif.read_bytes() == original, "a resume re-creates the GIF the manifest records"
    (out / "animations" / gif.name).unlink()
    assert run_cli(*collection_args(config, out, N)).exit_code == 0 and gif.read_bytes() == original
    assert run_cli("verify", out, "--config", config).exit_code == 0


def test_replace_makes_a_still_and_drops_its_animation(made: tuple[Path, Path], tmp_path: Path) -> None:
    source, config = made
    out = tmp_path / "out"
    shutil.copytree(source, out)
    token_id = int(sorted((out / "animations").glob("*.gif"))[0].stem)
    pixels = np.asarray(Image.open(out / "images" / f"{token_id}.png").convert("RGB")).copy()
    pixels[1, 1] = (250, 0, 0)
    Image.fromarray(pixels).save(tmp_path / "fix.png")
    assert run_cli("replace", out, token_id, "--image", tmp_path / "fix.png", "--config", config).exit_code == 0
    assert not (out / "animations" / f"{token_id}.gif").exists()
    assert json.loads((out / "metadata" / f"{token_id}.json").read_text())["image"].endswith(f"/{token_id}.png")
    assert run_cli("verify", out, "--config", config).exit_code == 0
    assert run_cli(*collection_args(config, out, N)).exit_code == 0
    assert not (out / "animations" / f"{token_id}.gif").exists(), "a resume does not bring it back"


def test_a_stale_gif_of_a_still_token_is_named_by_verify(made: tuple[Path, Path], tmp_path: Path) -> None:
    source, config = made
    out = tmp_path / "out"
    shutil.copytree(source, out)
    still = next(r["token_id"] for r in manifest_records(out) if expected_count(r["traits"]) == 1)
    stray = out / "animations" / f"{still}.gif"
    shutil.copyfile(sorted((out / "animations").glob("*.gif"))[0], stray)
    result = run_cli("verify", out, "--config", config)
    assert result.exit_code != 0 and f"{stray}: not a file of any accepted token" in result.output


def test_a_token_past_a_gifs_256_colours_is_refused_naming_its_strips(tmp_path: Path) -> None:
    """The Brown eyes' recoloured frame becomes 96 pixels of 96 new colours, the blink frame 96 more, over a background
    and face of their own: past 256 across the frames of any token wearing it."""
    config = animated_traits(tmp_path)
    path = config.parent / "layers" / "eyes" / "Brown.png"
    strip = np.zeros((24, 96, 4), np.uint8)
    shades = np.arange(24 * 24 * 3, dtype=np.uint32).reshape(3, 24, 24)
    for frame in range(3):
        strip[:, frame * 24 : (frame + 1) * 24, 0] = shades[frame] % 256
        strip[:, frame * 24 : (frame + 1) * 24, 1] = shades[frame] // 256 + 100
    strip[..., 2:] = (7, 255)
    Image.fromarray(strip, "RGBA").save(path)
    line = refused(*collection_args(config, tmp_path / "out", N))
    assert line.startswith("Error: eyes 'Brown' (4 frames")
    assert "colours across its frames, more than a GIF's 256; draw the strips" in line


def test_traits_check_shows_the_strips_and_refuses_past_the_cap(tmp_path: Path) -> None:
    config = animated_traits(tmp_path)
    result = run_cli("traits", "check", "--config", config)
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("animation: "))
    assert line.startswith("animation: strips eyes 'Brown' (4), accessory 'Pipe' (3); ")
    assert f"{FRAME_MS} ms a frame, at most 120 frames" in line and "× 12 frames" in line
    edit(config, f"frame_ms = {FRAME_MS}", f"frame_ms = {FRAME_MS}\nmax_frames = 8")
    assert "animate together over 12 frames, more than [animation].max_frames = 8" in refused(
        "traits", "check", "--config", config
    )


def test_reroll_with_new_traits_gives_each_token_the_animation_its_traits_draw(made: tuple[Path, Path], tmp_path: Path) -> None:
    source, config = made
    out = tmp_path / "out"
    shutil.copytree(source, out)
    animated = sorted(int(p.stem) for p in (out / "animations").glob("*.gif"))
    result = run_cli("reroll", out, *animated, "--config", config, "--backend", "sprites", "--traits", "-n", N)
    assert result.exit_code == 0, result.output
    current = {}
    for record in manifest_records(out):
        if record.get("verdict") == "accepted":
            current[record["token_id"]] = record["traits"]
    became_still = [t for t in animated if expected_count(current[t]) == 1]
    assert became_still, "some rerolled tokens drew still traits"
    for token_id, traits in current.items():
        gif = out / "animations" / f"{token_id}.gif"
        assert gif.exists() == (expected_count(traits) > 1), token_id
    assert run_cli("verify", out, "--config", config).exit_code == 0


def test_traits_check_names_an_off_palette_colour_in_any_frame(tmp_path: Path) -> None:
    """The test strip's second frame recolours the eyes (200, 30, 90), a colour the shipped palette lacks: only that
    frame has it, and the warning names the strip's file."""
    config = animated_traits(tmp_path)
    result = run_cli("traits", "check", "--config", config)
    warnings = [
        line
        for line in result.output.splitlines()
        if line.startswith(f"warning: {config.parent / 'layers' / 'eyes' / 'Brown.png'}:")
    ]
    assert any("#c81e5a" in line for line in warnings), result.output
