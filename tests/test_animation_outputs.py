"""Animated collections through what reads a finished folder: resume after ``kill -9``, ``export`` (plain, ``--car``,
the reveal), the gallery in Chromium, and the targets that publish stills only (refused in one line)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from chromium import CHROMIUM, chromium
from conftest import collection_args, edit, folder_bytes, manifest_records, refused, run_cli
from crash_points import killed_at
from multiformats import CID
from test_animation import FRAME_MS, animated_traits, reference_frame

from generator.publish.car import folder_cid, read_car
from generator.publish.unixfs import raw_block
from generator.run.animation import timeline

N = 12
SCALE = 3


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("animated-outputs")
    config = animated_traits(root)
    edit(config, "scale = 20 ", f"scale = {SCALE} ")  # small published GIFs: a fast export
    out = root / "out"
    assert run_cli(*collection_args(config, out, N)).exit_code == 0
    return out, config


def copy(made: tuple[Path, Path], tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(made[0], out)
    return out


def animated_ids(out: Path) -> list[int]:
    return sorted(int(path.stem) for path in (out / "animations").glob("*.gif"))


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="kills a forked child")
def test_kill_9_anywhere_then_resume_gives_identical_animations(made: tuple[Path, Path], tmp_path: Path) -> None:
    """Killed at every change a 6-token run makes to its folder (half a GIF written included), then run again."""
    config, n = made[1], 6
    whole = tmp_path / "whole"
    assert run_cli(*collection_args(config, whole, n)).exit_code == 0 and animated_ids(whole)
    expected = folder_bytes(whole)
    point, gifs_killed = 0, 0
    while True:
        point += 1
        out = tmp_path / f"killed-{point}"
        if not killed_at(collection_args(config, out, n), out, point):
            break
        gifs_killed += (out / "animations").is_dir() and any((out / "animations").iterdir())
        assert run_cli(*collection_args(config, out, n)).exit_code == 0, point
        assert folder_bytes(out) == expected, f"killed at change {point}, then resumed"
        shutil.rmtree(out)
    assert point > 2 * n and gifs_killed, "kills landed among the GIF writes"


def test_export_publishes_each_gif_upscaled_beside_its_image_and_links_it(made: tuple[Path, Path], tmp_path: Path) -> None:
    out, config = copy(made, tmp_path), made[1]
    result = run_cli("export", out, "--config", config, "--base-uri", "https://cdn.example.com/punks/")
    assert result.exit_code == 0, result.output
    images = out / "export" / "images"
    for record in manifest_records(out):
        token_id = record["token_id"]
        document = json.loads((out / "export" / "metadata" / str(token_id)).read_text())
        animated = (out / "animations" / f"{token_id}.gif").exists()
        assert (images / f"{token_id}.gif").exists() == animated
        if not animated:
            assert document["image"] == f"https://cdn.example.com/punks/{token_id}.png"
            continue
        assert document["image"] == f"https://cdn.example.com/punks/{token_id}.gif"
        frames, loop = timeline((images / f"{token_id}.gif").read_bytes(), FRAME_MS)
        assert loop == 0
        for number, frame in enumerate(frames):
            reference = reference_frame(config, record["traits"], number)
            assert np.array_equal(frame, reference.repeat(SCALE, 0).repeat(SCALE, 1)), (token_id, number)


def test_export_car_holds_the_gifs_and_links_them_by_the_images_cid(made: tuple[Path, Path], tmp_path: Path) -> None:
    out, config = copy(made, tmp_path), made[1]
    result = run_cli("export", out, "--config", config, "--car")
    assert result.exit_code == 0, result.output
    published = out / "export"
    images_cid = folder_cid(published / "images")
    assert f"images/ CID: {images_cid}" in result.output
    header, blocks = read_car(published / "images.car")
    cids = {cid for cid, _ in blocks}
    assert bytes(CID.decode(images_cid)) in header
    for token_id in animated_ids(out):
        gif = published / "images" / f"{token_id}.gif"
        assert raw_block(gif.read_bytes()).cid in cids, f"images.car holds {gif.name}"
        document = json.loads((published / "metadata" / str(token_id)).read_text())
        assert document["image"] == f"ipfs://{images_cid}/{token_id}.gif"


@pytest.mark.skipif(shutil.which("ipfs-car") is None, reason="ipfs-car (npm, 3.x) is not on PATH")
def test_ipfs_car_packs_the_animated_images_folder_to_the_same_cid(made: tuple[Path, Path], tmp_path: Path) -> None:
    out, config = copy(made, tmp_path), made[1]
    result = run_cli("export", out, "--config", config, "--car")
    folder = out / "export" / "images"
    reference = tmp_path / "images.car"
    packed = subprocess.run(
        ["ipfs-car", "pack", str(folder), "--output", str(reference)], check=True, capture_output=True, text=True
    )
    assert f"images/ CID: {packed.stdout.strip()}" in result.output
    assert reference.read_bytes() == folder.with_suffix(".car").read_bytes()


def test_the_reveal_publishes_each_item_with_its_own_animation(made: tuple[Path, Path], tmp_path: Path) -> None:
    out, config = copy(made, tmp_path), made[1]
    assert run_cli("export", out, "--config", config, "--starting-index", 1).exit_code == 0
    first, published = 1, out / "export"
    for token_id in range(first, first + N):
        item = (token_id - first + 1) % N + first  # the item a starting index of 1 shows
        gif = published / "images" / f"{token_id}.gif"
        assert gif.exists() == (out / "animations" / f"{item}.gif").exists(), (token_id, item)
        if gif.exists():
            frames, _ = timeline(gif.read_bytes(), FRAME_MS)
            made_frames, _ = timeline((out / "animations" / f"{item}.gif").read_bytes(), FRAME_MS)
            assert np.array_equal(frames, made_frames.repeat(SCALE, 1).repeat(SCALE, 2))
    shown = json.loads(re.search(r'"animated":(\[[0-9,]*\])', (out / "index.html").read_text()).group(1))
    assert shown == animated_ids(out), "the gallery plays each master's own GIF (animations/<item>.gif)"


@pytest.mark.parametrize(
    ("flags", "target"),
    [(["--format", "metaplex"], "--format metaplex"), (["--onchain"], "export --onchain"), (["--ordinals"], "export --ordinals")],
)
def test_targets_that_publish_stills_refuse_an_animated_collection(
    made: tuple[Path, Path], tmp_path: Path, flags: list[str], target: str
) -> None:
    out, config = copy(made, tmp_path), made[1]
    before = folder_bytes(out)
    line = refused("export", out, "--config", config, *flags)
    count = len(animated_ids(out))
    assert line.startswith(f"Error: {out}: {target} publishes still images only, and {count} tokens animate")
    assert folder_bytes(out) == before, "nothing written"


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)")
def test_the_gallery_plays_the_gifs_in_chromium(made: tuple[Path, Path], tmp_path: Path) -> None:
    """The page shows an animated token's GIF; Chromium's own decoder (WebCodecs ``ImageDecoder``) reads it as
    animated, looping for ever, each frame shown ``frame_ms`` and equal to the layers' composite."""
    out, config = copy(made, tmp_path), made[1]
    assert run_cli("export", out, "--config", config).exit_code == 0
    script = """<script>{
      const report = value => { document.body.dataset.report = JSON.stringify(value); };
      const img = [...document.querySelectorAll(".card img")].find(i => i.getAttribute("src").endsWith(".gif"));
      const request = new XMLHttpRequest();
      request.open("GET", img.src);
      request.responseType = "arraybuffer";
      request.onload = async () => {
        try {
          const decoder = new ImageDecoder({ data: request.response, type: "image/gif" });
          await decoder.tracks.ready;
          await decoder.completed;
          const track = decoder.tracks.selectedTrack, frames = [];
          for (let i = 0; i < track.frameCount; i++) {
            const { image } = await decoder.decode({ frameIndex: i });
            const canvas = new OffscreenCanvas(image.displayWidth, image.displayHeight);
            canvas.getContext("2d").drawImage(image, 0, 0);
            frames.push([image.duration / 1000, Array.from(canvas.getContext("2d").getImageData(0, 0, 24, 24).data)]);
            image.close();
          }
          report({ src: img.getAttribute("src"), animated: track.animated, loop: String(track.repetitionCount), frames });
        } catch (error) { report({ error: String(error) }); }
      };
      request.send();
    }</script></body>"""
    page = out / "probe.html"
    page.write_text((out / "index.html").read_text().replace("</body>", script))
    dom = chromium(tmp_path, page.as_uri(), "--dump-dom", "--allow-file-access-from-files")
    report = json.loads(html.unescape(re.search(r'data-report="([^"]*)"', dom).group(1)))
    assert "error" not in report, report
    token_id = int(re.fullmatch(r"animations/(\d+)\.gif", report["src"]).group(1))
    assert report["animated"] and report["loop"] == "Infinity"
    traits = next(r["traits"] for r in manifest_records(out) if r["token_id"] == token_id)
    played = [np.array(pixels, np.uint8).reshape(24, 24, 4) for ms, pixels in report["frames"] for _ in range(ms // FRAME_MS)]
    assert all(ms % FRAME_MS == 0 for ms, _ in report["frames"])
    for number, frame in enumerate(played):
        assert np.array_equal(frame[..., :3], reference_frame(config, traits, number)), number
    assert len(played) in (4, 12)
