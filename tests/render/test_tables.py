"""tokenaudit.render: the first screen of ``analyze`` (summary, details, the rest) and its one-line fixes."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from tokenaudit.analysis.failures import GroupAccounting
from tokenaudit.render.tables import (
    SUMMARY_ROWS,
    accounting_line,
    clip_words,
    groups_to_records,
    one_line_fix,
    render_groups,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")
PROXMOX_FIX = """First confirm that 377572587972067335 is your ZITADEL project's Resource Id. Then trust the extra
audience on realm zitadel:

    pveum realm modify zitadel --audiences 377572587972067335

On older versions Proxmox accepts no audience but the client id."""


def group(cause: str, count: int, *, key: str = "value", party: str | None = None, software: str = "proxmox",
          ready: bool = True, confidence: str = "high", recommendation: str = "Do the thing. Then more.",
          hour: int = 10) -> dict[str, object]:
    return {"cause": cause, "title": cause.replace("_", " ").capitalize(), "relying_party": party, "key": key,
            "count": count, "first_seen": pd.Timestamp(f"2026-11-21 {hour:02d}:00", tz="UTC"),
            "last_seen": pd.Timestamp(f"2026-11-22 {hour:02d}:30", tz="UTC"), "hosts": "pve1", "software": software,
            "signature": f"{software}.x", "alternatives": "", "tier": "signature", "confidence": confidence,
            "identity": "claimed", "ready_fix": ready, "token_evidence": "", "example": f"example of {cause}",
            "explanation": f"Why {cause} happened.", "recommendation": recommendation}


@pytest.fixture()
def groups() -> pd.DataFrame:
    rows = [
        group("untrusted_extra_audience", 8, key="377572587972067335", party="zitadel", recommendation=PROXMOX_FIX),
        group("issuer_mismatch", 2, key="https://auth.example.com", party="zitadel", ready=False,
              recommendation="Confirm the issuer before you change it: read the discovery document. Then set it."),
        group("suspicious_line", 1, key="written by `logger`",
              recommendation="Change nothing for this line. Find who."),
        *[group("expired", 1, key=f"k{n}", software="envoy", hour=n) for n in range(SUMMARY_ROWS + 2)],
        group("unclassified", 2, key="HTTP 401 on GET /admin/", software="haproxy", confidence="",
              recommendation="The access log shows the refusal, not its reason."),
    ]
    frame = pd.DataFrame(rows)
    frame.attrs["accounting"] = GroupAccounting(
        events=len(rows) + 30, grouped=int(frame["count"].sum()), groups=len(rows), follow_ups=1,
        paired_refusals=2, unpaired_refusals=2, suspicious=1, suspicious_groups=1, unexplained=2,
        unexplained_groups=1)
    return frame


def summary_of(text: str) -> list[str]:
    """The lines before the first group in full."""
    lines = text.splitlines()
    first = next(n for n, line in enumerate(lines) if line.startswith("#1 "))
    return lines[:first]


def test_summary_comes_first_with_one_row_and_one_fix_line_per_group(groups: pd.DataFrame) -> None:
    text = render_groups(groups, width=100)
    summary = summary_of(text)
    assert summary[0].startswith(f"{groups.attrs['accounting'].events} events, 2026-11-21 to 2026-11-22: ")
    row = next(line for line in summary if line.lstrip().startswith("1  untrusted_extra_audience"))
    assert re.search(r"untrusted_extra_audience\s+8\s+zitadel\s+377572587972067335\s+2026-11-22\s+high\s+ready$", row)
    fix = summary[summary.index(row) + 1]
    assert fix.strip() == "fix: First confirm that 377572587972067335 is your ZITADEL project's Resource Id."
    issuer = next(line for line in summary if "issuer_mismatch" in line)
    assert issuer.endswith("confirm"), issuer
    # The table holds SUMMARY_ROWS ranked groups, and says what it leaves out.
    ranked = [line for line in summary if re.match(r"\s*\d+  [a-z_]+ ", line)]
    assert len(ranked) == SUMMARY_ROWS + 1  # and the suspicious line, apart
    rest = " ".join(summary[next(n for n, line in enumerate(summary) if line.startswith("Not in this table")):]).strip()
    assert rest == ("Not in this table: 4 more groups (4 failures) and 1 unexplained (2 failures, "
                           "2 of them HTTP refusals whose reason no ingested log gives).")


def test_suspicious_lines_are_apart_under_a_security_heading(groups: pd.DataFrame) -> None:
    summary = summary_of(render_groups(groups, width=100))
    heading = next(n for n, line in enumerate(summary) if line.startswith("Security:"))
    table = next(n for n, line in enumerate(summary) if "untrusted_extra_audience" in line)
    suspicious = [n for n, line in enumerate(summary) if "suspicious_line" in line and "events" not in line]
    assert suspicious and all(heading < n < table for n in suspicious)
    assert summary[suspicious[0]].lstrip().startswith("3  suspicious_line")  # its rank among all groups


@pytest.mark.parametrize("width", [60, 80, 100, 160])
def test_every_line_fits_the_width_and_the_summary_one_screen(groups: pd.DataFrame, width: int) -> None:
    text = render_groups(groups, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert not ANSI.search(text)
    if width >= 80:  # a terminal's usual width: one screen, and causes whole (what each row is about)
        assert len(summary_of(text)) <= 40
        assert any("untrusted_extra_audience" in line for line in summary_of(text))


def test_colour_only_when_asked(groups: pd.DataFrame) -> None:
    coloured = render_groups(groups, width=100, color=True)
    assert ANSI.search(coloured)
    plain = [line.rstrip() for line in ANSI.sub("", coloured).splitlines()]
    assert plain == render_groups(groups, width=100).splitlines()


@pytest.mark.parametrize(("details", "shown"), [(3, 3), (0, 0), (1, 1), (None, 18)])
def test_details_of_the_top_groups_only_and_how_to_see_the_rest(groups: pd.DataFrame, details: int | None,
                                                                  shown: int) -> None:
    text = render_groups(groups, width=100, details=details)
    headings = re.findall(r"^#(\d+) ", text, flags=re.MULTILINE)
    assert headings == [str(n) for n in range(1, shown + 1)]
    last = text.splitlines()[-1]
    if shown < len(groups):
        assert last == (f"{len(groups) - shown} more groups in full: tokenaudit analyze --details all, "
                        "or --format markdown/json")
    else:
        assert last.startswith("All groups are shown in full")
    if shown:
        assert "    pveum realm modify zitadel --audiences 377572587972067335" in text  # command lines kept whole


def test_accounting_line_explains_the_difference() -> None:
    account = GroupAccounting(events=82, grouped=78, groups=67, follow_ups=2, paired_refusals=2, suspicious=1,
                              suspicious_groups=1)
    assert accounting_line(account) == (
        "82 events: 77 failures in 66 groups, 1 suspicious line shown apart, 2 follow-up lines counted with the "
        "failure they follow, 2 HTTP refusals counted with the line that says why")
    assert accounting_line(GroupAccounting(events=5, grouped=5, groups=2)) == "5 events: 5 failures in 2 groups"


def test_without_kept_accounting_the_groups_count_for_themselves(groups: pd.DataFrame) -> None:
    part = groups.head(2)
    assert (render_groups(part, width=100).splitlines()[0]
            == "10 events, 2026-11-21 to 2026-11-22: 10 failures in 2 groups")


def test_markdown_and_json_hold_every_group(groups: pd.DataFrame) -> None:
    markdown = render_groups(groups, fmt="markdown")
    assert markdown.startswith(f"**{accounting_line(groups.attrs['accounting'], '2026-11-21 to 2026-11-22')}**")
    assert len(re.findall(r"^### \d+\. ", markdown, flags=re.MULTILINE)) == len(groups)
    assert ("| 2 | `issuer_mismatch` | 2 | zitadel | `https://auth.example.com` | pve1 | 2026-11-22T10:30:00Z "
            "| high | confirm first |") in markdown
    assert (json.loads(render_groups(groups, fmt="json"))
            == json.loads(json.dumps(groups_to_records(groups), default=str)))


def test_a_group_reads_as_its_entry_says_where_the_entry_says_more_than_the_cause(groups: pd.DataFrame) -> None:
    groups = groups.copy()
    groups["reading"] = ""
    groups.loc[1, "reading"] = "ID token issued by another issuer than the configured one"
    text = render_groups(groups, width=100, details=3)
    assert text.count("   reads as: ") == 1
    assert "   reads as: ID token issued by another issuer than the configured one" in text
    markdown = render_groups(groups, fmt="markdown")
    assert markdown.count("Reads as: ") == 1 and "Reads as: ID token issued by another issuer" in markdown


def test_empty_groups() -> None:
    empty = pd.DataFrame(columns=["cause", "count", "first_seen", "last_seen"])
    assert render_groups(empty) == "No failure events in the dataset for this period.\n"
    empty.attrs["accounting"] = GroupAccounting(events=2, grouped=0, groups=0, paired_refusals=2)
    assert (render_groups(empty).splitlines()[1]
            == "2 events: 0 failures in 0 groups, 2 HTTP refusals counted with the line that says why")


@pytest.mark.parametrize(("text", "expected"), [
    (PROXMOX_FIX, "First confirm that 377572587972067335 is your ZITADEL project's Resource Id."),
    ("Trust it (check with\n`pveversion -v`):\n\n    pveum realm modify x\n", "Trust it (check with `pveversion -v`)"),
    ("Usually a typo, e.g. a TOTP code. Then more.", "Usually a typo, e.g. a TOTP code."),
    ("    only a command", "only a command"),
])
def test_one_line_fix_is_the_first_sentence(text: str, expected: str) -> None:
    assert one_line_fix(text) == expected


@pytest.mark.parametrize("width", range(8, 76, 6))
def test_clipped_fix_ends_on_a_whole_word(width: int) -> None:
    sentence = one_line_fix(PROXMOX_FIX)
    clipped = clip_words(sentence, width)
    assert len(clipped) <= width and clipped.endswith("…")
    kept = clipped.removesuffix("…")
    assert sentence.startswith(kept)
    assert sentence[len(kept)] in " ;:,.", (width, clipped)  # the next character ends a word
