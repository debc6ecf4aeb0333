"""Python's own regular-expression parser: the one private part of CPython that tokenaudit reads.

Why a private module: the catalogue's safety checks (:mod:`tokenaudit.regex.lint`) and
its literal prefilters (:mod:`tokenaudit.regex.prefilter`) read a pattern's parse tree, and the
standard library has no public parser. ``re._parser`` (``sre_parse`` before Python 3.11,
still importable there with a DeprecationWarning) has kept the same tree of
``(opcode, argument)`` pairs since Python 2. A parser written here would be a second
grammar to keep in step with RE2's; a third-party one (``regex``) parses a different
dialect. So the private parser is used, from this module only, on the Python versions
:data:`CHECKED_PYTHONS` names: ``tests/test_regex_syntax.py`` checks the tree shapes used
here on the running Python, and fails on a version not in that list until someone has
looked.

Examples
--------
>>> [(str(op), arg) for op, arg in parse("ab")]
[('LITERAL', 97), ('LITERAL', 98)]
"""

from __future__ import annotations

from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

#: Python versions whose parser has been checked against the shapes used here.
CHECKED_PYTHONS = ((3, 11), (3, 12), (3, 13), (3, 14))

#: Largest repeat count (``{n,}`` and ``*`` use it as "unbounded").
MAXREPEAT: int = sre_constants.MAXREPEAT

AT = sre_parse.AT
ANY = sre_parse.ANY
ASSERT = sre_parse.ASSERT
ASSERT_NOT = sre_parse.ASSERT_NOT
BRANCH = sre_parse.BRANCH
CATEGORY = sre_parse.CATEGORY
IN = sre_parse.IN
LITERAL = sre_parse.LITERAL
NOT_LITERAL = sre_parse.NOT_LITERAL
NEGATE = sre_parse.NEGATE
RANGE = sre_parse.RANGE
SUBPATTERN = sre_parse.SUBPATTERN
MAX_REPEAT = sre_parse.MAX_REPEAT
MIN_REPEAT = sre_parse.MIN_REPEAT
POSSESSIVE_REPEAT = getattr(sre_parse, "POSSESSIVE_REPEAT", None)
CATEGORY_DIGIT = sre_parse.CATEGORY_DIGIT
CATEGORY_NOT_DIGIT = sre_parse.CATEGORY_NOT_DIGIT
CATEGORY_SPACE = sre_parse.CATEGORY_SPACE
CATEGORY_NOT_SPACE = sre_parse.CATEGORY_NOT_SPACE
CATEGORY_WORD = sre_parse.CATEGORY_WORD
CATEGORY_NOT_WORD = sre_parse.CATEGORY_NOT_WORD


def parse(pattern: str) -> Any:
    """The parse tree of ``pattern``: a sequence of ``(opcode, argument)`` pairs.

    Raises
    ------
    re.error, ValueError, OverflowError
        If Python's parser cannot read the pattern.
    """
    return sre_parse.parse(pattern)
