"""What a person reads holds no half-made text: no template name, no nan/None/NaT, no Timedelta text, no repr.

The sample logs are ingested once; every command and format meant for people
(``analyze`` table and markdown, ``why``, ``explain`` on the captured tokens,
``report`` markdown and HTML, ``events`` CSV, ``signatures list``, ``formats``)
runs on them, and each output is scanned line by line. A word that stands in
text quoted verbatim from the input (a sample log line, a message as ingested:
Proxmox writes ``no such user ('bob')``) or from the catalogue (a signature's
source, which may quote code: ``audience=None``) is the input's, not ours, and
is let through.
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tokenaudit as ta
from tokenaudit.catalogue.loading import load_catalogue
from tokenaudit.cli import app

from .conftest import SAMPLE_LOGS

RUNNER = CliRunner()
PERIOD = ["--since", "2024-01-01", "--until", "2027-01-01"]
JUDGED_AT = "2026-11-21T17:12:00Z"
WHY_LINES = (
    "pvedaemon[2345]: openid authentication failure; rhost=::ffff:192.168.178.81 msg=Failed to verify ID token: "
    "Invalid audiences: `377572587972067335` is not a trusted audience",
    "oauth2-proxy: Error retrieving session from token in Authorization header: [unable to verify bearer token, oidc: "
    "token is expired (Token Expiry: 2026-11-21 17:05:00 +0000 UTC)]",
    "2026-11-21 17:20:03 ERROR api: auth failed: Token is expired",
    "pvedaemon[2345]: authentication failure; rhost=203.0.113.77 user=root@pam msg=Authentication failure",
    "GET /healthz 200",
)

#: What must never reach a reader, by kind. Each pattern is searched in every line of every output.
CHECKS: dict[str, re.Pattern[str]] = {
    # a template name nobody filled (`<detail>`), or fill's words for a bare name without a value
    "placeholder": re.compile(r"<[a-z_]+>|\(unknown [a-z ]+\)"),
    # a missing value printed as pandas or Python writes it
    "missing": re.compile(r"\b(?:nan|NaN|None|NaT)\b|<NA>"),
    # pandas Timedelta text: "0 days 00:59:27", "12 days 23:17:18"
    "timedelta": re.compile(r"\b\d+ days? [+-]?\d{1,2}:\d{2}:\d{2}"),
    # Python reprs: a list, tuple or dict of strings, a quoted string as !r writes it, objects and pandas types
    "repr": re.compile(r"[\[(]'[^']*'[,\])]|\{'[^']*': |(?<![\w`])'[^'\s]{2,}'(?![\w`])"
                       r"|<[\w.]+ object at 0x|\b(?:Timestamp|Timedelta|datetime\.\w+|np\.\w+)\(|\bdtype: "),
}


class _Text(HTMLParser):
    """The text a browser shows of an HTML page (no tags, no style or script)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._hidden += 1
        elif tag in ("p", "div", "tr", "li", "h1", "h2", "h3", "br", "figcaption", "pre", "td", "th", "title"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return "".join(parser.parts)


@cache
def catalogue_and_logs() -> str:
    """Text an output may quote verbatim: the sample log files and the catalogue's sources, titles and samples."""
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in SAMPLE_LOGS.rglob("*") if path.is_file()]
    for signature in load_catalogue().signatures:
        texts += [signature.source, signature.title, *(sample.message for sample in signature.samples)]
    return "\n".join(texts)


def quoted(line: str, match: re.Match[str], sources: str) -> bool:
    """Whether the match, with a few characters of the text before or after it, stands verbatim in ``sources``."""
    start, end = match.span()
    for context in (16, 8, 4):
        before, after = line[max(0, start - context):end].split("…")[-1], line[start:end + context].split("…")[0]
        if any(len(window.strip()) > len(match[0]) and window.strip() in sources for window in (before, after)):
            return True
    return False


def offending(text: str, check: str, sources: str | None = None) -> list[str]:
    """The lines of ``text`` that fail ``check``, each with what offends, for the assertion message."""
    sources = catalogue_and_logs() if sources is None else sources
    lines = [line.strip() for line in text.splitlines()]
    found = []
    for number, line in enumerate(lines, start=1):
        before = lines[number - 2] + " " if number > 1 else ""
        wrapped = before + line + (" " + lines[number] if number < len(lines) else "")  # a quote wrapped over lines
        for match in CHECKS[check].finditer(wrapped, len(before), len(before) + len(line)):
            if not quoted(wrapped, match, sources):
                found.append(f"line {number}: {match[0]!r} in: {line[:300]}")
                break
    return found


def run(args: list[str], ok: tuple[int, ...] = (0,)) -> str:
    result = RUNNER.invoke(app, args)
    assert result.exit_code in ok, f"{args}: exit {result.exit_code}: {result.output[-2000:]}"
    return result.stdout


def _tokens() -> list[str]:
    lines = (SAMPLE_LOGS / "jwt_lines" / "captured-bearer-tokens.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#@") and not line.startswith("curl:")]


def _explain(tmp: Path) -> str:
    outputs = []
    for number, value in enumerate(_tokens()):
        path = tmp / f"token{number}.txt"
        path.write_text(value + "\n", encoding="utf-8")
        for party in ("orders-api", "orders-ui"):
            outputs.append(run(["explain", str(path), "--config", str(SAMPLE_LOGS / "tokenaudit.toml"), "--rp", party,
                                "--at", JUDGED_AT], ok=(0, 1)))
    return "\n".join(outputs)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hygiene") / "dataset"
    ta.ingest([str(SAMPLE_LOGS)], root, timezone="Europe/Berlin")
    return root


@pytest.fixture(scope="module")
def sources(dataset: Path) -> str:
    """What outputs may quote: the files, the catalogue, and the messages as ingested (journal messages are bytes)."""
    messages = ta.read_events(dataset, columns=["message"])["message"].dropna().astype(str)
    return catalogue_and_logs() + "\n" + "\n".join(messages)


@pytest.fixture(scope="module")
def outputs(dataset: Path) -> dict[str, str]:
    """Every output a person reads, made from the sample logs."""
    tmp = dataset.parent
    data = ["--dataset", str(dataset)]
    return {
        "analyze table": run(["analyze", *data, *PERIOD, "--details", "all"]),
        "analyze markdown": run(["analyze", *data, *PERIOD, "--format", "markdown"]),
        "why": run(["why", *WHY_LINES], ok=(0, 5)),
        "explain": _explain(tmp),
        "report markdown": run(["report", *data, *PERIOD, "--format", "markdown"]),
        "report html": html_text(run(["report", *data, *PERIOD, "--format", "html"])),
        "events csv": run(["events", *data, *PERIOD, "--format", "csv"]),
        "signatures list": run(["signatures", "list"]),
        "formats": run(["formats"]),
    }


CASES = [
    pytest.param(output, check, id=f"{output}-{check}")
    for output in ("analyze table", "analyze markdown", "why", "explain", "report markdown", "report html",
                   "events csv", "signatures list", "formats")
    for check in CHECKS
]


@pytest.mark.parametrize(("output", "check"), CASES)
def test_no_half_made_text(outputs: dict[str, str], sources: str, output: str, check: str) -> None:
    assert outputs[output].strip(), f"{output} printed nothing"
    found = offending(outputs[output], check, sources)
    assert not found, f"{output}: {check}:\n" + "\n".join(found[:10])


@pytest.mark.parametrize(
    ("check", "text"),
    [
        ("placeholder", "why: The account was refused: <detail>"),
        ("placeholder", "from the node (unknown host)"),
        ("missing", "HTTP 401 on nan POST /signin"),
        ("missing", "relying party None"),
        ("timedelta", "exp 2026-11-21T18:11:27Z (0 days 00:59:27 before)"),
        ("repr", "roles ['orders:read'] missing"),
        ("repr", "iss is 'https://as.example.com/', the relying party expects"),
        ("repr", "first Timestamp('2026-11-21 17:05:00+0000', tz='UTC')"),
    ],
)
def test_the_scan_finds_what_it_looks_for(check: str, text: str) -> None:
    assert offending(text, check)


@pytest.mark.parametrize(
    "text",
    [
        "run `tokenaudit explain --client-id <client id> --expect id token.txt`",
        "It had expired 59 min 27 s before the check.",
        "pvedaemon[2345]: authentication failure; rhost=203.0.113.77 user=root@pam msg=Authentication failure",
        "The credentials given for root@pam were rejected; `account` is Keycloak's audience.",
    ],
)
def test_the_scan_lets_finished_text_through(text: str) -> None:
    assert not any(offending(text, check) for check in CHECKS)
