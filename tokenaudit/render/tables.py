"""Render analysis results and ingest reports as text: table, Markdown, JSON, JSON lines, CSV.

Every function returns a string; the CLI prints it, a notebook displays it.
"""

from __future__ import annotations

import io
import json
import re
import textwrap
from typing import Any

import pandas as pd

from ..analysis.failures import GroupAccounting, group_accounting
from ..common.timestamps import duration_text
from ..pipeline.batches import IngestReport

#: Groups the table format shows in full by default.
DETAILS = 3
#: Rows of the summary table: with the lines around it, the summary fits a 40-line screen.
SUMMARY_ROWS = 12
#: Columns ``events`` exports come first, in this order.
EXPORT_COLUMNS = ("ts", "source_file", "line_no", "format", "cause", "signature", "message")


def plain(value: Any) -> str:
    """A cell as text: missing values (None, NaN, NA) become ""."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def iso(value: Any) -> str | None:
    """A time as ISO 8601 text in UTC (``…Z``); missing values (None, NaT) become ``None``."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text: str = pd.Timestamp(value).isoformat()
    return text.replace("+00:00", "Z")


def groups_to_records(groups: pd.DataFrame) -> list[dict[str, Any]]:
    """Turn failure groups into JSON-ready dicts (times as ISO 8601 UTC).

    Examples
    --------
    >>> groups_to_records(pd.DataFrame(columns=["cause", "first_seen", "last_seen"]))
    []
    """
    records = []
    for row in groups.to_dict("records"):
        row = {k: (None if not isinstance(v, (str, list, dict)) and pd.isna(v) else v) for k, v in row.items()}
        row["first_seen"], row["last_seen"] = iso(row.get("first_seen")), iso(row.get("last_seen"))
        row["hosts"] = [h for h in (row.get("hosts") or "").split(",") if h]
        row["alternatives"] = [a for a in (row.get("alternatives") or "").split(",") if a]
        if "count" in row and row["count"] is not None:
            row["count"] = int(row["count"])
        records.append(row)
    return records


def render_groups(groups: pd.DataFrame, *, fmt: str = "table", width: int = 100, color: bool = False,
                  details: int | None = DETAILS) -> str:
    """Render failure groups.

    The table format opens with a summary that fits one screen: how many events the
    groups cover (and why that differs from the stored events), lines that look forged
    apart, then one row per group (rank, cause, count, relying party or software,
    offending value, last seen, confidence) with its fix in one line below. The full
    details of the first ``details`` groups follow, and a last line says how to see
    the rest. ``markdown`` and ``json`` hold every group with every field.

    Parameters
    ----------
    groups
        Output of :func:`tokenaudit.failure_groups`.
    fmt
        ``table`` (for a terminal), ``markdown`` (chat, tickets) or ``json``.
    width
        Width of the table format's lines (the terminal's width).
    color
        Whether the table format carries terminal colours (ANSI codes).
    details
        How many groups the table format shows in full after the summary; ``None`` for all.

    Returns
    -------
    str

    Examples
    --------
    >>> groups = pd.DataFrame([{"cause": "expired", "title": "Token expired", "relying_party": None, "key": "k",
    ...     "count": 3, "first_seen": pd.Timestamp("2026-11-22 09:00", tz="UTC"),
    ...     "last_seen": pd.Timestamp("2026-11-22 10:00", tz="UTC"), "hosts": "web1", "software": "go-oidc",
    ...     "confidence": "high", "ready_fix": True, "example": "token is expired", "explanation": "It expired.",
    ...     "recommendation": "Refresh the token before use. Check the clocks."}])
    >>> print(render_groups(groups, width=90, details=0))
    3 events, 2026-11-22: 3 failures in 1 group
    <BLANKLINE>
    #  cause    n  party/software  value  last seen         sure  fix
    ───────────────────────────────────────────────────────────────────
    1  expired  3  go-oidc         k      2026-11-22 10:00  high  ready
       fix: Refresh the token before use.
    <BLANKLINE>
    1 more group in full: tokenaudit analyze --details all, or --format markdown/json
    <BLANKLINE>
    """
    if fmt == "json":
        return json.dumps(groups_to_records(groups), indent=2, ensure_ascii=False)
    account = group_accounting(groups)
    if groups.empty:
        return "No failure events in the dataset for this period.\n" + (
            f"{accounting_line(account)}\n" if account.events else "")
    if fmt == "markdown":
        return _markdown(groups, account)
    return _table(groups, account, width=max(width, 40), color=color, details=details)




def accounting_line(account: GroupAccounting, span: str = "") -> str:
    """One line: how many events the groups cover, and what was counted apart or with another line.

    Examples
    --------
    >>> accounting_line(GroupAccounting(events=84, grouped=82, groups=68, paired_refusals=2, suspicious=1,
    ...                                 suspicious_groups=1), "2025-05-10 to 2026-11-22")
    '84 events, 2025-05-10 to 2026-11-22: 81 failures in 67 groups, 1 suspicious line shown apart, 2 HTTP refusals counted with the line that says why'
    """  # noqa: E501 - the doctest output is one line, and doctest compares it whole
    parts = [f"{_plural(account.failures, 'failure')} in "
             f"{_plural(account.groups - account.suspicious_groups, 'group')}"]
    if account.suspicious:
        parts.append(f"{_plural(account.suspicious, 'suspicious line')} shown apart")
    if account.follow_ups:
        parts.append(f"{_plural(account.follow_ups, 'follow-up line')} counted with the failure they follow")
    if account.paired_refusals:
        parts.append(f"{_plural(account.paired_refusals, 'HTTP refusal')} counted with the line that says why")
    head = _plural(account.events, "event") + (f", {span}" if span else "")
    return f"{head}: {', '.join(parts)}"


def one_line_fix(recommendation: str, width: int | None = None) -> str:
    r"""The first sentence of a fix, cut at a word (with ``…``) to fit ``width`` characters.

    Command blocks (indented lines) are left out: the sentence before them says what they do.

    Examples
    --------
    >>> one_line_fix("Make the relying party refresh the JWKS (restart, or shorten its cache time);\n"
    ...              "check it. Then more.")
    'Make the relying party refresh the JWKS (restart, or shorten its cache time); check it.'
    >>> one_line_fix("Trust it, e.g. with pveum. Then wait.", 20)
    'Trust it, e.g. with…'
    """
    prose: list[str] = []
    for line in recommendation.strip().splitlines():
        if line.startswith("    ") and prose:
            break
        prose.append(line.strip())
    text = " ".join(" ".join(prose).split())
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z(`])", text, maxsplit=1)[0]
    return clip_words(first.rstrip(":"), width) if width is not None else first.rstrip(":")


def clip_words(text: str, width: int) -> str:
    """``text`` if it fits ``width`` characters, else cut with ``…`` after a whole clause or word.

    A clause (up to ``;`` or ``:``) that fills at least half the width is preferred to
    a word; a single word longer than the width is cut where it must be.

    Examples
    --------
    >>> clip_words("synchronise the clocks", 18), clip_words("abcdefghij", 5)
    ('synchronise the…', 'abcd…')
    >>> clip_words("Confirm the issuer before you change it: read the IdP's discovery document", 50)
    'Confirm the issuer before you change it…'
    """
    if len(text) <= width:
        return text
    cut = text[:max(width - 1, 0) + 1]
    clause = max(cut.rfind("; "), cut.rfind(": "))
    if clause >= width // 2:
        return cut[:clause] + "…"
    space = cut.rfind(" ", 0, width)
    cut = cut[:space] if space > width // 3 else cut[:max(width - 1, 0)]
    return cut.rstrip(" ,;:(") + "…"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _readiness(row: dict[str, Any]) -> str:
    if row["cause"] == "unclassified":
        return "unexplained"
    return "confirm" if row.get("ready_fix") is False else "ready"


def _short_time(value: Any) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M") if iso(value) else ""


def _span(groups: pd.DataFrame) -> str:
    first, last = (pd.Timestamp(groups["first_seen"].min()), pd.Timestamp(groups["last_seen"].max()))
    start, end = first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d")
    return start if start == end else f"{start} to {end}"


_STYLE = {"ready": "green", "confirm": "yellow", "unexplained": "dim", "high": "green", "medium": "yellow",
          "low": "red"}


def _table(groups: pd.DataFrame, account: GroupAccounting, *, width: int, color: bool, details: int | None) -> str:
    """The table format: the summary, the details of the first ``details`` groups, and how to see the rest."""
    from rich.console import Console
    from rich.text import Text

    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=color, no_color=not color, highlight=False,
                      color_system="auto" if color else None, emoji=False, markup=False, soft_wrap=False)
    records = [{**row, "rank": number} for number, row in enumerate(groups.to_dict("records"), start=1)]
    suspicious = [row for row in records if row["cause"] == "suspicious_line"]
    ranked = [row for row in records if row["cause"] != "suspicious_line"]
    console.print(Text(accounting_line(account, _span(groups)), style="bold"))
    if suspicious:
        console.print()
        console.print(Text("Security: lines that look forged (not written by the software they name)",
                           style="bold red"))
        _summary(console, suspicious, width)
    console.print()
    _summary(console, ranked[:SUMMARY_ROWS], width)
    if len(ranked) > SUMMARY_ROWS:
        console.print(Text(_rest_of_summary(ranked[SUMMARY_ROWS:], account), style="dim"))
    shown = records if details is None else records[:max(details, 0)]
    for row in shown:
        console.print()
        for line in _group_details(row, width):
            console.print(line, style="bold" if line.startswith("#") else None)
    console.print()
    hidden = len(records) - len(shown)
    console.print(Text(f"{_plural(hidden, 'more group')} in full: tokenaudit analyze --details all, "
                       "or --format markdown/json" if hidden else
                       "All groups are shown in full; --format markdown or json for tickets and scripts.", style="dim"))
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


def _rest_of_summary(rest: list[dict[str, Any]], account: GroupAccounting) -> str:
    """The line after the summary table: what it leaves out."""
    if not rest:
        return ""
    explained = [row for row in rest if row["cause"] != "unclassified"]
    unexplained = [row for row in rest if row["cause"] == "unclassified"]
    parts = []
    if explained:
        parts.append(f"{_plural(len(explained), 'more group')} "
                     f"({_plural(sum(r['count'] for r in explained), 'failure')})")
    if unexplained:
        text = f"{len(unexplained)} unexplained ({_plural(sum(r['count'] for r in unexplained), 'failure')}"
        if account.unpaired_refusals and len(unexplained) == account.unexplained_groups:
            text += f", {account.unpaired_refusals} of them HTTP refusals whose reason no ingested log gives"
        parts.append(text + ")")
    return "Not in this table: " + " and ".join(parts) + "."


def _summary(console: Any, rows: list[dict[str, Any]], width: int) -> None:
    """One table row per group, its fix in one line under it."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    if not rows:
        return
    cells = [[str(row["rank"]), str(row["cause"]), str(row["count"]),
              plain(row["relying_party"]) or plain(row["software"]), plain(row["key"]),
              _short_time(row["last_seen"]), plain(row.get("confidence")) or "-"] for row in rows]
    headers = ["#", "cause", "n", "party/software", "value", "last seen", "sure", "fix"]
    for line, row in zip(cells, rows, strict=True):
        line.append({"ready": "ready", "confirm": "confirm", "unexplained": "-"}[_readiness(row)])
    widths = _column_widths(headers, cells, width)
    if widths[5] < 16:  # no room for the time of day
        for line in cells:
            line[5] = line[5][:10]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold", padding=(0, 1, 0, 0))
    for number, (header, size) in enumerate(zip(headers, widths, strict=True)):
        table.add_column(header, width=size, no_wrap=True, overflow="ellipsis",
                         justify="right" if number in (0, 2) else "left")
    for row, line in zip(rows, cells, strict=True):
        styled = [Text(clip_words(value, size)) for value, size in zip(line, widths, strict=True)]
        styled[1].stylize("bold")
        styled[6].stylize(_STYLE.get(line[6], ""))
        styled[7].stylize(_STYLE.get(_readiness(row), ""))
        table.add_row(*styled)
    lines = console.render_lines(table, console.options.update(width=width), pad=False)
    head, body = lines[:len(lines) - len(rows)], lines[len(lines) - len(rows):]
    indent = widths[0] + 2
    for line in head:
        console.print(_text_of(line))
    for row, line in zip(rows, body, strict=True):
        console.print(_text_of(line))
        label = ("next: " if row["cause"] == "unclassified" else "fix: ")
        fix = Text(" " * indent + label, style="dim")
        fix.append(one_line_fix(plain(row["recommendation"]), width - indent - len(label)))
        console.print(fix)


def _text_of(line: list[Any]) -> Any:
    """A rendered line (rich segments) as one styled text."""
    from rich.text import Text

    return Text.assemble(*((segment.text, segment.style) for segment in line if not segment.control))


def _column_widths(headers: list[str], cells: list[list[str]], width: int) -> list[int]:
    """Widths of the summary's columns: as wide as their content, shrunk to fit ``width``.

    Under pressure the time of day goes first, then the value and party columns shrink
    in turn (to 8), the cause column last.

    Examples
    --------
    >>> headers = ["#", "cause", "n", "party/software", "value", "last seen", "sure", "fix"]
    >>> row = ["1", "untrusted_extra_audience", "8", "zitadel", "377572587972067335", "2026-11-22 12:44", "high",
    ...        "ready"]
    >>> _column_widths(headers, [row], 120), _column_widths(headers, [row], 80)
    ([1, 24, 1, 14, 18, 16, 4, 5], [1, 24, 1, 11, 10, 10, 4, 5])
    """
    sizes = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    sizes[3], sizes[4] = min(sizes[3], 24), min(sizes[4], 32)

    def excess() -> int:
        return sum(sizes) + 2 * (len(headers) - 1) - width

    if excess() > 0:
        sizes[5] = 10  # the date alone
    while excess() > 0 and max(sizes[3], sizes[4]) > 8:
        wider = 4 if sizes[4] >= sizes[3] else 3
        sizes[wider] -= 1
    if excess() > 0:
        sizes[1] = max(12, sizes[1] - excess())
    return sizes


def _group_details(row: dict[str, Any], width: int) -> list[str]:
    """One group in full: heading, evidence, example, why and the fix."""
    party = f"  realm {plain(row['relying_party'])}" if plain(row["relying_party"]) else ""
    seen = (f"{row['title']}; {plain(row['software']) or 'unknown software'}; hosts {plain(row['hosts']) or '-'}; "
            f"first {iso(row['first_seen'])}, last {iso(row['last_seen'])}")
    lines = [f"#{row['rank']} {row['cause']}  x{row['count']}{party}  value {row['key']}",
             textwrap.fill(seen, width=width, initial_indent="   ", subsequent_indent="   ", break_long_words=False,
                           break_on_hyphens=False)]
    if plain(row.get("confidence")):
        lines.append(_wrap("confidence", f"{row['confidence']}: {HOW_FOUND.get(plain(row.get('tier')), 'found')}",
                           width))
    if plain(row.get("reading")):
        lines.append(_wrap("reads as", row["reading"], width))
    if plain(row["alternatives"]):
        lines.append(_wrap("cannot be told from", row["alternatives"].replace(",", ", "), width))
    if plain(row.get("token_evidence")):
        lines.append(_wrap("token", row["token_evidence"], width))
    lines.append(_wrap("example", row["example"], width))
    lines.append(_wrap("why", row["explanation"], width))
    readiness = _readiness(row)
    lines.append("   fix:" if readiness != "confirm" else "   fix (confirm the value first, as it says):")
    lines.extend(reflow_fix(row["recommendation"], width, indent=6))
    return lines


def reflow_fix(text: str, width: int, *, indent: int) -> list[str]:
    """A fix's text fitted to ``width``: prose paragraphs refilled, command lines (indented) kept as they are.

    Examples
    --------
    >>> fix = "Trust it on the\\nrealm first:\\n\\n    pveum realm modify z --audiences 42"
    >>> for line in reflow_fix(fix, 40, indent=2):
    ...     print(line)
      Trust it on the realm first:
    <BLANKLINE>
          pveum realm modify z --audiences 42
    """
    out: list[str] = []
    prose: list[str] = []

    def flush() -> None:
        if prose:
            out.extend(textwrap.wrap(" ".join(prose), width=max(width - indent, 20), break_long_words=False,
                                     break_on_hyphens=False, initial_indent=" " * indent,
                                     subsequent_indent=" " * indent))
            prose.clear()

    for line in text.strip("\n").splitlines():
        if line.startswith("    ") or not line.strip():
            flush()
            out.append(" " * indent + line if line.strip() else "")
        else:
            prose.append(line.strip())
    flush()
    return out


#: How a group's cause was recognised, in words (the ``tier`` column).
HOW_FOUND = {
    "signature": "the exact text of the software that refused the token",
    "phrase": "words several libraries use for this cause, not one software's exact text",
    "keyword": "a pair of words naming this cause in a line that reports a failure, not one software's exact text",
    "words": "a guess from words the catalogue's samples of this cause use, in a line that reports a failure and that "
             "no entry matched",
}


def _wrap(label: str, text: str, width: int) -> str:
    return textwrap.fill(text, width=width, initial_indent=f"   {label}: ", subsequent_indent=" " * (len(label) + 5),
                         break_long_words=False, break_on_hyphens=False)


def _markdown(groups: pd.DataFrame, account: GroupAccounting) -> str:
    out = [f"**{accounting_line(account, _span(groups))}**", "",
           "| # | cause | count | relying party | value | hosts | last seen | confidence | fix |",
           "|---|---|---|---|---|---|---|---|---|"]
    records = groups.to_dict("records")
    for number, row in enumerate(records, start=1):
        cells = [str(number), f"`{row['cause']}`", str(row["count"]), plain(row["relying_party"]),
                 f"`{row['key']}`", plain(row["hosts"]), iso(row["last_seen"]) or "", plain(row.get("confidence")),
                 {"ready": "ready", "confirm": "confirm first", "unexplained": "-"}[_readiness(row)]]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    for number, row in enumerate(records, start=1):
        found = HOW_FOUND.get(plain(row.get("tier")), "")
        facts = [f"software {plain(row['software']) or 'unknown'}", f"first seen {iso(row['first_seen'])}",
                 f"last seen {iso(row['last_seen'])}"]
        if plain(row.get("confidence")):
            facts.append(f"confidence {row['confidence']}" + (f" ({found})" if found else ""))
        if plain(row.get("alternatives")):
            facts.append(f"cannot be told from {row['alternatives'].replace(',', ', ')}")
        out += ["", f"### {number}. {row['title']} (`{row['cause']}`, {row['count']}x)", "", "; ".join(facts) + ".", ""]
        if plain(row.get("reading")):
            out += [f"Reads as: {row['reading']}", ""]
        if plain(row.get("token_evidence")):
            out += [f"Token: {row['token_evidence']}", ""]
        out += [f"Example: `{row['example']}`", "", row["explanation"], "",
                "**Fix:**" if _readiness(row) != "confirm" else "**Fix** (confirm the value first):", "", "```",
                row["recommendation"], "```"]
    return "\n".join(out) + "\n"


def render_events(events: pd.DataFrame, *, fmt: str = "jsonl") -> str:
    """Render classified events as JSON lines or CSV, :data:`EXPORT_COLUMNS` first.

    Examples
    --------
    >>> frame = pd.DataFrame({"ts": [pd.Timestamp("2025-03-24 17:19:40", tz="UTC")], "source_file": ["s"],
    ...     "line_no": [3], "format": ["syslog_iso"], "cause": ["expired"], "signature": ["x"], "message": ["m"]})
    >>> render_events(frame).strip()
    '{"ts": "2025-03-24T17:19:40Z", "source_file": "s", "line_no": 3, "format": "syslog_iso", "cause": "expired", "signature": "x", "message": "m"}'
    """  # noqa: E501 - the doctest output is one line, and doctest compares it whole
    ordered = ([c for c in EXPORT_COLUMNS if c in events.columns]
               + [c for c in events.columns if c not in EXPORT_COLUMNS])
    frame = events[ordered].copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].map(iso)
    if fmt == "csv":
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False)
        return buffer.getvalue()
    lines = []
    for row in frame.to_dict("records"):
        clean: dict[str, Any] = {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in row.items()}
        clean = {k: (int(v) if hasattr(v, "item") and isinstance(v.item(), int) else v) for k, v in clean.items()}
        lines.append(json.dumps(clean, ensure_ascii=False, default=str))
    return "\n".join(lines) + ("\n" if lines else "")


def render_ingest_report(report: IngestReport) -> str:
    """Render the line accounting of an ingest, one line per source and a total.

    Every source shows read = parsed + skipped + rejected, and the reasons
    for skipped and rejected lines.
    """
    lines = []
    for source in report.sources:
        account = source.account
        head = f"{source.source}: {source.status}"
        if source.format:
            head += f" as {source.format}"
        if source.status in ("ingested", "partial"):
            head += (f"; read {account.read} = parsed {account.parsed} + skipped {account.skipped}"
                     f" + rejected {account.rejected}; {account.events} failure events")
            if account.tokens:
                head += f", {account.tokens} token sightings"
            if source.resumed_after_line:
                head += f" (new lines after line {source.resumed_after_line})"
        lines.append(head)
        for label, reasons in (("skipped", account.skipped_reasons), ("rejected", account.rejected_reasons)):
            for reason, count in reasons.most_common():
                lines.append(f"    {label} {count}: {reason}")
        if source.note:
            lines.append(f"    note: {source.note}")
    if report.retried_after_conflict:
        named = ", ".join(report.retried_after_conflict)
        lines.append(f"note: another site committed lines of {named} while this ingest read them too: "
                     "it read again from what that site committed, and counts each line once")
    total = report.totals
    partial = len(report.incomplete) - len(report.failed)
    lines.append(
        f"total: {len(report.sources)} sources ({len(report.failed)} failed"
        + (f", {partial} partial" if partial else "")
        + f"); read {total.read} lines = parsed "
        f"{total.parsed} + skipped {total.skipped} + rejected {total.rejected}; {total.events} failure events"
        + (f", {total.tokens} token sightings" if total.tokens else "") + f" into {report.dataset}"
    )
    return "\n".join(lines)


def ingest_report_to_dict(report: IngestReport) -> dict[str, Any]:
    """The ingest report as a JSON-ready dict."""

    def account(a: Any) -> dict[str, Any]:
        return {"read": a.read, "parsed": a.parsed, "skipped": a.skipped, "rejected": a.rejected,
                "events": a.events, "tokens": a.tokens, "skipped_reasons": dict(a.skipped_reasons),
                "rejected_reasons": dict(a.rejected_reasons)}

    return {
        "dataset": str(report.dataset),
        "batch_id": report.batch_id,
        "sources": [{"source": s.source, "status": s.status, "format": s.format, "note": s.note,
                     "resumed_after_line": s.resumed_after_line, **account(s.account)} for s in report.sources],
        "totals": account(report.totals),
        "retried_after_conflict": list(report.retried_after_conflict),
    }


_TIME_CLAIMS = ("exp", "iat", "nbf", "auth_time")


def _claim_time(value: Any) -> pd.Timestamp | None:
    """A time claim (epoch seconds) as a UTC time; ``None`` if it is no number or beyond the calendar.

    Examples
    --------
    >>> _claim_time(1.5), _claim_time(10**20), _claim_time("soon"), _claim_time(True)
    (Timestamp('1970-01-01 00:00:01.500000+0000', tz='UTC'), None, None, None)
    """
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        moment = pd.Timestamp(value, unit="s", tz="UTC")
    except (OverflowError, ValueError):  # OutOfBoundsDatetime is a ValueError
        return None
    return None if pd.isna(moment) else moment


def diagnosis_to_dict(diagnosis: Any, info: Any) -> dict[str, Any]:
    """A token's diagnosis as a JSON-ready dict: ``kind``, ``issuer_family``, ``causes`` and more.

    ``causes`` is a list of ``{"cause", "evidence", "recommendation"}``; it is
    empty for a token the relying party should accept. Never holds the token.
    """
    claims = {k: (iso(moment) if k in _TIME_CLAIMS and (moment := _claim_time(v)) is not None else v)
              for k, v in info.claims.items()}
    return {
        "fingerprint": info.fingerprint,
        "encoding": info.encoding,
        "header": info.header,
        "claims": claims,
        "kind": diagnosis.kind.value,
        "kind_evidence": list(diagnosis.kind.evidence),
        "issuer_family": diagnosis.issuer_family.value,
        "issuer_family_evidence": list(diagnosis.issuer_family.evidence),
        "relying_party": diagnosis.relying_party or None,
        "at": iso(diagnosis.at),
        "causes": [{"cause": f.cause, "evidence": list(f.evidence), "recommendation": f.recommendation}
                   for f in diagnosis.findings],
        "risks": list(diagnosis.risks),
        "signature_check": diagnosis.signature_check or None,
    }


def render_diagnosis(diagnosis: Any, info: Any, *, fmt: str = "text") -> str:
    """Render a token's diagnosis as text for a person, or as JSON.

    Times are shown in UTC and relative to the time the token was judged at.
    """
    data = diagnosis_to_dict(diagnosis, info)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False, default=str)
    at = diagnosis.at
    header = ", ".join(f"{k} {v}" for k, v in info.header.items() if k in ("alg", "kid", "typ"))
    lines = [f"token   {info.encoding}, fingerprint {info.fingerprint}" + (f" ({header})" if header else "")]
    lines.append(f"kind    {data['kind']}: " + "; ".join(data["kind_evidence"]))
    lines.append(f"issuer  {data['issuer_family']}: " + "; ".join(data["issuer_family_evidence"]))
    if info.claims:
        lines.append("claims")
        for key, value in info.claims.items():
            shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
            if key in _TIME_CLAIMS and (moment := _claim_time(value)) is not None:
                delta = (moment - at).total_seconds() if at is not None else 0
                when = "after" if delta >= 0 else "before"
                shown = f"{iso(moment)} ({duration_text(abs(delta))} {when} {iso(at)})"
            lines.append(f"  {key:14} {shown}"[:240])
    party = data["relying_party"] or "the relying party given by flags"
    lines.append(f"checked against {party} at {data['at']}")
    if diagnosis.signature_check:
        lines.append(_wrap("keys", diagnosis.signature_check, 100))
    if not diagnosis.findings and diagnosis.signature_check.startswith("signature could not be checked"):
        lines.append("verdict: the claims raise no cause, but the signature could not be checked (see keys)")
    elif not diagnosis.findings:
        lines.append("verdict: a strict validator configured like this accepts the token")
    for number, finding in enumerate(diagnosis.findings, start=1):
        lines.append(f"{number}. {finding.cause}")
        lines.extend(f"   - {evidence}" for evidence in finding.evidence)
        lines.append("   fix:")
        lines.extend("      " + text for text in finding.recommendation.splitlines())
    for risk in diagnosis.risks:
        lines.append(_wrap("risk", risk, 100))
    return "\n".join(lines) + "\n"


def render_trial(trial: Any, *, show_missed: bool = True, top: int = 20) -> str:
    """Render :func:`tokenaudit.pipeline.trial.try_signatures` output for a terminal."""
    out = [f"format {trial.format}; {trial.lines} lines"]
    if trial.matched.empty:
        out.append("no line matched a signature")
    for row in trial.matched.to_dict("records"):
        out.append(f"  {row['lines']:6d}  {row['signature']}  ({row['cause']}; first at line {row['first_line']})")
    if show_missed:
        missed = int(trial.missed["lines"].sum()) if not trial.missed.empty else 0
        out.append(f"failure-looking lines no signature explains: {missed}")
        for row in trial.missed.head(top).to_dict("records"):
            out.append(f"  {row['lines']:6d}  {row['template']}"[:300])
            out.append(f"          e.g. line {row['first_line']}: {row['example']}"[:300])
    return "\n".join(out) + "\n"
