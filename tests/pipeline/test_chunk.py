"""Request counts of access logs: one row per hour, host, route and status."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from tokenaudit.catalogue.loading import load_catalogue
from tokenaudit.formats.parsing import load_formats
from tokenaudit.pipeline.chunk import ChunkContext, process_chunk

LINES = [
    '10.0.0.1 - - [20/Nov/2026:10:00:01 +0000] "GET /api/orders/1 HTTP/1.1" 200 5 "-" "curl"',
    '10.0.0.2 - - [20/Nov/2026:10:00:02 +0000] "GET /api/orders/2 HTTP/1.1" 200 5 "-" "curl"',
    '10.0.0.3 - - [20/Nov/2026:10:59:59 +0000] "GET /api/orders/3?x=1 HTTP/1.1" 200 5 "-" "curl"',
    '10.0.0.4 - - [20/Nov/2026:10:30:00 +0000] "GET /api/orders/2 HTTP/1.1" 401 5 "-" "curl"',
    '10.0.0.5 - - [20/Nov/2026:11:00:00 +0000] "GET /api/orders/1 HTTP/1.1" 200 5 "-" "curl"',
    '10.0.0.6 - - [20/Nov/2026:10:31:00 +0000] "-" 400 0 "-" "-"',
]


@pytest.mark.parametrize("count_pattern", [True, False], ids=["count_pattern", "full_pattern"])
def test_requests_of_one_route_are_one_row(count_pattern: bool) -> None:
    """Distinct requests (and paths) that fold to the same route are counted together."""
    fmt = load_formats()["combined_access"]
    if not count_pattern:
        fmt = dataclasses.replace(fmt, count_pattern=None, request_path=None)
    result = process_chunk(LINES, fmt, load_catalogue(), ChunkContext("access.log"))
    counts = result.requests.sort_values(["hour", "route", "status"]).reset_index(drop=True)
    rows = [(str(r.hour), r.route, int(r.status), int(r.count)) for r in counts.itertuples()]
    assert rows == [
        ("2026-11-20 10:00:00+00:00", "", 400, 1),
        ("2026-11-20 10:00:00+00:00", "/api/orders/{id}", 200, 3),
        ("2026-11-20 10:00:00+00:00", "/api/orders/{id}", 401, 1),
        ("2026-11-20 11:00:00+00:00", "/api/orders/{id}", 200, 1),
    ]
    assert not counts.duplicated(["hour", "host", "route", "status"]).any()
    assert isinstance(counts["hour"].dtype, pd.DatetimeTZDtype)
