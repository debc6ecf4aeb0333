"""Lint regexes for constructs that backtrack catastrophically, and for room for user text.

Every catalogue and format pattern runs in RE2 (through :mod:`pyarrow.compute`),
whose matching time is linear in the line whatever the pattern. The lint is a
second wall: a pattern that would blow up on a backtracking engine (Python's
``re``, a user pasting it into grep -P or fail2ban) is refused at load time,
so the catalogue stays safe to reuse anywhere. It reads the pattern's parse
tree (Python's own parser, which knows RE2's syntax for everything the
catalogue uses) and rejects:

* nested quantifiers: an unbounded repeat inside an unbounded repeat
  (``(a+)+``, ``(\\w*)*``), unless every iteration of the outer one must
  contain a delimiter the inner repeats cannot match (``(?:[^,]*,)*``);
* quantified alternations whose alternatives can start alike (``(a|a)*``,
  ``(\\s|\\s+)*``);
* adjacent unbounded repeats that can match the same characters
  (``\\s*\\s*``, ``.*.*``, ``\\w+\\d+``).

:func:`can_match_space` tells whether any variable part of a pattern can
match a space: a wrapper's variable parts must not, so that no user text
inside one can carry a multi-word validator message.
:func:`begins_with_own_text` tells whether a ``search`` pattern begins with
fixed text of its own (or one captured word and then such text), so that its
start, not the text before it, decides where it matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import takewhile
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from . import syntax

MAXREPEAT = syntax.MAXREPEAT
#: An outer repeat bounded above this many iterations counts as unbounded.
_LARGE_BOUND = 8
#: Characters the character-set tests probe: ASCII plus a few beyond it.
_PROBE = "".join(chr(c) for c in range(128)) + "\u00e9\u00a0\u4e2d\ufffd\u2028"
_REPEATS = (
    syntax.MAX_REPEAT, syntax.MIN_REPEAT, syntax.POSSESSIVE_REPEAT
)
_CATEGORIES: dict[Any, Callable[[str], bool]] = {
    syntax.CATEGORY_DIGIT: lambda c: c.isdigit() and c.isascii(),
    syntax.CATEGORY_NOT_DIGIT: lambda c: not (c.isdigit() and c.isascii()),
    syntax.CATEGORY_SPACE: lambda c: c in " \t\n\r\f\v",
    syntax.CATEGORY_NOT_SPACE: lambda c: c not in " \t\n\r\f\v",
    syntax.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
    syntax.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"),
}

Items = list[tuple[Any, Any]]
_NESTED = "an unbounded repeat inside an unbounded repeat"
_ATOMS = (syntax.LITERAL, syntax.IN, syntax.ANY, syntax.SUBPATTERN,
          syntax.NOT_LITERAL)

#: What to do about a pattern the backtracking lint refuses.
BACKTRACKING_HINT = (
    "make each repeat unambiguous: no repeat inside a repeat without a delimiter it cannot match, "
    "no alternatives that start alike under a repeat, no two adjacent repeats over the same characters"
)


def validate_regex(pattern: str) -> str | None:
    """Return why ``pattern`` cannot be used, or ``None`` if it can.

    It must compile in RE2, which matches it, and be read by Python's regex
    parser, on which the checks of a catalogue entry (anchoring, backtracking,
    prefilter literals) walk: RE2 takes a few escapes Python does not (``\\z``).

    Examples
    --------
    >>> validate_regex(r"^a(?P<x>b)$") is None
    True
    >>> validate_regex("(") is not None
    True
    >>> print(validate_regex(r"gone\\z").split(": write")[0])
    RE2 compiles it, but the catalogue's checks cannot read it (Python's regex parser: bad escape \\z at position 4)
    """
    try:
        pc.match_substring_regex(pa.array([""], pa.string()), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        return f"RE2 does not compile it: {exc}"
    try:
        syntax.parse(pattern)
    except (re.error, ValueError, OverflowError, RecursionError) as exc:
        return (f"RE2 compiles it, but the catalogue's checks cannot read it (Python's regex parser: {exc}): "
                "write it in the syntax both read ($ rather than \\z, for one)")
    return None


def lint_pattern(pattern: str) -> list[str]:
    """Return the reasons ``pattern`` could backtrack catastrophically (empty when it cannot).

    Examples
    --------
    >>> lint_pattern(r"^(?P<user>\\S+) msg=(?P<detail>.*)$")
    []
    >>> lint_pattern(r"(a+)+b")
    ['nested quantifier: an unbounded repeat inside an unbounded repeat (a+)+']
    >>> lint_pattern(r"^x(a|a)*$")
    ['quantified alternation whose alternatives can start alike: (a|)*']
    >>> lint_pattern(r"a\\s*\\s*b")
    ['adjacent unbounded repeats over the same characters: \\\\s*\\\\s*']
    """
    try:
        parsed = syntax.parse(pattern)
    except (re.error, ValueError, OverflowError) as exc:
        return [f"cannot be linted ({exc})"]
    problems: list[str] = []
    _walk(list(parsed), pattern, problems)
    return list(dict.fromkeys(problems))


def can_match_space(pattern: str) -> bool:
    """Whether a repeated part of ``pattern`` can match a space amid other text (not blanks alone).

    Examples
    --------
    >>> can_match_space(r"\\[lua\\] [\\w.-]+\\.lua:\\d+: ")
    False
    >>> can_match_space(r"params [^:]*: ")
    True
    """
    parsed = syntax.parse(pattern)
    return _variable_space(list(parsed))


def _variable_space(items: Items) -> bool:
    """Whether a repeat in ``items`` can match a space and text around it.

    One character cannot carry a message, nor can a run of blanks alone.
    """
    for op, arg in items:
        if op in _REPEATS:
            chars = _chars(list(arg[2]))
            if arg[1] > 1 and " " in chars and chars - set(" \t"):
                return True
            if _variable_space(list(arg[2])):
                return True
        elif op is syntax.SUBPATTERN:
            if _variable_space(list(arg[-1])):
                return True
        elif op is syntax.BRANCH:
            if any(_variable_space(list(alt)) for alt in arg[1]):
                return True
    return False


def _walk(items: Items, pattern: str, problems: list[str]) -> None:
    previous: tuple[Any, Any] | None = None
    for item in _flatten(items):
        op, arg = item
        if op in _REPEATS:
            low, high, body = arg
            body = list(body)
            if _unbounded(high):
                if _has_unbounded(body) and not _delimited(body):
                    problems.append(f"nested quantifier: {_NESTED} {_show(item)}")
                if high > 1 and _overlapping_alternatives(body):
                    problems.append("quantified alternation whose alternatives can start alike: "
                                    + _show(item))
            if previous is not None and _unbounded(high) and _is_unbounded_repeat(previous):
                if _chars(list(previous[1][2])) & _first_chars(body):
                    problems.append("adjacent unbounded repeats over the same characters: "
                                    + _show(previous) + _show(item))
            _walk(body, pattern, problems)
        elif op is syntax.SUBPATTERN:
            _walk(list(arg[-1]), pattern, problems)
        elif op is syntax.BRANCH:
            for alternative in arg[1]:
                _walk(list(alternative), pattern, problems)
        elif op in (syntax.ASSERT, syntax.ASSERT_NOT):
            _walk(list(arg[1]), pattern, problems)
        previous = item


def _is_unbounded_repeat(item: tuple[Any, Any]) -> bool:
    return item[0] in _REPEATS and _unbounded(item[1][1])


def _flatten(items: Items) -> Items:
    """Inline groups that are not repeated, so that adjacency is seen through them."""
    flat: Items = []
    for op, arg in items:
        if op is syntax.SUBPATTERN and not any(o is syntax.BRANCH for o, _ in arg[-1]):
            flat.extend(_flatten(list(arg[-1])))
        else:
            flat.append((op, arg))
    return flat


def _unbounded(high: int) -> bool:
    return bool(high == MAXREPEAT or high > _LARGE_BOUND)


def _has_unbounded(items: Items) -> bool:
    for op, arg in items:
        if op in _REPEATS and (_unbounded(arg[1]) or _has_unbounded(list(arg[2]))):
            return True
        if op is syntax.SUBPATTERN and _has_unbounded(list(arg[-1])):
            return True
        if op is syntax.BRANCH and any(_has_unbounded(list(alt)) for alt in arg[1]):
            return True
    return False


def _delimited(body: Items) -> bool:
    """Whether each iteration of ``body`` must hold a literal that none of its repeats can match."""
    flat = _flatten(body)
    required = {chr(arg) for op, arg in flat if op is syntax.LITERAL}
    starts: set[str] = set()  # characters an inner iteration can begin with
    for op, arg in flat:
        if op in _REPEATS:
            starts |= _first_chars(list(arg[2]))
        elif op in (syntax.SUBPATTERN, syntax.BRANCH):
            starts |= _chars([(op, arg)])
    return bool(required - starts)


def _overlapping_alternatives(body: Items) -> bool:
    """Whether some alternation in ``body`` has two alternatives that can begin the same way.

    The parser factors common prefixes out (``a|ab`` becomes ``a(?:|b)``), so an
    empty (or optional) alternative next to another one is an overlap too.
    """
    flat = _flatten(body)
    while len(flat) == 1 and flat[0][0] is syntax.SUBPATTERN:
        flat = list(flat[0][1][-1])
    for op, arg in flat:
        if op is syntax.IN and not any(kind is syntax.NEGATE for kind, _ in arg):
            # The parser folds single-character alternatives ((a|a), (\d|\w)) into a class: members
            # that share a character are alternatives that start alike.
            sets = [_class([member]) for member in arg]
            if any(sets[i] & sets[j] for i in range(len(sets)) for j in range(i + 1, len(sets))):
                return True
        if op is not syntax.BRANCH:
            continue
        alternatives = [list(alt) for alt in arg[1]]
        for i, first in enumerate(alternatives):
            for second in alternatives[i + 1 :]:
                if _nullable(first) or _nullable(second):
                    return True
                a, b = _leading_literal(first), _leading_literal(second)
                if a and b:
                    if a.startswith(b) or b.startswith(a):
                        return True
                elif _first_chars(first) & _first_chars(second):
                    return True
    return False


def _nullable(items: Items) -> bool:
    for op, arg in items:
        if op in (syntax.AT, syntax.ASSERT, syntax.ASSERT_NOT):
            continue
        if op in _REPEATS:
            if arg[0] > 0 and not _nullable(list(arg[2])):
                return False
        elif op is syntax.SUBPATTERN:
            if not _nullable(list(arg[-1])):
                return False
        elif op is syntax.BRANCH:
            if not any(_nullable(list(alt)) for alt in arg[1]):
                return False
        else:
            return False
    return True


def _leading_literal(items: Items) -> str:
    text = []
    for op, arg in _flatten(items):
        if op is not syntax.LITERAL:
            break
        text.append(chr(arg))
    return "".join(text)


def _first_chars(items: Items) -> set[str]:
    chars: set[str] = set()
    for op, arg in _flatten(items):
        if op in (syntax.AT, syntax.ASSERT, syntax.ASSERT_NOT):
            continue
        if op in _REPEATS:
            chars |= _first_chars(list(arg[2]))
            if arg[0] > 0:
                return chars
            continue
        if op is syntax.BRANCH:
            for alternative in arg[1]:
                chars |= _first_chars(list(alternative))
            return chars
        if op is syntax.SUBPATTERN:
            chars |= _first_chars(list(arg[-1]))
            return chars
        return chars | _chars([(op, arg)])
    return chars


def _chars(items: Items) -> set[str]:
    """Probe characters the items of ``items`` can match (one character at a time)."""
    chars: set[str] = set()
    for op, arg in items:
        if op is syntax.LITERAL:
            chars.add(chr(arg))
        elif op is syntax.NOT_LITERAL:
            chars |= set(_PROBE) - {chr(arg)}
        elif op is syntax.ANY:
            chars |= set(_PROBE) - {"\n"}
        elif op is syntax.IN:
            chars |= _class(arg)
        elif op in _REPEATS:
            chars |= _chars(list(arg[2]))
        elif op is syntax.SUBPATTERN:
            chars |= _chars(list(arg[-1]))
        elif op is syntax.BRANCH:
            for alternative in arg[1]:
                chars |= _chars(list(alternative))
    return chars


def _class(members: Items) -> set[str]:
    negate = False
    chars: set[str] = set()
    for op, arg in members:
        if op is syntax.NEGATE:
            negate = True
        elif op is syntax.LITERAL:
            chars.add(chr(arg))
        elif op is syntax.RANGE:
            chars |= {c for c in _PROBE if arg[0] <= ord(c) <= arg[1]}
        elif op is syntax.CATEGORY:
            test = _CATEGORIES.get(arg)
            chars |= {c for c in _PROBE if test is None or test(c)}
    return set(_PROBE) - chars if negate else chars


def _show(item: tuple[Any, Any]) -> str:
    """A short rendering of a parse-tree item, for messages."""
    return _render([item])


def _render(items: Items) -> str:
    out = []
    for op, arg in items:
        if op is syntax.LITERAL:
            out.append(re.escape(chr(arg)))
        elif op is syntax.ANY:
            out.append(".")
        elif op is syntax.IN:
            out.append(_render_class(arg))
        elif op is syntax.NOT_LITERAL:
            out.append(f"[^{re.escape(chr(arg))}]")
        elif op in _REPEATS:
            low, high, body = arg
            quant = {(0, MAXREPEAT): "*", (1, MAXREPEAT): "+", (0, 1): "?"}.get(
                (low, high), f"{{{low},{'' if high == MAXREPEAT else high}}}"
            )
            inner = _render(list(body))
            single = len(body) == 1 and body[0][0] in _ATOMS
            lazy = "?" if op is syntax.MIN_REPEAT else ""
            out.append((inner if single else f"(?:{inner})") + quant + lazy)
        elif op is syntax.SUBPATTERN:
            out.append(f"({_render(list(arg[-1]))})")
        elif op is syntax.BRANCH:
            out.append("|".join(_render(list(alt)) for alt in arg[1]))
        else:
            out.append("…")
    return "".join(out)


def _render_class(members: Items) -> str:
    if len(members) == 1 and members[0][0] is syntax.CATEGORY:
        return {
            syntax.CATEGORY_DIGIT: r"\d", syntax.CATEGORY_NOT_DIGIT: r"\D",
            syntax.CATEGORY_SPACE: r"\s", syntax.CATEGORY_NOT_SPACE: r"\S",
            syntax.CATEGORY_WORD: r"\w", syntax.CATEGORY_NOT_WORD: r"\W",
        }.get(members[0][1], "[…]")
    return "[…]"


def starts_with_wildcard(pattern: str) -> bool:
    """Whether a match of ``pattern`` can begin with an unbounded repeat (``.*``, ``[^x]*``).

    Such a pattern has no fixed text of its own at its start, so where its
    match begins is decided by whatever text precedes it.

    Examples
    --------
    >>> starts_with_wildcard(r"Invalid audiences: (?P<a>\\S+)")
    False
    >>> starts_with_wildcard(r"(?:jwt\\.)?\\S+Error")
    True
    """
    return _starts_unbounded(list(syntax.parse(pattern)))


#: How much fixed text must follow a pattern's leading captured word: the words after one word decide a match.
SUBJECT_TEXT = 16


def begins_with_own_text(pattern: str) -> bool:
    r"""Whether a match of ``pattern`` begins with fixed text of its own, or with one captured word and then such text.

    A ``search`` signature must: its start, not the text before it, decides
    where it matches. One captured word (IdentityServer's ``{clientId} does
    not have access …``) may stand first: a named group repeating characters
    that hold no blank (after an optional fixed word such as ``Client``), a
    space, then at least :data:`SUBJECT_TEXT` literal characters. A word
    cannot carry a user's sentence.

    Examples
    --------
    >>> begins_with_own_text(r"Invalid audiences: (?P<a>\S+)")
    True
    >>> begins_with_own_text(r"(?P<detail>[\w.:@-]{1,100}) does not have access to offline_access scope anymore")
    True
    >>> begins_with_own_text(r"(?:Client )?(?P<detail>[\w.-]{1,100}) tries to refresh token belonging to")
    True
    >>> begins_with_own_text(r"(?P<detail>[^:]{1,100}) does not have access to offline_access scope anymore")
    False
    >>> begins_with_own_text(r"(?P<detail>[\w.-]{1,100}) is invalid")
    False
    >>> begins_with_own_text(r"\S+Error")
    False
    """
    parsed = syntax.parse(pattern)
    items = list(parsed)
    return not _starts_unbounded(items) or _subject_first(items, set(parsed.state.groupdict.values()))


def _subject_first(items: Items, named: set[int]) -> bool:
    """Whether ``items`` are an optional fixed word, one named word of no blanks, a space and fixed text."""
    if items and items[0][0] in _REPEATS and items[0][1][:2] == (0, 1) \
            and all(op is syntax.LITERAL for op, _ in items[0][1][2]):
        items = items[1:]  # an optional fixed word before the subject ("Client ")
    if len(items) < 2 or items[0][0] is not syntax.SUBPATTERN or items[0][1][0] not in named:
        return False
    body = list(items[0][1][-1])
    if len(body) != 1 or body[0][0] not in _REPEATS or _chars(list(body[0][1][2])) & set(" \t\n"):
        return False
    if items[1] != (syntax.LITERAL, ord(" ")):
        return False
    fixed = len(list(takewhile(lambda item: item[0] is syntax.LITERAL, items[2:])))
    return fixed >= SUBJECT_TEXT


def _starts_unbounded(items: Items) -> bool:
    for op, arg in items:
        if op is syntax.AT:
            continue
        if op in _REPEATS:
            if _unbounded(arg[1]) or _starts_unbounded(list(arg[2])):
                return True
            if arg[0] > 0:
                return False
        elif op is syntax.SUBPATTERN:
            if _starts_unbounded(list(arg[-1])):
                return True
            if not _nullable(list(arg[-1])):
                return False
        elif op is syntax.BRANCH:
            if any(_starts_unbounded(list(alt)) for alt in arg[1]):
                return True
            if not any(_nullable(list(alt)) for alt in arg[1]):
                return False
        else:
            return False
    return False
