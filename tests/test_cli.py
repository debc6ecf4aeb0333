"""The ``tokenaudit`` command line: wiring, exit codes and output.

These tests drive :data:`tokenaudit.cli.app` through typer's ``CliRunner``
(which, in this typer version, keeps stderr apart: ``result.stdout`` is the
program's output, ``result.stderr`` its ``error:``/``hint:`` lines, and
``result.output`` both interleaved). They check what a user sees, not the
library behind it; the library has tests of its own.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import tokenaudit
from tokenaudit.cli import app
from tokenaudit.formats.parsing import load_formats

from .conftest import SAMPLE_LOGS
from .crashkit import DAMAGE, damage

RUNNER = CliRunner()

#: The fake client secret in sample_logs/pve_domains_cfg/domains.cfg.
CLIENT_KEY = "Zk3vQ0Zq1d9Yb6Sx2Lr8Tn4Wm7Pc5Ha0"
ZITADEL_PROJECT_ID = "377572587972067335"
#: Every built-in format, in detection order; `tokenaudit formats` must list them all.
FORMAT_NAMES = tuple(load_formats())
#: Files `ingest sample_logs` reads: all but tokenaudit.toml, which a folder walk skips.
SAMPLE_SOURCES = sum(1 for p in SAMPLE_LOGS.rglob("*") if p.is_file() and p.name != "tokenaudit.toml")
EVENT_COLUMNS = ("ts", "source_file", "line_no", "format", "cause", "signature", "message")
GROUP_KEYS = ("cause", "count", "first_seen", "last_seen", "explanation", "recommendation")
TOTAL_RE = re.compile(
    r"read (?P<read>\d+) lines = parsed (?P<parsed>\d+) \+ skipped (?P<skipped>\d+)"
    r" \+ rejected (?P<rejected>\d+); (?P<events>\d+) failure events"
)
SOURCE_RE = re.compile(
    r": ingested as \w+; read (?P<read>\d+) = parsed (?P<parsed>\d+) \+ skipped (?P<skipped>\d+)"
    r" \+ rejected (?P<rejected>\d+); (?P<events>\d+) failure events"
)


def invoke(*args: object, input: str | None = None) -> Result:  # noqa: A002 - CliRunner's name
    """Run ``tokenaudit ARGS...`` in-process."""
    return RUNNER.invoke(app, [str(arg) for arg in args], input=input)


def explain(result: Result) -> str:
    """What to show when an assertion on ``result`` fails."""
    return (
        f"exit code {result.exit_code}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        f"\n--- exception\n{result.exception!r}"
    )


def numbers(match: re.Match[str] | None) -> dict[str, int]:
    assert match is not None
    return {key: int(value) for key, value in match.groupdict().items()}


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "no output"
    return lines[-1]


@dataclass(frozen=True)
class Ingested:
    """The sample logs ingested once, and what ``ingest`` printed doing it."""

    logs: Path
    dataset: Path
    result: Result


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    # A private copy, so that the test reads a stable snapshot of sample_logs/
    # even while someone edits it, and the ingest writes nothing there.
    base = tmp_path_factory.mktemp("cli")
    logs = base / "sample_logs"
    shutil.copytree(SAMPLE_LOGS, logs)
    dataset = base / "dataset"
    result = invoke("ingest", logs, "--dataset", dataset, "--timezone", "Europe/Berlin")
    assert result.exit_code == 0, explain(result)
    return Ingested(logs=logs, dataset=dataset, result=result)


def events_of(dataset: Path, *options: object) -> list[dict[str, object]]:
    result = invoke("events", "--dataset", dataset, "--format", "jsonl", *options)
    assert result.exit_code == 0, explain(result)
    return [json.loads(line) for line in result.stdout.splitlines()]


# --- version and help ----------------------------------------------------------------------


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0, explain(result)
    assert result.stdout.strip() == f"tokenaudit {tokenaudit.__version__}"


@pytest.mark.parametrize("option", ["--help", "-h"])
def test_top_level_help(option: str) -> None:
    result = invoke(option)
    assert result.exit_code == 0, explain(result)
    assert "Usage: tokenaudit" in result.stdout
    # The top level gives its example too.
    assert "Example:" in result.stdout
    for command in ("ingest", "analyze", "events", "formats", "signatures"):
        assert command in result.stdout


def test_no_arguments_shows_help_as_usage_error() -> None:
    result = invoke()
    assert result.exit_code == 2, explain(result)
    assert "Usage: tokenaudit" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["ingest"],
        ["analyze"],
        ["events"],
        ["formats"],
        ["signatures", "list"],
        ["signatures", "check"],
    ],
    ids=" ".join,
)
def test_command_help_has_example(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0, explain(result)
    assert f"Usage: tokenaudit {' '.join(command)}" in result.stdout
    example = [line for line in result.stdout.splitlines() if "Example:" in line]
    assert example, result.stdout
    assert f"tokenaudit {command[0]}" in example[0]


def test_signatures_group_help() -> None:
    result = invoke("signatures", "--help")
    assert result.exit_code == 0, explain(result)
    assert "list" in result.stdout and "check" in result.stdout


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("analyze", "TOKENAUDIT_DATASET"),
        ("events", "TOKENAUDIT_DATASET"),
        ("ingest", "TOKENAUDIT_DATASET"),
        ("ingest", "this machine"),
    ],
)
def test_help_shows_documented_defaults(command: str, text: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0, explain(result)
    assert text in " ".join(result.stdout.replace("│", " ").split())  # help text wraps at any width


def test_python_dash_m_version() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "tokenaudit", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"tokenaudit {tokenaudit.__version__}"


# --- ingest --------------------------------------------------------------------------------


def test_ingest_text_report_balances(ingested: Ingested) -> None:
    out = ingested.result.stdout
    total = last_line(out)
    assert total.startswith("total:"), out
    assert f"{SAMPLE_SOURCES} sources (0 failed)" in total
    assert str(ingested.dataset) in total
    totals = numbers(TOTAL_RE.search(total))
    assert totals["read"] == totals["parsed"] + totals["skipped"] + totals["rejected"]
    assert totals["read"] > 0 and totals["events"] > 0

    sources = [numbers(m) for m in SOURCE_RE.finditer(out)]
    assert len(sources) == SAMPLE_SOURCES, out
    for source in sources:
        assert source["read"] == source["parsed"] + source["skipped"] + source["rejected"]
    for key in ("read", "parsed", "skipped", "rejected", "events"):
        assert sum(source[key] for source in sources) == totals[key], key


def test_ingest_names_every_detected_format(ingested: Ingested) -> None:
    for name in FORMAT_NAMES:
        assert f"ingested as {name};" in ingested.result.stdout


def test_ingest_json_report_balances(ingested: Ingested, tmp_path: Path) -> None:
    result = invoke("ingest", ingested.logs, "--dataset", tmp_path / "ds", "--timezone",
                    "Europe/Berlin", "--format", "json")
    assert result.exit_code == 0, explain(result)
    report = json.loads(result.stdout)
    totals = report["totals"]
    assert totals["read"] == totals["parsed"] + totals["skipped"] + totals["rejected"]
    assert len(report["sources"]) == SAMPLE_SOURCES
    for source in report["sources"]:
        assert source["status"] == "ingested"
        assert source["read"] == source["parsed"] + source["skipped"] + source["rejected"]
    # Same input, same accounting as the text report.
    assert totals["read"] == numbers(TOTAL_RE.search(ingested.result.stdout))["read"]
    assert totals["events"] == numbers(TOTAL_RE.search(ingested.result.stdout))["events"]


def test_ingest_again_reads_nothing_new(ingested: Ingested, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    shutil.copytree(ingested.logs, logs)
    dataset = tmp_path / "ds"
    first = invoke("ingest", logs, "--dataset", dataset, "--timezone", "Europe/Berlin")
    assert first.exit_code == 0, explain(first)
    events = len(events_of(dataset))

    again = invoke("ingest", logs, "--dataset", dataset, "--timezone", "Europe/Berlin")
    assert again.exit_code == 0, explain(again)
    totals = numbers(TOTAL_RE.search(last_line(again.stdout)))
    assert totals == {"read": 0, "parsed": 0, "skipped": 0, "rejected": 0, "events": 0}
    assert len(events_of(dataset)) == events


def test_ingest_standard_input(tmp_path: Path) -> None:
    text = (SAMPLE_LOGS / "syslog_rfc5424" / "collector.log").read_text(encoding="utf-8")
    dataset = tmp_path / "ds"
    result = invoke("ingest", "-", "--dataset", dataset, input=text)
    assert result.exit_code == 0, explain(result)
    assert "ingested as syslog_rfc5424" in result.stdout
    totals = numbers(TOTAL_RE.search(last_line(result.stdout)))
    assert totals["read"] == totals["parsed"] + totals["skipped"] + totals["rejected"]
    assert totals["events"] == 1
    assert [event["cause"] for event in events_of(dataset)] == ["client_id_missing"]


def test_ingest_timezone_applies_to_rfc3164(ingested: Ingested) -> None:
    events = events_of(ingested.dataset)
    pve1 = [e for e in events if e["format"] == "syslog_rfc3164"]
    # "Nov 21 18:05:12" in Europe/Berlin (UTC+1) is 17:05:12 UTC.
    assert min(str(e["ts"]) for e in pve1) == "2026-11-21T17:05:12Z"


def test_ingest_missing_path_is_an_error(tmp_path: Path) -> None:
    result = invoke("ingest", tmp_path / "nosuchfile", "--dataset", tmp_path / "ds")
    assert result.exit_code == 1, explain(result)
    assert "error:" in result.stderr and "nosuchfile" in result.stderr
    assert "hint:" in result.stderr
    assert result.stdout == ""


def test_ingest_unknown_format_lists_known_ones(tmp_path: Path) -> None:
    log = SAMPLE_LOGS / "syslog_iso" / "pve3-short-iso.log"
    result = invoke("ingest", log, "--dataset", tmp_path / "ds", "--input-format", "nosuch")
    assert result.exit_code == 1, explain(result)
    assert "error:" in result.stderr and "nosuch" in result.stderr
    hint = [line for line in result.stderr.splitlines() if line.startswith("hint:")]
    assert hint, result.stderr
    for name in FORMAT_NAMES:
        assert name in hint[0]


def test_ingest_unknown_time_zone_is_an_error(tmp_path: Path) -> None:
    log = SAMPLE_LOGS / "syslog_rfc3164" / "pve1-syslog.log"
    result = invoke("ingest", log, "--dataset", tmp_path / "ds", "--timezone", "Mars/Olympus")
    assert result.exit_code == 1, explain(result)
    assert "error:" in result.stderr and "Mars/Olympus" in result.stderr
    assert "hint:" in result.stderr


@pytest.fixture
def half_readable_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mixed"
    folder.mkdir()
    # A binary journal file cannot be read; an unknown text file could (as generic_text).
    (folder / "notes.txt").write_bytes(b"LPKSHHRH\x00\x01\x02 binary journal\n")
    shutil.copy(SAMPLE_LOGS / "syslog_iso" / "pve3-short-iso.log", folder / "pve3.log")
    return folder


def test_ingest_partial_failure_exit_code_4(half_readable_folder: Path, tmp_path: Path) -> None:
    result = invoke("ingest", half_readable_folder, "--dataset", tmp_path / "ds")
    assert result.exit_code == 4, explain(result)
    assert "notes.txt" in result.output
    failed = [line for line in result.output.splitlines() if "notes.txt" in line]
    assert any("failed" in line for line in failed), result.output
    total = last_line(result.stdout)
    assert total.startswith("total:") and "(1 failed)" in total
    # The readable file is in the dataset all the same.
    assert events_of(tmp_path / "ds")


def test_ingest_partial_failure_json(half_readable_folder: Path, tmp_path: Path) -> None:
    result = invoke("ingest", half_readable_folder, "--dataset", tmp_path / "ds", "-f", "json")
    assert result.exit_code == 4, explain(result)
    report = json.loads(result.stdout)
    status = {Path(s["source"]).name: s["status"] for s in report["sources"]}
    assert status == {"notes.txt": "failed", "pve3.log": "ingested"}


# --- analyze -------------------------------------------------------------------------------


#: The first line of analyze's table: the events read, and what was counted apart or with another line.
ACCOUNTING_RE = re.compile(
    r"(?P<events>\d+) events?, [-0-9 to]+: (?P<failures>\d+) failures? in (?P<groups>\d+) groups?"
    r"(?:, (?P<suspicious>\d+) suspicious lines? shown apart)?"
    r"(?:, (?P<follow_ups>\d+) follow-up lines? counted with the failure they follow)?"
    r"(?:, (?P<paired>\d+) HTTP refusals? counted with the line that says why)?$"
)


def accounting(table: str) -> dict[str, int]:
    """The numbers of analyze's first line (which rich wraps at the width)."""
    head = " ".join(table.split("\n\n", 1)[0].split())
    match = ACCOUNTING_RE.match(head)
    assert match is not None, head
    return {key: int(value or 0) for key, value in match.groupdict().items()}


def test_analyze_table(ingested: Ingested, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    result = invoke("analyze", "--dataset", ingested.dataset)
    assert result.exit_code == 0, explain(result)
    lines = result.stdout.splitlines()
    # A summary first: one row per group with its fix in one line under it, the top group first.
    row = next(n for n, line in enumerate(lines) if re.match(r"\s*1  untrusted_extra_audience ", line))
    assert re.search(rf"\s8\s+zitadel\s+{ZITADEL_PROJECT_ID}\s+2026-11-22 12:44\s+high\s+ready$",
                     lines[row]), lines[row]
    assert lines[row + 1].strip().startswith("fix: First confirm that"), lines[row + 1]
    # Then the first three groups in full, and how to see the rest.
    details = [line for line in lines if line.startswith("#")]
    assert [d.split()[0] for d in details] == ["#1", "#2", "#3"], details
    assert details[0].startswith("#1 untrusted_extra_audience") and ZITADEL_PROJECT_ID in details[0]
    assert lines.index(details[0]) > row
    assert f"pveum realm modify zitadel --audiences {ZITADEL_PROJECT_ID}" in result.stdout
    groups = len(json.loads(invoke("analyze", "--dataset", ingested.dataset, "-f", "json").stdout))
    assert lines[-1] == f"{groups - 3} more groups in full: tokenaudit analyze --details all, or --format markdown/json"
    assert "\x1b[" not in result.stdout  # no colours when not a terminal


def test_analyze_summary_fits_one_screen(ingested: Ingested, monkeypatch: pytest.MonkeyPatch) -> None:
    for columns in (80, 120):
        monkeypatch.setenv("COLUMNS", str(columns))
        result = invoke("analyze", "--dataset", ingested.dataset)
        assert result.exit_code == 0, explain(result)
        lines = result.stdout.splitlines()
        summary = lines[:next(n for n, line in enumerate(lines) if line.startswith("#1 "))]
        assert len(summary) <= 40, (columns, len(summary))
        assert max(len(line) for line in summary) <= columns
        # Forged lines come apart, before the ranked table, under their own heading.
        security = next(n for n, line in enumerate(summary) if line.startswith("Security:"))
        forged = next(n for n, line in enumerate(summary) if "suspicious_line" in line)
        ranked = next(n for n, line in enumerate(summary) if re.match(r"\s*1  ", line))
        assert security < forged < ranked


@pytest.mark.parametrize(("details", "headings"), [("0", 0), ("1", 1), ("all", None)])
def test_analyze_details(ingested: Ingested, details: str, headings: int | None) -> None:
    result = invoke("analyze", "--dataset", ingested.dataset, "--details", details)
    assert result.exit_code == 0, explain(result)
    groups = json.loads(invoke("analyze", "--dataset", ingested.dataset, "-f", "json").stdout)
    shown = re.findall(r"^#(\d+) ", result.stdout, flags=re.MULTILINE)
    assert shown == [str(n) for n in range(1, (len(groups) if headings is None else headings) + 1)]
    if headings is None:
        assert last_line(result.stdout).startswith("All groups are shown in full")


def test_analyze_details_must_be_a_number_or_all(ingested: Ingested) -> None:
    result = invoke("analyze", "--dataset", ingested.dataset, "--details", "some")
    assert result.exit_code == 2, explain(result)
    assert "--details" in result.stderr and "'some'" in result.stderr


def test_analyze_counts_every_stored_event_or_says_where_it_went(ingested: Ingested) -> None:
    numbers = accounting(invoke("analyze", "--dataset", ingested.dataset).stdout)
    groups = json.loads(invoke("analyze", "--dataset", ingested.dataset, "-f", "json").stdout)
    exported = events_of(ingested.dataset)
    # The first number is what `events` exports; the parts add up to it.
    assert numbers["events"] == len(exported)
    assert numbers["events"] == numbers["failures"] + numbers["suspicious"] + numbers["follow_ups"] + numbers["paired"]
    # pveproxy's two 401s, paired with pvedaemon's lines in the journal, and oauth2-proxy's 403 of a callback, paired
    # with its auth log's "unauthorized" for the same request id
    assert numbers["paired"] == 3
    assert numbers["suspicious"] == sum(g["count"] for g in groups if g["cause"] == "suspicious_line") == 1
    assert numbers["failures"] + numbers["suspicious"] == sum(g["count"] for g in groups)
    assert numbers["groups"] == sum(1 for g in groups if g["cause"] != "suspicious_line")


def test_analyze_and_report_on_a_dask_cluster_print_what_they_print_alone(ingested: Ingested,
                                                                          dask_client: Any) -> None:
    address = dask_client.scheduler.address
    for command in (["analyze", "--format", "json"],
                    ["report", "--format", "json", "--since", "2026-11-20", "--until", "2026-11-24"]):
        alone = invoke(*command, "--dataset", ingested.dataset)
        spread = invoke(*command, "--dataset", ingested.dataset, "--dask", address)
        assert alone.exit_code == spread.exit_code == 0, explain(spread)
        assert len(alone.stdout) > 1000 and spread.stdout == alone.stdout


def test_an_unreachable_dask_scheduler_is_an_error_with_a_hint(ingested: Ingested) -> None:
    pytest.importorskip("distributed")
    result = invoke("analyze", "--dataset", ingested.dataset, "--dask", "tcp://127.0.0.1:9")
    assert result.exit_code == 1 and "cannot reach the Dask scheduler" in result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.output


def test_analyze_json(ingested: Ingested) -> None:
    result = invoke("analyze", "--dataset", ingested.dataset, "--format", "json")
    assert result.exit_code == 0, explain(result)
    groups = json.loads(result.stdout)
    assert isinstance(groups, list) and groups
    first = groups[0]
    assert first["cause"] == "untrusted_extra_audience"
    assert first["count"] == 8
    assert first["key"] == ZITADEL_PROJECT_ID
    assert first["relying_party"] == "zitadel"
    for group in groups:
        for key in GROUP_KEYS:
            assert key in group, (key, group)
        for key in ("explanation", "recommendation"):
            assert isinstance(group[key], str) and group[key].strip(), (key, group)
        assert isinstance(group["count"], int) and group["count"] > 0
        assert group["first_seen"] <= group["last_seen"]
    # Most frequent first, and failures no signature explains after all explained ones.
    counts = [group["count"] for group in groups]
    classified = [g["count"] for g in groups if g["cause"] != "unclassified"]
    unclassified = [g["count"] for g in groups if g["cause"] == "unclassified"]
    assert counts == classified + unclassified
    assert classified == sorted(classified, reverse=True)
    assert unclassified == sorted(unclassified, reverse=True)


def test_analyze_markdown(ingested: Ingested) -> None:
    result = invoke("analyze", "--dataset", ingested.dataset, "--format", "markdown")
    assert result.exit_code == 0, explain(result)
    assert result.stdout.startswith("**")
    assert "untrusted_extra_audience" in result.stdout


def test_analyze_json_markdown_and_table_agree_on_total(ingested: Ingested) -> None:
    table = accounting(invoke("analyze", "--dataset", ingested.dataset).stdout)
    markdown = invoke("analyze", "--dataset", ingested.dataset, "-f", "markdown").stdout
    groups = json.loads(invoke("analyze", "--dataset", ingested.dataset, "-f", "json").stdout)
    assert table["failures"] + table["suspicious"] == sum(group["count"] for group in groups)
    assert table["groups"] + (table["suspicious"] > 0) == len(groups)
    assert accounting(markdown.removeprefix("**").split("**")[0]) == table
    assert len(re.findall(r"^### \d+\. ", markdown, flags=re.MULTILINE)) == len(groups)


def test_analyze_unknown_format_is_a_usage_error(ingested: Ingested) -> None:
    result = invoke("analyze", "--dataset", ingested.dataset, "--format", "yaml")
    assert result.exit_code == 2, explain(result)


def test_analyze_time_window(ingested: Ingested) -> None:
    everything = invoke("analyze", "--dataset", ingested.dataset, "-f", "json")
    window = invoke("analyze", "--dataset", ingested.dataset, "-f", "json",
                    "--since", "2026-11-22", "--until", "2026-11-22T12:00:00Z")
    assert everything.exit_code == 0, explain(everything)
    assert window.exit_code == 0, explain(window)
    all_count = sum(group["count"] for group in json.loads(everything.stdout))
    window_groups = json.loads(window.stdout)
    window_count = sum(group["count"] for group in window_groups)
    assert 0 < window_count < all_count
    for group in window_groups:
        assert "2026-11-22T00:00:00Z" <= group["first_seen"]
        assert group["last_seen"] < "2026-11-22T12:00:00Z"


def test_events_time_window(ingested: Ingested) -> None:
    everything = events_of(ingested.dataset)
    window = events_of(ingested.dataset, "--since", "2026-11-22", "--until", "2026-11-22T12:00:00Z")
    assert 0 < len(window) < len(everything)
    assert all("2026-11-22T00:00:00Z" <= str(e["ts"]) < "2026-11-22T12:00:00Z" for e in window)
    # The window holds exactly the events of the full export that fall in it.
    start, end = "2026-11-22T00:00:00Z", "2026-11-22T12:00:00Z"
    inside = [e for e in everything if start <= str(e["ts"]) < end]
    assert len(window) == len(inside)


def test_relative_since_is_accepted(ingested: Ingested) -> None:
    result = invoke("analyze", "--dataset", ingested.dataset, "--since", "7d")
    assert result.exit_code == 0, explain(result)


@pytest.mark.parametrize("command", ["analyze", "events"])
@pytest.mark.parametrize("option", ["--since", "--until"])
def test_bad_time_bound_is_an_error(ingested: Ingested, command: str, option: str) -> None:
    result = invoke(command, "--dataset", ingested.dataset, option, "yesterdayish")
    assert result.exit_code == 1, explain(result)
    assert "error:" in result.stderr and "yesterdayish" in result.stderr
    assert "hint:" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["analyze", "events"])
def test_missing_dataset_is_an_error(tmp_path: Path, command: str) -> None:
    result = invoke(command, "--dataset", tmp_path / "nonexistent")
    assert result.exit_code == 1, explain(result)
    assert "error:" in result.stderr and "nonexistent" in result.stderr
    hint = [line for line in result.stderr.splitlines() if line.startswith("hint:")]
    assert hint and "tokenaudit ingest" in hint[0], result.stderr
    assert result.stdout == ""


def test_dataset_from_environment(ingested: Ingested, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENAUDIT_DATASET", str(ingested.dataset))
    with_env = invoke("analyze", "-f", "json")
    explicit = invoke("analyze", "--dataset", ingested.dataset, "-f", "json")
    assert with_env.exit_code == 0, explain(with_env)
    assert json.loads(with_env.stdout) == json.loads(explicit.stdout)


def test_empty_dataset(tmp_path: Path) -> None:
    dataset = tmp_path / "ds"
    ingest = invoke("ingest", SAMPLE_LOGS / "pve_domains_cfg", "--dataset", dataset)
    assert ingest.exit_code == 0, explain(ingest)
    table = invoke("analyze", "--dataset", dataset)
    assert table.exit_code == 0, explain(table)
    assert "No failure events" in table.stdout
    as_json = invoke("analyze", "--dataset", dataset, "-f", "json")
    assert json.loads(as_json.stdout) == []
    assert events_of(dataset) == []
    as_csv = invoke("events", "--dataset", dataset, "-f", "csv")
    assert as_csv.exit_code == 0, explain(as_csv)
    assert as_csv.stdout.startswith(",".join(EVENT_COLUMNS))


# --- events --------------------------------------------------------------------------------


def test_events_jsonl(ingested: Ingested) -> None:
    result = invoke("events", "--dataset", ingested.dataset, "--format", "jsonl")
    assert result.exit_code == 0, explain(result)
    lines = result.stdout.splitlines()
    assert lines
    for line in lines:
        event = json.loads(line)
        for key in EVENT_COLUMNS:
            assert key in event, (key, line)
        assert list(event)[: len(EVENT_COLUMNS)] == list(EVENT_COLUMNS)
    total_events = numbers(TOTAL_RE.search(last_line(ingested.result.stdout)))["events"]
    assert len(lines) == total_events


def test_events_csv(ingested: Ingested) -> None:
    result = invoke("events", "--dataset", ingested.dataset, "--format", "csv")
    assert result.exit_code == 0, explain(result)
    assert result.stdout.startswith(",".join(EVENT_COLUMNS))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(events_of(ingested.dataset))
    causes = {row["cause"] for row in rows}
    assert "untrusted_extra_audience" in causes


def test_events_default_format_is_jsonl(ingested: Ingested) -> None:
    default = invoke("events", "--dataset", ingested.dataset)
    assert default.exit_code == 0, explain(default)
    explicit = invoke("events", "--dataset", ingested.dataset, "--format", "jsonl")
    assert default.stdout == explicit.stdout


# --- formats and signatures ----------------------------------------------------------------


def test_formats() -> None:
    result = invoke("formats")
    assert result.exit_code == 0, explain(result)
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert sorted(listed) == sorted(FORMAT_NAMES)


def test_signatures_list() -> None:
    result = invoke("signatures", "list")
    assert result.exit_code == 0, explain(result)
    ids = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert "openidconnect.untrusted_audience" in ids
    assert len(ids) == len(set(ids))


def test_signatures_check_builtin() -> None:
    result = invoke("signatures", "check")
    assert result.exit_code == 0, explain(result)
    assert last_line(result.stdout) == "0 problem(s)"


def write_signature_file(folder: Path, expect_kid: str) -> Path:
    path = folder / "mine.toml"
    path.write_text(
        'family = "mine"\n'
        'source = "test"\n'
        "\n"
        "[[signature]]\n"
        'id = "mine.thing"\n'
        'title = "A token of ours expired"\n'
        'cause = "expired"\n'
        "pattern = '^Token (?P<kid>\\w+) expired$'\n"
        "  [[signature.sample]]\n"
        '  message = "Token abc expired"\n'
        f'  expect = {{ kid = "{expect_kid}" }}\n',
        encoding="utf-8",
    )
    return path


def test_signatures_check_bad_user_file(tmp_path: Path) -> None:
    path = write_signature_file(tmp_path, expect_kid="wrong")
    result = invoke("signatures", "check", "--signatures", path)
    assert result.exit_code == 3, explain(result)
    assert "mine.thing" in result.stdout
    assert last_line(result.stdout) == "1 problem(s)"


def test_signatures_check_good_user_file(tmp_path: Path) -> None:
    path = write_signature_file(tmp_path, expect_kid="abc")
    result = invoke("signatures", "check", "--signatures", path)
    assert result.exit_code == 0, explain(result)
    assert last_line(result.stdout) == "0 problem(s)"
    listed = invoke("signatures", "list", "--signatures", path)
    assert listed.exit_code == 0, explain(listed)
    assert "mine.thing" in listed.stdout


def test_signatures_check_warns_of_a_sample_the_user_s_spans_hide(tmp_path: Path) -> None:
    """The sample fires as written, but a real line is searched with the quote in prose masked: a warning, exit 0."""
    path = tmp_path / "mine.toml"
    path.write_text(
        'family = "mine"\nsource = "test"\n\n[[signature]]\nid = "mine.quoted"\ntitle = "t"\ncause = "expired"\n'
        "search = true\npattern = 'Frobnicated token expired'\n"
        "  [[signature.sample]]\n"
        "  message = 'ERROR the validator said \"Frobnicated token expired\"'\n",
        encoding="utf-8",
    )
    result = invoke("signatures", "check", "--signatures", path)
    assert result.exit_code == 0, explain(result)
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "mine.quoted[sample0]" in warnings[0]
    assert "1 sample(s) fire only as written" in result.stdout
    assert last_line(result.stdout) == "0 problem(s)"


def test_signatures_file_with_wrong_family_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('family = "other"\nsource = "test"\n', encoding="utf-8")
    result = invoke("signatures", "check", "--signatures", path)
    assert result.exit_code == 1, explain(result)
    assert "error:" in result.stderr and "mine.toml" in result.stderr


def test_signatures_missing_file_is_an_error(tmp_path: Path) -> None:
    result = invoke("signatures", "check", "--signatures", tmp_path / "absent.toml")
    assert result.exit_code == 1, explain(result)
    assert "error:" in result.stderr and "absent.toml" in result.stderr


# --- secrets -------------------------------------------------------------------------------


def test_client_key_is_in_the_sample_config() -> None:
    """Guard for the next test: the secret it looks for is really in the input."""
    domains_cfg = SAMPLE_LOGS / "pve_domains_cfg" / "domains.cfg"
    assert CLIENT_KEY in domains_cfg.read_text(encoding="utf-8")


def test_no_output_reveals_the_client_key(ingested: Ingested, tmp_path: Path) -> None:
    domains_cfg = ingested.logs / "pve_domains_cfg" / "domains.cfg"
    dataset = ingested.dataset
    runs: list[tuple[list[object], str | None]] = [
        (["ingest", domains_cfg, "--dataset", tmp_path / "a"], None),
        (["ingest", domains_cfg, "--dataset", tmp_path / "b", "-f", "json"], None),
        (["ingest", "-", "--dataset", tmp_path / "c"], domains_cfg.read_text(encoding="utf-8")),
        (["ingest", domains_cfg, "--dataset", tmp_path / "d", "--input-format", "syslog_iso"], None),
        (["analyze", "--dataset", dataset], None),
        (["analyze", "--dataset", dataset, "-f", "json"], None),
        (["analyze", "--dataset", dataset, "-f", "markdown"], None),
        (["events", "--dataset", dataset, "-f", "jsonl"], None),
        (["events", "--dataset", dataset, "-f", "csv"], None),
        (["analyze", "--dataset", tmp_path / "a"], None),
        (["events", "--dataset", tmp_path / "c"], None),
    ]
    outputs = [ingested.result]
    for args, stdin in runs:
        result = invoke(*args, input=stdin)
        assert result.exit_code == 0, (args, explain(result))
        outputs.append(result)
    for result in outputs:
        assert CLIENT_KEY not in result.stdout
        assert CLIENT_KEY not in result.stderr


# --- damaged datasets and datasets of a newer version -----------------------------------------


def test_a_report_reads_only_the_events_files_of_its_period(pristine: Path, tmp_path: Path) -> None:
    """A damaged events file of another day stops analyze (it reads every day), not a report of a period without it."""
    import pandas as pd

    root = tmp_path / "dataset"
    shutil.copytree(pristine, root)
    damaged = sorted(root.glob("events/*/part-*.parquet"))[0]  # the file damage() spoils
    damage(root, "garbage events file")
    assert damaged.read_bytes().startswith(b"PAR1 this is not")
    day = pd.Timestamp(damaged.parent.name.removeprefix("event_date="), tz="UTC")
    assert invoke("analyze", "--dataset", root).exit_code == 1

    def report(first: int, last: int) -> Result:  # days after the damaged one; the period before is read too
        return invoke("report", "--dataset", root, "--since", (day + pd.Timedelta(days=first)).isoformat(),
                      "--until", (day + pd.Timedelta(days=last)).isoformat())

    assert report(3, 5).exit_code == 0, explain(report(3, 5))
    for first, last in ((0, 1), (1, 2)):  # the damaged day in the period, or in the period before
        result = report(first, last)
        assert result.exit_code == 1 and "damaged" in result.stderr, explain(result)

DAMAGE_LOGS = ("combined_access", "jwt_lines", "pve_domains_cfg", "syslog_iso")
#: The tables each command reads ("*": tokenaudit.json and the folder; ingest checks every file).
READS = {
    "analyze": {"*", "manifest", "events", "realms", "tokens"},
    "events": {"*", "manifest", "events"},
    "report": {"*", "manifest", "events", "realms", "tokens", "requests"},
    "ingest": {"*", "manifest", "events", "realms", "tokens", "requests"},
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small dataset with a file in every table, to copy and damage."""
    root = tmp_path_factory.mktemp("pristine") / "dataset"
    result = invoke("ingest", *(SAMPLE_LOGS / name for name in DAMAGE_LOGS), "--dataset", root, "--timezone", "UTC")
    assert result.exit_code == 0, explain(result)
    return root


@pytest.mark.parametrize("command", ["analyze", "events", "report", "ingest"])
@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_or_newer_dataset_is_one_error_line_and_a_hint(pristine: Path, tmp_path: Path, kind: str,
                                                               command: str) -> None:
    root = tmp_path / "dataset"
    shutil.copytree(pristine, root)
    damage(root, kind)
    # The report's period holds every sample: it reads only the files of its period's days.
    args = [SAMPLE_LOGS / "syslog_iso"] if command == "ingest" else ["--since", "2000-01-01"] if command == "report" \
        else []

    result = invoke(command, *args, "--dataset", root)

    if DAMAGE[kind] not in READS[command]:  # a damaged table the command has no need of
        assert result.exit_code == 0, explain(result)
        return
    assert result.exit_code == 1, explain(result)
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), explain(result)
    assert ("upgrade tokenaudit" in lines[1]) == ("999" in kind or "newer" in kind), explain(result)
    assert result.stdout == ""


# --- ingest's progress bar -------------------------------------------------------------------


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Standard error as a terminal 100 columns wide: what rich's progress bar draws, without its control codes."""
    from rich.console import Console

    screen = io.StringIO()
    monkeypatch.setattr("tokenaudit.cli._progress_console",
                        lambda: Console(file=screen, force_terminal=True, width=100, color_system=None))
    return screen


def drawn(screen: io.StringIO) -> list[str]:
    """The states the progress bar went through, one a line."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    return [line.strip() for line in re.split(r"[\r\n]", text) if line.strip()]


def test_a_first_run_says_the_word_model_is_learnt_first(terminal: io.StringIO, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tokenaudit.catalogue import word_model as words

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(words, "_MODELS", {})  # a new process, an empty cache folder
    result = invoke("why", "ERROR auth: jwt expired")
    assert result.exit_code == 0, explain(result)
    assert any("learning the words of the catalogue's samples" in s for s in drawn(terminal))

    terminal.truncate(0)
    terminal.seek(0)
    assert invoke("why", "ERROR auth: jwt expired").exit_code == 0  # learnt: nothing to say
    assert not any("learning the words" in s for s in drawn(terminal))


def test_ingest_progress_counts_compressed_bytes_of_a_gz(terminal: io.StringIO, tmp_path: Path) -> None:
    text = (SAMPLE_LOGS / "syslog_iso" / "pve3-short-iso.log").read_bytes()
    log = tmp_path / "pve3.log.gz"
    log.write_bytes(gzip.compress(text * 200))  # 312 kB of lines in 2 kB or so: the old display said 15000 %
    plain = tmp_path / "other.log"
    plain.write_bytes(text)
    total = log.stat().st_size + plain.stat().st_size

    result = invoke("ingest", log, plain, "--dataset", tmp_path / "ds", "--timezone", "UTC")

    assert result.exit_code == 0, explain(result)
    states = drawn(terminal)
    assert any(s.startswith("file 1 of 2 pve3.log.gz") for s in states), states
    last = [s for s in states if s.startswith("file 2 of 2 other.log")][-1]
    # Bytes of all inputs as they are on disk, read / total (rich's decimal kB), then the rate.
    done = re.search(r"(\d+\.\d)/(\d+\.\d) kB", last)
    assert done is not None, last
    assert done[1] == done[2] == f"{total / 1000:.1f}", last
    assert "%" not in "".join(states)
    assert "ingested as syslog_iso" in result.stdout  # the line accounting follows, unchanged


def test_ingest_progress_is_silent_with_quiet(terminal: io.StringIO, tmp_path: Path) -> None:
    log = SAMPLE_LOGS / "syslog_iso" / "pve3-short-iso.log"
    result = invoke("ingest", log, "--dataset", tmp_path / "ds", "--quiet")
    assert result.exit_code == 0, explain(result)
    assert terminal.getvalue() == ""


def test_ingest_progress_is_silent_when_not_a_terminal(tmp_path: Path) -> None:
    log = SAMPLE_LOGS / "syslog_iso" / "pve3-short-iso.log"
    result = invoke("ingest", log, "--dataset", tmp_path / "ds")  # CliRunner's stderr is no terminal
    assert result.exit_code == 0, explain(result)
    assert result.stderr == ""


# --- one meaning per option --------------------------------------------------------------------


def test_ingest_format_is_the_output_format_and_input_format_forces_the_log_format(tmp_path: Path) -> None:
    log = SAMPLE_LOGS / "syslog_iso" / "pve3-short-iso.log"
    result = invoke("ingest", log, "--dataset", tmp_path / "ds", "--input-format", "syslog_iso", "--format", "json")
    assert result.exit_code == 0, explain(result)
    assert [source["format"] for source in json.loads(result.stdout)["sources"]] == ["syslog_iso"]


def test_report_output_writes_the_file(ingested: Ingested, tmp_path: Path) -> None:
    out = tmp_path / "r" / "report.json"
    result = invoke("report", "--dataset", ingested.dataset, "--since", "2026-11-01", "--until", "2026-12-01",
                    "--format", "json", "-o", out)
    assert result.exit_code == 0, explain(result)
    assert result.stdout == "" and f"report written to {out}" in result.stderr
    assert json.loads(out.read_text(encoding="utf-8"))


def test_since_duration_counts_back_from_until(ingested: Ingested) -> None:
    counted_back = events_of(ingested.dataset, "--since", "12h", "--until", "2026-11-22T12:00:00Z")
    spelled_out = events_of(ingested.dataset, "--since", "2026-11-22", "--until", "2026-11-22T12:00:00Z")
    assert counted_back and counted_back == spelled_out


def test_report_since_a_day_until_a_date_is_that_day(ingested: Ingested) -> None:
    # The example: it failed with "the period ends before it starts".
    result = invoke("report", "--dataset", ingested.dataset, "--since", "1d", "--until", "2026-11-22",
                    "--format", "json")
    assert result.exit_code == 0, explain(result)
    day = invoke("report", "--dataset", ingested.dataset, "--since", "2026-11-21", "--until", "2026-11-22",
                 "--format", "json")
    assert json.loads(result.stdout) == json.loads(day.stdout)


@pytest.mark.parametrize("command", [["events"], ["report"], ["analyze"]], ids=" ".join)
def test_signatures_option_is_read_by_every_command_that_matches(ingested: Ingested, tmp_path: Path,
                                                                 command: list[str]) -> None:
    good = write_signature_file(tmp_path, expect_kid="abc")
    result = invoke(*command, "--dataset", ingested.dataset, "--signatures", good)
    assert result.exit_code == 0, explain(result)
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe")
    result = invoke(*command, "--dataset", ingested.dataset, "--signatures", bad)
    assert result.exit_code == 1, explain(result)
    assert "bad.toml" in result.stderr and "not UTF-8" in result.stderr


_POOL_AFTER_A_COMMAND = """
import sys
from tokenaudit.cli import main
sys.argv = ["tokenaudit", "why", "Invalid audiences: `123` is not a trusted audience", "-f", "json"]
try:
    main()
except SystemExit:
    pass
import pyarrow
print(pyarrow.default_memory_pool().backend_name, file=sys.stderr)
"""


@pytest.mark.parametrize(("chosen", "expected"), [(None, "system"), ("mimalloc", "mimalloc")])
def test_the_command_line_has_arrow_use_the_system_allocator_unless_the_user_chose_one(
    chosen: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mimalloc kept freed blocks: an ingest's peak memory grew with the file (20M syslog lines: 508 -> 377 MB)."""
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    if chosen is not None:
        monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", chosen)
    done = subprocess.run([sys.executable, "-c", _POOL_AFTER_A_COMMAND], capture_output=True, text=True,
                          check=False, timeout=120)
    assert json.loads(done.stdout)[0]["cause"] == "untrusted_extra_audience"
    assert done.stderr.strip().splitlines()[-1] == expected
