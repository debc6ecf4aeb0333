"""Compaction matches events of another catalogue again, once: analysis then gives the same groups from summaries."""

from __future__ import annotations

import json
import shutil
from functools import partial
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import tokenaudit as ta
from tokenaudit.analysis.refresh import refreshed_events
from tokenaudit.cli import app
from tokenaudit.store.compact import Refresh, compact
from tokenaudit.store.looseness import Looseness

from ..conftest import SAMPLE_LOGS

OLD = "0123456789abcdef"


@pytest.fixture(scope="module")
def current(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("refresh") / "ds"
    ta.ingest([str(SAMPLE_LOGS)], root, timezone="Europe/Berlin", fingerprint_key=b"r" * 32)
    return root


def _of_another_catalogue(current: Path, root: Path) -> Path:
    """A copy of the dataset as an older tokenaudit would have left it: every event of catalogue ``OLD``."""
    shutil.copytree(current, root)
    for path in sorted((root / "events").rglob("*.parquet")):
        table = pq.read_table(path)
        at = table.column_names.index("catalogue")
        table = table.set_column(at, "catalogue", pa.array([OLD] * table.num_rows, pa.string()))
        pq.write_table(table, path)
    shutil.rmtree(root / "event_classes")  # an older tokenaudit's summaries are not loose: they serve no reader
    return root


def _groups(root: Path) -> pd.DataFrame:
    return ta.failure_groups(ta.read_event_classes(root), ta.read_realms(root), tokens=ta.read_tokens(root))


def test_compaction_matches_stale_events_again_and_analysis_answers_the_same(
    current: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tokenaudit.store import event_classes

    root = _of_another_catalogue(current, tmp_path / "ds")
    before = _groups(root)  # matched again by analysis, on this run
    catalogue = ta.load_catalogue()
    stale = ta.read_events(root)
    kinds = stale["event_kind"].isin(["auth_failure", "suspicious"])
    report = compact(root, refresh=Refresh(Looseness.of(catalogue), partial(refreshed_events, catalogue=catalogue)))
    assert report.refreshed == int(kinds.sum()) > 0
    after = ta.read_events(root)
    assert (after.loc[kinds.to_numpy(), "catalogue"] == catalogue.fingerprint).all()
    assert (after.loc[~kinds.to_numpy(), "catalogue"] == OLD).all()  # refusals are never matched
    pd.testing.assert_frame_equal(_groups(root), before)
    pd.testing.assert_frame_equal(_groups(root), _groups(current))
    opened: list[Path] = []
    real = event_classes._file_classes
    monkeypatch.setattr(event_classes, "_file_classes", lambda *a: (opened.append(a[1]), real(*a))[1])
    ta.read_event_classes(root)
    assert opened == []  # the rewritten summaries serve the current catalogue
    again = compact(root, refresh=Refresh(Looseness.of(catalogue), partial(refreshed_events, catalogue=catalogue)))
    assert again.refreshed == 0 and again.batches_merged == 0


def test_the_command_refreshes_by_default_and_not_when_told(current: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    kept = _of_another_catalogue(current, tmp_path / "kept")
    result = runner.invoke(app, ["compact", "--dataset", str(kept), "--no-refresh", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["refreshed"] == 0
    assert (ta.read_events(kept)["catalogue"] == OLD).all()
    renewed = _of_another_catalogue(current, tmp_path / "renewed")
    result = runner.invoke(app, ["compact", "--dataset", str(renewed)])
    assert result.exit_code == 0, result.output
    assert "matched again with the current catalogue" in result.stdout
