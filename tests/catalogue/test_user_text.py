"""User-controlled text: masked before the search, or never searched."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from tokenaudit.catalogue.positions import reports_failure
from tokenaudit.catalogue.user_text import (
    load_user_text,
    mask_user_text,
    read_user_text,
    searchable_rows,
    unescape_strings,
)
from tokenaudit.errors import CatalogueError


def test_every_builtin_span_masks_its_samples() -> None:
    rules = load_user_text()
    assert len(rules.spans) >= 10
    assert {"sshd", "sudo", "logger"} <= rules.echo_programs


def test_a_span_keeps_the_key_and_masks_the_users_value() -> None:
    masked = mask_user_text(pa.array([
        "authentication failure; rhost=::ffff:10.0.0.5 user=x@pve msg=Authentication failure",
        'type="LOGIN", clientId="Token is expired", error="x"',
        None,
    ])).to_pylist()
    assert masked == ["authentication failure; rhost=… user=… msg=Authentication failure",
                      'type="LOGIN", clientId=…, error="x"', ""]


def test_programs_that_echo_input_are_not_searched_whatever_their_path_or_case() -> None:
    rows = searchable_rows(pa.array(["sshd", "SUDO", "/usr/bin/logger", "postfix/smtpd", "pvedaemon", None]), 6)
    assert rows.tolist() == [False, False, False, False, True, True]
    assert searchable_rows(None, 3).tolist() == [True, True, True]
    assert searchable_rows(pa.array(["pvedaemon"]), 1, echo_programs=["pvedaemon"]).tolist() == [False]


EMPTY = ('[empty_error]\npattern = \'"error":null\'\nsource = "x"\n'
         'sample = [{ text = \'"error":null\', reports = false }]\n\n')
CUE = '[failure_cue]\npattern = "fail"\nsource = "x"\nsample = [{ prefix = "auth failed: ", match = true }]\n\n' + EMPTY


def _rules(tmp_path: Path, span: str, cue: str = CUE) -> Path:
    path = tmp_path / "user_text.toml"
    path.write_text('[echo]\nprograms = ["sshd"]\nsource = "x"\n\n' + cue + span, encoding="utf-8")
    return path


@pytest.mark.parametrize(("span", "problem"), [
    ("[[span]]\nid = \"a\"\npattern = '''user=\\S+'''\nsource = \"x\"\nsample = []\n", "one or two groups"),
    ("[[span]]\nid = \"a\"\npattern = '''(user=)\\S+'''\nsource = \"x\"\n"
     "sample = [{ message = \"user=bob\", masked = \"user=bob\" }]\n", "sample masks to 'user=…'"),
    ("[[span]]\nid = \"a\"\npattern = '''(user=)(a+)+'''\nsource = \"x\"\nsample = []\n", "backtrack"),
])
def test_a_bad_span_is_refused_with_the_reason(tmp_path: Path, span: str, problem: str) -> None:
    with pytest.raises(CatalogueError, match=problem.replace("(", r"\(")):
        read_user_text(_rules(tmp_path, span))


def test_a_failure_cue_that_misses_its_own_sample_is_refused(tmp_path: Path) -> None:
    cue = ('[failure_cue]\npattern = "error"\nsource = "x"\n'
           'sample = [{ prefix = "INFO app: search: ", match = true }]\n\n' + EMPTY)
    span = "[[span]]\nid = \"a\"\npattern = '(user=)x'\nsource = \"x\"\nsample = []\n"
    with pytest.raises(CatalogueError, match="failure_cue misses 'INFO app: search: '"):
        read_user_text(_rules(tmp_path, span, cue))


def test_an_empty_error_field_whose_sample_still_reports_a_failure_is_refused(tmp_path: Path) -> None:
    cue = ('[failure_cue]\npattern = "error"\nsource = "x"\nsample = [{ prefix = "error: ", match = true }]\n\n'
           '[empty_error]\npattern = \'"error":""\'\nsource = "x"\n'
           'sample = [{ text = \'{"error":null}\', reports = false }]\n\n')
    span = "[[span]]\nid = \"a\"\npattern = '(user=)x'\nsource = \"x\"\nsample = []\n"
    with pytest.raises(CatalogueError, match="empty_error: .* reports a failure"):
        read_user_text(_rules(tmp_path, span, cue))


@pytest.mark.parametrize(("text", "reports"), [
    ('{"type":"jwk-refresh-log","level":"info","detail":{"error":null,"message":"refreshing JWK"}}', False),
    ('{"type":"response","error":"","request":{"path":"auth/token/lookup"}}', False),
    ('level=info msg="token refreshed" err=<nil>', False),
    ('{"level":"info","error":null,"message":"login failed"}', True),  # a failure word elsewhere still counts
    ('{"error":"invalid_token"}', True),
    ('level=warn msg="refresh" error=""', True),  # a level still counts
])
def test_an_error_field_that_holds_nothing_reports_no_failure(text: str, reports: bool) -> None:
    assert reports_failure(pa.array([text])).tolist() == [reports]


@pytest.mark.parametrize(("line", "found"), [
    ("2025-12-04 10:01:52 INFO app: search query: Token is expired", False),
    ("2025-12-04 10:02:13 DEBUG echo: jwt expired", False),
    ("2025-12-04 10:01:52 WARN app: search failed: Token is expired", True),
    ('{"level":"info","msg":"request","error":"Token is expired"}', True),  # an error-like key reports it
    ('{"msg": "Token is expired"}', True),  # only structure before it
    ('{"messages":["Token has expired"],"reason":"token_expired"}', True),  # a list of messages (tymon/jwt-auth)
    ('{"message": ["Token is expired"]}', True),
    ('{"messages": ["search query: Token is expired"]}', False),  # words before it, and none reports a failure
    ("<oauth><error_description>Token is expired</error_description>", True),  # an XML element of an error
    ("<oauth><user_query>Token is expired</user_query>", False),
    ("500 Token is expired", True),  # the HTTP status a web framework writes first
    ('{"reqId":"a1","level":2,"app":"api","message":"Token is expired"', True),  # a cut JSON line's message field
    ('{"reqId":"a1","level":0,"user_note":"Token is expired"}', False),  # any other field holds no message
    ('{"Code":1,"Message":"Token is expired"}', True),  # .NET and AWS spell the field "Message"
    ("<Error><Code>AccessDenied</Code><Message>Token is expired</Message></Error>", True),  # an AWS XML error
    ('{"Code":1,"Note":"Token is expired"}', False),
    ("500 search query: Token is expired", False),
    ("Connect-AzAccount : Token is expired", True),  # PowerShell's error record: the command, then its message
    ("0. Token is expired", True),  # the number of an error in a list (MSAL's "0. The ID token is not yet valid")
    ("2) search: Token is expired", False),  # only one neutral start: a word after the number is the user's
    ("search query : Token is expired", False),
    ("Token is expired", True),
])
def test_a_clause_counts_only_after_a_failure_cue(line: str, found: bool) -> None:
    from tokenaudit import why

    assert (why(line)[0].cause == "expired") is found


@pytest.mark.parametrize(("line", "cause"), [
    ("ERROR failed to check authorization: Token is expired", "expired"),  # a Go error chain's own word
    ("Error validating csrf cookie: CSRF cookie does not match state", "login_state"),  # oauth2-proxy's prose
    ("WARN headers: Host: api | Cookie: x: Token is expired", None),  # a header dump: the client's value
    ("WARN request Authorization: x, error: Token is expired", None),
    ("GET /api 401 user-agent: x: Token is expired", None),
    ("Authorization: error: Token is expired", None),
])
def test_a_header_name_is_the_clients_only_where_a_dump_writes_it(line: str, cause: str | None) -> None:
    from tokenaudit import why

    assert why(line)[0].cause == cause


@pytest.mark.parametrize(("line", "cause"), [
    # an exception class is an identifier, not prose: its quote is the library's message
    ('Aws::STS::Errors::InvalidIdentityToken "Missing a required claim: aud"', "aud_claim_missing"),
    # a quote after a prose word is what a user typed, capitalised or not
    ("User 'Failed to verify ID token: Token is expired' logged in", None),
    ("error: unknown username 'Failed to verify ID token: Token is expired'", None),
])
def test_a_quote_is_the_users_only_after_a_prose_word(line: str, cause: str | None) -> None:
    from tokenaudit import why

    assert why(line)[0].cause == cause


@pytest.mark.parametrize(("line", "signature"), [
    # Gitea's router names the handler that answered after the status: its scope check refused the token
    ("router: completed GET /api/v1/version for 10.0.0.7:0, 403 Forbidden in 2.0ms @ v1/api.go:242"
     "(v1.tokenRequiresScopes)", "gitea.token_scope_refused_route"),
    # the same name in the request path is the client's, whatever status another handler answered with
    ("router: completed GET /api/v1/version(v1.tokenRequiresScopes) for 10.0.0.7:0, 403 Forbidden in 1.0ms"
     " @ misc/version.go:12(misc.Version)", ""),
    ("router: completed GET /api/v1/version(v1.tokenRequiresScopes) for 10.0.0.7:0, 200 OK in 1.0ms"
     " @ misc/version.go:12(misc.Version)", ""),
])
def test_a_handler_named_in_the_request_path_is_the_clients(line: str, signature: str) -> None:
    from tokenaudit import why

    answer = why(line)[0]
    assert answer.signature == signature
    assert (answer.cause == "insufficient_scope_or_roles") is bool(signature)


@pytest.mark.parametrize(("line", "cause"), [
    # the request's own fields of a JSON log are the client's: a user agent holding a verdict makes no event
    ('{"level": "info", "status": 200, "user": "Token is expired", "user_agent": "ERROR: Invalid audience"}', None),
    ('{"level":"warning","uri":"/cb?error=Token is expired","msg":"handled request","status":302}', None),
    # the server's own fields still speak
    ('{"level":"error","msg":"Token is expired","user_agent":"curl/8.5.0","status":401}', "expired"),
])
def test_a_json_log_s_request_fields_are_the_users(line: str, cause: str | None) -> None:
    from tokenaudit import why

    assert why(line)[0].cause == cause


@pytest.mark.parametrize(("text", "reports"), [
    ("INFO push: apns answered reason=BadDeviceToken", True),
    ('level=info msg="refresh" cause="upstream: the access token has expired"', True),
    ("UserInfo={NSLocalizedDescription=Expired token received}", True),
    ('Error Domain=MSALErrorDomain Code=-50000 "(null)" UserInfo={MSALErrorDescriptionKey=AADSTS50011: x}', True),
    ('level=info msg="delivered" reason=""', False),  # a key that holds nothing reports nothing
    ("{'status': 'sent', 'reason': None}", False),
    ("INFO push: delivered, no reason to retry", False),  # the word alone is no key
])
def test_a_key_that_names_an_error_reports_a_failure_wherever_it_stands(text: str, reports: bool) -> None:
    assert reports_failure(pa.array([text])).tolist() == [reports]


def test_a_keyword_after_an_error_key_further_in_is_found() -> None:
    """The key reports the failure, though the validator's words do not start its value."""
    from tokenaudit import why

    assert why('level=info msg="refresh" cause="upstream: the access token has expired"')[0].cause == "expired"
    assert why('level=info msg="refresh" note="upstream: the access token has expired"')[0].cause is None


def test_typographic_quotes_read_as_the_quotes_the_software_wrote() -> None:
    """A forum or a word processor turns ``'iss'`` into ``‘iss’``: the claim is still named."""
    from tokenaudit import why

    assert why("ERROR login: Invalid ‘iss’ claim")[0].cause == "issuer_mismatch"
    assert why("ERROR login: Invalid “aud” value")[0].cause == "client_id_missing"


def test_a_product_s_version_is_no_http_status() -> None:
    """``AppleWebKit/537.36`` in a user agent is a version; ``HTTP/1.1 401`` and ``"status":403`` are statuses."""
    texts = ["INFO GET /x 200 Mozilla/5.0 AppleWebKit/537.36 Safari/537.36", "HTTP/1.1 401 x", '{"status":403}']
    assert reports_failure(pa.array(texts)).tolist() == [False, True, True]


def test_go_fmt_marks_of_a_missing_argument_are_no_verdict() -> None:
    """``audience=https%!A(MISSING)`` is Go's fmt over a URL-encoded value, not an audience found missing."""
    from tokenaudit import why

    line = ('oauth2/google: invalid response when retrieving subject token: Get "https://token.example.com/token'
            '?audience=https%!A(MISSING)%!F(MISSING)iam.googleapis.com": EOF')
    assert why(line)[0].cause != "aud_claim_missing"
    assert "MISSING" not in mask_user_text(pa.array([line]))[0].as_py()


def test_an_error_page_reads_as_its_software_wrote_it() -> None:
    """HTML's escapes are undone for searching (Express's error page), after the user's text is masked."""
    from tokenaudit import why

    page = "<pre>InvalidTokenError: Unexpected &#39;aud&#39; value<br> &nbsp; &nbsp;at /srv/api/index.js:300:19</pre>"
    assert unescape_strings(pa.array([page])).to_pylist() == [
        "<pre>InvalidTokenError: Unexpected 'aud' value\n    at /srv/api/index.js:300:19</pre>"]
    assert why(page)[0].cause == "client_id_missing"
    echoed = "WARN app: search query: Unexpected &#39;aud&#39; value"  # a user's words, escaped or not, stay masked
    assert unescape_strings(mask_user_text(pa.array([echoed]))).to_pylist() == ["WARN app: search query: …"]
    assert why(echoed)[0].cause is None
    assert unescape_strings(pa.array(["a &amp;lt; b"])).to_pylist() == ["a &lt; b"]  # undone once, not twice
    chunked = pa.chunked_array([["x &lt;y", None], ["plain & text", "&#39;z&#39;"]])  # only the rows holding one
    assert unescape_strings(chunked).to_pylist() == ["x <y", None, "plain & text", "'z'"]
