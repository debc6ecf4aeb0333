"""Reports: periods, changes, security findings, renderers, --fail-on, and the nightly schedule."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import tokenaudit as ta
from tokenaudit.cli import app
from tokenaudit.report import build_report
from tokenaudit.report_render import render_report
from tokenaudit.schedule import crontab_line, nightly_command, systemd_units

from .conftest import SAMPLE_LOGS

DAY = pd.Timestamp("2026-11-22", tz="UTC")
RUNNER = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    shutil.copytree(SAMPLE_LOGS, root / "logs")
    ta.ingest([str(root / "logs")], root / "ds", timezone="Europe/Berlin", fingerprint_key=b"r" * 32)
    return root / "ds"


def test_report_compares_with_the_period_before(dataset: Path) -> None:
    report = build_report(dataset, since=DAY, until=DAY + pd.Timedelta(days=1))
    assert report.previous_since == DAY - pd.Timedelta(days=1)
    events_now = ta.read_events(dataset, since=DAY, until=DAY + pd.Timedelta(days=1))
    events_before = ta.read_events(dataset, since=DAY - pd.Timedelta(days=1), until=DAY)
    assert (report.totals["events"], report.totals["previous_events"]) == (len(events_now), len(events_before))
    changes = report.changes.set_index("cause")
    assert changes["current"].sum() == len(events_now) and changes["previous"].sum() == len(events_before)
    # signature_invalid happens on Nov 22 only (pve2 journal): new against Nov 21.
    assert changes.loc["signature_invalid", "trend"] == "new"
    assert "signature_invalid" in report.new_causes
    assert report.triggers(["new"]) and report.triggers(["signature_invalid"]) == ["signature_invalid"]
    assert report.triggers(["azp_mismatch"]) == []


def test_security_findings_come_first_and_name_the_zitadel_risk(dataset: Path) -> None:
    report = build_report(dataset, since=DAY - pd.Timedelta(days=1), until=DAY + pd.Timedelta(days=1))
    titles = [f.title for f in report.security]
    assert any("Token risk at zitadel" == t for t in titles)
    assert any("no roles" in f.detail for f in report.security)
    severities = [f.severity for f in report.security]
    assert severities == sorted(severities, key=["high", "medium", "low"].index)


def test_password_guessing_is_a_finding(tmp_path: Path) -> None:
    log = tmp_path / "syslog"
    log.write_text("".join(
        f"2026-11-22T10:00:{i:02d}+00:00 pve1 pvedaemon[1]: authentication failure; rhost=203.0.113.9 "
        f"user=root@pam msg=Authentication failure\n" for i in range(6)), encoding="utf-8")
    ta.ingest([str(log)], tmp_path / "ds", fingerprint_key=b"r" * 32)
    report = build_report(tmp_path / "ds", since=DAY, until=DAY + pd.Timedelta(days=1))
    assert [f.title for f in report.security] == ["Password guessing from 203.0.113.9"]


@pytest.mark.parametrize("fmt", ["markdown", "json", "html"])
def test_renderers(dataset: Path, fmt: str) -> None:
    report = build_report(dataset, since=DAY, until=DAY + pd.Timedelta(days=1))
    text = render_report(report, fmt=fmt)
    if fmt == "json":
        data = json.loads(text)
        assert data["period"] == {"since": "2026-11-22T00:00:00Z", "until": "2026-11-23T00:00:00Z",
                                  "previous_since": "2026-11-21T00:00:00Z"}
        assert data["groups"][0]["cause"] == report.groups.iloc[0]["cause"]
        assert {c["cause"] for c in data["changes"]} == set(report.changes["cause"])
    elif fmt == "html":
        assert text.startswith("<!doctype html>") and text.count("<svg") >= 1
        assert not re.search(r'(?:src|href)="https?://', text), "the HTML report must need no network"
        assert "Security findings" in text.split("What changed")[0]
    else:
        assert text.index("## Security findings") < text.index("## What changed") < text.index("## Top causes")


def test_cli_report_writes_a_file_and_fails_on_new(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "r.html"
    args = ["report", "--dataset", str(dataset), "--since", "2026-11-22", "--until", "2026-11-23",
            "--format", "html", "--out", str(out)]
    result = RUNNER.invoke(app, [*args, "--fail-on", "new"])
    assert result.exit_code == 3 and "fail-on: new: " in result.stderr
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    quiet = RUNNER.invoke(app, [*args, "--fail-on", "azp_mismatch"])
    assert quiet.exit_code == 0, quiet.output


def test_cli_report_on_no_dataset_is_an_error(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["report", "--dataset", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "hint:" in result.stderr


def test_nightly_schedule() -> None:
    command = nightly_command(["/var/log/syslog", "/etc/pve/domains.cfg"], dataset=Path("/srv/ta"),
                              reports=Path("/srv/reports"), keep=7)
    assert "tokenaudit ingest /var/log/syslog /etc/pve/domains.cfg --dataset /srv/ta" in command
    assert "-mtime +7 -delete" in command
    line = crontab_line(command, at="02:15")
    assert line.startswith("15 2 * * * ") and "date +\\%F" in line
    units = systemd_units(command, at="02:15")
    assert "OnCalendar=*-*-* 02:15:00" in units and "Type=oneshot" in units


def test_cli_schedule_rejects_a_bad_time() -> None:
    result = RUNNER.invoke(app, ["schedule", "/var/log/syslog", "--at", "25:00"])
    assert result.exit_code == 1 and "HH:MM" in result.stderr
