"""The literal scan finds exactly what RE2 finds, whatever the array's layout."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tokenaudit.catalogue.loading import load_catalogue
from tokenaudit.regex.literal_scan import LiteralScan
from tokenaudit.regex.prefilter import search_marker

MARKER = r"token expired|kid|a\(b\)|(?i:invalid audience|jwt)|eyJ[A-Za-z0-9_-]{10,}"


def _re2(texts: pa.Array, regex: str) -> list[bool | None]:
    found: list[bool | None] = pc.match_substring_regex(texts, regex).to_pylist()
    return found


def test_a_match_that_runs_from_one_text_into_the_next_is_not_counted_nor_hides_one() -> None:
    texts = pa.array(["xx tok", "en expired", "kidnap", "tokentoken expired"])
    scan = LiteralScan(["token expired", "en expired", "kid"], [])
    assert scan.holding(texts).tolist() == [False, True, True, True]


def test_a_text_that_is_not_ascii_is_left_to_the_regex_for_folded_literals() -> None:
    texts = pa.array(["INVALID AUDIENCE", "invalid audience ü", "ſtate"])
    scan = LiteralScan([], ["invalid audience", "state"])
    assert scan.holding(texts).tolist() == [True, False, False]
    assert scan.undecided(texts).tolist() == [False, True, True]


@pytest.mark.parametrize("texts", [
    pa.array(["ERROR token expired", None, "a(b)", "JWT x", "x kid", "nothing", "", "Invalid Audience"]),
    pa.array(["pad", "ERROR token expired", "JWT", "zz"])[1:3],  # a slice: offsets do not start at 0
    pa.array(["ERROR token expired", "ſ jwt", "K invalid audience", "\u212a"], pa.large_string()),
    pa.array([], pa.string()),
    pa.array([None, None], pa.string()),
])
def test_search_marker_equals_re2(texts: pa.Array) -> None:
    assert search_marker(texts, MARKER).to_pylist() == _re2(texts, MARKER)


def test_search_marker_equals_re2_on_a_chunked_array() -> None:
    texts = pa.chunked_array([pa.array(["token expired", None]), pa.array(["JWT", "none"])])
    assert search_marker(texts, MARKER).to_pylist() == [True, None, True, False]


def test_search_marker_equals_re2_on_random_texts_with_the_catalogues_marker() -> None:
    catalogue = load_catalogue()
    marker = catalogue.marker("syslog_rfc3164", generic_search=True)
    assert marker is not None
    literals = [s.samples[0].message for s in catalogue.signatures[::7] if s.samples]
    rng = random.Random(7)
    words = ["ok", "Token", "JWT", "ſtate", "kid", "\u212aey", "ü", "error:", "AUDIENCE", "auth"]
    texts = []
    for _ in range(3000):
        pieces = rng.choices(words, k=rng.randint(0, 6))
        if rng.random() < 0.3:
            literal = rng.choice(literals)
            cut = rng.randint(0, len(literal))
            pieces.insert(rng.randint(0, len(pieces)), literal[cut:] if rng.random() < 0.5 else literal[:cut])
        texts.append(None if rng.random() < 0.02 else " ".join(pieces))
    array = pa.array(texts)
    ours = search_marker(array, marker).to_pylist()
    assert ours == _re2(array, marker)
    assert 100 < sum(bool(x) for x in ours) < 2900  # both kinds of text were made


def test_the_scan_reads_the_arrays_bytes_in_place() -> None:
    texts = pa.array(["token expired"] * 1000)
    scan = LiteralScan(["token expired"], [])
    assert np.all(scan.holding(texts))


def test_a_string_view_array_is_read_as_large_strings() -> None:
    texts = pa.array(["x kid", "y", None], pa.string_view())
    assert LiteralScan(["kid"], ["Y"]).holding(texts).tolist() == [True, False, False]
    assert LiteralScan(["kid"], ["y"]).holding(texts).tolist() == [True, True, False]
