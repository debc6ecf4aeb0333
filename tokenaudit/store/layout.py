"""Where the dataset's files lie, which of them count, and how one is read or written whole.

The dataset is a folder of Parquet files: ``events/event_date=<day>/part-<batch>-<n>.parquet``
(with their summaries under ``event_classes/``), and ``batch-<batch>.parquet`` under
``manifest/``, ``tokens/``, ``requests/`` and ``realms/``. A batch counts once its manifest
exists (:func:`committed_batches`). This module is what the readers, the writers
(:mod:`tokenaudit.store.dataset`), the event classes and compaction share. Each function takes the
dataset root as a path, a URL or a :class:`~tokenaudit.store.location.DatasetLocation`
(:func:`~tokenaudit.store.location.locate`), and names files as ``PurePath`` objects of that location.

Examples
--------
>>> from pathlib import Path
>>> batch_of(Path("events/event_date=2026-12-04/part-20261204T101500-0a1b2c3d-0.parquet"))
'20261204T101500-0a1b2c3d'
>>> batch_of(Path("manifest/batch-20261204T101500-0a1b2c3d.parquet"))
'20261204T101500-0a1b2c3d'
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from pathlib import Path, PurePath

import pandas as pd
import pyarrow as pa

from ..errors import DatasetError, SchemaMismatchError
from ..schema import SCHEMA_VERSION, VERSION_KEY
from .location import Root, locate, unreachable_error

META_FILE = "tokenaudit.json"
#: Manifest metadata: JSON list of the batches a merged batch replaces (see :mod:`tokenaudit.store.compact`).
SUPERSEDES_KEY = b"tokenaudit_supersedes"
#: Manifest metadata: JSON list, a row's each, of the digest of its source's first line (see
#: :mod:`tokenaudit.store.conflicts`); absent from manifests of older versions and of compactions.
LEADS_KEY = b"tokenaudit_leads"
#: Tables whose files are named ``batch-<batch id>.parquet``.
BATCH_TABLES = ("tokens", "requests", "realms")

def check_version(root: Root) -> None:
    location = locate(root)
    if location.is_local:
        folder = Path(location.root)
        if folder.exists() and not folder.is_dir():
            raise DatasetError(f"{folder}: is a file, not a dataset folder",
                               hint="point --dataset at a folder written by `tokenaudit ingest`")
    meta = location.root / META_FILE
    try:
        text = location.read_bytes(meta).decode("utf-8", errors="replace")
    except OSError as exc:
        # On an object store, anything but a missing file ("The specified bucket does not exist" is one) is the store's.
        missing = isinstance(exc, FileNotFoundError) and "bucket" not in str(exc).lower()
        if not location.is_local and not missing:
            raise unreachable_error(location, exc) from None
        raise DatasetError(
            f"{location}: not a tokenaudit dataset (no readable {META_FILE})",
            hint="point --dataset at a folder written by `tokenaudit ingest`",
        ) from None
    try:
        content = json.loads(text)
    except ValueError:
        content = None
    try:
        version = int(content["schema_version"])
    except (ValueError, KeyError, TypeError):
        raise DatasetError(
            f"{location.display(meta)}: damaged"
            f" ({'no schema_version in it' if isinstance(content, dict) else 'not JSON'})",
            hint=f'if the folder is a tokenaudit dataset, write {{"schema_version": {SCHEMA_VERSION}}} into it',
        ) from None
    if version > SCHEMA_VERSION:
        raise SchemaMismatchError(
            f"{location}: written with schema version {version}; this tokenaudit reads up to {SCHEMA_VERSION}",
            hint="upgrade tokenaudit",
        )

_DICTIONARY_PAGE = 8 << 20


def write_table(root: Root, path: PurePath, table: pa.Table, *, row_group_rows: int | None = None) -> None:
    """Write ``table`` to ``path`` of ``root`` (replacing it whole), with the schema version; ``row_group_rows``
    rows a group."""
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), VERSION_KEY: str(SCHEMA_VERSION).encode()})
    # A dictionary page of up to 8 MB (Parquet's default is 1 MB) keeps columns of a few
    # thousand distinct messages dictionary-encoded throughout: `analyze` then reads them as
    # codes without hashing every string (message: 38 ms -> 6 ms per 333,000 events).
    locate(root).write_parquet(path, table, dictionary_pagesize_limit=_DICTIONARY_PAGE, row_group_size=row_group_rows)


def require_dataset(root: Root) -> None:
    location = locate(root)
    if location.is_local and not Path(location.root).exists():
        raise DatasetError(f"{location}: no such dataset", hint="run `tokenaudit ingest LOGS --dataset DIR` first")
    check_version(location)


def batch_of(path: PurePath) -> str:
    """The batch id in a file name: ``batch-<id>.parquet`` or ``part-<id>-<n>.parquet``."""
    stem = path.name.removesuffix(".parquet")
    if stem.startswith("batch-"):
        return stem[len("batch-"):]
    return stem[len("part-"):].rpartition("-")[0]


def batch_files(root: Root, table: str) -> list[PurePath]:
    pattern = "event_date=*/part-*.parquet" if table in ("events", "event_classes") else "batch-*.parquet"
    return locate(root).glob(table, pattern)


#: Every table of a batch but its manifest.
DATA_TABLES = ("events", "event_classes", *BATCH_TABLES)


def files_by_batch(root: Root, tables: Collection[str] = DATA_TABLES) -> dict[str, list[PurePath]]:
    """The files of ``tables``, grouped by batch, table by table in the order readers list them."""
    found: dict[str, list[PurePath]] = {}
    for table in tables:
        for path in batch_files(root, table):
            found.setdefault(batch_of(path), []).append(path)
    return found


def committed_files(root: Root, table: str, batches: Collection[str] | None) -> list[PurePath]:
    """Files of ``table`` that belong to committed batches (or to ``batches``, a snapshot of them)."""
    root = locate(root)
    require_dataset(root)
    for _attempt in range(_ATTEMPTS):
        wanted = set(committed_batches(root) if batches is None else batches)
        files = [p for p in batch_files(root, table) if batch_of(p) in wanted]
        # A retired batch loses its manifest before its other files: with every manifest still
        # there after the listing, the listing holds every file of the snapshot.
        gone = retired(root, wanted)
        if not gone:
            return files
        if batches is not None:
            raise stale_error(root, gone)
    raise stale_error(root, gone)


def in_window(files: list[PurePath], since: pd.Timestamp | None, until: pd.Timestamp | None) -> list[PurePath]:
    """The events files whose day (their ``event_date=`` folder, a UTC date) can hold times in ``[since, until)``.

    Examples
    --------
    >>> files = [Path(f"events/event_date=2026-11-{d}/part-a-0.parquet") for d in (20, 21, 22)]
    >>> since, until = pd.Timestamp("2026-11-21T12:00Z"), pd.Timestamp("2026-11-22T00:00Z")
    >>> [f.parent.name[-2:] for f in in_window(files, since, until)]
    ['21']
    """
    if since is None and until is None:
        return files
    kept = []
    for path in files:
        try:
            day = pd.Timestamp(path.parent.name.removeprefix("event_date="), tz="UTC")
        except ValueError:
            kept.append(path)  # not a day: read it, and let its times decide
            continue
        if (since is None or day + pd.Timedelta(days=1) > since) and (until is None or day < until):
            kept.append(path)
    return kept


#: How often a reader lists the dataset again when a compaction retired batches meanwhile.
_ATTEMPTS = 5


def retired(root: Root, batches: Collection[str]) -> list[str]:
    """Batches of a snapshot whose manifest is gone: a compaction merged and retired them."""
    present = {batch_of(p) for p in batch_files(root, "manifest")}
    return sorted(set(batches) - present)


def stale_error(root: Root, gone: list[str]) -> DatasetError:
    return DatasetError(
        f"{root}: batch {gone[0]}{f' and {len(gone) - 1} more' if len(gone) > 1 else ''}"
        " of this snapshot were merged by `tokenaudit compact` while being read",
        hint="run the command again: it reads the merged batch",
    )


def damaged_error(root: Root, path: PurePath, exc: Exception) -> DatasetError:
    location = locate(root)
    manifest = location.root / "manifest" / f"batch-{batch_of(path)}.parquet"
    if path.is_relative_to(location.root) and not location.exists(path) and not location.exists(manifest):
        return stale_error(location, [batch_of(path)])  # retired by a compaction while being read
    text = re.sub(r"^Could not open Parquet input source '[^']*': ", "", str(exc).strip())
    reason = text.splitlines()[0] if text else type(exc).__name__
    if path == manifest:
        hint = "delete it: the next ingest discards the rest of that batch and reads its sources again"
    else:
        hint = (f"restore it from a backup, or delete {location.display(manifest)}: the next ingest then discards"
                " that batch and reads its sources again")
    return DatasetError(f"{location.display(path)}: damaged ({reason})", hint=hint)


def check_file_version(path: PurePath, metadata: dict[bytes, bytes] | None) -> None:
    raw = (metadata or {}).get(VERSION_KEY, b"1")
    try:
        version = int(raw)
    except ValueError:
        raise DatasetError(f"{path}: damaged (schema version {raw!r})", hint="restore it from a backup") from None
    if version > SCHEMA_VERSION:
        raise SchemaMismatchError(
            f"{path}: written with schema version {version}; this tokenaudit reads up to {SCHEMA_VERSION}",
            hint="upgrade tokenaudit",
        )


def read_file(root: Root, path: PurePath, schema: pa.Schema) -> pa.Table:
    """One committed Parquet file, checked for its version, or a clear error."""
    root = locate(root)
    try:
        check_file_version(path, root.read_metadata(path).metadata)
        return root.read_table(path, schema=schema)
    except (pa.ArrowException, OSError) as exc:
        raise damaged_error(root, path, exc) from None


def committed_batches(root: Root) -> list[str]:
    """Ids of the batches whose manifest exists: a snapshot to pass to the readers.

    A batch is committed by the atomic rename of its manifest, after all its
    other files are in place, so the files of these batches are complete.
    Batches that a compaction's manifest supersedes are left out (they are
    retired, their files about to be deleted). Each manifest's footer is
    checked: the dataset is only as sound as its manifests.

    Raises
    ------
    DatasetError
        If a manifest file is damaged.
    SchemaMismatchError
        If a manifest file was written by a newer version.
    """
    root = locate(root)
    for _attempt in range(_ATTEMPTS):
        files = batch_files(root, "manifest")
        superseded: set[str] = set()
        try:
            for path in files:
                superseded.update(superseded_by(root, path))
        except FileNotFoundError:  # retired since the listing: list again
            continue
        # A listing made while a compaction commits may miss both the new manifest and an old
        # one (readdir is not atomic); two listings that agree are a consistent snapshot.
        if batch_files(root, "manifest") == files:
            return [batch_of(p) for p in files if batch_of(p) not in superseded]
    raise DatasetError(f"{root}: the dataset kept changing while being read",
                       hint="run the command again once `tokenaudit compact` has finished")


def superseded_by(root: Root, path: PurePath) -> list[str]:
    """The batches a manifest file supersedes (none but for a compaction's), its version checked."""
    root = locate(root)
    try:
        metadata = root.read_metadata(path).metadata
        check_file_version(path, metadata)
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError) as exc:
        if not root.exists(path):
            raise FileNotFoundError(path) from None
        raise damaged_error(root, path, exc) from None
    raw = (metadata or {}).get(SUPERSEDES_KEY)
    if raw is None:
        return []
    try:
        ids = json.loads(raw)
    except ValueError:
        ids = None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise DatasetError(f"{path}: damaged (its list of merged batches is not JSON)", hint="restore it from a backup")
    return ids
