"""The catalogue's literals: which texts hold which, in one scan, and the regex that picks candidate lines.

Every signature has prefilter literals, of which each of its matches holds
one. :class:`LiteralIndex` finds all of them in a chunk's texts at once, and
:func:`literal_marker` joins them into one regex that the columnar engine runs
over every line, so that Python sees only the lines that may match.
"""

from __future__ import annotations

import re

import ahocorasick_rs
import numpy as np

from ..models import Signature
from ..regex.prefilter import marker_regex

#: A regex that matches no line: the marker of a format no signature applies to.
NEVER = r"[^\s\S]"

#: What JSON encoders escape (and some also ``/ < > &`` and non-ASCII): a raw JSON line holds a literal with
#: these only escaped.
_JSON_ESCAPED = re.compile(r'["\\/<>&]|[^\x20-\x7e]')


def _json_safe(literal: str | None) -> str | None:
    """The longest part of ``literal`` that JSON encoders write as it is (``None`` if none)."""
    if literal is None:
        return None
    return max(_JSON_ESCAPED.split(literal), key=len) or None


def literal_marker(exact: list[str], folded: list[str], *, raw_json: bool) -> str | None:
    """One regex of literals, the ``folded`` ones (lower case) in any case; :data:`NEVER` for none.

    With ``raw_json`` each literal is cut to the part JSON encoders leave as
    it is; ``None`` when a literal has no such part (every line is then a
    candidate).
    """
    if raw_json:
        safe = [[_json_safe(literal) for literal in literals] for literals in (exact, folded)]
        if any(literal is None for literals in safe for literal in literals):
            return None
        exact, folded = ([str(literal) for literal in literals] for literals in safe)
    exact_regex, folded_regex = marker_regex(exact), marker_regex(folded)
    parts = ([exact_regex] if exact_regex else []) + ([f"(?i:{folded_regex})"] if folded_regex else [])
    return "|".join(parts) or NEVER


def folds_case(signature: Signature) -> bool:
    """Whether ``signature`` is matched in any case (a phrase or a keyword: its literals are lower case)."""
    return signature.tier != "signature"


class LiteralIndex:
    """The prefilter literals of a catalogue as two Aho-Corasick automata: exact, and in lower case.

    A signature is tried only on texts that hold one of its literals. Asking
    Python whether each of ~2,000 literals occurs in the texts cost a second a
    chunk; one scan of the automaton over all texts finds every literal at once
    (25 ms for 25,000 lines), and which texts hold each.
    """

    def __init__(self, exact: list[str], folded: list[str]) -> None:
        self.exact = list(dict.fromkeys(exact))
        self.folded = list(dict.fromkeys(folded))
        self._automata = {False: _automaton(self.exact), True: _automaton(self.folded)}
        self.known = {False: set(self.exact), True: set(self.folded)}

    def prefilters(self, signature: Signature) -> bool:
        """Whether the index alone tells the texts ``signature`` may match: it has literals, all of them known."""
        known = self.known[folds_case(signature)]
        return bool(signature.prefilter) and all(literal in known for literal in signature.prefilter)

    def rows(self, joined: str, starts: np.ndarray, *, fold: bool) -> dict[str, np.ndarray]:
        """For each literal found in ``joined`` (texts joined by newlines, beginning at ``starts``), its texts."""
        automaton = self._automata[fold]
        if automaton is None:
            return {}
        matches = np.asarray(automaton.find_matches_as_indexes(joined, overlapping=True), dtype=np.int64)
        if len(matches) == 0:
            return {}
        rows = np.searchsorted(starts, matches[:, 1], side="right") - 1
        names = self.folded if fold else self.exact
        # Each (literal, row) pair as one number: a 1-D unique sorts ten times faster than unique rows of pairs.
        width = np.int64(len(starts))
        keys = np.unique(matches[:, 0] * width + rows)
        literals, found_rows = np.divmod(keys, width)
        cut = np.flatnonzero(np.diff(literals)) + 1
        return {names[int(group[0])]: group_rows
                for group, group_rows in zip(np.split(literals, cut), np.split(found_rows, cut), strict=True)}


def _automaton(literals: list[str]) -> ahocorasick_rs.AhoCorasick | None:
    return ahocorasick_rs.AhoCorasick(literals, matchkind=ahocorasick_rs.MatchKind.Standard) if literals else None
