"""The per-line parser a user would write: the baseline tokenaudit is measured against.

Usage::

    python benchmarks/baseline.py --format nginx FILE              # prints the number of failure lines
    python benchmarks/baseline.py --format nginx --parse-all FILE  # the same, parsing every line first

``for line in f:``, one compiled regex with named groups that matches the failure
lines of the format (``json.loads`` per line for the JSON formats), and the fields
of each failure kept in a list, as a script that goes on to report them would.
Gzip files are read as they are. Formats are those of ``benchmarks/generate.py``.

Two shapes of that script: by default the regex itself selects the failures (a
401/403 status, pvedaemon's failure message), so other lines stop matching early;
``--parse-all`` is the parser written first, the one the issue timed (23.7 s for
5,000,000 nginx lines): every line matched by the format's general regex into its
fields, then the failure test on the fields. The JSON formats decode every line
either way, so for them both shapes are the same script.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

#: nginx ``combined``: a 401 or 403 response.
NGINX = re.compile(
    r'^(?P<remote_addr>\S+) - (?P<remote_user>\S+) \[(?P<time_local>[^\]]+)\] '
    r'"(?P<method>[A-Z]+) (?P<path>\S+) (?P<protocol>[^"]+)" (?P<status>40[13]) (?P<body_bytes_sent>\d+|-) '
    r'"(?P<http_referer>[^"]*)" "(?P<http_user_agent>[^"]*)"$'
)
#: Istio's default access log format: a 401 or 403 response.
ISTIO = re.compile(
    r'^\[(?P<start_time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) (?P<protocol>[^"]+)" '
    r"(?P<response_code>40[13]) (?P<response_flags>\S+) (?P<response_code_details>\S+) "
    r'(?P<connection_termination_details>\S+) "(?P<upstream_transport_failure_reason>[^"]*)" '
    r"(?P<bytes_received>\d+) (?P<bytes_sent>\d+) (?P<duration>\d+) (?P<upstream_service_time>\S+) "
    r'"(?P<x_forwarded_for>[^"]*)" "(?P<user_agent>[^"]*)" "(?P<request_id>[^"]*)" "(?P<authority>[^"]*)" '
    r'"(?P<upstream_host>[^"]*)" (?P<upstream_cluster>\S+) (?P<upstream_local_address>\S+) '
    r"(?P<downstream_local_address>\S+) (?P<downstream_remote_address>\S+) "
    r"(?P<requested_server_name>\S+) (?P<route_name>\S+)$"
)
#: RFC 3164 syslog: pvedaemon's login failure lines (password and OpenID).
PROXMOX_SYSLOG = re.compile(
    r"^(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) (?P<process>pvedaemon)\[(?P<pid>\d+)\]: "
    r"(?P<kind>openid )?authentication failure; rhost=(?P<rhost>\S+)(?: user=(?P<user>\S+))? msg=(?P<msg>.*)$"
)
#: The same failure message, as the MESSAGE of a journal entry.
PROXMOX_MESSAGE = re.compile(
    r"^(?P<kind>openid )?authentication failure; rhost=(?P<rhost>\S+)(?: user=(?P<user>\S+))? msg=(?P<msg>.*)$"
)
_DENIED = (401, 403)

#: The general line regexes of ``--parse-all``: any status, any process.
NGINX_LINE = re.compile(NGINX.pattern.replace("(?P<status>40[13])", r"(?P<status>\d{3})"))
ISTIO_LINE = re.compile(ISTIO.pattern.replace("(?P<response_code>40[13])", r"(?P<response_code>\d{3})"))
SYSLOG_LINE = re.compile(
    r"^(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) (?P<process>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: "
    r"(?P<msg>.*)$"
)
_DENIED_TEXT = ("401", "403")

#: A script: the failure lines of a file, (1-based line number, fields) each.
Scanner = Callable[[Path], Iterator[tuple[int, dict[str, object]]]]


def _open(path: Path) -> Iterator[str]:
    with open(path, "rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if compressed else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:  # type: ignore[operator]
        yield from f


def _regex(pattern: re.Pattern[str]) -> Callable[[Path], Iterator[tuple[int, dict[str, str | None]]]]:
    def scan(path: Path) -> Iterator[tuple[int, dict[str, str | None]]]:
        match = pattern.match
        for line_no, line in enumerate(_open(path), start=1):
            m = match(line.rstrip("\n"))
            if m:
                yield line_no, m.groupdict()

    return scan


def _parse_all(pattern: re.Pattern[str], is_failure: Callable[[dict[str, str | None]], bool]) -> Scanner:
    def scan(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
        match = pattern.match
        for line_no, line in enumerate(_open(path), start=1):
            m = match(line.rstrip("\n"))
            if m is None:
                continue
            fields = m.groupdict()
            if is_failure(fields):
                yield line_no, fields  # type: ignore[misc]

    return scan


def _pvedaemon_failure(fields: dict[str, str | None]) -> bool:
    if fields["process"] != "pvedaemon":
        return False
    m = PROXMOX_MESSAGE.match(fields["msg"] or "")
    if m is None:
        return False
    fields.update(m.groupdict())
    return True


def _traefik_json(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    for line_no, line in enumerate(_open(path), start=1):
        record = json.loads(line)
        if record.get("DownstreamStatus") in _DENIED:
            yield line_no, record


def _journal_json(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    match = PROXMOX_MESSAGE.match
    for line_no, line in enumerate(_open(path), start=1):
        record = json.loads(line)
        message = record.get("MESSAGE")
        if isinstance(message, list):  # not UTF-8: journald writes the bytes
            message = bytes(message).decode("utf-8", errors="replace")
        m = match(message) if isinstance(message, str) else None
        if m:
            yield line_no, {**record, **m.groupdict()}


SCANNERS: dict[str, Scanner] = {
    "nginx": _regex(NGINX),  # type: ignore[dict-item]
    "istio": _regex(ISTIO),  # type: ignore[dict-item]
    "traefik_json": _traefik_json,
    "proxmox_syslog": _regex(PROXMOX_SYSLOG),  # type: ignore[dict-item]
    "journal_json": _journal_json,
}


#: ``--parse-all``: formats whose default script does not already decode every line.
PARSE_ALL: dict[str, Scanner] = {
    "nginx": _parse_all(NGINX_LINE, lambda f: f["status"] in _DENIED_TEXT),
    "istio": _parse_all(ISTIO_LINE, lambda f: f["response_code"] in _DENIED_TEXT),
    "proxmox_syslog": _parse_all(SYSLOG_LINE, _pvedaemon_failure),
}


def failures(path: Path, format_name: str, *, parse_all: bool = False) -> list[tuple[int, dict[str, object]]]:
    """The failure lines of ``path``: (1-based line number, fields) each."""
    scanners = {**SCANNERS, **PARSE_ALL} if parse_all else SCANNERS
    return list(scanners[format_name](path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--format", required=True, choices=sorted(SCANNERS), dest="format_name")
    parser.add_argument("--line-sum", action="store_true", help="also print the sum of the failure line numbers")
    parser.add_argument("--parse-all", action="store_true",
                        help="match every line with the format's general regex, then test its fields")
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    found = failures(args.file, args.format_name, parse_all=args.parse_all)
    if args.line_sum:
        print(len(found), sum(line_no for line_no, _ in found))
    else:
        print(len(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
