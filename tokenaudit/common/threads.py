"""Work over files on threads, results in order, with a bounded number read ahead."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

_In = TypeVar("_In")
_Out = TypeVar("_Out")

#: Threads for reading files: Parquet and Arrow release the GIL; more than 4 only add memory.
READ_THREADS = min(4, os.cpu_count() or 1)


def ordered_map(work: Callable[[_In], _Out], items: Iterable[_In], *, ahead: int | None = None) -> Iterator[_Out]:
    """``work`` of each item on :data:`READ_THREADS` threads, yielded in the items' order.

    At most ``ahead`` results wait for their turn (twice the threads by default): each may
    hold a file's worth of data, so memory stays bounded whatever the number of files.

    Examples
    --------
    >>> list(ordered_map(lambda n: n * n, range(6), ahead=2))
    [0, 1, 4, 9, 16, 25]
    """
    limit = ahead or 2 * READ_THREADS
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        pending: deque[Future[_Out]] = deque()
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
