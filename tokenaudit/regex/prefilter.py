"""Cheap literal prefilters derived from regexes.

Before a regex runs over millions of lines, a plain substring test throws away
the lines that cannot match. The substring is not written by hand: it is the
longest run of literal text every match of the pattern must contain, read
from the pattern's parse tree.
"""

from __future__ import annotations

import re
from typing import Any

from . import syntax

_MIN_LITERAL = 4
_ZERO_WIDTH = {syntax.AT}


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
        parsed = syntax.parse(pattern)
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


def required_literals(pattern: str) -> tuple[str, ...]:
    r"""Literals of which every match of ``pattern`` contains at least one; ``()`` when there are none.

    One literal when every match shares one (:func:`required_literal`);
    otherwise one literal per branch of an alternation that every match goes
    through (``(?:x: )?(?:A|B)`` matches hold A's or B's), branches within
    branches included. Empty when some branch has no literal of at least
    four characters.

    Examples
    --------
    >>> required_literals(r"Missing CSRF token|CSRF double submit tokens do not match")
    ('Missing CSRF token', 'CSRF double submit tokens do not match')
    >>> required_literals(r"(?:SuspiciousOperation: )?(?:state not found|Session state (?:gone|lost))")
    ('state not found', 'Session state ')
    >>> required_literals(r"(?:a|b)xpired token")
    ('xpired token',)
    >>> required_literals(r"Token (?:is )?expired|\w+")
    ()
    """
    single = required_literal(pattern)
    if single is not None:
        return (single,)
    try:
        parsed = syntax.parse(pattern)
    except (re.error, ValueError, OverflowError, RecursionError):
        return ()
    if parsed.state.flags & re.IGNORECASE:
        return ()
    return tuple(dict.fromkeys(_alternatives(list(parsed))))


def _alternatives(items: list[tuple[Any, Any]]) -> tuple[str, ...]:
    """The best set of literals of which every match of the sequence ``items`` holds one."""
    candidates: list[tuple[str, ...]] = []
    runs: list[str] = []
    current: list[str] = []
    _walk(items, runs, current)
    runs.append("".join(current))
    best = max(runs, key=len)
    if len(best) >= _MIN_LITERAL:
        candidates.append((best,))
    for op, arg in items:
        if op is syntax.SUBPATTERN:
            inner = _alternatives(list(arg[-1]))
            if inner:
                candidates.append(inner)
        elif op is syntax.BRANCH:
            branches = [_alternatives(list(branch)) for branch in arg[1]]
            if all(branches):
                candidates.append(tuple(literal for branch in branches for literal in branch))
    if not candidates:
        return ()
    # The shortest literal decides how often a text passes for nothing; then fewer literals are cheaper.
    return max(candidates, key=lambda found: (min(map(len, found)), -len(found)))


def _walk(items: list[tuple[Any, Any]], runs: list[str], current: list[str]) -> None:
    for op, arg in items:
        if op is syntax.LITERAL:
            current.append(chr(arg))
        elif op in _ZERO_WIDTH:
            continue
        elif op is syntax.SUBPATTERN:
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
