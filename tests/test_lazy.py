"""The lazy public surfaces: every name resolves, and importing the package loads nothing heavy."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import tokenaudit
from tokenaudit._lazy import exports_of

PACKAGES = ["tokenaudit", *(m.name for m in pkgutil.iter_modules(tokenaudit.__path__, "tokenaudit.") if m.ispkg)]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_resolves_and_all_lists_exactly_them(name: str) -> None:
    package = importlib.import_module(name)
    exports = exports_of(package.__file__ or "")
    assert exports, f"{name} exports nothing"
    assert sorted(package.__all__) == sorted({*exports, "__version__"} if name == "tokenaudit" else exports)
    for export, (module, original) in exports.items():
        value = getattr(package, export)
        assert value is getattr(importlib.import_module(module, name), original)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = tokenaudit.nothing_here  # type: ignore[attr-defined]


def test_importing_tokenaudit_and_the_cli_loads_no_pandas_or_pyarrow() -> None:
    code = ("import sys, tokenaudit, tokenaudit.cli; "
            "print(sorted(m for m in ('pandas', 'pyarrow', 'numpy', 'jwt') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[]"


def test_the_cli_default_of_compact_is_the_librarys() -> None:
    from tokenaudit.cli import COMPACT_TARGET_MB
    from tokenaudit.store.compact import DEFAULT_TARGET_BYTES

    assert COMPACT_TARGET_MB << 20 == DEFAULT_TARGET_BYTES
