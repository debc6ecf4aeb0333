"""Loading the catalogue: schema checks, anchoring, the keyword rules, and the cache."""


from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tokenaudit.catalogue.loading import load_catalogue, read_keyword_file, read_phrase_file, read_signature_file
from tokenaudit.catalogue.matching import confidence_of
from tokenaudit.common.files import STALE_CACHE_SECONDS
from tokenaudit.errors import CatalogueError

HEAD = 'family = "bad"\nsource = "test"\n'


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('[[signature]]\nid = "bad.x"\ntitle = "t"\ncause = "expired"\npattern = "^(a$"\n', "does not compile"),
        ('[[signature]]\nid = "bad.x"\ntitle = "t"\ncause = "expired"\npattern = "^a$"\ncolour = 1\n', "unknown key"),
        ('[[signature]]\nid = "other.x"\ntitle = "t"\ncause = "expired"\npattern = "^a$"\n', "<family>.<snake_case>"),
        ('[[signature]]\nid = "bad.x"\ntitle = "t"\ncause = "expired"\npattern = "^(?P<bogus>a)$"\n', "unknown field"),
        ('[[signature]]\nid = "bad.x"\ntitle = "t"\ncause = "expired"\npattern = "^(?P<kid>a)$"\nfields = ["alg"]\n',
         "differ from the pattern"),
        ('[[signature]]\nid = "bad.x"\ntitle = "t"\npattern = "^a$"\n', "needs `cause`"),
        ('[[signature]]\nid = "bad.x"\ntitle = "t"\nkind = "envelope"\npattern = "^a$"\n', "capture `detail`"),
        ("[[signature]\n", "not valid TOML"),
        ('[[signature]]\nid = "bad.x"\ntitle = "t"\ncause = "expired"\npattern = "^a$"\ncoarse = true\n',
         "only a search signature is coarse"),
    ],
)
def test_broken_signature_files_are_refused_with_the_reason(tmp_path: Path, body: str, says: str) -> None:
    with pytest.raises(CatalogueError, match=says.replace("(", r"\(").replace(".", r"\.")) as info:
        read_signature_file(write(tmp_path, body))
    assert "bad.toml" in str(info.value)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "openidconnect.toml"
    path.write_text('family = "openidconnect"\nsource = "t"\n[[signature]]\nid = "openidconnect.expired"\n'
                    'title = "t"\ncause = "expired"\npattern = "^a$"\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match="defined twice"):
        load_catalogue([path])


def test_loading_refuses_an_unanchored_pattern(tmp_path: Path) -> None:
    path = write(tmp_path, '[[signature]]\nid = "bad.x"\ntitle = "t"\ncause = "expired"\npattern = "Token '
                           '(?P<kid>\\\\w+) expired"\n'
                           '[[signature.sample]]\nmessage = "Token abc expired"\n')
    with pytest.raises(CatalogueError, match="start with \\^") as caught:
        load_catalogue([path])
    assert caught.value.hint and "wrappers" in caught.value.hint


@pytest.mark.parametrize(("pattern", "loads"), [
    (r"(?P<detail>[\\w.-]{1,100}) does not have access to offline_access scope anymore", True),
    (r"(?:Client )?(?P<detail>[\\w.-]{1,100}) tries to refresh token belonging to", True),
    (r"(?P<detail>[^:]{1,100}) does not have access to offline_access scope anymore", False),  # a word holds no space
    (r"(?P<detail>[\\w.-]{1,100}) is invalid", False),  # too little text of the software's own after the word
    (r"[\\w.-]{1,100} does not have access to offline_access scope anymore", False),  # the subject is not captured
])
def test_a_search_pattern_may_begin_with_one_captured_word(tmp_path: Path, pattern: str, loads: bool) -> None:
    """IdentityServer logs '{clientId} does not have access …': one word, then fixed text of its own."""
    path = write(tmp_path, '[[signature]]\nid = "bad.x"\ntitle = "t"\ncause = "config_error"\nsearch = true\n'
                           f'pattern = "{pattern}"\n[[signature.sample]]\nmessage = "mvc x"\nmatch = false\n')
    if loads:
        assert load_catalogue([path]).by_id["bad.x"].search
    else:
        with pytest.raises(CatalogueError, match="must begin with fixed text"):
            load_catalogue([path])


def test_builtin_catalogue_is_cached_and_a_damaged_cache_is_rebuilt(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tokenaudit.catalogue import loading as module

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "tokenaudit").mkdir()
    unused = tmp_path / "tokenaudit" / "catalogue-of-a-version-unused-for-long.json"
    in_use = tmp_path / "tokenaudit" / "catalogue-of-another-install.json"
    for other in (unused, in_use):
        other.write_text("[]", encoding="utf-8")
    long_ago = time.time() - STALE_CACHE_SECONDS - 60
    os.utime(unused, (long_ago, long_ago))
    fresh = module._builtin_catalogue.__wrapped__()
    assert not unused.exists() and in_use.exists()
    cached_files = [p for p in (tmp_path / "tokenaudit").glob("catalogue-*.json") if p != in_use]
    assert len(cached_files) == 1
    assert oct(cached_files[0].stat().st_mode & 0o777) == "0o600"
    again = module._builtin_catalogue.__wrapped__()
    assert again.fingerprint == fresh.fingerprint and again.signatures == fresh.signatures
    cached_files[0].write_text('[{"id": "broken"}]', encoding="utf-8")
    rebuilt = module._builtin_catalogue.__wrapped__()
    assert rebuilt.signatures == fresh.signatures
    assert json.loads(cached_files[0].read_text(encoding="utf-8"))[0]["id"] == fresh.signatures[0].id


def test_keywords_are_read_with_the_phrase_rules() -> None:
    keywords = load_catalogue().keywords("generic_text")
    assert len(keywords) >= 4
    assert all(k.id.startswith("keyword.") and k.family == "keyword" and k.software == "" for k in keywords)
    assert all(k.prefilter and all(literal == literal.lower() for literal in k.prefilter) for k in keywords)
    assert all(confidence_of(k, "within") == "low" for k in keywords)

def _keyword_file(tmp_path: Path, keyword_id: str, pattern: str) -> Path:
    path = tmp_path / "keywords.toml"
    path.write_text(f"""family = "keyword"
source = "x"
[[keyword]]
id = "{keyword_id}"
cause = "issuer_mismatch"
title = "t"
pattern = '{pattern}'
source = "s"
  [[keyword.sample]]
  message = "ERROR issuer https://a is invalid"
""")
    return path


@pytest.mark.parametrize(("keyword_id", "pattern", "problem"), [
    ("phrase.wrong", "issuer is invalid", "keyword.<snake_case>"),
    ("keyword.issuer", r"issuer (?P<found_issuer>\S+) is invalid", "captures no value"),
    ("keyword.issuer", r"(?:is|a)\b", "no literal that every match holds"),
    ("keyword.issuer", "Issuer is invalid", "not lower case"),  # looked for in folded text: never tried
])
def test_a_keyword_file_that_breaks_a_rule_is_refused(tmp_path: Path, keyword_id: str, pattern: str,
                                                     problem: str) -> None:
    with pytest.raises(CatalogueError, match=re.escape(problem)):
        read_keyword_file(_keyword_file(tmp_path, keyword_id, pattern))


def _phrase_file(tmp_path: Path, lead: str, extra: str = "") -> Path:
    path = tmp_path / "phrases.toml"
    path.write_text(f"""family = "phrase"
source = "x"
[lead]
pattern = '{lead}'
source = "s"
sample = [{{ message = "OIDC token expired", match = true }}]
[[phrase]]
id = "phrase.token_expired"
cause = "expired"
title = "t"
pattern = 'token expired'
source = "s"
{extra}
  [[phrase.sample]]
  message = "token expired"
""")
    return path


def test_the_lead_of_a_phrase_file_stands_before_every_phrase(tmp_path: Path) -> None:
    [phrase] = read_phrase_file(_phrase_file(tmp_path, "(?:oidc|oauth) "))
    texts = pa.array(["OIDC token expired", "OAuth OIDC token expired", "my token expired", "token expired",
                      "OAuth OIDC OAuth token expired", "OAuth OIDC OAuth OIDC token expired"])
    assert pc.match_substring_regex(texts, f"^(?:{phrase.pattern})").to_pylist() == [True, True, False, True, True,
                                                                                     False]
    assert phrase.prefilter == ("token expired",)


@pytest.mark.parametrize("lead", ["(?:OIDC) ", "(?:oidc)", "(?:oidc "])
def test_a_lead_that_breaks_a_rule_is_refused(tmp_path: Path, lead: str) -> None:
    with pytest.raises(CatalogueError, match="lead"):
        read_phrase_file(_phrase_file(tmp_path, lead))


def test_a_phrase_may_be_coarse_and_a_keyword_may_not(tmp_path: Path) -> None:
    [phrase] = read_phrase_file(_phrase_file(tmp_path, "(?:oidc) ", extra="coarse = true"))
    assert phrase.coarse
    path = _keyword_file(tmp_path, "keyword.issuer", "issuer is invalid")
    path.write_text(path.read_text().replace('cause = "issuer_mismatch"', 'cause = "issuer_mismatch"\ncoarse = true'))
    with pytest.raises(CatalogueError, match="a keyword is never coarse"):
        read_keyword_file(path)
