"""Wrappers: the framing software writes before a validator's message (``data/wrappers.toml``).

A wrapper is text such as ``[lua] openidc.lua:12: authenticate(): `` or a
logger's header, after which a validator's own words stand at the start of
the software's message. :func:`read_wrappers` checks each one: it captures
nothing, has no anchor of its own and no variable part that can hold a space,
so that a user's words inside a wrapper cannot make a message start.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..common.datafiles import check_keys, package_data, read_toml
from ..errors import CatalogueError
from ..regex.lint import BACKTRACKING_HINT, can_match_space, lint_pattern, validate_regex

#: This package's TOML files.
DATA_DIR = package_data("tokenaudit.catalogue")
#: The built-in wrappers.
WRAPPERS_FILE = DATA_DIR / "wrappers.toml"

#: Why a pattern must be anchored, and how: the hint of every anchoring error.
ANCHOR_HINT = (
    "a signature must match text its software writes, never text a user chose: anchor a whole-message "
    "pattern with ^ (and $); a validator message passed on by other software is `search = true`, begins "
    "with the validator's own words and is matched only at the start of the message or after a wrapper "
    "of data/wrappers.toml"
)


@dataclass(frozen=True)
class Wrapper:
    """Software-written text that may precede a validator's message (``data/wrappers.toml``)."""

    id: str
    pattern: str
    source: str
    samples: tuple[str, ...]


def read_wrappers(path: Path) -> tuple[Wrapper, ...]:
    """Read and check a wrappers file.

    Each wrapper has an id of its own, compiles in RE2, passes the
    backtracking lint, captures nothing, has no anchor of its own, matches
    each of its samples whole, and has no variable part that can match a
    space (user text inside a wrapper then cannot hold a validator's
    multi-word message).

    Raises
    ------
    CatalogueError
        On the first wrapper that breaks a rule.
    """
    data = read_toml(path)
    check_keys(data, required=("wrapper",), optional=(), path=str(path))
    wrappers: list[Wrapper] = []
    for entry in data["wrapper"]:
        check_keys(entry, required=("id", "pattern", "source", "sample"), optional=(), path=str(path),
                   where=str(entry.get("id", "?")))
        wid, pattern = str(entry["id"]), str(entry["pattern"])

        def fail(message: str, wid: str = wid) -> CatalogueError:
            return CatalogueError(message, path=str(path), signature_id=wid, hint=ANCHOR_HINT)

        if any(wrapper.id == wid for wrapper in wrappers):
            raise fail("a wrapper id is used twice: give each wrapper its own")
        if problem := validate_regex(pattern):
            raise fail(f"wrapper is not a usable regex: {problem}")
        if backtracking := lint_pattern(pattern):
            raise CatalogueError(f"wrapper could backtrack catastrophically: {backtracking[0]}", path=str(path),
                                 signature_id=wid, hint=BACKTRACKING_HINT)
        if "(?P<" in pattern or pattern.startswith("^") or pattern.endswith("$"):
            raise fail("a wrapper has no named group and no anchor of its own")
        if can_match_space(pattern):
            raise fail("a wrapper's variable parts must not match a space (they could hold user text)")
        samples = tuple(str(sample) for sample in entry["sample"])
        whole = pc.match_substring_regex(pa.array(samples, pa.string()), f"^(?:{pattern})$")
        if not samples or not all(whole.to_pylist()):
            raise fail("a wrapper must match each of its samples whole")
        wrappers.append(Wrapper(wid, pattern, str(entry["source"]), samples))
    return tuple(wrappers)


@cache
def load_wrappers() -> tuple[Wrapper, ...]:
    """The built-in wrappers (``data/wrappers.toml``)."""
    return read_wrappers(WRAPPERS_FILE)
