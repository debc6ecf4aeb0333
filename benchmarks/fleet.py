"""A generated fleet's logs, ingested by one process and by a local Dask cluster, in one run (issue 17).

Usage::

    python benchmarks/fleet.py --files 40 --lines 250000 --workers 2 --runs 3

writes ``--files`` Proxmox syslogs (each its own seed, as many nodes' logs would be), then
times ``tokenaudit ingest`` over all of them into a fresh dataset, once in one process
(threads, as by default) and once with ``--dask local:N``, and checks that both give the
same events and line accounting, and the generator's count of failure events. The table
gives each one's throughput and its ratio to the single process. Both use the same files,
warm in the page cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import SEED, generate  # noqa: E402


def _ingest(files: list[Path], dataset: Path, extra: list[str], env: dict[str, str]) -> tuple[float, dict[str, object]]:
    shutil.rmtree(dataset, ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tokenaudit", "ingest", *map(str, files), "--dataset", str(dataset),
                           "--timezone", "UTC", "--quiet", "-f", "json", *extra],
                          capture_output=True, text=True, env=env, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"ingest {' '.join(extra)} failed: {done.stderr[-1000:]}")
    return took, json.loads(done.stdout)["totals"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=40, help="logs of the fleet [40]")
    parser.add_argument("--lines", type=int, default=250_000, help="lines per log [250,000]")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster [2]")
    parser.add_argument("--runs", type=int, default=3, help="runs of each; the median is reported [3]")
    parser.add_argument("--keep", type=Path, help="write the files and datasets here and keep them")
    args = parser.parse_args(argv)

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="tokenaudit-fleet-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TOKENAUDIT_KEY_FILE": str(workdir / "key")}
    try:
        files, expected, size = [], 0, 0
        for number in range(args.files):
            path = workdir / f"pve{number:03d}.log"
            truth = generate("proxmox_syslog", args.lines, path, seed=SEED + number)
            files.append(path)
            expected += int(truth["failures"])  # type: ignore[call-overload]
            size += path.stat().st_size
            print(f"  fleet: {number + 1}/{args.files} logs", file=sys.stderr, flush=True)
        for path in files:  # into the page cache, for both
            path.read_bytes()
        rows = []
        for name, extra in (("one process", []), (f"local:{args.workers}", ["--dask", f"local:{args.workers}"])):
            times, totals = [], {}
            for _ in range(args.runs):
                took, totals = _ingest(files, workdir / "dataset", extra, env)
                times.append(took)
                print(f"  {name}: {took:.2f} s", file=sys.stderr, flush=True)
            rows.append((name, statistics.median(times), totals))
        base = rows[0][1]
        print(f"{args.files} Proxmox syslogs of {args.lines:,} lines ({size / 1e6:,.0f} MB); median of {args.runs}; "
              f"{os.cpu_count()} CPUs\n")
        print("| ingest | median s | MB/s | × one process | events | correct |")
        print("|---|---:|---:|---:|---:|---|")
        failed = False
        for name, took, totals in rows:
            right = totals["events"] == expected and totals["read"] == args.files * args.lines
            failed |= not right
            print(f"| {name} | {took:.2f} | {size / 1e6 / took:,.1f} | {base / took:.2f} | {totals['events']:,} | "
                  f"{'yes' if right else 'NO (' + str(expected) + ' expected)'} |")
        return 1 if failed else 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
