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
from tokenaudit.store.event_classes import CLASS_COLUMNS, _plan, classes_of_frame

from ..conftest import SAMPLE_LOGS, dataset_of

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


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rows_differing_only_by_a_null_are_classes_of_their_own(overlapping: Path, tmp_path: Path, seed: int) -> None:
    """One value and nulls in a column, or a few values and nulls in several: every distinct row is a class.

    With the loose columns left out (the default), ``pid`` no longer splits classes, and every
    event still comes back with its own values.
    """
    from tokenaudit.schema import EVENT_SCHEMA

    template = pa.Table.from_pandas(ta.read_events(overlapping).head(1), preserve_index=False)
    template = template.select([n for n in EVENT_SCHEMA.names if n in template.column_names])
    rng = np.random.default_rng(seed)
    count = 300
    events = template.take(pa.array(np.zeros(count, dtype=np.int64)))
    choices = {"realm": [None, "pam"], "user": [None, "a@pam", "b@pam"], "pid": [None, "1", "2", "3"],
               "detail": [None, "x"], "audience": [None, "aud-1", "aud-2"]}
    for name, values in choices.items():
        picked = [values[i] for i in rng.integers(0, len(values), count)]
        events = events.set_column(events.column_names.index(name), name, pa.array(picked, pa.string()))
    stamps = pa.array(np.arange(count, dtype=np.int64) * 1_000_000 + 1_700_000_000_000_000, pa.int64())
    events = events.set_column(events.column_names.index("ts"), "ts", stamps.cast(pa.timestamp("us", tz="UTC")))
    events = events.set_column(events.column_names.index("line_no"), "line_no", pa.array(np.arange(1, count + 1)))
    dataset = dataset_of(events, tmp_path / "dataset")

    stored = ta.read_events(dataset)
    strict = ta.read_event_classes(dataset, loose=None)
    distinct = stored[list(CLASS_COLUMNS)].astype(object).fillna("<null>")
    assert len(strict.classes) == len(distinct.drop_duplicates())
    loose = ta.read_event_classes(dataset)
    assert len(loose.classes) == len(distinct.drop(columns="pid").drop_duplicates()) < len(strict.classes)
    for collapsed in (strict, loose):
        assert int(collapsed.classes["count"].sum()) == count
        rows = _all_rows(collapsed)
        for column in CLASS_COLUMNS:
            got, want = rows[column].astype(object), stored[column].astype(object)
            assert got.where(got.notna(), None).tolist() == want.where(want.notna(), None).tolist(), column


def _classes_frame(collapsed: ta.EventClasses) -> pd.DataFrame:
    return collapsed.classes.astype(object).where(collapsed.classes.notna(), None)


def test_summaries_give_what_the_events_files_give(overlapping: Path, tmp_path: Path) -> None:
    """Each events file has its summary, and reading the summaries equals reading the files."""
    from tokenaudit.store.event_classes import SUMMARY_TABLE, summary_path

    dataset = tmp_path / "dataset"
    shutil.copytree(overlapping, dataset)
    files = sorted((dataset / "events").rglob("*.parquet"))
    assert files and all(summary_path(dataset, f).is_file() for f in files)
    with_summaries = ta.read_event_classes(dataset)
    rows = _all_rows(with_summaries)
    shutil.rmtree(dataset / SUMMARY_TABLE)  # as a dataset written before summaries
    without = ta.read_event_classes(dataset)
    pd.testing.assert_frame_equal(_classes_frame(with_summaries), _classes_frame(without))
    pd.testing.assert_frame_equal(rows, _all_rows(without))
    realms, tokens = ta.read_realms(dataset), ta.read_tokens(dataset)
    parties = ta.load_relying_parties(SAMPLE_LOGS / "tokenaudit.toml")
    pd.testing.assert_frame_equal(ta.failure_groups(with_summaries, realms, tokens=tokens, parties=parties),
                                  ta.failure_groups(without, realms, tokens=tokens, parties=parties))


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The events files read event by event (not through their summaries), as they are read."""
    from tokenaudit.store import event_classes

    paths: list[Path] = []
    real = event_classes._file_classes

    def counting(root: Path, path: Path, low: int | None, high: int | None, loose: object = None) -> object:
        paths.append(path)
        return real(root, path, low, high, loose)

    monkeypatch.setattr(event_classes, "_file_classes", counting)
    return paths


def test_classes_come_from_the_summaries_and_a_file_is_read_only_to_expand_its_classes(
    tmp_path: Path, opened: list[Path]
) -> None:
    """One ingest: a file per event date, in time order. (Files whose times overlap are read to merge them.)"""
    dataset = tmp_path / "dataset"
    _ingest(SAMPLE_LOGS, "--dataset", dataset)
    opened.clear()  # ingest read its files to summarize them
    collapsed = ta.read_event_classes(dataset)
    assert opened == []  # no events file was read
    files = sorted((dataset / "events").rglob("*.parquet"))
    assert len(collapsed.parts) == len(files) > 1
    chosen = np.zeros(len(collapsed.classes), dtype=bool)
    chosen[0] = True  # expanding the first class reads its file alone
    rows = collapsed.rows(chosen)
    assert len(rows) == collapsed.classes["count"].iloc[0] and len(opened) == 1
    assert _all_rows(collapsed)["line_no"].tolist() == ta.read_events(dataset)["line_no"].tolist()
    assert sorted(set(opened)) == files


def test_a_summary_that_no_longer_describes_its_file_is_not_used(overlapping: Path, tmp_path: Path) -> None:
    from tokenaudit.store.event_classes import summary_path

    dataset = tmp_path / "dataset"
    shutil.copytree(overlapping, dataset)
    path = sorted((dataset / "events").rglob("*.parquet"))[0]
    table = pq.read_table(path)
    pq.write_table(table.slice(1).replace_schema_metadata(table.schema.metadata), path)  # one event less
    assert summary_path(dataset, path).is_file()
    collapsed = ta.read_event_classes(dataset)
    assert int(collapsed.classes["count"].sum()) == len(ta.read_events(dataset))
    summary_path(dataset, path).write_bytes(b"not parquet")  # a damaged summary: the file is read instead
    assert int(ta.read_event_classes(dataset).classes["count"].sum()) == len(ta.read_events(dataset))


def test_loose_classes_leave_addresses_and_messages_out_and_give_each_event_its_own(overlapping: Path) -> None:
    """Failures differing only in client address, pid or message fall into one class; expanded, each is itself."""
    from tokenaudit.store.looseness import Looseness

    events = ta.read_events(overlapping)
    strict = ta.read_event_classes(overlapping, loose=None)
    loose = ta.read_event_classes(overlapping, loose=Looseness.of(ta.load_catalogue()))
    assert len(loose.classes) < len(strict.classes)
    assert int(loose.classes["count"].sum()) == int(strict.classes["count"].sum()) == len(events)
    rows = _all_rows(loose)
    for column in ("client_addr", "pid", "message", "expired_at", "current_time"):
        got, want = rows[column].astype(object), events[column].astype(object)
        assert got.where(got.notna(), None).tolist() == want.where(want.notna(), None).tolist(), column


def test_events_of_another_catalogue_keep_every_column_in_their_key(overlapping: Path) -> None:
    """They are matched again from their own message, so their classes are the strict ones."""
    from tokenaudit.store.looseness import Looseness

    other = Looseness("0123456789abcdef", Looseness.of(ta.load_catalogue()).key_column)
    strict = ta.read_event_classes(overlapping, loose=None)
    stale = ta.read_event_classes(overlapping, loose=other)
    pd.testing.assert_frame_equal(_classes_frame(stale), _classes_frame(strict))
    assert stale.fingerprint == ""


def test_a_failure_pairs_with_a_refusal_of_any_of_its_events_addresses(tmp_path: Path) -> None:
    """A loose class holds its first event's address; the refusal of its second event's address still pairs."""
    failure = "pvedaemon[{}]: authentication failure; rhost=::ffff:{} user=a@pam msg=Authentication failure"
    lines = [f"Nov 23 10:00:00 pve1 {failure.format(1, '192.0.2.1')}",
             f"Nov 23 10:05:00 pve1 {failure.format(2, '192.0.2.2')}"]
    access = ['::ffff:192.0.2.2 - - [23/11/2026:10:05:01 +0100] "POST /api2/extjs/access/ticket HTTP/1.1" 401 -']
    (tmp_path / "syslog").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "access.log").write_text("\n".join(access) + "\n", encoding="utf-8")
    dataset = tmp_path / "dataset"
    _ingest(tmp_path / "syslog", tmp_path / "access.log", "--dataset", dataset)
    loose = ta.read_event_classes(dataset)
    failures = loose.classes[loose.classes["event_kind"] == "auth_failure"]
    assert len(failures) == 1 and int(failures["count"].iloc[0]) == 2  # one class, two addresses
    groups = ta.failure_groups(loose)
    by_rows = ta.failure_groups(ta.read_events(dataset))
    pd.testing.assert_frame_equal(groups, by_rows)
    assert ta.group_accounting(groups).paired_refusals == 1


def test_a_summary_serves_only_readers_of_its_own_looseness(tmp_path: Path, opened: list[Path]) -> None:
    """Ingest writes loose summaries; a reader asking for strict classes reads the events files instead."""
    dataset = tmp_path / "dataset"
    _ingest(SAMPLE_LOGS, "--dataset", dataset)
    opened.clear()  # ingest read its files to summarize them
    ta.read_event_classes(dataset)
    assert opened == []
    strict = ta.read_event_classes(dataset, loose=None)
    assert sorted(opened) == sorted((dataset / "events").rglob("*.parquet"))
    assert len(strict.classes) == len(ta.read_events(dataset)[list(CLASS_COLUMNS)].astype(object)
                                       .fillna("<null>").drop_duplicates())


def test_classes_read_on_a_cluster_are_those_read_on_threads(overlapping: Path, dask_client: object) -> None:
    here = ta.read_event_classes(overlapping)
    spread = ta.read_event_classes(overlapping, client=dask_client)
    pd.testing.assert_frame_equal(spread.classes, here.classes)
    # Each event's own values are read from its file on demand, by the caller, as on threads.
    pd.testing.assert_frame_equal(_all_rows(spread), _all_rows(here))
