"""Preparing a held-out round (``evaluation/held_out.py``): the skip list and the records admitted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_evaluation import evaluate, held_out


def test_an_address_is_spelled_one_way_whatever_way_it_was_cited() -> None:
    spellings = ["http://www.github.com/Org/Repo/issues/12", "https://github.com/org/repo/issues/12/",
                 "https://github.com/org/repo/issues/12#issuecomment-99", "https://github.com/org/repo/issues/12)."]
    assert {held_out.normalise_address(s) for s in spellings} == {"https://github.com/org/repo/issues/12"}
    assert held_out.normalise_address("https://x.org/t?id=5") != held_out.normalise_address("https://x.org/t?id=6")


def test_the_skip_list_holds_what_any_text_file_cites_and_nothing_from_tool_folders(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("see https://forum.example.org/t/42/ and (http://www.a.example/b).\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "lines.jsonl").write_text(json.dumps({"source": "https://github.com/o/r/issues/1"}) + "\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "vendored.py").write_text("# https://pypi.org/project/x\n")
    (tmp_path / "table.parquet").write_bytes(b"PAR1\xff\xfe https://binary.example \x00")
    assert held_out.cited_addresses(tmp_path) == {
        "https://forum.example.org/t/42", "https://a.example/b", "https://github.com/o/r/issues/1"}


def test_the_projects_own_skip_list_holds_every_sets_threads() -> None:
    cited = held_out.cited_addresses()
    sources = {held_out.normalise_address(str(r["source"])) for name in evaluate.SETS
               for r in evaluate.load_set(name) if str(r["source"]).startswith("http")}
    assert sources <= cited


def test_admission_drops_samples_cited_threads_tokens_and_repeats_and_numbers_the_rest() -> None:
    sample = "Failed to verify ID token: Invalid audiences: `377572587972067335` is not a trusted audience"
    raw = [
        {"id": "a-1", "line": "WARN auth: " + sample, "expected": "untrusted_extra_audience",
         "source": "https://x.example/t/1"},
        {"id": "a-2", "line": sample, "expected": "untrusted_extra_audience", "source": "https://x.example/t/2"},
        {"id": "a-3", "line": "ERROR login refused", "expected": "config_error", "source": "http://www.x.example/t/3/"},
        {"id": "a-4", "line": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0 rejected", "expected": "expired",
         "source": "https://x.example/t/4"},
        {"id": "b-1", "line": "  WARN auth: " + sample, "expected": "untrusted_extra_audience",
         "source": "https://x.example/t/5"},
        {"id": "b-2", "line": "INFO token accepted for alice", "expected": None, "source": "https://x.example/t/6"},
        {"id": "b-3", "line": "client said: " + sample + " (quoted in full)", "expected": None,
         "source": "https://x.example/t/7"},
    ]
    result = held_out.admit(raw, "fresh99", samples=["pvedaemon[1]: " + sample + " (the whole sample)", sample],
                            cited_sources={"https://x.example/t/3"})
    assert [r["line"] for r in result.kept] == [raw[0]["line"], raw[5]["line"], raw[6]["line"]]
    assert [r["id"] for r in result.kept] == ["fresh99-0001", "fresh99-0002", "fresh99-0003"]
    assert result.kept[1]["source"] == "https://x.example/t/6" and raw[0]["id"] == "a-1"
    assert dict(result.dropped) == {"sample": 1, "cited": 1, "token": 1, "twice": 1}


def test_a_line_inside_a_long_sample_is_a_sample_but_a_short_one_may_stand_inside_it() -> None:
    long_line = "E0107 10:00:00.123456 1 authentication.go:73] Unable to authenticate the request"
    samples = [long_line + ' err="[invalid bearer token, oidc: token is expired]"']
    raw = [{"id": "1", "line": long_line, "source": "https://x.example/1"},
           {"id": "2", "line": "token is expired", "source": "https://x.example/2"}]
    assert [r["line"] for r in held_out.admit(raw, "f", samples, set()).kept] == ["token is expired"]


def test_admit_writes_the_round_and_says_what_it_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(held_out, "HERE", tmp_path)
    monkeypatch.setattr(held_out, "catalogue_texts", lambda: ["Signature has expired"])
    monkeypatch.setattr(held_out, "_sources_of_the_sets", lambda: {"https://x.example/old"})
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "x", "line": "jwt: Signature has expired", "expected": "expired", "source": "https://x.example/new"},
        {"id": "y", "line": "Signature has expired", "expected": "expired", "source": "https://x.example/other"},
        {"id": "z", "line": "ok", "expected": None, "source": "https://x.example/old"}]) + "\n")
    assert held_out.main(["admit", "fresh99", str(raw)]) == 0
    written = [json.loads(line) for line in (tmp_path / "fresh99" / "lines.jsonl").read_text().splitlines()]
    assert [r["id"] for r in written] == ["fresh99-0001"] and written[0]["line"] == "jwt: Signature has expired"
    said = capsys.readouterr().out
    assert "1 records kept" in said and "1 failures, 0 accepted lines, 1 threads" in said
    assert "1 sample" in said and "1 cited" in said
