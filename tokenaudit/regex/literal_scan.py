"""Which texts of an Arrow array hold one of many literals: one Aho-Corasick scan over Arrow's own bytes.

A marker (:func:`tokenaudit.regex.prefilter.search_marker`) is mostly an
alternation of some 1,700 literals. RE2 runs such an alternation as a DFA
within a memory budget, so the marker is cut into parts of 300 and each part
scans every line again: the time grows with the catalogue. An Aho-Corasick
automaton finds every literal in one pass whatever their number, and
``ahocorasick_rs`` releases the GIL while it scans. It reads the array's data
buffer in place (no copy, no Python string per line); a match is assigned to
its line through the offsets buffer, in numpy.

Examples
--------
>>> import pyarrow as pa
>>> scan = LiteralScan(["token expired"], ["invalid audience"])
>>> scan.holding(pa.array(["ERROR token expired", "INVALID Audience", "ok", None])).tolist()
[True, True, False, False]
"""

from __future__ import annotations

from collections.abc import Sequence

import ahocorasick_rs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: The Arrow string types whose buffers are read in place, with the width of their offsets.
_OFFSETS = {pa.string(): np.int32, pa.large_string(): np.int64}


class LiteralScan:
    """Literals looked for as written (``exact``) and in any case (``folded``, given in lower case).

    A folded literal is found in the text with its ASCII letters lowered
    (``ascii_lower``, ten times cheaper than ``utf8_lower``). On ASCII text
    that is exactly a case-insensitive search; a text with other characters
    may fold differently (RE2 takes the long s ``ſ`` for ``s`` and the Kelvin
    sign for ``k``), so :meth:`undecided` says which texts the folded literals
    cannot decide, and the caller asks the regex about those.
    """

    def __init__(self, exact: Sequence[str], folded: Sequence[str]) -> None:
        self._exact = _automaton(exact)
        self._folded = _automaton(folded)

    def holding(self, texts: pa.Array) -> np.ndarray:
        """Whether each text holds a literal (``False`` for a null text).

        Folded literals are looked for in the texts lowered; a text that is
        not ASCII counts only where an exact literal was found in it (see
        :meth:`undecided`).
        """
        return self.scan(texts)[0]

    def undecided(self, texts: pa.Array) -> np.ndarray:
        """The texts the folded literals cannot decide: those with a character that is not ASCII."""
        if self._folded is None:
            return np.zeros(len(texts), dtype=bool)
        ascii_only = pc.fill_null(pc.string_is_ascii(_plain_strings(texts)), True)
        flags: np.ndarray = ~np.asarray(ascii_only.to_numpy(zero_copy_only=False), dtype=bool)
        return flags

    def scan(self, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`holding` and :meth:`undecided` of ``texts``, each found once."""
        texts = _plain_strings(texts)
        found = np.zeros(len(texts), dtype=bool)
        undecided = self.undecided(texts)
        if self._exact is not None:
            found |= _rows_holding(self._exact, texts)
        if self._folded is not None:
            found |= _rows_holding(self._folded, pc.ascii_lower(texts)) & ~undecided
        return found, undecided


def _plain_strings(texts: pa.Array) -> pa.Array:
    """``texts`` as ``string`` or ``large_string`` (a string view is cast), whose buffers the scan reads."""
    return texts if texts.type in _OFFSETS else texts.cast(pa.large_string())


def _automaton(literals: Sequence[str]) -> ahocorasick_rs.BytesAhoCorasick | None:
    unique = sorted({literal.encode() for literal in literals if literal})
    if not unique:
        return None
    return ahocorasick_rs.BytesAhoCorasick(unique, implementation=ahocorasick_rs.Implementation.DFA)


def _rows_holding(automaton: ahocorasick_rs.BytesAhoCorasick, texts: pa.Array) -> np.ndarray:
    """Whether each text holds a match of ``automaton``, from one scan of the array's data buffer.

    The texts lie end to end in the buffer, so a match may run from one text
    into the next. Non-overlapping matches go on after a match's end: one
    that crosses a boundary may hide others inside the texts it touches.
    Those few texts are scanned again, each on its own.
    """
    n = len(texts)
    found = np.zeros(n, dtype=bool)
    width = _OFFSETS[texts.type]
    buffers = texts.buffers()
    if n == 0 or buffers[2] is None:
        return found
    offsets = np.frombuffer(buffers[1], dtype=width)[texts.offset: texts.offset + n + 1].astype(np.int64)
    data = memoryview(buffers[2]).cast("B")[offsets[0]: offsets[-1]]  # the texts' bytes, in place
    matches = np.asarray(automaton.find_matches_as_indexes(data), dtype=np.int64).reshape(-1, 3)
    starts, ends = matches[:, 1] + offsets[0], matches[:, 2] + offsets[0]
    rows = np.searchsorted(offsets, starts, side="right") - 1
    inside = ends <= offsets[rows + 1]
    found[rows[inside]] = True
    crossing = [np.arange(first, last + 1) for first, last in
                zip(rows[~inside], np.searchsorted(offsets, ends[~inside], side="left") - 1, strict=True)]
    if crossing:
        _one_by_one(automaton, texts, np.unique(np.concatenate(crossing)), found)
    found &= np.asarray(texts.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return found


def _one_by_one(automaton: ahocorasick_rs.BytesAhoCorasick, texts: pa.Array, rows: np.ndarray,
                found: np.ndarray) -> np.ndarray:
    """Scan the texts at ``rows`` one at a time (those a match that crosses a boundary touched)."""
    for row in rows.tolist():
        text = texts[row].as_py()
        if text and automaton.find_matches_as_indexes(text.encode()):
            found[row] = True
    return found
