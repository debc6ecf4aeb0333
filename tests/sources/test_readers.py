"""Sources: gzip read piece by piece, truncated and growing ``.gz`` files ingested exactly once per line.

A ``.gz`` cut short (a rotation cut off, a copy in progress) keeps every
complete line that decompresses before the break; the fragment after the
last newline there is neither read nor counted. Reading it again adds
nothing; once more of it arrived, exactly the new lines are added, numbered
on from the last complete one.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import zlib
from pathlib import Path

import pandas as pd
import pytest

import tokenaudit as ta
from tokenaudit.sources.readers import ByteStream, GzipReader, iter_line_blocks

MTIME = pd.Timestamp("2025-12-01", tz="UTC").timestamp()
LINES = 16_000
#: The line after which the stream is flushed: the compressed bytes before it end on a byte-aligned block boundary.
FLUSH_AFTER = 6_000


def failure_line(number: int, rng: random.Random) -> bytes:
    """A Proxmox OpenID failure (an event per line) whose pid is its line number; the rest varies."""
    addr = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
    audience = rng.randrange(10**17, 10**18)
    stamp = f"Nov 21 {rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    return (
        f"{stamp} pve1 pvedaemon[{number}]: openid authentication failure; rhost=::ffff:{addr} "
        f"msg=Failed to verify ID token: Invalid audiences: `{audience}` is not a trusted audience\n"
    ).encode()


def build_gzip() -> tuple[bytes, int]:
    """A gzip of :data:`LINES` varied lines (about 3 MB, many deflate blocks) and the offset of its flush."""
    rng = random.Random(13)
    lines = [failure_line(n, rng) for n in range(1, LINES + 1)]
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    head = packer.compress(b"".join(lines[:FLUSH_AFTER])) + packer.flush(zlib.Z_FULL_FLUSH)
    return head + packer.compress(b"".join(lines[FLUSH_AFTER:])) + packer.flush(), len(head)


PACKED, FLUSH_AT = build_gzip()


def complete_lines_before(cut: bytes) -> int:
    """How many complete lines the bytes of a cut gzip decompress to, by zlib in one call."""
    data = zlib.decompressobj(wbits=31).decompress(cut)
    return data.count(b"\n")


#: Break points: inside the first block, on the flushed block boundary and around it, mid-file, near the end.
CUTS = {
    "first block": 3_000,
    "before the boundary": FLUSH_AT - 7,
    "on the boundary": FLUSH_AT,
    "after the boundary": FLUSH_AT + 5,
    "middle": len(PACKED) // 2 + 1,
    "last block": len(PACKED) - 2_000,
    "in the trailer": len(PACKED) - 4,
}


def ingest_file(path: Path, content: bytes, dataset: Path) -> ta.SourceReport:
    path.write_bytes(content)
    os.utime(path, (MTIME, MTIME))
    [source] = ta.ingest([str(path)], dataset, timezone="UTC").sources
    return source


def line_numbers(dataset: Path) -> list[int]:
    events = ta.read_events(dataset, columns=["line_no", "pid"])
    assert (events["line_no"] == events["pid"].astype("int64")).all(), "an event is numbered as another line"
    return sorted(events["line_no"].tolist())


def test_the_gzip_has_many_blocks_and_the_cuts_differ() -> None:
    assert len(PACKED) > 400_000 and 0 < FLUSH_AT < len(PACKED)  # deflate ends a block every few dozen KB
    assert complete_lines_before(PACKED[:FLUSH_AT]) == FLUSH_AFTER  # the flush ends its line exactly
    kept = [complete_lines_before(PACKED[:cut]) for cut in CUTS.values()]
    assert kept == sorted(kept) and len(set(kept)) == len(kept) - 1  # the trailer cut keeps as many as the end
    assert 0 < kept[0] < 100 and kept[-1] == LINES


@pytest.mark.parametrize("where", list(CUTS))
def test_truncated_gzip_keeps_exactly_the_complete_lines_then_the_rest(tmp_path: Path, where: str) -> None:
    cut = PACKED[: CUTS[where]]
    expected = complete_lines_before(cut)
    path, dataset = tmp_path / "syslog.2.gz", tmp_path / "dataset"

    first = ingest_file(path, cut, dataset)
    assert first.status == "partial" and "read stopped" in (first.note or "")
    assert (first.account.read, first.account.events) == (expected, expected)
    assert line_numbers(dataset) == list(range(1, expected + 1))

    again = ingest_file(path, cut, dataset)
    assert again.status == "partial"  # still cut off, and said so
    assert (again.account.read, again.account.events) == (0, 0)
    assert line_numbers(dataset) == list(range(1, expected + 1))

    whole = ingest_file(path, PACKED, dataset)
    if expected == LINES:  # cut in the trailer: every line was there, only the end of the stream was missing
        assert whole.status == "unchanged"
    else:
        assert whole.status == "ingested" and whole.resumed_after_line == expected
    assert (whole.account.read, whole.account.events) == (LINES - expected, LINES - expected)
    assert line_numbers(dataset) == list(range(1, LINES + 1))


def test_growing_gzip_adds_each_time_exactly_the_new_complete_lines(tmp_path: Path) -> None:
    path, dataset = tmp_path / "syslog.1.gz", tmp_path / "dataset"
    seen = 0
    for size in (5_000, FLUSH_AT, FLUSH_AT + 1, len(PACKED) // 2, len(PACKED) - 300, len(PACKED)):
        expected = complete_lines_before(PACKED[:size])
        report = ingest_file(path, PACKED[:size], dataset)
        if size < len(PACKED):
            assert report.status == "partial"
        else:
            assert report.status == ("ingested" if expected > seen else "unchanged")
        if expected > seen:
            assert report.resumed_after_line == seen
        assert report.account.events == expected - seen
        assert line_numbers(dataset) == list(range(1, expected + 1))
        seen = expected
    assert seen == LINES


def test_reader_returns_every_byte_before_the_break_then_raises() -> None:
    cut = PACKED[: CUTS["middle"]]
    reader, pieces = GzipReader(io.BytesIO(cut)), []
    with pytest.raises(EOFError):
        while piece := reader.read(100_000):
            pieces.append(piece)
    assert b"".join(pieces) == zlib.decompressobj(wbits=31).decompress(cut)


def test_reader_reads_members_one_after_another_and_zero_padding() -> None:
    packed = gzip.compress(b"a\nb\n") + gzip.compress(b"c\n") + b"\x00" * 5
    stream = ByteStream(io.BytesIO(packed))
    assert b"".join(iter_line_blocks(stream, block_size=1, keep_partial=True)) == b"a\nb\nc\n"
    assert stream.error is None


def test_reader_stops_at_what_follows_a_member_if_no_gzip() -> None:
    stream = ByteStream(io.BytesIO(gzip.compress(b"a\n") + b"junk"))
    assert list(iter_line_blocks(stream, block_size=1, keep_partial=True)) == [b"a\n"]
    assert stream.error is not None and "Not a gzipped file" in stream.error


def test_corrupt_gzip_keeps_the_lines_before_the_damage() -> None:
    damaged = bytearray(PACKED)
    damaged[-6] ^= 0xFF  # the CRC: every byte decompresses, the check fails at the end
    stream = ByteStream(io.BytesIO(bytes(damaged)))
    kept = b"".join(iter_line_blocks(stream, block_size=1 << 20, keep_partial=True))
    assert stream.error is not None and "incorrect data check" in stream.error
    # the call that fails loses its output: its input is fed again in pieces of 512 bytes, up to the one that fails
    assert complete_lines_before(PACKED[: len(PACKED) - 8 - 512]) <= kept.count(b"\n") <= LINES
    assert kept.endswith(b"\n") and gzip.decompress(PACKED).startswith(kept)


def test_the_fragment_at_a_break_is_held_back_not_yielded() -> None:
    stream = ByteStream(io.BytesIO(PACKED[: CUTS["middle"]]))
    blocks = list(iter_line_blocks(stream, block_size=1 << 20, keep_partial=True))
    data = zlib.decompressobj(wbits=31).decompress(PACKED[: CUTS["middle"]])
    assert b"".join(blocks) == data[: data.rfind(b"\n") + 1]
    assert stream.consumed == data.rfind(b"\n") + 1 and stream.held_back == len(data) - stream.consumed > 0
