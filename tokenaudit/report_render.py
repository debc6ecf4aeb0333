"""Render a :class:`~tokenaudit.report.Report` as Markdown, JSON, or one self-contained HTML file.

The HTML report needs no network and no script: styles are inline and the
charts are SVG drawn here, so it opens from a mail attachment or a file share.
"""

from __future__ import annotations

import html
import json
from typing import Any

import pandas as pd

from .render import _iso, _text, groups_to_records

_TREND_MARK = {"new": "NEW", "rising": "up", "falling": "down", "gone": "gone", "steady": ""}


def report_to_dict(report: Any) -> dict[str, Any]:
    """The report as a JSON-ready dict (times ISO 8601 UTC)."""
    timeline = report.timeline
    return {
        "period": {"since": _iso(report.since), "until": _iso(report.until),
                   "previous_since": _iso(report.previous_since)},
        "totals": report.totals,
        "security": [{"severity": f.severity, "title": f.title, "detail": f.detail} for f in report.security],
        "changes": report.changes.to_dict("records"),
        "groups": groups_to_records(report.groups),
        "by_relying_party": report.by_relying_party.to_dict("records"),
        "by_host": report.by_host.to_dict("records"),
        "timeline": [{"hour": _iso(ts), **{k: int(v) for k, v in row.items()}}
                     for ts, row in timeline.iterrows()] if not timeline.empty else [],
        "rates": [{"hour": _iso(ts), "requests": int(r["requests"]), "refused": int(r["refused"]),
                   "rate": float(r["rate"])} for ts, r in report.rates.iterrows()] if not report.rates.empty else [],
    }


def render_report(report: Any, *, fmt: str = "markdown") -> str:
    """Render a report as ``markdown``, ``json`` or ``html``."""
    if fmt == "json":
        return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False, default=str)
    if fmt == "html":
        return _html(report)
    return _markdown(report)


def _period(report: Any) -> str:
    return f"{_iso(report.since)} to {_iso(report.until)}"


def _markdown(report: Any) -> str:
    out = [f"# tokenaudit report, {_period(report)}", "",
           f"{report.totals['events']} failure events in {report.totals['groups']} groups "
           f"(previous period: {report.totals['previous_events']})."]
    if report.totals.get("requests"):
        out.append(f"{report.totals['requests']} requests counted in access logs.")
    out += ["", "## Security findings", ""]
    out += [f"- **{f.severity}** {f.title}: {f.detail}" for f in report.security] or ["None."]
    out += ["", "## What changed", "", "| cause | now | before | change |", "|---|---|---|---|"]
    for row in report.changes.to_dict("records"):
        out.append(f"| `{row['cause']}` | {row['current']} | {row['previous']} | {_TREND_MARK[row['trend']]} {row['delta']:+d} |")
    out += ["", "## Top causes and their fixes", ""]
    for number, row in enumerate(report.groups.head(10).to_dict("records"), start=1):
        party = f", relying party {_text(row['relying_party'])}" if _text(row["relying_party"]) else ""
        out += [f"### {number}. {row['title']} (`{row['cause']}`, {row['count']}x{party})", "",
                f"Value: `{row['key']}`. Example: `{row['example']}`", "", row["explanation"], "", "```",
                row["recommendation"], "```", ""]
    out += ["## Per relying party", "", "| relying party | cause | count |", "|---|---|---|"]
    out += [f"| {r['relying_party']} | `{r['cause']}` | {r['count']} |" for r in report.by_relying_party.to_dict("records")]
    out += ["", "## Per host", "", "| host | count |", "|---|---|"]
    out += [f"| {r['host']} | {r['count']} |" for r in report.by_host.to_dict("records")]
    if not report.rates.empty:
        busy = report.rates[report.rates["requests"] > 0]
        out += ["", "## Failure rate (access logs)", "", "| hour | requests | refused | rate |", "|---|---|---|---|"]
        out += [f"| {_iso(ts)} | {int(r['requests'])} | {int(r['refused'])} | {r['rate']:.1%} |"
                for ts, r in busy.iterrows()]
    return "\n".join(out) + "\n"


def _svg_bars(series: pd.Series, *, title: str, width: int = 720, height: int = 160, percent: bool = False) -> str:
    """A bar chart as inline SVG; an empty series gives a note instead."""
    if series.empty or float(series.max()) <= 0:
        return f'<p class="muted">{html.escape(title)}: nothing in this period.</p>'
    top = float(series.max())
    bar = max(1.0, (width - 40) / len(series))
    bars = []
    for number, (ts, value) in enumerate(series.items()):
        h = (height - 30) * float(value) / top
        label = f"{_iso(ts)}: {value:.1%}" if percent else f"{_iso(ts)}: {int(value)}"
        bars.append(f'<rect x="{30 + number * bar:.1f}" y="{height - 20 - h:.1f}" width="{max(bar - 1, 0.5):.1f}" '
                    f'height="{h:.1f}" class="bar"><title>{html.escape(label)}</title></rect>')
    peak = f"{top:.1%}" if percent else f"{int(top)}"
    first, last = (html.escape((_iso(ts) or "")[:13].replace("T", " ") + "h") for ts in (series.index[0], series.index[-1]))
    labels = (f'<text x="30" y="{height - 4}" class="tick">{first}</text>'
              f'<text x="{width}" y="{height - 4}" text-anchor="end" class="tick">{last}</text>')
    return (f'<figure><figcaption>{html.escape(title)} (peak {peak})</figcaption>'
            f'<svg role="img" aria-label="{html.escape(title)}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
            f'<line x1="28" y1="{height - 20}" x2="{width}" y2="{height - 20}" class="axis"/>'
            + "".join(bars) + labels + "</svg></figure>")


def _table(frame: pd.DataFrame, columns: list[str]) -> str:
    if frame.empty:
        return '<p class="muted">None.</p>'
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(_text(row[c]))}</td>" for c in columns) + "</tr>"
                   for row in frame.to_dict("records"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:60rem;color:#1d2330;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d8dde6}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border-bottom:1px solid #e4e8ef;padding:.3rem .5rem;text-align:left}
code,pre{font-family:ui-monospace,Menlo,monospace;font-size:.85rem}pre{background:#f4f6f9;padding:.6rem;white-space:pre-wrap}
.finding{padding:.4rem .6rem;margin:.3rem 0;border-left:4px solid #d97706;background:#fff8eb}
.finding.high{border-color:#c81e1e;background:#fdf0f0}.muted{color:#69758a}
.bar{fill:#3867d6}.axis{stroke:#69758a}.tick{font-size:11px;fill:#69758a}.trend-new{color:#c81e1e;font-weight:600}.trend-rising{color:#c2410c}
.group{border:1px solid #e4e8ef;border-radius:6px;padding:.6rem 1rem;margin:.8rem 0}
"""


def _html(report: Any) -> str:
    e = html.escape
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>tokenaudit report {e(_period(report))}</title><style>{_STYLE}</style></head><body>",
             f"<h1>tokenaudit report</h1><p>{e(_period(report))}: <b>{report.totals['events']}</b> failure events in "
             f"{report.totals['groups']} groups (previous period: {report.totals['previous_events']}).</p>",
             "<h2>Security findings</h2>"]
    parts += [f'<div class="finding {e(f.severity)}"><b>{e(f.severity)}</b> {e(f.title)}: {e(f.detail)}</div>'
              for f in report.security] or ['<p class="muted">None.</p>']
    parts.append("<h2>What changed</h2>")
    if report.changes.empty:
        parts.append('<p class="muted">No failures in either period.</p>')
    else:
        rows = "".join(
            f"<tr><td><code>{e(r['cause'])}</code></td><td>{r['current']}</td><td>{r['previous']}</td>"
            f"<td class=\"trend-{e(r['trend'])}\">{e(_TREND_MARK[r['trend']])} {r['delta']:+d}</td></tr>"
            for r in report.changes.to_dict("records"))
        parts.append(f"<table><thead><tr><th>cause</th><th>now</th><th>before</th><th>change</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table>")
    totals = report.timeline.sum(axis=1) if not report.timeline.empty else pd.Series(dtype="int64")
    parts.append("<h2>Failures over time</h2>" + _svg_bars(totals, title="failures per hour"))
    if not report.rates.empty:
        parts.append(_svg_bars(report.rates["rate"], title="refused share of requests per hour", percent=True))
    parts.append("<h2>Top causes and their fixes</h2>")
    for number, row in enumerate(report.groups.head(10).to_dict("records"), start=1):
        party = f" · relying party {e(_text(row['relying_party']))}" if _text(row["relying_party"]) else ""
        parts.append(f'<div class="group"><h3>{number}. {e(row["title"])} <code>{e(row["cause"])}</code> '
                     f'× {row["count"]}{party}</h3><p>Value <code>{e(_text(row["key"]))}</code>; hosts '
                     f'{e(_text(row["hosts"]) or "-")}; last seen {e(_iso(row["last_seen"]) or "")}</p>'
                     f'<p>{e(row["explanation"])}</p><pre>{e(row["recommendation"])}</pre>'
                     f'<p class="muted">Example: <code>{e(row["example"])}</code></p></div>')
    parts += ["<h2>Per relying party</h2>", _table(report.by_relying_party, ["relying_party", "cause", "count"]),
              "<h2>Per host</h2>", _table(report.by_host, ["host", "count"]),
              "<p class=\"muted\">Made by tokenaudit. Tokens are never stored or shown; values are redacted.</p>",
              "</body></html>"]
    return "\n".join(parts)
