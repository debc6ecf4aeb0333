"""The files tokenaudit keeps for itself: where they live, and how one is replaced without a torn state.

- Platform folders come from platformdirs (``$XDG_CACHE_HOME``, ``$XDG_DATA_HOME`` and
  ``$XDG_CONFIG_HOME`` on Linux, their equivalents elsewhere).
- :func:`replacing` is the one way a file is written: into a hidden temporary beside it,
  owner-only, then renamed over it. A reader sees the old file or the new one, never half.
- :func:`read_cached` and :func:`write_cached` keep derived data that can be rebuilt (the
  checked catalogue, the checked format patterns) as JSON, never pickle: a cache file must
  not be able to run code. Any problem reading one means a rebuild.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with replacing(folder / "notes.txt") as temporary:
...     _ = temporary.write_text("written whole")
>>> (folder / "notes.txt").read_text(), [p.name for p in folder.iterdir()]
('written whole', ['notes.txt'])
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import platformdirs

APP = "tokenaudit"
#: How long a cache file of another version may stay unused before it is deleted (two installs may share the folder).
STALE_CACHE_SECONDS = 30 * 24 * 3600


def cache_dir() -> Path:
    """Where tokenaudit keeps derived data it can rebuild (``~/.cache/tokenaudit`` on Linux)."""
    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def data_dir() -> Path:
    """Where tokenaudit keeps its data by default (``~/.local/share/tokenaudit`` on Linux)."""
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def config_dir() -> Path:
    """Where tokenaudit keeps its settings and keys (``~/.config/tokenaudit`` on Linux)."""
    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def temporary_name(path: Path) -> Path:
    """A hidden temporary name beside ``path``, unique to this process: readers skip names that start with a dot."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def is_temporary(name: str) -> bool:
    """Whether ``name`` is one of :func:`temporary_name`'s names, left behind by a write that did not finish."""
    return name.startswith(".") and name.endswith(".tmp")


@contextmanager
def private_files() -> Iterator[None]:
    """Create files and folders for the owner alone while the block runs (a umask of 077)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; when the block ends without error it replaces ``path`` atomically.

    The folders are created (owner-only) as needed. When the block raises, the
    temporary file is removed and ``path`` is left as it was.
    """
    temporary = temporary_name(path)
    with private_files():  # mkdir ignores mode for the parents it creates; the umask does not
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            yield temporary
            os.replace(temporary, path)
        except BaseException:
            with suppress(OSError):
                temporary.unlink(missing_ok=True)
            raise


def create_once(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` (owner-only) unless it exists; return whether this call created it.

    The file is written in full under a temporary name, then linked into place: a
    process killed meanwhile leaves no empty file, and of two callers at once one
    wins and the other finds its file.
    """
    with private_files():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = temporary_name(path)
        try:
            temporary.write_bytes(data)
            try:
                os.link(temporary, path)
            except FileExistsError:
                return False
        finally:
            temporary.unlink(missing_ok=True)
    return True


def read_cached(name: str) -> object | None:
    """The JSON value cached as ``name`` in :func:`cache_dir`, or ``None`` if there is none or it cannot be read.

    Reading a cache file marks it as in use, so another install sharing the folder does
    not remove it as stale.
    """
    path = cache_dir() / name
    try:
        value: object = json.loads(path.read_text(encoding="utf-8"))
        os.utime(path)
    except (OSError, ValueError):
        return None
    return value


def write_cached(name: str, value: object, *, stale: str, unused_for: float = STALE_CACHE_SECONDS) -> None:
    """Cache ``value`` as JSON under ``name``; remove the other files matching ``stale`` unused for ``unused_for`` s.

    A cache is an optimisation: a folder that cannot be written is no error.
    """
    folder = cache_dir()
    try:
        with replacing(folder / name) as temporary:
            temporary.write_text(json.dumps(value), encoding="utf-8")
        cutoff = time.time() - unused_for
        for old in folder.glob(stale):
            if old.name != name and old.stat().st_mtime <= cutoff:
                old.unlink(missing_ok=True)
    except OSError:
        pass
