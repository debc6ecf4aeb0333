"""Word classes: a verdict's words written once and named in keyword patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenaudit import why
from tokenaudit.catalogue.loading import read_keyword_file
from tokenaudit.catalogue.word_classes import expand_word_classes, read_word_classes
from tokenaudit.errors import CatalogueError

KEYWORD = """
[[keyword]]
id = "keyword.issuer_refused"
cause = "issuer_mismatch"
title = "t"
pattern = '''issuer\\b[^\\n]{{0,20}}?\\b{verdict}'''
source = "s"
  [[keyword.sample]]
  message = "ERROR the issuer is bogus"
  software = "a"
"""


def _file(tmp_path: Path, words: str, verdict: str = "<BAD>") -> Path:
    path = tmp_path / "keywords.toml"
    path.write_text(f'family = "keyword"\nsource = "x"\n{words}\n{KEYWORD.format(verdict=verdict)}')
    return path


def test_a_class_stands_for_its_words_as_one_group() -> None:
    assert expand_word_classes("aud <BAD>|<BAD> aud", {"BAD": "invalid|wrong"}) == \
        "aud (?:invalid|wrong)|(?:invalid|wrong) aud"


def test_a_named_group_is_not_taken_for_a_class() -> None:
    assert expand_word_classes("(?P<issuer>x) <BAD>", {"BAD": "y"}) == "(?P<issuer>x) (?:y)"


def test_a_keyword_file_spells_its_classes_into_each_pattern(tmp_path: Path) -> None:
    words = "[words.BAD]\npattern = '''bogus|wrong'''\nsource = \"where the words come from\""
    [keyword] = read_keyword_file(_file(tmp_path, words))
    assert "(?:bogus|wrong)" in keyword.pattern
    assert keyword.prefilter == ("issuer",)


@pytest.mark.parametrize(("words", "verdict", "says"), [
    ("", "<BAD>", "does not define"),
    ("[words.BAD]\npattern = 'a|<OTHER>'\nsource = 's'", "<BAD>", "classes do not nest"),
    ("[words.BAD]\npattern = 'a('\nsource = 's'", "<BAD>", "not a usable regex"),
    ("[words.bad]\npattern = 'a'\nsource = 's'", "x", "named in capitals"),
    ("[words.BAD]\npattern = 'a'", "<BAD>", "source"),
])
def test_a_broken_class_is_refused_with_the_reason(tmp_path: Path, words: str, verdict: str, says: str) -> None:
    with pytest.raises(CatalogueError) as caught:
        read_keyword_file(_file(tmp_path, words, verdict))
    assert says in str(caught.value) + str(caught.value.hint or "")


def test_an_unknown_class_names_the_known_ones() -> None:
    with pytest.raises(CatalogueError) as caught:
        expand_word_classes("<NOPE>", {"BAD": "x", "GOOD": "y"})
    assert caught.value.hint is not None and "BAD, GOOD" in caught.value.hint


def test_read_word_classes_wants_a_table(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="table of word classes"):
        read_word_classes(["not", "a", "table"], tmp_path / "k.toml")


@pytest.mark.parametrize(("message", "keyword"), [
    ("Error: the token audience is incorrect", "keyword.audience_rejected"),
    ("ERROR token was issued for a different audience", "keyword.audience_rejected"),
    ("ERROR login: the provider uses another issuer than expected", "keyword.issuer_rejected"),
    ("ERROR refused: azp is incorrect", "keyword.azp_rejected"),
])
def test_the_shared_verdicts_serve_every_claim(message: str, keyword: str) -> None:
    """A verdict written once for all claims: each claim is refused in each of its words."""
    [answer] = why(message)
    assert answer.signature == keyword
