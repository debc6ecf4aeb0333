"""Every stored event, classified and paired, a day at a time: an export whose memory is a day's, not the dataset's.

:func:`tokenaudit.analysis.failures.paired_events` pairs an HTTP refusal with the
line that says why (within 10 s) and a follow-up line with the failure it follows
(within 2 s). A day read with the seconds around it, :data:`CONTEXT`, on both sides,
pairs each of its events as the whole dataset would; the events of the margins are
yielded with their own day.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ..catalogue.matching import Catalogue, load_catalogue
from ..store.dataset import read_events
from ..store.layout import committed_batches, committed_files
from .failures import FOLLOW_WINDOW, PAIR_WINDOW, paired_events

#: The seconds read on each side of a day: the widest pairing window.
CONTEXT = max(PAIR_WINDOW, FOLLOW_WINDOW)


def iter_paired_events(
    root: str | Path,
    *,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    catalogue: Catalogue | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield :func:`~tokenaudit.analysis.failures.paired_events` of the stored events, one day a frame, oldest first.

    Concatenated, the frames hold the rows :func:`paired_events` gives for all the
    events of ``[since, until)`` at once, in the same order. All days are read from
    one snapshot of the committed batches.

    Raises
    ------
    DatasetError
        If there is no dataset at ``root`` or a file of it is damaged.
    """
    root = Path(root)
    batches = committed_batches(root)  # one snapshot for every day
    catalogue = catalogue or load_catalogue()
    for day in _days(root, batches):
        start = day if since is None else max(day, since)
        end = day + pd.Timedelta(days=1) if until is None else min(day + pd.Timedelta(days=1), until)
        if start >= end:
            continue
        frame = paired_events(read_events(root, since=start - CONTEXT, until=end + CONTEXT, batches=batches),
                              catalogue)
        inside = ((frame["ts"] >= start) & (frame["ts"] < end)).to_numpy(dtype=bool)
        if inside.any():
            yield frame[inside].reset_index(drop=True)


def _days(root: Path, batches: list[str]) -> list[pd.Timestamp]:
    """The days (UTC midnights) that hold events of ``batches``, from their partition folders."""
    names = {path.parent.name for path in committed_files(root, "events", batches)}
    return sorted(pd.Timestamp(name.removeprefix("event_date="), tz="UTC") for name in names)
