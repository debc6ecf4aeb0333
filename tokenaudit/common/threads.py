"""Work over files on threads, or on a Dask cluster, results in order, with a bounded number read ahead."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any, Protocol, TypeVar

_In = TypeVar("_In")
_Out = TypeVar("_Out")

#: Threads for reading files: Parquet and Arrow release the GIL; more than 4 only add memory.
READ_THREADS = min(4, os.cpu_count() or 1)


class _Pending(Protocol):
    def result(self) -> Any: ...


def ordered_map(work: Callable[[_In], _Out], items: Iterable[_In], *, ahead: int | None = None,
                client: Any = None) -> Iterator[_Out]:
    """``work`` of each item on :data:`READ_THREADS` threads, or as tasks on a Dask cluster, in the items' order.

    At most ``ahead`` results wait for their turn (twice the threads, or the cluster's worker
    threads, by default): each may hold a file's worth of data, so memory stays bounded whatever
    the number of files.

    With a ``client`` (a ``distributed.Client``), ``work`` is sent to every worker once (it may
    hold a catalogue) and each item becomes a task; the results travel back in the items' order,
    so what the caller builds from them is the same as on threads. Workers must see the files
    ``work`` reads at the same paths.

    Examples
    --------
    >>> list(ordered_map(lambda n: n * n, range(6), ahead=2))
    [0, 1, 4, 9, 16, 25]
    """
    with ExitStack() as stack:
        if client is None:
            limit = ahead or 2 * READ_THREADS
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=READ_THREADS))

            def submit(item: _In) -> _Pending:
                return pool.submit(work, item)
        else:
            limit = ahead or 2 * max(1, sum(client.nthreads().values()))
            [sent] = client.scatter([work], broadcast=True, hash=False)

            def submit(item: _In) -> _Pending:
                return client.submit(_apply, sent, item, pure=False)  # type: ignore[no-any-return]
        pending: deque[_Pending] = deque()
        for item in items:
            pending.append(submit(item))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _apply(work: Callable[[_In], _Out], item: _In) -> _Out:
    """A cluster task: ``work`` (scattered once to the worker) of one item."""
    return work(item)
