"""The README and docs/ are tested the way users read and run them (issue 28, "README as a front door").

* Every relative link in README.md and docs/*.md names a file that exists, and a `#anchor` names a heading there.
* Every docs page is linked from the README, and the README stays a front door (at most 250 lines).
* Every command block (```sh, ```bash) either runs here, offline, or says why not in the line just above it:
  ``<!-- not run: needs a GPU / the SD weights / a running ComfyUI -->``.

How the blocks run: each page gets a fresh workspace, as a user has it after ``make collection N=100`` on a fresh
clone: a copy of the repository's ``traits/``, ``Makefile`` and ``pyproject.toml``, and ``output/bespoke-punks``
already made by ``punkgen collection -n 100``. ``.venv/bin/punkgen`` (and a bare ``punkgen`` on PATH) is this test's
interpreter running ``python -m generator`` from this checkout, and ``.venv``'s install stamp is fresh, so the real
``make collection …`` runs this checkout's punkgen without installing anything. A page's blocks run in order, in one
bash each (``-e -o pipefail``), and must exit 0 without a traceback. Two documented stand-ins:

* the workspace also holds what the docs tell a user to bring: ``renders/`` (six 512×512 NEAREST upscales of tokens,
  for ``punkgen pixelate``), ``originals/`` (the same six tokens at 24×24, for ``palette extract`` and ``dataset``),
  ``fixed/88.png`` (token 88 with one pixel changed, for ``replace``) and ``art/unrevealed.png`` (a placeholder);
* a ``make test`` line is dropped: it is this very suite, and running it from inside itself would recurse.

Every value the docs show is run as written (``N=100`` included: a sprite collection of 100 takes well under a second).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
COMMAND_LANGUAGES = {"sh", "bash", "shell", "console", "zsh"}
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
NOT_RUN = re.compile(r"^\s*<!-- not run: (?P<reason>.*?) -->\s*$")
LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(?P<text>.+?)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it starts, its language, its text (dedented) and, if not run, why."""

    page: Path
    line: int
    lang: str
    code: str
    not_run: str | None

    def __str__(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def parse(page: Path) -> tuple[list[str], list[Block]]:
    """Split a page into its prose lines (fenced blocks left out, so a link or heading inside code never counts) and
    its fenced blocks. A block's `not run` reason is the HTML comment on the last non-blank line before its fence."""
    prose: list[str] = []
    blocks: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            prose.append(lines[index])
            index += 1
            continue
        indent, start = opening["indent"], index
        index += 1
        body: list[str] = []
        while index < len(lines) and lines[index].rstrip() != f"{indent}```":
            body.append(lines[index][len(indent) :])
            index += 1
        assert index < len(lines), f"{page.relative_to(REPO)}:{start + 1}: a code block is never closed"
        index += 1
        before = [line for line in lines[:start] if line.strip()]
        reason = NOT_RUN.match(before[-1]) if before else None
        blocks.append(Block(page, start + 1, opening["lang"], "\n".join(body) + "\n", reason["reason"] if reason else None))
    return prose, blocks


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, code marks and punctuation dropped, spaces turned into hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor a page offers; a repeated heading gets GitHub's -1, -2 … suffixes."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for line in parse(page)[0]:
        heading = HEADING.match(line)
        if heading:
            base = slug(heading["text"])
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(page: Path) -> list[str]:
    """Link targets in a page's prose that point inside the repository (not http:, https:, mailto:)."""
    prose = "\n".join(parse(page)[0])
    return [match["target"] for match in LINK.finditer(prose) if not re.match(r"^[a-z]+:", match["target"])]


def command_blocks(page: Path) -> list[Block]:
    return [block for block in parse(page)[1] if block.lang in COMMAND_LANGUAGES]


def test_the_parser_sees_links_anchors_and_reasons(tmp_path: Path) -> None:
    """The checks below are only as good as this reading of Markdown: a page made up for it gives what it holds."""
    page = tmp_path / "page.md"
    page.write_text(
        "# The `punkgen verify` page\n\n## 1/1s\n\n## 1/1s\n\nSee [it](other.md#x) and ![pic](a.png), not [web](https://x.org).\n\n"
        "<!-- not run: needs a GPU -->\n```sh\nmake train\n```\n\n  ```bash\n  make test\n  [x](inside-code.md)\n  ```\n",
        encoding="utf-8",
    )
    assert anchors(page) == {"the-punkgen-verify-page", "11s", "11s-1"}
    assert relative_links(page) == ["other.md#x", "a.png"]
    first, second = command_blocks(page)
    assert (first.code, first.not_run) == ("make train\n", "needs a GPU")
    assert (second.code, second.not_run) == ("make test\n[x](inside-code.md)\n", None)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.is_file():
            broken.append(f"{target} (no file {linked})")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target} (no heading '#{anchor}' in {linked.relative_to(REPO)})")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(REPO / target.partition("#")[0]).resolve() for target in relative_links(README)}
    unlinked = [str(page.relative_to(REPO)) for page in PAGES[1:] if page.resolve() not in linked]
    assert not unlinked, f"docs pages nobody finds from the README: {unlinked}"
    assert len(PAGES) > 5, "docs/ holds the reference pages"


def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail into docs/"
    assert "make collection N=100" in "\n".join(lines[:15]) and "make test" in "\n".join(lines[:15]), (
        "the two commands come first"
    )


def test_every_not_run_block_says_why() -> None:
    """A `not run` comment names its reason, and sits right above a command block (a stray one would excuse nothing)."""
    for page in PAGES:
        reasons = [line for line in parse(page)[0] if NOT_RUN.match(line)]
        excused = [block for block in command_blocks(page) if block.not_run is not None]
        assert len(reasons) == len(excused), (
            f"{page.relative_to(REPO)}: a '<!-- not run: … -->' line is not above a command block"
        )
        assert all(len(block.not_run.split()) >= 3 for block in excused), [str(block) for block in excused]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_command_block_is_valid_shell(page: Path) -> None:
    """Blocks that cannot run here are still parsed by bash, so a quote or a loop the reader copies is whole."""
    for block in command_blocks(page):
        result = subprocess.run(["bash", "-n"], input=block.code, capture_output=True, text=True)
        assert result.returncode == 0, f"{block}: {result.stderr}"


def shim(path: Path, command: str) -> None:
    path.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
    path.chmod(0o755)


@pytest.fixture(scope="module")
def workspace_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's clone after `make collection N=100`, with this checkout's punkgen behind .venv (see the module docstring)."""
    root = tmp_path_factory.mktemp("docs-workspace")
    shutil.copytree(REPO / "traits", root / "traits")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO / name, root / name)
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    shim(bin_dir / "punkgen", f'"{sys.executable}" -m generator')
    shim(bin_dir / "python", f'"{sys.executable}"')
    stamp = root / ".venv" / ".punkgen-installed"
    stamp.touch()
    later = (root / "pyproject.toml").stat().st_mtime + 60
    os.utime(stamp, (later, later))  # make sees the install as done and never runs pip
    run_in(root, ".venv/bin/punkgen collection -n 100 --quiet\n")
    images = root / "output" / "bespoke-punks" / "images"
    for folder in ("renders", "originals", "fixed", "art"):
        (root / folder).mkdir()
    for token_id in range(1, 7):
        token = Image.open(images / f"{token_id}.png").convert("RGB")
        token.save(root / "originals" / f"punk-{token_id}.png")
        token.resize((512, 512), Image.Resampling.NEAREST).save(root / "renders" / f"render-{token_id}.png")
    fixed = Image.open(images / "88.png").convert("RGB")
    fixed.putpixel((0, 0), (0, 0, 0))
    fixed.save(root / "fixed" / "88.png")
    Image.open(images / "5.png").save(root / "art" / "unrevealed.png")
    return root


def run_in(workspace: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run a block's commands as bash would from the workspace, this checkout's punkgen first on PATH."""
    env = {key: value for key, value in os.environ.items() if key not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    env["PATH"] = f"{workspace / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", code], cwd=workspace, env=env, capture_output=True, text=True, timeout=300
    )


def without_make_test(code: str) -> str:
    """The block as run: a `make test` line is this suite itself (see the module docstring)."""
    return "".join(line for line in code.splitlines(keepends=True) if line.split("#")[0].strip() != "make test")


RUN_PAGES = [page for page in PAGES if any(block.not_run is None for block in command_blocks(page))]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="the docs' make commands need GNU make")
@pytest.mark.parametrize("page", RUN_PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_command_block_runs_as_written(page: Path, workspace_template: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "clone"
    shutil.copytree(workspace_template, workspace, symlinks=True)
    ran = 0
    for block in command_blocks(page):
        if block.not_run is not None:
            continue
        result = run_in(workspace, without_make_test(block.code))
        output = result.stdout + result.stderr
        assert result.returncode == 0 and "Traceback" not in output, (
            f"{block} exited {result.returncode}:\n{block.code}\n{output}"
        )
        ran += 1
    assert ran > 0
