"""A lease on an object store: one holder at a time, without a lock server, by conditional PUTs.

A local dataset has its ``fcntl`` writer lock. An object store has none, and two sites compacting the same
dataset at once would each merge the same batches and supersede them twice (the events would then be read
twice). So a compaction there first takes the lease ``compact.lease`` under the dataset's prefix, and an ingest,
just before it commits, the short lease ``commit.lease`` (:mod:`tokenaudit.store.conflicts`, with a period of
minutes: a commit takes seconds):

- It *creates* the lease object by a conditional PUT (``If-None-Match: *``; S3 and S3-compatible stores answer
  ``412 Precondition Failed`` if it exists). Of two sites at once exactly one succeeds; the other gets a
  :class:`~tokenaudit.errors.LeaseBusyError` naming the holder and when its lease ends.
- The lease holds its holder (host and process), a random ``nonce`` and when it expires
  (:data:`LEASE_PERIOD`, or the ``period`` its taker gives). The holder deletes it when it is done.
- A holder that was killed leaves its lease behind. Once expired, another site takes it over: it first
  creates ``leases/taken-<nonce>`` by a conditional PUT, which only one site can do for that lease, then
  deletes the expired lease and creates its own. A site too slow to win that marker gives up; one that
  comes later finds the winner's fresh lease.
- A holder checks, before each commit, that its lease has not expired (:func:`check_held`): a compaction
  that outlives its lease stops rather than commit alongside another holder.

Times are the sites' clocks: they must agree to well within :data:`LEASE_PERIOD` (NTP does).

Examples
--------
>>> from datetime import UTC, datetime
>>> from tokenaudit.store.location import locate
>>> location = locate("memory://lease-example/ds")
>>> now = datetime(2026, 12, 5, tzinfo=UTC)
>>> with holding(location, "compact", now=lambda: now) as lease:
...     try:
...         acquire(location, "compact", now=now)
...     except DatasetError as exc:
...         print(str(exc).partition(": ")[2].partition(" (")[0])
...     lease.expires_at.hour
another compact is running
6
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..errors import DatasetError, LeaseBusyError
from .location import DatasetLocation

#: How long a lease lasts: a compaction of a month of batches takes minutes; 6 hours is far beyond any.
LEASE_PERIOD = timedelta(hours=6)
#: Where the markers of taken-over leases are kept (one small object per expired lease).
TAKEN_FOLDER = "leases"
_ATTEMPTS = 3


@dataclass(frozen=True)
class Lease:
    """Who holds a lease, until when, and the nonce that tells this lease from any other."""

    name: str
    holder: str
    nonce: str
    expires_at: datetime

    def to_bytes(self) -> bytes:
        return json.dumps({"holder": self.holder, "nonce": self.nonce,
                           "expires_at": self.expires_at.isoformat()}).encode()

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Lease:
        content = json.loads(data)
        return cls(name, str(content["holder"]), str(content["nonce"]), datetime.fromisoformat(content["expires_at"]))


def _now() -> datetime:
    return datetime.now(UTC)


def _busy(location: DatasetLocation, current: Lease) -> LeaseBusyError:
    return LeaseBusyError(
        f"{location}: another {current.name} is running ({current.holder}), busy until "
        f"{current.expires_at.isoformat()}",
        hint=f"run `tokenaudit {current.name}` again once it has finished",
    )


def acquire(location: DatasetLocation, name: str, *, now: datetime | None = None,
            period: timedelta = LEASE_PERIOD) -> Lease:
    """Take the lease ``<name>.lease`` of the dataset at ``location``, or raise if another holder has it.

    Raises
    ------
    LeaseBusyError
        If another holder's lease has not expired, or another site took over an expired one first.
    DatasetError
        If the lease object is damaged.
    """
    now = now or _now()
    path = location.root / f"{name}.lease"
    mine = Lease(name, f"{socket.gethostname()} pid {os.getpid()}", uuid.uuid4().hex, now + period)
    current: Lease | None = None
    for _attempt in range(_ATTEMPTS):
        if location.create(path, mine.to_bytes()):
            return mine
        try:
            current = Lease.from_bytes(name, location.read_bytes(path))
        except FileNotFoundError:  # released meanwhile: try again
            continue
        except (ValueError, KeyError, TypeError):
            raise DatasetError(f"{location.display(path)}: damaged",
                               hint=f"if no {name} is running, delete it") from None
        if current.expires_at > now:
            raise _busy(location, current)
        # Expired: its holder was killed. Only one site wins the marker of this lease, and replaces it.
        if not location.create(location.root / TAKEN_FOLDER / f"taken-{current.nonce}", mine.to_bytes()):
            raise _busy(location, current)
        location.delete(path)
    assert current is not None
    raise _busy(location, current)


def check_held(location: DatasetLocation, lease: Lease, *, now: datetime | None = None) -> None:
    """Raise unless ``lease`` is still valid: called before each commit made under it.

    Raises
    ------
    DatasetError
        If the lease has expired (another site may have taken it over).
    """
    if (now or _now()) >= lease.expires_at:
        raise DatasetError(f"{location}: the {lease.name} lease expired before the work was done",
                           hint=f"run `tokenaudit {lease.name}` again: what was committed stays")


def release(location: DatasetLocation, lease: Lease) -> None:
    """Give the lease back: delete it if it is still this one."""
    path = location.root / f"{lease.name}.lease"
    try:
        current = Lease.from_bytes(lease.name, location.read_bytes(path))
    except (OSError, ValueError, KeyError, TypeError):
        return
    if current.nonce == lease.nonce:
        location.delete(path)


@contextmanager
def holding(location: DatasetLocation, name: str, *, now: Callable[[], datetime] | None = None,
            period: timedelta = LEASE_PERIOD) -> Iterator[Lease]:
    """Hold the lease ``name`` of the dataset while the block runs (see :func:`acquire`)."""
    lease = acquire(location, name, now=(now or _now)(), period=period)
    try:
        yield lease
    finally:
        release(location, lease)
