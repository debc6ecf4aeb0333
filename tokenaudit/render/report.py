"""Render a :class:`~tokenaudit.analysis.report.Report` as Markdown, JSON, or one self-contained HTML file.

The HTML report needs no network and no script: styles are inline and the
charts are SVG drawn here, so it opens from a mail attachment or a file share.
Its size follows its content: a chart draws only its non-empty bins, and the
groups after the first :data:`TOP_GROUPS` are one table row each.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

import pandas as pd

from ..common.masking import shorten
from .tables import groups_to_records, iso, plain

_TREND_MARK = {"new": "NEW", "rising": "up", "falling": "down", "gone": "gone", "steady": ""}

#: How many groups the report shows in full, with their explanation and fix; the rest are listed one line each.
TOP_GROUPS = 10

#: A chart stacks the largest causes in their own colour, the rest in the last one.
PALETTE = ("#3867d6", "#e8590c", "#2b8a3e", "#9c36b5", "#c92a2a", "#868e96")

#: The least height of a non-empty bar, in pixels, so that one failure among thousands stays visible.
MIN_BAR_HEIGHT = 3.0

_TICK_FORMAT = {"hour": "%Y-%m-%d %H:%M", "day": "%Y-%m-%d", "week": "%Y-%m-%d"}


def report_to_dict(report: Any) -> dict[str, Any]:
    """The report as a JSON-ready dict (times ISO 8601 UTC; ``timeline`` and ``rates`` per ``bin``)."""
    timeline = report.timeline
    return {
        "period": {"since": iso(report.since), "until": iso(report.until),
                   "previous_since": iso(report.previous_since)},
        "totals": report.totals,
        "bin": report.bin,
        "security": [{"severity": f.severity, "title": f.title, "detail": f.detail} for f in report.security],
        "changes": report.changes.to_dict("records"),
        "groups": groups_to_records(report.groups),
        "by_relying_party": report.by_relying_party.to_dict("records"),
        "by_host": report.by_host.to_dict("records"),
        "timeline": [{"start": iso(ts), **{k: int(v) for k, v in row.items()}}
                     for ts, row in timeline.iterrows()] if not timeline.empty else [],
        "rates": [{"start": iso(ts), "requests": int(r["requests"]), "refused": int(r["refused"]),
                   "rate": float(r["rate"])} for ts, r in report.rates.iterrows()] if not report.rates.empty else [],
    }


def render_report(report: Any, *, fmt: str = "markdown") -> str:
    """Render a report as ``markdown``, ``json`` or ``html``."""
    if fmt == "json":
        return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False, default=str)
    if fmt == "html":
        return _html(report)
    return _markdown(report)


def _when(value: Any, unit: str = "hour") -> str:
    """A time as a person reads it: ``2026-11-22 14:00 UTC`` (``2026-11-22`` for a day or week)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "unknown"
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    text: str = stamp.strftime(_TICK_FORMAT[unit])
    return text + (" UTC" if unit == "hour" else "")


def _period(report: Any) -> str:
    return f"{_when(report.since)} to {_when(report.until)}"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


# -- What each number counts: the same sentences in every format ------------------------------------------------


def headline(report: Any) -> list[str]:
    """The sentences that open a report: failure lines, how the groups count them, suspicious lines, requests.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> totals = {"events": 84, "previous_events": 0, "grouped_events": 82, "paired_refusals": 2,
    ...           "paired_follow_ups": 0, "suspicious_lines": 1, "groups": 68, "requests": 0}
    >>> print(" ".join(headline(SimpleNamespace(totals=totals))))
    84 failure lines in this period (previous period: 0). The groups count 82 failures in 68 groups: 2 HTTP refusals are counted once, with the line that says why. 1 line is suspicious: its writer is not the software its text names (a group of its own, and a security finding).
    """  # noqa: E501 - the doctest output is one line, and doctest compares it whole
    t = report.totals
    if not t["events"]:
        return [f"No failure lines in this period (previous period: {t['previous_events']})."]
    out = [f"{_plural(t['events'], 'failure line')} in this period (previous period: {t['previous_events']})."]
    paired = [f"{_plural(t['paired_refusals'], 'HTTP refusal')} {'is' if t['paired_refusals'] == 1 else 'are'} "
              "counted once, with the line that says why"] if t.get("paired_refusals") else []
    if t.get("paired_follow_ups"):
        paired.append(f"{_plural(t['paired_follow_ups'], 'follow-up line')} (httpd's AH01631 after the module's "
                      "own line) with the line they follow")
    grouped = f"The groups count {_plural(t['grouped_events'], 'failure')} in {_plural(t['groups'], 'group')}"
    out.append(grouped + (": " + ", and ".join(paired) + "." if paired else ", one per line."))
    if t.get("suspicious_lines"):
        verb = "is" if t["suspicious_lines"] == 1 else "are"
        out.append(f"{_plural(t['suspicious_lines'], 'line')} {verb} suspicious: its writer is not the software its "
                   "text names (a group of its own, and a security finding).")
    if t.get("requests"):
        out.append(f"{_plural(t['requests'], 'request')} counted in access logs.")
    return out


def _lines_note(report: Any, what: str) -> str:
    """How a section that counts failure lines relates to the groups' count."""
    t = report.totals
    note = f"{what}: {_plural(t['events'], 'line')}, as in the first line of this report"
    if t["grouped_events"] != t["events"]:
        note += (f" (the groups count {t['grouped_events']}: a refusal and the line that says why, or a follow-up "
                 "line and the line it follows, are one failure there)")
    return note + "."


def _shown_note(report: Any) -> str:
    """How many groups the report shows in full, out of how many."""
    groups, t = report.groups, report.totals
    if groups.empty:
        return "No failures in this period."
    if len(groups) <= TOP_GROUPS:
        return f"All {_plural(len(groups), 'group')}, {_plural(t['grouped_events'], 'failure')}."
    shown = int(groups.head(TOP_GROUPS)["count"].sum())
    return (f"The {TOP_GROUPS} largest of {len(groups)} groups, {shown} of {t['grouped_events']} failures, in full; "
            f"the other {len(groups) - TOP_GROUPS} are listed after them.")


def _rest_note(report: Any) -> str:
    rest = report.groups.iloc[TOP_GROUPS:]
    return f"The other {_plural(len(rest), 'group')} ({_plural(int(rest['count'].sum()), 'failure')})"


def _party_note(report: Any) -> str:
    return (f"Failures as the groups count them: {report.totals['grouped_events']} "
            "(\"(unknown)\" where no relying party is named).")


# -- Markdown -------------------------------------------------------------------------------------------------


def _markdown(report: Any) -> str:
    out = [f"# tokenaudit report, {_period(report)}", "", " ".join(headline(report))]
    out += ["", "## Security findings", ""]
    out += [f"- **{f.severity}** {f.title}: {f.detail}" for f in report.security] or ["None."]
    out += ["", "## What changed", ""]
    if report.changes.empty:
        out.append("No failures in either period.")
    else:
        out += [_lines_note(report, "Failure lines per cause, against the previous period"), "",
                "| cause | now | before | change |", "|---|---|---|---|"]
    for row in report.changes.to_dict("records"):
        out.append(f"| `{row['cause']}` | {row['current']} | {row['previous']} "
                   f"| {_TREND_MARK[row['trend']]} {row['delta']:+d} |")
    out += ["", "## Top causes and their fixes", "", _shown_note(report), ""]
    for number, row in enumerate(report.groups.head(TOP_GROUPS).to_dict("records"), start=1):
        party = f", relying party {plain(row['relying_party'])}" if plain(row["relying_party"]) else ""
        value = f"Value: `{row['key']}`. " if plain(row["key"]) else ""
        reading = [f"Reads as: {row['reading']}", ""] if plain(row.get("reading")) else []
        out += [f"### {number}. {row['title']} (`{row['cause']}`, {row['count']}x{party})", "", *reading,
                f"{value}Example: `{row['example']}`", "", row["explanation"], "", "```",
                row["recommendation"], "```", ""]
    if len(report.groups) > TOP_GROUPS:
        out += [f"### {_rest_note(report)}", "",
                "| # | cause | relying party or software | count | value | last seen |", "|---|---|---|---|---|---|"]
        out += [f"| {n} | `{r['cause']}` | {plain(r['relying_party']) or plain(r['software'])} | {r['count']} | "
                f"{shorten(plain(r['key']), 80).replace('|', '/')} | {_when(r['last_seen'])} |"
                for n, r in enumerate(report.groups.iloc[TOP_GROUPS:].to_dict("records"), start=TOP_GROUPS + 1)]
        out.append("")
    out += ["## Per relying party", "", _party_note(report), "", "| relying party | cause | count |", "|---|---|---|"]
    out += [f"| {r['relying_party']} | `{r['cause']}` | {r['count']} |"
            for r in report.by_relying_party.to_dict("records")]
    out += ["", "## Per host", "", _lines_note(report, "Failure lines per host that wrote them"), "",
            "| host | count |", "|---|---|"]
    out += [f"| {r['host']} | {r['count']} |" for r in report.by_host.to_dict("records")]
    if not report.rates.empty:
        busy = report.rates[report.rates["requests"] > 0]
        out += ["", "## Failure rate (access logs)", "", f"| {report.bin} | requests | refused | rate |",
                "|---|---|---|---|"]
        out += [f"| {_when(ts, report.bin)} | {int(r['requests'])} | {int(r['refused'])} | {r['rate']:.1%} |"
                for ts, r in busy.iterrows()]
    return "\n".join(out) + "\n"


# -- SVG charts -----------------------------------------------------------------------------------------------


def stacked_series(timeline: pd.DataFrame, *, colours: int = len(PALETTE)) -> pd.DataFrame:
    """The timeline's largest causes as columns, the rest summed as ``other causes``, largest first.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1, 0], "b": [5, 1], "c": [1, 1]})
    >>> stacked_series(frame, colours=2).to_dict("list")
    {'b': [5, 1], 'other causes': [2, 1]}
    """
    order = timeline.sum().sort_values(ascending=False, kind="stable").index.tolist()
    if len(order) <= colours:
        return timeline[order]
    keep = order[: colours - 1]
    return timeline[keep].assign(**{"other causes": timeline[order[colours - 1:]].sum(axis=1)})


def bar_heights(values: pd.Series, top: float, plot_height: float) -> list[float]:
    """Pixel heights of bar segments: proportional to ``top``, and at least :data:`MIN_BAR_HEIGHT` when non-zero.

    Examples
    --------
    >>> bar_heights(pd.Series([0, 1, 1000]), 1000, 100)
    [0.0, 3.0, 100.0]
    """
    return [0.0 if v <= 0 else max(MIN_BAR_HEIGHT, plot_height * float(v) / top) for v in values]


def _legend(names: list[str]) -> str:
    items = "".join(f'<li><span class="swatch" style="background:{PALETTE[n % len(PALETTE)]}"></span>'
                    f'{html.escape(name)}</li>' for n, name in enumerate(names))
    return f'<ul class="legend">{items}</ul>'


def _svg_chart(frame: pd.DataFrame, *, unit: str, title: str, percent: bool = False,
               width: int = 720, height: int = 200) -> str:
    """A stacked bar chart of ``frame`` (bins × series) as inline SVG, with axes and a legend.

    Only non-empty bins are drawn; a non-empty bar is at least :data:`MIN_BAR_HEIGHT` high.
    """
    totals = frame.sum(axis=1) if not frame.empty else pd.Series(dtype="float64")
    if totals.empty or float(totals.max()) <= 0:
        return f'<p class="muted">{html.escape(title)}: nothing in this period.</p>'
    left, right, top_pad, bottom = 48, 8, 10, 36
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    base = height - bottom
    top = float(totals.max())
    slot = plot_w / len(frame)
    bar_w = max(slot * 0.8, 2.0)
    label: Callable[[float], str] = (lambda v: f"{v:.1%}") if percent else (lambda v: f"{int(v)}")
    parts = []
    for number, (ts, row) in enumerate(frame.iterrows()):
        if totals.iloc[number] <= 0:
            continue
        x, y = left + number * slot + (slot - bar_w) / 2, float(base)
        for column, (name, h) in enumerate(zip(frame.columns, bar_heights(row, top, plot_h), strict=True)):
            if h <= 0:
                continue
            h = min(h, y - top_pad) if y - top_pad >= MIN_BAR_HEIGHT else h
            y -= h
            tip = f"{'week of ' if unit == 'week' else ''}{_when(ts, unit)}: {label(row[name])} {name}"
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" class="bar s{column}">'
                         f'<title>{html.escape(tip)}</title></rect>')
    marks = sorted({0.0, top / 2 if percent else float(round(top / 2)), top})
    y_ticks = "".join(
        f'<line x1="{left - 4}" y1="{base - plot_h * v / top:.1f}" '
        f'x2="{width - right}" y2="{base - plot_h * v / top:.1f}" '
        f'class="grid"/><text x="{left - 6}" y="{base - plot_h * v / top + 4:.1f}" text-anchor="end" class="tick">'
        f'{label(v)}</text>' for v in marks)
    picks = sorted({0, len(frame) // 2, len(frame) - 1})
    anchors = {0: "start", len(frame) - 1: "end"}
    x_ticks = "".join(
        f'<text x="{left + (n + (0 if n == 0 else 1 if n == len(frame) - 1 else 0.5)) * slot:.1f}" y="{base + 16}" '
        f'text-anchor="{anchors.get(n, "middle")}" class="tick">{html.escape(_when(frame.index[n], unit))}</text>'
        for n in picks)
    axes = (f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{base}" class="axis"/>'
            f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" class="axis"/>'
            f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" class="tick">'
            f'{"week starting (Monday)" if unit == "week" else unit + " (UTC)"}</text>')
    peak = label(top)
    return (f'<figure><figcaption>{html.escape(title)} (peak {peak})</figcaption>'
            + (_legend([str(c) for c in frame.columns]))
            + f'<svg role="img" aria-label="{html.escape(title)}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
            + y_ticks + "".join(parts) + axes + x_ticks + "</svg></figure>")


# -- HTML -----------------------------------------------------------------------------------------------------


def _table(frame: pd.DataFrame, columns: list[str]) -> str:
    if frame.empty:
        return '<p class="muted">None.</p>'
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(plain(row[c]))}</td>" for c in columns) + "</tr>"
                   for row in frame.to_dict("records"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:60rem;\
color:#1d2330;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d8dde6}
table{border-collapse:collapse;width:100%;font-size:.9rem}\
th,td{border-bottom:1px solid #e4e8ef;padding:.3rem .5rem;text-align:left}
code,pre{font-family:ui-monospace,Menlo,monospace;font-size:.85rem}pre{background:#f4f6f9;padding:.6rem;white-space:pre-wrap}
.finding{padding:.4rem .6rem;margin:.3rem 0;border-left:4px solid #d97706;background:#fff8eb}
.finding.high{border-color:#c81e1e;background:#fdf0f0}.muted{color:#69758a}
.axis{stroke:#69758a}.grid{stroke:#e4e8ef}.tick{font-size:11px;fill:#69758a}
.trend-new{color:#c81e1e;font-weight:600}.trend-rising{color:#c2410c}
.legend{list-style:none;padding:0;margin:.2rem 0;font-size:.85rem}.legend li{display:inline-block;margin-right:1rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-.1rem}
.group{border:1px solid #e4e8ef;border-radius:6px;padding:.6rem 1rem;margin:.8rem 0}
summary{cursor:pointer;font-weight:600;margin:.6rem 0}
""" + "".join(f".s{n}{{fill:{colour}}}" for n, colour in enumerate(PALETTE)) + "\n"


def _changes_html(report: Any) -> str:
    if report.changes.empty:
        return '<p class="muted">No failures in either period.</p>'
    e = html.escape
    rows = "".join(
        f"<tr><td><code>{e(r['cause'])}</code></td><td>{r['current']}</td><td>{r['previous']}</td>"
        f"<td class=\"trend-{e(r['trend'])}\">{e(_TREND_MARK[r['trend']])} {r['delta']:+d}</td></tr>"
        for r in report.changes.to_dict("records"))
    return (f"<p>{e(_lines_note(report, 'Failure lines per cause, against the previous period'))}</p>"
            f"<table><thead><tr><th>cause</th><th>now</th><th>before</th><th>change</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _charts_html(report: Any) -> str:
    out = ["<h2>Failures over time</h2>",
           _svg_chart(stacked_series(report.timeline) if not report.timeline.empty else report.timeline,
                      unit=report.bin, title=f"failure lines per {report.bin}, by cause")]
    if not report.rates.empty:
        out.append(_svg_chart(report.rates[["rate"]].rename(columns={"rate": "refused (401/403) share of requests"}),
                              unit=report.bin, title=f"refused share of access-log requests per {report.bin}",
                              percent=True))
    return "".join(out)


def _group_html(number: int, row: dict[str, Any]) -> str:
    e = html.escape
    party = f" · relying party {e(plain(row['relying_party']))}" if plain(row["relying_party"]) else ""
    value = f"Value <code>{e(plain(row['key']))}</code>; " if plain(row["key"]) else ""
    reading = f'<p>Reads as: {e(row["reading"])}</p>' if plain(row.get("reading")) else ""
    return (f'<div class="group"><h3>{number}. {e(row["title"])} <code>{e(row["cause"])}</code> '
            f'× {row["count"]}{party}</h3><p>{value}hosts {e(plain(row["hosts"]) or "unknown")}; '
            f'last seen {e(_when(row["last_seen"]))}</p>{reading}'
            f'<p>{e(row["explanation"])}</p><pre>{e(row["recommendation"])}</pre>'
            f'<p class="muted">Example: <code>{e(row["example"])}</code></p></div>')


def _rest_html(report: Any) -> str:
    """The groups after the first :data:`TOP_GROUPS`, one row each, in a collapsible section."""
    rest = report.groups.iloc[TOP_GROUPS:]
    if rest.empty:
        return ""
    e = html.escape
    rows = "".join(
        f"<tr><td>{n}</td><td>{e(plain(r['title']))} <code>{e(r['cause'])}</code></td>"
        f"<td>{e(plain(r['relying_party']) or plain(r['software']))}</td><td>{r['count']}</td>"
        f"<td><code>{e(shorten(plain(r['key']), 80))}</code>"
        f"</td><td>{e(_when(r['last_seen']))}</td></tr>"
        for n, r in enumerate(rest.to_dict("records"), start=TOP_GROUPS + 1))
    return (f'<details id="other-groups"><summary>{e(_rest_note(report))}: cause, count, value, last seen</summary>'
            "<table><thead><tr><th>#</th><th>cause</th><th>relying party or software</th><th>count</th><th>value</th>"
            f"<th>last seen</th></tr></thead><tbody>{rows}</tbody></table>"
            '<p class="muted">The JSON report (<code>--format json</code>) holds every group with its fix.</p>'
            '</details>')


def _html(report: Any) -> str:
    e = html.escape
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>tokenaudit report {e(_period(report))}</title><style>{_STYLE}</style></head><body>",
             f"<h1>tokenaudit report</h1><p><b>{e(_period(report))}</b>. {e(' '.join(headline(report)))}</p>",
             "<h2>Security findings</h2>"]
    parts += [f'<div class="finding {e(f.severity)}"><b>{e(f.severity)}</b> {e(f.title)}: {e(f.detail)}</div>'
              for f in report.security] or ['<p class="muted">None.</p>']
    parts += ["<h2>What changed</h2>", _changes_html(report), _charts_html(report),
              "<h2>Top causes and their fixes</h2>", f'<p id="groups-shown">{e(_shown_note(report))}</p>']
    parts += [_group_html(n, row) for n, row in enumerate(report.groups.head(TOP_GROUPS).to_dict("records"), start=1)]
    parts += [_rest_html(report),
              "<h2>Per relying party</h2>", f"<p>{e(_party_note(report))}</p>",
              _table(report.by_relying_party, ["relying_party", "cause", "count"]),
              "<h2>Per host</h2>", f"<p>{e(_lines_note(report, 'Failure lines per host that wrote them'))}</p>",
              _table(report.by_host, ["host", "count"]),
              "<p class=\"muted\">Made by tokenaudit. Tokens are never stored or shown; values are redacted.</p>",
              "</body></html>"]
    return "\n".join(parts)
