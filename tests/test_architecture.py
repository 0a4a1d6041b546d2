"""The layout's rules, read from the code: imports form no cycle (function-local and TYPE_CHECKING
imports included), modules stay readable at once, the top of `pipeline/` reads in one glance, the
texts and settings load without an image library, the settings reach no stage of the image path,
and no command imports an image library itself."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from .conftest import REPO

PIPELINE = REPO / "pipeline"
MAX_MODULE_LINES = 450
MAX_TOP_MODULES = 12
IMAGE_LIBRARIES = ("PIL", "pillow_heif", "pillow_jxl")
# What markup, the manifest, the post and the settings need: plain text and data, no pixels.
TEXT_MODULES = ("publish.markup", "publish.manifest", "publish.post", "names", "model", "errors", "formats")
TEXT_PACKAGES = ("text", "config")


def modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (`pipeline.image.render`, `pipeline.image`)."""
    found = {}
    for path in sorted(PIPELINE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _targets(node: ast.AST, module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of the package one import statement names."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level:
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        source = ".".join([*base, *([node.module] if node.module else [])])
    else:
        source = node.module or ""
    named = {f"{source}.{alias.name}" for alias in node.names} & known
    rest = [alias for alias in node.names if f"{source}.{alias.name}" not in known]
    return named | ({source} if rest and source in known else set())


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports anywhere (top level, in functions, under TYPE_CHECKING)."""
    found = modules()
    graph = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges = set().union(*(_targets(node, name, path, set(found)) for node in ast.walk(tree)))
        graph[name] = edges - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def reach(graph: dict[str, set[str]], start: str) -> dict[str, list[str]]:
    """Every module `start` imports, directly or not, with the path that gets there."""
    reached = {start: [start]}
    queue = [start]
    while queue:
        module = queue.pop(0)
        for target in sorted(graph.get(module, ())):
            if target not in reached:
                reached[target] = [*reached[module], target]
                queue.append(target)
    return reached


def test_the_graph_is_read() -> None:
    """The rules below judge a graph that holds the whole package and its imports."""
    graph = import_graph()
    assert {"pipeline.run", "pipeline.plan", "pipeline.image.render", "pipeline.cli.app"} <= set(graph)
    assert "pipeline.plan" in graph["pipeline.run"] and "pipeline.image.render" in graph["pipeline.run"]
    assert "pipeline.record.keys" in graph["pipeline.plan"], "a function-local or `from . import` edge is missed"


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_every_module_reads_at_once() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"


def test_the_top_of_the_package_reads_in_one_glance() -> None:
    top = sorted(path.name for path in PIPELINE.glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top
    folders = {path.name for path in PIPELINE.iterdir() if path.is_dir() and (path / "__init__.py").is_file()}
    assert {"image", "publish", "record", "text", "config", "sites", "commands", "cli"} <= folders


def test_texts_and_settings_load_without_an_image_library() -> None:
    names = [f"pipeline.{m}" for m in TEXT_MODULES] + [
        name for name in modules() if name.split(".")[1:2] and name.split(".")[1] in TEXT_PACKAGES
    ]
    code = (
        f"import {', '.join(names)}, sys\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('PIL', 'pillow_heif', 'pillow_jxl'))\n"
        "assert not loaded, loaded"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-1500:]


def test_the_settings_reach_no_stage_of_the_image_path() -> None:
    graph = import_graph()
    for start in (name for name in graph if name.startswith("pipeline.config")):
        stages = {name: " -> ".join(path) for name, path in reach(graph, start).items() if ".image" in name}
        assert not stages, f"{start} reaches the image path: {stages}"


def test_the_plan_makes_no_markup() -> None:
    """Each photo's markup is made once, from results, by publish.markup; the plan knows nothing of it."""
    reached = reach(import_graph(), "pipeline.plan")
    assert not [name for name in reached if name.startswith("pipeline.publish")], reached


def test_no_command_imports_an_image_library() -> None:
    """Commands and the command line ask the library; pixels stay in the stages of the image path."""
    offenders = []
    for name, path in modules().items():
        if not name.startswith(("pipeline.cli", "pipeline.commands")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            imported = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            )  # fmt: skip
            offenders += [f"{name}: {m}" for m in imported if m.split(".")[0] in IMAGE_LIBRARIES]
    assert not offenders, offenders
