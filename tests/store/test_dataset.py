"""The Parquet dataset: round trip, commit protocol, versioning, permissions."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tokenaudit as ta
from tokenaudit.schema import SCHEMA_VERSION
from tokenaudit.store.dataset import committed_batches, open_for_writing
from tokenaudit.tokens.decode import load_fingerprint_key

from ..conftest import SAMPLE_LOGS
from ..crashkit import DAMAGE, damage, ingest_here, leftovers

MESSAGE = (
    "openid authentication failure; rhost=::ffff:192.168.178.81 msg=Failed to verify ID token: "
    "Invalid audiences: `377572587972067335` is not a trusted audience"
)
# Event times as logged, and the same instants in UTC.
STAMPS = {
    "2026-11-22T10:00:00.118830+01:00": "2026-11-22 09:00:00.118830",
    "2026-11-22T11:00:00+01:00": "2026-11-22 10:00:00",
    "2026-11-23T00:30:00+01:00": "2026-11-22 23:30:00",
    "2026-11-24T12:00:00Z": "2026-11-24 12:00:00",
}
CONFIG = ["openid: zitadel", "\tissuer-url https://auth.example.com", "\tclient-id 377576883644006407"]


def iso_line(stamp: str) -> str:
    return f"{stamp} pve3 pvedaemon[90211]: {MESSAGE}"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    lines = ["# journalctl -o short-iso-precise", *(iso_line(s) for s in STAMPS)]
    lines.insert(2, "2026-11-22T10:30:00+01:00 pve3 CRON[1]: (root) CMD (true)")
    (folder / "syslog").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "domains.cfg").write_text("\n".join(CONFIG) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def dataset(tmp_path: Path, logs: Path) -> Path:
    root = tmp_path / "dataset"
    report = ta.ingest([str(logs)], root, timezone="UTC")
    assert [s.status for s in report.sources] == ["ingested", "ingested"]
    return root


@pytest.fixture
def group_readable_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_events_round_trip_with_utc_times_and_types(dataset: Path) -> None:
    events = ta.read_events(dataset)

    assert len(events) == 4
    assert str(events["ts"].dtype) == "datetime64[us, UTC]"
    assert str(events["line_no"].dtype) == "int64"
    assert str(events["status"].dtype) == "Int32"
    assert events["ts"].tolist() == [utc(t) for t in STAMPS.values()]
    assert events["line_no"].tolist() == [2, 4, 5, 6]
    assert set(events["format"]) == {"syslog_iso"}
    assert set(events["event_kind"]) == {"auth_failure"}
    assert set(events["signature"]) == {"openidconnect.untrusted_audience"}
    assert events["message"].tolist() == [MESSAGE] * 4
    partitions = sorted(p.name for p in (dataset / "events").iterdir())
    assert partitions == ["event_date=2026-11-22", "event_date=2026-11-24"]


def test_since_is_inclusive_and_until_exclusive(dataset: Path) -> None:
    window = ta.read_events(dataset, since=utc("2026-11-22 10:00:00"), until=utc("2026-11-24 12:00:00"))
    assert window["ts"].tolist() == [utc("2026-11-22 10:00:00"), utc("2026-11-22 23:30:00")]

    assert len(ta.read_events(dataset, since=utc("2026-11-22 10:00:00.000001"))) == 2
    assert len(ta.read_events(dataset, until=utc("2026-11-22 09:00:00.118830"))) == 0
    assert len(ta.read_events(dataset, until=utc("2026-11-22 09:00:00.118831"))) == 1


def test_requested_columns_only_are_returned(dataset: Path) -> None:
    events = ta.read_events(dataset, columns=["line_no", "client_addr"])

    assert list(events.columns) == ["line_no", "client_addr"]
    assert events["line_no"].tolist() == [2, 4, 5, 6]
    assert set(events["client_addr"]) == {"::ffff:192.168.178.81"}


def _rebatch(table: pa.Table, batch_id: str) -> pa.Table:
    index = table.schema.get_field_index("batch_id")
    return table.set_column(index, table.schema.field(index), pa.array([batch_id] * table.num_rows, pa.string()))


def test_files_of_an_uncommitted_batch_are_ignored(dataset: Path) -> None:
    ghost = "20991231T235959-deadbeef"
    part = next((dataset / "events" / "event_date=2026-11-22").glob("part-*.parquet"))
    stray = part.with_name(f"part-{ghost}-0.parquet")
    pq.write_table(_rebatch(pq.read_table(part), ghost), stray)
    realms = next((dataset / "realms").glob("batch-*.parquet"))
    ghost_realm = _rebatch(pq.read_table(realms), ghost)
    ghost_realm = ghost_realm.set_column(0, "realm", pa.array(["ghost"] * ghost_realm.num_rows, pa.string()))
    pq.write_table(ghost_realm, realms.with_name(f"batch-{ghost}.parquet"))

    assert pq.read_table(stray).num_rows == 3
    assert len(ta.read_events(dataset)) == 4
    assert ta.read_realms(dataset)["realm"].tolist() == ["zitadel"]

    # Committing the batch (its manifest) is what makes those rows count.
    manifest = next((dataset / "manifest").glob("batch-*.parquet"))
    pq.write_table(_rebatch(pq.read_table(manifest), ghost), manifest.with_name(f"batch-{ghost}.parquet"))
    assert len(ta.read_events(dataset)) == 7
    assert sorted(ta.read_realms(dataset)["realm"]) == ["ghost", "zitadel"]


def test_newer_schema_version_raises_schema_mismatch(dataset: Path, logs: Path) -> None:
    meta = dataset / "tokenaudit.json"
    assert json.loads(meta.read_text())["schema_version"] == SCHEMA_VERSION
    meta.write_text(json.dumps({"schema_version": 999}))

    with pytest.raises(ta.SchemaMismatchError, match="999"):
        ta.read_events(dataset)
    with pytest.raises(ta.SchemaMismatchError):
        ta.read_manifest(dataset)
    with pytest.raises(ta.SchemaMismatchError):
        ta.ingest([str(logs)], dataset, timezone="UTC")


def test_missing_dataset_raises_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(ta.DatasetError, match="no such dataset") as caught:
        ta.read_events(tmp_path / "nowhere")
    assert not isinstance(caught.value, ta.SchemaMismatchError)
    assert not (tmp_path / "nowhere").exists()


def test_ingest_refuses_a_non_empty_folder_that_is_no_dataset(tmp_path: Path, logs: Path) -> None:
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "thesis.txt").write_text("precious", encoding="utf-8")

    with pytest.raises(ta.DatasetError, match="not empty") as caught:
        ta.ingest([str(logs)], folder, timezone="UTC")
    assert not isinstance(caught.value, ta.SchemaMismatchError)
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.txt"]


def _modes(root: Path, *, folders: bool) -> dict[str, str]:
    paths = [root, *root.rglob("*")] if folders else list(root.rglob("*"))
    return {
        str(p.relative_to(root)): oct(p.stat().st_mode & 0o777)
        for p in paths
        if (p.is_dir() if folders else p.is_file())
    }


def test_dataset_files_are_owner_only(tmp_path: Path, logs: Path, group_readable_umask: None) -> None:
    root = tmp_path / "dataset"
    ta.ingest([str(logs)], root, timezone="UTC")

    modes = _modes(root, folders=False)
    # 2 event dates and their 2 summaries, 1 realms, 1 manifest
    assert sum(name.endswith(".parquet") for name in modes) == 6
    assert "tokenaudit.json" in modes
    assert {name: mode for name, mode in modes.items() if int(mode, 8) & 0o077} == {}


def test_dataset_folders_are_owner_only(tmp_path: Path, logs: Path, group_readable_umask: None) -> None:
    root = tmp_path / "dataset"
    ta.ingest([str(logs)], root, timezone="UTC")

    modes = _modes(root, folders=True)
    assert {".", "events", "manifest", "realms", "events/event_date=2026-11-22"} <= set(modes)
    assert {name: mode for name, mode in modes.items() if int(mode, 8) & 0o077} == {}



# --- crash leftovers, damaged datasets, newer versions ----------------------------------------

READERS = {
    "events": ta.read_events,
    "manifest": ta.read_manifest,
    "tokens": ta.read_tokens,
    "requests": ta.read_requests,
    "realms": ta.read_realms,
}


@pytest.fixture
def full_dataset(tmp_path: Path) -> tuple[Path, list[str]]:
    """A dataset with a file in every table: events, requests, tokens, realms, manifest."""
    paths = [str(SAMPLE_LOGS / sub) for sub in ("combined_access", "jwt_lines", "pve_domains_cfg", "syslog_iso")]
    root = tmp_path / "full" / "dataset"
    ingest_here(paths, root)
    for table in READERS:
        assert list(root.glob(f"{table}/**/*.parquet")), table
    return root, paths


def test_leftovers_of_a_first_ingest_killed_early_do_not_block_the_next(tmp_path: Path, logs: Path) -> None:
    # Killed while writing tokenaudit.json: the folder holds the lock and a temporary file only.
    root = tmp_path / "dataset"
    root.mkdir()
    (root / ".lock").touch()
    (root / ".tokenaudit.json.4242-deadbeef.tmp").write_text('{"schema_ver', encoding="utf-8")

    ta.ingest([str(logs)], root, timezone="UTC")

    assert len(ta.read_events(root)) == 4
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == [".lock"]


def test_next_ingest_discards_what_a_killed_one_left(full_dataset: tuple[Path, list[str]]) -> None:
    root, paths = full_dataset
    ghost = "20991231T235959-deadbeef"
    events = sorted(root.glob("events/*/part-*.parquet"))
    committed = {p: p.read_bytes() for p in root.rglob("*.parquet")}
    strays = [
        events[0].with_name(f"part-{ghost}-0.parquet"),
        root / "tokens" / f"batch-{ghost}.parquet",
        root / "requests" / f"batch-{ghost}.parquet",
        root / "realms" / f"batch-{ghost}.parquet",
        events[0].with_name(f".part-{ghost}-1.parquet.777-cafebabe.tmp"),  # killed mid-write
        root / "manifest" / f".batch-{ghost}.parquet.777-cafebabe.tmp",  # killed mid-commit
    ]
    for stray in strays:
        stray.write_bytes(b"half written")
    before = len(ta.read_events(root))
    assert len(leftovers(root)) == len(strays)

    report = ingest_here(paths, root)

    assert {s.status for s in report.sources} <= {"unchanged"}
    assert leftovers(root) == []
    assert {p: p.read_bytes() for p in root.rglob("*.parquet")} == committed
    assert len(ta.read_events(root)) == before


def test_readers_see_only_the_batches_of_a_snapshot(full_dataset: tuple[Path, list[str]]) -> None:
    root, _paths = full_dataset
    snapshot = committed_batches(root)
    assert len(snapshot) == 1
    for name, reader in READERS.items():
        assert len(reader(root, batches=snapshot)) > 0, name
        assert len(reader(root, batches=[])) == 0, name


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_or_newer_dataset_is_one_clear_error(full_dataset: tuple[Path, list[str]], kind: str) -> None:
    root, paths = full_dataset
    root = damage(root, kind)
    table = DAMAGE[kind]
    newer = "999" in kind or "newer" in kind
    expected = ta.SchemaMismatchError if newer else ta.DatasetError
    # Every reader checks the manifests: they say which files make the dataset.
    broken = [name for name in READERS if table in ("*", "manifest", name)]
    for name, reader in READERS.items():
        if name not in broken:
            reader(root)
            continue
        with pytest.raises(expected) as caught:
            reader(root)
        assert "\n" not in str(caught.value) and caught.value.hint, (name, str(caught.value))
        assert newer == isinstance(caught.value, ta.SchemaMismatchError), (name, str(caught.value))
    # An ingest checks every file of the dataset before it adds to it.
    with pytest.raises(expected) as caught:
        ingest_here(paths, root)
    assert "\n" not in str(caught.value) and caught.value.hint


def _at_once(count: int, action: Callable[[], object]) -> list[BaseException]:
    """Run ``action`` in ``count`` threads released together; return what they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            action()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_first_ingests_at_once_all_open_the_new_dataset(tmp_path: Path) -> None:
    for attempt in range(15):
        root = tmp_path / f"dataset-{attempt}"
        errors = _at_once(6, lambda root=root: open_for_writing(root))
        assert errors == [], f"attempt {attempt}: {errors!r}"
        assert json.loads((root / "tokenaudit.json").read_text())["schema_version"] == SCHEMA_VERSION
        assert leftovers(root) == [] and sorted(p.name for p in root.iterdir()) == [".lock", "tokenaudit.json"]


def test_first_runs_at_once_share_one_fingerprint_key(tmp_path: Path) -> None:
    for attempt in range(15):
        path = tmp_path / f"key-{attempt}" / "fingerprint.key"
        keys: list[bytes] = []
        errors = _at_once(6, lambda path=path, keys=keys: keys.append(load_fingerprint_key(path)))
        assert errors == [], f"attempt {attempt}: {errors!r}"
        assert len(set(keys)) == 1 and keys[0] == path.read_bytes()
        assert [p.name for p in path.parent.iterdir()] == ["fingerprint.key"]


def test_readers_and_ingest_take_a_plain_string_path(tmp_path: Path, logs: Path) -> None:
    as_text = str(tmp_path / "text-ds")
    ta.ingest([str(logs)], as_text, timezone="UTC", fingerprint_key=b"k" * 32)
    as_path = Path(as_text)
    assert ta.read_events(as_text).equals(ta.read_events(as_path))
    assert len(ta.read_events(as_text)) > 0
    for reader in (ta.read_manifest, ta.read_realms, ta.read_tokens, ta.read_requests):
        assert len(reader(as_text)) == len(reader(as_path))
