"""Events collapsed into classes: nothing lost, nothing reordered, the same groups as row by row."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import tokenaudit as ta
from tokenaudit.cli import app
from tokenaudit.event_classes import CLASS_COLUMNS, _plan, classes_of_frame

from .conftest import SAMPLE_LOGS

RUNNER = CliRunner()


def _ingest(*args: object) -> None:
    result = RUNNER.invoke(app, ["ingest", *(str(a) for a in args), "--timezone", "Europe/Berlin"])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def overlapping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample logs, then one of them again under another name: two batches whose times interleave and tie."""
    base = tmp_path_factory.mktemp("classes")
    logs = base / "sample_logs"
    shutil.copytree(SAMPLE_LOGS, logs)
    dataset = base / "dataset"
    _ingest(logs, "--dataset", dataset)
    again = base / "again"
    again.mkdir()
    # A comment line first, so the copy is a new source, not one already ingested.
    text = (logs / "syslog_rfc3164" / "pve1-syslog.log").read_text(encoding="utf-8")
    (again / "copy.log").write_text("# a copy\n" + text, encoding="utf-8")
    _ingest(again / "copy.log", "--dataset", dataset)
    return dataset


def _all_rows(classes: ta.EventClasses) -> pd.DataFrame:
    return classes.rows(np.ones(len(classes.classes), dtype=bool))


def test_expanding_every_class_gives_back_every_event_in_order(overlapping: Path) -> None:
    events = ta.read_events(overlapping)
    collapsed = ta.read_event_classes(overlapping)
    assert len(collapsed.classes) < len(events)  # the copied file's events fall into existing classes
    assert len(collapsed.parts) == 1  # files overlap in time: they were merged in time order
    assert int(collapsed.classes["count"].sum()) == len(events)
    rows = _all_rows(collapsed)
    assert rows["ts"].tolist() == events["ts"].tolist()
    assert rows["source_file"].tolist() == events["source_file"].tolist()  # ties in time keep storage order
    assert rows["line_no"].tolist() == events["line_no"].tolist()
    assert rows["position"].tolist() == list(range(len(events)))
    for column in CLASS_COLUMNS:
        got, want = rows[column].astype(object), events[column].astype(object)
        assert got.where(got.notna(), None).tolist() == want.where(want.notna(), None).tolist(), column


def test_a_class_counts_its_events_with_first_and_last_time(overlapping: Path) -> None:
    events = ta.read_events(overlapping)
    collapsed = ta.read_event_classes(overlapping)
    rows = _all_rows(collapsed)
    of_class = collapsed.class_of_local[np.concatenate([p.row_class for p in collapsed.parts])]
    for number, row in collapsed.classes.iterrows():
        mine = rows.loc[of_class[np.argsort(np.concatenate([p.ts for p in collapsed.parts]), kind="stable")] == number]
        assert row["count"] == len(mine)
        assert row["first_ts"] == mine["ts"].min() and row["last_ts"] == mine["ts"].max()
        assert row["position"] == mine["position"].min()
    assert collapsed.classes["position"].is_monotonic_increasing
    assert collapsed.classes["first_ts"].tolist() == sorted(collapsed.classes["first_ts"])
    assert len(events) == len(rows)


def test_a_time_window_keeps_the_same_events_as_read_events(overlapping: Path) -> None:
    events = ta.read_events(overlapping)
    since, until = events["ts"].iloc[len(events) // 4], events["ts"].iloc[3 * len(events) // 4]
    window = ta.read_events(overlapping, since=since, until=until)
    rows = _all_rows(ta.read_event_classes(overlapping, since=since, until=until))
    assert 0 < len(rows) < len(events)
    where = ["ts", "source_file", "line_no"]
    assert rows[where].to_numpy().tolist() == window[where].to_numpy().tolist()


def test_groups_of_classes_equal_groups_of_events(overlapping: Path) -> None:
    realms = ta.read_realms(overlapping)
    tokens = ta.read_tokens(overlapping)
    parties = ta.load_relying_parties(SAMPLE_LOGS / "tokenaudit.toml")
    by_rows = ta.failure_groups(ta.read_events(overlapping), realms, tokens=tokens, parties=parties)
    by_classes = ta.failure_groups(ta.read_event_classes(overlapping), realms, tokens=tokens, parties=parties)
    pd.testing.assert_frame_equal(by_classes, by_rows)
    assert by_rows["token_evidence"].str.len().gt(0).any()  # token correlation took part


def test_a_frame_of_events_is_one_class_per_event(overlapping: Path) -> None:
    events = ta.read_events(overlapping)
    collapsed = classes_of_frame(events)
    assert len(collapsed.classes) == len(events)
    assert _all_rows(collapsed)["line_no"].tolist() == events["line_no"].tolist()


def test_columns_are_skipped_only_where_statistics_prove_them_null_or_constant(tmp_path: Path) -> None:
    table = pa.table({
        "host": pa.array(["pve1", "pve1", "pve1"]),
        "realm": pa.array([None, None, None], pa.string()),
        "user": pa.array(["a@pam", "b@pam", None]),
        "pid": pa.array(["7", None, "7"]),
    })
    with_stats = tmp_path / "stats.parquet"
    pq.write_table(table, with_stats)
    plan = _plan(pq.ParquetFile(with_stats).metadata)
    assert plan == {"host": ("pve1",), "realm": None, "user": "read", "pid": "read"}
    without = tmp_path / "no-stats.parquet"
    pq.write_table(table, without, write_statistics=False)
    assert set(_plan(pq.ParquetFile(without).metadata).values()) == {"read"}


def test_a_file_written_before_a_column_existed_reads_it_as_null(overlapping: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    shutil.copytree(overlapping, dataset)
    for path in sorted((dataset / "events").rglob("*.parquet")):
        table = pq.read_table(path)
        pq.write_table(table.drop_columns(["status", "method"]).replace_schema_metadata(table.schema.metadata),
                       path)
        break
    events = ta.read_events(dataset)
    rows = _all_rows(ta.read_event_classes(dataset))
    assert rows["status"].isna().sum() == events["status"].isna().sum()
    where = ["ts", "source_file", "method", "status"]
    assert rows[where].astype(object).where(rows[where].notna(), None).to_numpy().tolist() == \
        events[where].astype(object).where(events[where].notna(), None).to_numpy().tolist()
