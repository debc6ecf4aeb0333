"""Format definitions: the checked patterns of the built-in formats are remembered, never trusted unchecked."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from tokenaudit.formats import parsing as module


def test_builtin_patterns_are_checked_once_and_a_damaged_file_means_checking_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "tokenaudit").mkdir()
    (tmp_path / "tokenaudit" / "patterns-of-an-older-version.json").write_text("[]", encoding="utf-8")
    linted: list[str] = []
    real_lint = module.lint_pattern

    def counting_lint(pattern: str) -> list[str]:
        linted.append(pattern)
        return real_lint(pattern)

    monkeypatch.setattr(module, "lint_pattern", counting_lint)
    fresh = module._builtin_formats.__wrapped__()
    files = list((tmp_path / "tokenaudit").glob("patterns-*.json"))
    assert len(files) == 1 and oct(files[0].stat().st_mode & 0o777) == "0o600"
    assert len(linted) > 50 and sorted(set(linted)) == json.loads(files[0].read_text(encoding="utf-8"))
    linted.clear()
    assert module._builtin_formats.__wrapped__() == fresh and linted == []
    remembered = json.loads(files[0].read_text(encoding="utf-8"))
    dropped = module.load_formats()["combined_access"].count_pattern
    files[0].write_text(json.dumps([p for p in remembered if p != dropped]), encoding="utf-8")
    assert module._builtin_formats.__wrapped__() == fresh and linted == [dropped]  # the one not remembered
    linted.clear()
    files[0].write_text('{"not": "a list"}', encoding="utf-8")
    assert module._builtin_formats.__wrapped__() == fresh and len(linted) > 50


def test_a_remembered_pattern_does_not_let_a_user_format_through(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """User format folders are always checked in full, whatever the cache holds."""
    from tokenaudit.errors import CatalogueError

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bad = r"^(a+)+$"
    module._write_clean_patterns({bad})
    source = (module.DATA_DIR / "combined_access.toml").read_text(encoding="utf-8")
    folder = tmp_path / "formats"
    folder.mkdir()
    (folder / "combined_access.toml").write_text(source.replace("candidate = '\" 40[13] '", f"candidate = '{bad}'"),
                                                 encoding="utf-8")
    with pytest.raises(CatalogueError, match="backtrack"):
        module.load_formats(folder)


# --- gated candidates: common words count only in a message that reports a failure ---------------


def test_a_gated_literal_makes_a_candidate_only_where_the_message_reports_a_failure() -> None:
    fmt = module.load_formats()["syslog_rfc3164"]
    lines = pa.array([
        "Mar  8 09:37:44 pve app[1]: session state saved",              # the word, no failure
        "Mar  8 09:37:45 pve app[1]: ERROR login state mismatch",         # the word and a failure
        "Mar  8 09:37:46 failhost app[1]: session state saved",          # a failure word in the header only
        "Mar  8 09:37:47 pve pvedaemon[2]: authentication failure; x",   # the marker's own
    ])
    chunk = module.parse_chunk(lines, fmt, first_line_no=1, marker="authentication failure",
                               gated=("(?i:state)", "(?i:error|fail)"))
    assert chunk.records.column("line_no").to_pylist() == [2, 4]
    assert (chunk.account.read, chunk.account.parsed, chunk.account.rejected) == (4, 4, 0)
    ungated = module.parse_chunk(lines, fmt, first_line_no=1, marker="authentication failure")
    assert ungated.records.column("line_no").to_pylist() == [4]


def test_a_bodys_bracket_lines_continue_the_line_before_but_bodies_stay_apart() -> None:
    """A closing bracket never starts a record; an opening one does only right after a body closed."""
    generic = module.load_formats()["generic_text"]
    lines = ["x: 400 Bad Request", "{", '  "error" : "invalid_grant"', "}", "{", '  "a": 1', "],", "next"]
    assert module.join_continuation_lines(lines, generic) == [
        'x: 400 Bad Request { "error" : "invalid_grant" }', '{ "a": 1 ],', "next"]
    assert module.join_continuation_lines(["{", "}"], generic) == ["{ }"]


def test_a_body_on_one_line_continues_the_line_that_announces_it() -> None:
    """``error stream:`` then a JSON answer on one line is one record; JSON records after a plain line stay apart."""
    generic = module.load_formats()["generic_text"]
    lines = ["MSA Error: 401: Unauthorized, error stream:", '{"Identity":"0","XErr":2148916238}',
             "INFO started", '{"level":"info","msg":"ready"}', '{"level":"info","msg":"up"}']
    assert module.join_continuation_lines(lines, generic) == [
        'MSA Error: 401: Unauthorized, error stream: {"Identity":"0","XErr":2148916238}', "INFO started",
        '{"level":"info","msg":"ready"}', '{"level":"info","msg":"up"}']


def test_a_bodys_members_continue_the_line_before_even_unindented() -> None:
    """A JSON answer pasted without indentation is still one body; a CSV line's quoted field is no member."""
    generic = module.load_formats()["generic_text"]
    lines = ["{", '"error": "invalid_grant",', '"error_description": "Invalid JWT"', "}",
             '"2024-01-01","ERROR","login failed"', '"note" is a word, not a key']
    assert module.join_continuation_lines(lines, generic) == [
        '{ "error": "invalid_grant", "error_description": "Invalid JWT" }', '"2024-01-01","ERROR","login failed"',
        '"note" is a word, not a key']


# --- detection: an application's JSON log is not an access log because it names the client -----


def test_an_application_json_log_that_names_the_client_is_searched_not_read_as_nginx() -> None:
    from tokenaudit import why

    line = ('{"component":"api","error":"invalid request: Unacceptable audience in id_token","level":"info",'
            '"method":"POST","msg":"invalid request: Unacceptable audience in id_token","path":"/token",'
            '"remote_addr":"192.0.2.7","time":"2023-08-23T13:12:25Z"}')
    assert module.detect_format([line]).format.name != "nginx_json"
    assert why(line)[0].cause == "client_id_missing"
    access = ('{"remote_addr": "192.0.2.7", "time_local": "11/Feb/2023:11:40:13 -0800", "request": "GET / HTTP/1.1",'
              ' "status": "401", "http_user_agent": "curl/8.5.0"}')
    assert module.detect_format([access]).format.name == "nginx_json"
