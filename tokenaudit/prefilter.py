"""Cheap literal prefilters derived from regexes.

Before a regex runs over millions of lines, a plain substring test throws away
the lines that cannot match. The substring is not written by hand: it is the
longest run of literal text every match of the pattern must contain, read
from the pattern's parse tree.
"""

from __future__ import annotations

import re
from typing import Any

try:  # Python 3.11+: the parser moved under re.
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

_MIN_LITERAL = 4
_ZERO_WIDTH = {sre_parse.AT}


def required_literal(pattern: str) -> str | None:
    """Return the longest literal every match of ``pattern`` contains, or ``None``.

    ``None`` means no useful prefilter (shorter than four characters, a
    case-insensitive pattern, or a syntax Python's parser does not know).

    Examples
    --------
    >>> required_literal(r"^openid authentication failure; rhost=(?P<a>\\S+) msg=(?P<d>.*)$")
    'openid authentication failure; rhost='
    >>> required_literal(r"Invalid audiences: [`'\\"](?P<aud>[^`'\\"]+)")
    'Invalid audiences: '
    >>> required_literal(r"(?i)expired") is None
    True
    """
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, ValueError, OverflowError):
        return None
    if parsed.state.flags & re.IGNORECASE:
        return None
    runs: list[str] = []
    current: list[str] = []
    _walk(list(parsed), runs, current)
    runs.append("".join(current))
    best = max(runs, key=len)
    return best if len(best) >= _MIN_LITERAL else None


def _walk(items: list[tuple[Any, Any]], runs: list[str], current: list[str]) -> None:
    for op, arg in items:
        if op is sre_parse.LITERAL:
            current.append(chr(arg))
        elif op in _ZERO_WIDTH:
            continue
        elif op is sre_parse.SUBPATTERN:
            # A group is always taken: its literals continue the run.
            _walk(list(arg[-1]), runs, current)
        else:
            runs.append("".join(current))
            current.clear()


def marker_regex(literals: list[str]) -> str | None:
    r"""Join literals into one RE2 alternation, dropping those that contain another.

    A line holding ``"openid authentication failure; rhost="`` holds
    ``"authentication failure; rhost="`` too, so the shorter one suffices.

    Examples
    --------
    >>> print(marker_regex(["a.b", "xa.by", "c"]))
    a\.b|c
    >>> marker_regex([]) is None
    True
    """
    unique = sorted(set(literals), key=lambda text: (len(text), text))
    kept: list[str] = []
    for literal in unique:
        if not any(shorter in literal for shorter in kept):
            kept.append(literal)
    if not kept:
        return None
    return "|".join(escape(literal) for literal in sorted(kept))


_SPECIAL = set("\\.^$|?*+()[]{}")


def escape(text: str) -> str:
    r"""Escape the characters RE2 treats specially, and nothing else.

    Examples
    --------
    >>> print(escape("a (b) c"))
    a \(b\) c
    """
    return "".join("\\" + char if char in _SPECIAL else char for char in text)
