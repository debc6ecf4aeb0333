"""Each event's cause read file by file: the causes classify gives the events, with or without a rematch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tokenaudit as ta
from tokenaudit.analysis.event_causes import iter_event_causes

from ..conftest import SAMPLE_LOGS


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("causes")
    ta.ingest([str(SAMPLE_LOGS)], root / "ds", timezone="Europe/Berlin", fingerprint_key=b"c" * 32)
    return root / "ds"


def _pairs(root: Path, **window: pd.Timestamp) -> list[tuple[int, str, object]]:
    found = list(iter_event_causes(root, ta.load_catalogue(), columns=("client_addr",), **window))
    return sorted((int(t), str(c), a) for f in found
                  for t, c, a in zip(f.ts, f.cause, f.columns["client_addr"].to_pylist(), strict=True))


def _expected(root: Path, **window: pd.Timestamp) -> list[tuple[int, str, object]]:
    events = ta.classify(ta.read_events(root, **window))
    ts = events["ts"].astype("datetime64[us, UTC]").array.asi8
    addr = events["client_addr"].astype(object).where(events["client_addr"].notna(), None)
    return sorted(zip(map(int, ts), map(str, events["cause"]), addr, strict=True))


def test_every_event_gets_the_cause_classify_gives_it(dataset: Path) -> None:
    pairs = _pairs(dataset)
    assert len(pairs) == len(ta.read_events(dataset)) > 50
    assert pairs == _expected(dataset)
    assert len({cause for _, cause, _ in pairs}) > 10


def test_a_window_keeps_its_events_only(dataset: Path) -> None:
    window = {"since": pd.Timestamp("2026-11-22", tz="UTC"), "until": pd.Timestamp("2026-11-23", tz="UTC")}
    pairs = _pairs(dataset, **window)
    assert 0 < len(pairs) < len(ta.read_events(dataset))
    assert pairs == _expected(dataset, **window)


def test_events_of_another_catalogue_are_matched_again_from_their_message(dataset: Path, tmp_path: Path) -> None:
    stale = tmp_path / "ds"
    shutil.copytree(dataset, stale)
    for path in sorted((stale / "events").rglob("*.parquet")):
        table = pq.read_table(path)
        at = table.column_names.index("catalogue")
        table = table.set_column(at, "catalogue", pa.array(["0123456789abcdef"] * table.num_rows, pa.string()))
        pq.write_table(table, path)
    pairs = _pairs(stale)
    assert pairs == _expected(stale) == _expected(dataset)
