"""Lazy re-exports: a package's public names are imported on first use, not when the package is.

A package writes its public surface once, as ordinary imports under ``if TYPE_CHECKING:``
(so type checkers and readers see real imports), and hands its ``__getattr__`` and
``__dir__`` to :func:`attach`, which reads those imports from the package's own source.
``import tokenaudit`` then costs nothing beyond itself, and ``tokenaudit --version`` does not
load pandas.

Examples
--------
>>> import tokenaudit
>>> "failure_groups" in dir(tokenaudit)
True
>>> tokenaudit.failure_groups.__module__
'tokenaudit.analysis.failures'
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable, MutableMapping
from pathlib import Path


def exports_of(source_file: str) -> dict[str, tuple[str, str]]:
    """The names a package imports under ``if TYPE_CHECKING:``: ``{name: (relative module, name there)}``."""
    tree = ast.parse(Path(source_file).read_text(encoding="utf-8"))
    found: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.level:
                    module = "." * statement.level + (statement.module or "")
                    for alias in statement.names:
                        found[alias.asname or alias.name] = (module, alias.name)
    return found


def attach(package: str, source_file: str, namespace: MutableMapping[str, object]
           ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Return ``__getattr__`` and ``__dir__`` for the package ``package`` whose ``__init__`` is ``source_file``.

    A name is imported from its module on first access and then kept in the
    package's ``namespace``, so later accesses cost a dictionary look-up.
    """
    exports = exports_of(source_file)

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, original = exports[name]
        value = getattr(importlib.import_module(module, package), original)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
