"""Ingest: line accounting, incremental and rotation-aware reading, inputs, redaction."""

from __future__ import annotations

import gzip
import io
import os
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import tokenaudit as ta

FAIL = (
    "Nov 21 18:11:{sec:02d} pve1 pvedaemon[2345]: openid authentication failure; "
    "rhost=::ffff:192.168.178.81 msg=Failed to verify ID token: Invalid audiences: "
    "`377572587972067335` is not a trusted audience"
)
OTHER = "Nov 21 18:00:{sec:02d} pve1 CRON[40121]: (root) CMD (true)"
ISO_FAIL = (
    "2026-11-22T11:15:33.118830+01:00 pve3 pvedaemon[90211]: openid authentication failure; "
    "rhost=::ffff:192.168.178.81 msg=Failed to verify ID token: Invalid audiences: "
    "`377572587972067335` is not a trusted audience"
)
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWJ5dGVz"
CLIENT_KEY = "Zq8-client-key-SECRET-7741"
# 2025-12-01 00:00 UTC: lines dated Nov 21 belong to 2025.
MTIME = pd.Timestamp("2025-12-01", tz="UTC").timestamp()


def fail(sec: int) -> str:
    return FAIL.format(sec=sec)


def other(sec: int) -> str:
    return OTHER.format(sec=sec)


def write_log(path: Path, lines: list[str], *, mtime: float = MTIME, end: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + end, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def append_log(path: Path, lines: list[str], *, mtime: float = MTIME) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.utime(path, (mtime, mtime))


def run(paths: list[Path | str], dataset: Path, **kwargs: object) -> ta.IngestReport:
    return ta.ingest([str(p) for p in paths], dataset, timezone="UTC", **kwargs)  # type: ignore[arg-type]


def by_source(report: ta.IngestReport) -> dict[str, ta.SourceReport]:
    return {Path(s.source).name if s.source != "<stdin>" else s.source: s for s in report.sources}


def dataset_bytes(dataset: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(dataset.rglob("*")) if p.is_file())


def parquet_text(dataset: Path) -> str:
    """Every value of every Parquet file, decoded (raw bytes may be compressed)."""
    tables = [pq.read_table(p) for p in sorted(dataset.rglob("*.parquet"))]
    return "\n".join(str(table.to_pylist()) for table in tables)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return tmp_path / "dataset"


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    return folder


# --- accounting -------------------------------------------------------------


def test_every_line_is_parsed_skipped_or_rejected(logs: Path, dataset: Path) -> None:
    lines = [
        "# exported from pve1",
        fail(1),
        other(2),
        "this is garbage, not syslog",
        fail(3),
        "# another comment",
        other(4),
        other(5),
        fail(6),
    ]
    report = run([write_log(logs / "syslog", lines)], dataset)

    [source] = report.sources
    account = source.account
    assert source.status == "ingested"
    assert source.format == "syslog_rfc3164"
    assert (account.read, account.parsed, account.skipped, account.rejected) == (9, 6, 2, 1)
    assert account.read == account.parsed + account.skipped + account.rejected
    assert account.events == 3
    assert dict(account.rejected_reasons) == {"not a syslog_rfc3164 line": 1}
    assert sum(account.skipped_reasons.values()) == 2
    assert report.totals.read == 9 and report.totals.events == 3
    events = ta.read_events(dataset)
    assert events["line_no"].tolist() == [2, 5, 9]
    assert set(events["signature"]) == {"openidconnect.untrusted_audience"}
    assert set(events["audience"]) == {"377572587972067335"}
    assert set(events["client_addr"]) == {"::ffff:192.168.178.81"}


# --- incremental reading ----------------------------------------------------


def test_second_ingest_of_same_file_is_unchanged(logs: Path, dataset: Path) -> None:
    log = write_log(logs / "syslog", [fail(1), other(2), fail(3)])
    run([log], dataset)
    before = ta.read_events(dataset)

    report = run([log], dataset)

    [source] = report.sources
    assert source.status == "unchanged"
    assert source.account.read == 0
    after = ta.read_events(dataset)
    assert len(before) == len(after) == 2
    assert after["line_no"].tolist() == [1, 3]


def test_appended_lines_are_read_alone_and_numbered_on(logs: Path, dataset: Path) -> None:
    log = write_log(logs / "syslog", ["# header comment", fail(1), other(2), fail(3)])
    first = run([log], dataset)
    assert first.sources[0].account.events == 2

    append_log(log, ["# mid comment", other(4), fail(5), fail(6)])
    report = run([log], dataset)

    [source] = report.sources
    assert source.status == "ingested"
    assert source.resumed_after_line == 4
    assert (source.account.read, source.account.skipped, source.account.events) == (4, 1, 2)
    events = ta.read_events(dataset)
    assert len(events) == 4
    assert events["line_no"].tolist() == [2, 4, 7, 8]
    new = events[events["batch_id"] == report.batch_id]
    assert new["line_no"].tolist() == [7, 8]
    assert new["ts"].dt.second.tolist() == [5, 6]


def test_rotated_file_yields_only_its_new_lines_and_compressed_copy_is_known(
    logs: Path, dataset: Path
) -> None:
    syslog = write_log(logs / "syslog", [fail(1), other(2)])
    run([logs], dataset)

    rotated = logs / "syslog.1"
    syslog.rename(rotated)
    append_log(rotated, [fail(3)])
    write_log(logs / "syslog", [other(10), fail(11), fail(12)])
    second = by_source(run([logs], dataset))

    assert second["syslog.1"].status == "ingested"
    assert second["syslog.1"].resumed_after_line == 2
    assert (second["syslog.1"].account.read, second["syslog.1"].account.events) == (1, 1)
    assert second["syslog"].status == "ingested"
    assert second["syslog"].resumed_after_line == 0
    assert (second["syslog"].account.read, second["syslog"].account.events) == (3, 2)
    events = ta.read_events(dataset)
    assert len(events) == 4
    lines = sorted(zip(events["source_file"].map(lambda s: Path(s).name), events["line_no"], strict=True))
    assert lines == [("syslog", 1), ("syslog", 2), ("syslog", 3), ("syslog.1", 3)]

    compressed = logs / "syslog.2.gz"
    compressed.write_bytes(gzip.compress(rotated.read_bytes()))
    rotated.unlink()
    third = by_source(run([logs], dataset))

    assert third["syslog.2.gz"].status == "unchanged"
    assert third["syslog"].status == "unchanged"
    assert third["syslog.2.gz"].account.events == 0
    assert len(ta.read_events(dataset)) == 4


def test_gzip_file_read_first_gives_same_events_as_plain(tmp_path: Path, logs: Path) -> None:
    lines = ["# c", fail(1), other(2), fail(3), "garbage"]
    plain = write_log(logs / "plain.log", lines)
    packed = logs / "packed.log.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    os.utime(packed, (MTIME, MTIME))

    plain_report = run([plain], tmp_path / "ds_plain")
    packed_report = run([packed], tmp_path / "ds_packed")

    assert packed_report.sources[0].status == "ingested"
    assert packed_report.sources[0].account == plain_report.sources[0].account
    ignore = ["source_file", "stream_id", "batch_id"]
    from_plain = ta.read_events(tmp_path / "ds_plain").drop(columns=ignore)
    from_packed = ta.read_events(tmp_path / "ds_packed").drop(columns=ignore)
    assert len(from_packed) == 2
    pd.testing.assert_frame_equal(from_plain, from_packed)
    assert bool(ta.read_manifest(tmp_path / "ds_packed")["compressed"].iloc[0]) is True


def test_stdin_is_read_as_a_source(monkeypatch: pytest.MonkeyPatch, dataset: Path) -> None:
    text = "\n".join([other(1), fail(2), fail(3)]) + "\n"

    class FakeStdin:
        buffer = io.BytesIO(text.encode())

    monkeypatch.setattr(sys, "stdin", FakeStdin())
    report = ta.ingest(["-"], dataset, timezone="UTC")

    [source] = report.sources
    assert (source.source, source.status, source.account.events) == ("<stdin>", "ingested", 2)
    events = ta.read_events(dataset)
    assert events["source_file"].tolist() == ["<stdin>", "<stdin>"]
    assert events["line_no"].tolist() == [2, 3]


def test_unterminated_last_line_waits_for_its_newline(logs: Path, dataset: Path) -> None:
    log = write_log(logs / "syslog", [fail(1), fail(2)], end="")
    first = run([log], dataset)

    assert first.sources[0].account.read == 1
    assert ta.read_events(dataset)["line_no"].tolist() == [1]

    with log.open("a", encoding="utf-8") as handle:
        handle.write("\n")
    second = run([log], dataset)

    assert second.sources[0].status == "ingested"
    assert second.sources[0].resumed_after_line == 1
    assert second.sources[0].account.read == 1
    events = ta.read_events(dataset)
    assert events["line_no"].tolist() == [1, 2]
    assert events["ts"].dt.second.tolist() == [1, 2]


def test_unterminated_last_line_is_reported_in_note(logs: Path, dataset: Path) -> None:
    log = write_log(logs / "syslog", [fail(1), fail(2)], end="")

    report = run([log], dataset)

    assert report.sources[0].note is not None
    assert "newline" in report.sources[0].note


def test_file_with_only_an_unterminated_line_does_not_capture_later_sources(
    logs: Path, dataset: Path
) -> None:
    run([write_log(logs / "partial.log", [fail(1)], end="")], dataset)

    report = run([write_log(logs / "iso.log", [ISO_FAIL])], dataset)

    [source] = report.sources
    assert source.format == "syslog_iso"
    assert source.account.events == 1


# --- inputs -----------------------------------------------------------------


def test_folder_is_read_recursively_unknown_text_is_generic_and_binary_fails(logs: Path, dataset: Path) -> None:
    write_log(logs / "syslog", [fail(1), other(2)])
    write_log(logs / "pve" / "deep" / "daemon.log", [other(3), fail(4), fail(5)])
    write_log(logs / "notes.txt", ["hello world", "remember to buy milk", "nothing here"])
    (logs / "system.journal").write_bytes(b"LPKSHHRH\x00\x00\x00\x01" + bytes(range(256)))

    report = run([logs], dataset)

    sources = by_source(report)
    assert set(sources) == {"syslog", "daemon.log", "notes.txt", "system.journal"}
    assert (sources["notes.txt"].status, sources["notes.txt"].format) == ("ingested", "generic_text")
    assert sources["notes.txt"].account.events == 0
    assert sources["system.journal"].status == "failed"
    assert "binary" in (sources["system.journal"].note or "") and "journalctl" in (sources["system.journal"].note or "")
    assert [s.source for s in report.failed] == [str(logs / "system.journal")]
    assert sources["syslog"].status == sources["daemon.log"].status == "ingested"
    assert report.totals.events == 3
    events = ta.read_events(dataset)
    assert sorted(events["source_file"].map(lambda s: Path(s).name)) == ["daemon.log", "daemon.log", "syslog"]


def test_a_validator_message_in_an_unknown_format_still_becomes_an_event(logs: Path, dataset: Path) -> None:
    log = write_log(logs / "app.log", [
        "fail: Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerHandler[1]",
        "      Authentication failed.",
        "2026/11/22 10:20:01 app | Failed to process OIDC callback: Invalid audiences: `329836626744180738` is not a "
        "trusted audience",
        "2026/11/22 10:20:02 app | all good",
    ])
    report = run([log], dataset)
    source = report.sources[0]
    assert source.format == "generic_text"
    assert (source.account.read, source.account.parsed, source.account.events) == (4, 4, 1)
    event = ta.read_events(dataset).iloc[0]
    assert (event["signature"], event["audience"], event["line_no"]) == (
        "openidconnect.untrusted_audience", "329836626744180738", 3)
    assert event["ts"] == pd.Timestamp("2026-11-22T10:20:01Z")


def test_missing_path_raises_input_error(logs: Path, dataset: Path) -> None:
    with pytest.raises(ta.InputError, match="no such file"):
        run([logs / "does-not-exist.log"], dataset)


def test_unknown_format_name_raises_format_error(logs: Path, dataset: Path) -> None:
    log = write_log(logs / "syslog", [fail(1)])
    with pytest.raises(ta.FormatError, match="unknown format 'no_such_format'"):
        run([log], dataset, format_name="no_such_format")


def test_forced_format_reads_a_file_detection_gives_up_on(logs: Path, dataset: Path) -> None:
    log = write_log(logs / "mixed.txt", ["junk one", "junk two", "junk three", fail(4)])
    detected = run([log], dataset.with_name("detected")).sources[0]
    assert (detected.status, detected.format) == ("ingested", "generic_text")

    report = run([log], dataset, format_name="syslog_rfc3164")

    [source] = report.sources
    assert (source.status, source.format) == ("ingested", "syslog_rfc3164")
    assert (source.account.read, source.account.rejected, source.account.events) == (4, 3, 1)
    assert ta.read_events(dataset)["line_no"].tolist() == [4]


def test_rfc3164_year_comes_from_file_mtime(logs: Path, dataset: Path) -> None:
    january = pd.Timestamp("2026-01-02 00:00:00", tz="UTC").timestamp()
    new_year = FAIL.replace("Nov 21 18:11:{sec:02d}", "{stamp}")
    lines = [new_year.format(stamp="Dec 31 23:59:59"), new_year.format(stamp="Jan  1 00:00:01")]

    run([write_log(logs / "syslog", lines, mtime=january)], dataset)

    ts = ta.read_events(dataset)["ts"].tolist()
    assert ts == [
        pd.Timestamp("2025-12-31 23:59:59", tz="UTC"),
        pd.Timestamp("2026-01-01 00:00:01", tz="UTC"),
    ]


# --- secrets ----------------------------------------------------------------


def test_client_key_is_never_stored_but_realm_is(logs: Path, dataset: Path) -> None:
    config = [
        "openid: zitadel",
        "\tissuer-url https://auth.example.com",
        "\tclient-id 377576883644006407",
        f"\tclient-key {CLIENT_KEY}",
        "\tusername-claim username",
        "",
        "pam: pam",
        "\tcomment Linux PAM",
    ]
    report = run([write_log(logs / "domains.cfg", config)], dataset)

    assert report.sources[0].format == "pve_domains_cfg"
    assert CLIENT_KEY.encode() not in dataset_bytes(dataset)
    assert CLIENT_KEY not in parquet_text(dataset)
    realms = ta.read_realms(dataset).set_index("realm")
    assert realms.loc["zitadel", "client_id"] == "377576883644006407"
    assert realms.loc["zitadel", "issuer_url"] == "https://auth.example.com"
    assert CLIENT_KEY not in realms.astype(str).to_string()


def test_jwt_in_a_message_is_redacted_before_storage(logs: Path, dataset: Path) -> None:
    line = (
        "Nov 21 18:11:27 pve1 pvedaemon[2345]: openid authentication failure; "
        "rhost=::ffff:192.168.178.81 msg=Failed to verify ID token: Invalid audiences: "
        f"`abc` is not a trusted audience token={JWT}"
    )
    run([write_log(logs / "syslog", [line])], dataset)

    assert JWT.encode() not in dataset_bytes(dataset)
    assert JWT.split(".")[2].encode() not in dataset_bytes(dataset)
    assert "<JWT>" in parquet_text(dataset)
    assert JWT not in parquet_text(dataset)
    [message] = ta.read_events(dataset)["message"].tolist()
    assert "<JWT>" in message
    assert message.endswith("token=<JWT>")


# --- bounded memory ---------------------------------------------------------

# the package exports a function of that name
_ingest_module = __import__("importlib").import_module("tokenaudit.pipeline.batches")


def _keyed(events: pd.DataFrame) -> list[tuple[object, ...]]:
    return sorted(events[["source_file", "line_no", "signature", "message"]].itertuples(index=False, name=None))


def test_events_are_written_as_they_come_and_read_back_the_same(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written every 7 events (within one big source and across small ones), the batch holds what one write holds."""
    write_log(logs / "big.log", [fail(i % 60) if i % 3 else other(i % 60) for i in range(90)])
    for number in range(3):
        write_log(logs / f"small-{number}.log", [fail(number), other(number)])
    whole = run([logs], tmp_path / "whole")
    monkeypatch.setattr(_ingest_module, "SPILL_EVENTS", 7)
    monkeypatch.setattr(_ingest_module, "BLOCK_BYTES", 1024)  # a few events a block
    pieces = run([logs], tmp_path / "pieces")
    assert pieces.totals.events == whole.totals.events == 63
    assert _keyed(ta.read_events(tmp_path / "pieces")) == _keyed(ta.read_events(tmp_path / "whole"))
    files = sorted((tmp_path / "pieces" / "events").rglob("*.parquet"))
    assert len(files) >= 60 // 9  # the big source wrote every 7-9 events, the small ones once at the end
    assert all((tmp_path / "pieces" / "event_classes" / f.relative_to(tmp_path / "pieces" / "events")).is_file()
               for f in files)
    assert len({f.name for f in files}) == len(files)  # numbered across the pieces, none overwritten


def test_a_source_that_fails_after_writing_events_leaves_none_of_them(
    logs: Path, dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_log(logs / "a-good.log", [fail(i) for i in range(20)])
    write_log(logs / "b-breaks.log", [fail(i) for i in range(40)])
    monkeypatch.setattr(_ingest_module, "SPILL_EVENTS", 5)
    monkeypatch.setattr(_ingest_module, "BLOCK_BYTES", 1024)  # several blocks: it writes before it breaks
    real = _ingest_module._SourceRun._report_progress

    def breaking(self: object, consumed: int) -> None:
        if self.source.display_name.endswith("b-breaks.log") and self.written:  # type: ignore[attr-defined]
            raise ta.InputError("the disk went away")
        real(self, consumed)  # type: ignore[arg-type]

    monkeypatch.setattr(_ingest_module._SourceRun, "_report_progress", breaking)
    report = run([logs], dataset, progress=lambda p: None, jobs=1)
    assert by_source(report)["b-breaks.log"].status == "failed"
    events = ta.read_events(dataset)
    assert set(events["source_file"].map(lambda s: Path(s).name)) == {"a-good.log"} and len(events) == 20
    batch = report.batch_id
    stored = [p for p in dataset.rglob("*.parquet") if batch in p.name and "manifest" not in p.parts]
    events_files = [p for p in stored if "events" in p.parts]
    assert sum(pq.read_metadata(p).num_rows for p in events_files) == 20  # nothing of the broken source is left


def test_request_counts_summed_as_they_come_equal_those_summed_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ..conftest import SAMPLE_LOGS

    whole = tmp_path / "whole"
    run([SAMPLE_LOGS], whole)
    monkeypatch.setattr(_ingest_module, "COMPACT_REQUESTS", 1)
    monkeypatch.setattr(_ingest_module, "BLOCK_BYTES", 512)
    compacted = tmp_path / "compacted"
    run([SAMPLE_LOGS], compacted)
    expected = ta.read_requests(whole)
    assert int(expected["count"].sum()) > 0
    pd.testing.assert_frame_equal(ta.read_requests(compacted), expected)


def test_a_file_in_many_byte_ranges_is_read_in_order(logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranges are read one by one, each from its own offset; every line keeps its own number."""
    from tokenaudit.pipeline import ranges as parallel
    from tokenaudit.pipeline.chunk import ChunkContext

    lines = [fail(i % 60) if i % 4 == 0 else other(i % 60) for i in range(4000)]
    path = write_log(logs / "big.log", lines)
    monkeypatch.setattr(parallel, "RANGE_BYTES", 16 * 1024)  # ~24 ranges
    context = ChunkContext("big.log", first_line_no=1, timezone="UTC", reference_time=None, fingerprint_key=b"k" * 32)
    fmt = ta.load_formats()["syslog_rfc3164"]
    results = list(parallel.process_file_range(str(path), 0, path.stat().st_size, fmt, ta.load_catalogue(), context))
    assert sum(result.account.read for result in results) == 4000
    numbers = [n for result in results for n in result.events.column("line_no").to_pylist()]
    assert numbers == list(range(1, 4001, 4))


# --- where an event's time comes from ---------------------------------------

PASTED = "Failed to verify ID token: Invalid audiences: `377572587972067335` is not a trusted audience"


def test_a_line_without_a_time_gets_the_files_nanosecond_mtime_truncated(logs: Path, dataset: Path) -> None:
    pasted = write_log(logs / "pasted.txt", [PASTED])
    moment_ns = 1796119200_123456789  # 2026-12-01 10:00:00.123456789 UTC: finer than the dataset keeps
    os.utime(pasted, ns=(moment_ns, moment_ns))
    write_log(logs / "pve.log", [fail(1)])

    report = run([logs], dataset)

    assert [s.status for s in report.sources] == ["ingested", "ingested"]  # one file never takes down another
    events = ta.read_events(dataset).set_index("format")
    assert str(events.loc["generic_text", "ts"]) == "2026-12-01 10:00:00.123456+00:00"
    assert events.loc["generic_text", "ts_source"] == "file_mtime"
    assert events.loc["syslog_rfc3164", "ts_source"] == "line"


def test_a_line_on_stdin_without_a_time_gets_the_ingest_time(monkeypatch: pytest.MonkeyPatch, dataset: Path) -> None:
    class FakeStdin:
        buffer = io.BytesIO((PASTED + "\n").encode())

    monkeypatch.setattr(sys, "stdin", FakeStdin())
    before = pd.Timestamp.now(tz="UTC")
    ta.ingest(["-"], dataset, timezone="UTC")
    after = pd.Timestamp.now(tz="UTC")

    [event] = ta.read_events(dataset).to_dict("records")
    assert event["ts_source"] == "ingest"
    assert before.floor("us") <= event["ts"] <= after


def test_a_time_with_nanoseconds_in_the_line_is_truncated_not_rejected(logs: Path, dataset: Path) -> None:
    write_log(logs / "app.log", [f"2026-11-22T11:15:33.118830417Z ERROR api {PASTED}"])
    report = run([logs], dataset)
    assert report.totals.events == 1
    [event] = ta.read_events(dataset).to_dict("records")
    assert (str(event["ts"]), event["ts_source"]) == ("2026-11-22 11:15:33.118830+00:00", "line")
