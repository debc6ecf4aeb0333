"""Two sites ingesting the same source into one dataset on an object store: found at commit, never stored twice.

A local dataset's writers take turns under the ``fcntl`` writer lock: an ingest works out what is new (the streams
of the committed manifests) and commits with no other writer in between. An object store has no such lock, and one
held for a whole ingest would make the sites of a fleet wait for each other. So an ingest there checks when it
commits (optimistic concurrency), in :func:`commit_ingest`:

1. Just before it writes its manifest, it takes the short lease ``commit.lease`` (:mod:`tokenaudit.store.lease`,
   :data:`COMMIT_LEASE_PERIOD`): the commits of all sites take turns, each a few requests long. A site that finds
   the lease taken waits for it (at most :data:`COMMIT_WAIT`; one left by a killed site expires and is taken over).
2. Holding it, it reads the manifests committed since its snapshot (the batches it did not know when it worked out
   what to read; rows its snapshot holds are left out, so that a compaction's merged batch adds none) and asks
   :func:`overlapping` whether any of them read lines of a stream that it read too.
3. None did: it writes its manifest and gives the lease back. One did: it writes nothing, gives the lease back and
   raises :class:`~tokenaudit.errors.IngestConflictError`. The ingest then deletes its batch's files and runs once
   more from the new committed state, which reads only what the other site did not
   (:func:`tokenaudit.pipeline.batches.ingest`); a second conflict is the user's error.

*The same stream* is what the incremental ingest resumes: the same ``stream_id`` (both resumed a stream of the
snapshot), or the same head (its ``head_len`` bytes, up to 64 KiB, and their digest). Two reads of a file shorter
than 64 KiB that grew between them have heads of different lengths, which their digests cannot compare: then the
digest of the file's first line (at most :data:`LEAD_BYTES`), which every manifest keeps in its metadata
(:data:`~tokenaudit.store.layout.LEADS_KEY`), decides, and a row without one (written by an older version, or merged
by a compaction) counts as the same stream. This errs one way only: two different files beginning with the same line,
read at once, make a conflict that is none, and the retry reads them as before. The lines a row read are
``[lines_total - lines_read, lines_total)`` of its stream; ranges that only touch do not overlap.

Every site must run a tokenaudit that takes the commit lease: an older one commits without looking.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath
from typing import Any

import pandas as pd
import pyarrow as pa

from ..errors import DatasetError, IngestConflictError, LeaseBusyError
from ..schema import MANIFEST_SCHEMA
from ..sources.readers import digest
from .dataset import commit_batch
from .layout import LEADS_KEY, batch_files, batch_of, check_file_version, damaged_error
from .lease import Lease, acquire, check_held, release
from .location import DatasetLocation, Root, locate

#: The name of the lease an ingest on an object store holds while it checks and commits (``commit.lease``).
COMMIT_LEASE = "commit"
#: How long a commit lease lasts: a check and a commit take seconds; a killed site's lease is taken over after this.
COMMIT_LEASE_PERIOD = timedelta(minutes=2)
#: How long a commit waits for another site's commit lease: long enough for a killed site's to expire.
COMMIT_WAIT = COMMIT_LEASE_PERIOD + timedelta(seconds=30)
#: The first line of a source, up to this many bytes, tells two reads of one short file apart from two files.
LEAD_BYTES = 1024
#: The key of a manifest row (a dict of the pipeline) holding :func:`lead_digest` of its source.
LEAD_FIELD = "lead"
_LISTINGS = 5


def lead_digest(head: bytes) -> str | None:
    """A digest of the first line of ``head`` (the bytes of a source read from its start), at most :data:`LEAD_BYTES`.

    ``None`` when ``head`` holds neither a whole first line nor :data:`LEAD_BYTES`: a later read of the same file
    could then see a longer first line.

    Examples
    --------
    >>> lead_digest(b"May  1 10:00:00 a\\nMay  1 10:00:01 b\\n") == lead_digest(b"May  1 10:00:00 a\\nMay  1 1")
    True
    >>> lead_digest(b"May  1 10:00:00 a") is None
    True
    """
    end = head.find(b"\n", 0, LEAD_BYTES)
    if end >= 0:
        return digest(head[: end + 1])[:16]
    return digest(head[:LEAD_BYTES])[:16] if len(head) >= LEAD_BYTES else None


@dataclass(frozen=True)
class StreamRead:
    """What one manifest row says its batch read: which stream (by id, head and first line), and which lines.

    ``start`` and ``end`` bound the lines read, ``[start, end)``, counted from the stream's beginning.

    Examples
    --------
    >>> a = StreamRead("syslog", "s1", 65536, "h", "l", 0, 100)
    >>> a.overlaps(StreamRead("syslog", "s2", 65536, "h", "l", 50, 150)), a.overlaps(a.moved(100, 150))
    (True, False)
    """

    source: str
    stream_id: str
    head_len: int
    head_sha256: str
    lead: str | None
    start: int
    end: int

    @classmethod
    def of_row(cls, row: Mapping[str, Any], lead: str | None = None) -> StreamRead:
        """The read a manifest row records (``lead``: its source's :func:`lead_digest`, if known)."""
        total = int(row["lines_total"])
        return cls(str(row["source_file"]), str(row["stream_id"]), int(row["head_len"]), str(row["head_sha256"]),
                   lead, total - int(row["lines_read"]), total)

    def moved(self, start: int, end: int) -> StreamRead:
        """The same stream, other lines."""
        return StreamRead(self.source, self.stream_id, self.head_len, self.head_sha256, self.lead, start, end)

    def same_stream(self, other: StreamRead) -> bool:
        """Whether both reads are of one stream, as the incremental ingest would resume it (module docstring)."""
        if self.stream_id == other.stream_id:
            return True
        if self.head_len == other.head_len:
            return self.head_sha256 == other.head_sha256
        return self.lead is None or other.lead is None or self.lead == other.lead

    def overlaps(self, other: StreamRead) -> bool:
        """Whether both read a line of one stream: the same stream, and ``[start, end)`` ranges that share a line."""
        return self.start < other.end and other.start < self.end and self.same_stream(other)


def overlapping(mine: Sequence[StreamRead], theirs: Sequence[StreamRead]) -> list[tuple[StreamRead, StreamRead]]:
    """The pairs of a read of ``mine`` and one of ``theirs`` that read a line of the same stream.

    Examples
    --------
    >>> mine = [StreamRead("syslog", "new1", 65536, "h1", "l1", 0, 500)]
    >>> theirs = [StreamRead("/mnt/a/syslog", "new2", 65536, "h1", "l1", 0, 480),
    ...           StreamRead("auth.log", "new3", 65536, "h2", "l2", 0, 480)]
    >>> [(m.source, t.source) for m, t in overlapping(mine, theirs)]
    [('syslog', '/mnt/a/syslog')]
    """
    by_id: dict[str, list[StreamRead]] = {}
    by_head: dict[tuple[int, str], list[StreamRead]] = {}
    by_lead: dict[str | None, list[StreamRead]] = {}
    for read in theirs:
        by_id.setdefault(read.stream_id, []).append(read)
        by_head.setdefault((read.head_len, read.head_sha256), []).append(read)
        by_lead.setdefault(read.lead, []).append(read)
    found = []
    for read in mine:
        if read.lead is None:  # its first line unknown: any read of another head length may be of its stream
            candidates = list(theirs)
        else:
            candidates = [*by_id.get(read.stream_id, []), *by_head.get((read.head_len, read.head_sha256), []),
                          *by_lead.get(read.lead, []), *by_lead.get(None, [])]
        seen: set[int] = set()
        for other in candidates:
            if id(other) not in seen and read.overlaps(other):
                found.append((read, other))
            seen.add(id(other))
    return found


def _row_key(row: Mapping[str, Any]) -> tuple[str, str, int, int, int]:
    """What tells a manifest row from any other, whatever batch holds it (a compaction renumbers the batch)."""
    return (str(row["stream_id"]), str(row["head_sha256"]), int(row["offset_bytes"]), int(row["lines_total"]),
            int(row["lines_read"]))


def reads_since(root: Root, snapshot: Collection[str], seen: pd.DataFrame, *, own: str) -> list[StreamRead]:
    """The reads of the manifests committed since ``snapshot``: of batches not in it, but ``own``, less ``seen``'s rows.

    Parameters
    ----------
    root
        The dataset.
    snapshot
        The batches the ingest knew when it worked out what to read.
    seen
        Their manifest rows (:func:`~tokenaudit.store.dataset.read_manifest` of ``snapshot``).
    own
        The ingest's own batch.

    Raises
    ------
    DatasetError
        If a manifest is damaged, or the manifests kept changing while being read.
    """
    location = locate(root)
    known = {_row_key(row) for row in seen.to_dict("records")}
    wanted = set(snapshot) | {own}
    for _attempt in range(_LISTINGS):
        reads: list[StreamRead] = []
        for path in batch_files(location, "manifest"):
            if batch_of(path) in wanted:
                continue
            rows = _manifest_rows(location, path)
            if rows is None:  # retired by a compaction since the listing: its merged batch holds its rows
                break
            reads += [StreamRead.of_row(row, lead) for row, lead in rows if _row_key(row) not in known]
        else:
            return reads
    raise DatasetError(f"{location}: the dataset kept changing while this ingest committed",
                       hint="run the ingest again once `tokenaudit compact` has finished")


def _manifest_rows(location: DatasetLocation, path: PurePath) -> list[tuple[dict[str, Any], str | None]] | None:
    """A manifest file's rows with their sources' leads, or ``None`` if it is gone."""
    try:
        metadata = location.read_metadata(path).metadata or {}
        check_file_version(path, metadata)
        table = location.read_table(path, schema=MANIFEST_SCHEMA)
    except (pa.ArrowException, OSError) as exc:
        if not location.exists(path):
            return None
        raise damaged_error(location, path, exc) from None
    try:
        leads = json.loads(metadata[LEADS_KEY])
    except (KeyError, ValueError):
        leads = None
    if not isinstance(leads, list) or len(leads) != table.num_rows:
        leads = [None] * table.num_rows
    return [(row, lead if isinstance(lead, str) else None) for row, lead in zip(table.to_pylist(), leads, strict=True)]


@contextmanager
def _commit_lease(location: DatasetLocation) -> Iterator[Lease]:
    """Hold the dataset's commit lease, waiting up to :data:`COMMIT_WAIT` for another site's."""
    deadline, pause = time.monotonic() + COMMIT_WAIT.total_seconds(), 0.05
    while True:
        try:
            lease = acquire(location, COMMIT_LEASE, period=COMMIT_LEASE_PERIOD)
            break
        except LeaseBusyError as exc:
            if time.monotonic() >= deadline:
                raise LeaseBusyError(exc.message, hint="another site's ingest is committing, or was killed while it "
                                                       "did; run the ingest again") from None
            time.sleep(pause)
            pause = min(2 * pause, 1.0)
    try:
        yield lease
    finally:
        release(location, lease)


def commit_ingest(root: Root, manifest: pd.DataFrame, batch_id: str, *, snapshot: Collection[str],
                  seen: pd.DataFrame) -> None:
    """Commit an ingest's batch, unless another site committed lines it read since ``snapshot`` (object stores).

    A local dataset is committed at once: its writer lock keeps other writers out since the snapshot.

    Parameters
    ----------
    root
        The dataset.
    manifest
        The batch's manifest rows, with :data:`LEAD_FIELD` (each source's :func:`lead_digest`) if known.
    batch_id
        The batch.
    snapshot, seen
        The batches the ingest knew when it worked out what to read, and their manifest rows.

    Raises
    ------
    IngestConflictError
        If a batch committed since ``snapshot`` read lines of a stream this one read: nothing was committed.
    LeaseBusyError
        If another site held the commit lease for longer than :data:`COMMIT_WAIT`.
    DatasetError
        If the commit outlasted its lease, or a manifest is damaged.
    """
    location = locate(root)
    leads = [lead if isinstance(lead, str) else None for lead in manifest[LEAD_FIELD]] \
        if LEAD_FIELD in manifest.columns else [None] * len(manifest)
    if location.is_local:
        commit_batch(location, manifest, batch_id, leads=leads)
        return
    mine = [StreamRead.of_row(row, lead) for row, lead in zip(manifest.to_dict("records"), leads, strict=True)]
    with _commit_lease(location) as lease:
        clashes = overlapping(mine, reads_since(location, snapshot, seen, own=batch_id))
        if clashes:
            raise IngestConflictError(location, list(dict.fromkeys(read.source for read, _ in clashes)))
        try:
            check_held(location, lease)
        except DatasetError:
            raise DatasetError(f"{location}: this ingest's commit took longer than its lease "
                               f"({int(COMMIT_LEASE_PERIOD.total_seconds())} s)",
                               hint="run the ingest again: nothing of it was committed") from None
        commit_batch(location, manifest, batch_id, leads=leads)
