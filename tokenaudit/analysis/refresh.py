"""Stored events of another catalogue, matched again with the current one: what compaction writes back.

:func:`~tokenaudit.analysis.failures.classify` matches such events again on every run; an
upgrade that changes the catalogue makes every stored event one of them, and millions of
messages are then matched again each night. :func:`refreshed_events` does the same matching
once, for :func:`tokenaudit.store.compact.compact` to store.
"""

from __future__ import annotations

import pyarrow as pa

from ..catalogue.order import Catalogue
from .failures import rematch, stale_events


def refreshed_events(events: pa.Table, catalogue: Catalogue) -> pa.Table:
    """``events`` with those classified with another catalogue matched again with ``catalogue``, and marked so.

    The values are those :func:`~tokenaudit.analysis.failures.classify` gives the same
    events (its signature, captured values and kind); the other events are unchanged.

    Examples
    --------
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> catalogue = load_catalogue()
    >>> line = "openid authentication failure; rhost=::ffff:192.0.2.1 msg=Failed to verify ID token: " \\
    ...        "Invalid audiences: `377572587972067335` is not a trusted audience"
    >>> old = pa.table({"format": ["syslog_rfc3164"], "event_kind": ["auth_failure"], "process": ["pvedaemon"],
    ...                 "writer": [None], "message": [line], "signature": ["an.old.id"], "catalogue": ["0" * 16],
    ...                 "audience": pa.array([None], pa.string())})
    >>> new = refreshed_events(old, catalogue).to_pylist()[0]
    >>> new["signature"], new["audience"], new["catalogue"] == catalogue.fingerprint
    ('openidconnect.untrusted_audience', '377572587972067335', True)
    """
    frame = events.to_pandas()
    stale = stale_events(frame, catalogue)
    if not stale.any():
        return events
    frame = rematch(frame, stale, catalogue)
    marks = frame["catalogue"].astype(object).to_numpy().copy()
    marks[stale] = catalogue.fingerprint
    frame["catalogue"] = marks
    return pa.Table.from_pandas(frame[events.column_names], schema=events.schema, preserve_index=False)
