"""The package's layers import one way (issue 11 item 2), read from the source with ``ast``.

* Nothing outside ``model/commands/`` and ``model/cli.py`` imports ``model.commands``: the
  library never depends on the command line.
* No cycle between the package's units (a subpackage, or a top-level module), counting every
  import, deferred ones inside functions included: a deferred import hides a cycle from Python,
  not from a reader.
* No cycle between modules either, by the same count.
* No module of the package imports the tests (their stand-ins live in ``tests/``).
* One way to write a file whole: ``model.outputs.atomic_write`` (write a temporary sibling, then
  ``os.replace``); no other module moves files into place by hand.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.helpers import ROOT

PACKAGE = ROOT / "model"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    """Every module of the package or the tests that ``path`` imports, anywhere in it."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # ``from model import formatting`` imports the module model.formatting.
            subs = [f"{module}.{a.name}" for a in node.names if is_module(f"{module}.{a.name}")]
            targets = subs or [module]
        else:
            continue
        found.update(t for t in targets if t.split(".")[0] in ("model", "tests"))
    return found


GRAPH = {module_name(p): imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def unit(module: str) -> str:
    """The layer a module belongs to: ``model.sweep`` for ``model.sweep.runner``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "model"
    return ".".join(parts[:2])


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read():
    """The walk finds the package and its imports (else every check below passes vacuously)."""
    assert len(GRAPH) > 50
    assert "model.sweep.reading" in GRAPH["model.sweep.runner"]
    assert "model.formatting" in GRAPH["model.sweep.plots"]  # from model import formatting
    assert "model.experiment.engine" in GRAPH["model.sweep.runner"]  # from ... import engine
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_command_line_imports_the_commands():
    offenders = {
        module: sorted(t for t in targets if t.startswith("model.commands"))
        for module, targets in GRAPH.items()
        if not module.startswith("model.commands") and module != "model.cli"
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def test_the_package_never_imports_the_tests():
    users = {m: sorted(t) for m, t in GRAPH.items() if any(x.startswith("tests") for x in t)}
    assert users == {}


def test_no_cycle_between_subpackages_and_top_level_modules():
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in GRAPH.items():
        for target in targets:
            if unit(target) != unit(module):
                edges[unit(module)].add(unit(target))
    # ``model`` (the package's __init__: the notebook API, imported lazily) sits on top.
    assert cycles(edges) == []


def test_no_cycle_between_modules():
    edges = {m: {t for t in targets if t in GRAPH} for m, targets in GRAPH.items()}
    assert cycles(edges) == []


#: Hand-written write-then-rename left to move to ``atomic_write`` (the dashboard's own file).
KNOWN_RENAMES = {"model.dashboard.adapter"}


def test_files_are_written_whole_by_one_helper():
    """``os.replace``/``os.rename`` appear only in model/outputs.py (and the known leftover)."""
    movers = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("replace", "rename")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "os"
            ):
                movers.add(module_name(path))
    assert "model.outputs" in movers  # the helper itself: the walk sees the calls
    assert movers - {"model.outputs"} - KNOWN_RENAMES == set()
