"""Ingest: read sources incrementally, run the pipeline, write one committed batch.

Incremental reading works on content, not names. Each source is identified
by a fingerprint of its first bytes (up to 64 KiB). A source whose head
matches a stream already in the manifest resumes where that stream stopped:
a grown file yields only its new lines; a rotated copy (``syslog.1``, or
``syslog.2.gz`` once compressed) is recognised as already read. The last
4 KiB before the recorded offset are checked too, so a file rewritten with
the same beginning is read anew.
"""

from __future__ import annotations

import os
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from ..catalogue.loading import load_catalogue
from ..catalogue.order import Catalogue
from ..common.timestamps import check_timezone, local_timezone_name
from ..errors import DatasetError, FormatError, IngestConflictError, InputError, storage_error
from ..formats.parsing import detect_format, get_format, load_formats, split_lines
from ..models import LineAccount, LogFormat
from ..sources.readers import (
    HEAD_BYTES,
    TAIL_BYTES,
    ByteStream,
    Source,
    close_source,
    digest,
    expand_inputs,
    iter_line_blocks,
    open_source,
)
from ..store.conflicts import LEAD_FIELD, commit_ingest, lead_digest
from ..store.dataset import (
    discard_batch,
    discard_quietly,
    discard_uncommitted,
    new_batch_id,
    open_for_writing,
    read_manifest,
    remove_events,
    sum_requests,
    verify_dataset,
    write_events,
    write_realms,
    write_requests,
    write_tokens,
    writer_lock,
)
from ..store.location import DatasetLocation, Root, locate, unreachable_error
from ..store.looseness import Looseness
from ..tokens.decode import load_fingerprint_key
from ..tokens.realms import parse_domains_cfg, realms_frame
from ..tokens.sightings import aggregate_tokens, sightings_in_document, tokens_table
from .chunk import ChunkContext, ChunkResult, process_block
from .progress import Progress

BLOCK_BYTES = 8 * 1024 * 1024
#: Events wait in memory until this many have come, then go to the batch's files: memory stays
#: bounded whatever the size of a log (a 10 GB syslog with 3 % failures has 3,000,000 events).
#: 5,000,000 syslog lines (150,000 events): peak RSS 443 MB holding them all, 374 MB with this.
SPILL_EVENTS = 50_000
#: Request counts (a row per hour, host, route and status of each block) are summed once this many wait.
COMPACT_REQUESTS = 100_000


class _EventWriter:
    """Writes a batch's events in pieces, numbering the files across pieces."""

    def __init__(self, root: DatasetLocation, batch_id: str, loose: Looseness, *, first_number: int = 0) -> None:
        self.root, self.batch_id, self.files, self.loose = root, batch_id, first_number, loose

    def write(self, tables: list[pa.Table]) -> list[PurePath]:
        if not tables:
            return []
        written = write_events(self.root, pa.concat_tables(tables), self.batch_id, first_number=self.files,
                               loose=self.loose)
        self.files += len(written)
        return written


@dataclass
class SourceReport:
    """What ingest did with one source.

    ``status`` is ``ingested`` (new lines read), ``unchanged`` (nothing new
    since the last run), ``empty``, ``partial`` (read up to a break, such as
    a truncated ``.gz``: the lines before it are ingested, ``note`` says
    where it stopped) or ``failed`` (nothing read; ``note`` says why).
    """

    source: str
    status: str
    format: str | None = None
    account: LineAccount = field(default_factory=LineAccount)
    resumed_after_line: int = 0
    note: str | None = None


@dataclass
class IngestReport:
    """The outcome of one ingest run: a report per source and the batch written.

    ``dataset`` is the folder's :class:`~pathlib.Path`, or the URL of a dataset on an object store.
    ``retried_after_conflict`` names the sources of which another site committed lines while this run
    read them too (a dataset on an object store, :mod:`tokenaudit.store.conflicts`): the run then
    discarded what it had read and ran once more from that site's state; empty if it did not.
    """

    dataset: Path | str
    batch_id: str
    sources: list[SourceReport] = field(default_factory=list)
    retried_after_conflict: list[str] = field(default_factory=list)

    @property
    def totals(self) -> LineAccount:
        """Line accounting summed over all sources."""
        total = LineAccount()
        for report in self.sources:
            total.add(report.account)
        return total

    @property
    def failed(self) -> list[SourceReport]:
        """Sources that could not be ingested."""
        return [report for report in self.sources if report.status == "failed"]

    @property
    def incomplete(self) -> list[SourceReport]:
        """Sources that could not be read to their end: failed, or partial."""
        return [report for report in self.sources if report.status in ("failed", "partial")]


def _progress_of_source(progress: Callable[[Progress], None] | None, sources: list[Source],
                        number: int) -> Callable[[Progress], None] | None:
    """``progress``, with the updates of the ``number``-th source (from 1) placed among all ``sources``."""
    if progress is None:
        return None
    sizes = [source.size or 0 for source in sources]
    total = None if any(source.size is None for source in sources) else sum(sizes)
    before = sum(sizes[: number - 1])

    def report(update: Progress) -> None:
        progress(replace(update, file_number=number, file_count=len(sources), bytes_before=before, total_size=total))

    return report


def default_jobs() -> int:
    """Threads to use: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def ingest(
    paths: list[str],
    dataset: Root,
    *,
    format_name: str | None = None,
    timezone: str | None = None,
    catalogue: Catalogue | None = None,
    progress: Callable[[Progress], None] | None = None,
    fingerprint_key: bytes | None = None,
    jobs: int | None = None,
    client: Any = None,
) -> IngestReport:
    """Read logs and configuration into the dataset, adding only what is new.

    Parameters
    ----------
    paths
        Files, folders (read recursively), glob patterns, or ``-`` for standard input.
    dataset
        The dataset folder, or an fsspec URL (``s3://bucket/prefix``, :mod:`tokenaudit.store.location`); created
        if missing.
    format_name
        Force this format for every source instead of detecting it.
    timezone
        IANA zone of log times that carry none (RFC 3164); this machine's zone by default.
    catalogue
        Signatures to use; the built-in catalogue by default.
    progress
        Called with a :class:`Progress` as each source starts and after each block read.
    jobs
        Threads that process a file's blocks; the available cores by
        default, 1 for one thread.
    fingerprint_key
        Key of the tokens' keyed fingerprints; read from (or created at)
        :func:`tokenaudit.tokens.decode.default_key_path` by default.
    client
        A Dask ``distributed.Client``: each source becomes a task on its cluster
        (:mod:`tokenaudit.pipeline.distributed`); the workers must see the sources and
        the dataset at the same paths. ``progress`` then reports each source as it ends.

    Returns
    -------
    IngestReport
        Per source: status, format and the line accounting
        (read = parsed + skipped + rejected).

    Raises
    ------
    InputError
        If a path does not exist or the time zone is unknown.
    FormatError
        If ``format_name`` is unknown.
    DatasetError
        If the dataset cannot be created, or a file of it is damaged.
    IngestConflictError
        If, on an object store, another site committed lines of the same sources that this ingest read, and did
        again while it ran once more from that site's state: nothing of this ingest was committed.
    StorageError
        If the dataset cannot be written (a read-only file system, no permission, a full disk); it is left as it
        was.
    SchemaMismatchError
        If the dataset or a file of it was written by a newer version.
    """
    formats = load_formats()
    forced = get_format(format_name, formats) if format_name else None
    zone = check_timezone(timezone or local_timezone_name())
    catalogue = catalogue or load_catalogue()
    sources = expand_inputs(paths)
    key = fingerprint_key or load_fingerprint_key()
    location = locate(dataset)
    jobs = jobs if jobs is not None else default_jobs()
    try:
        open_for_writing(location)
        with writer_lock(location):
            retried: list[str] = []
            while True:
                report = IngestReport(location.given, new_batch_id(), retried_after_conflict=retried)
                try:
                    _ingest_locked(location, report, sources, formats, forced, zone, catalogue, progress, key, jobs,
                                   client)
                    break
                except IngestConflictError as conflict:  # another site committed lines this run read: none of it
                    discard_batch(location, report.batch_id)
                    if retried:
                        raise IngestConflictError(location, conflict.sources, retried=True) from None
                    retried = conflict.sources  # once more, from that site's state
                except (OSError, DatasetError) as exc:  # a write, or on an object store a commit, that failed
                    if not location.is_local:  # no lock: other sites' batches are in progress; this one's go
                        discard_batch(location, report.batch_id)
                    elif isinstance(exc, OSError):
                        discard_quietly(location)  # this batch's files, which no manifest names yet
                    raise
    except OSError as exc:  # the dataset could not be written: read-only, no permission, a full disk
        if not location.is_local:  # no bucket, no access, no server
            raise unreachable_error(location, exc) from None
        raise storage_error(exc, location) from None
    return report


def _ingest_locked(dataset: DatasetLocation, report: IngestReport, sources: list[Source],
                   formats: dict[str, LogFormat], forced: LogFormat | None,
                   zone: str, catalogue: Catalogue, progress: Callable[[Progress], None] | None, key: bytes,
                   jobs: int, client: Any = None) -> None:
    """Read every source into one batch and commit it; the caller holds the writer lock."""
    batch_id = report.batch_id
    # Alone now: whatever uncommitted files there are, a killed ingest left them.
    discard_uncommitted(dataset)
    verify_dataset(dataset)
    seen = read_manifest(dataset)  # the snapshot this batch reads from; its commit checks what came since
    snapshot = set(seen["batch_id"])
    known = _latest_streams(seen)
    # On a cluster, tasks number their own files from their source's number times PARTS_PER_SOURCE: this
    # process's files come after theirs.
    writer = _EventWriter(dataset, batch_id, Looseness.of(catalogue),
                          first_number=len(sources) * PARTS_PER_SOURCE if client is not None else 0)
    parts = _BatchParts(writer, pd.Timestamp.now(tz="UTC"))
    if client is not None:  # each source a task on the cluster, which writes the events of a large one itself
        from . import distributed

        outcomes: list[SourceOutcome] = distributed.run_sources(
            client, run_source, sources, progress, name=batch_id, shared=(formats, catalogue),
            rest=(forced, zone, batch_id, known, key, dataset, distributed.SPREAD_BYTES))
        distributed.remove_leftovers(dataset, batch_id, [path for outcome in outcomes for path in outcome.written])
        for outcome in outcomes:
            report.sources.append(outcome.report)
            if outcome.manifest_row is not None:
                parts.add(outcome.manifest_row, outcome.events, outcome.realms, outcome.tokens, outcome.requests)
    for number, source in enumerate(sources if client is None else [], 1):
        source_progress = _progress_of_source(progress, sources, number)
        if source_progress is not None:
            source_progress(Progress(source.display_name, 0, source.size))
        run = _SourceRun(source, formats, forced, zone, catalogue, batch_id, known, source_progress, key, jobs, writer)
        report.sources.append(run.execute())
        if run.manifest_row is not None:
            row = parts.add(run.manifest_row, run.events, run.realms, run.tokens, run.requests)
            known[str(row["stream_id"])] = row  # a later source of this run may be the same stream, read on
        else:  # failed: the events it wrote before it failed are no part of the batch
            remove_events(dataset, run.written)
    if parts.manifest_rows:
        parts.write_rest()
        commit_ingest(dataset, pd.DataFrame(parts.manifest_rows), batch_id, snapshot=snapshot, seen=seen)


@dataclass
class _BatchParts:
    """What the sources of one batch read, gathered until its commit, however they were read (here or on a cluster).

    Events are written as soon as :data:`SPILL_EVENTS` wait, so memory stays bounded; the rest (realms, token
    sightings, request counts) is a row or so per source and block, written once by :meth:`write_rest`.
    """

    writer: _EventWriter
    ingested_at: pd.Timestamp
    manifest_rows: list[dict[str, object]] = field(default_factory=list)
    events: list[pa.Table] = field(default_factory=list)
    realms: list[pd.DataFrame] = field(default_factory=list)
    tokens: list[pd.DataFrame] = field(default_factory=list)
    requests: list[pd.DataFrame] = field(default_factory=list)

    def add(self, manifest_row: dict[str, object], events: list[pa.Table], realms: pd.DataFrame | None,
            tokens: list[pd.DataFrame], requests: list[pd.DataFrame]) -> dict[str, object]:
        """Take a source read to its end; its manifest row, as the batch will commit it, is returned."""
        row = {**manifest_row, "batch_id": self.writer.batch_id, "ingested_at": self.ingested_at}
        self.manifest_rows.append(row)
        self.events.extend(events)
        if sum(table.num_rows for table in self.events) >= SPILL_EVENTS:
            self.writer.write(self.events)
            self.events = []
        if realms is not None:
            self.realms.append(realms)
        self.tokens.extend(tokens)
        self.requests.extend(requests)
        return row

    def write_rest(self) -> None:
        """Write what still waits: the last events, the realms, the token sightings and the request counts."""
        dataset, batch_id = self.writer.root, self.writer.batch_id
        self.writer.write(self.events)
        self.events = []
        if self.realms:
            write_realms(dataset, pd.concat(self.realms, ignore_index=True), batch_id, self.ingested_at)
        write_tokens(dataset, aggregate_tokens(self.tokens), batch_id)
        if self.requests:
            write_requests(dataset, pd.concat(self.requests, ignore_index=True), batch_id)


#: Part numbers a source's events files may use on a cluster: source ``n`` numbers its files from ``n`` times this.
PARTS_PER_SOURCE = 1_000_000


@dataclass
class SourceOutcome:
    """What a task of a cluster ingest sends back: everything of its source, and its events unless it wrote them.

    A source with fewer than :data:`SPILL_EVENTS` events sends them back (``events``), to be written with
    other sources' as one machine writes them: thousands of small logs would otherwise leave as many
    small files in the dataset. A larger one's task writes them (``written``).
    """

    report: SourceReport
    manifest_row: dict[str, object] | None
    realms: pd.DataFrame | None
    tokens: list[pd.DataFrame] = field(default_factory=list)
    requests: list[pd.DataFrame] = field(default_factory=list)
    written: list[PurePath] = field(default_factory=list)
    events: list[pa.Table] = field(default_factory=list)


def run_source(source: Source, number: int, formats: dict[str, LogFormat], catalogue: Catalogue,
               forced: LogFormat | None, timezone: str, batch_id: str, known: dict[str, dict[str, object]],
               key: bytes, dataset: DatasetLocation, spread_bytes: int | None = None) -> SourceOutcome:
    """Ingest the ``number``-th source into ``batch_id`` of ``dataset`` (uncommitted), on whatever process runs it.

    Its events files are numbered from ``number * PARTS_PER_SOURCE``: a retry writes the same names.
    A source of ``spread_bytes`` or more (by default :data:`~tokenaudit.pipeline.distributed.SPREAD_BYTES`),
    read on a cluster's worker, has its blocks parsed as tasks of their own on the whole cluster
    (:func:`~tokenaudit.pipeline.distributed.spread_blocks`); this task reads the file, numbers the
    lines and collects the results in order, so the outcome is the same.
    """
    from .distributed import SPREAD_BYTES, spread_blocks

    writer = _EventWriter(dataset, batch_id, Looseness.of(catalogue), first_number=number * PARTS_PER_SOURCE)
    large = not source.is_stdin and (source.size or 0) >= (SPREAD_BYTES if spread_bytes is None else spread_bytes)
    with spread_blocks(catalogue) if large else nullcontext(None) as blocks:
        run = _SourceRun(source, formats, forced, timezone, catalogue, batch_id, known, None, key, 1, writer, blocks)
        report = run.execute()
    if run.manifest_row is None:  # failed: what it wrote before is no part of the batch
        remove_events(dataset, run.written)
        return SourceOutcome(report, None, None)
    if not run.written and sum(table.num_rows for table in run.events) < SPILL_EVENTS:
        return SourceOutcome(report, run.manifest_row, run.realms, run.tokens, run.requests, events=run.events)
    written = run.written + writer.write(run.events)
    return SourceOutcome(report, run.manifest_row, run.realms, run.tokens, run.requests, written)


class _PendingResult(Protocol):
    def result(self) -> ChunkResult: ...


class BlockRunner(Protocol):
    """Where a source's blocks are parsed: ``submit`` one, and how many may be in flight (``capacity``)."""

    capacity: int

    def submit(self, block: bytes, fmt: LogFormat, context: ChunkContext) -> _PendingResult: ...


@dataclass
class _ThreadBlocks:
    """A source's blocks on this process's threads (``--jobs``)."""

    threads: ThreadPoolExecutor
    catalogue: Catalogue
    capacity: int

    def submit(self, block: bytes, fmt: LogFormat, context: ChunkContext) -> Future[ChunkResult]:
        return self.threads.submit(process_block, block, fmt, self.catalogue, context)


def line_count(block: bytes) -> int:
    """How many lines :func:`~tokenaudit.formats.parsing.lines_array` makes of ``block``.

    Examples
    --------
    >>> line_count(b""), line_count(b"a\\n"), line_count(b"a\\nb"), line_count(b"\\n\\n")
    (0, 1, 2, 2)
    """
    if not block:
        return 0
    newlines = int(np.count_nonzero(np.frombuffer(block, np.uint8) == 10))  # a quarter of bytes.count's time
    return newlines + (0 if block.endswith(b"\n") else 1)


def _latest_streams(manifest: pd.DataFrame) -> dict[str, dict[str, object]]:
    latest = manifest.drop_duplicates("stream_id", keep="last")
    return {row["stream_id"]: row for row in latest.to_dict("records")}


class _SourceRun:
    """Ingest of one source: identify, resume, detect, read, account."""

    def __init__(
        self,
        source: Source,
        formats: dict[str, LogFormat],
        forced: LogFormat | None,
        timezone: str,
        catalogue: Catalogue,
        batch_id: str,
        known: dict[str, dict[str, object]],
        progress: Callable[[Progress], None] | None,
        key: bytes,
        jobs: int = 1,
        writer: _EventWriter | None = None,
        blocks: BlockRunner | None = None,
    ) -> None:
        self.jobs = jobs
        self.writer = writer
        self.blocks = blocks
        self.written: list[PurePath] = []  # events files this source wrote before its end
        self.source = source
        self.key = key
        self.tokens: list[pd.DataFrame] = []
        self.requests: list[pd.DataFrame] = []
        self.formats = formats
        self.forced = forced
        self.timezone = timezone
        self.catalogue = catalogue
        self.batch_id = batch_id
        self.known = known
        self.progress = progress
        self.report = SourceReport(source.display_name, "ingested")
        self.manifest_row: dict[str, object] | None = None
        self.events: list[pa.Table] = []
        self.realms: pd.DataFrame | None = None
        self._head = b""
        self._tail = b""

    def execute(self) -> SourceReport:
        try:
            stream = open_source(self.source)
        except InputError as exc:
            self.report.status, self.report.note = "failed", str(exc)
            return self.report
        try:
            self._read(stream)
        except (FormatError, InputError) as exc:
            self.report.status = "failed"
            self.report.note = f"{exc}" + (f" ({exc.hint})" if exc.hint else "")
        finally:
            close_source(stream)
        return self.report

    def _read(self, stream: ByteStream) -> None:
        head = stream.peek(HEAD_BYTES)
        if not head:
            if stream.error:  # a .gz that breaks before its first byte of data
                raise InputError(stream.error, hint="a truncated or corrupt .gz file? test it with `gzip -t`")
            self.report.status = "empty"
            return
        self._head = head
        if b"\x00" in head[:8192] and self.forced is None:
            raise FormatError(
                "binary file, not a log",
                hint="a systemd .journal file? export it with `journalctl -o json --file FILE`",
            )
        previous = self._match_stream(head)
        fmt = self.forced or (self.formats.get(str(previous["format"])) if previous else None)
        if fmt is None:
            fmt = self._detect(head)
        self.report.format = fmt.name
        offset, lines_before = 0, 0
        stream_id = uuid.uuid4().hex[:16]
        if previous is not None:
            stream_id = str(previous["stream_id"])
            offset, lines_before = int(previous["offset_bytes"]), int(previous["lines_total"])  # type: ignore[call-overload]
            tail = stream.skip(offset)
            self._tail = tail
            if stream.consumed < offset or digest(tail) != previous["tail_sha256"]:
                if stream.consumed < offset and digest(head[: int(previous["head_len"])]) == previous["head_sha256"]:  # type: ignore[call-overload]
                    self.report.status = "unchanged"
                    self.report.note = "an older copy of a stream already read"
                    return
                # Same beginning, different content: read it all again as a new stream.
                close_source(stream)
                stream = open_source(self.source)
                stream_id, offset, lines_before = uuid.uuid4().hex[:16], 0, 0
                self._tail = b""
            elif not stream.peek(1):
                self.report.status = "unchanged"
                if stream.error:  # a .gz still cut off where it was: nothing new, but not read to its end
                    self.report.status = "partial"
                    self.report.note = f"{stream.error}; nothing new before it"
                return
            elif fmt.kind in ("config", "tokens"):
                close_source(stream)
                stream = open_source(self.source)
                offset, lines_before = 0, 0
                self._tail = b""
        self.report.resumed_after_line = lines_before
        if fmt.kind == "config":
            self._read_config(stream, fmt)
        elif fmt.kind == "tokens":
            self._read_tokens(stream, fmt)
        else:
            self._read_log(stream, fmt, stream_id, lines_before)
        if stream.error:
            self.report.status = "partial"
            self.report.note = f"{stream.error}; lines before it were ingested"
        if stream.consumed == 0:
            return
        self.manifest_row = self._manifest_row(stream, fmt, stream_id, lines_before)

    def _match_stream(self, head: bytes) -> dict[str, object] | None:
        best: dict[str, object] | None = None
        # One digest per head length, not per known stream: most heads are 64 KiB long, and a run over
        # thousands of files compares each with every stream before it.
        digests: dict[int, str] = {}
        for row in self.known.values():
            head_len = int(row["head_len"])  # type: ignore[call-overload]
            if head_len == 0 or len(head) < head_len:
                continue
            if head_len not in digests:
                digests[head_len] = digest(head[:head_len])
            if digests[head_len] == row["head_sha256"]:
                if best is None or head_len > int(best["head_len"]):  # type: ignore[call-overload]
                    best = row
        return best

    def _detect(self, head: bytes) -> LogFormat:
        cut = head.rfind(b"\n")
        lines = split_lines(head[: cut + 1] if cut >= 0 else head)
        detection = detect_format(lines, self.formats)
        if detection.format is None:
            scores = detection.explain() or "no line to judge by"
            raise FormatError(
                f"format not recognised (lines matching, best first: {scores})",
                hint="force one with --input-format NAME; `tokenaudit formats` lists them",
            )
        return detection.format

    def _read_log(self, stream: ByteStream, fmt: LogFormat, stream_id: str, lines_before: int) -> None:
        reference = pd.Timestamp(self.source.mtime, unit="s", tz="UTC") if self.source.mtime else None
        next_line = lines_before + 1
        keep_partial = self.source.is_stdin or stream.compressed
        # Blocks run on ``jobs`` threads: the Arrow kernels, most of a block's time, release the
        # GIL, and threads cost nothing to start (a process pool cost about a second, see parallel.py).
        # At most ``jobs`` blocks are in flight, and results are collected in file order.
        threads = ThreadPoolExecutor(max_workers=self.jobs) if self.jobs > 1 and self.blocks is None else None
        blocks = self.blocks or (_ThreadBlocks(threads, self.catalogue, self.jobs) if threads is not None else None)
        pending: deque[tuple[_PendingResult, int]] = deque()
        try:
            for block in iter_line_blocks(stream, block_size=BLOCK_BYTES, keep_partial=keep_partial):
                self._remember_tail(block)
                context = ChunkContext(
                    source_file=self.source.display_name,
                    first_line_no=next_line,
                    timezone=self.timezone,
                    reference_time=reference,
                    stream_id=stream_id,
                    batch_id=self.batch_id,
                    fingerprint_key=self.key,
                )
                if blocks is None:
                    self._collect(process_block(block, fmt, self.catalogue, context))
                    self._report_progress(stream.bytes_in)
                else:
                    pending.append((blocks.submit(block, fmt, context), stream.bytes_in))
                    while len(pending) >= blocks.capacity:
                        self._collect_next(pending)
                next_line += line_count(block)
            while pending:
                self._collect_next(pending)
        finally:
            if threads is not None:
                threads.shutdown(wait=True, cancel_futures=True)
        if stream.held_back:
            self.report.note = "the last line has no newline yet: it is read once complete"

    def _collect_next(self, pending: deque[tuple[_PendingResult, int]]) -> None:
        future, bytes_in = pending.popleft()
        self._collect(future.result())
        self._report_progress(bytes_in)

    def _report_progress(self, bytes_in: int) -> None:
        """Report ``bytes_in`` bytes of the input read (compressed bytes for a compressed file)."""
        if self.progress:
            self.progress(Progress(self.source.display_name, bytes_in, self.source.size))

    def _collect(self, result: ChunkResult) -> None:
        self.report.account.add(result.account)
        if result.events.num_rows:
            self.events.append(result.events)
            if self.writer is not None and sum(table.num_rows for table in self.events) >= SPILL_EVENTS:
                self.written += self.writer.write(self.events)
                self.events = []
        if not result.tokens.empty:
            self.tokens.append(result.tokens)
        if not result.requests.empty:
            self.requests.append(result.requests)
            if sum(len(frame) for frame in self.requests) >= COMPACT_REQUESTS:
                self.requests = [sum_requests(pd.concat(self.requests, ignore_index=True))]


    def _read_config(self, stream: ByteStream, fmt: LogFormat) -> None:
        data = b"".join(iter_line_blocks(stream, block_size=BLOCK_BYTES, keep_partial=True))
        self._remember_tail(data)
        realms, account = parse_domains_cfg(split_lines(data), source_file=self.source.display_name)
        self.report.account.add(account)
        self.realms = realms_frame(realms)

    def _read_tokens(self, stream: ByteStream, fmt: LogFormat) -> None:
        data = b"".join(iter_line_blocks(stream, block_size=BLOCK_BYTES, keep_partial=True))
        self._remember_tail(data)
        lines = split_lines(data)
        sightings, bad = sightings_in_document(lines, fmt.name, source=self.source.display_name)
        account = self.report.account
        account.read = len(lines)
        blank = sum(1 for line in lines if not line.strip() or line.lstrip().startswith("#"))
        account.skipped, account.rejected = blank, bad
        account.parsed = account.read - blank - bad
        if blank:
            account.skipped_reasons["comment, marker or blank line"] += blank
        if bad:
            account.rejected_reasons["no token on the line" if fmt.name == "jwt_lines" else "invalid JSON"] += bad
        account.tokens = len(sightings)
        self.tokens.append(tokens_table(sightings, self.key))

    def _remember_tail(self, block: bytes) -> None:
        self._tail = block[-TAIL_BYTES:] if len(block) >= TAIL_BYTES else (self._tail + block)[-TAIL_BYTES:]

    def _manifest_row(self, stream: ByteStream, fmt: LogFormat, stream_id: str, lines_before: int) -> dict[str, object]:
        offset = stream.consumed
        tail = self._tail
        head_len = min(HEAD_BYTES, offset)
        account = self.report.account
        lines_total = (0 if fmt.kind in ("config", "tokens") else lines_before) + account.read
        return {
            "source_file": self.source.display_name,
            "stream_id": stream_id,
            "format": fmt.name,
            "size_bytes": self.source.size if self.source.size is not None else offset,
            "compressed": stream.compressed,
            "head_len": head_len,
            "head_sha256": digest(self._head[:head_len]),
            LEAD_FIELD: lead_digest(self._head[:head_len]),
            "tail_sha256": digest(tail[-TAIL_BYTES:]),
            "offset_bytes": offset,
            "lines_total": lines_total,
            "lines_read": account.read,
            "lines_parsed": account.parsed,
            "lines_skipped": account.skipped,
            "lines_rejected": account.rejected,
            "events": account.events,
        }
