"""Word classes: a verdict's words written once, named in many patterns.

A phrase or keyword file may define ``[words.NAME]`` tables (a ``pattern``,
an alternation of words, and the ``source`` of those words); a pattern of the
same file writes ``<NAME>`` where any of them may stand. Applications word a
verdict alike whatever was checked ("invalid", "incorrect", "does not
match"): a synonym learnt for the audience then serves the issuer too, as
fail2ban's ``<HOST>`` serves every filter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ..common.datafiles import check_keys
from ..errors import CatalogueError
from ..regex.lint import validate_regex

#: A word class named in a pattern: ``<VERDICT>`` (capitals; a named group is ``(?P<lower>``).
_WORD_CLASS = re.compile(r"<([A-Z][A-Z_]*)>")
_WORD_CLASS_KEYS = {"required": ("pattern", "source"), "optional": ()}


def read_word_classes(table: object, path: Path) -> dict[str, str]:
    """Read the ``[words.NAME]`` tables of a phrase or keyword file: each NAME to its alternation.

    Raises
    ------
    CatalogueError
        If ``table`` is no table, a name is not in capitals, a class lacks its
        ``source``, is no usable regex, or names another class.
    """
    if not isinstance(table, dict):
        raise CatalogueError("words must be a table of word classes", path=str(path),
                             hint="write [words.VERDICT] with pattern = '...' and source = '...'")
    classes = {}
    for name, entry in table.items():
        if not _WORD_CLASS.fullmatch(f"<{name}>") or not isinstance(entry, dict):
            raise CatalogueError(f"word class {name!r} must be a table named in capitals", path=str(path),
                                 hint="write [words.VERDICT] with pattern = '...' and source = '...'")
        check_keys(entry, **_WORD_CLASS_KEYS, path=str(path), where=f"words.{name}")
        pattern = str(entry["pattern"])
        if problem := validate_regex(f"(?i:{pattern})"):
            raise CatalogueError(f"word class {name} is not a usable regex: {problem}", path=str(path))
        if _WORD_CLASS.search(pattern):
            raise CatalogueError(f"word class {name} names another class", path=str(path),
                                 hint="spell its words out: classes do not nest")
        classes[name] = pattern
    return classes


def expand_word_classes(pattern: str, classes: Mapping[str, str], *, path: str = "", signature_id: str = "") -> str:
    """Replace each ``<NAME>`` of ``pattern`` by its word class, as a group of alternatives.

    A verdict is worded the same way whatever was checked ("invalid",
    "incorrect", "does not match" …): a class written once keeps every
    keyword's verdicts alike, so a synonym learnt for the audience also
    serves the issuer.

    Raises
    ------
    CatalogueError
        If the pattern names a class the file does not define.

    Examples
    --------
    >>> expand_word_classes("aud <BAD>", {"BAD": "invalid|wrong"})
    'aud (?:invalid|wrong)'
    """
    def spell(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in classes:
            raise CatalogueError(f"pattern names the word class <{name}>, which the file does not define",
                                 path=path, signature_id=signature_id,
                                 hint=f"define [words.{name}], or use one of: {', '.join(sorted(classes)) or 'none'}")
        return f"(?:{classes[name]})"

    return _WORD_CLASS.sub(spell, pattern)
