"""Regex safety: signatures anchored on software-written text, and no pattern that can backtrack.

Three walls, each tested here:

* anchoring (:mod:`tokenaudit.catalogue.matching`): a whole-message signature starts
  with ``^``; a search signature runs only at the start of a message or after
  a chain of wrappers (``data/wrappers.toml``), so the parts of a line a user
  writes (a username, a request path, a user agent, a client id) cannot forge
  an event by imitating a validator's message;
* the backtracking lint (:mod:`tokenaudit.regex.lint`) refuses nested,
  overlapping and adjacent ambiguous repeats in every catalogue, wrapper and
  format pattern;
* the engine: catalogue and format patterns only ever run in RE2 (through
  pyarrow), never in Python's backtracking ``re``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import tokenaudit
from tokenaudit.catalogue.loading import load_catalogue, read_signature_file
from tokenaudit.catalogue.matching import match_messages
from tokenaudit.catalogue.order import Catalogue
from tokenaudit.catalogue.positions import anchored_pattern
from tokenaudit.catalogue.samples import check_catalogue, check_formats, read_annotated_log
from tokenaudit.catalogue.wrappers import load_wrappers, read_wrappers
from tokenaudit.causes.definitions import load_causes
from tokenaudit.common.masking import REDACTIONS, load_masks
from tokenaudit.errors import CatalogueError
from tokenaudit.formats.parsing import load_formats
from tokenaudit.pipeline.chunk import TOKEN_MARKER, ChunkContext, process_chunk
from tokenaudit.regex.lint import _chars, begins_with_own_text, can_match_space, lint_pattern, starts_with_wildcard

from .conftest import SAMPLE_LOGS

CATALOGUE = load_catalogue()
FORMATS = load_formats()
REFERENCE = pd.Timestamp("2026-11-23", tz="UTC")

# ---------------------------------------------------------------------------------------------
# Anchoring: attacker-written parts of real lines imitate every signature's own sample message.
# ---------------------------------------------------------------------------------------------

#: Every positive sample message of the catalogue: what an attacker would imitate.
INJECTIONS = sorted({sample.message for s in CATALOGUE.signatures for sample in s.samples if sample.match})


def _raw(text: str) -> str:
    return text


def _path(text: str) -> str:
    return "/" + quote(text, safe="/:=&?`'(),;@")


def _quoted(text: str) -> str:
    """As nginx and Apache write a header value: a double quote becomes \\x22."""
    return text.replace("\\", "\\x5C").replace('"', "\\x22")


def _json(text: str) -> str:
    return json.dumps(text)[1:-1]


#: (format, line template, how the injected text is encoded): real-shaped lines, each with
#: ``{x}`` where a user's text lands (a username, a path, a user agent, a referer, a client id,
#: a callback parameter). The benign value ``alice`` gives the baseline.
TEMPLATES = [
    ("syslog_rfc3164", "Nov 22 09:40:01 pve1 sshd[811]: Invalid user {x} from 192.0.2.9 port 4242", _raw),
    ("syslog_rfc3164", "Nov 22 09:40:02 pve1 sshd[811]: Failed password for invalid user {x} "
                       "from 192.0.2.9 port 4242 ssh2", _raw),
    ("syslog_rfc3164", "Nov 22 09:40:03 pve1 pvedaemon[2345]: <root@pam> successful openid auth for user '{x}'", _raw),
    ("syslog_rfc3164", 'Nov 22 09:40:04 pve1 nginx[99]: 192.0.2.9 - - "GET {x} HTTP/1.1" 404 "-" "{x}"', _path),
    ("syslog_rfc3164", "Nov 22 09:40:05 pve1 app[7]: login rejected for {x}", _raw),
    ("syslog_iso", "2026-11-22T09:40:01.000000+01:00 pve3 sshd[811]: Invalid user {x} from 192.0.2.9 port 4242", _raw),
    ("syslog_rfc5424", "<38>1 2026-11-22T09:40:01.000Z pve4 sshd 811 - - Invalid user {x} from 192.0.2.9 port 4242",
     _raw),
    ("journal_json", '{{"__REALTIME_TIMESTAMP":"1795281243512331","_HOSTNAME":"pve2","SYSLOG_IDENTIFIER":"sshd",'
                     '"_PID":"811","MESSAGE":"Invalid user {x} from 192.0.2.9 port 4242"}}', _json),
    ("nginx_error", '2026/11/21 18:09:30 [error] 2865#2865: *66647 user "{x}": password mismatch, client: 203.0.113.9, '
                    'server: orders.example.com, request: "GET /metrics HTTP/1.1", host: "orders.example.com"',
     _quoted),
    ("nginx_error", '2026/11/21 18:09:31 [error] 2865#2865: *66648 user "{x}" was not found in "/etc/nginx/htpasswd", '
                    'client: 203.0.113.9, server: orders.example.com, request: "GET /metrics HTTP/1.1", '
                    'host: "orders.example.com"', _quoted),
    ("nginx_error", '2026/11/21 18:09:32 [error] 2865#2865: *66649 auth request unexpected status: 502 '
                    'while sending to client, '
                    'client: 192.0.2.44, server: orders.example.com, request: "GET {x} HTTP/2.0", '
                    'host: "orders.example.com", '
                    'referrer: "https://orders.example.com{x}"', _path),
    ("apache_error", "[Wed Sep 07 23:16:13.440057 2022] [auth_basic:error] [pid 17512] [client 127.0.0.1:5555] "
                     "AH01618: user {x} not found: /basic/file", _raw),
    ("apache_error", "[Wed Sep 07 23:16:14.440057 2022] [authz_core:error] [pid 17512] [client 127.0.0.1:5555] "
                     "AH01630: client denied by server configuration: /var/www{x}, referer: https://a.example{x}",
     _path),
    ("keycloak_log", '2026-11-21 17:10:00,001 WARN  [org.keycloak.events] (executor-thread-1) type="LOGIN_ERROR", '
                     'realmId="0286a739", realmName="main", clientId="{x}", userId="null", ipAddress="192.0.2.9", '
                     'error="client_not_found", redirect_uri="https://a.example/{x}"', _quoted),
    ("keycloak_log", '2026-11-21 17:10:00,002 WARN  [org.keycloak.events] (executor-thread-1) type="LOGIN", '
                     'realmId="0286a739", realmName="main", clientId="orders-ui", userId="u1", ipAddress="192.0.2.9", '
                     'username="{x}"', _quoted),
    ("oauth2_proxy_standard", '[2026/11/21 17:10:00] [oauthproxy.go:1026] Rejecting invalid redirect "{x}": '
                              "domain / port not in whitelist", _quoted),
    ("oauth2_proxy_standard", "[2026/11/21 17:10:01] [oauthproxy.go:900] Authenticated via OAuth2: Session{{email:{x} "
                              "user:x}}", _raw),
    ("generic_text", "2026/11/22 10:00:03 api handled GET {x} 200", _path),
    ("generic_text", "2026/11/22 10:00:04 api user {x} logged in", _raw),
    ("generic_text", "2026/11/22 10:00:05 api | login name: {x}", _raw),
    ("combined_access", '192.0.2.9 - {x} [22/Nov/2026:10:00:01 +0100] "GET {x} HTTP/1.1" 401 12 "{x}" "{x}"', _path),
    ("combined_access", '192.0.2.9 - - [22/Nov/2026:10:00:02 +0100] "GET /ok HTTP/1.1" 200 12 "{x}" "{x}"', _quoted),
    ("nginx_json", '{{"time_iso8601":"2026-11-22T10:00:01+01:00","remote_addr":"192.0.2.9","request_uri":"{x}",'
                   '"status":"401","http_user_agent":"{x}","http_referer":"{x}"}}', _json),
    ("envoy_access", '[2026-11-22T10:00:01.000Z] "GET {x} HTTP/1.1" 200 - 0 12 3 2 "192.0.2.9" "{x}" '
                     '"cc21d9b0" "orders" "10.0.2.1:80"', _path),
    # Envoy does not escape a quote in the user agent: the text as typed.
    ("envoy_access", '[2026-11-22T10:00:02.000Z] "GET /ok HTTP/1.1" 200 - 0 12 3 2 "192.0.2.9" "{x}" '
                     '"cc21d9b0" "orders" "10.0.2.1:80"', _raw),
    # A path and query an application logs decoded, spaces and all.
    ("generic_text", "2026/11/22 10:00:06 INFO http: GET /api/find?q={x} 200 14ms", _raw),
    ("generic_text", "2026/11/22 10:00:07 INFO shop: search query: {x}", _raw),
    ("generic_text", "2026/11/22 10:00:08 DEBUG proxy: request headers: Host: a | X-Remote-User: {x} | Accept: */*",
     _raw),
    ("generic_text", "2026/11/22 10:00:09 DEBUG gateway: User-Agent: {x}", _raw),
]


def _result(fmt_name: str, lines: list[str]) -> pd.DataFrame:
    result = process_chunk(lines, FORMATS[fmt_name], CATALOGUE, ChunkContext("attack.log", reference_time=REFERENCE))
    assert result.account.balanced
    return result.events.to_pandas(), result.account


@pytest.mark.parametrize(("fmt_name", "template", "encode"), TEMPLATES,
                         ids=[f"{t[0]}:{i}" for i, t in enumerate(TEMPLATES)])
def test_user_text_imitating_any_signature_sample_gives_no_signature_event(fmt_name, template, encode) -> None:
    baseline, _ = _result(fmt_name, [template.format(x=encode("alice"))])
    # The software's own words may report a failure (Keycloak's error="client_not_found"): the user's text may
    # not change what is found.
    own = set(baseline["signature"].dropna())
    assert len(own) <= 1
    lines = [template.format(x=encode(text)) for text in INJECTIONS]
    events, account = _result(fmt_name, lines)
    # Not vacuous: the lines are read as lines of the format, not rejected.
    assert account.parsed >= 0.9 * len(lines), account.rejected_reasons
    forged = events[events["signature"].notna() & ~events["signature"].isin(own)]
    assert forged.empty, forged[["line_no", "signature", "message"]].head().to_string()
    if own:  # the software's own failure is still found where the user's text left the line whole
        assert len(events) >= 0.9 * len(lines)
    else:  # an HTTP refusal stays a refusal (the status is the server's), whatever the user wrote
        assert len(events) == len(baseline) * len(lines)


#: pvedaemon's own failure lines, with the login name the user typed in ``user=`` (and repeated in ``msg=``).
PVEDAEMON_USER_TEMPLATES = [
    "Nov 22 09:40:06 pve1 pvedaemon[2345]: authentication failure; rhost=::ffff:192.0.2.9 user={x} "
    "msg=Authentication failure",
    "Nov 22 09:40:07 pve1 pvedaemon[2345]: authentication failure; rhost=::ffff:192.0.2.9 user={x}@pve "
    "msg=no such user ('{x}@pve')",
]


@pytest.mark.parametrize("template", PVEDAEMON_USER_TEMPLATES)
def test_a_login_name_imitating_a_validator_never_makes_a_token_cause(template: str) -> None:
    """The line is a real failure (a password, an unknown user): the name typed cannot turn it into a token cause."""
    baseline, _ = _result("syslog_rfc3164", [template.format(x="alice")])
    [own] = baseline["signature"].tolist()
    events, account = _result("syslog_rfc3164", [template.format(x=text) for text in INJECTIONS])
    assert account.parsed >= 0.9 * len(INJECTIONS), account.rejected_reasons
    token_causes = {c.id for c in load_causes().values() if c.group == "token"}
    cause_of = {s.id: s.cause or "unclassified" for s in CATALOGUE.signatures}  # an envelope alone: unclassified
    cause_of |= {f"words.{cause}": cause for cause in load_causes()}  # the word model's guesses
    forged = events[events["signature"].map(lambda sid: cause_of.get(sid) in token_causes)]
    assert forged.empty, forged[["line_no", "signature", "message"]].head().to_string()
    other_causes = {c.id for c in load_causes().values() if c.group != "token"}
    assert {cause_of[sid] for sid in events["signature"].dropna()} <= other_causes | {cause_of[own]}


def test_the_injections_are_real_threats_without_anchoring() -> None:
    """The same texts, alone in a message, are found: the anchoring is what stops them above."""
    texts = pa.array(INJECTIONS, pa.string())
    unanchored = sum(
        bool(pc.any(pc.match_substring_regex(texts, s.pattern)).as_py()) for s in CATALOGUE.signatures if s.search
    )
    assert unanchored == sum(1 for s in CATALOGUE.signatures if s.search)


def test_search_signatures_match_at_the_start_after_wrappers_and_at_clauses() -> None:
    body = "Invalid audiences: `42` is not a trusted audience"
    messages = [
        body,
        f"Failed to verify ID token: {body}",
        f"[lua] openidc.lua:12: authenticate(): OIDC introspection failed: {body}",
        f"2026/11/22 10:00:04 api ERROR Failed to verify ID token, {body}",
        f"user {body}",
        f"GET /{body}",
        f"Failed to process OIDC callback with params code=a b: {body}",  # a space in a wrapper's variable part
    ]
    rows = match_messages(pa.array(messages), CATALOGUE, format_name="syslog_iso", generic_search=True).to_pylist()
    assert [row["signature"] for row in rows] == ["openidconnect.untrusted_audience"] * 4 + [
        "keyword.audience_rejected"] * 2 + ["openidconnect.untrusted_audience"]
    # At the start or after a wrapper the text stands where its software writes it; after some other
    # program's clause it is still the cause, but nothing vouches for the value as strongly. Inside a
    # user's word or a path the signature is not found; only the keyword tier reads the words there
    # (fields a user controls are masked before it, by the format): low confidence, and no value taken.
    assert [row["confidence"] for row in rows] == ["high"] * 4 + ["low"] * 2 + ["medium"]
    assert [row["audience"] for row in rows[4:6]] == [None, None]


def _signature_file(tmp_path: Path, pattern: str, *, search: bool) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(
        'family = "bad"\nsource = "test"\n[[signature]]\nid = "bad.x"\ntitle = "t"\ncause = "expired"\n'
        f"search = {str(search).lower()}\npattern = '{pattern}'\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(("pattern", "search", "message"), [
    ("Token expired$", False, "must start with ^"),
    ("^Token expired", True, "must not start with ^"),
    (r".*Token expired", True, "fixed text, not a wildcard"),
    (r"(?:\S+ )?Token expired", True, "fixed text, not a wildcard"),
    (r"^Token (a+)+ expired$", False, "backtrack catastrophically"),
])
def test_loader_refuses_unanchored_and_backtracking_patterns(tmp_path: Path, pattern: str, search: bool,
                                                             message: str) -> None:
    with pytest.raises(CatalogueError, match=re.escape(message)) as caught:
        read_signature_file(_signature_file(tmp_path, pattern, search=search))
    assert caught.value.hint


def test_loader_accepts_anchored_patterns(tmp_path: Path) -> None:
    assert read_signature_file(_signature_file(tmp_path, "^Token expired$", search=False))
    assert read_signature_file(_signature_file(tmp_path, r"Token (?:has )?expired", search=True))


@pytest.mark.parametrize(("pattern", "sample", "message"), [
    ("params [^:]*: ", "params a: ", "must not match a space"),
    (".*: ", "x: ", "must not match a space"),
    ("^Failed: ", "Failed: ", "no anchor"),
    ("Failed (?P<x>x): ", "Failed x: ", "no named group"),
    ("Failed: ", "Failed: extra", "match each of its samples whole"),
    (r"(\w+)+: ", "a: ", "backtrack catastrophically"),
])
def test_wrappers_are_checked(tmp_path: Path, pattern: str, sample: str, message: str) -> None:
    path = tmp_path / "wrappers.toml"
    path.write_text(f"[[wrapper]]\nid = \"w\"\npattern = '{pattern}'\nsource = \"s\"\nsample = ['{sample}']\n",
                    encoding="utf-8")
    with pytest.raises(CatalogueError, match=re.escape(message)):
        read_wrappers(path)


def test_a_wrapper_id_used_twice_is_refused(tmp_path: Path) -> None:
    entry = "[[wrapper]]\nid = \"w\"\npattern = 'Failed: '\nsource = \"s\"\nsample = ['Failed: ']\n"
    path = tmp_path / "wrappers.toml"
    path.write_text(entry + "\n" + entry.replace("Failed", "Denied"), encoding="utf-8")
    with pytest.raises(CatalogueError, match="used twice"):
        read_wrappers(path)


def test_a_run_of_blanks_alone_is_no_room_for_a_message() -> None:
    assert not can_match_space(r"WARN +\[org\.keycloak\.events\] ")
    assert can_match_space(r"WARN [\w ]+\] ")


def test_built_in_wrappers_hold_no_space_in_their_variable_parts() -> None:
    wrappers = load_wrappers()
    assert wrappers
    assert not [w.id for w in wrappers if can_match_space(w.pattern)]


def test_every_search_signature_begins_with_its_own_text() -> None:
    """Its own fixed text, or one captured word (a client id) and then its fixed text."""
    assert not [s.id for s in CATALOGUE.signatures
                if s.search and (s.pattern.startswith("^") or not begins_with_own_text(s.pattern))]
    assert {s.id for s in CATALOGUE.signatures if s.search and starts_with_wildcard(s.pattern)} == {
        "identityserver.refresh_token_other_client", "identityserver.offline_access_removed"}
    assert not [s.id for s in CATALOGUE.signatures if not s.search and not s.pattern.startswith("^")]


# ---------------------------------------------------------------------------------------------
# The backtracking lint.
# ---------------------------------------------------------------------------------------------

BAD_PATTERNS = [
    (r"(a+)+", "nested quantifier"),
    (r"(\w*)*", "nested quantifier"),
    (r"^(?:\S+\s?)+$", "nested quantifier"),
    (r"(x+x+)+y", "nested quantifier"),
    (r"(a|a)*", "alternatives can start alike"),
    (r"(\s|\s+)*", "alternatives can start alike"),
    (r"(?:ab|abc)*d", "alternatives can start alike"),
    (r"(?:\d|\w)+x", "alternatives can start alike"),
    (r"a\s*\s*b", "adjacent unbounded repeats"),
    (r"^.*.*=$", "adjacent unbounded repeats"),
    (r"\w+\d+", "adjacent unbounded repeats"),
    (r'"(?P<path>[^\s"]+)[^"]*"', "adjacent unbounded repeats"),
]

GOOD_PATTERNS = [
    r"^openid authentication failure; rhost=(?P<client_addr>\S+) msg=(?P<detail>.*)$",
    r"(?:[^,]*,)*end",
    r"(?: [A-Za-z_]+=\"?[^\",]*\"?,)*? username=",
    r"(?:\[(?:[^\]\\]|\\.)*\])+",
    r"(?:\.[A-Za-z0-9_-]*){2,4}",
    r"(?:a|b)*c",
    r'"(?P<path>[^\s"]+)(?:\s[^"]*)?"',
    r"\d+-\w+",
]


@pytest.mark.parametrize(("pattern", "reason"), BAD_PATTERNS, ids=[p for p, _ in BAD_PATTERNS])
def test_lint_rejects_patterns_that_backtrack(pattern: str, reason: str) -> None:
    problems = lint_pattern(pattern)
    assert any(reason in problem for problem in problems), problems


@pytest.mark.parametrize("pattern", GOOD_PATTERNS)
def test_lint_accepts_unambiguous_patterns(pattern: str) -> None:
    assert lint_pattern(pattern) == []


def _format_patterns() -> list[tuple[str, str]]:
    found = []
    for fmt in FORMATS.values():
        for key in ("detect", "pattern", "event_path", "candidate", "count_pattern", "shape", "continuation"):
            if getattr(fmt, key):
                found.append((f"{fmt.name}.{key}", getattr(fmt, key)))
        found += [(f"{fmt.name}.skip", skip) for skip in fmt.skip]
    return found


#: Every pattern tokenaudit runs over log text, named.
BUILT_IN = (
    [(s.id, s.pattern) for s in CATALOGUE.signatures]
    + [(f"wrapper.{w.id}", w.pattern) for w in load_wrappers()]
    + _format_patterns()
    + [(f"mask.{m.name}", m.pattern) for m in load_masks()]
    + [(f"redaction{i}", p) for i, (p, _) in enumerate(REDACTIONS)]
    + [("TOKEN_MARKER", TOKEN_MARKER)]
)


def _python_patterns() -> list[tuple[str, str]]:
    """Module-level patterns compiled for Python's ``re`` (they run on log text too)."""
    found = []
    for module in pkgutil.walk_packages(tokenaudit.__path__, prefix="tokenaudit."):
        if module.name == "tokenaudit.__main__":
            continue
        loaded = importlib.import_module(module.name)
        found += [(f"{module.name}.{name}", value.pattern) for name, value in vars(loaded).items()
                  if isinstance(value, re.Pattern)]
    return found


def test_every_built_in_pattern_passes_the_lint() -> None:
    assert len(BUILT_IN) > 300
    failing = {name: lint_pattern(pattern) for name, pattern in BUILT_IN if lint_pattern(pattern)}
    assert not failing


def test_every_python_re_pattern_passes_the_lint() -> None:
    python = _python_patterns()
    assert len(python) >= 10
    assert not {name: lint_pattern(pattern) for name, pattern in python if lint_pattern(pattern)}


def _hostile_lines(pattern: str) -> list[str]:
    """Lines built to make ``pattern`` backtrack: its literal start, 50k of a repeated character, no match."""
    from tokenaudit.regex import syntax as syntax

    parsed = list(syntax.parse(pattern))
    chars: set[str] = set()
    stack = parsed[:]
    while stack:
        op, arg = stack.pop()
        if op in (syntax.MAX_REPEAT, syntax.MIN_REPEAT):
            chars |= _chars(list(arg[2]))
            stack += list(arg[2])
        elif op is syntax.SUBPATTERN:
            stack += list(arg[-1])
        elif op is syntax.BRANCH:
            for alternative in arg[1]:
                stack += list(alternative)
    lead = "".join(chr(arg) for op, arg in parsed if op is syntax.LITERAL)[:40]
    picks = sorted(c for c in chars if c.isprintable())[:2] + [" "]
    return [lead + c * 50_000 + "\x00" for c in picks]


def test_lines_built_to_backtrack_finish_on_every_runtime_pattern() -> None:
    runtime = [anchored_pattern(s.pattern, s.search) for s in CATALOGUE.signatures] + [p for _, p in BUILT_IN]
    for pattern in dict.fromkeys(runtime):
        lines = pa.array(_hostile_lines(pattern), pa.string())
        matched = pc.match_substring_regex(lines, pattern)
        assert len(matched) == len(lines)


def test_catalogue_and_format_patterns_never_run_in_python_re(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest every sample log and check the catalogue while spying on Python's re: no data pattern reaches it."""
    compiled: set[str] = set()
    real_compile = re._compile  # type: ignore[attr-defined]

    def spy(pattern, flags):  # type: ignore[no-untyped-def]
        compiled.add(pattern if isinstance(pattern, str) else getattr(pattern, "pattern", ""))
        return real_compile(pattern, flags)

    monkeypatch.setattr(re, "_compile", spy)
    catalogue = Catalogue(CATALOGUE.signatures)
    for path in sorted(SAMPLE_LOGS.rglob("*")):
        if path.is_file() and path.parent.name in FORMATS and FORMATS[path.parent.name].kind in ("regex", "json"):
            log = read_annotated_log(path)
            process_chunk(log.lines, FORMATS[path.parent.name], catalogue,
                          ChunkContext(str(path), reference_time=REFERENCE, fingerprint_key=b"k" * 32))
    check_catalogue(catalogue)
    check_formats(FORMATS)
    data_patterns = {p for _, p in BUILT_IN} | {anchored_pattern(s.pattern, s.search) for s in CATALOGUE.signatures}
    assert compiled, "the spy saw nothing: it is not wired"
    assert not (compiled & data_patterns)


def test_format_loader_refuses_a_backtracking_pattern(tmp_path: Path) -> None:
    source = (Path(tokenaudit.__file__).parent / "formats" / "data" / "syslog_rfc3164.toml").read_text(encoding="utf-8")
    good = "pattern = '^(?:<\\d{1,3}>)?(?P<ts>"
    assert good in source
    (tmp_path / "syslog_rfc3164.toml").write_text(
        source.replace(good, "pattern = '^(?:<\\d{1,3}>)?(?:\\S+\\s?)+(?P<ts>"), encoding="utf-8")
    with pytest.raises(CatalogueError, match="pattern could backtrack catastrophically") as caught:
        load_formats(tmp_path)
    assert caught.value.hint


def test_check_lists_unanchored_and_backtracking_patterns_of_a_catalogue_built_in_code() -> None:
    from dataclasses import replace

    from tokenaudit.catalogue.samples import check_signature_lint

    base = CATALOGUE.by_id["openidconnect.untrusted_audience"]
    wildcard = replace(base, pattern=r"\S+ Invalid audiences: (?P<audience>\S+)")
    nested = replace(base, pattern=r"Invalid audiences: (?P<audience>(?:\S+ ?)+)")
    assert check_signature_lint(base) == []
    assert [p.message for p in check_signature_lint(wildcard)] == [
        "a search pattern must begin with fixed text (no ^, no wildcard)"]
    assert any("backtrack" in p.message for p in check_signature_lint(nested))


@pytest.mark.parametrize(("comm", "events"), [("pvedaemon worke", 1), ("logger", 0)])
def test_journald_trusted_comm_decides_who_wrote_a_line_not_its_identifier(comm: str, events: int) -> None:
    """SYSLOG_IDENTIFIER is what the client says (`logger -t pvedaemon`); _COMM is what journald saw."""
    entry = {"__REALTIME_TIMESTAMP": "1795281243512331", "_HOSTNAME": "pve2", "SYSLOG_IDENTIFIER": "pvedaemon",
             "_PID": "31306", "_COMM": comm, "MESSAGE": "openid authentication failure; rhost=10.6.6.6 msg=Failed to "
             "verify ID token: Invalid audiences: `evil123` is not a trusted audience"}
    found, _ = _result("journal_json", [json.dumps(entry)])
    assert len(found[found["event_kind"] == "auth_failure"]) == events
    assert len(found[found["event_kind"] == "suspicious"]) == 1 - events  # a forgery attempt is kept as a finding
