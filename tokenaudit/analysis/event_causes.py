"""Each stored event's cause and time, read file by file from the few columns that decide the cause.

A report charts failures per cause over time: it needs every event's time and cause, but
not the event's other columns. :func:`iter_event_causes` reads, per events file, the time
and the columns :func:`~tokenaudit.analysis.failures.classify` decides a cause from, as
dictionary codes; it classifies each distinct combination once and gives each event its
combination's cause. Events of another catalogue are matched again from their message,
which is read only for them. Memory holds one file at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..catalogue.order import Catalogue
from ..common.threads import ordered_map
from ..schema import EVENT_SCHEMA, MATCHED_KINDS
from ..store.layout import committed_files, damaged_error, in_window
from ..store.location import DatasetLocation, Root, locate
from .failures import classify

#: The columns that decide the cause of an event classified with the current catalogue.
CAUSE_COLUMNS = ("event_kind", "signature", "envelope", "format", "catalogue")
#: What an event of another catalogue is matched again from.
REMATCH_COLUMNS = ("message", "process", "writer")


@dataclass(frozen=True)
class FileCauses:
    """The events of one file in a window: time (µs since the epoch, int64), cause, and the columns asked for.

    Causes are given as a code per event (``code``) into ``causes`` (the distinct ones).
    """

    ts: np.ndarray
    code: np.ndarray
    causes: np.ndarray
    columns: dict[str, pa.Array]

    @property
    def cause(self) -> np.ndarray:
        """Each event's cause (an object array)."""
        return np.asarray(self.causes[self.code], dtype=object)


def iter_event_causes(
    root: Root,
    catalogue: Catalogue,
    *,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    batches: Collection[str] | None = None,
    columns: tuple[str, ...] = (),
    client: Any = None,
) -> Iterator[FileCauses]:
    """Per events file with events in ``[since, until)``: their times and causes, and ``columns``.

    Parameters
    ----------
    root
        The dataset folder.
    catalogue
        The catalogue that classifies them, as :func:`~tokenaudit.analysis.failures.classify` does.
    since, until
        The window (tz-aware); open where ``None``.
    batches
        The committed batches to read (a snapshot, :func:`tokenaudit.committed_batches`).
    columns
        Other columns to give, each event's value (an Arrow array).
    client
        A ``distributed.Client``: each file is read as a task on its cluster; the files still
        come in order.

    Yields
    ------
    FileCauses
        The events of one file, in the file's order.
    """
    root = locate(root)
    files = in_window(committed_files(root, "events", batches), since, until)
    for found in ordered_map(lambda path: _file_causes(root, path, catalogue, since, until, columns), files,
                             client=client):
        if found is not None:
            yield found


def _read(root: DatasetLocation, path: PurePath, names: tuple[str, ...], *, encoded: bool) -> pa.Table:
    """Columns of one events file (``encoded``: strings as dictionaries); a column it lacks reads as null."""
    try:
        parquet = root.parquet_file(path, read_dictionary=[n for n in names if n != "ts"] if encoded else None)
        present = [name for name in names if name in parquet.schema_arrow.names]
        table = parquet.read(columns=present, use_threads=False)
    except (pa.ArrowException, OSError) as exc:
        raise damaged_error(root, path, exc) from None
    for name in names:
        if name not in present:
            table = table.append_column(name, pa.nulls(table.num_rows, EVENT_SCHEMA.field(name).type))
    return table.unify_dictionaries() if encoded else table


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Each row's index into the column's distinct values (null: their count), and those values."""
    array = column.combine_chunks()
    if not pa.types.is_dictionary(array.type):
        array = pc.dictionary_encode(array)
    values = array.dictionary.cast(pa.string())
    return array.indices.fill_null(len(values)).to_numpy().astype(np.int64), values


def _file_causes(root: DatasetLocation, path: PurePath, catalogue: Catalogue, since: pd.Timestamp | None,
                 until: pd.Timestamp | None, wanted: tuple[str, ...]) -> FileCauses | None:
    table = _read(root, path, ("ts", *CAUSE_COLUMNS, *(n for n in wanted if n not in CAUSE_COLUMNS)), encoded=True)
    ts = np.ascontiguousarray(table["ts"].cast(pa.timestamp("us", tz="UTC")).to_numpy()).view("int64")
    keep = np.ones(len(ts), dtype=bool)
    if since is not None:
        keep &= ts >= since.value // 1000
    if until is not None:
        keep &= ts < until.value // 1000
    if not keep.any():
        return None
    if not keep.all():
        table, ts = table.filter(pa.array(keep)), ts[keep]
    columns = {name: _codes(table[name]) for name in CAUSE_COLUMNS}
    given = {name: table[name].combine_chunks().cast(pa.string()) for name in wanted}
    catalogues, kinds = columns["catalogue"], columns["event_kind"]
    fresh = np.append(pc.equal(catalogues[1], catalogue.fingerprint).fill_null(False).to_numpy(zero_copy_only=False),
                      False)
    matched = np.append(pc.is_in(kinds[1], pa.array(MATCHED_KINDS)).fill_null(False).to_numpy(zero_copy_only=False),
                        False)
    stale = ~fresh[catalogues[0]] & matched[kinds[0]]
    if stale.any():  # their message decides: read it, for them only (null for the others)
        extra = _read(root, path, REMATCH_COLUMNS, encoded=False)
        if not keep.all():
            extra = extra.filter(pa.array(keep))
        for name in REMATCH_COLUMNS:
            only = pc.if_else(pa.array(stale), extra[name].combine_chunks(), pa.nulls(len(ts), pa.string()))
            columns[name] = _codes(pa.chunked_array([only]))
    key = np.zeros(len(ts), dtype=np.int64)
    span = 1
    for codes, values in columns.values():
        width = len(values) + 1
        if span * width >= 2**62:
            key = pd.factorize(key)[0].astype(np.int64)
            span = int(key.max()) + 1
        key, span = key * width + codes, span * width
    _, first, of_event = np.unique(key, return_index=True, return_inverse=True)
    distinct = pa.table({name: pa.concat_arrays([values, pa.nulls(1, pa.string())]).take(pa.array(codes[first]))
                         for name, (codes, values) in columns.items()}).to_pandas()
    causes, code_of = np.unique(classify(distinct, catalogue)["cause"].to_numpy(dtype=str), return_inverse=True)
    return FileCauses(ts, code_of[of_event], causes.astype(object), given)
