"""Which columns a class of events may leave out of its key, and which rows of a file do (:class:`Looseness`).

Real failures differ event by event in a few columns that grouping never reads: the client
address, the pid, the expiry times, and the message that holds them. Kept in the key of a
class of identical rows (:mod:`tokenaudit.store.event_classes`), they make as many classes
as events. A failure classified with the current catalogue may leave them out; its class
then holds the first value present among its events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..catalogue.order import Catalogue
from ..causes.definitions import load_causes
from ..schema import EVENT_SCHEMA

#: The string columns of the events table.
STRING_COLUMNS = frozenset(n for n in EVENT_SCHEMA.names if EVENT_SCHEMA.field(n).type == pa.string())
#: Columns that vary event by event and that grouping never reads: where :class:`Looseness` allows,
#: a class leaves them out of its key, holds its first event's value, and gives each event its own
#: when expanded. ``message`` is left out only where the event holds the value its group is keyed by.
LOOSE_COLUMNS = ("pid", "client_addr", "expired_at", "current_time", "message")


@dataclass(frozen=True)
class Looseness:
    """Which classes may leave the :data:`LOOSE_COLUMNS` out of their key, for one catalogue.

    Only failures classified with that catalogue (``catalogue`` equal to its fingerprint,
    ``event_kind`` ``auth_failure``) collapse this way: an event of another catalogue is
    matched again from its own message, so it keeps every column in its key, and an HTTP
    refusal keeps its client address (it is paired by address). A failure leaves its
    message out only where it holds the value its group is keyed by (the column of its
    signature's cause, else ``detail``): analysis reads the message only where that is missing.

    Examples
    --------
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> loose = Looseness.of(load_catalogue())
    >>> loose.key_column["openidconnect.untrusted_audience"], loose.key_column.get("no.such.signature", "detail")
    ('audience', 'detail')
    >>> len(loose.digest)
    16
    """

    fingerprint: str
    #: signature id -> the column its cause groups by (``detail`` for the signatures not named)
    key_column: Mapping[str, str]

    @classmethod
    def of(cls, catalogue: Catalogue) -> Looseness:
        """The looseness for events classified with ``catalogue``."""
        causes = load_causes()
        columns = {}
        for signature in catalogue.signatures:
            cause = causes.get(signature.cause or "")
            if signature.kind == "cause" and cause is not None and cause.key_field not in (None, "detail"):
                columns[signature.id] = str(cause.key_field)
        return cls(catalogue.fingerprint, columns)

    @property
    def digest(self) -> str:
        """What a summary written with this looseness records, to be used only with the same one."""
        text = "\0".join([self.fingerprint, *LOOSE_COLUMNS, *(f"{k}={v}" for k, v in sorted(self.key_column.items()))])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def loose_rows(loose: Looseness | None, count: int, plan: dict[str, object],
                per_column: dict[str, tuple[np.ndarray, Any]]) -> dict[str, np.ndarray]:
    """Per loose column, which rows of a file leave it out of their key (see :class:`Looseness`).

    Columns the file holds one value of are in it too: classes of other files that read them merge
    with these only if both left them out.
    """
    if loose is None:
        return {}

    def per_row(name: str, test: Callable[[object], object]) -> np.ndarray:
        """``test`` of each row's value of string column ``name`` (tested once per distinct value)."""
        if name in per_column:
            indices, dictionary = per_column[name]
            table = np.array([test(v) for v in (*dictionary.to_pylist(), None)])  # the null index is last
            return np.asarray(table[indices])
        how = plan.get(name)
        return np.full(count, test(how[0] if isinstance(how, tuple) else None))

    fresh = (per_row("catalogue", lambda v: v == loose.fingerprint).astype(bool)
             & per_row("event_kind", lambda v: v == "auth_failure").astype(bool))
    keys = sorted({*loose.key_column.values(), "detail"} & STRING_COLUMNS)
    key_of = per_row("signature", lambda v: keys.index(loose.key_column.get(str(v), "detail"))
                     if loose.key_column.get(str(v), "detail") in keys else -1).astype(np.int64)
    holds_key = per_row("detail", lambda v: v is not None).astype(bool)
    for number, name in enumerate(keys):
        rows = key_of == number
        if rows.any():
            holds_key[rows] |= per_row(name, lambda v: v is not None).astype(bool)[rows]
    return {name: fresh & holds_key if name == "message" else fresh for name in LOOSE_COLUMNS}


def first_present(indices: np.ndarray, missing: int, local: np.ndarray, classes: int) -> np.ndarray:
    """Per class, the index of the first of its rows whose value is present (``missing``: none is)."""
    present = np.flatnonzero(indices != missing)
    first = np.full(classes, -1, dtype=np.int64)
    first[local[present][::-1]] = present[::-1]  # repeated classes: the last assignment (the first row) wins
    return np.where(first >= 0, indices[np.maximum(first, 0)], missing)
