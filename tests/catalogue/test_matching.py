"""Matching messages: envelopes, signatures at a start or a clause, phrases, keywords, the sample checks."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tokenaudit.catalogue.loading import DATA_DIR, load_catalogue
from tokenaudit.catalogue.matching import match_messages
from tokenaudit.catalogue.order import Catalogue, StepIndex
from tokenaudit.catalogue.samples import check_catalogue
from tokenaudit.catalogue.user_text import MASK, mask_user_text
from tokenaudit.catalogue.wrappers import load_wrappers
from tokenaudit.formats.parsing import detect_format, load_formats
from tokenaudit.pipeline.chunk import ChunkContext, process_chunk
from tokenaudit.regex.prefilter import marker_regex, required_literal

HEAD = 'family = "bad"\nsource = "test"\n'


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def test_a_sample_that_does_not_fire_through_the_matcher_is_a_problem(tmp_path: Path) -> None:
    """The pattern alone matches the quote; the matcher, which reads a message's start and its clauses, does not."""
    path = write(tmp_path, '[[signature]]\nid = "bad.q"\ntitle = "t"\ncause = "expired"\nsearch = true\n'
                           'pattern = "Frobnicated token expired"\n'
                           '[[signature.sample]]\nmessage = "Frobnicated token expired"\n'
                           '[[signature.sample]]\nmessage = "the docs say Frobnicated token expired"\n')
    problems = [str(p) for p in check_catalogue(load_catalogue([path])) if "bad.q" in p.where]
    assert problems == [f"{path}: bad.q[sample1]: read as a line of generic text, it gives no event, not expired"
                        "\n    text: the docs say Frobnicated token expired"]


def test_check_reports_wrong_captures(tmp_path: Path) -> None:
    path = write(tmp_path, '[[signature]]\nid = "bad.x"\ntitle = "t"\ncause = "expired"\npattern = "^Token '
                           '(?P<kid>\\\\w+) expired$"\n'
                           '[[signature.sample]]\nmessage = "Token abc expired"\nexpect = { kid = "zzz" }\n')
    catalogue = load_catalogue([path])
    problems = [str(p) for p in check_catalogue(catalogue) if "bad.x" in p.where]
    assert any("differ from expected" in p for p in problems)


def test_required_literal_comes_from_the_pattern() -> None:
    assert (required_literal(r"^no openid auth state found \(possible timeout\)$")
            == "no openid auth state found (possible timeout)")
    assert required_literal(r"^(?:a|b)$") is None


def test_marker_drops_literals_that_contain_another() -> None:
    assert (marker_regex(["authentication failure; rhost=", "openid authentication failure; rhost="])
            == "authentication failure; rhost=")


def test_envelope_details_only_reach_the_signatures_they_explain() -> None:
    # A password line whose user-chosen name imitates an OpenID error must not become that error.
    fake = ("authentication failure; rhost=1.2.3.4 user=x msg=Failed to verify ID token: "
            "Invalid audiences: `1` is not a trusted audience")
    row = match_messages(pa.array([fake]), load_catalogue(), format_name="syslog_iso",
                         generic_search=True).to_pylist()[0]
    assert row["envelope"] == "proxmox.login_failure"
    assert row["signature"] == "proxmox.login_failure"  # unexplained, not untrusted_audience


def test_search_signatures_do_not_apply_to_access_logs() -> None:
    line = "Invalid audiences: `1` is not a trusted audience"
    row = match_messages(pa.array([line]), load_catalogue(), format_name="pveproxy_access",
                         generic_search=False).to_pylist()[0]
    assert row["signature"] is None


def test_a_format_whose_messages_are_not_searched_still_finds_its_own_software_s_texts_at_their_start() -> None:
    """oauth2-proxy's auth log: its message field is oauth2-proxy's own text, the user's name a field of its own."""
    texts = ["Invalid authentication via OAuth2: CSRF token mismatch, potential attack",
             "Authenticated via OAuth2: Session{email:Invalid authentication via OAuth2: unauthorized}",
             "Invalid audiences: `1` is not a trusted audience"]
    rows = match_messages(pa.array(texts), load_catalogue(), format_name="oauth2_proxy_auth",
                          generic_search=False).to_pylist()
    assert [row["signature"] for row in rows] == ["oauth2_proxy.csrf_mismatch", None, None]


def test_every_sample_of_a_format_s_own_signature_is_found_in_that_format() -> None:
    """A sample written as a full line of the format its signature names is found when the line is read as it."""
    catalogue = load_catalogue()
    formats = load_formats()
    checked, missed = 0, []
    for name, fmt in formats.items():
        for signature in catalogue.native(name):
            for sample in (s for s in signature.samples if s.match):
                if detect_format([sample.message], formats).format is not fmt:
                    continue
                result = process_chunk([sample.message], fmt, catalogue, ChunkContext("<sample>"))
                checked += 1
                if signature.id not in result.events["signature"].to_pylist():
                    missed.append((name, signature.id, sample.message))
    assert checked >= 4
    assert missed == []


def test_a_phrase_is_found_after_the_protocol_s_name_the_lead_allows() -> None:
    """The lead's own samples (``data/phrases.toml [lead]``): found by a phrase only with it, or not at all."""
    lead = tomllib.loads((DATA_DIR / "phrases.toml").read_text(encoding="utf-8"))["lead"]
    texts = [sample["message"] for sample in lead["sample"]]
    rows = match_messages(pa.array(texts), load_catalogue(), format_name="generic_text",
                          generic_search=True).to_pylist()
    assert [row["tier"] == "phrase" for row in rows] == [sample["match"] for sample in lead["sample"]]
    assert sum(sample["match"] for sample in lead["sample"]) >= 2


def test_a_coarse_phrase_yields_to_a_keyword_that_names_the_cause() -> None:
    """A bare OAuth error code names a family of causes; "Client not found" beside ``invalid_client`` names one."""
    catalogue = load_catalogue()
    steps = catalogue.steps("generic_text", generic_search=True)
    tiers = ["coarse" if step.signature.coarse else step.signature.tier for step in steps]
    assert tiers.index("coarse") > max(i for i, tier in enumerate(tiers) if tier == "keyword")
    assert catalogue.by_id["phrase.invalid_grant"].coarse and not catalogue.by_id["phrase.token_expired"].coarse
    texts = ['400 Bad Request: {"error":"invalid_client","error_description":"Client not found"}',
             "ERROR token request refused: invalid_grant"]
    rows = match_messages(pa.array(texts), catalogue, format_name="generic_text", generic_search=True).to_pylist()
    assert [row["signature"] for row in rows] == ["keyword.client_rejected", "phrase.invalid_grant"]


def test_the_description_apple_s_nserror_prints_is_read_as_the_error() -> None:
    """``NSLocalizedDescription=`` holds the error's own text, as ``error=`` does; its user info's other keys do not."""
    texts = ["Error Domain=FIRAuthErrorDomain Code=17021 UserInfo={expiresAt=2025-01-07 10:00:00 +0000, "
             "NSLocalizedDescription=Expired token received from FIRAuth, now=2025-01-07 10:20:00 +0000}",
             "UserInfo={expiresAt=2025-01-07 10:00:00 +0000, note=Expired token received from FIRAuth}"]
    rows = match_messages(pa.array(texts), load_catalogue(), format_name="generic_text",
                          generic_search=True).to_pylist()
    assert [(row["signature"], row["tier"]) for row in rows] == [("phrase.expired_token", "phrase"), (None, None)]


def test_a_response_header_that_names_the_error_is_read_as_the_error() -> None:
    """A debug dump marks the response's headers with ``<``: an ``X-…-Reason-…`` or ``X-…-Error`` header there is
    the server's verdict; the request's (``>``) are the client's, masked before any search."""
    texts = ["< * X-Databricks-Reason-Phrase: JWT has expired",
             "> * X-Databricks-Reason-Phrase: JWT has expired",
             "< * X-Request-Id: JWT has expired"]
    rows = match_messages(pa.array(texts), load_catalogue(), format_name="generic_text", generic_search=True,
                          search_texts=mask_user_text(pa.array(texts))).to_pylist()
    assert [(row["signature"], row["tier"]) for row in rows] == [("phrase.token_expired", "phrase"), (None, None),
                                                                  (None, None)]


def test_a_python_dict_s_repr_carries_its_message_and_error_keys_in_single_quotes() -> None:
    """A Python client that logs a decoded JSON body prints the dict's repr: ``'msg': '…'`` starts the software's
    message as ``"msg": "…"`` does, ``'reason': '…'`` holds an error as ``"reason": "…"`` does; another key's value
    (``'note'``) is neither."""
    texts = ["{'code': 1010, 'msg': 'token is expired', 'success': False, 't': 1639929045868}",
             "{'code': 1010, 'note': 'token is expired', 'success': True}",
             "{'status': 401, 'reason': 'Token is expired'}"]
    rows = match_messages(pa.array(texts), load_catalogue(), format_name="generic_text", generic_search=True,
                          search_texts=mask_user_text(pa.array(texts))).to_pylist()
    assert [row["signature"] for row in rows] == ["phrase.token_expired", None, "phrase.token_expired"]


def test_an_error_code_before_a_dash_is_framing_and_a_dash_separates_clauses_after_a_failure() -> None:
    """``PGRST303 — JWT issued at future``: one word of framing before an em dash, as before ``: ``; after a
    failure cue a spaced en or em dash starts a clause as a spaced hyphen does, and without one it starts none."""
    texts = ["PGRST303 — JWT issued at future", "ERROR sync – token is expired",
             "INFO device paired – token is expired"]
    rows = match_messages(pa.array(texts), load_catalogue(), format_name="generic_text", generic_search=True,
                          search_texts=mask_user_text(pa.array(texts))).to_pylist()
    assert [row["signature"] for row in rows] == ["phrase.issued_in_the_future", "phrase.token_expired", None]


def test_an_exclamation_mark_after_a_failure_starts_a_clause() -> None:
    """A CLI's ``Error! `` (the Vercel and Now CLIs, ``npm ERR! ``) closes its framing as ``: `` does; without a
    failure cue before it, ``! `` starts no clause."""
    texts = ["Error! The specified token is not valid", "ERROR sync! token is expired", "INFO Hello! token is expired"]
    rows = match_messages(pa.array(texts), load_catalogue(), format_name="generic_text", generic_search=True,
                          search_texts=mask_user_text(pa.array(texts))).to_pylist()
    assert [row["signature"] for row in rows] == ["phrase.specified_token_not_valid", "phrase.token_expired", None]


def test_a_colon_padded_with_blanks_starts_a_clause() -> None:
    """CLIs align their output: ``Error:  Code 10000: …`` has two blanks after the colon, as a table cell has."""
    texts = ["Error:  Code 10000: Authentication error", "ERROR sync:   token is expired"]
    rows = match_messages(pa.array(texts), load_catalogue(), format_name="generic_text", generic_search=True,
                          search_texts=mask_user_text(pa.array(texts))).to_pylist()
    assert [row["signature"] for row in rows] == ["cloudflare_api.authentication_error", "phrase.token_expired"]


def test_an_error_key_reports_a_failure_before_a_later_clause_as_a_failure_cue_does() -> None:
    """``reason=`` names an error wherever it stands: a clause after it starts the software's text, as one after
    "failed" does; another key (``note=``) reports nothing, and a clause after it starts no match."""
    texts = ["INFO push: reason=upstream answer: token is expired", "INFO push: note=upstream answer: token is expired",
             "{'kind': 'Status', 'reason': 'Upstream, token is expired'}"]
    rows = match_messages(pa.array(texts), load_catalogue(), format_name="generic_text", generic_search=True,
                          search_texts=mask_user_text(pa.array(texts))).to_pylist()
    assert [row["signature"] for row in rows] == ["phrase.token_expired", None, "phrase.token_expired"]


def test_a_compose_service_prefix_starts_the_container_s_message() -> None:
    """docker compose writes ``service  | `` before each line of a container; two blanks at least before the bar,
    so that an application's own ``INFO | …`` field is no such prefix."""
    texts = ["steamoidc    | '.AspNetCore.Correlation.Steam.Ab12' cookie not found.",
             "web_1  | Correlation failed.",
             "web | Correlation failed."]
    rows = match_messages(pa.array(texts), load_catalogue(), format_name="generic_text",
                          generic_search=True).to_pylist()
    assert [row["signature"] for row in rows] == ["aspnetcore.correlation_cookie_missing",
                                                  "aspnetcore.correlation_failed", None]


def test_the_compose_prefix_is_one_pattern_for_the_wrapper_and_the_continuations() -> None:
    """The wrapper starts a message after docker compose's prefix; generic_text reads past the same prefix to join a
    continuation: one pattern, written in two data files that must not drift apart."""
    [wrapper] = [w for w in load_wrappers() if w.id == "compose_service"]
    assert load_formats()["generic_text"].continuation_prefix == wrapper.pattern


def test_a_coarse_signature_yields_to_what_its_description_names() -> None:
    """python-social-auth's catch-all ``AuthFailed: Authentication failed: <description>`` is tried after the keywords:
    a description that names the cause (a refused connection to the IdP) wins; a bare code is still the signature's."""
    catalogue = load_catalogue()
    assert catalogue.by_id["python_social_auth.provider_error"].coarse
    texts = ["AuthFailed: Authentication failed: HTTPSConnectionPool(host='sso.example.com', port=443): Max retries "
             "exceeded with url: /token (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at "
             "0x7f>: Failed to establish a new connection: [Errno 111] Connection refused'))",
             "social_core.exceptions.AuthFailed: Authentication failed: invalid_client"]
    rows = match_messages(pa.array(texts), catalogue, format_name="generic_text", generic_search=True).to_pylist()
    assert [row["signature"] for row in rows] == ["phrase.idp_endpoint_unreachable_python",
                                                  "python_social_auth.provider_error"]


def test_check_reports_a_sample_another_signature_also_matches(tmp_path: Path) -> None:
    path = write(tmp_path, '[[signature]]\nid = "bad.aud"\ntitle = "t"\ncause = "client_id_missing"\nsearch = true\n'
                           "pattern = '''is not a trusted audience'''\n"
                           '[[signature.sample]]\nmessage = "Invalid audiences: `1` is not a trusted audience"\n')
    problems = [str(p) for p in check_catalogue(load_catalogue([path]))]
    assert any("bad.aud[sample0]: also matched by openidconnect.untrusted_audience" in p for p in problems)
    assert any("openidconnect.untrusted_audience[sample0]: also matched by bad.aud" in p for p in problems)


def search_signature(signature_id: str, cause: str, pattern: str, sample: str, *, coarse: bool = False) -> str:
    """The TOML of one ``search`` signature with one positive sample."""
    return (f'[[signature]]\nid = "{signature_id}"\ntitle = "t"\ncause = "{cause}"\nsearch = true\n'
            + ("coarse = true\n" if coarse else "")
            + f"pattern = '{pattern}'\n[[signature.sample]]\nmessage = \"{sample}\"\n")


def test_a_family_s_general_text_may_follow_its_specific_one_but_not_precede_it(tmp_path: Path) -> None:
    """Within a family, order decides, as for phrases: the specific text stands first and is tried first."""
    specific = search_signature("bad.refused_timeout", "idp_unreachable", "Handshake with the IdP failed: ETIMEDOUT",
                                "Handshake with the IdP failed: ETIMEDOUT")
    general = search_signature("bad.refused", "credentials_invalid", "Handshake with the IdP failed",
                               "Handshake with the IdP failed: 401")
    in_order = [str(p) for p in check_catalogue(load_catalogue([write(tmp_path, specific + general)]))]
    assert not [p for p in in_order if "bad." in p]
    reversed_order = [str(p) for p in check_catalogue(load_catalogue([write(tmp_path, general + specific)]))]
    assert any("bad.refused_timeout[sample0]: also matched by bad.refused" in p for p in reversed_order)


def test_a_catch_all_text_may_match_another_s_sample(tmp_path: Path) -> None:
    """A ``coarse`` entry is tried after every other: its overlap with a precise text is no problem, the precise wins.

    (Without ``coarse`` the overlap is one: test_check_reports_a_sample_another_signature_also_matches.)
    """
    catch_all = search_signature("bad.body", "config_error", "Token request refused by the IdP: ",
                                 "Token request refused by the IdP: code 17", coarse=True)
    precise = search_signature("bad.secret", "credentials_invalid",
                               "Token request refused by the IdP: frobnicated client secret",
                               "Token request refused by the IdP: frobnicated client secret")
    catalogue = load_catalogue([write(tmp_path, catch_all + precise)])
    assert not [p for p in map(str, check_catalogue(catalogue)) if "bad." in p]
    rows = match_messages(pa.array(["Token request refused by the IdP: frobnicated client secret"]), catalogue,
                          format_name="generic_text", generic_search=True).to_pylist()
    assert rows[0]["signature"] == "bad.secret"


def test_search_signatures_match_a_mixed_batch_as_the_full_pattern_does() -> None:
    """Bare texts run the pattern alone, wrapped ones with the wrappers: together, the full pattern's answer."""
    import numpy as np

    from tokenaudit.catalogue import matching as module
    from tokenaudit.catalogue.wrappers import load_wrappers

    wrappers = load_wrappers()
    checked = 0
    catalogue = load_catalogue()
    for signature in catalogue.signatures:
        if not signature.search:
            continue
        messages = [sample.message for sample in signature.samples]
        texts = [*messages, *(f"{wrapper.samples[0]}{message}" for wrapper in wrappers[:4] for message in messages)]
        texts.reverse()  # wrapped texts first: hits must come back in position order anyway
        array = pa.array(texts, pa.string())
        plain = module._Plain(array, catalogue.literals)
        hits, captures = module._match(array, np.arange(len(texts)), signature, plain, "start")
        full = module.anchored_pattern(signature.pattern, True)
        if signature.fields:
            expected = pc.extract_regex(array, full)
            matched = np.flatnonzero(expected.is_valid().to_numpy(zero_copy_only=False))
            for name in signature.fields:
                want = [expected.field(name)[int(i)].as_py() for i in matched]
                assert captures[name].tolist() == want, (signature.id, name)
        else:
            matched = np.flatnonzero(pc.match_substring_regex(array, full).to_numpy(zero_copy_only=False))
        assert hits.tolist() == matched.tolist(), signature.id
        checked += len(matched) > len(messages)  # some wrapped texts matched too
    assert checked > 20


# --- tier 2: phrases ------------------------------------------------------------


def test_phrases_follow_the_signatures_and_name_no_software() -> None:
    catalogue = load_catalogue()
    tiers = [s.tier for s in catalogue.signatures]
    assert "phrase" in tiers
    order = {"signature": 0, "phrase": 1, "keyword": 2}
    assert tiers == sorted(tiers, key=order.__getitem__)  # signatures, then phrases, then keywords
    phrases = [s for s in catalogue.signatures if s.tier == "phrase"]
    assert all(p.software == "" and p.search and p.family == "phrase" for p in phrases)
    assert all(p.pattern.startswith("(?i:") for p in phrases)


#: The logger headers of data/wrappers.toml: what a logging library writes before every message.
LOGGER_HEADERS = ("python_basic_format", "uvicorn_level", "python_dashes", "dotnet_console", "serilog_short",
                  "env_logger", "spring_boot", "logback_default", "jboss_log", "monolog", "ruby_logger", "gunicorn",
                  "tab_separated", "envoy_log", "tornado_log", "elasticsearch_log", "log4j_location", "level_logger",
                  "bracketed_fields", "pipe_separated", "tab_level_logger", "zerolog_console", "odoo_log",
                  "browser_console", "tracing_tree", "nginx_error_header", "apache_error_header",
                  "nifi_web_server", "serilog_file")


@pytest.mark.parametrize("header", [s for w in load_wrappers() if w.id in LOGGER_HEADERS for s in w.samples])
def test_a_logger_header_starts_the_message_at_any_level(header: str) -> None:
    """After a logging library's header a validator's text stands at the message's start, INFO or DEBUG alike."""
    text = "Invalid audiences: `42` is not a trusted audience"
    [row] = match_messages(pa.array([header + text]), load_catalogue(), format_name="generic_text",
                           generic_search=True).to_pylist()
    assert row["signature"] == "openidconnect.untrusted_audience" and row["audience"] == "42"


def test_every_logger_header_is_a_wrapper_with_samples() -> None:
    wrappers = {w.id: w for w in load_wrappers()}
    assert set(LOGGER_HEADERS) <= set(wrappers)
    assert all(wrappers[h].samples for h in LOGGER_HEADERS)


def test_a_cause_in_a_java_stack_trace_is_read_on_its_own_line() -> None:
    """The JVM writes each cause of a chained exception as a line ``Caused by: <class>: <message>``."""
    [row] = match_messages(pa.array(["Caused by: java.security.SignatureException: Signature encoding error"]),
                           load_catalogue(), format_name="generic_text", generic_search=True).to_pylist()
    assert row["tier"] == "signature" and row["signature"].startswith("jdk.")


@pytest.mark.parametrize(("header", "words"), [
    ("INFO:shop.search:", "user alice searched for Invalid audiences: `42` is not a trusted audience"),
    ("[10:42:07 INF] ", "query was Token is expired"),
    ("2023-01-31 09:55:30.921 -05:00 [INF] ", "query was Token is expired"),
    ("Caused by: ", "search query: Token is expired"),
    ("DEBUG shop.search ", "user alice searched for Invalid audiences: `42` is not a trusted audience"),
    ("ｉ [info]: ", "query was Token is expired"),
])
def test_a_logger_header_does_not_make_a_user_s_words_a_message_start(header: str, words: str) -> None:
    """The header starts the software's message, not the user's text that the message quotes further in."""
    with_header, bare = match_messages(pa.array([header + words, words]), load_catalogue(), format_name="generic_text",
                                       generic_search=True).to_pylist()
    assert with_header["signature"] == bare["signature"]
    assert with_header["tier"] != "signature"


# --- tier 3: keywords -----------------------------------------------------------


def _keyword_rows(*messages: str) -> list[dict[str, object]]:
    texts = pa.array(list(messages), pa.string())
    rows: list[dict[str, object]] = match_messages(texts, load_catalogue(), format_name="generic_text",
                                                   generic_search=True).to_pylist()
    return rows


def test_a_keyword_finds_a_cause_worded_by_an_application_of_its_own() -> None:
    rows = _keyword_rows('WARN app: Code: 500. Errors:\n* the "aud" value is invalid',
                         "level=error msg=\"login refused\" reason=\"the issuer we saw does not match our settings\"")
    assert rows[0]["signature"] == "keyword.audience_rejected"
    assert rows[0]["tier"] == "keyword" and rows[0]["confidence"] == "low"
    assert rows[1]["signature"] == "keyword.issuer_rejected"


def test_a_keyword_needs_a_line_that_reports_a_failure() -> None:
    rows = _keyword_rows("INFO access token expired, refreshing", "ERROR access token expired for client portal")
    assert rows[0]["signature"] is None
    assert rows[1]["signature"] == "keyword.token_expired"


def test_a_keyword_needs_a_word_of_its_own_not_part_of_another() -> None:
    rows = _keyword_rows("ERROR claudette mismatch in the audit log", "ERROR kissuer invalid")
    assert [row["signature"] for row in rows] == [None, None]


def test_keywords_come_after_phrases_and_signatures() -> None:
    """Where a phrase (or a signature) also holds, it wins: the keyword is the last resort."""
    rows = _keyword_rows("ERROR auth: Invalid audience", "ERROR auth: the aud claim is invalid")
    assert rows[0]["tier"] == "phrase"
    assert rows[1]["tier"] == "keyword"


def test_a_keyword_is_not_found_in_masked_user_text() -> None:
    texts = pa.array(["ERROR search for: the aud claim is invalid"], pa.string())
    masked = pa.array([f"ERROR search for: {MASK}"], pa.string())
    rows = match_messages(texts, load_catalogue(), format_name="generic_text", generic_search=True,
                          search_texts=masked).to_pylist()
    assert rows[0]["signature"] is None


def _keywords_only(*messages: str) -> list[dict[str, object]]:
    """Rows of ``messages`` matched by the keywords alone: the signatures of a later round cannot take them."""
    keywords = Catalogue(tuple(s for s in load_catalogue().signatures if s.tier == "keyword"))
    rows: list[dict[str, object]] = match_messages(pa.array(list(messages), pa.string()), keywords,
                                                   format_name="generic_text", generic_search=True).to_pylist()
    return rows


def test_a_keyword_is_found_in_an_identifier_read_as_words() -> None:
    """An enum, an error type or an error code packs a keyword's words: they are read again, split."""
    rows = _keywords_only("   0: InvalidIssuer", "ERROR jwt_auth_bad_iss", "INVALID_CUSTOM_TOKEN : AUDIENCE_MISMATCH")
    assert [row["signature"] for row in rows] == [
        "keyword.issuer_rejected", "keyword.issuer_rejected", "keyword.audience_rejected"]
    assert {row["confidence"] for row in rows} == {"low"}


def test_a_long_value_between_a_keyword_s_words_is_read_as_one_word() -> None:
    kid = "paPifw94MwpwDx3Wcs-Xz6mbULZSLAW3AQKrXQjPxYk"
    [row, short] = _keywords_only(f"AuthSdkError: The key id, {kid}, was not found in the server's keys",
                                  "AuthSdkError: The key id, k1, was not found in the server's keys")
    assert row["signature"] == short["signature"] == "keyword.kid_unknown"
    assert row["kid"] is None  # a keyword captures no value


def test_the_words_reading_comes_last_and_still_needs_a_failure() -> None:
    rows = _keyword_rows("ERROR auth: Invalid audience, see InvalidIssuer", "INFO cache: ExpiredTokenCleanup done",
                         "DEBUG cache AccessTokenExpiredHandler registered")
    assert rows[0]["signature"] == "phrase.invalid_audience"  # the text as written decides first
    assert [row["signature"] for row in rows[1:]] == [None, None]


def test_the_words_reading_does_not_search_masked_user_text_or_echoing_programs() -> None:
    texts = pa.array(["ERROR search for: InvalidIssuer", "ERROR sshd: Invalid user InvalidIssuer from 10.0.0.1"])
    masked = pa.array([f"ERROR search for: {MASK}", "ERROR sshd: Invalid user InvalidIssuer from 10.0.0.1"])
    rows = match_messages(texts, load_catalogue(), format_name="generic_text", generic_search=True,
                          search_texts=masked, searchable=np.array([True, False])).to_pylist()
    assert [row["signature"] for row in rows] == [None, None]


def test_most_phrases_are_shared_by_at_least_two_pieces_of_software() -> None:
    """A phrase is the words several libraries share; one only one library writes belongs in tier 1."""
    phrases = [s for s in load_catalogue().signatures if s.tier == "phrase"]
    shared = [p for p in phrases if len({s.software for s in p.samples if s.match and s.software}) >= 2]
    assert len(shared) >= 0.8 * len(phrases), sorted({p.id for p in phrases} - {p.id for p in shared})


def test_every_token_cause_has_phrases() -> None:
    from tokenaudit import load_causes

    token_causes = {c.id for c in load_causes().values() if c.group == "token"}
    covered = {s.cause for s in load_catalogue().signatures if s.tier == "phrase"}
    assert token_causes - covered <= {"azp_mismatch"}, token_causes - covered


def test_a_chunk_tries_only_the_steps_its_literals_wake_and_finds_what_trying_all_finds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    catalogue = load_catalogue()
    index = catalogue.step_index("generic_text", generic_search=True)
    steps = catalogue.steps("generic_text", generic_search=True)
    assert len(index.always) < len(steps) // 2  # most steps wait for a literal
    key = next(key for key in index.by_literal if key[1])  # a phrase's literal, in lower case
    woken = index.possible(lambda masked, fold: [key[2]] if (masked, fold) == key[:2] else [])
    assert set(index.by_literal[key]) <= set(woken) and len(woken) < len(steps) // 10
    assert list(woken) == sorted(woken)  # in the catalogue's order: the first match still wins
    # Every sample of every signature, phrase and keyword in one chunk: the same rows either way.
    messages = pa.array([sample.message for signature in catalogue.signatures for sample in signature.samples])
    found = match_messages(messages, catalogue, format_name="generic_text", generic_search=True)
    monkeypatch.setattr(StepIndex, "possible", lambda self, _found: np.arange(len(steps)))
    assert match_messages(messages, catalogue, format_name="generic_text", generic_search=True).equals(found)
    assert found["signature"].null_count < len(messages) // 3  # near misses and other formats' samples give none
