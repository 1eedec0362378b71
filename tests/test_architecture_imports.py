"""Imports between the top-level folders of ``src/threadline`` run one way: no cycles.

Every import counts: module-level, inside functions, and under ``TYPE_CHECKING`` (a
type-only import still means the two folders know each other, and the next refactor
turns it into a runtime one). Cycles inside one folder are not this test's business.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import threadline

ROOT = Path(threadline.__file__).parent
Edges = dict[str, dict[str, list[str]]]


def _unit(path: Path) -> str:
    """The top-level folder (or top-level module) a source file belongs to."""
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


def _targets(node: ast.Import | ast.ImportFrom, path: Path) -> list[str]:
    """Dotted ``threadline.*`` modules that ``node`` imports."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = list(path.relative_to(ROOT.parent).with_suffix("").parts)[: -node.level]
        base = ".".join(package + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    if base == "threadline":
        return [f"threadline.{alias.name}" for alias in node.names]
    return [base]


def import_edges() -> Edges:
    """For each pair of folders, where the first imports the second (``file:line``)."""
    edges: Edges = defaultdict(lambda: defaultdict(list))
    for path in sorted(ROOT.rglob("*.py")):
        source = _unit(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(node, path):
                parts = target.split(".")
                if parts[0] != "threadline" or len(parts) < 2 or parts[1] == source:
                    continue
                where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
                edges[source][parts[1]].append(where)
    return edges


def cycles(edges: Edges) -> list[list[str]]:
    """Strongly connected groups of more than one folder (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: list[str] = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _describe(group: list[str], edges: Edges) -> str:
    lines = [" <-> ".join(group)]
    for source in group:
        for target in group:
            for where in edges.get(source, {}).get(target, []):
                lines.append(f"  {source} -> {target}  ({where})")
    return "\n".join(lines)


def test_no_import_cycle_between_folders() -> None:
    edges = import_edges()
    found = cycles(edges)
    assert not found, "import cycles between folders:\n" + "\n".join(
        _describe(group, edges) for group in found
    )


def test_the_check_sees_a_cycle() -> None:
    fake: Edges = {"a": {"b": ["a.py:1"]}, "b": {"c": ["b.py:1"]}, "c": {"a": ["c.py:1"]}}
    assert cycles(fake) == [["a", "b", "c"]]
    assert cycles({"a": {"b": ["a.py:1"]}, "b": {}}) == []
