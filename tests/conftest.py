"""Shared fixtures and paths."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LOGS = ROOT / "sample_logs"
TESTS_DATA_DIR = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def _no_dataset_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch a dataset named by the environment."""
    monkeypatch.delenv("TOKENAUDIT_DATASET", raising=False)


@pytest.fixture(autouse=True)
def _private_fingerprint_key(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never create or read a fingerprint key in the user's home."""
    monkeypatch.setenv("TOKENAUDIT_KEY_FILE", str(tmp_path_factory.getbasetemp() / "fingerprint.key"))


def pytest_configure(config: pytest.Config) -> None:
    """Derived data (the checked catalogue) is cached in a fresh folder, never in the user's home.

    Set before collection, since modules load the catalogue at import; subprocesses inherit it.
    """
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="tokenaudit-test-cache-")


def dataset_of(events: pa.Table, root: Path) -> Path:
    """A dataset holding exactly ``events`` (a table of the events schema), committed as ingest commits a batch."""
    import pandas as pd

    from tokenaudit.store.dataset import commit_batch, new_batch_id, open_for_writing, write_events

    rows = events.num_rows
    open_for_writing(root)
    batch_id = new_batch_id()
    write_events(root, events, batch_id)
    commit_batch(root, pd.DataFrame([{
        "batch_id": batch_id, "ingested_at": pd.Timestamp.now(tz="UTC"), "source_file": "made.log",
        "stream_id": "0" * 16, "format": "syslog_rfc3164", "size_bytes": 0, "compressed": False, "head_len": 0,
        "head_sha256": "", "tail_sha256": "", "offset_bytes": 0, "lines_total": rows, "lines_read": rows,
        "lines_parsed": rows, "lines_skipped": 0, "lines_rejected": 0, "events": rows,
    }]), batch_id)
    return root


@pytest.fixture(scope="session")
def dask_client() -> Iterator[object]:
    """A Dask client of a local cluster of two worker processes on 127.0.0.1, started once for the whole run.

    Tests that use it skip where ``distributed`` is not installed (it is in the dev extra).
    """
    pytest.importorskip("distributed")
    from tokenaudit.pipeline.distributed import cluster_client

    with cluster_client("local:2") as client:
        yield client
