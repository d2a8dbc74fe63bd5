"""The house rules of src/ganarena: the game, networks, data and metrics know nothing of Hydra or
of the run, imports only run downwards, and no file grows past a screenful of screens."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "ganarena"
RUN_FREE = ("game", "models", "data", "metrics")  # plain PyTorch / Lightning: no Hydra, no run/
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def ganarena_modules(*packages: str) -> list[str]:
    roots = [PACKAGE / p for p in packages] if packages else [PACKAGE]
    return sorted(module_name(path) for root in roots for path in root.rglob("*.py"))


def imports_of(path: Path) -> set[str]:
    """The ganarena modules a file imports (absolute imports; ganarena uses no relative ones)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    known = set(ganarena_modules())
    return {name for name in found if name in known}


def test_game_models_data_and_metrics_import_no_hydra_or_omegaconf():
    """Each module imported in a fresh interpreter, one after another: the first that pulls Hydra in is named."""
    script = (
        "import importlib, sys\n"
        f"for name in {ganarena_modules(*RUN_FREE)!r}:\n"
        "    importlib.import_module(name)\n"
        "    leaked = sorted(m for m in ('hydra', 'omegaconf') if m in sys.modules)\n"
        "    if leaked:\n"
        "        sys.exit(f'{name} imports {leaked}')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_imports_run_downwards_only():
    offenders = []
    for package in RUN_FREE:
        for path in (PACKAGE / package).rglob("*.py"):
            upward = sorted(m for m in imports_of(path) if m.startswith(("ganarena.run", "ganarena.report")))
            offenders += [f"{module_name(path)} imports {m}" for m in upward]
    assert offenders == []


def test_no_import_cycle():
    graph = {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}
    # A package's __init__ is imported with each of its modules; an edge to it is not a cycle risk
    # unless the __init__ itself imports back, which the graph then shows.
    visiting, done, cycles = set(), set(), []

    def visit(node: str, path: list[str]) -> None:
        if node in done:
            return
        if node in visiting:
            cycles.append(" -> ".join([*path[path.index(node) :], node]))
            return
        visiting.add(node)
        for child in sorted(graph.get(node, ())):
            visit(child, [*path, node])
        visiting.discard(node)
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    assert cycles == []


def test_no_source_file_is_over_the_limit():
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"split these files (over {MAX_LINES} lines): {long}"
