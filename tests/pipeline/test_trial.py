"""`signatures try`: matches per signature, and failure-looking lines none explains."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tokenaudit.catalogue.loading import load_catalogue
from tokenaudit.cli import app
from tokenaudit.pipeline.trial import try_signatures

from ..conftest import SAMPLE_LOGS


def test_trial_counts_matches_and_groups_misses_by_template(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("\n".join([
        "2026/11/22 10:00:01 api ERROR request rejected: quota q1 exhausted for client 1234567",
        "2026/11/22 10:00:02 api ERROR request rejected: quota q1 exhausted for client 7654321",
        "2026/11/22 10:00:03 api handled GET /health 200",
        "2026/11/22 10:00:04 api Failed to verify ID token: Invalid audiences: `42` is not a trusted audience",
    ]) + "\n", encoding="utf-8")
    trial = try_signatures(log, load_catalogue())
    assert trial.format == "generic_text" and trial.lines == 4
    assert trial.matched.to_dict("records") == [
        {"signature": "openidconnect.untrusted_audience", "cause": "untrusted_extra_audience", "lines": 1,
         "first_line": 4}]
    [miss] = trial.missed.to_dict("records")
    assert miss["lines"] == 2 and miss["first_line"] == 1
    assert "client <NUM>" in miss["template"]


def test_cli_try_on_a_sample_log() -> None:
    result = CliRunner().invoke(app, ["signatures", "try", str(SAMPLE_LOGS / "syslog_rfc3164" / "pve1-syslog.log")])
    assert result.exit_code == 0, result.output
    assert "3  openidconnect.untrusted_audience" in result.stdout
    assert "Invalid subject: expected `<NUM>`" in result.stdout


def test_cli_try_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["signatures", "try", str(tmp_path / "nope.log")])
    assert result.exit_code == 1 and "no such file" in result.stderr
