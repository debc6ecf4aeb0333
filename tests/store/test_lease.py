"""The compaction lease, on fsspec's memory file system (which creates a file only if absent, as S3 does)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tokenaudit.errors import DatasetError
from tokenaudit.store.lease import LEASE_PERIOD, TAKEN_FOLDER, acquire, check_held, holding, release
from tokenaudit.store.location import DatasetLocation, locate

NOW = datetime(2026, 12, 5, 3, tzinfo=UTC)


@pytest.fixture
def location() -> DatasetLocation:
    return locate(f"memory://lease-{uuid.uuid4().hex[:12]}/ds")


def test_one_holder_at_a_time(location: DatasetLocation) -> None:
    with holding(location, "compact", now=lambda: NOW) as lease:
        assert lease.expires_at == NOW + LEASE_PERIOD
        with pytest.raises(DatasetError, match="another compact is running") as caught:
            acquire(location, "compact", now=NOW + timedelta(hours=1))
        assert "busy until 2026-12-05T09:00:00+00:00" in str(caught.value) and caught.value.hint
    assert not location.exists(location.root / "compact.lease")  # given back
    acquire(location, "compact", now=NOW)


def test_an_expired_lease_is_taken_over_by_one_site_only(location: DatasetLocation) -> None:
    killed = acquire(location, "compact", now=NOW)
    later = killed.expires_at + timedelta(seconds=1)
    winner = acquire(location, "compact", now=later)
    assert winner.nonce != killed.nonce
    assert location.exists(location.root / TAKEN_FOLDER / f"taken-{killed.nonce}")
    with pytest.raises(DatasetError, match="busy"):
        acquire(location, "compact", now=later)
    release(location, killed)  # the killed holder's late release leaves the winner's lease alone
    assert location.exists(location.root / "compact.lease")


def test_a_holder_past_its_lease_stops(location: DatasetLocation) -> None:
    lease = acquire(location, "compact", now=NOW)
    check_held(location, lease, now=NOW + LEASE_PERIOD - timedelta(seconds=1))
    with pytest.raises(DatasetError, match="expired"):
        check_held(location, lease, now=NOW + LEASE_PERIOD)
