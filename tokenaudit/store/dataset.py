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
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..common.files import data_dir, is_temporary, replacing
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
    META_FILE,
    SUPERSEDES_KEY,
    batch_files,
    batch_of,
    check_file_version,
    check_version,
    committed_batches,
    committed_files,
    damaged_error,
    read_file,
    require_dataset,
    write_table,
)
from .looseness import Looseness


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


def new_batch_id() -> str:
    """A sortable, unique batch id: UTC time plus randomness."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def _is_leftover(name: str) -> bool:
    """A file tokenaudit itself leaves in a dataset folder: the lock, or a crashed writer's temporary file."""
    return name == ".lock" or is_temporary(name)


def open_for_writing(root: Path) -> None:
    """Create the dataset folder if needed (owner-only permissions) and check its version.

    Safe to call from several processes at once, and after one was killed
    while creating the dataset.
    """
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
                with replacing(meta) as temporary:
                    temporary.write_bytes(json.dumps(info).encode())
    check_version(root)


@contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """Hold the dataset's exclusive writer lock (waits for another ingest to finish)."""
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def discard_quietly(root: Path) -> None:
    """Remove what a failed write of this process left (:func:`discard_uncommitted`), as far as the file system lets it.

    Called under the writer lock after a write failed: on a full disk removing files works, on a read-only one there
    is nothing to remove; whatever stays is removed by the next writer.
    """
    try:
        discard_uncommitted(root)
    except OSError:
        pass


def discard_uncommitted(root: Path) -> list[Path]:
    """Delete what crashed writers left: temporary files, files of batches with no manifest,
    and batches a compaction retired.

    Call it only while holding :func:`writer_lock`: then no other writer is
    half-way through a batch. Readers never open these files. A retired
    batch's manifest goes first: a reader whose snapshot still names that
    batch then finds its manifest gone and says so, rather than reading what
    is left of its files.

    Returns
    -------
    list of Path
        The files deleted.
    """
    committed = set(committed_batches(root))
    retired = [p for p in batch_files(root, "manifest") if batch_of(p) not in committed]
    for path in retired:
        path.unlink(missing_ok=True)
    doomed = retired + [p for p in root.rglob(".*.tmp") if p.is_file()]
    doomed += [p for p in batch_files(root, "events") if batch_of(p) not in committed]
    doomed += [p for p in batch_files(root, "event_classes") if batch_of(p) not in committed]
    for table in BATCH_TABLES:
        doomed += [p for p in batch_files(root, table) if batch_of(p) not in committed]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


#: Rows of an events file's row groups: a reader of a time window (events, a day in parts) skips the groups
#: outside it by their statistics. In one group, a 333,000-event file was read whole for an hour of it.
EVENTS_ROW_GROUP = 65_536


def write_events(root: Path, events: pa.Table, batch_id: str, *, first_number: int = 0,
                 loose: Looseness | None = None) -> list[Path]:
    """Write events of a batch, one file per event date (each with its summary); return the files written.

    A batch may be written in several calls (an ingest writes its events as they
    come, so that memory stays bounded): each call numbers its files from
    ``first_number``. The files count only once :func:`commit_batch` has
    written the manifest. The summaries are made with ``loose`` (the catalogue
    that classified the events, :meth:`Looseness.of`), as ``analyze`` reads them.
    """
    if events.num_rows == 0:
        return []
    events = events.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)
    dates = pa.compute.unique(events.column("event_date")).to_pylist()
    written = []
    for number, date in enumerate(sorted(dates), start=first_number):
        part = events.filter(pa.compute.equal(events.column("event_date"), date))
        part = part.drop_columns(["event_date"])
        path = root / "events" / f"event_date={date}" / f"part-{batch_id}-{number}.parquet"
        write_table(path, part, row_group_rows=EVENTS_ROW_GROUP)
        # Its classes beside it: analyze reads these instead of millions of events.
        write_table(summary_path(root, path), summarize_file(root, path, loose))
        written.append(path)
    return written


def remove_events(root: Path, paths: list[Path]) -> None:
    """Delete events files (and their summaries) of a batch not yet committed."""
    for path in paths:
        summary_path(root, path).unlink(missing_ok=True)
        path.unlink(missing_ok=True)


def write_realms(root: Path, realms: pd.DataFrame, batch_id: str, ingested_at: pd.Timestamp) -> None:
    """Write the relying parties read by a batch."""
    if realms.empty:
        return
    frame = realms.assign(batch_id=batch_id, ingested_at=ingested_at)
    table = pa.Table.from_pandas(frame, schema=REALM_SCHEMA, preserve_index=False)
    write_table(root / "realms" / f"batch-{batch_id}.parquet", table)


def write_tokens(root: Path, tokens: pd.DataFrame, batch_id: str) -> None:
    """Write the tokens a batch saw (decoded claims and fingerprints only)."""
    if tokens.empty:
        return
    frame = tokens.assign(batch_id=batch_id)
    for column in ("kid", "typ", "iss", "sub", "azp", "client_id", "scope", "alg", "error", "issuer_family"):
        frame[column] = frame[column].map(
            lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))
    table = pa.Table.from_pandas(frame[TOKEN_SCHEMA.names], schema=TOKEN_SCHEMA, preserve_index=False)
    write_table(root / "tokens" / f"batch-{batch_id}.parquet", table)


def sum_requests(requests: pd.DataFrame) -> pd.DataFrame:
    """Request counts summed per hour, format, source file, host, route and status (one row each)."""
    keys = ["hour", "format", "source_file", "host", "route", "status"]
    return requests.groupby(keys, dropna=False)["count"].sum().reset_index()


def write_requests(root: Path, requests: pd.DataFrame, batch_id: str) -> None:
    """Write a batch's request counts."""
    if requests.empty:
        return
    frame = sum_requests(requests).assign(batch_id=batch_id)
    table = pa.Table.from_pandas(frame[REQUEST_SCHEMA.names], schema=REQUEST_SCHEMA, preserve_index=False)
    write_table(root / "requests" / f"batch-{batch_id}.parquet", table)


def read_requests(root: str | Path, *, batches: Collection[str] | None = None) -> pd.DataFrame:
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
    root = Path(root)
    files = committed_files(root, "requests", batches)
    columns = ["hour", "format", "host", "route", "status", "count"]
    if not files:
        return pd.DataFrame(columns=columns)
    frame = pa.concat_tables([read_file(root, f, REQUEST_SCHEMA) for f in files]).to_pandas()
    summed = frame.groupby(columns[:-1], dropna=False)["count"].sum().reset_index()
    return summed.sort_values(["hour", "count"], ascending=[True, False], kind="stable").reset_index(drop=True)



def read_tokens(root: str | Path, *, batches: Collection[str] | None = None) -> pd.DataFrame:
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
    root = Path(root)
    files = committed_files(root, "tokens", batches)
    frames = [read_file(root, f, TOKEN_SCHEMA).to_pandas().drop(columns="batch_id") for f in files]
    return aggregate_tokens(frames)



def commit_batch(root: Path, manifest: pd.DataFrame | pa.Table, batch_id: str, *,
                 supersedes: Collection[str] = ()) -> None:
    """Write the batch's manifest: from now on its events and realms are part of the dataset.

    With ``supersedes`` (a compaction's merged batch), the same atomic rename
    retires those batches: readers see either them or this one.
    """
    if isinstance(manifest, pa.Table):
        table = manifest.select(MANIFEST_SCHEMA.names).cast(MANIFEST_SCHEMA)
    else:
        table = pa.Table.from_pandas(manifest, schema=MANIFEST_SCHEMA, preserve_index=False)
    if supersedes:
        table = table.replace_schema_metadata({SUPERSEDES_KEY: json.dumps(sorted(supersedes)).encode()})
    write_table(root / "manifest" / f"batch-{batch_id}.parquet", table)


def read_manifest(root: str | Path, *, batches: Collection[str] | None = None) -> pd.DataFrame:
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
    root = Path(root)
    files = committed_files(root, "manifest", batches)
    if not files:
        return MANIFEST_SCHEMA.empty_table().to_pandas()
    table = pa.concat_tables([read_file(root, f, MANIFEST_SCHEMA) for f in files])
    return table.to_pandas().sort_values("ingested_at", kind="stable").reset_index(drop=True)


def verify_dataset(root: str | Path) -> None:
    """Check that every file of every committed batch opens and is of a version this tokenaudit reads.

    Reads the Parquet footers only: about a millisecond a file.

    Raises
    ------
    DatasetError
        If there is no dataset at ``root`` or a file is damaged or missing.
    SchemaMismatchError
        If the dataset or a file was written by a newer version.
    """
    root = Path(root)
    require_dataset(root)
    committed = set(committed_batches(root))
    for table in ("events", *BATCH_TABLES):  # committed_batches checked the manifests
        for path in batch_files(root, table):
            if batch_of(path) in committed:
                try:
                    check_file_version(path, pq.read_metadata(path).metadata)
                except (pa.ArrowException, OSError) as exc:
                    raise damaged_error(root, path, exc) from None


def read_events(
    root: str | Path,
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
        scheduler (a ``distributed.Client``'s cluster when one is active), whose workers must see
        the dataset at the same path. Needs ``pip install 'tokenaudit[dask]'``.

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
    root = Path(root)
    wanted = list(EVENT_SCHEMA.names) if columns is None else list(columns)
    files = committed_files(root, "events", batches)
    if engine == "dask":
        from .dask_frames import dask_frame

        return dask_frame(partial(_read_events_files, root, wanted=wanted, since=since, until=until), files,
                          _events_frame(EVENT_SCHEMA.empty_table(), wanted))
    if engine != "pandas":
        raise InputError(f"{engine!r} is no engine of read_events", hint='engine="pandas" or engine="dask"')
    return _read_events_files(root, files, wanted=wanted, since=since, until=until)


def _read_events_files(root: Path, files: list[Path], *, wanted: list[str], since: pd.Timestamp | None,
                       until: pd.Timestamp | None) -> pd.DataFrame:
    """The events of ``files`` in ``[since, until)``, as :func:`read_events` gives them."""
    if not files:
        return _events_frame(EVENT_SCHEMA.empty_table(), wanted)
    events_dir = root / "events"
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
            partitioning=ds.partitioning(pa.schema([("event_date", pa.string())]), flavor="hive"),
            partition_base_dir=str(events_dir),
            schema=EVENT_SCHEMA,
        )
        for fragment in dataset.get_fragments():
            current = Path(fragment.path)
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


def read_realms(root: str | Path, *, batches: Collection[str] | None = None) -> pd.DataFrame:
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
    root = Path(root)
    files = committed_files(root, "realms", batches)
    if not files:
        return REALM_SCHEMA.empty_table().to_pandas()
    frame = pa.concat_tables([read_file(root, f, REALM_SCHEMA) for f in files]).to_pandas()
    frame = frame.sort_values("ingested_at", kind="stable").drop_duplicates("realm", keep="last")
    return frame.reset_index(drop=True)
