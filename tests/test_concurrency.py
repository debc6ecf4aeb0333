"""Concurrency: ingests into one dataset at once, and readers while an ingest commits.

Real ``python -m tokenaudit ingest`` processes, started together, into a new
dataset (and with no fingerprint key yet, so they race to create both).
Writers take turns on the dataset's lock, and the second reads what the first
committed, so nothing is added twice. Readers running meanwhile see whole
batches only: for every batch, as many events as its manifest says.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import tokenaudit as ta
import tokenaudit.analysis.report as report_module
from tokenaudit.cli import app
from tokenaudit.store.layout import committed_batches

from .conftest import SAMPLE_LOGS
from .crashkit import (
    RUNNER,
    Corpus,
    assert_reads_cleanly,
    assert_same_events,
    ingest_here,
    keyed,
    make_corpus,
    start_ingest,
)


@dataclass(frozen=True)
class Setup:
    corpus: Corpus
    paths: list[str]
    reference: pd.DataFrame
    base: Path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    base = tmp_path_factory.mktemp("concurrency")
    corpus = make_corpus(base / "generated", nginx_lines=30_000, journal_lines=8_000)
    paths = corpus.write(base / "logs")
    reference = base / "reference" / "dataset"
    ingest_here(paths, reference)
    return Setup(corpus, paths, keyed(ta.read_events(reference)), base)


def _finish(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode(errors="replace")


def test_two_ingests_of_the_same_logs_at_once_add_them_once(setup: Setup, tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    _finish([start_ingest(setup.paths, root), start_ingest(setup.paths, root)])

    assert_same_events(root, setup.reference, "two ingests of the same logs")
    manifest = ta.read_manifest(root)
    assert manifest["batch_id"].nunique() == 1, "the second ingest added a batch of what the first had read"
    clean = setup.base / "reference" / "dataset"
    assert ta.read_tokens(root)["sightings"].sum() == ta.read_tokens(clean)["sightings"].sum()
    assert ta.read_requests(root)["count"].sum() == ta.read_requests(clean)["count"].sum()


def test_two_ingests_of_different_logs_at_once_add_both(setup: Setup, tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    access, journal, config, tokens = setup.paths
    _finish([start_ingest([access, config], root), start_ingest([journal, tokens], root)])

    assert_same_events(root, setup.reference, "two ingests of different logs")
    assert ta.read_manifest(root)["batch_id"].nunique() == 2
    assert (ta.read_realms(root)["realm"].tolist()
            == ta.read_realms(setup.base / "reference" / "dataset")["realm"].tolist())


def _whole_batches_only(root: Path) -> int:
    """In one snapshot, every batch has as many events as its manifest says. Returns the batches seen."""
    batches = committed_batches(root)
    seen = ta.read_events(root, columns=["batch_id"], batches=batches).groupby("batch_id").size()
    promised = ta.read_manifest(root, batches=batches).groupby("batch_id")["events"].sum()
    assert sorted(promised.index) == sorted(batches)
    half = {b: (int(seen.get(b, 0)), int(n)) for b, n in promised.items() if int(seen.get(b, 0)) != int(n)}
    assert not half, f"batches seen with other event counts than their manifests say: {half}"
    return len(batches)


def test_readers_during_ingests_see_whole_batches_only(setup: Setup, tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    access, journal, config, tokens = setup.paths
    ingest_here([config, tokens], root)
    reads = at_commit = 0
    manifests = set(os.listdir(root / "manifest"))
    process = start_ingest([journal, access], root)
    last_read = 0.0
    while process.poll() is None:
        now = set(os.listdir(root / "manifest"))
        # Read the moment a manifest appears (a commit), and every 50 ms besides.
        if now != manifests or time.perf_counter() - last_read > 0.05:
            at_commit += now != manifests
            manifests = now
            _whole_batches_only(root)
            reads += 1
            if reads % 10 == 0:  # the commands too, now and then
                assert_reads_cleanly(root, setup.reference, f"read {reads} during an ingest")
            last_read = time.perf_counter()
        time.sleep(0.0005)
    _finish([process])
    assert reads >= 10, f"the ingest ended before the readers could watch it ({reads} reads, {at_commit} at a commit)"
    assert _whole_batches_only(root) == 2
    assert_same_events(root, setup.reference, "after the ingests")


def test_report_reads_every_table_from_one_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An ingest commits a batch while the report is half-way through reading: the report must
    # not count the new batch's requests (or tokens) without its events, or the other way round.
    root = tmp_path / "dataset"
    logs = tmp_path / "logs"
    shutil.copytree(SAMPLE_LOGS / "combined_access", logs)
    first, second = sorted(logs.iterdir())[:2]
    second.rename(tmp_path / second.name)
    ingest_here([str(first)], root)
    since = pd.Timestamp("2020-01-01", tz="UTC")
    alone = report_module.build_report(root, since=since, until=pd.Timestamp("2030-01-01", tz="UTC"))
    real_read_event_classes = report_module.read_event_classes
    committed = []

    def read_event_classes_while_an_ingest_commits(*args: object, **kwargs: object) -> object:
        if not committed:
            committed.append(ingest_here([str(tmp_path / second.name)], root))
        return real_read_event_classes(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(report_module, "read_event_classes", read_event_classes_while_an_ingest_commits)
    during = report_module.build_report(root, since=since, until=pd.Timestamp("2030-01-01", tz="UTC"))

    assert committed and committed[0].totals.events > 0, "the second log added no events"
    assert during.totals == alone.totals
    assert ta.read_manifest(root)["batch_id"].nunique() == 2
    assert RUNNER.invoke(app, ["report", "--dataset", str(root), "--since", "2020-01-01"]).exit_code == 0


def test_readers_see_no_batch_before_its_commit_even_on_a_slow_disk(setup: Setup, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The same ingest in a thread, each file of the batch taking 0.1 s to write: the window in which
    # some files of the batch exist and others do not is wide, and readers poll it throughout.
    ingest_module = importlib.import_module("tokenaudit.pipeline.batches")

    root = tmp_path / "dataset"
    access, journal, config, tokens = setup.paths
    ingest_here([config, tokens], root)
    for name in ("write_events", "write_tokens", "write_requests", "write_realms"):
        real = getattr(ingest_module, name)
        monkeypatch.setattr(ingest_module, name,
                            lambda *a, _real=real, **k: (time.sleep(0.1), _real(*a, **k))[1])
    outcome: list[object] = []
    writer = threading.Thread(target=lambda: outcome.append(ingest_here([access, journal], root)))
    writer.start()
    reads = 0
    while writer.is_alive():
        _whole_batches_only(root)
        reads += 1
        time.sleep(0.005)
    writer.join()
    assert outcome, "the ingest failed"
    assert reads >= 10
    assert _whole_batches_only(root) == 2
    assert_same_events(root, setup.reference, "after the slow ingest")
