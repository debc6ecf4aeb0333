"""Small helpers to find and read tokenaudit's TOML data files strictly."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import CatalogueError


def package_data(package: str) -> Path:
    """The ``data`` folder of one of tokenaudit's packages, where its TOML files lie.

    Examples
    --------
    >>> package_data("tokenaudit.causes").joinpath("causes.toml").is_file()
    True
    """
    return Path(str(resources.files(package) / "data"))


def read_toml(path: Path) -> dict[str, Any]:
    """Read one TOML file, turning syntax errors into :class:`CatalogueError`."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except UnicodeDecodeError:
        raise CatalogueError("not valid TOML: not UTF-8 text", path=str(path), hint="give a TOML text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(
            f"not valid TOML: {exc}", path=str(path),
            hint="fix the syntax at that line (https://toml.io); literal strings '...' need no escapes") from None
    except OSError as exc:
        raise CatalogueError(f"cannot read: {exc.strerror}", path=str(path),
                             hint="give the path of a readable TOML file") from None


def check_keys(
    table: Mapping[str, Any],
    *,
    required: Iterable[str],
    optional: Iterable[str],
    path: str,
    where: str | None = None,
) -> None:
    """Raise :class:`CatalogueError` on a missing required key or an unknown key."""
    required = set(required)
    allowed = required | set(optional)
    missing = sorted(required - table.keys())
    unknown = sorted(table.keys() - allowed)
    if missing:
        raise CatalogueError(f"missing key(s): {', '.join(missing)}", path=path, signature_id=where,
                             hint=f"required: {', '.join(sorted(required))}; "
                                  f"optional: {', '.join(sorted(allowed - required)) or 'none'}")
    if unknown:
        raise CatalogueError(
            f"unknown key(s): {', '.join(unknown)}",
            path=path,
            signature_id=where,
            hint=f"allowed keys: {', '.join(sorted(allowed))}",
        )
