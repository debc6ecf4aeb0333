"""Input sources: expand paths (files, folders, globs, ``-``) and read them as byte streams.

The only module besides :mod:`tokenaudit.dataset` that opens files. Compressed
files are recognised by their magic bytes (gzip), not by their name.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import InputError

HEAD_BYTES = 64 * 1024
TAIL_BYTES = 4 * 1024
STDIN = "-"
#: Files a folder walk passes over: tokenaudit's own configuration is no input.
CONFIG_NAMES = frozenset({"tokenaudit.toml"})
_GZIP_MAGIC = b"\x1f\x8b"
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
            raise InputError(f"{raw}: not a regular file or folder",
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
    stopped and start there next time.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._file = raw
        self._buffer = b""
        self.held_back = 0
        self.consumed = 0
        self.compressed = False
        self.error: str | None = None
        magic = self._fill(2)
        if magic[:2] == _GZIP_MAGIC:
            self.compressed = True
            self._raw = gzip.GzipFile(fileobj=_Prefixed(self._buffer, raw), mode="rb")  # type: ignore[assignment]
            self._buffer = b""

    def _fill(self, size: int) -> bytes:
        while len(self._buffer) < size and self.error is None:
            try:
                chunk = self._raw.read(max(size - len(self._buffer), 1 << 16))
            except (EOFError, OSError, zlib.error) as exc:
                self.error = f"read stopped: {exc}"
                break
            if not chunk:
                break
            self._buffer += chunk
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

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            data, self._prefix = self._prefix[:size] if size >= 0 else self._prefix, (
                self._prefix[size:] if size >= 0 else b""
            )
            return data
        return self._raw.read(size)


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
        if keep_partial:
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

