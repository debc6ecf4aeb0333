"""Where a dataset lives: a local folder, or a prefix on an object store or another fsspec file system.

A dataset root is a path (``/srv/tokenaudit``, or ``file:///srv/tokenaudit``, the same thing) or an
fsspec URL (``s3://bucket/prefix``, ``gs://…``, ``memory://…`` and the others fsspec knows).
:func:`locate` turns either into a :class:`DatasetLocation`, the one object through which the store
(:mod:`tokenaudit.store.layout`, :mod:`tokenaudit.store.dataset`, the event classes, compaction) lists,
reads, writes and deletes its files:

- On a local folder every operation is the ``pathlib`` call it always was: files are :class:`~pathlib.Path`
  objects, a Parquet file is written under a temporary name and renamed (:func:`~tokenaudit.common.files.replacing`),
  and writers hold an ``fcntl`` lock.
- Elsewhere, files are :class:`~pathlib.PurePosixPath` objects naming keys of the file system (``bucket/prefix/…``),
  Arrow reads them through ``pyarrow.fs.PyFileSystem(FSSpecHandler(fs))``, and a file is written whole: serialised
  in memory, then stored by one PUT, which an object store makes visible all at once or not at all. There is no
  rename and no lock: :mod:`tokenaudit.store.dataset` explains why the commit protocol holds without them.

Credentials and settings come from fsspec's usual places: for ``s3://``, s3fs and botocore read ``AWS_*``
variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` for an S3-compatible server,
``AWS_PROFILE``) and ``~/.aws/``; fsspec adds ``FSSPEC_S3_<OPTION>`` variables and its configuration files
(``~/.config/fsspec/*.json``). Installing the ``s3`` extra (``pip install 'tokenaudit[s3]'``) brings s3fs.

Examples
--------
>>> location = locate("memory://doc-example/dataset")
>>> location.is_local, str(location)
(False, 'memory://doc-example/dataset')
>>> location.write_bytes(location.root / "notes" / "a.txt", b"whole")
>>> [p.name for p in location.glob("notes", "*.txt")], location.read_bytes(location.root / "notes" / "a.txt")
(['a.txt'], b'whole')
>>> location.create(location.root / "notes" / "a.txt", b"other")  # it exists: not replaced
False
>>> locate("/srv/tokenaudit").is_local
True
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePath, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeAlias

import pyarrow as pa
import pyarrow.parquet as pq

from ..common.files import create_once, replacing
from ..errors import DatasetError

if TYPE_CHECKING:
    import pyarrow.fs

#: What the store's readers and writers accept as a dataset root.
Root: TypeAlias = "str | Path | DatasetLocation"
#: Packages whose own exceptions (not ``OSError``) say that an object store could not be reached or refused:
#: botocore's ``EndpointConnectionError`` and ``NoCredentialsError``, aiohttp's connection errors.
_CLIENT_PACKAGES = ("botocore", "aiobotocore", "aiohttp", "s3fs", "fsspec", "gcsfs", "adlfs")


def unreachable_error(location: object, exc: BaseException) -> DatasetError:
    """The error for a dataset on an object store that cannot be reached: no bucket, no access, no server."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, PermissionError) or "credential" in type(exc).__name__.lower():
        hint = "check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws) and their rights"
    elif isinstance(exc, FileNotFoundError):
        hint = "check the bucket's name, or create the bucket first"
    else:
        hint = "check the URL, the endpoint (AWS_ENDPOINT_URL) and the network"
    return DatasetError(f"{location}: cannot be reached ({reason})", hint=hint)


class DatasetLocation:
    """A dataset root and the file system it lies on.

    Parameters
    ----------
    root
        The root folder: a :class:`~pathlib.Path` for a local folder, else the file system's path of the
        prefix (``bucket/prefix`` for S3).
    fs
        The fsspec file system, or ``None`` for a local folder.
    url
        How to name the root to a user (``s3://bucket/prefix``); the path itself by default.
    """

    def __init__(self, root: PurePath, fs: Any = None, *, url: str | None = None) -> None:
        self.fs = fs
        self.root: PurePath = Path(root) if fs is None else PurePosixPath(str(root).rstrip("/"))
        self.url = url if url is not None else str(self.root)
        self._arrow_fs: pyarrow.fs.FileSystem | None = None

    @property
    def is_local(self) -> bool:
        """Whether the dataset is a local folder (atomic rename and ``fcntl`` locks available)."""
        return self.fs is None

    @property
    def given(self) -> Path | str:
        """The root as reports name it: the :class:`~pathlib.Path` of a local folder, else the URL."""
        return self.root if isinstance(self.root, Path) else self.url

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"DatasetLocation({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DatasetLocation) and (self.url, self.root) == (other.url, other.root)

    def __hash__(self) -> int:
        return hash((self.url, self.root))

    def __getstate__(self) -> dict[str, object]:  # the Arrow wrapper is made again where it is needed
        return {**self.__dict__, "_arrow_fs": None}

    @contextmanager
    def _store(self) -> Iterator[None]:
        """Turn what the object store's client raises, but for a missing or existing file, into a DatasetError."""
        try:
            yield
        except (FileNotFoundError, FileExistsError):
            raise
        except OSError as exc:
            raise unreachable_error(self, exc) from None
        except Exception as exc:
            if type(exc).__module__.partition(".")[0] in _CLIENT_PACKAGES:
                raise unreachable_error(self, exc) from None
            raise

    def display(self, path: PurePath) -> str:
        """``path`` as a user would name it: a local path, or a URL under the root's.

        Examples
        --------
        >>> location = DatasetLocation(PurePosixPath("bucket/ds"), object(), url="s3://bucket/ds")
        >>> location.display(location.root / "manifest" / "batch-1.parquet")
        's3://bucket/ds/manifest/batch-1.parquet'
        """
        if self.is_local:
            return str(path)
        try:
            return f"{self.url}/{PurePosixPath(path).relative_to(self.root)}"
        except ValueError:
            return str(path)

    # -- listing and metadata ------------------------------------------------------------------

    def glob(self, folder: str, pattern: str) -> list[PurePath]:
        """The files under ``folder`` (relative to the root) matching ``pattern``, sorted."""
        if self.fs is None:
            return sorted((Path(self.root) / folder).glob(pattern))
        try:
            with self._store():
                found = self.fs.glob(f"{self.root}/{folder}/{pattern}")
        except FileNotFoundError:  # no bucket: as a folder that does not exist, nothing is there
            return []
        return sorted(PurePosixPath(name) for name in found)

    def exists(self, path: PurePath) -> bool:
        """Whether the file ``path`` exists."""
        if self.fs is None:
            return Path(path).exists()
        with self._store():
            return bool(self.fs.exists(str(path)))

    def size(self, path: PurePath) -> int:
        """The size of the file ``path`` in bytes."""
        if self.fs is None:
            return Path(path).stat().st_size
        with self._store():
            return int(self.fs.size(str(path)))

    def modified(self, path: PurePath) -> datetime:
        """When the file ``path`` was last written (UTC)."""
        if self.fs is None:
            return datetime.fromtimestamp(Path(path).stat().st_mtime, UTC)
        with self._store():
            stamp: datetime = self.fs.modified(str(path))
        return stamp.astimezone(UTC) if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)

    def delete(self, path: PurePath) -> None:
        """Delete the file ``path``; one that is gone already is no error."""
        if self.fs is None:
            Path(path).unlink(missing_ok=True)
            return
        try:
            with self._store():
                self.fs.rm_file(str(path))
        except FileNotFoundError:
            pass

    # -- reading and writing whole files -------------------------------------------------------

    def read_bytes(self, path: PurePath) -> bytes:
        """The content of the file ``path``."""
        if self.fs is None:
            return Path(path).read_bytes()
        with self._store():
            return bytes(self.fs.cat_file(str(path)))

    def write_bytes(self, path: PurePath, data: bytes) -> None:
        """Write ``data`` as the file ``path``, whole: readers see the old content or the new one, never a part."""
        if self.fs is None:
            with replacing(Path(path)) as temporary:
                temporary.write_bytes(data)
            return
        with self._store():
            self.fs.pipe_file(str(path), data)

    def create(self, path: PurePath, data: bytes) -> bool:
        """Create the file ``path`` holding ``data`` unless it exists; return whether this call created it.

        Of two callers at once exactly one creates it: locally by a hard link, on S3 (and fsspec's memory file
        system) by a conditional PUT (``If-None-Match: *``).

        Raises
        ------
        DatasetError
            If the file system cannot create a file only if it is absent.
        """
        if self.fs is None:
            return create_once(Path(path), data)
        try:
            with self._store():
                self.fs.pipe_file(str(path), data, mode="create")
        except FileExistsError:
            return False
        except (NotImplementedError, TypeError, ValueError):
            raise DatasetError(f"{self.url}: this file system cannot create a file only if it is absent",
                               hint="use a local folder, S3 or an S3-compatible store for the dataset") from None
        return True

    def write_parquet(self, path: PurePath, table: pa.Table, **options: Any) -> None:
        """Write ``table`` as the Parquet file ``path``, whole (``options``: :func:`pyarrow.parquet.write_table`'s)."""
        if self.fs is None:
            with replacing(Path(path)) as temporary:
                pq.write_table(table, temporary, **options)
            return
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, **options)
        with self._store():
            self.fs.pipe_file(str(path), sink.getvalue().to_pybytes())

    # -- Arrow --------------------------------------------------------------------------------

    @property
    def arrow_fs(self) -> pyarrow.fs.FileSystem | None:
        """The file system to pass Arrow as ``filesystem=`` (``None``: the local one)."""
        if self.fs is None:
            return None
        if self._arrow_fs is None:
            from pyarrow.fs import FSSpecHandler, PyFileSystem

            self._arrow_fs = PyFileSystem(FSSpecHandler(self.fs))
        return self._arrow_fs

    def parquet_file(self, path: PurePath, **options: Any) -> pq.ParquetFile:
        """Open the Parquet file ``path`` (``options`` go to :class:`pyarrow.parquet.ParquetFile`)."""
        if self.fs is None:
            return pq.ParquetFile(path, **options)
        return pq.ParquetFile(str(path), filesystem=self.arrow_fs, **options)

    def read_metadata(self, path: PurePath) -> Any:
        """The Parquet footer of ``path``."""
        if self.fs is None:
            return pq.read_metadata(path)
        return pq.read_metadata(str(path), filesystem=self.arrow_fs)

    def read_table(self, path: PurePath, **options: Any) -> pa.Table:
        """Read the Parquet file ``path`` (``options`` go to :func:`pyarrow.parquet.read_table`)."""
        if self.fs is None:
            return pq.read_table(path, **options)
        return pq.read_table(str(path), filesystem=self.arrow_fs, **options)


def is_url(text: str) -> bool:
    """Whether ``text`` names a dataset by an fsspec URL other than a local one (``file://``).

    Examples
    --------
    >>> is_url("s3://bucket/ds"), is_url("file:///srv/ds"), is_url("/srv/ds")
    (True, False, False)
    """
    protocol, separator, _ = text.partition("://")
    return bool(separator) and protocol not in ("file", "local")


def locate(dataset: Root, **storage_options: Any) -> DatasetLocation:
    """The :class:`DatasetLocation` of a dataset root: a path, a ``file://`` URL, or another fsspec URL.

    Parameters
    ----------
    dataset
        A local folder, or a URL such as ``s3://bucket/prefix``; a :class:`DatasetLocation` is returned as it is.
    storage_options
        Options of the fsspec file system (``endpoint_url=…``, ``profile=…``), besides those fsspec and the file
        system read from the environment and configuration files.

    Raises
    ------
    DatasetError
        If the URL's file system is unknown, or its package is not installed.

    Examples
    --------
    >>> locate("file:///srv/tokenaudit").root
    PosixPath('/srv/tokenaudit')
    >>> locate("nosuch://bucket/x")
    Traceback (most recent call last):
    ...
    tokenaudit.errors.DatasetError: nosuch://bucket/x: no file system for 'nosuch://'
    """
    if isinstance(dataset, DatasetLocation):
        return dataset
    text = os.fspath(dataset)
    protocol, separator, rest = text.partition("://")
    if isinstance(dataset, Path) or not separator:
        return DatasetLocation(Path(text))
    if protocol == "file" or protocol == "local":
        return DatasetLocation(Path(rest))
    try:
        import fsspec.core

        fs, path = fsspec.core.url_to_fs(text, **storage_options)
    except ImportError as exc:
        extra = "s3" if protocol in ("s3", "s3a") else None
        hint = f"pip install 'tokenaudit[{extra}]'" if extra else f"install the fsspec package for {protocol}://"
        raise DatasetError(f"{text}: reading {protocol}:// needs {exc.name or 'a package'}", hint=hint) from None
    except ValueError:
        raise DatasetError(f"{text}: no file system for '{protocol}://'",
                           hint="use a local folder or a URL such as s3://bucket/prefix") from None
    return DatasetLocation(PurePosixPath(path), fs, url=text.rstrip("/"))
