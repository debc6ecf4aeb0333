"""Work over files on threads or on a Dask cluster, in order, with a bounded read-ahead."""

from __future__ import annotations

import threading
import time

import pytest

from tokenaudit.common.threads import READ_THREADS, ordered_map


def test_results_come_in_the_items_order_whatever_finishes_first() -> None:
    def slow_first(n: int) -> int:
        time.sleep(0.05 if n == 0 else 0)
        return n * 10

    assert list(ordered_map(slow_first, range(8))) == [n * 10 for n in range(8)]


def test_no_more_than_ahead_results_wait() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> int:
        with lock:
            started.append(n)
        return n

    seen = []
    for n in ordered_map(work, range(20), ahead=3):
        time.sleep(0.01)  # every submitted task has started by now
        with lock:
            assert len(started) <= n + 3
        seen.append(n)
    assert seen == list(range(20)) and READ_THREADS >= 1


def test_an_error_of_one_item_reaches_the_caller() -> None:
    def work(n: int) -> int:
        if n == 2:
            raise ValueError("item 2")
        return n

    with pytest.raises(ValueError, match="item 2"):
        list(ordered_map(work, range(5)))


def test_on_a_cluster_the_results_are_the_same_and_in_order(dask_client: object) -> None:
    table = {n: "x" * n for n in range(12)}  # travels once, with the work

    def work(n: int) -> tuple[int, int]:
        return n, len(table[n])

    assert list(ordered_map(work, range(12), client=dask_client)) == [(n, n) for n in range(12)]


def test_on_a_cluster_the_work_runs_in_other_processes(dask_client: object) -> None:
    import os

    pids = set(ordered_map(lambda _n: os.getpid(), range(8), client=dask_client))
    assert pids and os.getpid() not in pids


def test_on_a_cluster_an_error_of_one_item_reaches_the_caller(dask_client: object) -> None:
    def work(n: int) -> int:
        if n == 3:
            raise ValueError("item 3")
        return n

    with pytest.raises(ValueError, match="item 3"):
        list(ordered_map(work, range(6), client=dask_client))
