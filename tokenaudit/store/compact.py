"""Compaction: merge runs of small committed batches into large ones, in one atomic switch.

Every ingest commits a batch of its own files (events per day, their class
summaries, tokens, requests, realms, manifest). An ingest every five minutes
leaves some 8,600 batches a month, and every reader opens all their files:
`analyze` over a million events takes 31 s in 5,000 batches, 1.6 s in one.
:func:`compact` merges runs of consecutive small batches into batches of up
to ``target_bytes``, keeping every manifest row (so the next ingest still
knows which sources and offsets were read) and the ``event_date`` partitions.

Given a :class:`Refresh`, it also rewrites every batch that holds events classified
with another catalogue, matching them again as it goes, so that analysis reads them
as classes of the current catalogue (loose, :mod:`tokenaudit.store.looseness`)
instead of matching millions of messages again on every run.

It is safe against ``kill -9`` at any point, and against ingests and readers
running at the same time (see :mod:`tokenaudit.store.dataset`): under the writer
lock it writes the merged batch's files, then commits it by the rename of its
manifest, which names the batches it supersedes; that one rename retires them.
Their files are deleted afterwards (manifest first), or by the next writer
if this one was killed.

On an object store, where there is no writer lock, it holds the ``compact``
lease instead (:mod:`tokenaudit.store.lease`, a conditional PUT): a second
compaction at the same time, from any site, stops with a clear error rather
than supersede the same batches again. Ingests go on meanwhile: they write
batches of their own, which this compaction does not see.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath

import pyarrow as pa
import pyarrow.compute as pc

from ..catalogue.loading import load_catalogue
from ..schema import EVENT_SCHEMA, MANIFEST_SCHEMA, MATCHED_KINDS, REALM_SCHEMA, REQUEST_SCHEMA, TOKEN_SCHEMA
from .dataset import commit_batch, discard_uncommitted, write_events, writer_lock
from .layout import committed_batches, files_by_batch, read_file, require_dataset, write_table
from .lease import Lease, check_held, holding
from .location import DatasetLocation, Root, locate
from .looseness import Looseness

#: Size a merged batch grows to at most; batches under a quarter of it count as small.
DEFAULT_TARGET_BYTES = 128 << 20
#: Events per merged events file at most (a day of one merged batch may need several).
MAX_FILE_ROWS = 2_000_000
_TABLES = {"tokens": TOKEN_SCHEMA, "requests": REQUEST_SCHEMA, "realms": REALM_SCHEMA}
_FILE_TABLES = ("manifest", "events", "event_classes", *_TABLES)
#: An events file holds every column but its partition, ``event_date``.
_EVENT_FILE_SCHEMA = pa.schema([field for field in EVENT_SCHEMA if field.name != "event_date"])


@dataclass(frozen=True)
class CompactReport:
    """What :func:`compact` did.

    Attributes
    ----------
    dataset
        The dataset folder.
    batches_before, batches_after
        Committed batches before and after.
    batches_merged
        Small batches merged into others (now retired and deleted).
    files_merged, files_written
        Files of the merged batches (every table, summaries included), and of the batches replacing them.
    rows
        Events rewritten.
    bytes_before, bytes_after
        Size on disk of the merged batches, and of the batches replacing them.
    files_removed
        Files deleted: those of the merged batches, and any a killed writer left.
    refreshed
        Events of another catalogue matched again (:class:`Refresh`).
    """

    dataset: Path | str
    batches_before: int
    batches_after: int
    batches_merged: int
    files_merged: int
    files_written: int
    rows: int
    bytes_before: int
    bytes_after: int
    files_removed: int
    refreshed: int = 0

    def to_dict(self) -> dict[str, object]:
        """The report as JSON-ready values (the dataset as a string)."""
        return {**asdict(self), "dataset": str(self.dataset)}


@dataclass(frozen=True)
class Refresh:
    """How compaction brings events classified with another catalogue up to date.

    Attributes
    ----------
    loose
        The current catalogue's looseness: its fingerprint tells stale events, and the rewritten
        files' summaries are made with it.
    events
        Matches the stale events of a table of events again (the same schema back), as analysis
        would (:func:`tokenaudit.analysis.refresh.refreshed_events`).
    """

    loose: Looseness
    events: Callable[[pa.Table], pa.Table]


def compact(dataset: Root, *, target_bytes: int = DEFAULT_TARGET_BYTES,
            refresh: Refresh | None = None, now: Callable[[], datetime] | None = None) -> CompactReport:
    """Merge runs of consecutive small batches of ``dataset`` into batches of up to ``target_bytes``.

    Waits for the writer lock (a running ingest), then first deletes what a
    killed writer left. Readers see the same events, manifest, tokens,
    requests and realms before and after, but for the ``batch_id`` column,
    which names the merged batch.

    Parameters
    ----------
    dataset
        The dataset folder.
    target_bytes
        Largest size on disk of a merged batch; batches of under a quarter of
        it are small and merged (default 128 MiB).
    refresh
        Also rewrite every batch that holds events of another catalogue, matching them again.
    now
        The clock (UTC) of the lease and of the grace period on an object store; the system's by default.

    Returns
    -------
    CompactReport
        Batches before and after, files and bytes merged and written, events rewritten.

    Raises
    ------
    DatasetError
        If there is no dataset at ``dataset`` or a file of it is damaged; on an object store, if another
        compaction holds the lease.
    SchemaMismatchError
        If the dataset or a file of it was written by a newer version.

    Examples
    --------
    >>> import tempfile
    >>> from tokenaudit.store.dataset import open_for_writing
    >>> root = Path(tempfile.mkdtemp()) / "dataset"
    >>> open_for_writing(root)
    >>> compact(root).batches_merged
    0
    """
    root = locate(dataset)
    require_dataset(root)
    clock = now or (lambda: datetime.now(UTC))
    with writer_lock(root), _exclusive(root, clock) as lease:
        removed = len(discard_uncommitted(root, now=clock))  # a killed compaction's or ingest's leftovers
        batches = committed_batches(root)
        files = _files_of(root, batches)
        sizes = {batch: _size(root, files[batch]) for batch in batches}
        runs = plan_merges(batches, sizes, target_bytes=target_bytes)
        stale = 0
        if refresh is not None:  # a batch of stale events is rewritten, alone if no run holds it
            counts = {batch: _stale_events(root, files[batch], refresh.loose.fingerprint) for batch in batches}
            in_runs = {batch for run in runs for batch in run}
            runs += [[batch] for batch in batches if counts[batch] and batch not in in_runs]
            stale = sum(counts[batch] for run in runs for batch in run)
        merged, rows = [], 0
        for run in runs:
            if lease is not None:
                check_held(root, lease, now=clock())
            batch_id, count = _merge(root, run, files, refresh)
            merged.append(batch_id)
            rows += count
            removed += len(discard_uncommitted(root, now=clock))  # retire the run's files now: disk holds one copy
        after = committed_batches(root)
        written = _files_of(root, merged)
    retired = [batch for run in runs for batch in run]
    return CompactReport(
        dataset=root.given, batches_before=len(batches), batches_after=len(after), batches_merged=len(retired),
        files_merged=sum(len(files[b]) for b in retired), files_written=sum(len(written[b]) for b in merged),
        rows=rows, bytes_before=sum(sizes[b] for b in retired),
        bytes_after=sum(_size(root, written[b]) for b in merged), files_removed=removed, refreshed=stale,
    )


@contextmanager
def _exclusive(root: DatasetLocation, clock: Callable[[], datetime]) -> Iterator[Lease | None]:
    """On an object store, hold the ``compact`` lease while the block runs (a local folder has its writer lock)."""
    if root.is_local:
        yield None
        return
    with holding(root, "compact", now=clock) as lease:
        yield lease


def plan_merges(batches: Sequence[str], sizes: dict[str, int], *, target_bytes: int) -> list[list[str]]:
    """Runs of consecutive small batches to merge, each of two or more batches and ``target_bytes`` at most.

    Only consecutive batches merge, so that the merged batch takes their place
    in the order of batches (and events of equal times keep their order).

    Examples
    --------
    >>> sizes = {"a": 10, "b": 10, "c": 90, "d": 10, "e": 10, "f": 10}
    >>> plan_merges(list(sizes), sizes, target_bytes=100)
    [['a', 'b'], ['d', 'e', 'f']]
    >>> plan_merges(list(sizes), sizes, target_bytes=40)  # 10 is not under a quarter of 40
    []
    """
    small = target_bytes // 4
    runs: list[list[str]] = []
    current: list[str] = []
    total = 0
    for batch in [*batches, None]:
        size = sizes[batch] if batch is not None else 0
        if batch is None or size >= small or total + size > target_bytes:
            if len(current) >= 2:
                runs.append(current)
            current, total = [], 0
        if batch is not None and size < small:
            current.append(batch)
            total += size
    return runs


def _files_of(root: DatasetLocation, batches: Sequence[str]) -> dict[str, list[PurePath]]:
    """Every file of each batch, table by table, in the order readers list them."""
    found = files_by_batch(root, _FILE_TABLES)
    return {batch: found.get(batch, []) for batch in batches}


def _size(root: DatasetLocation, paths: list[PurePath]) -> int:
    return sum(root.size(path) for path in paths)


def merged_id(first: str) -> str:
    """A new batch id that sorts where ``first``, the run's first batch, did.

    Batch ids sort by time, and every other batch id differs from ``first``
    within its length, so ``first`` plus a suffix takes its place.

    Examples
    --------
    >>> merged_id("20260101T000000-0123abcd").startswith("20260101T000000-0123abcd-m")
    True
    >>> merged_id("20260101T000000-0123abcd-m4567cdef").count("-m")
    1
    """
    return f"{first.partition('-m')[0]}-m{uuid.uuid4().hex[:8]}"


def _with_batch(table: pa.Table, batch_id: str) -> pa.Table:
    index = table.schema.get_field_index("batch_id")
    return table.set_column(index, table.schema.field(index), pa.repeat(pa.scalar(batch_id), table.num_rows))


def _stale_events(root: DatasetLocation, paths: list[PurePath], fingerprint: str) -> int:
    """How many events of a batch's events files analysis would match again (classified with another catalogue)."""
    count = 0
    for path in paths:
        if path.parent.parent.name != "events":
            continue
        table = read_file(root, path, pa.schema([EVENT_SCHEMA.field("catalogue"), EVENT_SCHEMA.field("event_kind")]))
        other = pc.fill_null(pc.not_equal(table["catalogue"], fingerprint), True)
        count += pc.sum(pc.and_(other, pc.is_in(table["event_kind"], pa.array(MATCHED_KINDS)))).as_py() or 0
    return int(count)


def _merge(root: DatasetLocation, run: list[str], files: dict[str, list[PurePath]],
           refresh: Refresh | None) -> tuple[str, int]:
    """Write the run's rows as one new batch and commit it, retiring the run; returns its id and events."""
    batch_id = merged_id(run[0])
    paths = [path for batch in run for path in files[batch]]
    rows = _merge_events(root, [p for p in paths if p.parent.parent.name == "events"], batch_id, refresh)
    for table, schema in _TABLES.items():
        mine = [p for p in paths if p.parent.name == table]
        if mine:
            merged = pa.concat_tables([read_file(root, p, schema) for p in mine])
            write_table(root, root.root / table / f"batch-{batch_id}.parquet", _with_batch(merged, batch_id))
    manifest = pa.concat_tables([read_file(root, p, MANIFEST_SCHEMA) for p in paths if p.parent.name == "manifest"])
    commit_batch(root, _with_batch(manifest, batch_id), batch_id, supersedes=run)  # the switch
    return batch_id, rows


def _merge_events(root: DatasetLocation, paths: list[PurePath], batch_id: str, refresh: Refresh | None) -> int:
    """Write the events of ``paths`` as one file per day (with its summary), in their order; return their count."""
    by_day: dict[str, list[PurePath]] = {}
    for path in sorted(paths):  # readers' order: by day, then batch
        by_day.setdefault(path.parent.name.removeprefix("event_date="), []).append(path)
    number = rows = 0
    # The summaries as analyze reads them: with the refreshing catalogue, else the built-in one.
    loose = refresh.loose if refresh is not None else Looseness.of(load_catalogue())
    for day, day_paths in by_day.items():
        events = pa.concat_tables([read_file(root, p, _EVENT_FILE_SCHEMA) for p in day_paths])
        events = _with_batch(events, batch_id).append_column("event_date", pa.repeat(pa.scalar(day), events.num_rows))
        if refresh is not None:
            events = refresh.events(events)
        for start in range(0, events.num_rows, MAX_FILE_ROWS):
            number += len(write_events(root, events.slice(start, MAX_FILE_ROWS), batch_id, first_number=number,
                                       loose=loose))
        rows += events.num_rows
    return rows
