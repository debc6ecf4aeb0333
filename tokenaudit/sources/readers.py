"""Input sources: expand paths (files, folders, globs, ``-``) and read them as byte streams.

The only module besides :mod:`tokenaudit.store.dataset` that opens files. Compressed
files are recognised by their magic bytes (gzip), not by their name.
"""

from __future__ import annotations

import glob
import hashlib
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError

HEAD_BYTES = 64 * 1024
TAIL_BYTES = 4 * 1024
STDIN = "-"
#: Files a folder walk passes over: tokenaudit's own configuration is no input.
CONFIG_NAMES = frozenset({"tokenaudit.toml"})
_GZIP_MAGIC = b"\x1f\x8b"
#: Compressed bytes handed to the decompressor at a time.
_GZIP_PIECE = 256 * 1024
#: After a decompression error, the input is fed again in pieces this small, to keep what precedes it.
_SALVAGE_PIECE = 512
_TRUNCATED = "Compressed file ended before the end-of-stream marker was reached"
_ROTATION = re.compile(r"^(?P<base>.*?)(?:[.-](?P<n>\d{1,8}))?(?:\.gz)?$")


@dataclass(frozen=True)
class Source:
    """One input to ingest: a file on disk, or standard input."""

    path: str
    size: int | None = None
    mtime: float | None = None

    @property
    def is_stdin(self) -> bool:
        """Whether this source is standard input."""
        return self.path == STDIN

    @property
    def display_name(self) -> str:
        """How reports name the source."""
        return "<stdin>" if self.is_stdin else self.path


def expand_inputs(paths: list[str]) -> list[Source]:
    """Expand files, folders (recursively), glob patterns and ``-`` into sources.

    A folder walk passes over hidden files and ``tokenaudit.toml``. Rotated
    files of one log come oldest first (``syslog.2.gz``, ``syslog.1``,
    ``syslog``), so that a stream is read in the order it was written.

    Raises
    ------
    InputError
        If a path does not exist or a pattern matches nothing.

    Examples
    --------
    >>> [s.path for s in expand_inputs(["-"])]
    ['-']
    """
    found: list[Source] = []
    for raw in paths:
        if raw == STDIN:
            found.append(Source(STDIN))
            continue
        path = Path(raw)
        if path.is_dir():
            files = [p for p in path.rglob("*")
                     if p.is_file() and not _hidden(p, path) and p.name not in CONFIG_NAMES]
            if not files:
                raise InputError(f"{raw}: folder holds no files", hint="point at the folder of the logs")
            found.extend(_source(p) for p in _rotation_order(files))
        elif path.is_file():
            found.append(_source(path))
        elif any(char in raw for char in "*?["):
            matches = [Path(p) for p in glob.glob(raw, recursive=True) if Path(p).is_file()]
            if not matches:
                raise InputError(f"{raw}: the pattern matches no file", hint="quote the pattern, check it with ls")
            found.extend(_source(p) for p in _rotation_order(matches))
        elif path.exists():
            raise InputError(
                f"{raw}: not a regular file or folder",
                hint="give a log file or folder; pipe a stream in with `- < FILE` or `… | tokenaudit ingest -`")
        else:
            raise InputError(f"{raw}: no such file or folder", hint="check the path; use - for standard input")
    return found


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _rotation_order(files: list[Path]) -> list[Path]:
    def key(path: Path) -> tuple[str, str, int]:
        match = _ROTATION.match(path.name)
        assert match is not None
        number = int(match["n"]) if match["n"] and len(match["n"]) < 8 else -1
        if match["n"] and len(match["n"]) == 8:  # date suffix: syslog-20250324
            number = -int(match["n"])
        return (str(path.parent), match["base"], -number)

    return sorted(files, key=key)


def _source(path: Path) -> Source:
    stat = path.stat()
    return Source(str(path), size=stat.st_size, mtime=stat.st_mtime)


class ByteStream:
    """A forward-only byte stream with a peekable head, decompressing gzip transparently.

    Tracks how many bytes have been consumed, so ingest can record where it
    stopped and start there next time; :attr:`bytes_in` says how far into the
    input that is (compressed bytes for a compressed file), for progress.

    Examples
    --------
    >>> import gzip, io
    >>> packed = gzip.compress(b"line\\n" * 100_000)
    >>> stream = ByteStream(io.BytesIO(packed))
    >>> data = stream.read(1 << 30)
    >>> stream.consumed, stream.bytes_in == len(packed)
    (500000, True)
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._file = raw
        self._buffer = b""
        self._compressed_input: _Prefixed | None = None
        self.held_back = 0
        self.consumed = 0
        self.compressed = False
        self.error: str | None = None
        magic = self._fill(2)
        if magic[:2] == _GZIP_MAGIC:
            self.compressed = True
            self._compressed_input = _Prefixed(self._buffer, raw)
            self._raw = GzipReader(self._compressed_input)  # type: ignore[assignment]
            self._buffer = b""

    @property
    def bytes_in(self) -> int:
        """Bytes of the input read so far: compressed bytes for a compressed file, else :attr:`consumed`.

        Never more than the input's size, so that a share of it never passes 100 %.
        """
        return self._compressed_input.count if self._compressed_input is not None else self.consumed

    def _fill(self, size: int) -> bytes:
        if len(self._buffer) >= size or self.error is not None:
            return self._buffer
        pieces, have = [self._buffer], len(self._buffer)
        while have < size:
            try:
                chunk = self._raw.read(max(size - have, 1 << 16))
            except (EOFError, OSError, zlib.error) as exc:
                self.error = f"read stopped: {exc}"
                break
            if not chunk:
                break
            pieces.append(chunk)
            have += len(chunk)
        self._buffer = b"".join(pieces)
        return self._buffer

    def peek(self, size: int) -> bytes:
        """Return up to ``size`` bytes without consuming them."""
        return self._fill(size)[:size]

    def read(self, size: int) -> bytes:
        """Consume and return up to ``size`` bytes (fewer only at the end)."""
        data = self._fill(size)[:size]
        self._buffer = self._buffer[len(data) :]
        self.consumed += len(data)
        return data

    def skip(self, offset: int) -> bytes:
        """Consume bytes up to ``offset``; return the last :data:`TAIL_BYTES` before it."""
        tail = b""
        while self.consumed < offset:
            data = self.read(min(1 << 20, offset - self.consumed))
            if not data:
                break
            tail = (tail + data)[-TAIL_BYTES:]
        return tail


class _Prefixed:
    """A file object that replays already-read bytes before the rest of ``raw``."""

    def __init__(self, prefix: bytes, raw: BinaryIO) -> None:
        self._prefix = prefix
        self._raw = raw
        self.count = 0  # bytes handed out, prefix included

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            data, self._prefix = self._prefix[:size] if size >= 0 else self._prefix, (
                self._prefix[size:] if size >= 0 else b""
            )
        else:
            data = self._raw.read(size)
        self.count += len(data)
        return data


class GzipReader:
    """Decompresses a gzip stream (of one or more members) piece by piece.

    Unlike :class:`gzip.GzipFile`, a stream that breaks loses nothing that
    decompressed before the break: each :meth:`read` returns what it has,
    and only the read after the last byte raises. A file cut short (a
    rotation cut off, a copy in progress) thus yields every byte up to the
    cut, and the same bytes each time it is read.

    Examples
    --------
    >>> import gzip, io
    >>> text = b"".join(b"line %d\\n" % n for n in range(10_000))
    >>> reader = GzipReader(io.BytesIO(gzip.compress(text)[:-100]))  # the last 100 bytes are missing
    >>> pieces = []
    >>> while piece := reader.read(4096):
    ...     pieces.append(piece)
    Traceback (most recent call last):
    EOFError: Compressed file ended before the end-of-stream marker was reached
    >>> data = b"".join(pieces)
    >>> text.startswith(data), len(text) - len(data) < 1000
    (True, True)
    """

    def __init__(self, raw: BinaryIO | _Prefixed) -> None:
        self._raw = raw
        self._member: zlib._Decompress | None = None
        self._input = b""  # compressed bytes the decompressor has not taken yet
        self._failure: Exception | None = None  # raised by the read after the data before it
        self._careful = False  # after a decompression error: input in small pieces

    def read(self, size: int) -> bytes:
        """Return up to ``size`` decompressed bytes; ``b""`` at the end of the stream.

        Raises
        ------
        EOFError
            If the stream ends inside a member (after the bytes before the end were returned).
        OSError
            If what follows a member is neither zero padding nor another member.
        zlib.error
            If the data is corrupt (after the bytes before the damage were returned).
        """
        while True:
            if self._failure is not None:
                raise self._failure
            if (self._member is None or self._member.eof) and not self._next_member():
                return b""
            if not self._input:
                held = self._inflate(size)  # output the decompressor still holds, if any
                if held:
                    return held
                self._input = self._raw.read(_GZIP_PIECE)
                if not self._input:
                    self._failure = EOFError(_TRUNCATED)
                    continue
            data = self._inflate(size)
            if data:
                return data

    def _inflate(self, size: int) -> bytes:
        """Decompress from the pending input; after an error, again in small pieces up to the damage."""
        member = self._member
        assert member is not None
        piece = self._input[:_SALVAGE_PIECE] if self._careful else self._input
        before = None if self._careful else member.copy()
        try:
            data = member.decompress(piece, size)
        except zlib.error as exc:
            if before is None:
                self._failure = exc
            else:  # the output of the failed call is lost: go over its input again, piece by piece
                self._member, self._careful = before, True
            return b""
        left = member.unused_data if member.eof else member.unconsumed_tail
        self._input = left + self._input[len(piece) :] if self._careful else left
        return data

    def _next_member(self) -> bool:
        """Start the next member; ``False`` at a clean end (zero padding after a member is allowed)."""
        while True:
            if self._member is not None:
                self._input = self._input.lstrip(b"\x00")
            if len(self._input) >= len(_GZIP_MAGIC):
                break
            more = self._raw.read(_GZIP_PIECE)
            if not more:
                if self._input or self._member is None:  # cut off within a member's magic
                    raise EOFError(_TRUNCATED)
                return False
            self._input += more
        if not self._input.startswith(_GZIP_MAGIC):
            raise OSError(f"Not a gzipped file ({self._input[:2]!r})")
        self._member = zlib.decompressobj(wbits=31)
        return True

    def close(self) -> None:
        """Nothing to release: the file below is closed by :func:`close_source`."""


def open_source(source: Source) -> ByteStream:
    """Open a source for reading.

    Raises
    ------
    InputError
        If the file cannot be opened.
    """
    if source.is_stdin:
        return ByteStream(sys.stdin.buffer)
    try:
        handle = open(source.path, "rb")  # noqa: SIM115 - closed by ingest via close_source
    except OSError as exc:
        raise InputError(f"{source.path}: cannot open: {exc.strerror}") from None
    return ByteStream(handle)


def close_source(stream: ByteStream) -> None:
    """Close the file behind ``stream`` (standard input stays open)."""
    for handle in (stream._raw, stream._file):  # noqa: SLF001
        if handle is not sys.stdin.buffer:
            handle.close()


def iter_line_blocks(stream: ByteStream, *, block_size: int, keep_partial: bool) -> Iterator[bytes]:
    """Yield blocks of whole lines (each ends with a newline, but an unterminated last line).

    Parameters
    ----------
    stream
        Where to read.
    block_size
        About how many bytes a block holds; a longer line makes a longer block.
    keep_partial
        Whether an unterminated last line is yielded (compressed files, stdin)
        or left unread for a later run (a plain file still being written).
        Where the stream broke (``stream.error``, such as a truncated
        ``.gz``), the bytes after the last newline are an incomplete line:
        they are left unread, never yielded.

    Examples
    --------
    >>> import io
    >>> stream = ByteStream(io.BytesIO(b"a\\nb\\nc"))
    >>> list(iter_line_blocks(stream, block_size=2, keep_partial=False)), stream.consumed, stream.held_back
    ([b'a\\n', b'b\\n'], 4, 1)
    """
    pending = b""
    while True:
        data = stream.read(block_size)
        if not data:
            break
        data = pending + data
        cut = data.rfind(b"\n")
        if cut < 0:
            pending = data
            continue
        pending = data[cut + 1 :]
        yield data[: cut + 1]
    if pending:
        if keep_partial and stream.error is None:
            yield pending
        else:
            stream.consumed -= len(pending)
            stream.held_back = len(pending)


def digest(data: bytes) -> str:
    """Return the hex SHA-256 of ``data``.

    Examples
    --------
    >>> digest(b"")[:8]
    'e3b0c442'
    """
    return hashlib.sha256(data).hexdigest()

