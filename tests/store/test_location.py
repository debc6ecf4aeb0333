"""Where a dataset lives: a local folder (pathlib, as always) or an fsspec URL (here fsspec's memory file system)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pytest

from tests.conftest import dataset_of
from tokenaudit.errors import DatasetError
from tokenaudit.schema import EVENT_SCHEMA
from tokenaudit.store.dataset import (
    GRACE_PERIOD,
    dataset_root,
    discard_uncommitted,
    open_for_writing,
    read_events,
    write_events,
)
from tokenaudit.store.layout import committed_batches
from tokenaudit.store.location import DatasetLocation, is_url, locate


def _url() -> str:
    return f"memory://test-{uuid.uuid4().hex[:12]}/ds"


def _events(rows: int) -> pa.Table:
    base = datetime(2026, 11, 21, 12, tzinfo=UTC)
    columns = {field.name: pa.nulls(rows, field.type) for field in EVENT_SCHEMA}
    columns["ts"] = pa.array([base + timedelta(minutes=n) for n in range(rows)], EVENT_SCHEMA.field("ts").type)
    columns["event_date"] = pa.array(["2026-11-21"] * rows, EVENT_SCHEMA.field("event_date").type)
    columns["line_no"] = pa.array(range(1, rows + 1), EVENT_SCHEMA.field("line_no").type)
    columns["message"] = pa.array([f"failure {n}" for n in range(rows)], EVENT_SCHEMA.field("message").type)
    return pa.table(columns, schema=EVENT_SCHEMA)


def test_a_path_or_file_url_is_a_local_folder_and_keeps_pathlib(tmp_path: Path) -> None:
    for given in (tmp_path, str(tmp_path), f"file://{tmp_path}"):
        location = locate(given)
        assert location.is_local and location.root == tmp_path and location.arrow_fs is None
    assert locate(locate(tmp_path)) == locate(tmp_path)
    assert dataset_root(f"file://{tmp_path}") == tmp_path and dataset_root("s3://b/ds/") == "s3://b/ds"
    assert is_url("s3://b/ds") and not is_url(str(tmp_path))


def test_dataset_root_takes_a_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENAUDIT_DATASET", "s3://bucket/ds")
    assert dataset_root() == "s3://bucket/ds"
    monkeypatch.setenv("TOKENAUDIT_DATASET", "/srv/ds")
    assert dataset_root() == Path("/srv/ds")


def test_an_unknown_scheme_is_a_dataset_error() -> None:
    with pytest.raises(DatasetError, match="no file system for 'nosuch://'") as caught:
        locate("nosuch://bucket/ds")
    assert caught.value.hint


def test_a_dataset_reads_the_same_in_memory_as_in_a_folder(tmp_path: Path) -> None:
    url, events = _url(), _events(5)
    dataset_of(events, tmp_path / "ds")
    dataset_of(events, url)  # type: ignore[arg-type]  # the helper hands the root on to the store as it is
    assert str(locate(url)) == url and not locate(url).is_local
    local, remote = read_events(tmp_path / "ds"), read_events(url)
    assert len(remote) == 5
    assert remote.drop(columns="batch_id").equals(local.drop(columns="batch_id"))


def test_only_a_batch_older_than_the_grace_period_is_discarded_without_a_lock() -> None:
    url = _url()
    open_for_writing(url)
    location = locate(url)
    written = write_events(location, _events(3), "20260101T000000-0badf00d")  # no manifest: in progress or crashed
    assert written and read_events(url).empty and committed_batches(url) == []
    assert discard_uncommitted(url) == []  # may be another site's ingest in progress
    assert all(location.exists(path) for path in written)
    later = datetime.now(UTC) + GRACE_PERIOD + timedelta(seconds=1)
    removed = discard_uncommitted(url, now=lambda: later)
    assert set(written) <= set(removed) and not any(location.exists(path) for path in removed)


def test_a_prefix_holding_other_files_is_no_dataset() -> None:
    url = _url()
    location = locate(url)
    location.write_bytes(location.root / "manifest" / "batch-x.parquet", b"not ours")
    with pytest.raises(DatasetError, match="no tokenaudit dataset"):
        open_for_writing(url)


def test_the_location_pickles_without_its_arrow_wrapper() -> None:
    import pickle

    location = locate(_url())
    assert location.arrow_fs is not None
    copy = pickle.loads(pickle.dumps(location))
    assert isinstance(copy, DatasetLocation) and copy == location and copy.root == PurePosixPath(location.root)
