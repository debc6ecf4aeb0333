"""Ingest on a Dask cluster: each source a task on a worker, one batch committed by the caller.

A task (:func:`tokenaudit.pipeline.batches.run_source`) runs the same per-source ingest as
one machine does (detection, resumption, :func:`~tokenaudit.pipeline.chunk.process_chunk`
over its blocks). A source with many events has them written by its task into the batch's
files, under part numbers of its own; a small one sends them back, to be written with the
others'. Every task sends back the rest (the line accounting, the manifest row, realms,
tokens and request counts), which the caller commits as one batch, with its manifest, once
every task is in. A task that fails
or whose worker dies is run again by Dask (``retries``); a retry writes the same part
numbers, and the caller deletes any part that no final task names, so nothing is
counted twice. Workers must see the sources and the dataset at the same paths (one
machine, or a shared file system). The caller's commit is one machine's
(:func:`~tokenaudit.store.conflicts.commit_ingest`): on an object store, a batch of another
site that read the same lines meanwhile makes the whole run go again, tasks and all, under
a new batch id.

A source of :data:`SPREAD_BYTES` or more is not left to its one task: that task reads the file,
numbers its lines and sends each block, as a task of its own, to the whole cluster
(:func:`spread_blocks`), then collects the results in the file's order, so one large file is
parsed by every worker and gives what one machine gives.

Sources of one run are matched against the streams of earlier runs only (on one machine,
also against those of the same run read before them): a run that holds a log and, under
another name, a copy of it reads both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Any

from ..errors import InputError
from ..sources.readers import Source
from ..store.dataset import remove_events
from ..store.layout import batch_files, batch_of
from ..store.location import DatasetLocation
from .chunk import process_block
from .progress import Progress

#: How often Dask runs a task again after it failed or its worker died.
RETRIES = 2
#: A source this large has its blocks parsed on the whole cluster, not by its own task alone.
SPREAD_BYTES = 64 * 1024 * 1024


class _ClusterBlocks:
    """A source's blocks as tasks on the cluster, the catalogue sent to each worker once."""

    def __init__(self, client: Any, catalogue: object) -> None:
        self.client = client
        [self.catalogue] = client.scatter([catalogue], broadcast=True, hash=False)
        self.capacity = 2 * max(1, sum(client.nthreads().values()))

    def submit(self, block: bytes, fmt: object, context: object) -> Any:
        return self.client.submit(process_block, block, fmt, self.catalogue, context, pure=False, retries=RETRIES)


@contextmanager
def spread_blocks(catalogue: object) -> Iterator[_ClusterBlocks | None]:
    """Where the blocks of a large source go when its task runs on a cluster's worker: the whole cluster.

    Yields ``None`` outside a worker (the caller then parses the blocks itself). The task leaves
    its worker's thread pool while it waits for its blocks (``worker_client``), so the blocks may
    run on its own worker too.
    """
    try:
        from distributed import get_worker, worker_client
    except ImportError:
        yield None
        return
    try:
        get_worker()
    except ValueError:  # not in a worker's task
        yield None
        return
    with worker_client() as client:
        yield _ClusterBlocks(client, catalogue)


def run_sources(client: Any, task: Callable[..., Any], sources: list[Source],
                progress: Callable[[Progress], None] | None = None, *, name: str, shared: Sequence[object] = (),
                rest: Sequence[object] = ()) -> list[Any]:
    """Run ``task(source, number, *shared, *rest)`` for every source on the cluster of ``client``, in source order.

    ``name`` (the batch id) names the tasks: Dask runs a task of a known name only once.

    ``shared`` (the formats, the catalogue: large) is sent once to each worker, not once a task.
    ``progress`` hears of each source as its task ends.

    Raises
    ------
    InputError
        If a source is standard input: it cannot travel.
    """
    from distributed import as_completed

    if any(source.is_stdin for source in sources):
        raise InputError("standard input cannot be read on a cluster", hint="save it to a file the workers can read")
    # Fresh copies on every worker (hash=False): a hashed key that an earlier run left on one worker only would be
    # reused as it is, and lost with that worker.
    sent = client.scatter(list(shared), broadcast=True, hash=False) if shared else []
    futures = [client.submit(task, source, number, *sent, *rest, pure=False, retries=RETRIES,
                             key=f"tokenaudit-ingest-{name}-{number}") for number, source in enumerate(sources)]
    done, done_bytes = 0, 0
    total = sum(source.size or 0 for source in sources)
    number_of = {future.key: number for number, future in enumerate(futures)}
    for future in as_completed(futures):  # a source at a time, as each task ends, in whatever order
        source = sources[number_of[future.key]]
        done += 1
        if progress is not None:
            progress(Progress(source.display_name, source.size or 0, source.size, file_number=done,
                              file_count=len(sources), bytes_before=done_bytes, total_size=total))
        done_bytes += source.size or 0
    outcomes: list[Any] = client.gather(futures)
    return outcomes


def remove_leftovers(dataset: DatasetLocation, batch_id: str, written: list[PurePath]) -> None:
    """Delete the batch's events files that are not ``written`` (by the final tasks): an attempt before a retry
    left them."""
    def resolved(path: PurePath) -> PurePath:
        return path.resolve() if isinstance(path, Path) else path

    kept = {resolved(path) for path in written}
    stale = [path for path in batch_files(dataset, "events")
             if batch_of(path) == batch_id and resolved(path) not in kept]
    remove_events(dataset, stale)


@contextmanager
def cluster_client(address: str) -> Iterator[Any]:
    """A Dask client of the scheduler at ``address``, or of a new local cluster for ``local:N`` (N worker processes).

    Leaving the context closes the client, and the local cluster with it.

    Raises
    ------
    InputError
        If Dask is not installed, ``local:N`` has no number of workers, or the scheduler cannot be reached.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("Dask is not installed", hint="pip install 'tokenaudit[dask]'") from None
    if address.startswith("local:"):
        count = address.removeprefix("local:")
        if not (count.isascii() and count.isdigit() and int(count) > 0):
            raise InputError(f"{address!r}: local:N needs a number of workers", hint="--dask local:2")
        # Its web server on a free port: the default one (8787) may be another cluster's.
        cluster = LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True, dashboard_address=":0")
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {address}: {exc}",
                         hint="start one (dask scheduler), or use --dask local:N for workers on this machine") from None
    with client:
        yield client
