"""Time parsing: each distinct text is parsed once, and the answer is the one it gets alone."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenaudit.timestamps import parse_timestamps

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
