"""Compaction: fewer batches, the same answers, and safe against kill -9, ingests and readers.

A dataset of several small batches (real ingests of growing logs, so that
every table has rows) is compacted; every reader and ``failure_groups`` must
give the same results, the manifest must still account for every event, and
the next ingest must read nothing twice. A real ``python -m tokenaudit
compact`` is killed with SIGKILL at chosen points (before the commit, right
after it, half-way through the cleanup) and at random moments; the dataset
must read the same after each kill, and the next run must finish the job.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import tokenaudit as ta
from tokenaudit.analysis.failures import failure_groups
from tokenaudit.analysis.schedule import nightly_command
from tokenaudit.cli import app
from tokenaudit.store.compact import merged_id, plan_merges
from tokenaudit.store.event_classes import read_event_classes
from tokenaudit.store.layout import committed_batches

from ..conftest import ROOT
from ..crashkit import assert_reads_cleanly, copy_tree, ingest_here, key_file, keyed, kill_when, leftovers, make_corpus

SHARES = (0.2, 0.4, 0.6, 0.8, 1.0)
RUNNER = CliRunner()


def _state(root: Path) -> dict[str, pd.DataFrame]:
    """Everything a reader can see, but the batch ids (which compaction renames by design)."""
    batches = committed_batches(root)
    manifest = ta.read_manifest(root, batches=batches).drop(columns="batch_id")
    return {
        "events": ta.read_events(root, batches=batches).drop(columns="batch_id"),
        "manifest": manifest,
        "tokens": ta.read_tokens(root, batches=batches),
        "requests": ta.read_requests(root, batches=batches),
        "realms": ta.read_realms(root, batches=batches).drop(columns="batch_id"),
        "groups": failure_groups(read_event_classes(root, batches=batches), ta.read_realms(root, batches=batches),
                                 tokens=ta.read_tokens(root, batches=batches)),
    }


def _assert_same(root: Path, before: dict[str, pd.DataFrame], context: str) -> None:
    after = _state(root)
    for name, frame in before.items():
        try:
            pd.testing.assert_frame_equal(after[name], frame)
        except AssertionError as exc:
            raise AssertionError(f"{context}: {name} differs: {exc}") from None


def _accounting(root: Path) -> None:
    """One snapshot: every batch has as many events as its manifest rows promise."""
    batches = committed_batches(root)
    seen = ta.read_events(root, columns=["batch_id"], batches=batches).groupby("batch_id").size()
    promised = ta.read_manifest(root, batches=batches).groupby("batch_id")["events"].sum()
    assert sorted(promised.index) == sorted(batches)
    assert {b: int(seen.get(b, 0)) for b in promised.index} == {b: int(n) for b, n in promised.items()}


class Small:
    """A dataset of five small batches and the logs they were read from."""

    def __init__(self, base: Path) -> None:
        corpus = make_corpus(base / "generated", nginx_lines=4000, journal_lines=1500)
        self.logs = base / "logs"
        self.root = base / "dataset"
        for share in SHARES:
            self.paths = corpus.write(self.logs, share)
            ingest_here(self.paths, self.root)
        self.state = _state(self.root)
        self.reference = keyed(ta.read_events(self.root))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Small:
    made = Small(tmp_path_factory.mktemp("compact"))
    assert len(committed_batches(made.root)) == len(SHARES)
    return made


def _copy(small: Small, tmp_path: Path) -> Path:
    root = tmp_path / "dataset"
    copy_tree(small.root, root)
    key_file(root).write_bytes(key_file(small.root).read_bytes())
    return root


def test_compaction_merges_the_batches_and_changes_no_result(small: Small, tmp_path: Path) -> None:
    root = _copy(small, tmp_path)
    files_before = len(list(root.rglob("*.parquet")))

    report = ta.compact(root)

    assert (report.batches_before, report.batches_after, report.batches_merged) == (len(SHARES), 1, len(SHARES))
    assert report.rows == len(small.state["events"]) and report.files_merged == files_before
    assert report.files_written < report.files_merged and report.bytes_after > 0
    assert len(committed_batches(root)) == 1
    _assert_same(root, small.state, "after compaction")
    _accounting(root)
    assert leftovers(root) == [] and len(list(root.rglob("*.parquet"))) == report.files_written
    assert ta.compact(root).batches_merged == 0, "a second run has nothing to merge"


def test_next_ingest_reads_nothing_twice(small: Small, tmp_path: Path) -> None:
    root = _copy(small, tmp_path)
    ta.compact(root)

    report = ingest_here(small.paths, root)

    assert {source.status for source in report.sources} <= {"unchanged"}
    assert len(committed_batches(root)) == 1
    _assert_same(root, small.state, "ingest after compaction")


def test_ingest_after_compaction_resumes_where_the_merged_batches_stopped(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "generated", nginx_lines=3000, journal_lines=1000)
    root = tmp_path / "dataset"
    for share in (0.3, 0.6):
        paths = corpus.write(tmp_path / "logs", share)
        ingest_here(paths, root)
    ta.compact(root)
    paths = corpus.write(tmp_path / "logs", 1.0)
    ingest_here(paths, root)

    clean = tmp_path / "clean"
    ingest_here(paths, clean)
    got, want = keyed(ta.read_events(root)), keyed(ta.read_events(clean))
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert ta.read_manifest(root)["lines_read"].sum() == ta.read_manifest(clean)["lines_read"].sum()


def test_a_snapshot_taken_before_compaction_is_a_clear_error_once_retired(small: Small, tmp_path: Path) -> None:
    root = _copy(small, tmp_path)
    snapshot = committed_batches(root)

    ta.compact(root)

    for reader in (ta.read_events, ta.read_manifest, ta.read_tokens, ta.read_requests, ta.read_realms,
                   read_event_classes):
        with pytest.raises(ta.DatasetError, match="merged by `tokenaudit compact`") as caught:
            reader(root, batches=snapshot)
        assert caught.value.hint and "again" in caught.value.hint
    _assert_same(root, small.state, "a fresh snapshot")


def test_a_snapshot_reads_correctly_until_the_retired_files_are_deleted(small: Small, tmp_path: Path) -> None:
    """Killed between the commit and the cleanup: both the old snapshot and a new one read the same."""
    root = _copy(small, tmp_path)
    snapshot = committed_batches(root)
    assert _run_killed(root, "after commit") == -signal.SIGKILL

    assert len(committed_batches(root)) == 1, "the merged batch replaced the old ones"
    old = ta.read_events(root, batches=snapshot).drop(columns="batch_id")
    pd.testing.assert_frame_equal(old, small.state["events"])
    _assert_same(root, small.state, "after the commit")


def test_a_file_gone_while_being_read_is_a_clear_error(small: Small, tmp_path: Path) -> None:
    root = _copy(small, tmp_path)
    events = read_event_classes(root)  # expands single events lazily, from the files
    ta.compact(root)
    with pytest.raises(ta.DatasetError, match="merged by `tokenaudit compact`"):
        events.rows(events.classes["count"].to_numpy() > 0)


#: Python run in a subprocess: compaction that SIGKILLs itself at a chosen point.
_KILLER = """
import os, signal, sys
from pathlib import Path
import tokenaudit.store.dataset as dataset
import tokenaudit as ta

point, root = sys.argv[1], Path(sys.argv[2])
real_replace, real_unlink = os.replace, Path.unlink
unlinked = []

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def replace(src, dst):
    dst = Path(dst)
    if point == "first file" or (point == "before commit" and dst.parent.name == "manifest"):
        die()
    real_replace(src, dst)
    if point == "events written" and "event_classes" in dst.parts:
        die()
    if point == "after commit" and dst.parent.name == "manifest":
        die()

def unlink(self, missing_ok=False):
    real_unlink(self, missing_ok=missing_ok)
    unlinked.append(self)
    if point == "first deletion" or (point == "mid cleanup" and len(unlinked) == 12):
        die()

dataset.os.replace = replace
Path.unlink = unlink
ta.compact(root)
"""


def _run_killed(root: Path, point: str) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _KILLER, point, str(root)], env=env, cwd=ROOT,
                          capture_output=True, timeout=120)
    return done.returncode


POINTS = ("first file", "events written", "before commit", "after commit", "first deletion", "mid cleanup")


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_a_chosen_point_leaves_a_dataset_that_reads_the_same(small: Small, tmp_path: Path, point: str) -> None:
    root = _copy(small, tmp_path)
    assert _run_killed(root, point) == -signal.SIGKILL, f"{point}: the compaction was not killed"

    _assert_same(root, small.state, f"killed at {point}")
    _accounting(root)
    assert_reads_cleanly(root, small.reference, f"killed at {point}")
    committed = len(committed_batches(root))
    assert committed == (len(SHARES) if point in POINTS[:3] else 1), point

    report = ta.compact(root)  # the next run cleans up and finishes the job
    assert len(committed_batches(root)) == 1 and leftovers(root) == []
    assert report.files_removed > 0 or point == "first file"
    _assert_same(root, small.state, f"compacted again after a kill at {point}")


def test_kill_at_random_moments(small: Small, tmp_path: Path) -> None:
    seed = int(os.environ.get("TOKENAUDIT_CRASH_SEED") or random.SystemRandom().randrange(2**31))
    rng = random.Random(seed)
    for number in range(3):
        root = _copy(small, tmp_path / str(number))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen([sys.executable, "-m", "tokenaudit", "compact", "--dataset", str(root)],
                                   env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        what = kill_when(process, root, delay=rng.uniform(0.3, 2.0))
        context = f"seed {seed}, run {number}: {what}"
        _assert_same(root, small.state, context)
        _accounting(root)
        ta.compact(root)
        _assert_same(root, small.state, context + ", compacted again")
        assert leftovers(root) == [], context


def test_plan_merges_only_runs_of_small_consecutive_batches() -> None:
    sizes = {"a": 1, "b": 1, "big": 100, "c": 1, "d": 30, "e": 1, "f": 1, "g": 1}
    assert plan_merges(list(sizes), sizes, target_bytes=100) == [["a", "b"], ["e", "f", "g"]]
    assert plan_merges(list(sizes), sizes, target_bytes=2) == []
    assert plan_merges(["a"], {"a": 1}, target_bytes=100) == []


def test_a_merged_batch_sorts_where_its_first_batch_did() -> None:
    ids = ["20260101T000000-0000aaaa", "20260101T000000-ffff0000", "20260102T000000-00000000"]
    merged = merged_id(ids[0])
    assert sorted([merged, *ids[1:]]) == [merged, *ids[1:]]
    assert sorted([ids[0], merged_id(ids[1]), ids[2]])[1].startswith(ids[1])


def test_a_dataset_of_one_batch_or_none_is_left_alone(small: Small, tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    corpus_paths = small.paths[:1]
    ingest_here(corpus_paths, root)
    parquet = {p: p.read_bytes() for p in root.rglob("*.parquet")}
    report = ta.compact(root)
    assert report.batches_merged == 0 and {p: p.read_bytes() for p in root.rglob("*.parquet")} == parquet


def test_compact_of_no_dataset_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ta.DatasetError):
        ta.compact(tmp_path / "nothing")


def test_cli_compact_text_and_json(small: Small, tmp_path: Path) -> None:
    root = _copy(small, tmp_path)
    result = RUNNER.invoke(app, ["compact", "--dataset", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = __import__("json").loads(result.stdout)
    assert (data["batches_before"], data["batches_after"]) == (len(SHARES), 1)
    result = RUNNER.invoke(app, ["compact", "--dataset", str(root)])
    assert result.exit_code == 0 and "nothing to merge" in result.stdout
    result = RUNNER.invoke(app, ["compact", "--dataset", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and result.stderr.startswith("error:") and "hint:" in result.stderr


def test_the_nightly_job_compacts_after_ingest() -> None:
    command = nightly_command(["/var/log/syslog"], dataset=Path("/srv/ta"), reports=Path("/srv/r"), keep=7)
    assert command.index("tokenaudit ingest") < command.index("tokenaudit compact --dataset /srv/ta") \
        < command.index("tokenaudit report")
