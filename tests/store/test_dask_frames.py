"""read_events(engine="dask"): a lazy Dask DataFrame that computes to what the pandas engine reads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import tokenaudit as ta
from tokenaudit.errors import InputError

from ..conftest import SAMPLE_LOGS

pytest.importorskip("dask.dataframe")

KEY = b"f" * 32


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dask-frames") / "ds"
    ta.ingest([str(SAMPLE_LOGS)], root, timezone="Europe/Berlin", fingerprint_key=KEY)
    return root


def _in_one_order(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["ts", "source_file", "line_no"], kind="stable").reset_index(drop=True)


def test_a_dask_frame_computes_to_the_pandas_one(dataset: Path) -> None:
    lazy = ta.read_events(dataset, engine="dask")
    files = sorted((dataset / "events").rglob("part-*.parquet"))
    assert lazy.npartitions == len(files) > 1
    computed = lazy.compute(scheduler="sync")
    assert len(computed) > 50
    pd.testing.assert_frame_equal(_in_one_order(computed), _in_one_order(ta.read_events(dataset)))
    assert list(lazy.dtypes) == list(computed.dtypes)  # the frame's metadata is what a partition holds


def test_a_window_and_columns_are_those_of_the_pandas_engine(dataset: Path) -> None:
    columns = ["ts", "source_file", "line_no", "status"]
    every = ta.read_events(dataset, columns=columns)
    since = every["ts"].iloc[len(every) // 3]
    until = every["ts"].iloc[2 * len(every) // 3]
    pandas_window = ta.read_events(dataset, since=since, until=until, columns=columns)
    lazy = ta.read_events(dataset, since=since, until=until, columns=columns, engine="dask")
    assert list(lazy.columns) == columns
    computed = lazy.compute(scheduler="sync")
    assert 0 < len(computed) < len(every)
    assert computed["ts"].min() >= since and computed["ts"].max() < until
    pd.testing.assert_frame_equal(_in_one_order(computed), _in_one_order(pandas_window))


def test_on_a_cluster_the_partitions_are_read_by_its_workers(dataset: Path, dask_client: object) -> None:
    counts = ta.read_events(dataset, engine="dask").groupby("format").size().compute()
    expected = ta.read_events(dataset).groupby("format").size()
    pd.testing.assert_series_equal(counts.sort_index(), expected.sort_index(), check_names=False)


def test_an_empty_dataset_is_an_empty_frame_with_the_same_columns_and_dtypes(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    from tokenaudit.store.dataset import open_for_writing

    open_for_writing(root)
    lazy = ta.read_events(root, engine="dask").compute(scheduler="sync")
    eager = ta.read_events(root)
    assert lazy.empty and eager.empty
    assert list(lazy.columns) == list(eager.columns) and list(lazy.dtypes) == list(eager.dtypes)


def test_an_unknown_engine_is_an_input_error_with_a_hint(dataset: Path) -> None:
    with pytest.raises(InputError, match="'polars' is no engine") as caught:
        ta.read_events(dataset, engine="polars")  # type: ignore[arg-type]
    assert "engine=" in (caught.value.hint or "")
