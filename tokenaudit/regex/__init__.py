"""Regular-expression tools: the parser tokenaudit reads, the backtracking lint, literal prefilters.

Modules: ``lint``, ``prefilter``, ``syntax``. The names below are what the other stages use; each is
imported on first use (:mod:`tokenaudit._lazy`).
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .lint import BACKTRACKING_HINT, can_match_space, lint_pattern, starts_with_wildcard, validate_regex
    from .prefilter import escape, marker_regex, required_literals

__getattr__, __dir__ = attach(__name__, __file__, globals())

__all__ = [
    "BACKTRACKING_HINT",
    "can_match_space",
    "escape",
    "lint_pattern",
    "marker_regex",
    "required_literals",
    "starts_with_wildcard",
    "validate_regex",
]
