"""Cheap literal prefilters derived from regexes.

Before a regex runs over millions of lines, a plain substring test throws away
the lines that cannot match. The substring is not written by hand: it is the
longest run of literal text every match of the pattern must contain, read
from the pattern's parse tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import syntax
from .literal_scan import LiteralScan

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
    branches included. A short shared literal is spelled out across the
    groups, small character classes and optional parts that follow it
    (``User (?:not found|is inactive)`` gives ``User not found`` and ``User
    is inactive``, not ``User ``): a line passes the prefilter for nothing
    far less often. Empty when some branch has no literal of at least four
    characters.

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
    >>> required_literals(r"Token (?i:has expired) at")
    ('Token ',)
    >>> required_literals(r"User (?:not found|is inactive)['\"]")
    ('User is inactive', 'User not found')
    >>> required_literals(r"Failed to (?:parse|read) JW[ST]")
    ('Failed to parse', 'Failed to read')
    """
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
    for position, (op, arg) in enumerate(items):
        alternatives = _branches(op, arg)
        if alternatives is not None:
            # A branch whose alternative holds no literal of its own may still be spelled on into what
            # follows it (``(?:no "[^"]*"|…) state`` holds ``" state``, not only `` state``).
            rest = _literal_prefix(items[position + 1:])
            branches = [_spelled_on(branch, rest) for branch in alternatives]
            if all(branches):
                candidates.append(tuple(literal for branch in branches for literal in branch))
        elif op is syntax.SUBPATTERN and not _folds(arg):
            inner = _alternatives(list(arg[-1]))
            if inner:
                candidates.append(inner)
    spelled = _spelled_out(items)
    if spelled and min(map(len, spelled)) >= _MIN_LITERAL:
        candidates.append(spelled)
    return _most_selective(candidates)


def _most_selective(candidates: list[tuple[str, ...]]) -> tuple[str, ...]:
    """The candidate set of literals a text passes for nothing least often; ``()`` for none."""
    if not candidates:
        return ()
    # The shortest literal decides how often a text passes for nothing, up to the length from which a
    # literal is rare anyway; then fewer literals are cheaper.
    return max(candidates, key=lambda found: (min(min(map(len, found)), _SELECTIVE), -len(found)))


def _spelled_on(branch: list[tuple[Any, Any]], rest: list[tuple[Any, Any]]) -> tuple[str, ...]:
    """The literals of one alternative of a branch, spelled on into what follows the branch where that is better."""
    own = _alternatives(branch)
    if not rest or (own and min(map(len, own)) >= _SELECTIVE):
        return own
    return _most_selective([found for found in (own, _alternatives(branch + rest)) if found])


#: From this length a literal is rare enough in log text; a longer one filters no better.
_SELECTIVE = 12
#: Most strings a spelled-out literal may grow into (each is one more alternative of the marker).
_MAX_SPELLINGS = 32
#: Largest character class spelled out (``[_-]``, ``[SE]``).
_MAX_CLASS = 4


def _literal_prefix(items: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """The items at the start of ``items`` that each match a few literal strings (what a branch is spelled on into)."""
    for position, (op, arg) in enumerate(items):
        if _literal_options(op, arg) is None:
            return items[:position]
    return items


def _branches(op: Any, arg: Any) -> list[list[tuple[Any, Any]]] | None:
    """The alternatives of a branch, or of a group holding nothing but one; ``None`` for anything else."""
    if op is syntax.SUBPATTERN and not _folds(arg):
        inner = list(arg[-1])
        return _branches(*inner[0]) if len(inner) == 1 else None
    if op is syntax.BRANCH:
        return [list(branch) for branch in arg[1]]
    return None


def _folds(group: Any) -> bool:
    """Whether a group's own flags make it case-insensitive (``(?i:…)``): its letters are then no literal."""
    return bool(group[1] & re.IGNORECASE)


def _spelled_out(items: list[tuple[Any, Any]]) -> tuple[str, ...]:
    """The most selective set of literals made by spelling out consecutive literal parts of ``items``.

    A stretch of literal parts (characters, groups, branches and optional parts whose
    every way of matching is literal, small classes) gives every string it can match;
    a branch whose alternatives only start literally ends the stretch with those starts.
    Every match of ``items`` holds one string of each stretch.
    """
    best: tuple[str, ...] = ()
    current: set[str] = {""}

    def close() -> None:
        nonlocal best, current
        found = _without_containing(current)
        if found and (not best or min(map(len, found)) > min(map(len, best))):
            best = found
        current = {""}

    for op, arg in items:
        if min(map(len, current)) >= _SELECTIVE:  # selective already: spelling on only adds alternatives
            close()
        options = _literal_options(op, arg)
        if options is not None and len(current) * len(options) <= _MAX_SPELLINGS:
            current = {text + option for text in current for option in options}
            continue
        leads = _leading_options(op, arg)
        if leads is not None and len(current) * len(leads) <= _MAX_SPELLINGS:
            current = {text + lead for text in current for lead in leads}
        close()
    close()
    return best


def _without_containing(texts: set[str]) -> tuple[str, ...]:
    """``texts`` without those that hold another of them (a line holding the longer holds the shorter)."""
    ordered = sorted(texts, key=lambda text: (len(text), text))
    kept: list[str] = []
    for text in ordered:
        if not any(shorter in text for shorter in kept):
            kept.append(text)
    return tuple(sorted(kept))


def _sequence_options(items: list[tuple[Any, Any]]) -> set[str] | None:
    """Every string a sequence of items matches, if each item is literal (and they are few)."""
    strings, complete = _literal_start(items)
    return strings if complete else None


def _literal_start(items: list[tuple[Any, Any]]) -> tuple[set[str], bool]:
    """The strings the literal items at the start of a sequence match, and whether they were all of it."""
    strings = {""}
    for op, arg in items:
        options = _literal_options(op, arg)
        if options is None or len(strings) * len(options) > _MAX_SPELLINGS:
            return strings, False
        strings = {text + option for text in strings for option in options}
    return strings, True


def _literal_options(op: Any, arg: Any) -> set[str] | None:
    """Every string one parse item matches, when that is a small set of literals; else ``None``."""
    if op is syntax.LITERAL:
        return {chr(arg)}
    if op in _ZERO_WIDTH:
        return {""}
    if op is syntax.IN and len(arg) <= _MAX_CLASS and all(kind is syntax.LITERAL for kind, _ in arg):
        return {chr(code) for _, code in arg}
    if op is syntax.SUBPATTERN and not _folds(arg):
        return _sequence_options(list(arg[-1]))
    if op is syntax.BRANCH:
        found: set[str] = set()
        for branch in arg[1]:
            options = _sequence_options(list(branch))
            if options is None:
                return None
            found |= options
        return found
    if op in (syntax.MAX_REPEAT, syntax.MIN_REPEAT) and arg[0] == 0 and arg[1] == 1:
        options = _sequence_options(list(arg[2]))
        return None if options is None else {"", *options}
    return None


def _leading_options(op: Any, arg: Any) -> set[str] | None:
    """For a branch (or a group holding one): the literal start of each alternative; ``None`` otherwise."""
    if op is syntax.SUBPATTERN and not _folds(arg):
        inner = list(arg[-1])
        return _leading_options(*inner[0]) if len(inner) == 1 else None
    if op is not syntax.BRANCH:
        return None
    return {start for branch in arg[1] for start in _literal_start(list(branch))[0]}


def _walk(items: list[tuple[Any, Any]], runs: list[str], current: list[str]) -> None:
    for op, arg in items:
        if op is syntax.LITERAL:
            current.append(chr(arg))
        elif op in _ZERO_WIDTH:
            continue
        elif op is syntax.SUBPATTERN and not _folds(arg):
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


#: Most alternatives one RE2 regex of a marker holds (the alternatives that are not plain literals, and
#: the folded literals for texts that are not ASCII: the literals themselves go to :class:`LiteralScan`).
#: RE2 builds a DFA within a memory budget; a marker of ~900 literals passes it and RE2 falls back to a
#: ~20x slower engine (0.22 s for 400 literals against 3.7 s for 600, per 200,000 syslog lines). Parts
#: of 300 stay well below the cliff.
MARKER_PART_ALTERNATIVES = 300


def search_marker(texts: pa.Array | pa.ChunkedArray, regex: str) -> pa.BooleanArray | pa.ChunkedArray:
    """Where ``regex`` is found in ``texts`` (null for a null text): exactly where RE2 finds it, faster.

    A marker's literal alternatives (plain, or in any case under ``(?i:…)``)
    are looked for with one Aho-Corasick scan (:class:`LiteralScan`); the
    other alternatives, and the in-any-case literals in a text that is not
    ASCII, run in RE2, part by part (:func:`marker_parts`).

    Examples
    --------
    >>> search_marker(pa.array(["xa", "b", None, "ERROR Token"]), "a|b|c|(?i:token|jwt)").to_pylist()
    [True, True, None, True]
    """
    if isinstance(texts, pa.ChunkedArray):
        return pa.chunked_array([search_marker(chunk, regex) for chunk in texts.chunks], type=pa.bool_())
    plan = _marker_plan(regex)
    found, undecided = plan.literals.scan(texts)
    undecided &= ~found
    if undecided.any() and plan.folded:
        rows = pa.array(np.flatnonzero(undecided), pa.int64())
        again = _regex_found(texts.take(rows), plan.folded)
        found[rows.to_numpy()[again]] = True
    if plan.rest:
        found |= _regex_found(texts, plan.rest)
    valid = np.asarray(texts.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return pa.array(found, pa.bool_(), mask=~valid)


def _regex_found(texts: pa.Array, parts: tuple[str, ...]) -> np.ndarray:
    """Where any of the RE2 ``parts`` is found in ``texts`` (``False`` for a null text)."""
    found = np.zeros(len(texts), dtype=bool)
    for part in parts:
        hits = pc.fill_null(pc.match_substring_regex(texts, part), False)
        found |= np.asarray(hits.to_numpy(zero_copy_only=False), dtype=bool)
    return found


@dataclass(frozen=True)
class _MarkerPlan:
    """How a marker is searched: its literals in one scan, the rest (and the folded literals again) in RE2."""

    literals: LiteralScan
    #: RE2 parts of the in-any-case literals, for texts that are not ASCII
    folded: tuple[str, ...]
    #: RE2 parts of the alternatives that are not plain literals
    rest: tuple[str, ...]


@lru_cache(maxsize=64)
def _marker_plan(regex: str) -> _MarkerPlan:
    exact: list[str] = []
    folded: list[tuple[str, str]] = []
    rest: list[tuple[str, str]] = []
    for alternative, flags in _flat_alternatives(regex, ""):
        literal = _plain_literal(alternative)
        if literal is None or set(flags) - {"i"} or (flags and not literal.isascii()):
            rest.append((alternative, flags))
        elif flags:
            folded.append((alternative, flags))
        else:
            exact.append(literal)
    scan = LiteralScan(exact, [(_plain_literal(a) or "").lower() for a, _ in folded])
    return _MarkerPlan(scan, _parts(folded), _parts(rest))


def _parts(alternatives: list[tuple[str, str]]) -> tuple[str, ...]:
    return marker_parts(_join(alternatives)) if alternatives else ()


def _plain_literal(alternative: str) -> str | None:
    r"""The text ``alternative`` matches when it is a plain literal (only punctuation escaped), else ``None``.

    Examples
    --------
    >>> _plain_literal(r"a \(b\) c"), _plain_literal(r"a\d"), _plain_literal("a+"), _plain_literal("a[bc]")
    ('a (b) c', None, None, None)
    """
    if not alternative or re.search(r"\\[A-Za-z0-9]", alternative):
        return None
    if any(char in _SPECIAL for char in re.sub(r"\\.", "", alternative)):
        return None
    return re.sub(r"\\(.)", r"\1", alternative)


def marker_parts(regex: str, *, size: int = MARKER_PART_ALTERNATIVES) -> tuple[str, ...]:
    r"""Cut a regex's alternatives into regexes of at most ``size`` each; a text is found by one iff by the whole.

    Alternatives inside a group that spans a whole alternative (``(?:a|b)``,
    ``(?i:a|b)``) are cut too, each part keeping the group's flags. Searching
    for a regex anywhere in a text is the same as searching for any of its
    alternatives, so the parts together find exactly what the whole finds.

    Examples
    --------
    >>> marker_parts("a|b|(?i:c|d|e)|f\\|g", size=2)
    ('a|b', '(?i:c|d)', '(?i:e)|f\\|g')
    >>> marker_parts("only")
    ('only',)
    """
    parts: list[str] = []
    pending: list[tuple[str, str]] = []
    for alternative in _flat_alternatives(regex, ""):
        pending.append(alternative)
        if len(pending) == size:
            parts.append(_join(pending))
            pending = []
    if pending:
        parts.append(_join(pending))
    return tuple(parts)


def _join(alternatives: list[tuple[str, str]]) -> str:
    """Join alternatives, each group of neighbours with the same flags under one ``(?flags:…)``."""
    out: list[str] = []
    run: list[str] = []
    flags = ""
    for text, own in [*alternatives, ("", "\0")]:
        if own != flags and run:
            out.append(f"(?{flags}:{'|'.join(run)})" if flags else "|".join(run))
            run = []
        flags = own
        run.append(text)
    return "|".join(out)


def _flat_alternatives(regex: str, flags: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for alternative in _top_level(regex):
        inner = _whole_group(alternative)
        if inner is None:
            found.append((alternative, flags))
        else:
            opening, body = inner
            found += _flat_alternatives(body, flags + opening)
    return found


def _top_level(regex: str) -> list[str]:
    """The alternatives of ``regex`` at depth 0 (escapes, classes and groups respected)."""
    cuts = [index for index, char, depth in _scan(regex) if char == "|" and depth == 0]
    bounds = [-1, *cuts, len(regex)]
    return [regex[a + 1:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _scan(regex: str) -> list[tuple[int, str, int]]:
    """``(index, character, depth)`` of the characters that are syntax: not escaped, not in a class.

    ``depth`` is the group depth before the character (a ``)`` is reported at its group's depth).
    """
    found, depth, index, in_class = [], 0, 0, False
    while index < len(regex):
        char = regex[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            index += 1
            if regex[index:index + 1] == "^":
                index += 1
            if regex[index:index + 1] == "]":  # a ] first in a class is a character
                index += 1
            continue
        else:
            if char == ")":
                depth -= 1
            found.append((index, char, depth))
            if char == "(":
                depth += 1
        index += 1
    return found


def _whole_group(alternative: str) -> tuple[str, str] | None:
    """``(flags, body)`` when ``alternative`` is one non-capturing group ``(?:body)`` or ``(?i:body)``."""
    opening = re.match(r"\(\?([a-zA-Z]*):", alternative)
    if not opening:
        return None
    closes = [index for index, char, depth in _scan(alternative) if char == ")" and depth == 0]
    if closes != [len(alternative) - 1]:
        return None  # the first group closes before the end: more follows it
    body = alternative[opening.end():-1]
    return (opening.group(1), body) if len(_top_level(body)) > 1 else None
