"""Render analysis results and ingest reports as text: table, Markdown, JSON, JSON lines, CSV.

Every function returns a string; the CLI prints it, a notebook displays it.
"""

from __future__ import annotations

import io
import json
import textwrap
from typing import Any

import pandas as pd

from .ingest import IngestReport

#: Columns ``events`` exports come first, in this order.
EXPORT_COLUMNS = ("ts", "source_file", "line_no", "format", "cause", "signature", "message")


def _text(value: Any) -> str:
    """A cell as text: missing values (None, NaN, NA) become ""."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def _iso(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).isoformat().replace("+00:00", "Z")


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
        row["first_seen"], row["last_seen"] = _iso(row.get("first_seen")), _iso(row.get("last_seen"))
        row["hosts"] = [h for h in (row.get("hosts") or "").split(",") if h]
        row["alternatives"] = [a for a in (row.get("alternatives") or "").split(",") if a]
        if "count" in row and row["count"] is not None:
            row["count"] = int(row["count"])
        records.append(row)
    return records


def render_groups(groups: pd.DataFrame, *, fmt: str = "table", width: int = 100) -> str:
    """Render failure groups.

    Parameters
    ----------
    groups
        Output of :func:`tokenaudit.failure_groups`.
    fmt
        ``table`` (for a terminal), ``markdown`` (chat, tickets) or ``json``.
    width
        Wrap width of the table format.

    Returns
    -------
    str
    """
    if fmt == "json":
        return json.dumps(groups_to_records(groups), indent=2, ensure_ascii=False)
    if groups.empty:
        return "No failure events in the dataset for this period.\n"
    total = int(groups["count"].sum())
    span = f"{_iso(groups['first_seen'].min())} to {_iso(groups['last_seen'].max())}"
    if fmt == "markdown":
        return _markdown(groups, total, span)
    lines = [f"{total} failure events in {len(groups)} groups, {span}", ""]
    for number, row in enumerate(groups.to_dict("records"), start=1):
        party = f"  realm {_text(row['relying_party'])}" if _text(row["relying_party"]) else ""
        lines.append(f"#{number} {row['cause']}  x{row['count']}{party}  value {row['key']}")
        lines.append(f"   {row['title']}; {_text(row['software']) or 'unknown software'}; hosts {_text(row['hosts']) or '-'}; "
                     f"first {_iso(row['first_seen'])}, last {_iso(row['last_seen'])}")
        if _text(row.get("confidence")):
            lines.append(f"   confidence {row['confidence']}: {_HOW_FOUND.get(_text(row.get('tier')), 'found')}")
        if _text(row["alternatives"]):
            lines.append(f"   cannot be told from: {row['alternatives'].replace(',', ', ')}")
        if _text(row.get("token_evidence")):
            lines.append(_wrap("token", row["token_evidence"], width))
        lines.append(_wrap("example", row["example"], width))
        lines.append(_wrap("why", row["explanation"], width))
        lines.append("   fix:")
        lines.extend("      " + text for text in row["recommendation"].splitlines())
        lines.append("")
    return "\n".join(lines)


#: How a group's cause was recognised, in words (the ``tier`` column).
_HOW_FOUND = {
    "signature": "the exact text of the software that refused the token",
    "phrase": "words several libraries use for this cause, not one software's exact text",
}


def _wrap(label: str, text: str, width: int) -> str:
    return textwrap.fill(text, width=width, initial_indent=f"   {label}: ", subsequent_indent=" " * (len(label) + 5),
                         break_long_words=False, break_on_hyphens=False)


def _markdown(groups: pd.DataFrame, total: int, span: str) -> str:
    out = [f"**{total} failure events** in {len(groups)} groups, {span}", "",
           "| # | cause | count | relying party | value | hosts | last seen |", "|---|---|---|---|---|---|---|"]
    for number, row in enumerate(groups.to_dict("records"), start=1):
        cells = [str(number), f"`{row['cause']}`", str(row["count"]), _text(row["relying_party"]),
                 f"`{row['key']}`", _text(row["hosts"]), _iso(row["last_seen"]) or ""]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    for number, row in enumerate(groups.to_dict("records"), start=1):
        out += ["", f"### {number}. {row['title']} (`{row['cause']}`, {row['count']}x)", "",
                f"Example: `{row['example']}`", "", row["explanation"], "", "**Fix:**", "", "```",
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
    """
    ordered = [c for c in EXPORT_COLUMNS if c in events.columns] + [c for c in events.columns if c not in EXPORT_COLUMNS]
    frame = events[ordered].copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].map(_iso)
    if fmt == "csv":
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False)
        return buffer.getvalue()
    lines = []
    for row in frame.to_dict("records"):
        clean = {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in row.items()}
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
    claims = {k: (_iso(moment) if k in _TIME_CLAIMS and (moment := _claim_time(v)) is not None else v)
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
        "at": _iso(diagnosis.at),
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
                shown = f"{_iso(moment)} ({pd.Timedelta(seconds=abs(round(delta)))} {when} {_iso(at)})"
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
    """Render :func:`tokenaudit.trial.try_signatures` output for a terminal."""
    out = [f"format {trial.format}; {trial.lines} lines"]
    if trial.matched.empty:
        out.append("no line matched a signature")
    for row in trial.matched.to_dict("records"):
        out.append(f"  {row['lines']:6d}  {row['signature']}  ({row['cause']}; first at line {row['first_line']})")
    if show_missed:
        out.append(f"failure-looking lines no signature explains: {int(trial.missed['lines'].sum()) if not trial.missed.empty else 0}")
        for row in trial.missed.head(top).to_dict("records"):
            out.append(f"  {row['lines']:6d}  {row['template']}"[:300])
            out.append(f"          e.g. line {row['first_line']}: {row['example']}"[:300])
    return "\n".join(out) + "\n"
