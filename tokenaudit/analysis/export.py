"""Every stored event, classified and paired, a slice at a time: an export whose memory is a slice's, not the dataset's.

:func:`tokenaudit.analysis.failures.paired_events` pairs an HTTP refusal with the
line that says why (within 10 s) and a follow-up line with the failure it follows
(within 2 s). A slice of time read with the seconds around it, :data:`CONTEXT`, on both
sides, pairs each of its events as the whole dataset would; the events of the margins
are yielded with their own slice. A slice is a day, or a part of a day that holds more
than :data:`SLICE_EVENTS` events (as its files' row counts say).
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pyarrow as pa

from ..catalogue.loading import load_catalogue
from ..catalogue.order import Catalogue
from ..store.dataset import read_events
from ..store.layout import committed_batches, committed_files, damaged_error
from ..store.location import DatasetLocation, Root, locate
from .failures import FOLLOW_WINDOW, PAIR_WINDOW, paired_events

#: The seconds read on each side of a slice: the widest pairing window.
CONTEXT = max(PAIR_WINDOW, FOLLOW_WINDOW)
#: A day with more events than this is read in as many equal parts of the day as it takes.
SLICE_EVENTS = 100_000


def iter_paired_events(
    root: Root,
    *,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    catalogue: Catalogue | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield :func:`~tokenaudit.analysis.failures.paired_events` of the stored events, a slice a frame, oldest first.

    Concatenated, the frames hold the rows :func:`paired_events` gives for all the
    events of ``[since, until)`` at once, in the same order. All slices are read from
    one snapshot of the committed batches.

    Raises
    ------
    DatasetError
        If there is no dataset at ``root`` or a file of it is damaged.
    """
    root = locate(root)
    batches = committed_batches(root)  # one snapshot for every day
    catalogue = catalogue or load_catalogue()
    for first, last in _slices(root, batches):
        start = first if since is None else max(first, since)
        end = last if until is None else min(last, until)
        if start >= end:
            continue
        frame = paired_events(read_events(root, since=start - CONTEXT, until=end + CONTEXT, batches=batches),
                              catalogue)
        inside = ((frame["ts"] >= start) & (frame["ts"] < end)).to_numpy(dtype=bool)
        if inside.any():
            yield frame[inside].reset_index(drop=True)


def _slices(root: DatasetLocation, batches: list[str]) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The slices of time that hold events of ``batches``: their days (partition folders), each cut in equal
    parts of at most about :data:`SLICE_EVENTS` events (by the row counts of its files)."""
    events: dict[str, int] = {}
    for path in committed_files(root, "events", batches):
        try:
            rows = root.read_metadata(path).num_rows
        except (pa.ArrowException, OSError) as exc:
            raise damaged_error(root, path, exc) from None
        events[path.parent.name] = events.get(path.parent.name, 0) + rows
    slices: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    for name in sorted(events):
        day = pd.Timestamp(name.removeprefix("event_date="), tz="UTC")
        parts = max(1, -(-events[name] // SLICE_EVENTS))
        bounds = [day + pd.Timedelta(days=1) * number / parts for number in range(parts + 1)]
        slices.extend(zip(bounds[:-1], bounds[1:], strict=True))
    return slices
