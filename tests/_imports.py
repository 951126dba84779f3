"""Read the project's import graph from source (no imports executed), for the layout tests.

`graph(["gateway", "familybot_trio"])` parses every module under those packages and returns,
per module, the project modules it imports: absolute and relative imports, imports inside
functions (lazy ones count: they run sooner or later), and whether an import sits under
`if TYPE_CHECKING:` (type-only: never executed). `from pkg import name` counts as importing
`pkg.name` when that is a module, else `pkg`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Edge:
    """`importer` imports `target` at `lineno`; type_only: under `if TYPE_CHECKING:`."""

    importer: str
    target: str
    lineno: int
    type_only: bool


def module_files(package: str) -> dict[str, Path]:
    """Every module under `package`: dotted name -> file (packages are their __init__)."""
    out: dict[str, Path] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, type_only: bool = False):
    """Yield (node, type_only) for every Import/ImportFrom, tracking TYPE_CHECKING blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, type_only
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), True)
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), type_only)
        else:
            yield from _imports(node, type_only)


def edges(packages: list[str]) -> list[Edge]:
    """Every import edge from a module under `packages` (targets may be outside them)."""
    files: dict[str, Path] = {}
    for package in packages:
        files.update(module_files(package))
    out: list[Edge] = []
    for name, path in files.items():
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, type_only in _imports(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    out.append(Edge(name, alias.name, node.lineno, type_only))
                continue
            if node.level:  # relative: resolve against this module's package
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                target = sub if sub in files else source
                out.append(Edge(name, target, node.lineno, type_only))
    return out


def where(edge: Edge) -> str:
    """`familybot_trio/x.py:12` for an edge's import line."""
    parts = edge.importer.split(".")
    path = ROOT.joinpath(*parts).with_suffix(".py")
    if not path.exists():
        path = ROOT.joinpath(*parts, "__init__.py")
    return f"{path.relative_to(ROOT)}:{edge.lineno}"
