"""Nightly runs: a crontab line or a systemd service and timer for ingest, compact, report.

Ingest is incremental, so the same command every night reads only what is
new; compact then merges the day's small batches (an ingest every five minutes
makes 288) so that readers open a few files; reports are named by date and
the oldest are removed.
"""

from __future__ import annotations

import shlex
from pathlib import Path


def nightly_command(paths: list[str], *, dataset: Path | str, reports: Path, keep: int, executable: str = "tokenaudit",
                    report_format: str = "html") -> str:
    """The shell command a nightly job runs: ingest, compact, report of the last 24 h, prune old reports.

    The ingest's JSON summary (line accounting per file) is kept beside the reports.

    Examples
    --------
    >>> print(nightly_command(["/var/log/syslog"], dataset=Path("/srv/ta"), reports=Path("/srv/r"), keep=14))
    tokenaudit ingest /var/log/syslog --dataset /srv/ta --format json > /srv/r/ingest-last.json; tokenaudit compact --dataset /srv/ta; tokenaudit report --dataset /srv/ta --since 24h --format html --output /srv/r/report-$(date +%F).html; find /srv/r -name 'report-*.html' -mtime +14 -delete
    """  # noqa: E501 - the doctest output is one line, and doctest compares it whole
    quoted = " ".join(shlex.quote(p) for p in paths)
    ds, out = shlex.quote(str(dataset)), str(reports)
    # The report runs even when ingest exits 4 (some input unreadable): the rest was ingested.
    # Compact after ingest (and whatever it exits with): it merges the day's batches, ingests' and others'.
    return (f"{executable} ingest {quoted} --dataset {ds} --format json > {shlex.quote(out)}/ingest-last.json"
            f"; {executable} compact --dataset {ds}"
            f"; {executable} report --dataset {ds} --since 24h --format {report_format}"
            f" --output {shlex.quote(out)}/report-$(date +%F).{report_format}"
            f"; find {shlex.quote(out)} -name 'report-*.{report_format}' -mtime +{keep} -delete")


def crontab_line(command: str, *, at: str = "02:15") -> str:
    """A crontab line running ``command`` daily at ``at`` (HH:MM); ``%`` escaped as cron needs.

    Examples
    --------
    >>> print(crontab_line("echo $(date +%F)", at="03:05"))
    5 3 * * * echo $(date +\\%F)
    """
    hour, minute = (int(part) for part in at.split(":"))
    return f"{minute} {hour} * * * " + command.replace("%", "\\%")


def systemd_units(command: str, *, at: str = "02:15", name: str = "tokenaudit-nightly") -> str:
    """A systemd service and timer (both files, with their paths as comments) running ``command`` daily."""
    return (f"# /etc/systemd/system/{name}.service\n"
            "[Unit]\nDescription=tokenaudit: ingest new log lines, compact, write the nightly report\n\n"
            f"[Service]\nType=oneshot\nExecStart=/bin/sh -c {shlex.quote(command)}\n\n"
            f"# /etc/systemd/system/{name}.timer\n"
            f"[Unit]\nDescription=Run {name} every night\n\n"
            f"[Timer]\nOnCalendar=*-*-* {at}:00\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n\n"
            f"# then: systemctl daemon-reload && systemctl enable --now {name}.timer\n")
