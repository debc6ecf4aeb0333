"""A generated fleet's logs, ingested by one process and by a local Dask cluster, in one run (issue 17).

Usage::

    python benchmarks/fleet.py --files 40 --lines 250000 --workers 2 --runs 3
    python benchmarks/fleet.py --files 2000 --lines 2000 --scaling 1 2 --runs 3

writes ``--files`` Proxmox syslogs (each its own seed, as many nodes' logs would be), then
times ``tokenaudit ingest`` over all of them into a fresh dataset, once in one process
(threads, as by default) and once with ``--dask local:N``, and checks that both give the
same events and line accounting, and the generator's count of failure events. The table
gives each one's throughput and its ratio to the single process. Both use the same files,
warm in the page cache.

``--scaling N …`` times the ingest in this process instead (no start-up of Python or of the
cluster in the figures: the cluster is started once per worker count and its start is given
apart) with 1 … N workers, and splits each run's time by Dask's task stream: the
coordinator's share before the first task starts (finding the sources, the snapshot of the
dataset, sending the catalogue), the tasks' span, and the coordinator's share after the last
task ends (gathering the outcomes, the manifest commit).
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

from generate import SEED, generate, truth_path  # noqa: E402


def _fleet_log(path: Path, lines: int, seed: int) -> dict[str, object]:
    """Generate one log of the fleet, or take it as it is where ``--keep`` kept the same one from an earlier run."""
    kept = truth_path(path)
    if path.exists() and kept.exists():
        truth: dict[str, object] = json.loads(kept.read_text(encoding="utf-8"))
        if truth.get("lines") == lines and truth.get("seed") == seed and path.stat().st_size == truth.get("file_bytes"):
            return truth
    return generate("proxmox_syslog", lines, path, seed=seed)


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


def _scaling(files: list[Path], dataset: Path, workers: list[int], runs: int,
             key: bytes) -> list[dict[str, float | int | str]]:
    """Per worker count (0: one process, no cluster), the median run's wall time and its phases."""
    import tokenaudit as ta

    def one(client: object) -> dict[str, float | int]:
        shutil.rmtree(dataset, ignore_errors=True)
        if client is None:
            started = time.time()
            report = ta.ingest([str(f) for f in files], dataset, timezone="UTC", fingerprint_key=key)
            return {"wall": time.time() - started, "events": report.totals.events}
        from distributed import get_task_stream

        with get_task_stream(client) as stream:  # type: ignore[arg-type]
            started = time.time()
            report = ta.ingest([str(f) for f in files], dataset, timezone="UTC", fingerprint_key=key, client=client)
            ended = time.time()
        computes = [span for task in stream.data if str(task["key"]).startswith("tokenaudit-ingest-")
                    for span in task["startstops"] if span["action"] == "compute"]
        first, last = min(c["start"] for c in computes), max(c["stop"] for c in computes)
        busy = sum(c["stop"] - c["start"] for c in computes)
        return {"wall": ended - started, "before": first - started, "tasks": last - first, "after": ended - last,
                "busy": busy, "events": report.totals.events}

    rows: list[dict[str, float | int | str]] = []
    for count in [0, *workers]:
        if count == 0:
            timed = [one(None) for _ in range(runs)]
            rows.append({"mode": "one process", "start": 0.0, **sorted(timed, key=lambda t: t["wall"])[runs // 2]})
            continue
        from distributed import Client, LocalCluster

        started = time.perf_counter()
        with LocalCluster(n_workers=count, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
                Client(cluster) as client:
            start = time.perf_counter() - started
            timed = [one(client) for _ in range(runs)]
        median = sorted(timed, key=lambda t: t["wall"])[runs // 2]
        rows.append({"mode": f"local:{count}", "start": start, **median})
        print(f"  local:{count}: {[round(t['wall'], 2) for t in timed]}", file=sys.stderr, flush=True)
    return rows


def _print_scaling(rows: list[dict[str, float | int | str]], size: int, expected: int) -> bool:
    base = float(rows[0]["wall"])
    print("| ingest | cluster start s | median s | MB/s | × one process | before the first task s | tasks' span s "
          "| after the last task s | workers busy | events | correct |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    right = True
    for row in rows:
        wall = float(row["wall"])
        ok = row["events"] == expected
        right &= ok
        workers = int(str(row["mode"]).removeprefix("local:")) if row["mode"] != "one process" else 0
        phases = (f"{row['before']:.2f} | {row['tasks']:.2f} | {row['after']:.2f} | "
                  f"{100 * float(row['busy']) / (workers * float(row['tasks'])):.0f} %") if workers else "| | |"
        print(f"| {row['mode']} | {float(row['start']):.1f} | {wall:.2f} | {size / 1e6 / wall:,.1f} "
              f"| {base / wall:.2f} | {phases} | {int(row['events']):,} "
              f"| {'yes' if ok else 'NO (' + str(expected) + ' expected)'} |")
    return right


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=40, help="logs of the fleet [40]")
    parser.add_argument("--lines", type=int, default=250_000, help="lines per log [250,000]")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster [2]")
    parser.add_argument("--runs", type=int, default=3, help="runs of each; the median is reported [3]")
    parser.add_argument("--keep", type=Path,
                        help="write the files and datasets here and keep them; logs kept by an earlier run with the "
                             "same --lines are used again")
    parser.add_argument("--scaling", type=int, nargs="+", metavar="N",
                        help="time in this process with these worker counts, phase by phase (see above)")
    args = parser.parse_args(argv)

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="tokenaudit-fleet-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TOKENAUDIT_KEY_FILE": str(workdir / "key")}
    try:
        files, expected, size = [], 0, 0
        for number in range(args.files):
            path = workdir / f"pve{number:03d}.log"
            truth = _fleet_log(path, args.lines, SEED + number)
            files.append(path)
            expected += int(truth["failures"])  # type: ignore[call-overload]
            size += path.stat().st_size
            if (number + 1) % 100 == 0 or number + 1 == args.files:
                print(f"  fleet: {number + 1}/{args.files} logs", file=sys.stderr, flush=True)
        for path in files:  # into the page cache, for both
            path.read_bytes()
        if args.scaling:
            print(f"{args.files} Proxmox syslogs of {args.lines:,} lines ({size / 1e6:,.0f} MB); "
                  f"median of {args.runs}; {os.cpu_count()} CPUs\n")
            right = _print_scaling(_scaling(files, workdir / "dataset", args.scaling, args.runs, b"f" * 32), size,
                                   expected)
            return 0 if right else 1
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
