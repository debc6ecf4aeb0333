"""Property tests, end to end: ingest takes any file without a traceback and accounts for every line.

Files of random bytes, mutated log lines, truncated ``.gz`` files (a gzip
header and part of the stream), an empty file, a file of NULs and a 1 MB line
go through :func:`tokenaudit.pipeline.batches` and through ``tokenaudit ingest``. A file
that cannot be read is named with a reason (status ``failed`` or, read up to a
break, ``partial``; exit code 4), never a traceback; the totals balance; the
reasons for rejected lines are printed after the ingest.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import tokenaudit as ta
from tokenaudit.cli import app

from .test_properties_formats import EXAMPLES, FORMATS, JUNK, block_of, mutated_sample

PROPS = settings(max_examples=EXAMPLES * 3, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
KEY = b"k" * 32
MTIME = pd.Timestamp("2025-12-01", tz="UTC").timestamp()
STATUSES = {"ingested", "partial", "empty", "failed", "unchanged"}
RUNNER = CliRunner()
GOOD = (b"Nov 21 18:11:05 pve1 pvedaemon[2345]: openid authentication failure; rhost=::ffff:192.168.178.81 "
        b"msg=Failed to verify ID token: Invalid audiences: `377572587972067335` is not a trusted audience\n")


def ingest_bytes(content: bytes, folder: Path, name: str = "input.log") -> ta.IngestReport:
    path = folder / name
    path.write_bytes(content)
    os.utime(path, (MTIME, MTIME))
    return ta.ingest([str(path)], folder / "dataset", timezone="UTC", fingerprint_key=KEY, jobs=1)


def assert_report_accounts(report: ta.IngestReport, path: Path) -> None:
    """One report per input, named; a failure says why; every line accounted for, each with a reason."""
    assert [source.source for source in report.sources] == [str(path)]
    for source in report.sources:
        assert source.status in STATUSES
        if source.status in ("failed", "partial"):
            assert source.note, source
        account = source.account
        assert account.balanced, account
        assert sum(account.rejected_reasons.values()) == account.rejected, account
        assert sum(account.skipped_reasons.values()) == account.skipped, account
    assert report.totals.balanced


def truncated_gzip(data: bytes, keep: float) -> bytes:
    """A gzip file cut short: its header and the first ``keep`` share of the rest (never all of it)."""
    packed = gzip.compress(data, mtime=0)
    return packed[: 10 + int((len(packed) - 11) * keep)]


@st.composite
def log_files(draw: st.DrawFn) -> bytes:
    fmt = draw(st.sampled_from([f for f in FORMATS.values() if f.kind in ("regex", "json")]))
    return draw(block_of(st.one_of(mutated_sample(fmt), JUNK)))


@PROPS
@given(content=st.one_of(
    st.binary(max_size=3000),
    log_files(),
    st.builds(truncated_gzip, log_files(), st.floats(0, 1, exclude_max=True)),
    st.builds(gzip.compress, st.binary(max_size=500)),
))
@example(content=b"")
@example(content=b"\x00" * 4096)
@example(content=b"\x1f\x8b")  # the gzip magic and nothing more
@example(content=truncated_gzip(GOOD * 2000, 0.5))
def test_any_file_is_ingested_or_named(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        report = ingest_bytes(content, folder)
        assert_report_accounts(report, folder / "input.log")
        source = report.sources[0]
        if not content:
            assert source.status == "empty"
        if content.startswith(b"\x1f\x8b") and source.status != "failed":
            try:
                gzip.decompress(content)
            except (EOFError, OSError):  # the stream breaks: whatever was read, the source is no success
                assert source.status == "partial", source


def test_truncated_gzip_keeps_the_lines_before_the_break(tmp_path: Path) -> None:
    report = ingest_bytes(truncated_gzip(GOOD * 2000, 0.5), tmp_path, "syslog.2.gz")
    source = report.sources[0]
    assert source.status == "partial"
    assert "read stopped" in (source.note or "") and "lines before it were ingested" in (source.note or "")
    assert 0 < source.account.events <= 2000 and source.account.balanced
    assert report.incomplete == [source] and report.failed == []


def test_gzip_broken_in_its_header_fails(tmp_path: Path) -> None:
    report = ingest_bytes(b"\x1f\x8b\x08\x00", tmp_path, "syslog.3.gz")
    source = report.sources[0]
    assert source.status == "failed"  # it was reported "empty" before, and the run succeeded
    assert "read stopped" in (source.note or "") and "gzip -t" in (source.note or "")


def test_file_of_nuls_fails_with_a_hint(tmp_path: Path) -> None:
    source = ingest_bytes(b"\x00" * 100_000, tmp_path).sources[0]
    assert source.status == "failed" and "binary file" in (source.note or "")


def test_one_megabyte_line(tmp_path: Path) -> None:
    content = GOOD + b"Nov 21 18:11:06 pve1 app[1]: " + b"x" * (1024 * 1024) + b"\n" + GOOD
    report = ingest_bytes(content, tmp_path)
    account = report.sources[0].account
    assert report.sources[0].status == "ingested"
    assert (account.read, account.parsed, account.events) == (3, 3, 2)


# --- the command line ------------------------------------------------------------------------


def invoke_ingest(*paths: Path, dataset: Path) -> tuple[int, str]:
    result = RUNNER.invoke(app, ["ingest", *map(str, paths), "--dataset", str(dataset), "--timezone", "UTC"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    return result.exit_code, result.stdout


def test_cli_truncated_gzip_exit_code_4(tmp_path: Path) -> None:
    broken = tmp_path / "syslog.2.gz"
    broken.write_bytes(truncated_gzip(GOOD * 2000, 0.5))
    code, out = invoke_ingest(broken, dataset=tmp_path / "ds")
    assert code == 4, out
    head, note, total = out.splitlines()
    assert head.startswith(f"{broken}: partial as syslog_rfc3164; read "), out
    assert note.startswith("    note: read stopped: ") and note.endswith("; lines before it were ingested"), out
    assert total.startswith("total: 1 sources (0 failed, 1 partial)"), out


def test_cli_gzip_broken_in_its_header_exit_code_4(tmp_path: Path) -> None:
    header_only = tmp_path / "syslog.3.gz"
    header_only.write_bytes(b"\x1f\x8b\x08\x00")
    code, out = invoke_ingest(header_only, dataset=tmp_path / "ds")
    assert code == 4, out
    assert out.splitlines()[0].startswith(f"{header_only}: failed"), out
    assert out.splitlines()[-1].startswith("total: 1 sources (1 failed)"), out


def test_cli_lists_rejected_lines_by_reason(tmp_path: Path) -> None:
    log = tmp_path / "syslog"
    log.write_bytes(GOOD * 3 + b"not a syslog line\n\xff\xfe junk\n" + b"# comment\n"
                    + GOOD.replace(b"Nov 21 18:11:05", b"Feb 30 25:61:61"))
    os.utime(log, (MTIME, MTIME))
    code, out = invoke_ingest(log, dataset=tmp_path / "ds")
    assert code == 0, out
    head, *reasons = [line for line in out.splitlines() if not line.startswith("total:")]
    assert "read 7 = parsed 3 + skipped 1 + rejected 3" in head, out
    assert sorted(reasons) == sorted([
        "    skipped 1: comment, marker or blank line",
        "    rejected 2: not a syslog_rfc3164 line",
        "    rejected 1: timestamp did not parse",
    ]), out


@settings(PROPS, max_examples=max(EXAMPLES // 3, 3))
@given(content=st.one_of(st.binary(max_size=2000), st.builds(truncated_gzip, st.binary(max_size=2000),
                                                             st.floats(0, 1, exclude_max=True))))
def test_cli_never_shows_a_traceback(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.log"
        path.write_bytes(content)
        code, out = invoke_ingest(path, dataset=Path(tmp) / "ds")
        assert code in (0, 4), out
        assert str(path) in out
