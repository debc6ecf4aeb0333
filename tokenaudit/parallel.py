"""Use every core on one large file: split it into byte ranges on line boundaries.

Each range is read and run through :func:`tokenaudit.pipeline.process_chunk`
by a worker process; the parent puts the results back in order and turns the
range-relative line numbers into the file's. A worker reads in bounded
blocks, so memory stays bounded whatever the file size.

Ingest reads files on threads instead (:data:`MIN_PARALLEL_BYTES` says why);
these byte ranges serve callers that split files themselves.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from itertools import islice

import pyarrow as pa
import pyarrow.compute as pc

from .catalogue import Catalogue
from .formats import lines_array
from .models import LogFormat
from .pipeline import ChunkContext, ChunkResult, process_chunk

#: From this many bytes a file would be split into byte ranges on worker processes; below it,
#: and so for every file by default, it is read in the calling process, its blocks on threads.
#: Threads beat the pool on every file measured (1,000,000 lines: a 915 MB Traefik log 9.7-10.6 s
#: against 15.9-16.3, a 791 MB journal 7.3-7.8 against 10.6-10.9): the Arrow kernels release the
#: GIL, and the pool pays ~1 s to start and pickles every result. On a 10 GB syslog (107,000,000
#: lines) the pool was 6 % faster (135.5 s against 143.7) but took 958 MB, the parent, the fork
#: server and two workers each holding pandas and pyarrow, against 492 MB: over the 512 MB that
#: ingest must stay under whatever the file size. So ingest does not split files by default;
#: lower this (the tests do) to split, or run process_file_range over ranges, as a distributed
#: engine would.
MIN_PARALLEL_BYTES = 1 << 62
#: A worker's block: each is copied a few times on its way to Arrow, and two workers, the
#: parent and the fork server must stay under 512 MB together (8 MB blocks: 512 MB peak on a
#: 900 MB Traefik log; 4 MB: ~70 MB less, at the same speed there).
BLOCK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class RangeResult:
    """What a worker found in one byte range: results per block, and the range's line count."""

    results: tuple[ChunkResult, ...]
    lines: int


def default_jobs() -> int:
    """Worker processes to use: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def split_ranges(path: str, start: int, end: int, parts: int) -> list[tuple[int, int]]:
    """Cut ``[start, end)`` of a file into about ``parts`` ranges that begin and end at line starts.

    ``end`` must be just after a newline (or the end of the file).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"aa\\nbbbb\\nc\\ndd\\n")
    >>> split_ranges(f.name, 0, 13, 2)
    [(0, 8), (8, 13)]
    """
    bounds = [start]
    with open(path, "rb") as handle:
        for number in range(1, parts):
            guess = start + (end - start) * number // parts
            if guess <= bounds[-1]:
                continue
            handle.seek(guess - 1)
            rest = handle.readline()  # to the end of the line the guess falls in
            cut = guess - 1 + len(rest)
            if bounds[-1] < cut < end:
                bounds.append(cut)
    bounds.append(end)
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _read_range(path: str, start: int, end: int, fmt: LogFormat, catalogue: Catalogue,
                context: ChunkContext) -> RangeResult:
    """Worker: process ``[start, end)`` of ``path`` block by block, line numbers from 1."""
    results = []
    line_no = 1
    with open(path, "rb") as handle:
        handle.seek(start)
        position, pending = start, b""
        while position < end:
            data = handle.read(min(BLOCK_BYTES, end - position))
            if not data:
                break
            position += len(data)
            data = pending + data
            cut = data.rfind(b"\n") + 1 if position < end else len(data)
            block, pending = data[:cut], data[cut:]
            if not block:
                continue
            lines = lines_array(block)
            results.append(process_chunk(lines, fmt, catalogue, replace(context, first_line_no=line_no)))
            line_no += len(lines)
    return RangeResult(tuple(results), line_no - 1)


_POOLS: dict[int, ProcessPoolExecutor] = {}


def _pool(jobs: int) -> ProcessPoolExecutor:
    # forkserver: workers fork from a clean server that imported tokenaudit once, not from a
    # parent whose Arrow threads may hold locks.
    if jobs not in _POOLS:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["tokenaudit.pipeline"])
        _POOLS[jobs] = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    return _POOLS[jobs]


def close_pools() -> None:
    """Stop the worker processes: idle, each still holds ~120 MB that the writing of the batch may need."""
    while _POOLS:
        _, pool = _POOLS.popitem()
        pool.shutdown(wait=True)


#: Largest byte range a worker takes: its results (the events of ~1.4 million syslog lines at
#: most) travel back in one piece, so a range bounds the memory they take.
RANGE_BYTES = 128 * 1024 * 1024


def process_file_range(path: str, start: int, end: int, fmt: LogFormat, catalogue: Catalogue,
                       context: ChunkContext, *, jobs: int) -> Iterator[ChunkResult]:
    """Process ``[start, end)`` of a plain file on ``jobs`` processes; yield results in file order.

    Line numbers in the results are the file's, counted from ``context.first_line_no``.
    At most ``jobs + 1`` ranges of at most :data:`RANGE_BYTES` are in flight (one
    waiting for each busy worker), so memory stays bounded whatever the file size.
    """
    parts = max(jobs * 2, -(-(end - start) // RANGE_BYTES))
    ranges = split_ranges(path, start, end, parts)
    offset = context.first_line_no - 1
    for part in _ranges_in_order(path, ranges, fmt, catalogue, context, jobs):
        for result in part.results:
            yield _shift(result, offset)
        offset += part.lines


def _ranges_in_order(path: str, ranges: list[tuple[int, int]], fmt: LogFormat, catalogue: Catalogue,
                     context: ChunkContext, jobs: int) -> Iterator[RangeResult]:
    if jobs <= 1 or len(ranges) == 1:
        for a, b in ranges:
            yield _read_range(path, a, b, fmt, catalogue, context)
        return
    pool = _pool(jobs)
    waiting = iter(ranges)
    running: deque[Future[RangeResult]] = deque()
    for a, b in islice(waiting, jobs + 1):
        running.append(pool.submit(_read_range, path, a, b, fmt, catalogue, context))
    while running:
        done = running.popleft().result()
        for a, b in islice(waiting, 1):
            running.append(pool.submit(_read_range, path, a, b, fmt, catalogue, context))
        yield done


def _shift(result: ChunkResult, offset: int) -> ChunkResult:
    """Make a range's line numbers the file's."""
    if offset == 0:
        return result
    events = result.events
    if events.num_rows:
        position = events.schema.get_field_index("line_no")
        events = events.set_column(position, "line_no", pc.add(events.column("line_no"), pa.scalar(offset, pa.int64())))
    tokens = result.tokens
    if not tokens.empty:
        tokens = tokens.assign(sources=tokens["sources"].map(lambda s: _shift_sources(s, offset)))
    return ChunkResult(events, result.account, tokens, result.requests)


def _shift_sources(sources: str, offset: int) -> str:
    import json

    shifted = []
    for place in json.loads(sources):
        where, _, number = place.rpartition(":")
        shifted.append(f"{where}:{int(number) + offset}" if number.isdigit() and where else place)
    return json.dumps(shifted)

