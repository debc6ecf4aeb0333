"""The export a day at a time gives what pairing every event at once gives."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import tokenaudit as ta
from tokenaudit.analysis.export import iter_paired_events
from tokenaudit.analysis.failures import paired_events

from ..conftest import SAMPLE_LOGS, dataset_of


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export") / "ds"
    os.environ.setdefault("TOKENAUDIT_KEY_FILE", str(root.parent / "key"))
    ta.ingest([str(SAMPLE_LOGS)], root, timezone="UTC")
    return root


def _written(events: pd.DataFrame, root: Path) -> Path:
    """A dataset holding exactly ``events``."""
    from tokenaudit.schema import EVENT_SCHEMA

    table = pa.Table.from_pandas(events.assign(event_date=events["ts"].dt.strftime("%Y-%m-%d")), preserve_index=False)
    return dataset_of(table.select([n for n in EVENT_SCHEMA.names if n in table.column_names]), root)


def _all_at_once(root: Path, **window: pd.Timestamp) -> pd.DataFrame:
    return paired_events(ta.read_events(root, **window), ta.load_catalogue())


def test_the_days_together_are_the_whole_export(samples: Path) -> None:
    days = list(iter_paired_events(samples))
    whole = _all_at_once(samples)
    assert len(days) >= 3 and whole["explained_by"].notna().sum() >= 2
    assert all(day["ts"].dt.normalize().nunique() == 1 for day in days)
    pd.testing.assert_frame_equal(pd.concat(days, ignore_index=True), whole)


def test_a_pair_across_midnight_is_paired_as_in_the_whole_export(samples: Path, tmp_path: Path) -> None:
    """A refusal a few seconds before midnight, and the line that says why a few seconds after it."""
    whole = _all_at_once(samples)
    pairs = []
    for _, refusal in whole[whole["explained_by"].notna()].iterrows():
        source, _, line = refusal["explained_by"].rpartition(":")
        explainer = whole[(whole["source_file"] == source) & (whole["line_no"] == int(line))].iloc[0]
        pairs.append((refusal, source, explainer))
    # A pair whose two lines are seconds apart (oauth2-proxy writes its auth and request lines in the same second).
    refusal, source, explainer = next(pair for pair in pairs if pair[0]["ts"] != pair[2]["ts"])
    events = ta.read_events(samples)
    moved = events[(events["source_file"].isin([refusal["source_file"], source]))
                   & (events["line_no"].isin([refusal["line_no"], explainer["line_no"]]))].copy()
    assert len(moved) == 2
    midnight = pd.Timestamp("2026-12-02", tz="UTC")
    gap = moved["ts"].max() - moved["ts"].min()
    assert pd.Timedelta(0) < gap < pd.Timedelta(seconds=10)
    moved["ts"] = moved["ts"] - moved["ts"].min() + midnight - gap / 2
    assert moved["ts"].dt.date.nunique() == 2  # the pair now straddles midnight
    root = _written(moved, tmp_path / "ds")

    days = list(iter_paired_events(root))
    assert len(days) == 2
    together = pd.concat(days, ignore_index=True)
    assert together["explained_by"].notna().sum() == 1
    pd.testing.assert_frame_equal(together, _all_at_once(root))


def test_a_window_cuts_the_days_as_read_events_does(samples: Path) -> None:
    stamps = ta.read_events(samples)["ts"]
    busiest = stamps.dt.normalize().value_counts().index[0]
    since, until = busiest + pd.Timedelta(hours=6), busiest + pd.Timedelta(days=1, hours=6)
    days = list(iter_paired_events(samples, since=since, until=until))
    expected = _all_at_once(samples, since=since, until=until)
    assert len(expected) > 0
    together = pd.concat(days, ignore_index=True) if days else expected.head(0)
    assert list(together["line_no"]) == list(expected["line_no"])
    assert together["ts"].min() >= since and together["ts"].max() < until


def test_a_busy_day_is_read_in_parts_and_gives_the_same_export(samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a slice of a few events, the busiest day is read in many parts; the export is the same."""
    from tokenaudit.analysis import export

    whole = _all_at_once(samples)
    days = list(iter_paired_events(samples))
    monkeypatch.setattr(export, "SLICE_EVENTS", 3)
    parts = list(iter_paired_events(samples))
    assert len(parts) > len(days)  # parts of equal time: those without events yield nothing
    assert max(len(part) for part in parts) < max(len(day) for day in days)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
