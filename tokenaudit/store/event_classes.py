"""Stored events collapsed into classes of identical rows, read straight from Parquet.

Millions of failure events are mostly repeats: the same message from the same
client, differing only in time and line number. Analysis classifies and
recommends per distinct row, so :func:`read_event_classes` reads the events
table as Arrow dictionary codes (a column that Parquet's statistics say is all
null or one value in a file is not read at all), and collapses rows that agree
on every column but ``ts``, ``line_no``, ``source_file`` and the batch
bookkeeping into one class with a count, the first and last time, and the
position of its first row. Per-row times stay available, so the steps that pair
single events (a refusal with its daemon line, a follow-up with its lead, a
failure with a captured token) run on the rows of the few classes they concern.

Real failures differ event by event in a few columns grouping never reads: the
client address, the pid, the expiry times, and the message that holds them. A
:class:`Looseness` lets a failure of the current catalogue leave those out of its
class (:data:`LOOSE_COLUMNS`): the class holds its first event's values, and
:meth:`EventClasses.rows` gives each event its own, read from the file.

Ingest writes each events file's classes beside it (:func:`summarize_file`, in
``event_classes/``); reading those summaries, a few thousand rows a file, replaces
reading the events, and a file's events are read only to expand one of its classes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..common.threads import ordered_map
from ..errors import DatasetError
from ..schema import EVENT_SCHEMA
from .layout import check_file_version, committed_files, damaged_error, in_window
from .location import DatasetLocation, Root, locate
from .looseness import LOOSE_COLUMNS, Looseness, first_present, loose_rows

#: Columns that never matter to analysis: batch bookkeeping, and a message's full length.
_UNUSED = ("event_date", "stream_id", "batch_id", "message_length")
#: Columns kept per row rather than per class.
_PER_ROW = ("ts", "line_no", "source_file")
#: Columns of a class, in schema order.
CLASS_COLUMNS = tuple(n for n in EVENT_SCHEMA.names if n not in _UNUSED and n not in _PER_ROW)
_STRINGS = tuple(n for n in CLASS_COLUMNS if EVENT_SCHEMA.field(n).type == pa.string())


#: Per event of a file: line number, source file, and its own value of each loose column it was read with.
_Details = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]
_Rows = tuple[np.ndarray, np.ndarray, Callable[..., _Details]]


class _Part:
    """The events of one file (or frame), in time order: each one's class, time and place.

    The per-event arrays are loaded when first asked for: a file read through its
    summary is expanded only if a pairing step needs its single events.
    """

    def __init__(self, position: int, first_class: int, classes: int, span: tuple[int, int],
                 load: Callable[[], _Rows]) -> None:
        self.position = position  # the place of its first event in time order of all events
        self.first_class = first_class  # its first class among all files' classes (EventClasses.class_of_local)
        self.classes = classes  # how many classes it has
        self.min_ts, self.max_ts = span  # its earliest and latest time, microseconds since the epoch
        self._load = load
        self._rows: _Rows | None = None

    @classmethod
    def of(cls, row_class: np.ndarray, ts: np.ndarray, position: int, first_class: int,
           details: Callable[..., _Details]) -> _Part:
        """A part whose per-event arrays are at hand."""
        classes = int(row_class.max()) + 1 if len(row_class) else 0
        span = (int(ts[0]), int(ts[-1])) if len(ts) else (0, 0)
        return cls(position, first_class, classes, span, lambda: (row_class, ts, details))

    def _loaded(self) -> _Rows:
        if self._rows is None:
            self._rows = self._load()
        return self._rows

    @property
    def row_class(self) -> np.ndarray:
        """Per event, its class in the file, counted from ``first_class``."""
        return self._loaded()[0]

    @property
    def ts(self) -> np.ndarray:
        """Per event, its time (microseconds since the epoch)."""
        return self._loaded()[1]

    def details(self, only: tuple[str, ...] | None = None) -> _Details:
        """(line_no, source_file, loose columns) per event, read from the file; ``only`` these loose columns."""
        return self._loaded()[2](only)


@dataclass(frozen=True)
class EventClasses:
    """Events as classes of identical rows, able to expand any class back to its rows.

    Attributes
    ----------
    classes
        One row per class, in order of the class's first event (by time, then
        storage order): the :data:`CLASS_COLUMNS`, and ``count``, ``first_ts``,
        ``last_ts`` and ``position`` (the place of its first event in time order).
    """

    classes: pd.DataFrame
    parts: tuple[_Part, ...]
    class_of_local: np.ndarray  # the class of each class of a file
    #: the catalogue of the :class:`Looseness` the classes were made with ("" for none)
    fingerprint: str = ""

    def any_event(self, column: str, test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """A boolean per class: whether ``test`` passes for the ``column`` value of any of its events.

        ``test`` takes an object array of values and returns a boolean for each. A loose column
        (:class:`Looseness`) is read event by event from the files; any other is a class's own.
        """
        by_class = np.asarray(test(self.classes[column].to_numpy(dtype=object)), dtype=bool)
        if not self.fingerprint or column not in LOOSE_COLUMNS:
            return by_class  # every event of a class has its class's value
        found = by_class.copy()
        fresh = (self.classes["catalogue"] == self.fingerprint).to_numpy(dtype=bool)
        for part in self.parts:
            own = part.details((column,))[2].get(column)
            if own is None:
                continue  # the part's events have their class's value
            classes = self.class_of_local[part.first_class + part.row_class]
            passing = np.asarray(test(own), dtype=bool) & fresh[classes]
            found[classes[passing]] = True
        return found

    def rows(self, chosen: np.ndarray, classes: pd.DataFrame | None = None) -> pd.DataFrame:
        """The events of the classes where ``chosen`` (a boolean per class) is true, one row each.

        Parameters
        ----------
        chosen
            A boolean per class.
        classes
            The classes' columns to give each row (by default :attr:`classes`; a
            classified copy of it, row for row, gives classified events).

        Returns
        -------
        pandas.DataFrame
            The class columns, ``ts``, ``line_no``, ``source_file``, ``position``
            (the event's place in time order), ``count`` 1 and ``first_ts``, ``last_ts``
            (both ``ts``), in time order.
        """
        classes = self.classes if classes is None else classes
        of_class: list[np.ndarray] = []
        ts: list[np.ndarray] = []
        line_no: list[np.ndarray] = []
        source: list[np.ndarray] = []
        position: list[np.ndarray] = []
        own: dict[str, list[np.ndarray]] = {}  # loose columns: each event's own value
        chosen_local = chosen[self.class_of_local]
        for part in self.parts if chosen.any() else ():
            mine = chosen_local[part.first_class:part.first_class + part.classes]
            if not mine.any():
                continue
            picked = np.flatnonzero(mine[part.row_class])
            if not len(picked):
                continue
            lines, sources, loose = part.details()
            before = sum(len(c) for c in of_class)
            for name, values in loose.items():  # parts that did not read the column: their class's value
                own.setdefault(name, [np.full(before, _CLASS_VALUE, dtype=object)]).append(values[picked])
            for name in own.keys() - loose.keys():
                own[name].append(np.full(len(picked), _CLASS_VALUE, dtype=object))
            of_class.append(self.class_of_local[part.first_class + part.row_class[picked]])
            ts.append(part.ts[picked])
            line_no.append(lines[picked])
            source.append(sources[picked])
            position.append(part.position + picked)
        frame = classes.drop(columns=["count", "first_ts", "last_ts", "position"]).iloc[_join(of_class)]
        frame = frame.reset_index(drop=True)
        times = pd.to_datetime(_join(ts), unit="us", utc=True).astype("datetime64[us, UTC]")
        frame.insert(0, "ts", times)
        frame["source_file"] = np.concatenate(source) if source else np.empty(0, dtype=object)
        frame["line_no"] = _join(line_no)
        frame["position"] = _join(position)
        frame["count"] = np.ones(len(frame), dtype="int64")
        frame["first_ts"] = frame["ts"]
        frame["last_ts"] = frame["ts"]
        if own and self.fingerprint:
            # Events of a loose class have their own values; events of another catalogue keep their
            # class's, which classify may have matched again from their message.
            fresh = (frame["catalogue"] == self.fingerprint).to_numpy(dtype=bool)
            for name, pieces in own.items():
                values = frame[name].to_numpy(dtype=object).copy()
                mine = np.concatenate(pieces)
                read = fresh & ~np.asarray(mine == _CLASS_VALUE, dtype=bool)  # only the marker equals itself
                values[read] = mine[read]
                frame[name] = pd.array(values, dtype=frame[name].dtype)
        return frame


#: In the loose values of expanded events: "this event was read without the column; keep its class's".
_CLASS_VALUE = object()


def classes_of_frame(events: pd.DataFrame) -> EventClasses:
    """Every event of a frame (as :func:`tokenaudit.read_events` returns) as a class of its own."""
    frame = events.reset_index(drop=True)
    count = len(frame)
    ts = frame["ts"].astype("datetime64[us, UTC]")
    classes = frame.drop(columns=[c for c in _PER_ROW if c in frame.columns]).assign(
        count=np.ones(count, dtype="int64"), first_ts=ts, last_ts=ts, position=np.arange(count))
    line_no = frame["line_no"].to_numpy(dtype="int64") if "line_no" in frame.columns else np.zeros(count, "int64")
    source = (frame["source_file"].to_numpy(dtype=object) if "source_file" in frame.columns
              else np.full(count, None, dtype=object))
    part = _Part.of(np.arange(count), np.asarray(ts.array.asi8, dtype="int64"), 0, 0,
                    lambda only=None: (line_no, source, {}))
    return EventClasses(classes=classes, parts=(part,), class_of_local=np.arange(count))


def _plan(meta: pq.FileMetaData) -> dict[str, object]:
    """Per string column of one file: ``None`` if all null, ``(value,)`` if one value throughout, else ``"read"``."""
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    plan: dict[str, object] = {}
    for i, name in enumerate(names):
        if name not in _STRINGS and name != "source_file":
            continue
        nulls, values, known = 0, set(), meta.num_row_groups > 0
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(i).statistics
            if stats is None or not stats.has_null_count:
                known = False
                break
            nulls += stats.null_count
            if stats.null_count < meta.row_group(g).num_rows:
                if not stats.has_min_max or stats.min != stats.max:
                    known = False
                    break
                values.add(stats.min)
        if known and nulls == meta.num_rows:
            plan[name] = None
        elif known and nulls == 0 and len(values) == 1 and isinstance(next(iter(values)), str):
            plan[name] = (next(iter(values)),)
        else:
            plan[name] = "read"
    return plan


class _Codes:
    """Global integer codes for the values of one string column across files (-1 for null).

    Each file hands in its dictionary (an Arrow array, or one value); :meth:`assign` then codes
    every value in order of first appearance, file by file, in one vectorized pass.
    """

    def __init__(self) -> None:
        self.pieces: list[pa.Array] = []
        self.codes: np.ndarray = np.empty(0, dtype=np.int64)
        self.values: pa.Array = pa.array([None], pa.string())

    def add(self, dictionary: pa.Array) -> int:
        """Queue a file's dictionary; returns its index for :meth:`codes_of`."""
        self.pieces.append(dictionary)
        return len(self.pieces) - 1

    def assign(self) -> None:
        """Code every queued value: equal values get equal codes, numbered by first appearance."""
        # Each dictionary is followed by a null, so that a null's index (the dictionary's
        # length) finds its -1 in the same slice.
        lengths = [len(piece) + 1 for piece in self.pieces]
        self.starts = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
        null = pa.nulls(1, pa.string())
        joined = pa.concat_arrays([part for piece in self.pieces for part in (piece.cast(pa.string()), null)]
                                  or [pa.array([], pa.string())])
        encoded = pc.dictionary_encode(joined)  # codes in order of first appearance
        self.codes = encoded.indices.fill_null(-1).to_numpy().astype(np.int64)
        self.values = pa.concat_arrays([encoded.dictionary, pa.nulls(1, pa.string())])  # -1 takes the null

    def codes_of(self, piece: int) -> np.ndarray:
        """The global code of each value of queued dictionary ``piece``, and -1 after them (for null)."""
        return self.codes[self.starts[piece]:self.starts[piece + 1]]

    def decode(self, codes: np.ndarray) -> pd.Series:
        """The values of ``codes`` (-1: null) as a pandas string column, taken in Arrow."""
        return self.decode_arrow(codes).to_pandas()

    def decode_arrow(self, codes: np.ndarray) -> pa.Array:
        """The values of ``codes`` (-1: null), as an Arrow array."""
        return self.values.take(pa.array(np.where(codes < 0, len(self.values) - 1, codes)))


@dataclass(frozen=True)
class _LooseValues:
    """One file's values of a loose column, for the classes that left it out of their key.

    ``index`` holds each class's place in :meth:`array` (``length``: no value). A summary's
    values are read again from it when asked: kept, they would be every class's first message.
    """

    values: pa.Array | Callable[[], pa.Array]
    index: np.ndarray
    length: int

    def array(self) -> pa.Array:
        return (self.values() if callable(self.values) else self.values).cast(pa.string())


def _summary_column(root: DatasetLocation, where: PurePath, name: str) -> Callable[[], pa.Array]:
    """A reader of one column of a summary, a value per class."""
    def read() -> pa.Array:
        try:
            return root.read_table(where, columns=[name]).column(name).combine_chunks()
        except (pa.ArrowException, OSError) as exc:  # deleted or damaged since it was read
            raise damaged_error(root, where, exc) from None
    return read


def _with_loose_values(strict: pa.Array, loose_values: list[_LooseValues], place: np.ndarray,
                       latest_first: np.ndarray, count: int) -> pd.Series:
    """A loose column of the merged classes: ``strict`` where a class kept it in its key, else its earliest value.

    ``place`` is each file class's merged class, ``latest_first`` the file classes from the latest first event
    to the earliest; ``loose_values`` per file the values and each class's index into them.
    """
    sizes = [len(part.index) for part in loose_values]
    file_of = np.repeat(np.arange(len(sizes)), sizes)
    index = np.concatenate([part.index for part in loose_values])
    present = index < np.array([part.length for part in loose_values], dtype=np.int64)[file_of]
    chosen = np.full(count, -1, dtype=np.int64)
    order = latest_first[present[latest_first]]
    chosen[place[order]] = order  # the last assignment, the earliest file class, wins
    classes = np.flatnonzero(chosen >= 0)
    if not len(classes):
        return strict.to_pandas()
    picks = chosen[classes]
    pieces, owners = [], []
    for number, part in enumerate(loose_values):
        mine = file_of[picks] == number
        if mine.any():
            pieces.append(part.array().take(pa.array(index[picks[mine]])))
            owners.append(classes[mine])
    values = pa.concat_arrays(pieces)
    at = np.full(count, len(values), dtype=np.int64)  # the classes without a loose value take the null
    at[np.concatenate(owners)] = np.arange(len(values))
    loose = pa.concat_arrays([values, pa.nulls(1, pa.string())]).take(pa.array(at))
    return pc.if_else(pa.array(chosen >= 0), loose, strict).to_pandas()


def _indices(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Dictionary indices of a column (nulls as the dictionary's length) and its dictionary."""
    chunk = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if not pa.types.is_dictionary(chunk.type):
        chunk = pc.dictionary_encode(chunk)
    dictionary = chunk.dictionary
    indices = chunk.indices.fill_null(len(dictionary)) if chunk.null_count else chunk.indices
    return indices.to_numpy(), dictionary


def _status_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[int | None]]:
    """Codes of an HTTP status column (in order of first appearance) and the status of each code."""
    raw = column.to_numpy(zero_copy_only=False)
    indices, uniques = pd.factorize(np.where(pd.isna(raw), -1, raw).astype(np.int64))
    return indices.astype(np.int64), [None if v < 0 else int(v) for v in uniques]


def _combine(key: np.ndarray, span: int, values: np.ndarray, width: int) -> tuple[np.ndarray, int]:
    """Fold one more column of codes ``0 <= values < width`` into a row key (in place where it can)."""
    if span * width >= 2**62:
        key = pd.factorize(key)[0].astype(np.int64)
        span = int(key.max()) + 1 if len(key) else 1
    key *= width
    key += values
    return key, span * width


def _first_of(groups: np.ndarray, count: int) -> np.ndarray:
    """Index of the first row of each group (``groups`` in 0..count-1)."""
    first = np.empty(count, dtype=np.int64)
    first[groups[::-1]] = np.arange(len(groups) - 1, -1, -1)  # repeated indices: the last assignment wins
    return first


def read_event_classes(
    root: Root,
    *,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    batches: Collection[str] | None = None,
    loose: Looseness | Literal["builtin"] | None = "builtin",
    client: Any = None,
) -> EventClasses:
    """Read the events of committed batches as classes of identical rows.

    Parameters
    ----------
    root
        The dataset folder.
    since, until
        Keep events with ``since <= ts < until`` (tz-aware).
    batches
        Read only these batches (a snapshot from :func:`tokenaudit.committed_batches`).
    loose
        Let the failures of a catalogue leave the :data:`LOOSE_COLUMNS` out of their class
        (:meth:`Looseness.of`; by default the built-in catalogue's, as ``analyze`` and ingest use
        it): a class then holds its first event's client address and message, and
        :meth:`EventClasses.rows` gives each event its own. Millions of failures that differ only
        in those become a few thousand classes. ``None`` keeps every column in the key.
    client
        A ``distributed.Client``: the files are read and collapsed as tasks on its cluster (whose
        workers see the dataset at the same path), and merged here, in the same order as on
        threads, so the classes are the same.

    Returns
    -------
    EventClasses
        The same events :func:`tokenaudit.read_events` returns, collapsed.

    Raises
    ------
    DatasetError
        If there is no dataset at ``root`` or a file of it is damaged.
    SchemaMismatchError
        If a file was written by a newer version.
    """
    root = locate(root)
    if loose == "builtin":
        from ..catalogue.loading import load_catalogue

        loose = Looseness.of(load_catalogue())
    files = in_window(committed_files(root, "events", batches), since, until)  # a file a day: the others can wait
    low = since.value // 1000 if since is not None else None
    high = until.value // 1000 if until is not None else None
    codes = {name: _Codes() for name in _STRINGS}
    parts: list[_Part] = []
    # Per file and column, how each class's global code is found: a dictionary queued in
    # ``codes`` and each class's index into it, or a constant code.
    plans: list[list[tuple[int, np.ndarray] | int]] = []
    sizes: list[int] = []  # classes per file
    local_stats: list[np.ndarray] = []  # per class of a file: count, first position, first time, last time
    local_bits: list[np.ndarray] = []  # per class of a file: the loose columns left out of its key
    # Per loose column and file, the value of each class that left it out (its dictionary, and each
    # class's index into it): only the earliest of a merged class is ever decoded, so these values,
    # as many as the classes of all files, are not coded globally.
    loose_values: dict[str, list[_LooseValues]] = {name: [] for name in LOOSE_COLUMNS}
    offset = 0  # classes of the files before
    position = 0  # events of the files before
    # Files are read and collapsed on threads (Arrow and numpy release the GIL), a few ahead; codes
    # are made global afterwards, in file order, so the result does not depend on the threads.
    for found in ordered_map(lambda f: _summary_or_file_classes(root, f, low, high, loose), files,
                             client=client):
        if found is None:
            continue
        plan: list[tuple[int, np.ndarray] | int] = []
        bits = found.loose_bits if found.loose_bits is not None else np.zeros(len(found.first), dtype=np.int64)
        for name in _COLUMNS:
            how = found.plan.get(name)
            if loose is not None and name in LOOSE_COLUMNS:
                plan.append(_strict_part(codes[name], found, name, bits, loose_values[name]))
            elif name in found.values:
                picked, dictionary = found.values[name]
                if name == "status":
                    status = np.array([-1 if v is None else v for v in dictionary], dtype=np.int64)
                    plan.append(status[picked])
                else:
                    # A null's index is the dictionary's length: it codes as -1.
                    plan.append((codes[name].add(dictionary), picked))
            elif isinstance(how, tuple):  # one value throughout the file
                constant = codes[name].add(pa.array([how[0]], pa.string()))
                plan.append((constant, np.zeros(len(found.first), np.int64)))
            else:
                plan.append(-1)
        plans.append(plan)
        sizes.append(len(found.first))
        found.stats[:, 1] += position
        local_stats.append(found.stats)
        local_bits.append(bits)
        parts.append(_Part(position, offset, len(found.first), found.span, found.row_loader()))
        offset += len(found.first)
        position += int(found.stats[:, 0].sum())
    for coded in codes.values():
        coded.assign()

    def column(j: int, chosen: np.ndarray | None = None) -> np.ndarray:
        return _global_codes(codes, plans, sizes, j, _COLUMNS[j], chosen)

    return _collapse(codes, parts, column, local_stats, local_bits, loose_values, loose.fingerprint if loose else "")


def _strict_part(codes: _Codes, found: _FileClasses, name: str, bits: np.ndarray,
                 loose_values: list[_LooseValues]) -> tuple[int, np.ndarray]:
    """A loose column of one file: queue the values of classes that kept it in their key, and note the others'.

    Returns the queued dictionary and each class's index into it (null for the classes that left it out).
    """
    size = len(found.first)
    how = found.plan.get(name)
    if name in found.values:
        picked, dictionary = found.values[name]
        picked = np.asarray(picked, dtype=np.int64)
    elif isinstance(how, tuple):  # one value throughout the file
        picked, dictionary = np.zeros(size, dtype=np.int64), pa.array([how[0]], pa.string())
    else:  # null throughout
        picked, dictionary = np.zeros(size, dtype=np.int64), pa.array([], pa.string())
    left_out = (bits >> LOOSE_COLUMNS.index(name) & 1).astype(bool)
    missing = len(dictionary)
    if found.summary is not None and name in found.values:  # read again from the summary, a value per class
        where = np.where(left_out & (picked < missing), np.arange(size), size)
        loose_values.append(_LooseValues(_summary_column(found.location, found.summary, name), where, size))
    else:
        loose_values.append(_LooseValues(dictionary, np.where(left_out, picked, missing), missing))
    kept = picked[~left_out]
    used = np.unique(kept[kept < missing])
    remap = np.full(missing + 1, len(used), dtype=np.int64)  # a null, or a class that left it out: the null
    remap[used] = np.arange(len(used))
    remapped = np.where(left_out, len(used), remap[picked])
    return codes.add(dictionary.take(pa.array(used)) if len(used) < missing else dictionary), remapped


_COLUMNS = [*_STRINGS, "status"]


def _global_codes(codes: dict[str, _Codes], plans: list[list[tuple[int, np.ndarray] | int]], sizes: list[int],
                  j: int, name: str, chosen: np.ndarray | None = None) -> np.ndarray:
    """Column ``j`` of every file's classes as global codes (status as its value), one contiguous int32 array.

    ``chosen`` (sorted numbers of file classes, counted across files) limits it to those classes.
    """
    pieces = []
    start = 0
    for plan, size in zip(plans, sizes, strict=True):
        rows = slice(None) if chosen is None else chosen[np.searchsorted(chosen, start):
                                                          np.searchsorted(chosen, start + size)] - start
        start += size
        how = plan[j]
        if isinstance(how, tuple):
            piece, picked = how
            pieces.append(codes[name].codes_of(piece)[picked[rows]].astype(np.int32))
        elif isinstance(how, np.ndarray):
            pieces.append(how[rows].astype(np.int32))
        else:
            pieces.append(np.full(size if isinstance(rows, slice) else len(rows), how, dtype=np.int32))
    return np.concatenate(pieces) if pieces else np.empty(0, dtype=np.int32)


@dataclass
class _FileClasses:
    """One file's events collapsed on its own dictionary indices."""

    plan: dict[str, object]
    local: np.ndarray | None  # the class of each event, in time order (None: read from a summary)
    first: np.ndarray  # the first event of each class
    ts: np.ndarray | None
    keep: np.ndarray | None  # which stored events are in the window, if not all
    order: np.ndarray | None  # time order of the kept events, if not stored so
    values: dict[str, tuple[np.ndarray, Any]]  # per column read: dictionary index of each class, dictionary
    stats: np.ndarray  # per class: count, first event, first time, last time
    location: DatasetLocation
    path: PurePath | None = None
    loader: Callable[[], _Rows] | None = None  # how a summary's file gives its events, when asked
    #: per class, a bit per :data:`LOOSE_COLUMNS` entry left out of its key (None: none is)
    loose_bits: np.ndarray | None = None
    #: the loose columns its events give when expanded
    loose_columns: tuple[str, ...] = ()
    #: the summary it was read from, if it was
    summary: PurePath | None = None

    @property
    def span(self) -> tuple[int, int]:
        """The earliest and the latest time of the file's (kept) events."""
        return int(self.stats[:, 2].min()), int(self.stats[:, 3].max())

    def rows(self) -> _Rows:
        """Per event its class and time, and a reader of its line number and source file."""
        return self.row_loader()()

    def row_loader(self) -> Callable[[], _Rows]:
        """What :meth:`rows` does, holding only what it needs (not the classes' values, which the merge frees)."""
        if self.loader is not None:
            return self.loader
        assert self.local is not None and self.ts is not None and self.path is not None
        details = _details_of(self.location, self.path, self.keep, self.order, self.loose_columns)
        local, ts = self.local, self.ts
        return lambda: (local, ts, details)


def _file_classes(root: DatasetLocation, path: PurePath, low: int | None, high: int | None,
                  loose: Looseness | None = None) -> _FileClasses | None:
    try:
        parquet = root.parquet_file(path)
        check_file_version(path, parquet.schema_arrow.metadata)
        plan = _plan(parquet.metadata)
        read = [n for n, how in plan.items() if how == "read" and n != "source_file"]
        status = ["status"] if "status" in parquet.schema_arrow.names else []  # older files may lack a column
        parquet = root.parquet_file(path, metadata=parquet.metadata, read_dictionary=read)
        table = parquet.read(columns=["ts", *status, *read], use_threads=False)
    except (pa.ArrowException, OSError) as exc:
        raise damaged_error(root, path, exc) from None
    stamps = table["ts"]
    if stamps.type != pa.timestamp("us", tz="UTC"):
        stamps = stamps.cast(pa.timestamp("us", tz="UTC"))
    ts = np.ascontiguousarray(stamps.to_numpy()).view("int64")
    keep = None
    if low is not None or high is not None:
        keep = np.ones(len(ts), dtype=bool)
        if low is not None:
            keep &= ts >= low
        if high is not None:
            keep &= ts < high
        if keep.all():
            keep = None
        else:
            table = table.filter(pa.array(keep))
            ts = ts[keep]
    count = len(ts)
    if count == 0:
        return None
    order = None
    if not bool((ts[1:] >= ts[:-1]).all()):
        order = np.argsort(ts, kind="stable")
        table, ts = table.take(pa.array(order)), ts[order]
    key, span = np.zeros(count, dtype=np.int64), 1
    per_column: dict[str, tuple[np.ndarray, list[Any]]] = {}
    for name in _COLUMNS:
        if name == "status":
            if not status:
                continue
            if table["status"].null_count == len(table):
                continue
            per_column[name] = _status_codes(table["status"])
        elif plan.get(name) == "read":
            per_column[name] = _indices(table[name])
        else:
            continue
    left_out = loose_rows(loose, count, plan, per_column)
    for name, (indices, dictionary) in per_column.items():
        # A string column's indices run to the dictionary's length (null): one more than its values.
        width = len(dictionary) + (0 if name == "status" else 1)
        if name in left_out:  # a loose row's key holds one more value, "left out", in its place
            indices, width = np.where(left_out[name], width, indices), width + 1
        if width > 1:
            key, span = _combine(key, span, indices, width)
    local = pd.factorize(key)[0].astype(np.int32)  # classes of one file: fewer than its rows
    classes = int(local.max()) + 1
    first = _first_of(local, classes)
    last_ts = np.empty(classes, dtype=np.int64)
    last_ts[local] = ts  # sorted: the last assignment is each class's latest
    stats = np.column_stack([np.bincount(local, minlength=classes), first, ts[first], last_ts])
    values = {name: (indices[first], dictionary) for name, (indices, dictionary) in per_column.items()}
    loose_bits = np.zeros(classes, dtype=np.int64)
    for name, rows in left_out.items():
        loose_bits |= rows[first].astype(np.int64) << LOOSE_COLUMNS.index(name)
        if name in per_column:
            indices, dictionary = per_column[name]
            values[name] = (first_present(indices, len(dictionary), local, classes), dictionary)
    return _FileClasses(plan, local, first, ts, keep, order, values, stats, root, path, loose_bits=loose_bits,
                        loose_columns=tuple(name for name in left_out if name in per_column))


#: The dataset folder of the files' summaries: one per events file, at the same relative path.
SUMMARY_TABLE = "event_classes"
_SUMMARY_OF = b"tokenaudit_summary_of"  # size and rows of the events file a summary describes
#: The same, in a summary of loose classes: a reader that knows no looseness finds no summary, and reads the file.
_LOOSE_SUMMARY_OF = b"tokenaudit_loose_summary_of"
_SUMMARY_LOOSE = b"tokenaudit_loose"  # the Looseness.digest a summary's classes were made with


def summary_path(root: Root, events_path: PurePath) -> PurePath:
    """Where the summary of the events file ``events_path`` is kept."""
    base = locate(root).root
    return base / SUMMARY_TABLE / events_path.relative_to(base / "events")


def summarize_file(root: Root, path: PurePath, loose: Looseness | None = None) -> pa.Table:
    """One events file as its classes: the class columns, ``count``, ``first_row``, ``first_ts``, ``last_ts``.

    Classes are numbered as :func:`read_event_classes` numbers them (by first
    event in the file's time order), so a reader can take this summary instead
    of the file and still expand any class from the file itself. Made with a
    :class:`Looseness`, it serves readers that ask for the same one (and has a
    ``loose`` column: the loose columns each class left out of its key).
    """
    root = locate(root)
    found = _file_classes(root, path, None, None, loose)
    size = len(found.first) if found is not None else 0
    columns: dict[str, pa.Array] = {}
    for name in _COLUMNS:
        kind = pa.int32() if name == "status" else pa.string()
        how = found.plan.get(name) if found is not None else None
        if found is not None and name in found.values:
            picked, dictionary = found.values[name]
            if name == "status":
                columns[name] = pa.array([dictionary[i] for i in picked], kind)
            else:
                columns[name] = pa.concat_arrays([dictionary.cast(kind), pa.nulls(1, kind)]).take(pa.array(picked))
        elif isinstance(how, tuple):
            columns[name] = pa.array([how[0]] * size, kind)
        else:
            columns[name] = pa.nulls(size, kind)
    stats = found.stats if found is not None else np.empty((0, 4), dtype=np.int64)
    utc = pa.timestamp("us", tz="UTC")
    columns["count"] = pa.array(stats[:, 0], pa.int64())
    columns["first_row"] = pa.array(stats[:, 1], pa.int64())
    columns["first_ts"] = pa.array(stats[:, 2], pa.int64()).cast(utc)
    columns["last_ts"] = pa.array(stats[:, 3], pa.int64()).cast(utc)
    rows = int(stats[:, 0].sum())
    described = {_LOOSE_SUMMARY_OF if loose is not None else _SUMMARY_OF: f"{root.size(path)} {rows}".encode()}
    if loose is not None:
        bits = found.loose_bits if found is not None and found.loose_bits is not None else np.zeros(size, np.int64)
        columns["loose"] = pa.array(bits, pa.int64())
        described[_SUMMARY_LOOSE] = loose.digest.encode()
    return pa.table(columns).replace_schema_metadata(described)


def _summary_or_file_classes(root: DatasetLocation, path: PurePath, low: int | None, high: int | None,
                             loose: Looseness | None) -> _FileClasses | None:
    """The file's classes from its summary where one fits the window and the looseness, else from the file."""
    summary = _read_summary(root, path, loose)
    if summary is None:
        return _file_classes(root, path, low, high, loose)
    if summary.num_rows == 0:
        return None
    first_ts = summary["first_ts"].cast(pa.int64()).to_numpy()
    last_ts = summary["last_ts"].cast(pa.int64()).to_numpy()
    earliest, latest = int(first_ts.min()), int(last_ts.max())
    if (low is not None and latest < low) or (high is not None and earliest >= high):
        return None  # the whole file lies outside the window
    if (low is not None and earliest < low) or (high is not None and latest >= high):
        return _file_classes(root, path, low, high, loose)  # the window cuts the file: its events are needed
    values: dict[str, tuple[np.ndarray, Any]] = {}
    plan: dict[str, object] = {}  # as for an events file: a column null or of one value throughout is not held
    for name in _COLUMNS:
        column = summary[name]
        if column.null_count == len(column):
            plan[name] = None
        elif name == "status":
            values[name] = _status_codes(column)
        else:
            indices, dictionary = _indices(column)
            if len(dictionary) == 1 and column.null_count == 0:
                plan[name] = (dictionary[0].as_py(),)
            else:
                values[name] = (indices, dictionary)
    stats = np.column_stack([summary["count"].to_numpy(), summary["first_row"].to_numpy(), first_ts, last_ts])
    expected = len(stats)

    def rows() -> _Rows:
        found = _file_classes(root, path, None, None, loose)
        if found is None or len(found.first) != expected:
            raise DatasetError(f"{root.display(summary_path(root, path))}: does not describe {root.display(path)}",
                               hint=f"delete {root.display(root.root / SUMMARY_TABLE)}: analysis then reads the"
                               " events files")
        return found.rows()

    bits = summary["loose"].to_numpy().astype(np.int64) if loose is not None else None
    return _FileClasses(plan, None, np.arange(expected), None, None, None, values, stats, root, path, rows,
                        loose_bits=bits,
                        summary=summary_path(root, path))


def _read_summary(root: DatasetLocation, path: PurePath, loose: Looseness | None) -> pa.Table | None:
    """The file's summary, if there is one that describes the file as it is now, made with ``loose``."""
    where = summary_path(root, path)
    try:
        # Strings as their Parquet dictionaries: codes without hashing a string.
        table = root.parquet_file(where, read_dictionary=_STRINGS).read(use_threads=False)
        check_file_version(where, table.schema.metadata)
        if any(n not in table.column_names for n in (*_COLUMNS, "count", "first_row", "first_ts", "last_ts")):
            return None
        metadata = table.schema.metadata or {}
        if metadata.get(_SUMMARY_LOOSE) != (loose.digest.encode() if loose is not None else None):
            return None  # its classes were made with another looseness (another catalogue, or none)
        size, rows = (int(v) for v in metadata[_LOOSE_SUMMARY_OF if loose is not None else _SUMMARY_OF].split())
        if size != root.size(path) or rows != int(pc.sum(table["count"]).as_py() or 0):
            return None
    except (OSError, pa.ArrowException, KeyError, ValueError):
        return None  # none yet (a dataset written before summaries), or damaged: the events file itself
    return table


def _details_of(
    root: DatasetLocation, path: PurePath, keep: np.ndarray | None, order: np.ndarray | None,
    loose: tuple[str, ...] = (),
) -> Callable[[], _Details]:
    """Read ``line_no``, ``source_file`` and the ``loose`` columns of one file's kept events, in time order."""

    def details(only: tuple[str, ...] | None = None) -> _Details:
        columns = tuple(name for name in loose if only is None or name in only)
        wanted = pa.schema([EVENT_SCHEMA.field(name) for name in ("line_no", "source_file", *columns)])
        try:
            table = root.read_table(path, schema=wanted)  # a column the file lacks reads as null
        except (pa.ArrowException, OSError) as exc:  # gone too, if a compaction retired it since
            raise damaged_error(root, path, exc) from None
        if keep is not None:
            table = table.filter(pa.array(keep))
        if order is not None:
            table = table.take(pa.array(order))
        own = {name: np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=object) for name in columns}
        return (table["line_no"].to_numpy().astype(np.int64),
                np.asarray(table["source_file"].to_numpy(zero_copy_only=False), dtype=object), own)

    return details


def _join(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _in_time_order(parts: list[_Part], stats: np.ndarray) -> tuple[list[_Part], np.ndarray]:
    """Files whose times overlap merged into one part in time order (stable: file order breaks ties).

    ``stats`` (per class of a file: count, first position, first time, last time) gets the
    first positions and times of the merged order.
    """
    if all(later.min_ts >= earlier.max_ts for earlier, later in zip(parts, parts[1:], strict=False)):
        return parts, stats
    order = np.argsort(_join([p.ts for p in parts]), kind="stable")
    ts = _join([p.ts for p in parts])[order]
    local = _join([p.row_class + p.first_class for p in parts])[order]
    first = _first_of(local, len(stats))
    stats = stats.copy()
    stats[:, 1] = first
    stats[:, 2] = ts[first]
    everything = list(parts)

    def details(only: tuple[str, ...] | None = None) -> _Details:
        found = [part.details(only) for part in everything]
        names = {name for d in found for name in d[2]}
        own = {name: np.concatenate([d[2].get(name, np.full(len(d[0]), _CLASS_VALUE, dtype=object))
                                     for d in found])[order] for name in names}
        return _join([d[0] for d in found])[order], np.concatenate([d[1] for d in found])[order], own

    return [_Part.of(local, ts, 0, 0, details)], stats


def _collapse(codes: dict[str, _Codes], parts: list[_Part], column: Callable[..., np.ndarray],
              local_stats: list[np.ndarray], local_bits: list[np.ndarray],
              loose_values: dict[str, list[_LooseValues]], fingerprint: str) -> EventClasses:
    """Merge the classes of all files: ``column(j)`` gives column ``j`` (a value per file class; ``column(j,
    chosen)`` only of the file classes ``chosen``). One column at a time is held: each is as long as the
    classes of all files.

    ``local_bits`` says, per file class, which loose columns it left out of its key; classes of
    different files then merge whatever their values there, and keep the earliest present one
    (from ``loose_values``, per loose column and file).
    """
    columns = _COLUMNS
    stats = np.concatenate(local_stats) if local_stats else np.empty((0, 4), dtype=np.int64)
    bits = _join(local_bits)
    parts, stats = _in_time_order(parts, stats)
    # Classes of different files with equal values are one class.
    key, span = np.zeros(len(stats), dtype=np.int64), 1
    for j, name in enumerate(columns):
        values = column(j)
        if name in LOOSE_COLUMNS and bits.any():
            values = np.where(bits >> LOOSE_COLUMNS.index(name) & 1, -2, values)  # -2: left out
        low, high = (int(values.min()), int(values.max())) if len(values) else (0, 0)
        if low != high:
            key, span = _combine(key, span, values - low, high - low + 1)
    global_of_local = pd.factorize(key)[0].astype(np.int64)
    count = int(global_of_local.max()) + 1 if len(global_of_local) else 0
    summary = pd.DataFrame({"g": global_of_local, "count": stats[:, 0], "position": stats[:, 1],
                            "first_ts": stats[:, 2], "last_ts": stats[:, 3]})
    grouped = summary.groupby("g", sort=True)
    first_position = grouped["position"].min().to_numpy()
    # Number classes in order of their first event.
    rank = np.empty(count, dtype=np.int64)
    rank[np.argsort(first_position, kind="stable")] = np.arange(count)
    frame: dict[str, Any] = {}
    place = rank[global_of_local]
    latest_first = np.argsort(stats[:, 1], kind="stable")[::-1]  # assigned in this order, the earliest wins
    # One file class stands for each class: they agree on every column in the key, and a loose
    # column's values come from loose_values.
    standing = np.sort(_first_of(place, count))
    for j, name in enumerate(columns):
        values = np.empty(count, dtype=np.int64)
        values[place[standing]] = column(j, standing)
        if name == "status":
            frame[name] = pd.array(np.where(values < 0, 0, values), dtype="Int32")
            frame[name][values < 0] = pd.NA
        elif loose_values.get(name):
            frame[name] = _with_loose_values(codes[name].decode_arrow(values), loose_values[name],
                                             place, latest_first, count)
        else:
            frame[name] = codes[name].decode(values)
    table = pd.DataFrame(frame)[list(CLASS_COLUMNS)]
    by_rank = np.argsort(rank)  # the global class of each rank
    table["count"] = grouped["count"].sum().to_numpy()[by_rank].astype("int64")
    # The first event is the earliest (times are in order), so its time is the class's first.
    first_of_class = summary.loc[grouped["position"].idxmin().to_numpy(), "first_ts"].to_numpy()
    table["first_ts"] = pd.to_datetime(first_of_class[by_rank], unit="us", utc=True).astype("datetime64[us, UTC]")
    table["last_ts"] = pd.to_datetime(grouped["last_ts"].max().to_numpy()[by_rank], unit="us",
                                      utc=True).astype("datetime64[us, UTC]")
    table["position"] = first_position[by_rank]
    return EventClasses(classes=table, parts=tuple(parts), class_of_local=rank[global_of_local],
                        fingerprint=fingerprint if bits.any() else "")
