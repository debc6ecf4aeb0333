"""The private parser tokenaudit reads is still the one it was checked against."""

from __future__ import annotations

import sys

from tokenaudit.regex import syntax as syntax


def test_running_python_is_one_whose_parser_was_checked() -> None:
    """A new Python fails here until someone has run the suite on it and added it to CHECKED_PYTHONS."""
    assert sys.version_info[:2] in syntax.CHECKED_PYTHONS, (
        f"re._parser of Python {sys.version_info[0]}.{sys.version_info[1]} was never checked: run the suite, "
        "then add the version to tokenaudit.regex.syntax.CHECKED_PYTHONS"
    )


def test_the_tree_shapes_the_lint_and_prefilter_read() -> None:
    tree = list(syntax.parse(r"^a(?P<x>b|cd)+[^,;]*\d{2,}$"))
    ops = [op for op, _ in tree]
    assert ops == [syntax.AT, syntax.LITERAL, syntax.MAX_REPEAT, syntax.MAX_REPEAT, syntax.MAX_REPEAT, syntax.AT]
    low, high, body = tree[2][1]
    assert (low, high) == (1, syntax.MAXREPEAT)
    (subpattern, (group, _add, _del, inner)), = list(body)
    assert subpattern is syntax.SUBPATTERN and group == 1
    (branch, (_, alternatives)), = list(inner)
    assert branch is syntax.BRANCH and [[op for op, _ in alt] for alt in alternatives] == [
        [syntax.LITERAL], [syntax.LITERAL, syntax.LITERAL]]
    (negated_set,) = list(tree[3][1][2])
    assert negated_set[0] is syntax.IN and negated_set[1][0] == (syntax.NEGATE, None)
    (digit,) = list(tree[4][1][2])
    assert digit == (syntax.IN, [(syntax.CATEGORY, syntax.CATEGORY_DIGIT)])
    assert list(syntax.parse("(?=x)"))[0][0] is syntax.ASSERT
    assert list(syntax.parse("(?!x)"))[0][0] is syntax.ASSERT_NOT
