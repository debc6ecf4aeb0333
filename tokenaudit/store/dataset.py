"""The Parquet dataset: one schema, an append-only commit protocol, and readers.

Layout of a dataset folder::

    tokenaudit.json                       schema version
    events/event_date=YYYY-MM-DD/part-<batch>-<n>.parquet
    manifest/batch-<batch>.parquet        one row per source read by that batch
    realms/batch-<batch>.parquet          relying parties read from configuration

An ingest writes its event and realm files first and its manifest file last,
by atomic rename. A batch exists when its manifest does: readers ignore the
files of a batch that has none (an ingest that crashed), so a dataset always
reads as a consistent snapshot, and the next ingest, finding no manifest for
those lines, reads them again. Writers hold an exclusive lock on ``.lock``;
under it, an ingest first discards what a crashed one left (temporary files,
files of uncommitted batches). Every Parquet file carries the schema version
in its metadata: a reader refuses a file, or a dataset, newer than itself.

On an object store (``s3://bucket/prefix`` and the other fsspec URLs,
:mod:`tokenaudit.store.location`) there is no rename and no ``fcntl`` lock. The
protocol holds without them:

- *Commit without rename.* Every file is written whole under its final name by
  one PUT, which the store makes visible all at once or not at all (a
  multipart upload too: the object appears when it completes). Names are never
  reused: a batch id holds the UTC time and 32 random bits. So a file is either
  absent or complete, and the manifest, written last, still decides whether a
  batch exists: readers never open a file of a batch without one.
- *Two sites writing at once.* Each ingest writes only its own batch's names,
  so two of them never touch the same file. ``tokenaudit.json`` is created by
  a conditional PUT (``If-None-Match: *``): of two first ingests one creates
  it, the other reads it. What the incremental ingest has read already comes
  from the committed manifests when it starts: two sites ingesting *different*
  sources both land in full. Two ingesting the *same* source at the same time
  each read it (neither sees the other's manifest yet), but only the first to
  commit stores it: each commit, under a short lease, first reads the
  manifests committed since its snapshot, and one that read a line of the same
  stream makes it discard its batch and run once more from the new state
  (:mod:`tokenaudit.store.conflicts`). Each line is then counted once; a
  conflict met again on that second run is an error, whose hint says to give
  each source to one site.
- *Leftovers.* Without the writer lock, a batch with no manifest may be
  another site's ingest in progress, not a crashed one. :func:`discard_uncommitted`
  therefore removes an uncommitted batch's files only once the newest of them is
  older than :data:`GRACE_PERIOD` (6 hours); until then readers ignore them. The
  file times come from the store, so clocks of the sites do not matter, and a
  compaction's merged batch (whose id takes an older batch's time) is judged by
  its files too. An ingest that spends more than 6 hours without writing a file
  of its batch could lose it: a file is written every 50,000 events, and
  every 6 hours is far longer than any source takes between two.
- *Compaction* holds a lease (:mod:`tokenaudit.store.lease`) created by a
  conditional PUT, so two compactions never supersede the same batches. Its
  merged batch holds the rows of batches it retires, which the commit check
  of an ingest tells from new ones by their content.

A reader that reads several tables takes one snapshot, ``batches =
committed_batches(root)``, and passes it to each reader, so that all of them
see the same batches even while an ingest commits another one.

Compaction (:mod:`tokenaudit.store.compact`) merges batches into one by the same
protocol: it writes the merged batch's files, then its manifest, whose
metadata names the batches it *supersedes*. That one rename switches readers
from the old batches to the new: :func:`committed_batches` leaves out every
batch a manifest supersedes, so no reader sees both or neither. Superseded
batches are *retired*: :func:`discard_uncommitted` deletes them, manifest
first, then their other files. A reader holding a snapshot of retired batches
then gets a clear error ("run it again") instead of a part of them: each reader
checks, after listing a snapshot's files, that the snapshot's manifests all
still exist.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path, PurePath
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from ..common.files import data_dir, is_temporary
from ..errors import DatasetError, InputError
from ..schema import (
    EVENT_SCHEMA,
    MANIFEST_SCHEMA,
    REALM_SCHEMA,
    REQUEST_SCHEMA,
    SCHEMA_VERSION,
    TOKEN_SCHEMA,
)
from ..tokens.sightings import aggregate_tokens
from ..version import __version__
from .event_classes import summarize_file, summary_path
from .layout import (
    BATCH_TABLES,
    LEADS_KEY,
    META_FILE,
    SUPERSEDES_KEY,
    batch_files,
    batch_of,
    check_file_version,
    check_version,
    committed_batches,
    committed_files,
    damaged_error,
    files_by_batch,
    read_file,
    require_dataset,
    write_table,
)
from .location import DatasetLocation, Root, is_url, locate, unreachable_error
from .looseness import Looseness

#: How old the newest file of an uncommitted batch on an object store must be before a writer deletes the batch:
#: younger, it may be another site's ingest in progress (there is no lock to tell). See the module docstring.
GRACE_PERIOD = timedelta(hours=6)


def default_dataset_path() -> Path:
    """Where the dataset lives when no ``--dataset`` is given.

    ``$TOKENAUDIT_DATASET`` if set, else ``dataset`` in the platform's data folder
    (``$XDG_DATA_HOME/tokenaudit/dataset``, by default ``~/.local/share/tokenaudit/dataset``, on Linux).

    Examples
    --------
    >>> default_dataset_path().name
    'dataset'
    """
    if env := os.environ.get("TOKENAUDIT_DATASET"):
        return Path(env)
    return data_dir() / "dataset"


def dataset_root(given: str | Path | None = None) -> Path | str:
    """The dataset a user named: ``given``, else ``$TOKENAUDIT_DATASET``, else :func:`default_dataset_path`.

    A URL of an object store (``s3://bucket/prefix``) is kept as it is, a ``file://`` URL or a path becomes a
    :class:`~pathlib.Path`.

    Examples
    --------
    >>> dataset_root("s3://bucket/ds"), dataset_root("file:///srv/ds"), dataset_root("ds")
    ('s3://bucket/ds', PosixPath('/srv/ds'), PosixPath('ds'))
    """
    if given is None:
        env = os.environ.get("TOKENAUDIT_DATASET")
        if not env or not is_url(env):
            return default_dataset_path()
        given = env
    if isinstance(given, str) and is_url(given):
        return given.rstrip("/")
    return Path(locate(given).root)


def new_batch_id() -> str:
    """A sortable, unique batch id: UTC time plus randomness."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def _is_leftover(name: str) -> bool:
    """A file tokenaudit itself leaves in a dataset folder: the lock, or a crashed writer's temporary file."""
    return name == ".lock" or is_temporary(name)


def open_for_writing(root: Root) -> None:
    """Create the dataset folder if needed (owner-only permissions) and check its version.

    Safe to call from several processes at once, and after one was killed
    while creating the dataset; on an object store, from several sites at once.
    """
    location = locate(root)
    if not location.is_local:
        _open_object_store(location)
        return
    root = Path(location.root)
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{root}: is a file, not a dataset folder",
                           hint="choose an empty or new folder for --dataset")
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise DatasetError(f"{root}: cannot create the dataset: {exc.strerror}",
                           hint="choose a folder you may write to for --dataset") from None
    meta = root / META_FILE
    if not meta.exists():
        if any(not _is_leftover(entry.name) for entry in root.iterdir() if entry.name != META_FILE):
            raise DatasetError(
                f"{root}: folder is not empty and is no tokenaudit dataset",
                hint="choose an empty or new folder for --dataset",
            )
        with writer_lock(root):  # two first ingests: one creates, the other finds it
            if not meta.exists():
                info = {"schema_version": SCHEMA_VERSION, "created_by": f"tokenaudit {__version__}"}
                location.write_bytes(meta, json.dumps(info).encode())
    check_version(root)


def _open_object_store(location: DatasetLocation) -> None:
    """Create ``tokenaudit.json`` under an object store's prefix unless it exists (a conditional PUT), and check it."""
    meta = location.root / META_FILE
    info = {"schema_version": SCHEMA_VERSION, "created_by": f"tokenaudit {__version__}"}
    try:
        if not location.exists(meta):
            if location.glob("manifest", "batch-*.parquet") or location.glob("events", "*"):
                raise DatasetError(f"{location}: holds files but is no tokenaudit dataset",
                                   hint="choose an empty or new prefix for --dataset")
            location.create(meta, json.dumps(info).encode())  # of two sites, one creates it; both read it
    except OSError as exc:
        raise unreachable_error(location, exc) from None
    check_version(location)


@contextmanager
def writer_lock(root: Root) -> Iterator[None]:
    """Hold the dataset's exclusive writer lock (waits for another ingest to finish).

    An object store has none: there the block runs unlocked, and the protocol does without
    (see the module docstring).
    """
    location = locate(root)
    if not location.is_local:
        yield
        return
    fd = os.open(Path(location.root) / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def discard_quietly(root: Root) -> None:
    """Remove what a failed write of this process left (:func:`discard_uncommitted`), as far as the file system lets it.

    Called under the writer lock after a write failed: on a full disk removing files works, on a read-only one there
    is nothing to remove; whatever stays is removed by the next writer.
    """
    try:
        discard_uncommitted(root)
    except OSError:
        pass


def discard_uncommitted(root: Root, *, now: Callable[[], datetime] | None = None) -> list[PurePath]:
    """Delete what crashed writers left: temporary files, files of batches with no manifest,
    and batches a compaction retired.

    Call it only while holding :func:`writer_lock`: then no other writer is
    half-way through a batch. Readers never open these files. A retired
    batch's manifest goes first: a reader whose snapshot still names that
    batch then finds its manifest gone and says so, rather than reading what
    is left of its files.

    On an object store, where there is no lock, a batch with no manifest is
    deleted only once the newest of its files is older than :data:`GRACE_PERIOD`
    by ``now`` (the current time by default): a younger one may be another
    site's ingest in progress.

    Returns
    -------
    list of PurePath
        The files deleted.
    """
    location = locate(root)
    if not location.is_local:
        return _discard_on_object_store(location, now or (lambda: datetime.now(UTC)))
    root = Path(location.root)
    committed = set(committed_batches(root))
    retired = [p for p in batch_files(root, "manifest") if batch_of(p) not in committed]
    for path in retired:
        location.delete(path)
    doomed = retired + [p for p in root.rglob(".*.tmp") if p.is_file()]
    doomed += [path for batch, paths in files_by_batch(root).items() if batch not in committed for path in paths]
    for path in doomed:
        location.delete(path)
    return doomed


def _discard_on_object_store(location: DatasetLocation, now: Callable[[], datetime]) -> list[PurePath]:
    """:func:`discard_uncommitted` where other sites may be writing: retired batches, and uncommitted batches whose
    newest file is older than :data:`GRACE_PERIOD`."""
    manifests = batch_files(location, "manifest")
    committed = set(committed_batches(location))
    retired = [p for p in manifests if batch_of(p) not in committed]
    for path in retired:  # superseded by a committed compaction: no reader takes them in a new snapshot
        location.delete(path)
    with_manifest = {batch_of(p) for p in manifests}
    cutoff = now() - GRACE_PERIOD
    doomed = list(retired)
    for batch, paths in files_by_batch(location).items():
        if batch in committed:
            continue
        if batch in with_manifest:  # retired: its manifest is deleted already
            doomed += paths
            continue
        try:
            newest = max(location.modified(path) for path in paths)
        except FileNotFoundError:  # deleted meanwhile by another site
            continue
        if newest < cutoff:
            doomed += paths
    for path in doomed[len(retired):]:
        location.delete(path)
    return doomed


def discard_batch(root: Root, batch_id: str) -> None:
    """Delete the files of the uncommitted batch ``batch_id`` (a failed write's), as far as the store lets it.

    Where there is no writer lock (an object store), this is what a failed ingest may delete: other
    batches without a manifest may be other sites' ingests in progress.
    """
    location = locate(root)
    try:
        for path in files_by_batch(location).get(batch_id, []):
            location.delete(path)
    except OSError:
        pass


#: Rows of an events file's row groups: a reader of a time window (events, a day in parts) skips the groups
#: outside it by their statistics. In one group, a 333,000-event file was read whole for an hour of it.
EVENTS_ROW_GROUP = 65_536


def write_events(root: Root, events: pa.Table, batch_id: str, *, first_number: int = 0,
                 loose: Looseness | None = None) -> list[PurePath]:
    """Write events of a batch, one file per event date (each with its summary); return the files written.

    A batch may be written in several calls (an ingest writes its events as they
    come, so that memory stays bounded): each call numbers its files from
    ``first_number``. The files count only once :func:`commit_batch` has
    written the manifest. The summaries are made with ``loose`` (the catalogue
    that classified the events, :meth:`Looseness.of`), as ``analyze`` reads them.
    """
    if events.num_rows == 0:
        return []
    root = locate(root)
    events = events.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)
    dates = pa.compute.unique(events.column("event_date")).to_pylist()
    written = []
    for number, date in enumerate(sorted(dates), start=first_number):
        part = events.filter(pa.compute.equal(events.column("event_date"), date))
        part = part.drop_columns(["event_date"])
        path = root.root / "events" / f"event_date={date}" / f"part-{batch_id}-{number}.parquet"
        write_table(root, path, part, row_group_rows=EVENTS_ROW_GROUP)
        # Its classes beside it: analyze reads these instead of millions of events.
        write_table(root, summary_path(root, path), summarize_file(root, path, loose))
        written.append(path)
    return written


def remove_events(root: Root, paths: list[PurePath]) -> None:
    """Delete events files (and their summaries) of a batch not yet committed."""
    location = locate(root)
    for path in paths:
        location.delete(summary_path(location, path))
        location.delete(path)


def write_realms(root: Root, realms: pd.DataFrame, batch_id: str, ingested_at: pd.Timestamp) -> None:
    """Write the relying parties read by a batch."""
    if realms.empty:
        return
    frame = realms.assign(batch_id=batch_id, ingested_at=ingested_at)
    table = pa.Table.from_pandas(frame, schema=REALM_SCHEMA, preserve_index=False)
    write_table(root, locate(root).root / "realms" / f"batch-{batch_id}.parquet", table)


def write_tokens(root: Root, tokens: pd.DataFrame, batch_id: str) -> None:
    """Write the tokens a batch saw (decoded claims and fingerprints only)."""
    if tokens.empty:
        return
    frame = tokens.assign(batch_id=batch_id)
    for column in ("kid", "typ", "iss", "sub", "azp", "client_id", "scope", "alg", "error", "issuer_family"):
        frame[column] = frame[column].map(
            lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))
    table = pa.Table.from_pandas(frame[TOKEN_SCHEMA.names], schema=TOKEN_SCHEMA, preserve_index=False)
    write_table(root, locate(root).root / "tokens" / f"batch-{batch_id}.parquet", table)


def sum_requests(requests: pd.DataFrame) -> pd.DataFrame:
    """Request counts summed per hour, format, source file, host, route and status (one row each)."""
    keys = ["hour", "format", "source_file", "host", "route", "status"]
    return requests.groupby(keys, dropna=False)["count"].sum().reset_index()


def write_requests(root: Root, requests: pd.DataFrame, batch_id: str) -> None:
    """Write a batch's request counts."""
    if requests.empty:
        return
    frame = sum_requests(requests).assign(batch_id=batch_id)
    table = pa.Table.from_pandas(frame[REQUEST_SCHEMA.names], schema=REQUEST_SCHEMA, preserve_index=False)
    write_table(root, locate(root).root / "requests" / f"batch-{batch_id}.parquet", table)


def read_requests(root: Root, *, batches: Collection[str] | None = None) -> pd.DataFrame:
    """Read request counts of committed batches, summed per hour, format, host, route and status.

    Parameters
    ----------
    root
        The dataset folder.
    batches
        Read only these batches (a snapshot from :func:`committed_batches`); all committed ones by default.

    Returns
    -------
    pandas.DataFrame
        ``hour`` (UTC), ``format``, ``host``, ``route``, ``status``, ``count``.

    Raises
    ------
    DatasetError
        If there is no dataset at ``root`` or a file of it is damaged.
    SchemaMismatchError
        If the dataset or a file of it was written by a newer version.
    """
    root = locate(root)
    files = committed_files(root, "requests", batches)
    columns = ["hour", "format", "host", "route", "status", "count"]
    if not files:
        return pd.DataFrame(columns=columns)
    frame = pa.concat_tables([read_file(root, f, REQUEST_SCHEMA) for f in files]).to_pandas()
    summed = frame.groupby(columns[:-1], dropna=False)["count"].sum().reset_index()
    return summed.sort_values(["hour", "count"], ascending=[True, False], kind="stable").reset_index(drop=True)



def read_tokens(root: Root, *, batches: Collection[str] | None = None) -> pd.DataFrame:
    """Read the tokens of committed batches, one row per fingerprint (sightings merged).

    Parameters
    ----------
    root
        The dataset folder.
    batches
        Read only these batches (a snapshot from :func:`committed_batches`); all committed ones by default.

    Returns
    -------
    pandas.DataFrame
        Columns of ``TOKEN_SCHEMA`` but ``batch_id``: decoded header and claims
        as JSON, kind and issuer family with evidence, first/last seen (UTC),
        number of sightings and up to 20 sources.

    Raises
    ------
    DatasetError
        If there is no dataset at ``root`` or a file of it is damaged.
    SchemaMismatchError
        If the dataset or a file of it was written by a newer version.
    """
    root = locate(root)
    files = committed_files(root, "tokens", batches)
    frames = [read_file(root, f, TOKEN_SCHEMA).to_pandas().drop(columns="batch_id") for f in files]
    return aggregate_tokens(frames)



def commit_batch(root: Root, manifest: pd.DataFrame | pa.Table, batch_id: str, *,
                 supersedes: Collection[str] = (), leads: Sequence[str | None] | None = None) -> None:
    """Write the batch's manifest: from now on its events and realms are part of the dataset.

    With ``supersedes`` (a compaction's merged batch), the same atomic rename
    retires those batches: readers see either them or this one. ``leads``, one
    per row, are the digests of the sources' first lines, which tell another
    site's commit that it read the same source (:mod:`tokenaudit.store.conflicts`).
    """
    if isinstance(manifest, pa.Table):
        table = manifest.select(MANIFEST_SCHEMA.names).cast(MANIFEST_SCHEMA)
    else:
        table = pa.Table.from_pandas(manifest, schema=MANIFEST_SCHEMA, preserve_index=False)
    metadata = {}
    if supersedes:
        metadata[SUPERSEDES_KEY] = json.dumps(sorted(supersedes)).encode()
    if leads is not None:
        metadata[LEADS_KEY] = json.dumps(list(leads)).encode()
    if metadata:
        table = table.replace_schema_metadata(metadata)
    write_table(root, locate(root).root / "manifest" / f"batch-{batch_id}.parquet", table)


def read_manifest(root: Root, *, batches: Collection[str] | None = None) -> pd.DataFrame:
    """Read every committed manifest row (one per source and batch).

    Parameters
    ----------
    root
        The dataset folder.
    batches
        Read only these batches (a snapshot from :func:`committed_batches`); all committed ones by default.

    Returns
    -------
    pandas.DataFrame
        Columns of ``MANIFEST_SCHEMA``, oldest batch first.

    Raises
    ------
    DatasetError
        If there is no dataset at ``root`` or a manifest file is damaged.
    SchemaMismatchError
        If the dataset or a manifest file was written by a newer version.
    """
    root = locate(root)
    files = committed_files(root, "manifest", batches)
    if not files:
        return MANIFEST_SCHEMA.empty_table().to_pandas()
    table = pa.concat_tables([read_file(root, f, MANIFEST_SCHEMA) for f in files])
    return table.to_pandas().sort_values("ingested_at", kind="stable").reset_index(drop=True)


def verify_dataset(root: Root) -> None:
    """Check that every file of every committed batch opens and is of a version this tokenaudit reads.

    Reads the Parquet footers only: about a millisecond a file.

    Raises
    ------
    DatasetError
        If there is no dataset at ``root`` or a file is damaged or missing.
    SchemaMismatchError
        If the dataset or a file was written by a newer version.
    """
    root = locate(root)
    require_dataset(root)
    committed = set(committed_batches(root))
    for table in ("events", *BATCH_TABLES):  # committed_batches checked the manifests
        for path in batch_files(root, table):
            if batch_of(path) in committed:
                try:
                    check_file_version(path, root.read_metadata(path).metadata)
                except (pa.ArrowException, OSError) as exc:
                    raise damaged_error(root, path, exc) from None


def read_events(
    root: Root,
    *,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    columns: list[str] | None = None,
    batches: Collection[str] | None = None,
    engine: Literal["pandas", "dask"] = "pandas",
) -> Any:
    """Read failure events of committed batches, filters pushed down to Parquet.

    Parameters
    ----------
    root
        The dataset folder.
    since, until
        Keep events with ``since <= ts < until`` (tz-aware).
    columns
        Columns to read; all of ``EVENT_SCHEMA`` by default.
    batches
        Read only these batches (a snapshot from :func:`committed_batches`); all committed ones by default.
    engine
        ``"pandas"``: one DataFrame. ``"dask"``: a Dask DataFrame of one partition per events
        file (per day and batch), each read as the pandas engine reads it, sorted by time within
        the partition; nothing is read until it is computed. It runs on the current Dask
        scheduler (a ``distributed.Client``'s cluster when one is active), whose workers must reach
        the dataset at the same path or URL. Needs ``pip install 'tokenaudit[dask]'``.

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame
        One row per event, ``ts`` as ``datetime64[us, UTC]``, sorted by time (the Dask frame:
        within each partition).

    Raises
    ------
    DatasetError
        If there is no dataset at ``root`` or a file of it is damaged.
    SchemaMismatchError
        If the dataset or a file of it was written by a newer version.
    InputError
        If ``engine`` is not known, or is ``"dask"`` and Dask is not installed.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp()) / "dataset"
    >>> open_for_writing(root)
    >>> read_events(root, columns=["ts", "signature"]).columns.tolist()
    ['ts', 'signature']
    """
    root = locate(root)
    wanted = list(EVENT_SCHEMA.names) if columns is None else list(columns)
    files = committed_files(root, "events", batches)
    if engine == "dask":
        from .dask_frames import dask_frame

        return dask_frame(partial(_read_events_files, root, wanted=wanted, since=since, until=until), files,
                          _events_frame(EVENT_SCHEMA.empty_table(), wanted))
    if engine != "pandas":
        raise InputError(f"{engine!r} is no engine of read_events", hint='engine="pandas" or engine="dask"')
    return _read_events_files(root, files, wanted=wanted, since=since, until=until)


def _read_events_files(root: DatasetLocation, files: list[PurePath], *, wanted: list[str], since: pd.Timestamp | None,
                       until: pd.Timestamp | None) -> pd.DataFrame:
    """The events of ``files`` in ``[since, until)``, as :func:`read_events` gives them."""
    if not files:
        return _events_frame(EVENT_SCHEMA.empty_table(), wanted)
    events_dir = root.root / "events"
    condition = ds.scalar(True)
    if since is not None:
        condition &= ds.field("ts") >= pa.scalar(since.to_pydatetime(), pa.timestamp("us", tz="UTC"))
    if until is not None:
        condition &= ds.field("ts") < pa.scalar(until.to_pydatetime(), pa.timestamp("us", tz="UTC"))
    current = events_dir
    try:
        # Only the files of committed batches: an uncommitted batch's files are never opened.
        dataset = ds.dataset(
            [str(f) for f in files],
            format="parquet",
            filesystem=root.arrow_fs,
            partitioning=ds.partitioning(pa.schema([("event_date", pa.string())]), flavor="hive"),
            partition_base_dir=str(events_dir),
            schema=EVENT_SCHEMA,
        )
        for fragment in dataset.get_fragments():
            current = type(events_dir)(fragment.path)
            check_file_version(current, fragment.physical_schema.metadata)
        current = events_dir
        table = dataset.to_table(columns=list(dict.fromkeys([*wanted, "ts"])), filter=condition)
    except (pa.ArrowException, OSError) as exc:
        raise damaged_error(root, current, exc) from None
    return _events_frame(table, wanted)


def _events_frame(table: pa.Table, wanted: list[str]) -> pd.DataFrame:
    """Events as pandas, with the reader's dtypes, sorted by time."""
    frame = table.to_pandas()
    if "status" in frame.columns:
        frame["status"] = frame["status"].astype("Int32")
    if "line_no" in frame.columns:
        frame["line_no"] = frame["line_no"].astype("int64")
    if "ts" in frame.columns:
        frame = frame.sort_values(["ts"], kind="stable")
    return frame.reset_index(drop=True)[wanted]


def read_realms(root: Root, *, batches: Collection[str] | None = None) -> pd.DataFrame:
    """Read the relying parties of committed batches; the latest definition of each realm wins.

    Parameters
    ----------
    root
        The dataset folder.
    batches
        Read only these batches (a snapshot from :func:`committed_batches`); all committed ones by default.

    Raises
    ------
    DatasetError
        If there is no dataset at ``root`` or a file of it is damaged.
    SchemaMismatchError
        If the dataset or a file of it was written by a newer version.
    """
    root = locate(root)
    files = committed_files(root, "realms", batches)
    if not files:
        return REALM_SCHEMA.empty_table().to_pandas()
    frame = pa.concat_tables([read_file(root, f, REALM_SCHEMA) for f in files]).to_pandas()
    frame = frame.sort_values("ingested_at", kind="stable").drop_duplicates("realm", keep="last")
    return frame.reset_index(drop=True)
