"""Conflict detection at commit (tokenaudit.store.conflicts): the overlap decision, and an ingest on fsspec's memory
file system (no server needed) whose commit meets another site's batch of the same lines.

The race of two threads against a real S3 server, and the cluster path, are in ``test_object_storage.py``.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import SAMPLE_LOGS
from tokenaudit.cli import app
from tokenaudit.errors import IngestConflictError, LeaseBusyError
from tokenaudit.pipeline import batches
from tokenaudit.pipeline.batches import ingest
from tokenaudit.store import conflicts
from tokenaudit.store.conflicts import COMMIT_LEASE, COMMIT_LEASE_PERIOD, StreamRead, lead_digest, overlapping
from tokenaudit.store.dataset import open_for_writing, read_events, read_manifest
from tokenaudit.store.layout import committed_files, files_by_batch
from tokenaudit.store.lease import acquire, release
from tokenaudit.store.location import locate

FULL = 65_536


def _read(stream_id: str = "s1", start: int = 0, end: int = 100, *, head: tuple[int, str] = (FULL, "h1"),
          lead: str | None = "l1") -> StreamRead:
    return StreamRead("syslog", stream_id, head[0], head[1], lead, start, end)


# The decision ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("other", "clash"), [
    (_read("s1", 50, 150), True),                       # the same stream resumed by both, lines shared
    (_read("s1", 100, 200), False),                     # the same stream, ranges that only touch
    (_read("s1", 0, 1), True),                          # one line shared
    (_read("s2", 0, 100), True),                        # a new stream to both: another id, the same head
    (_read("s2", 0, 100, head=(FULL, "h2"), lead="l2"), False),    # another stream: another head
    (_read("s2", 0, 100, head=(FULL, "h2"), lead="l1"), False),    # heads of one length decide, not first lines
    (_read("s2", 0, 100, head=(900, "h9"), lead="l1"), True),      # a short file that grew: its first line decides
    (_read("s2", 0, 100, head=(900, "h9"), lead="l2"), False),     # a short file of another first line
    (_read("s2", 0, 100, head=(900, "h9"), lead=None), True),      # first line unknown (older manifest): conflict
    (_read("s2", 100, 100), False),                     # no line read
])
def test_two_reads_overlap_when_they_share_a_line_of_one_stream(other: StreamRead, clash: bool) -> None:
    mine = _read("s1", 0, 100)
    assert mine.overlaps(other) is clash
    assert other.overlaps(mine) is clash  # symmetric
    assert bool(overlapping([mine], [other])) is clash


def test_a_rotated_file_is_another_stream() -> None:
    # This site read the old syslog's last lines; the other site found the new syslog (rotated in meanwhile) under the
    # same name, and its copy syslog.1: a new file is another stream; the copy is the same stream, lines already read.
    old = StreamRead("syslog", "old", FULL, "h-old", "l-old", 900, 1000)
    fresh = StreamRead("syslog", "fresh", 400, "h-new", "l-new", 0, 12)
    copy = StreamRead("syslog.1", "old", FULL, "h-old", "l-old", 950, 1000)
    assert overlapping([old], [fresh]) == []
    assert overlapping([old], [fresh, copy]) == [(old, copy)]


def test_overlapping_pairs_each_clash_once_and_only_the_clashing_ones() -> None:
    mine = [_read("a", 0, 10, head=(FULL, "ha"), lead="la"), _read("b", 0, 10, head=(FULL, "hb"), lead="lb")]
    theirs = [_read("a", 5, 15, head=(FULL, "ha"), lead="la"), _read("c", 0, 10, head=(FULL, "hc"), lead="lc")]
    assert overlapping(mine, theirs) == [(mine[0], theirs[0])]


def test_a_first_line_stays_as_its_file_grows() -> None:
    assert lead_digest(b"first\nsecond\n") == lead_digest(b"first\n") == lead_digest(b"first\nsec")
    assert lead_digest(b"first\n") != lead_digest(b"other\n")
    assert lead_digest(b"no newline yet") is None
    assert lead_digest(b"x" * 2000) == lead_digest(b"x" * 1024 + b"y")  # a long first line: its first KiB


def test_a_manifest_row_gives_its_lines() -> None:
    row = {"source_file": "syslog", "stream_id": "s", "head_len": 10, "head_sha256": "h", "lines_total": 120,
           "lines_read": 20}
    assert StreamRead.of_row(row, "l") == StreamRead("syslog", "s", 10, "h", "l", 100, 120)


# An ingest on an object store (fsspec's memory file system) ------------------------------------------------------

@pytest.fixture
def url() -> str:
    return f"memory://conflicts-{uuid.uuid4().hex[:12]}/ds"


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "syslog"
    shutil.copy(sorted((SAMPLE_LOGS / "syslog_iso").iterdir())[0], path)
    return path


def _other_site_commits_first(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None], *, times: int = 1) -> None:
    """Run ``action`` (another site's ingest) just before this ingest's commit, ``times`` times: after this ingest
    took its snapshot and read, before it checks what was committed since."""
    real = batches.commit_ingest
    left = [times]

    def commit(*args: Any, **kwargs: Any) -> None:
        if left[0]:
            left[0] -= 1
            action()
        real(*args, **kwargs)

    monkeypatch.setattr(batches, "commit_ingest", commit)


def test_a_conflict_is_retried_from_the_other_sites_state(url: str, log: Path, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    alone = tmp_path / "alone"
    ingest([str(log)], alone, timezone="UTC")
    # The other site names the same file otherwise (another mount): the same stream all the same.
    mount = tmp_path / "mnt"
    mount.mkdir()
    shutil.copy(log, mount / "syslog")
    _other_site_commits_first(monkeypatch, lambda: ingest([str(mount / "syslog")], url, timezone="UTC"))
    report = ingest([str(log)], url, timezone="UTC")
    assert report.retried_after_conflict == [str(log)]
    assert [source.status for source in report.sources] == ["unchanged"]  # the other site read it all
    assert len(read_events(url)) == len(read_events(alone)) > 0
    manifest = read_manifest(url)
    assert len(manifest) == 1 and manifest["lines_read"].sum() == len(log.read_text().splitlines())
    location = locate(url)
    assert list(files_by_batch(location)) == list(manifest["batch_id"])  # the first attempt's files are gone
    assert not location.exists(location.root / f"{COMMIT_LEASE}.lease")


def test_the_retry_reads_only_what_the_other_site_did_not(url: str, log: Path, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    lines = log.read_text().splitlines(keepends=True)
    half = len(lines) // 2
    # The other site read the file when it held half its lines (here: a copy of that half, under another name).
    mine_first = tmp_path / "first-half"
    mine_first.write_text("".join(lines[:half]))
    _other_site_commits_first(monkeypatch, lambda: ingest([str(mine_first)], url, timezone="UTC"))
    report = ingest([str(log)], url, timezone="UTC")
    assert report.retried_after_conflict == [str(log)]
    [source] = report.sources
    assert (source.status, source.resumed_after_line, source.account.read) == ("ingested", half, len(lines) - half)
    manifest = read_manifest(url)
    assert manifest["lines_read"].tolist() == [half, len(lines) - half]  # each line once


def test_a_conflict_that_persists_is_an_error_with_a_hint(url: str, log: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conflicts, "overlapping", lambda mine, theirs: [(read, read) for read in mine])
    with pytest.raises(IngestConflictError) as caught:
        ingest([str(log)], url, timezone="UTC")
    assert caught.value.retried and caught.value.sources == [str(log)]
    assert "again after a retry" in str(caught.value)
    assert caught.value.hint == ("another site is ingesting the same sources into this dataset; run one ingest per "
                                 "source, or run again")
    location = locate(url)
    assert files_by_batch(location) == {} and committed_files(location, "manifest", None) == []  # nothing left


def test_the_cli_says_so_and_exits_non_zero(url: str, log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conflicts, "overlapping", lambda mine, theirs: [(read, read) for read in mine])
    result = CliRunner().invoke(app, ["ingest", str(log), "--dataset", url, "--timezone", "UTC", "-q"])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {url}: another site committed lines of {log}"), result.stderr
    assert "hint: another site is ingesting the same sources into this dataset" in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def test_the_cli_reports_a_retry(url: str, log: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copy(log, copy)
    _other_site_commits_first(monkeypatch, lambda: ingest([str(copy)], url, timezone="UTC"))
    result = CliRunner().invoke(app, ["ingest", str(log), "--dataset", url, "--timezone", "UTC", "-q"])
    assert result.exit_code == 0, result.output
    assert f"note: another site committed lines of {log} while this ingest read them too" in result.stdout


def test_different_sources_at_once_do_not_conflict(url: str, log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = sorted((SAMPLE_LOGS / "keycloak_log").iterdir())[0]
    _other_site_commits_first(monkeypatch, lambda: ingest([str(other)], url, timezone="UTC"))
    report = ingest([str(log)], url, timezone="UTC")
    assert report.retried_after_conflict == [] and len(read_manifest(url)) == 2


def test_a_local_dataset_commits_under_its_writer_lock_without_a_lease(log: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def no_lease(*args: object, **kwargs: object) -> None:
        raise AssertionError("a local commit took the commit lease")

    monkeypatch.setattr(conflicts, "acquire", no_lease)
    report = ingest([str(log)], tmp_path / "ds", timezone="UTC")
    assert report.retried_after_conflict == [] and len(read_manifest(tmp_path / "ds")) == 1
    assert not (tmp_path / "ds" / f"{COMMIT_LEASE}.lease").exists()


def test_rows_committed_before_the_snapshot_are_no_conflict_even_merged_anew(url: str, log: Path) -> None:
    ingest([str(log)], url, timezone="UTC")
    seen = read_manifest(url)
    # A compaction merged the batch anew under another id: its rows are the snapshot's, not another site's reads.
    merged = seen.assign(batch_id="20990101T000000-00000000")
    conflicts.commit_batch(url, merged, "20990101T000000-00000000")
    assert conflicts.reads_since(url, set(seen["batch_id"]), seen, own="mine") == []
    assert len(conflicts.reads_since(url, set(), pd.DataFrame(columns=seen.columns), own="mine")) == 2


def test_a_commit_waits_for_another_sites_commit_lease(url: str, log: Path) -> None:
    location = locate(url)
    open_for_writing(location)
    held = acquire(location, COMMIT_LEASE, period=COMMIT_LEASE_PERIOD)  # another site, committing
    timer = threading.Timer(0.5, release, (location, held))
    timer.start()
    started = time.monotonic()
    report = ingest([str(log)], url, timezone="UTC")
    timer.join()
    assert time.monotonic() - started >= 0.5
    assert [source.status for source in report.sources] == ["ingested"] and len(read_manifest(url)) == 1


def test_a_commit_lease_held_too_long_is_an_error_and_the_batch_is_deleted(url: str, log: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    location = locate(url)
    open_for_writing(location)
    acquire(location, COMMIT_LEASE, period=COMMIT_LEASE_PERIOD)  # another site's, which does not give it back
    monkeypatch.setattr(conflicts, "COMMIT_WAIT", timedelta(seconds=0.3))
    with pytest.raises(LeaseBusyError, match="another commit is running") as caught:
        ingest([str(log)], url, timezone="UTC")
    assert caught.value.hint is not None and "run the ingest again" in caught.value.hint
    assert files_by_batch(location) == {} and read_manifest(url).empty


def test_a_killed_sites_commit_lease_is_taken_over_once_expired(url: str, log: Path) -> None:
    location = locate(url)
    open_for_writing(location)
    acquire(location, COMMIT_LEASE, period=timedelta(seconds=0.3))  # a site killed while it held the lease
    report = ingest([str(log)], url, timezone="UTC")
    assert [source.status for source in report.sources] == ["ingested"]
    assert not location.exists(location.root / f"{COMMIT_LEASE}.lease")
