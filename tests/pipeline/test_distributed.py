"""Ingest on a Dask cluster (two worker processes on 127.0.0.1) gives what one machine gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import tokenaudit as ta
from tokenaudit.errors import InputError
from tokenaudit.pipeline import batches, distributed

from ..conftest import SAMPLE_LOGS

distributed_module = pytest.importorskip("distributed")

KEY = b"d" * 32
#: What differs between two ingests of the same files: the batch, the streams' ids, the time of the ingest.
RUN_COLUMNS = ["batch_id", "stream_id", "ingested_at"]


@pytest.fixture
def client(dask_client: object) -> object:
    return dask_client


def _events(root: Path) -> pd.DataFrame:
    events = ta.read_events(root).drop(columns=["batch_id", "stream_id"])
    return events.sort_values(["source_file", "line_no"], kind="stable").reset_index(drop=True)


def _manifest(root: Path) -> pd.DataFrame:
    manifest = ta.read_manifest(root).drop(columns=RUN_COLUMNS)
    return manifest.sort_values("source_file", kind="stable").reset_index(drop=True)


def test_a_cluster_ingest_equals_one_machines(client: object, tmp_path: Path) -> None:
    alone = ta.ingest([str(SAMPLE_LOGS)], tmp_path / "alone", timezone="Europe/Berlin", fingerprint_key=KEY)
    seen = []
    spread = ta.ingest([str(SAMPLE_LOGS)], tmp_path / "spread", timezone="Europe/Berlin", fingerprint_key=KEY,
                       client=client, progress=seen.append)
    assert [(r.source, r.status, r.account) for r in spread.sources] == \
        [(r.source, r.status, r.account) for r in alone.sources]
    pd.testing.assert_frame_equal(_events(tmp_path / "spread"), _events(tmp_path / "alone"))
    pd.testing.assert_frame_equal(_manifest(tmp_path / "spread"), _manifest(tmp_path / "alone"))
    # The same groups; among groups of equal count and first time the order is the files' (which differ).
    groups = [ta.failure_groups(ta.read_event_classes(root), ta.read_realms(root), tokens=ta.read_tokens(root))
              .sort_values(["cause", "relying_party", "key", "software", "hosts"], kind="stable")
              .reset_index(drop=True) for root in (tmp_path / "spread", tmp_path / "alone")]
    assert len(groups[0]) > 50
    pd.testing.assert_frame_equal(groups[0], groups[1])
    assert len(seen) == len(spread.sources) and seen[-1].total_read == seen[-1].total_size
    # Small sources send their events back, written here with the others' as one machine writes them:
    # as few files as one machine's, numbered after every task's.
    files = {name: sorted((tmp_path / name / "events").rglob("*.parquet")) for name in ("spread", "alone")}
    assert len(files["spread"]) == len(files["alone"]) > 0
    assert all(int(p.stem.rpartition("-")[2]) >= len(spread.sources) * batches.PARTS_PER_SOURCE
               for p in files["spread"])


def test_a_second_cluster_ingest_reads_only_what_is_new(client: object, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    shutil.copytree(SAMPLE_LOGS / "syslog_rfc3164", logs)
    log = next(logs.iterdir())
    root = tmp_path / "ds"
    first = ta.ingest([str(logs)], root, timezone="UTC", fingerprint_key=KEY, client=client)
    lines = first.sources[0].account.read
    with log.open("a", encoding="utf-8") as handle:
        handle.write("Nov 23 10:00:00 pve1 pvedaemon[9]: authentication failure; rhost=::ffff:192.0.2.7 "
                     "user=root@pam msg=Authentication failure\n")
    second = ta.ingest([str(logs)], root, timezone="UTC", fingerprint_key=KEY, client=client)
    assert second.sources[0].resumed_after_line == lines and second.sources[0].account.read == 1
    assert len(ta.read_events(root)) == first.totals.events + 1


def test_a_file_left_by_an_attempt_before_a_retry_is_deleted(client: object, tmp_path: Path) -> None:
    """A part of the batch that no final task wrote (a killed attempt's) is not committed."""
    root = tmp_path / "ds"
    ta.ingest([str(SAMPLE_LOGS / "syslog_rfc3164")], root, timezone="UTC", fingerprint_key=KEY)
    written = sorted((root / "events").rglob("*.parquet"))
    batch = ta.read_manifest(root)["batch_id"].iloc[0]
    stray = written[0].parent / f"part-{batch}-{7 * batches.PARTS_PER_SOURCE + 3}.parquet"
    shutil.copy(written[0], stray)
    distributed.remove_leftovers(root, batch, written)
    assert not stray.exists() and all(path.exists() for path in written)


def test_standard_input_is_refused_on_a_cluster(client: object, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="standard input"):
        ta.ingest(["-"], tmp_path / "ds", timezone="UTC", fingerprint_key=KEY, client=client)


def test_local_needs_a_number_of_workers() -> None:
    with pytest.raises(InputError, match="number of workers"), distributed.cluster_client("local:many"):
        pass


def test_an_unreachable_scheduler_is_an_error_with_a_hint() -> None:
    with pytest.raises(InputError, match="cannot reach") as caught, distributed.cluster_client("tcp://127.0.0.1:9"):
        pass
    assert "local:N" in (caught.value.hint or "")


def test_the_command_line_ingests_on_a_local_cluster(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "tokenaudit", "ingest", str(SAMPLE_LOGS / "syslog_rfc3164"),
                           "--dataset", str(tmp_path / "ds"), "--timezone", "UTC", "--dask", "local:2", "-f", "json"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TOKENAUDIT_KEY_FILE": str(tmp_path / "key")})
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["totals"]["events"] > 0
    alone = ta.ingest([str(SAMPLE_LOGS / "syslog_rfc3164")], tmp_path / "alone", timezone="UTC", fingerprint_key=KEY)
    assert len(ta.read_events(tmp_path / "ds")) == alone.totals.events > 0


def _dying_once(source: object, number: int, *args: object) -> object:
    """The ingest task, but the first attempt of source 0 writes a part and kills its worker process."""
    import os

    dataset, batch_id = Path(str(args[-1])), str(args[4])
    marker = dataset / f".attempted-{number}"
    if number == 0 and not marker.exists():
        marker.touch()
        day = dataset / "events" / "event_date=2026-11-21"
        day.mkdir(parents=True, exist_ok=True)
        stray = sorted((SAMPLE_LOGS.parent / "tests").glob("*.py"))  # anything: it must not survive
        (day / f"part-{batch_id}-{number * batches.PARTS_PER_SOURCE + 99}.parquet").write_bytes(
            stray[0].read_bytes())
        os._exit(1)  # the worker dies in the middle of the task
    return batches.run_source(source, number, *args)  # type: ignore[arg-type]


def test_a_task_whose_worker_dies_is_run_again_and_nothing_is_counted_twice(client: object, tmp_path: Path) -> None:
    from tokenaudit.sources.readers import expand_inputs
    from tokenaudit.store.dataset import open_for_writing

    root = tmp_path / "ds"
    open_for_writing(root)
    sources = expand_inputs([str(SAMPLE_LOGS / "syslog_rfc3164"), str(SAMPLE_LOGS / "combined_access")])
    catalogue, formats = ta.load_catalogue(), ta.load_formats()
    batch = "20261205T000000-killed00"
    outcomes = distributed.run_sources(client, _dying_once, sources, name=batch, shared=(formats, catalogue),
                                       rest=(None, "UTC", batch, {}, KEY, root))
    assert (root / ".attempted-0").exists()  # the first attempt ran, and died
    written = [path for outcome in outcomes for path in outcome.written]
    leftovers = [p for p in (root / "events").rglob("*.parquet") if p not in written]
    assert leftovers  # what the dead attempt left
    distributed.remove_leftovers(root, batch, written)
    assert sorted((root / "events").rglob("*.parquet")) == sorted(written)
    alone = ta.ingest([str(s.path) for s in sources], tmp_path / "alone", timezone="UTC", fingerprint_key=KEY)
    assert sum(outcome.report.account.events for outcome in outcomes) == alone.totals.events > 0


def test_a_large_source_is_parsed_by_the_whole_cluster_and_gives_what_one_machine_gives(
        client: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from distributed import get_task_stream

    text = (SAMPLE_LOGS / "syslog_rfc3164" / "pve1-syslog.log").read_bytes()
    log = tmp_path / "big.log"
    log.write_bytes(text * (30 * 2**20 // len(text) + 1))  # about 30 MB: four blocks, more events than a spill
    monkeypatch.setattr(distributed, "SPREAD_BYTES", 2**20)
    alone = ta.ingest([str(log)], tmp_path / "alone", timezone="UTC", fingerprint_key=KEY)
    with get_task_stream(client) as stream:  # type: ignore[arg-type]
        spread = ta.ingest([str(log)], tmp_path / "spread", timezone="UTC", fingerprint_key=KEY, client=client)
    blocks = [task for task in stream.data if str(task["key"]).startswith("process_block")]
    assert len(blocks) >= 3  # each block a task of its own, on whichever worker the scheduler chose
    assert spread.sources[0].account == alone.sources[0].account and alone.totals.events > batches.SPILL_EVENTS
    written = sorted((tmp_path / "spread" / "events").rglob("*.parquet"))
    assert any(int(p.stem.rpartition("-")[2]) < batches.PARTS_PER_SOURCE for p in written)  # the task wrote them
    pd.testing.assert_frame_equal(_events(tmp_path / "spread"), _events(tmp_path / "alone"))
    pd.testing.assert_frame_equal(_manifest(tmp_path / "spread"), _manifest(tmp_path / "alone"))
    # and the next run reads only what was added
    with log.open("ab") as handle:
        handle.write(text)
    again = ta.ingest([str(log)], tmp_path / "spread", timezone="UTC", fingerprint_key=KEY, client=client)
    assert again.sources[0].account.read == text.count(b"\n")
