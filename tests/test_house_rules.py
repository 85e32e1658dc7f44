"""The house rules the code keeps, checked by reading generator/ (issue 28): it stays open for extension.

- callers read what a backend declares (``Renderer``), never its name or class: no backend-name string test and no
  ``isinstance`` on a renderer class outside ``generator/render/``;
- an export target's differences live in its format object: no ``fmt ==`` outside ``generator/publish/formats/``;
- no module over 400 lines;
- data flows one way through the stage folders, plan → render → pixels → run → curate → publish: no module
  imports a later stage.

Each check is also run on a planted violation, so none of them can pass by reading nothing.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from generator.render import BACKEND_MODULES

GENERATOR = Path(__file__).resolve().parents[1] / "generator"
STAGES = ("plan", "render", "pixels", "run", "curate", "publish")
MAX_LINES = 400


def sources(root: Path = GENERATOR) -> dict[str, str]:
    """Every module under ``root`` by its path relative to the package's parent (``generator/run/rounds.py``)."""
    return {path.relative_to(root.parent).as_posix(): path.read_text(encoding="utf-8") for path in sorted(root.rglob("*.py"))}


def outside(modules: dict[str, str], folder: str) -> dict[str, str]:
    return {path: text for path, text in modules.items() if not path.startswith(folder)}


def backend_name_tests(modules: dict[str, str], names: list[str]) -> list[str]:
    """``x == "sprites"``, ``"sprites" != x``, ``x in ("sprites", …)``: a caller working out what a backend is."""
    quoted = "|".join(re.escape(name) for name in names)
    pattern = re.compile(
        rf"""(==|!=)\s*["']({quoted})["']|["']({quoted})["']\s*(==|!=)|\bin\s*[(\[{{][^)\]}}]*["']({quoted})["']"""
    )
    return [f"{path}:{n}" for path, text in modules.items() for n, line in _lines(text) if pattern.search(line)]


def renderer_isinstance(modules: dict[str, str], classes: set[str]) -> list[str]:
    """``isinstance(x, SomeRenderer)``: a caller telling backends apart by class."""
    found = []
    for path, text in modules.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance" and len(node.args) == 2:
                named = {n.id if isinstance(n, ast.Name) else getattr(n, "attr", "") for n in ast.walk(node.args[1])}
                if named & classes:
                    found.append(f"{path}:{node.lineno}")
    return found


def format_tests(modules: dict[str, str]) -> list[str]:
    pattern = re.compile(r"\bfmt\s*(==|!=)")
    return [f"{path}:{n}" for path, text in modules.items() for n, line in _lines(text) if pattern.search(line)]


def long_modules(modules: dict[str, str]) -> list[str]:
    return [f"{path}: {len(text.splitlines())} lines" for path, text in modules.items() if len(text.splitlines()) > MAX_LINES]


def imports_of_later_stages(modules: dict[str, str]) -> list[str]:
    """``generator/pixels/x.py`` importing ``generator.run…``: an arrow back up the pipeline."""
    found = []
    for path, text in modules.items():
        stage = _stage(path.split("/")[1])
        if stage is None:
            continue
        for line, imported in _imported(ast.parse(text)):
            parts = imported.split(".")
            target = _stage(parts[1]) if parts[0] == "generator" and len(parts) > 1 else None
            if target is not None and target > stage:
                found.append(f"{path}:{line} imports {imported} (a later stage)")
    return found


def renderer_classes() -> set[str]:
    """``Renderer`` and every class under generator/render/ that subclasses it."""
    classes = {"Renderer"}
    for text in sources(GENERATOR / "render").values():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and any(getattr(base, "id", "") == "Renderer" for base in node.bases):
                classes.add(node.name)
    return classes


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Code lines with their numbers, comments cut off (a comment may mention a backend by name)."""
    for n, line in enumerate(text.splitlines(), 1):
        yield n, line.split("#", 1)[0]


def _stage(name: str) -> int | None:
    return STAGES.index(name) if name in STAGES else None


def _imported(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


# ── the rules, on generator/ ─────────────────────────────────────────────────────────────────────


def test_no_caller_tests_a_backend_by_name() -> None:
    assert backend_name_tests(outside(sources(), "generator/render/"), list(BACKEND_MODULES)) == []


def test_no_caller_tells_renderers_apart_by_class() -> None:
    classes = renderer_classes()
    assert {"Renderer", "SpriteRenderer", "ImportRenderer", "DiffusionRenderer", "HybridRenderer"} <= classes
    assert renderer_isinstance(outside(sources(), "generator/render/"), classes) == []


def test_no_export_format_is_tested_by_name_outside_its_package() -> None:
    assert format_tests(outside(sources(), "generator/publish/formats/")) == []


def test_no_module_is_over_400_lines() -> None:
    assert long_modules(sources()) == []


def test_no_stage_imports_a_later_one() -> None:
    assert imports_of_later_stages(sources()) == []


# ── each check finds a planted violation ─────────────────────────────────────────────────────────

PLANTED = {
    "generator/run/x.py": """
from generator.render.imports import ImportRenderer
from generator import curate
import generator.publish.export

def light(renderer, backend, fmt):
    a = backend == "sprites"  # a name test
    b = "import" != backend
    c = backend in ("diffusion", "hybrid")
    d = isinstance(renderer, ImportRenderer)
    e = fmt == "metaplex"
    f = backend == "spritesheet"  # not a backend's name
    # backend == "sprites" only in a comment
    return a, b, c, d, e, f
""",
    "generator/pixels/y.py": "\n" * (MAX_LINES + 1),
}


def test_the_checks_find_planted_violations() -> None:
    names = list(BACKEND_MODULES)
    assert backend_name_tests(PLANTED, names) == ["generator/run/x.py:7", "generator/run/x.py:8", "generator/run/x.py:9"]
    assert renderer_isinstance(PLANTED, renderer_classes()) == ["generator/run/x.py:10"]
    assert format_tests(PLANTED) == ["generator/run/x.py:11"]
    assert long_modules(PLANTED) == [f"generator/pixels/y.py: {MAX_LINES + 1} lines"]
    later = imports_of_later_stages(PLANTED)
    assert [entry.split(" imports ")[1] for entry in later] == [
        "generator.curate (a later stage)",
        "generator.publish.export (a later stage)",
    ]


def test_a_module_may_import_its_own_and_earlier_stages() -> None:
    """The variant the rule allows: the run imports render and pixels, render imports plan; none is reported."""
    allowed = {
        "generator/run/z.py": "from generator.render import Renderer\nfrom generator.pixels.quality import assess\n",
        "generator/render/w.py": "from generator.plan.traits import TraitTable\nfrom generator.render.layers import Layers\n",
        "generator/cli.py": "from generator.publish.export import export\n",  # the CLI sits above every stage
    }
    assert imports_of_later_stages(allowed) == []
