"""The dataset on object storage, against a real S3-compatible server (moto's) on 127.0.0.1.

Each test gets a bucket of its own on one server the module starts; credentials and the endpoint come from
the environment (``AWS_*``), as they would for a user.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from tests.conftest import SAMPLE_LOGS

pytest.importorskip("s3fs", reason="s3fs is not installed (pip install -e '.[dev]')")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed (pip install -e '.[dev]')")

from tokenaudit.cli import app  # noqa: E402 - after the skips
from tokenaudit.errors import DatasetError  # noqa: E402
from tokenaudit.pipeline.batches import IngestReport, ingest  # noqa: E402
from tokenaudit.store.compact import compact  # noqa: E402
from tokenaudit.store.dataset import (  # noqa: E402
    GRACE_PERIOD,
    discard_uncommitted,
    open_for_writing,
    read_events,
    read_manifest,
    write_events,
)
from tokenaudit.store.layout import batch_files, batch_of, committed_batches  # noqa: E402
from tokenaudit.store.lease import LEASE_PERIOD, acquire  # noqa: E402
from tokenaudit.store.location import DatasetLocation, locate  # noqa: E402

#: Sample logs of several formats, with failures in each.
LOGS = ("syslog_iso", "syslog_rfc3164", "keycloak_log", "nginx_json", "oauth2_proxy_auth")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # not a line per request on stderr
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty bucket; the environment points s3fs at the local server."""
    import s3fs

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    s3fs.S3FileSystem.clear_instance_cache()  # an instance made before would keep another endpoint
    name = f"bucket-{uuid.uuid4().hex[:12]}"
    locate(f"s3://{name}").fs.mkdir(name)
    return name


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A private copy of a few sample logs, one file each."""
    base = tmp_path_factory.mktemp("logs")
    copied = {}
    for name in LOGS:
        source = sorted((SAMPLE_LOGS / name).iterdir())[0]
        copied[name] = base / f"{name}-{source.name}"
        shutil.copy(source, copied[name])
    return copied


def invoke(*args: object) -> str:
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return result.stdout


def _events(dataset: object) -> int:
    return len(read_events(str(dataset), columns=["ts"]))


def test_ingest_and_analyze_on_s3_match_a_local_folder(bucket: str, logs: dict[str, Path], tmp_path: Path) -> None:
    url, local = f"s3://{bucket}/ds", tmp_path / "ds"
    files = [str(path) for path in logs.values()]
    invoke("ingest", *files, "--dataset", local, "--timezone", "UTC", "-q")
    invoke("ingest", *files, "--dataset", url, "--timezone", "UTC", "-q")
    assert locate(url).exists(locate(url).root / "tokenaudit.json")
    assert _events(url) == _events(local) > 0
    analyzed = invoke("analyze", "--dataset", url, "--since", "3650d", "-f", "json")
    assert json.loads(analyzed) == json.loads(invoke("analyze", "--dataset", local, "--since", "3650d", "-f", "json"))
    events = [pd.read_csv(io.StringIO(invoke("events", "--dataset", where, "--since", "3650d", "-f", "csv")))
              .drop(columns=["stream_id", "batch_id"]) for where in (url, local)]  # made anew by each ingest
    pd.testing.assert_frame_equal(events[0], events[1])
    period = ("--since", "2020-01-01", "--until", "2030-01-01")
    report = json.loads(invoke("report", "--dataset", url, *period, "-f", "json"))
    assert report == json.loads(invoke("report", "--dataset", local, *period, "-f", "json"))


def test_a_second_ingest_of_the_same_file_adds_nothing(bucket: str, logs: dict[str, Path]) -> None:
    url = f"s3://{bucket}/ds"
    first = ingest([str(logs["syslog_iso"])], url, timezone="UTC")
    count = _events(url)
    second = ingest([str(logs["syslog_iso"])], url, timezone="UTC")
    assert first.dataset == url and [s.status for s in second.sources] == ["unchanged"]
    assert _events(url) == count > 0
    assert len(committed_batches(url)) == 1 and len(read_manifest(url)) == 1  # nothing new: no batch


def test_two_sites_ingesting_at_once_both_land_in_full(bucket: str, logs: dict[str, Path], tmp_path: Path) -> None:
    url = f"s3://{bucket}/ds"
    halves = [[str(logs[name]) for name in LOGS[:2]], [str(logs[name]) for name in LOGS[2:]]]
    alone = []
    for number, half in enumerate(halves):
        ingest(half, tmp_path / f"alone-{number}", timezone="UTC")
        alone.append(_events(tmp_path / f"alone-{number}"))
    start = threading.Barrier(2)

    def site(files: list[str]) -> object:
        start.wait()  # both create the dataset (tokenaudit.json) at once, then write their batches
        return ingest(files, url, timezone="UTC", jobs=1)

    _, failures = _at_once([partial(site, half) for half in halves])
    assert not failures, failures
    assert len(committed_batches(url)) == 2
    events = read_events(url, columns=["source_file", "line_no"])
    assert len(events) == sum(alone) and not events.duplicated().any()


def _at_once(sites: list[Callable[[], object]]) -> tuple[list[object], list[BaseException]]:
    """Run each site on a thread of its own, all at once; what they returned, and what they raised."""
    results: list[object] = []
    failures: list[BaseException] = []

    def run(site: Callable[[], object]) -> None:
        try:
            results.append(site())
        except BaseException as exc:  # noqa: BLE001 - reported to the caller
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(site,)) for site in sites]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, failures


def _crashed_batch(location: DatasetLocation, events: pa.Table) -> str:
    """Write a batch's events without its manifest, as a writer killed before its commit leaves them."""
    batch_id = "20260101T000000-deadbeef"
    write_events(location, events, batch_id)
    return batch_id


def test_a_crashed_writers_leftovers_are_invisible_and_removed_only_after_the_grace_period(
        bucket: str, logs: dict[str, Path]) -> None:
    url = f"s3://{bucket}/ds"
    ingest([str(logs["syslog_iso"])], url, timezone="UTC")
    location = locate(url)
    before = read_events(url)
    events = pa.Table.from_pandas(before.assign(batch_id="x"), preserve_index=False)
    crashed = _crashed_batch(location, events)
    leftovers = [p for t in ("events", "event_classes") for p in batch_files(location, t) if crashed in p.name]
    assert leftovers
    assert len(read_events(url)) == len(before)  # no manifest: readers never open them
    # Another site's ingest now: the files may be that site's batch in progress, and stay.
    assert discard_uncommitted(url) == []
    ingest([str(logs["keycloak_log"])], url, timezone="UTC")
    assert all(location.exists(path) for path in leftovers)
    # Past the grace period (the clock moved on, no sleeping): a crashed writer's, and removed.
    later = datetime.now(UTC) + GRACE_PERIOD + timedelta(minutes=1)
    removed = discard_uncommitted(url, now=lambda: later)
    assert sorted(map(str, removed)) == sorted(map(str, leftovers))
    assert not any(location.exists(path) for path in leftovers)
    assert len(committed_batches(url)) == 2


def test_compaction_holds_a_lease(bucket: str, logs: dict[str, Path]) -> None:
    url = f"s3://{bucket}/ds"
    for name in LOGS[:3]:
        ingest([str(logs[name])], url, timezone="UTC")
    count, location = _events(url), locate(url)
    held = acquire(location, "compact")  # another site's compaction, running
    with pytest.raises(DatasetError, match="another compact is running"):
        compact(url)
    assert len(committed_batches(url)) == 3
    # That site was killed: once its lease expired, this one takes it over, merges, and gives it back.
    report = compact(url, now=lambda: held.expires_at + timedelta(seconds=1))
    assert (report.batches_before, report.batches_after, report.dataset) == (3, 1, url)
    assert _events(url) == count
    assert not location.exists(location.root / "compact.lease")
    # Two sites finding the same expired lease: one takes it over, the other is told it is busy.
    stale = acquire(location, "compact")
    later = stale.expires_at + timedelta(seconds=1)
    winner = acquire(location, "compact", now=later)
    with pytest.raises(DatasetError, match="busy until"):
        acquire(location, "compact", now=later + timedelta(seconds=1))
    assert winner.expires_at == later + LEASE_PERIOD


def test_first_ingests_at_once_create_one_dataset(bucket: str) -> None:
    url = f"s3://{bucket}/fresh"
    _, errors = _at_once([lambda: open_for_writing(url)] * 4)
    assert not errors
    meta = json.loads(locate(url).read_bytes(locate(url).root / "tokenaudit.json"))
    assert meta["schema_version"] >= 1


def test_a_missing_bucket_is_one_error_and_hint(endpoint: str, bucket: str) -> None:
    result = CliRunner().invoke(app, ["analyze", "--dataset", f"s3://no-{bucket}/ds"])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: s3://no-{bucket}/ds"), result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.stderr
    result = CliRunner().invoke(app, ["ingest", str(SAMPLE_LOGS / "syslog_iso"), "--dataset", f"s3://no-{bucket}/ds"])
    assert result.exit_code != 0 and "hint:" in result.stderr and "Traceback" not in result.stderr, result.output


def test_no_credentials_is_one_error_and_hint(bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import s3fs

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.setenv(name, str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata to ask, on loopback only
    s3fs.S3FileSystem.clear_instance_cache()
    result = CliRunner().invoke(app, ["analyze", "--dataset", f"s3://{bucket}/ds"])
    assert result.exit_code == 1, result.output
    assert "credentials" in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_cluster_ingest_into_s3_equals_one_machines(bucket: str, logs: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="Dask is not installed (pip install -e '.[dev]')")
    from tokenaudit.pipeline.distributed import cluster_client

    url, files = f"s3://{bucket}/ds", [str(path) for path in logs.values()]
    with cluster_client("local:2") as client:  # its workers inherit the environment: the same server and keys
        spread = ingest(files, url, timezone="UTC", client=client)
    alone = ingest(files, tmp_path / "alone", timezone="UTC")
    assert [(s.source, s.status, s.account) for s in spread.sources] == \
        [(s.source, s.status, s.account) for s in alone.sources]
    events = [read_events(where).drop(columns=["batch_id", "stream_id"])
              .sort_values(["source_file", "line_no"], kind="stable").reset_index(drop=True)
              for where in (url, tmp_path / "alone")]
    pd.testing.assert_frame_equal(events[0], events[1])


def _meet_before_commit(monkeypatch: pytest.MonkeyPatch, sites: int) -> None:
    """Make each of ``sites`` threads wait, at its first commit, for the others to reach theirs: every one has then
    taken its snapshot and read its sources before any commits, the race two sites starting together may run."""
    from tokenaudit.pipeline import batches

    real, met, meeting = batches.commit_ingest, set(), threading.Barrier(sites, timeout=120)

    def commit(*args: object, **kwargs: object) -> None:
        if threading.get_ident() not in met:
            met.add(threading.get_ident())
            meeting.wait()
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batches, "commit_ingest", commit)


def test_two_sites_ingesting_the_same_sources_at_once_count_each_line_once(
        bucket: str, logs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, local, files = f"s3://{bucket}/ds", tmp_path / "alone", [str(path) for path in logs.values()]
    invoke("ingest", *files, "--dataset", local, "--timezone", "UTC", "-q")
    _meet_before_commit(monkeypatch, 2)
    results, failures = _at_once([lambda: ingest(files, url, timezone="UTC", jobs=1)] * 2)
    reports = [report for report in results if isinstance(report, IngestReport)]
    assert not failures, failures
    # One site committed; the other found that at its commit, discarded its batch and read again: nothing new.
    retried = [report for report in reports if report.retried_after_conflict]
    assert len(retried) == 1 and sorted(retried[0].retried_after_conflict) == sorted(files)
    assert {source.status for source in retried[0].sources} == {"unchanged"}
    assert len(committed_batches(url)) == 1 and _events(url) == _events(local) > 0
    analyzed = invoke("analyze", "--dataset", url, "--since", "3650d", "-f", "json")
    assert json.loads(analyzed) == json.loads(invoke("analyze", "--dataset", local, "--since", "3650d", "-f", "json"))
    manifest = read_manifest(url)
    lines = {path: len(Path(path).read_bytes().splitlines()) for path in files}
    assert manifest.groupby("source_file")["lines_read"].sum().to_dict() == lines  # each line once
    location = locate(url)
    assert set(map(batch_of, batch_files(location, "events"))) == set(committed_batches(url))
    assert not location.exists(location.root / "commit.lease")


def test_a_cluster_ingest_meeting_another_sites_commit_reads_again_on_the_cluster(
        bucket: str, logs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed", reason="Dask is not installed (pip install -e '.[dev]')")
    from tokenaudit.pipeline import batches
    from tokenaudit.pipeline.distributed import cluster_client

    url, files = f"s3://{bucket}/ds", [str(path) for path in logs.values()]
    real, waiting = batches.commit_ingest, [True]

    def commit(*args: object, **kwargs: object) -> None:
        if waiting:  # another site, on one machine, commits three of the sources meanwhile
            waiting.clear()
            ingest(files[:3], url, timezone="UTC")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batches, "commit_ingest", commit)
    with cluster_client("local:2") as client:
        report = ingest(files, url, timezone="UTC", client=client)
    assert report.retried_after_conflict == files[:3]
    assert [source.status for source in report.sources] == ["unchanged"] * 3 + ["ingested"] * 2
    alone = ingest(files, tmp_path / "alone", timezone="UTC")
    assert len(committed_batches(url)) == 2 and _events(url) == _events(tmp_path / "alone") > 0
    manifest = read_manifest(url)
    assert sorted(manifest["source_file"]) == sorted(files) and manifest["lines_read"].sum() == alone.totals.read
