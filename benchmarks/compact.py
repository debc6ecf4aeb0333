"""Benchmark: `tokenaudit analyze` over many small batches, before and after `tokenaudit compact`.

Builds a dataset of ``--events`` events in ``--batches`` batches (as frequent
ingests leave it) and the same events in one batch, then times `analyze` on
the many-batch dataset, compacts it (timed), and times `analyze` again.
Target: after compaction, analyze within 1.5x of the one-batch dataset.

    python benchmarks/compact.py                              # 1,000,000 events, 5,000 batches, 3 runs
    python benchmarks/compact.py --events 100000 --batches 500 --runs 1
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 1.5


def _runner() -> object:
    spec = importlib.util.spec_from_file_location("_benchmarks_run", HERE / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


run = _runner()


def time_analyze(root: Path, runs: int, events: int, workdir: Path) -> float:
    """Median wall time of `tokenaudit analyze --format json` on ``root``; checks the events counted."""
    argv = [str(run.TOKENAUDIT), "analyze", "--dataset", str(root), "--format", "json"]  # type: ignore[attr-defined]
    walls = []
    for _ in range(runs):
        measured = run.measure(argv, env=run._child_env(workdir), scratch=workdir,  # type: ignore[attr-defined]
                               timeout_s=900.0, rss_limit=int(0.7 * run._memory_bytes()))  # type: ignore[attr-defined]
        if measured.returncode != 0:
            raise RuntimeError(f"analyze failed: {measured.stderr.strip()[-300:]}")
        total = sum(int(group["count"]) for group in json.loads(measured.stdout))
        if total != events:
            raise RuntimeError(f"analyze counted {total:,} events, the dataset holds {events:,}")
        walls.append(measured.wall_s)
    return sorted(walls)[len(walls) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the dataset [1,000,000]")
    parser.add_argument("--batches", type=int, default=5_000, help="batches they are written in [5,000]")
    parser.add_argument("--runs", type=int, default=3, help="analyze runs; the median is reported [3]")
    parser.add_argument("--keep", type=Path, help="build the datasets here and keep them")
    args = parser.parse_args(argv)
    run.compile_package()  # type: ignore[attr-defined]
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="tokenaudit-compact-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        one, many = workdir / "one-batch", workdir / "many-batches"
        for root in (one, many):
            shutil.rmtree(root, ignore_errors=True)
        run.build_analyze_dataset(one, args.events, batch_events=args.events)  # type: ignore[attr-defined]
        built = run.build_analyze_dataset(many, args.events,  # type: ignore[attr-defined]
                                          batch_events=-(-args.events // args.batches))
        single = time_analyze(one, args.runs, args.events, workdir)
        before = time_analyze(many, args.runs, args.events, workdir)
        started = time.perf_counter()
        import tokenaudit as ta

        report = ta.compact(many)
        took = time.perf_counter() - started
        after = time_analyze(many, args.runs, args.events, workdir)
        ratio = after / single
        print(run.markdown_table(  # type: ignore[attr-defined]
            ("dataset", "batches", "analyze median s", "× one batch"),
            [("one batch", "1", f"{single:.2f}", "1.00"),
             (f"{args.batches:,} batches", f"{report.batches_before:,}", f"{before:.2f}", f"{before / single:.2f}"),
             ("after compact", f"{report.batches_after:,}", f"{after:.2f}", f"{ratio:.2f}")]))
        print(f"\n{args.events:,} events, median of {args.runs} run(s); many-batch dataset built in {built:.0f} s; "
              f"compact took {took:.1f} s ({report.files_merged:,} files, {report.bytes_before / 1e6:,.1f} MB "
              f"-> {report.files_written:,} files, {report.bytes_after / 1e6:,.1f} MB)")
        print(f"Target: after compaction within {TARGET_RATIO}× of one batch: {ratio:.2f}× "
              f"({'met' if ratio <= TARGET_RATIO else 'missed'})")
        return 0 if ratio <= TARGET_RATIO else 1
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
