"""Time parsing: each distinct text is parsed once, and the answer is the one it gets alone."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenaudit.common.timestamps import duration_text, parse_timestamps, time_window
from tokenaudit.errors import InputError

#: Per kind: texts that parse, that do not, and edge cases (year roll-over, Feb 29, DST).
TEXTS = {
    "rfc3164": ["Dec 31 23:59:59", "Jan  1 00:00:01", "Feb 29 12:00:00", "Mar 30 02:30:00", "Oct 26 02:30:00",
                "Jan  2 08:00:00", "Jan  3 08:00:00", "Nov 20 10:00:00", "Foo 12 10:00:00", "", "Jan 1  00:00:00"],
    "clf": ["20/Nov/2026:00:00:00 +0000", "20/Nov/2026:00:00:01 +0530", "31/Dec/2025:23:59:59 -0800",
            "20/Nov/2026:24:00:00 +0000", "-"],
    "iso8601": ["2026-11-20T00:00:00Z", "2026-11-20T00:00:00.123456+01:00", "2026-11-20 00:00:00", "not a time"],
    "epoch_us": ["1742836780512331", "0", "x", "99999999999999999999"],
    "apache": ["Tue Mar 24 18:19:40.123456 2025", "Tue Mar 24 18:19:41 2025", "Tue Mar 24 2025"],
    "any": ["2026-11-20T00:00:00Z", "2025/03/24 18:19:40", "20/Nov/2026:00:00:00 +0000", "Dec 31 23:59:59", "?"],
}


@pytest.mark.parametrize("kind", sorted(TEXTS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_series_parses_as_each_text_alone(kind: str, data: st.DataObject) -> None:
    """Repeated texts and missing values come back in place, each as it parses on its own."""
    texts = data.draw(st.lists(st.sampled_from([*TEXTS[kind], None]), min_size=2, max_size=30))
    zone = data.draw(st.sampled_from(["UTC", "Europe/Berlin", "America/St_Johns"]))
    reference = pd.Timestamp(data.draw(st.sampled_from(["2026-01-02", "2026-11-25", "2024-03-01"])), tz="UTC")
    raw = pd.Series(texts, index=range(100, 100 + len(texts)), dtype=object)
    together = parse_timestamps(raw, kind, timezone=zone, reference=reference)
    alone = [parse_timestamps(raw.iloc[[i]], kind, timezone=zone, reference=reference).iloc[0]
             for i in range(len(raw))]
    assert together.index.tolist() == raw.index.tolist()
    assert str(together.dtype) == "datetime64[us, UTC]"
    assert [None if pd.isna(v) else v for v in together] == [None if pd.isna(v) else v for v in alone]


def test_rfc3164_takes_the_year_before_only_for_times_after_the_file() -> None:
    raw = pd.Series(["Dec 31 23:59:59", "Jan  1 00:00:01", "Dec 31 23:59:59", "Feb 29 12:00:00", None])
    parsed = parse_timestamps(raw, "rfc3164", reference=pd.Timestamp("2025-01-02", tz="UTC"))
    assert [None if pd.isna(v) else str(v) for v in parsed] == [
        "2024-12-31 23:59:59+00:00", "2025-01-01 00:00:01+00:00", "2024-12-31 23:59:59+00:00",
        "2024-02-29 12:00:00+00:00", None]


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _zoned_texts(kind: str) -> list[str]:
    """Every day of two years' months (one a leap year), edge times and offsets, and shapes pandas refuses."""
    texts = []
    for year in ("2024", "2025", "0001", "9999"):
        for month in range(1, 13):
            name = _MONTHS[month - 1] if kind == "clf" else f"{month:02d}"
            for day in range(0, 33):
                texts.append(f"{day:02d}/{name}/{year}:12:30:45 +0000")
    for when in ("00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60", "9:05:05"):
        for offset in ("+0000", "+0530", "-1200", "+1400", "+9999", "-0000", "+00", "Z", "+05:30"):
            month = "Mar" if kind == "clf" else "03"
            texts.append(f"31/{month}/2025:{when} {offset}")
            texts.append(f"01/{month}/0001:{when} {offset}")
            texts.append(f"31/Dec/9999:{when} {offset}" if kind == "clf" else f"31/12/9999:{when} {offset}")
    texts += [" 08/Mar/2025:09:37:44 +0000", "08/March/2025:09:37:44 +0000", "08/mar/2025:09:37:44 +0000",
              "08/Mar/2025:09:37:44 +0000 x", "8/Mar/2025:09:37:44 +0000", "08/03/2025:09:37:44 +0000",
              "08/13/2025:09:37:44 +0000", "08/00/2025:09:37:44 +0000", "", "-"]
    return texts


@pytest.mark.parametrize("kind", ["clf", "pveproxy"])
def test_zoned_times_read_by_arrow_as_pandas_reads_them(kind: str) -> None:
    """Arrow reads the strictly shaped texts, pandas the rest: together exactly pandas' answer."""
    from tokenaudit.common.timestamps import _STRPTIME

    texts = pd.Series(_zoned_texts(kind), dtype="string")
    ours = parse_timestamps(texts, kind)
    pandas = pd.to_datetime(texts, format=_STRPTIME[kind], utc=True, errors="coerce").astype("datetime64[us, UTC]")
    differ = [(t, a, b) for t, a, b in zip(texts, ours, pandas, strict=True)
              if not (pd.isna(a) and pd.isna(b)) and a != b]
    assert differ == []
    assert ours.notna().sum() > 1000  # most texts are times: the fast path was exercised
    # 29 February exists in 2024 only; Arrow alone would have made 29/Feb/2025 the 1st of March.
    feb = "Feb" if kind == "clf" else "02"
    assert pd.notna(ours[texts == f"29/{feb}/2024:12:30:45 +0000"]).all()
    assert pd.isna(ours[texts == f"29/{feb}/2025:12:30:45 +0000"]).all()


NOW = pd.Timestamp("2026-11-23T06:00:00Z")


@pytest.mark.parametrize(
    ("since", "until", "start", "end"),
    [
        # a duration in since counts back from until when there is one (the issue: 1d before 31 October) ...
        ("1d", "2026-10-31", "2026-10-30T00:00:00Z", "2026-10-31T00:00:00Z"),
        ("12h", pd.Timestamp("2026-11-22T12:00:00Z"), "2026-11-22T00:00:00Z", "2026-11-22T12:00:00Z"),
        ("7d", "1d", "2026-11-15T06:00:00Z", "2026-11-22T06:00:00Z"),  # ... also from an until that is a duration
        # ... and from now without one
        ("24h", None, "2026-11-22T06:00:00Z", None),
        # dates and times are what they say, whatever the other bound
        ("2026-11-01", "2026-11-02T00:00:00+01:00", "2026-11-01T00:00:00Z", "2026-11-01T23:00:00Z"),
        (None, "2026-11-02", None, "2026-11-02T00:00:00Z"),
        (None, None, None, None),
    ],
)
def test_time_window_counts_a_duration_back_from_its_end(since: object, until: object, start: str | None,
                                                        end: str | None) -> None:
    window = time_window(since, until, now=NOW)  # type: ignore[arg-type]
    assert window == (pd.Timestamp(start) if start else None, pd.Timestamp(end) if end else None)


@pytest.mark.parametrize(("since", "until"), [("2026-11-02", "2026-11-01"), ("2026-11-01", "2026-11-01"),
                                              ("2026-11-22T12:00:00Z", "1d")])
def test_time_window_that_ends_before_it_starts_is_an_error(since: str, until: str) -> None:
    with pytest.raises(InputError, match="the period ends before it starts"):
        time_window(since, until, now=NOW)


def test_time_window_reads_bounds_as_parse_time_bound_does() -> None:
    with pytest.raises(InputError, match="cannot read 'yesterday' as a time"):
        time_window("yesterday", "2026-11-01", now=NOW)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (23.4, "23 s"), (60, "1 min"), (3567, "59 min 27 s"), (3600, "1 h"), (3660, "1 h 1 min"),
     (86400, "1 d"), (1120638, "12 d 23 h"), (-90, "1 min 30 s")],
)
def test_duration_text_reads_as_words(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text
