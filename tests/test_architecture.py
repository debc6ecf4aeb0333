"""The package's shape: stages import only the stages below them, and no module imports itself back.

Read from the source's own import statements (those under ``if TYPE_CHECKING:`` included), so a
new arrow that runs up, or a circle, fails here before anyone has to find it in a picture.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "tokenaudit"
#: The stages from the bottom up (README, "How it is built"); a module may import its own stage and lower ones.
STAGES = [
    {"errors", "models", "schema", "version", "_lazy"},
    {"common"},
    {"regex"},
    {"sources", "formats"},
    {"causes"},
    {"tokens"},
    {"catalogue"},
    {"store"},
    {"pipeline"},
    {"analysis"},
    {"render"},
    {"cli", "__init__", "__main__"},
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def _imports(path: Path) -> set[str]:
    """The modules of tokenaudit that ``path`` imports (as dotted names below ``tokenaudit``)."""
    own = [] if path == PACKAGE / "__init__.py" else _module_name(path).split(".")
    package = own if path.name == "__init__.py" else own[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            target = [*base, *(node.module.split(".") if node.module else [])]
            if node.module is None:  # from . import a, b: modules or names of the package
                for alias in node.names:
                    candidate = [*target, alias.name]
                    found.add(".".join(candidate) if _exists(candidate) else ".".join(target))
            else:
                found.add(".".join(target))
        elif isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found |= {n.removeprefix("tokenaudit.") for n in names if n.startswith("tokenaudit.")}
    return {name for name in found if name}


def _exists(parts: list[str]) -> bool:
    return PACKAGE.joinpath(*parts).with_suffix(".py").exists() or PACKAGE.joinpath(*parts, "__init__.py").exists()


def _stage(module: str) -> int:
    top = module.split(".")[0] or "__init__"
    return next(number for number, stage in enumerate(STAGES) if top in stage)


GRAPH = {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_belongs_to_a_stage() -> None:
    assert all(_stage(module) >= 0 for module in GRAPH)
    assert len(GRAPH) > 50


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m != "__init__"))
def test_no_stage_imports_a_later_one(module: str) -> None:
    upward = {target for target in GRAPH[module] if _stage(target) > _stage(module)}
    assert not upward, f"{module} imports {sorted(upward)} from a later stage"


def test_there_is_no_import_circle() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in GRAPH.items():
        # a package's __init__ hands names on lazily: its own modules are no arrow of the package
        graph[module] |= {t for t in targets if not (module and t.startswith(module + "."))}
    graph.pop("__init__", None)
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt):], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not circles, f"import circles: {circles}"
