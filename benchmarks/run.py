"""Time ``tokenaudit ingest`` against the floor (grep) and the per-line baseline, on the same files.

Usage::

    python benchmarks/run.py [--lines N] [--runs 3] [--formats nginx proxmox_syslog ...] [--gzip]
                             [--failure-share 0.03] [--keep DIR] [--analyze-events N]
                             [--cardinality realistic|templates] [--report-days 1 7 30]

Generates each format's log once (``benchmarks/generate.py``, into a temporary folder
or ``--keep DIR``), then times, interleaved, ``--runs`` times each:

* ``floor``: ``LC_ALL=C grep -c -E PATTERN FILE`` (``zcat FILE | LC_ALL=C grep …`` for gzip),
  a pattern that selects exactly the failure lines;
* ``zcat | wc -l`` (gzip only): the cost of decompressing;
* ``baseline``: ``benchmarks/baseline.py``, the per-line Python regex parser a user would write;
* ``tokenaudit``: ``tokenaudit ingest FILE --dataset <fresh> --input-format NAME --timezone UTC``,
  end to end (read, parse, classify, write Parquet).

Every run is checked against the generator's ground truth: the count printed by grep
and by the baseline, and for tokenaudit the events in the dataset (count and sum of
line numbers, read back with ``tokenaudit.read_events``). Prints a Markdown table of
medians, then the issue's targets. ``--analyze-events N`` also builds a dataset of N
events over 30 days and times ``tokenaudit analyze --format json`` on it; by default each event has
values of its own, as real failures do (``--cardinality templates`` repeats 20,000 template events,
as the figures before issue 16 did). ``--report-days 1 7 30`` also times ``tokenaudit report``
over the last 1, 7 and 30 days of that dataset, each run checked against the window's events.

Formats that ``tokenaudit formats`` does not list are skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baseline import PARSE_ALL  # noqa: E402
from generate import SHAPES, generate  # noqa: E402

TOKENAUDIT = Path(sys.executable).parent / "tokenaudit"
#: Issue 16's ingest targets (judged at 5,000,000 lines): the most times the floor's time, by format.
TARGET_FLOOR_RATIO = {"nginx": 4.0, "istio": 4.0, "traefik_json": 4.0, "proxmox_syslog": 10.0, "journal_json": 10.0}
#: At least this many times the speed of the baseline that parses every line (the JSON baselines all do).
TARGET_EVERY_LINE_SPEEDUP = 2.0
#: A gzip file's ingest at most this many times the same file's plain ingest.
TARGET_GZIP_RATIO = 1.3
TARGET_RSS_MB = 512.0
TARGET_ANALYZE_S = 2.0
#: Issue 16, over 10,000,000 events of realistic variety: analyze, and a 30-day report, in bounded memory.
TARGET_ANALYZE_REALISTIC_S = 5.0
TARGET_REPORT_30D_S = 15.0
TARGET_ANALYSIS_MB = 1024.0
_PAGE = os.sysconf("SC_PAGE_SIZE")
_SAMPLE_S = 0.05


# --------------------------------------------------------------------------- measuring a child


@dataclass
class Measurement:
    """One run of a command: wall time, peak memory, exit status and output."""

    wall_s: float
    peak_rss: int
    """Bytes: the larger of the maximum resident set size of the largest process of the tree
    (``/usr/bin/time -f %M``, from ``wait4``) and the sampled sum of the tree's proportional set
    sizes (PSS: pages shared by forked workers counted once)."""
    returncode: int
    stdout: str
    stderr: str
    killed: str | None = None
    """Why the runner killed the command (time or memory limit), if it did."""


def _ppids() -> dict[int, int]:
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
    return parents


def _memory_of(pid: int) -> int:
    """Proportional set size of a process (shared pages divided among their sharers), else its RSS."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _tree_memory(root: int) -> int:
    """Memory of ``root`` and all its descendants now: the sum of their PSS."""
    parents = _ppids()
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(_memory_of(pid) for pid in tree)


def _gnu_time() -> str | None:
    """``/usr/bin/time`` if it is GNU time (``-f``/``-o``), else None."""
    path = "/usr/bin/time"
    if not os.access(path, os.X_OK):
        return None
    done = subprocess.run([path, "-f", "%M", "-o", os.devnull, "true"], capture_output=True, check=False)
    return path if done.returncode == 0 else None


GNU_TIME = _gnu_time()


def measure(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    scratch: Path,
    timeout_s: float | None = None,
    rss_limit: int | None = None,
) -> Measurement:
    """Run ``argv`` (absolute path first) and measure its wall time and peak memory.

    The maximum RSS comes from GNU time when installed: ``wait4`` on a child this
    runner spawned itself would report the runner's own size, which the kernel
    carries over the child's ``exec``. The process tree is also sampled every
    50 ms (its summed PSS counts concurrent processes, such as a pool of workers),
    and killed, by its process group, when it runs past ``timeout_s`` or its memory
    passes ``rss_limit``.
    """
    out, err, rss_file = scratch / "stdout", scratch / "stderr", scratch / "maxrss"
    rss_file.unlink(missing_ok=True)
    command = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *argv] if GNU_TIME else list(argv)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    actions = [(os.POSIX_SPAWN_OPEN, 1, str(out), flags, 0o600), (os.POSIX_SPAWN_OPEN, 2, str(err), flags, 0o600)]
    stop = threading.Event()
    sampled = [0]
    killed: list[str] = []
    started = time.perf_counter()
    pid = os.posix_spawn(command[0], command, env if env is not None else dict(os.environ),
                         file_actions=actions, setpgroup=0)

    def sample() -> None:
        while not stop.wait(_SAMPLE_S):
            now = _tree_memory(pid)
            sampled[0] = max(sampled[0], now)
            reason = None
            if rss_limit is not None and now > rss_limit:
                reason = f"killed at {now / 1e6:,.0f} MB (limit {rss_limit / 1e6:,.0f} MB)"
            elif timeout_s is not None and time.perf_counter() - started > timeout_s:
                reason = f"killed after {timeout_s:.0f} s (timeout)"
            if reason and not killed:
                killed.append(reason)
                try:
                    os.killpg(pid, signal.SIGKILL)  # the group this runner created for the command
                except ProcessLookupError:
                    pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, _usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    maxrss = 0
    if GNU_TIME:
        try:
            maxrss = int(rss_file.read_text().split()[-1]) * 1024
        except (OSError, IndexError, ValueError):
            maxrss = 0
    return Measurement(
        wall_s=wall,
        peak_rss=max(maxrss, sampled[0]),
        returncode=os.waitstatus_to_exitcode(status),
        stdout=out.read_text(errors="replace"),
        stderr=err.read_text(errors="replace"),
        killed=killed[0] if killed else None,
    )


# --------------------------------------------------------------------------- the tools


@dataclass
class Tool:
    """A command timed on one file, and how to check its result against the truth."""

    name: str
    argv: list[str]
    env: dict[str, str]
    dataset: Path | None = None
    runs: list[Measurement] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(run.wall_s for run in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(run.peak_rss for run in self.runs) / 1e6


def _child_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TOKENAUDIT_DATASET", None)
    # tokenaudit creates its fingerprint key on first use: keep it out of the home folder.
    env["TOKENAUDIT_KEY_FILE"] = str(workdir / "fingerprint.key")
    return env


def _tools(path: Path, truth: dict[str, object], workdir: Path) -> list[Tool]:
    name = str(truth["format"])
    pattern = str(truth["floor_pattern"])
    env = _child_env(workdir)
    sh = shutil.which("sh") or "/bin/sh"
    grep = shutil.which("grep") or "/usr/bin/grep"
    q = shlex.quote
    tools = []
    if truth["gzip"]:
        tools.append(Tool("floor", [sh, "-c", f"zcat {q(str(path))} | LC_ALL=C grep -c -E {q(pattern)}"], env))
        tools.append(Tool("zcat | wc -l", [sh, "-c", f"zcat {q(str(path))} | wc -l"], env))
    else:
        tools.append(Tool("floor", [grep, "-c", "-E", pattern, str(path)], {**env, "LC_ALL": "C"}))
    tools.append(Tool("baseline", [sys.executable, str(HERE / "baseline.py"), "--format", name, str(path)], env))
    if name in PARSE_ALL:  # the JSON scripts decode every line already
        tools.append(Tool("baseline, every line",
                          [sys.executable, str(HERE / "baseline.py"), "--format", name, "--parse-all", str(path)], env))
    dataset = workdir / f"dataset-{path.name}"
    tools.append(Tool("tokenaudit", _tokenaudit_argv(path, truth, dataset), env, dataset=dataset))
    return tools


def _tokenaudit_argv(path: Path, truth: dict[str, object], dataset: Path) -> list[str]:
    return [str(TOKENAUDIT), "ingest", str(path), "--dataset", str(dataset),
            "--input-format", str(truth["tokenaudit_format"]), "--timezone", "UTC"]


def _check_count(run: Measurement, expected: int, what: str) -> str | None:
    if run.returncode != 0:
        return f"exit {run.returncode}: {run.stderr.strip()[-200:]}"
    try:
        got = int(run.stdout.split()[0])
    except (IndexError, ValueError):
        return f"no count in output {run.stdout[:80]!r}"
    return None if got == expected else f"{what} {got:,} != truth {expected:,}"


def _check_dataset(run: Measurement, dataset: Path, truth: dict[str, object]) -> str | None:
    if run.returncode != 0:
        return f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
    import tokenaudit

    try:
        events = tokenaudit.read_events(dataset, columns=["line_no"])
        manifest = tokenaudit.read_manifest(dataset)
    except Exception as exc:  # a broken dataset is a result to report, not a crash of the runner
        return f"dataset unreadable: {exc}"
    count, line_sum = len(events), int(events["line_no"].sum())
    if count != truth["failures"]:
        return f"events {count:,} != truth {truth['failures']:,}"
    if line_sum != truth["failure_line_sum"]:
        return f"event line numbers sum {line_sum:,} != truth {truth['failure_line_sum']:,}"
    read = int(manifest["lines_read"].sum())
    if read != truth["lines"]:
        return f"lines read {read:,} != {truth['lines']:,}"
    return None


def _check(tool: Tool, run: Measurement, truth: dict[str, object]) -> str | None:
    if run.killed:
        return run.killed
    if tool.name == "zcat | wc -l":
        return _check_count(run, int(truth["lines"]), "lines")  # type: ignore[call-overload]
    if tool.name == "tokenaudit":
        assert tool.dataset is not None
        return _check_dataset(run, tool.dataset, truth)
    return _check_count(run, int(truth["failures"]), "count")  # type: ignore[call-overload]


def _warm(path: Path) -> None:
    """Read the file once so every tool starts with it in the page cache."""
    with open(path, "rb") as f:
        while f.read(16 << 20):
            pass


@dataclass(frozen=True)
class Limits:
    """When the runner kills a command: after ``timeout_s``, or past ``rss`` bytes."""

    timeout_s: float | None = None
    rss: int | None = None


def bench_file(
    path: Path, truth: dict[str, object], runs: int, workdir: Path, *, keep: bool, limits: Limits = Limits()
) -> list[Tool]:
    """Time every tool on ``path``, ``runs`` times, interleaved; check each run."""
    tools = _tools(path, truth, workdir)
    scratch = workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    _warm(path)
    for number in range(runs):
        for tool in tools:
            if tool.dataset is not None:
                shutil.rmtree(tool.dataset, ignore_errors=True)  # every run starts from no dataset
            run = measure(tool.argv, env=tool.env, scratch=scratch, timeout_s=limits.timeout_s,
                          rss_limit=limits.rss)
            tool.runs.append(run)
            problem = _check(tool, run, truth)
            if problem:
                tool.problems.append(problem)
            if tool.dataset is not None and not (keep and number == runs - 1):
                shutil.rmtree(tool.dataset, ignore_errors=True)
            _progress(f"  {path.name} {tool.name} run {number + 1}/{runs}: {run.wall_s:.3f} s, "
                      f"{run.peak_rss / 1e6:.0f} MB{' FAIL ' + problem if problem else ''}")
    return tools


# --------------------------------------------------------------------------- analyze


def template_events(sample: Path) -> Any:
    """The events tokenaudit makes of 20,000 generated Proxmox failure lines (written to ``sample``).

    Both analysis benchmarks (here and ``engines.py``) repeat them, with values of their own, into a dataset.
    """
    import pandas as pd

    import tokenaudit as ta

    generate("proxmox_syslog", 20_000, sample, failure_share=1.0)
    lines = sample.read_text(encoding="ascii").splitlines()
    context = ta.ChunkContext(source_file=str(sample), timezone="UTC",
                              reference_time=pd.Timestamp("2026-11-23", tz="UTC"))
    template = ta.process_chunk(lines, ta.load_formats()["syslog_rfc3164"], ta.load_catalogue(), context).events
    if template.num_rows == 0:
        raise RuntimeError("the template events are empty: is syslog_rfc3164 broken?")
    return template


def build_analyze_dataset(root: Path, events: int, *, batch_events: int = 1_000_000,
                          cardinality: str = "realistic") -> float:
    """A dataset of ``events`` failure events, written directly as Parquet; returns seconds taken.

    The events are those tokenaudit makes of the generated Proxmox failure lines
    (``process_chunk`` over 20,000 of them), repeated with fresh times and line numbers over
    30 days, in batches of ``batch_events`` each committed with its manifest, as ingests of
    successive days would leave them.

    With ``cardinality="realistic"`` every event has values of its own, as real failures do:
    its own client address, one of :data:`DISTINCT_USERS` users and :data:`DISTINCT_REALMS`
    realms, and, where its signature names an audience, one of :data:`DISTINCT_AUDIENCES`;
    its message holds its address and user (``rhost=``, ``user=``), so every message is its own.
    With ``"templates"`` the 20,000 template events repeat unchanged (classes of identical
    rows then collapse the dataset: what the figures before issue 16 measured).
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    from tokenaudit.catalogue.loading import load_catalogue
    from tokenaudit.schema import EVENT_SCHEMA
    from tokenaudit.store.dataset import commit_batch, new_batch_id, open_for_writing, write_events
    from tokenaudit.store.looseness import Looseness

    started = time.perf_counter()
    template = template_events(root.parent / "analyze-sample.log")
    loose = Looseness.of(load_catalogue())
    open_for_writing(root)
    start = pd.Timestamp("2026-10-01", tz="UTC").value // 1000
    step = (30 * 86_400 * 1_000_000) // max(events, 1)
    done = 0
    while done < events:
        count = min(batch_events, events - done)
        batch_id = new_batch_id() + f"-{done // batch_events:04d}"
        numbers = np.arange(done, done + count, dtype=np.int64)
        table = template.take(pa.array(numbers % template.num_rows))
        ts = pa.array(start + numbers * step, pa.timestamp("us", tz="UTC"))
        source = f"bench/syslog.{done // batch_events}"
        replace = {
            "ts": ts,
            "event_date": pc.strftime(ts, format="%Y-%m-%d"),
            "line_no": pa.array(numbers - done + 1, pa.int64()),
            "source_file": pa.array([source] * count, pa.string()),
            "stream_id": pa.array([f"{done // batch_events:016x}"] * count, pa.string()),
            "batch_id": pa.array([batch_id] * count, pa.string()),
        }
        if cardinality == "realistic":
            replace.update(_varied(table, numbers))
        for name, values in replace.items():
            table = table.set_column(EVENT_SCHEMA.get_field_index(name), name, values)
        write_events(root, table, batch_id, loose=loose)  # summaries as ingest writes them
        manifest = pd.DataFrame([{
            "batch_id": batch_id, "ingested_at": pd.Timestamp.now(tz="UTC"), "source_file": source,
            "stream_id": f"{done // batch_events:016x}", "format": "syslog_rfc3164", "size_bytes": 0,
            "compressed": False, "head_len": 0, "head_sha256": "", "tail_sha256": "", "offset_bytes": 0,
            "lines_total": count, "lines_read": count, "lines_parsed": count, "lines_skipped": 0,
            "lines_rejected": 0, "events": count,
        }])
        commit_batch(root, manifest, batch_id)
        done += count
        _progress(f"  analyze dataset: {done:,}/{events:,} events")
    return time.perf_counter() - started


#: Distinct values of the realistic analyze dataset (each event has its own client address and time).
DISTINCT_USERS = 40_000
DISTINCT_REALMS = 40
DISTINCT_AUDIENCES = 5_000


def _varied(table: Any, numbers: Any) -> dict[str, Any]:
    """Columns of values of their own for the events numbered ``numbers``: address, user, realm, audience."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def texts(fmt: str, values: Any) -> Any:
        return pa.array([fmt.format(*row) for row in values], pa.string())

    address = texts("10.{}.{}.{}", zip(numbers >> 16 & 255, numbers >> 8 & 255, numbers & 255, strict=True))
    realm_numbers = numbers % DISTINCT_REALMS
    user = texts("u{}@realm{}", zip(numbers % DISTINCT_USERS, realm_numbers, strict=True))
    realm = texts("realm{}", zip(realm_numbers, strict=True))
    audience = texts("37757258797{:07d}", zip(numbers % DISTINCT_AUDIENCES, strict=True))
    audience = pc.if_else(pc.is_valid(table.column("audience")), audience, pa.nulls(len(numbers), pa.string()))
    # The message says what the columns say, as pvedaemon's line does: every message is its own.
    message = table.column("message").combine_chunks()
    for name, values in (("rhost", address), ("user", user)):
        message = _substituted(message, name, values)
    return {"client_addr": address, "user": user, "realm": realm, "audience": audience, "message": message}


def _substituted(messages: Any, name: str, values: Any) -> Any:
    """``messages`` with the value after ``name=`` replaced by the row's value of ``values`` (where it has one)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parts = pc.extract_regex(messages, rf"(?P<before>.*?\b{name}=)\S+(?P<after>.*)")
    joined = pc.binary_join_element_wise(parts.field("before"), values, parts.field("after"), "")
    return pc.if_else(pc.is_valid(parts), joined, messages).cast(pa.string())


def bench_analyze(events: int, runs: int, workdir: Path, *, limits: Limits = Limits(),
                  cardinality: str = "realistic") -> tuple[Tool, float]:
    root = workdir / "analyze-dataset"
    shutil.rmtree(root, ignore_errors=True)
    took = build_analyze_dataset(root, events, cardinality=cardinality)
    tool = Tool("tokenaudit analyze", [str(TOKENAUDIT), "analyze", "--dataset", str(root), "--format", "json"],
                _child_env(workdir))
    scratch = workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    for number in range(runs):
        run = measure(tool.argv, env=tool.env, scratch=scratch, timeout_s=limits.timeout_s, rss_limit=limits.rss)
        tool.runs.append(run)
        problem = None
        if run.killed:
            problem = run.killed
        elif run.returncode != 0:
            problem = f"exit {run.returncode}: {run.stderr.strip()[-200:]}"
        else:
            total = sum(int(group["count"]) for group in json.loads(run.stdout))
            if total != events:
                problem = f"groups count {total:,} events != {events:,}"
        if problem:
            tool.problems.append(problem)
        _progress(f"  analyze run {number + 1}/{runs}: {run.wall_s:.3f} s, {run.peak_rss / 1e6:.0f} MB"
                  f"{' FAIL ' + problem if problem else ''}")
    return tool, took


# --------------------------------------------------------------------------- report

#: The analyze dataset's 30 days end here (it starts on 2026-10-01).
DATASET_END = "2026-10-31T00:00:00Z"


def bench_report(root: Path, events: int, days: Sequence[int], runs: int, workdir: Path, *,
                 limits: Limits = Limits()) -> list[tuple[int, int, Tool]]:
    """Time ``tokenaudit report --format json`` over the last ``days`` of the analyze dataset at ``root``.

    Each run is checked: the report's events are those the dataset holds in the window
    (the analyze dataset spaces its events evenly, so the count is known).
    """
    import pandas as pd

    end = pd.Timestamp(DATASET_END)
    start = pd.Timestamp("2026-10-01", tz="UTC")
    step = (30 * 86_400 * 1_000_000) // max(events, 1)
    results = []
    scratch = workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    for span in days:
        since = end - pd.Timedelta(days=span)
        first = max(0, -(-((since - start).value // 1000) // step))
        expected = max(0, min(events, -(-((end - start).value // 1000) // step)) - first)
        tool = Tool(f"tokenaudit report, {span} d", [str(TOKENAUDIT), "report", "--dataset", str(root), "--since",
                                                    since.isoformat(), "--until", end.isoformat(), "--format", "json"],
                    _child_env(workdir))
        for number in range(runs):
            run = measure(tool.argv, env=tool.env, scratch=scratch, timeout_s=limits.timeout_s, rss_limit=limits.rss)
            tool.runs.append(run)
            problem = run.killed or (f"exit {run.returncode}: {run.stderr.strip()[-200:]}" if run.returncode else None)
            if problem is None:
                found = json.loads(run.stdout)["totals"]["events"]
                if found != expected:
                    problem = f"report counts {found:,} events, the window holds {expected:,}"
            if problem:
                tool.problems.append(problem)
            _progress(f"  report {span} d run {number + 1}/{runs}: {run.wall_s:.3f} s, {run.peak_rss / 1e6:.0f} MB"
                      f"{' FAIL ' + problem if problem else ''}")
        results.append((span, expected, tool))
    return results



def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _git_revision(folder: Path) -> str:
    """`` (git abc1234, modified)`` for a package in a git checkout, else ``""``."""
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f" (git {head}{', modified' if dirty else ''})"


def machine_notes() -> list[str]:
    """Lines describing the machine and the software versions (Markdown bullets)."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = f"{_memory_bytes() / 1e9:.1f} GB"
    import pyarrow

    try:
        import tokenaudit

        version = tokenaudit.__version__ + _git_revision(Path(tokenaudit.__file__).parent)
    except ImportError:  # pragma: no cover - the runner needs tokenaudit installed
        version = "not importable"
    grep = subprocess.run(["grep", "--version"], capture_output=True, text=True, check=False).stdout
    quota = Path("/sys/fs/cgroup/cpu.max")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"- CPUs: {os.cpu_count()} (nproc {len(os.sched_getaffinity(0))}"
        f"{', cgroup cpu.max ' + quota.read_text().strip() if quota.exists() else ''}), {model}; memory {memory}",
        f"- {platform.system()} {platform.release()}; load average {load} at start",
        f"- Python {platform.python_version()}, pyarrow {pyarrow.__version__}, tokenaudit {version}, "
        f"{grep.splitlines()[0] if grep else 'grep'}",
        "- peak RSS from " + ("GNU time (`/usr/bin/time -f %M`) and" if GNU_TIME else "")
        + " the summed PSS of the process tree, sampled every 50 ms",
    ]


def _fmt_ratio(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    if value >= 1e3:
        return f"{value / 1e3:.1f} k"
    return f"{value:.0f}"


HEADER = ("format", "lines", "MB", "tool", "median s", "lines/s", "MB/s", "×floor", "peak RSS MB", "correct")


def table_rows(label: str, truth: dict[str, object], tools: list[Tool]) -> list[tuple[str, ...]]:
    lines = int(truth["lines"])  # type: ignore[call-overload]
    megabytes = int(truth["bytes"]) / 1e6  # type: ignore[call-overload]
    floor = next(tool for tool in tools if tool.name == "floor").median_s
    rows = []
    for tool in tools:
        median = tool.median_s
        correct = "yes" if not tool.problems else "FAIL: " + tool.problems[0]
        rows.append((label, f"{lines:,}", f"{megabytes:,.1f}", tool.name, f"{median:.3f}",
                     _fmt_rate(lines / median), f"{megabytes / median:,.1f}", _fmt_ratio(median / floor),
                     f"{tool.peak_mb:,.0f}", correct))
    return rows


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; a ``|`` inside a cell (``zcat | wc -l``) is escaped so the columns hold."""
    header = [str(c).replace("|", "\\|") for c in header]
    rows = [[str(c).replace("|", "\\|") for c in row] for row in rows]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    numeric = [bool(rows) and all(str(row[i])[:1].isdigit() for row in rows) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [str(c).rjust(w) if num else str(c).ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "| " + " | ".join(padded) + " |"

    rules = [("-" * (w + 1) + ":") if num else ("-" * (w + 2)) for w, num in zip(widths, numeric, strict=True)]
    rule = "|" + "|".join(rules) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def target_lines(results: list[tuple[str, dict[str, object], list[Tool]]], analyze: Tool | None,
                 reports: Sequence[tuple[int, int, Tool]] = (), *, realistic: bool = False) -> list[str]:
    """Each file's figures against issue 16's targets, one line a target."""
    out = []
    plain = {str(truth["format"]): {tool.name: tool for tool in tools}["tokenaudit"]
             for _, truth, tools in results if not truth["gzip"]}
    for label, truth, tools in results:
        by = {tool.name: tool for tool in tools}
        ingest = by["tokenaudit"]
        failed = [f"{tool.name} failed ({tool.problems[0]})" for tool in tools if tool.problems]
        if failed:
            out.append(f"- {label}: not judged, " + "; ".join(failed))
            continue
        if truth["gzip"]:
            same = plain.get(str(truth["format"]))
            if same is not None and not same.problems:
                ratio = ingest.median_s / same.median_s
                out.append(f"- {label}: ingest {_fmt_ratio(ratio)}× the plain file's "
                           f"(target ≤ {TARGET_GZIP_RATIO}×: {'met' if ratio <= TARGET_GZIP_RATIO else 'missed'})")
        else:
            ratio = ingest.median_s / by["floor"].median_s
            every = by.get("baseline, every line", by["baseline"])
            speedup = every.median_s / ingest.median_s
            most = TARGET_FLOOR_RATIO.get(str(truth["format"]))
            floor = (f"target ≤ {most:g}×: {'met' if ratio <= most else 'missed'}" if most is not None
                     else "no target")
            out.append(f"- {label}: ingest {_fmt_ratio(ratio)}× the floor ({floor}); {_fmt_ratio(speedup)}× the "
                       f"speed of the baseline parsing every line (target ≥ {TARGET_EVERY_LINE_SPEEDUP:g}×: "
                       f"{'met' if speedup >= TARGET_EVERY_LINE_SPEEDUP else 'missed'})")
        out.append(f"- {label}: ingest peak RSS {ingest.peak_mb:.1f} MB (target ≤ {TARGET_RSS_MB:.0f} MB: "
                   f"{'met' if ingest.peak_mb <= TARGET_RSS_MB else 'missed'})")
    if analyze is not None and analyze.problems:
        out.append(f"- analyze: missed, the run failed ({analyze.problems[0]})")
    elif analyze is not None and realistic:
        out.append(_analysis_target("analyze", analyze, TARGET_ANALYZE_REALISTIC_S))
    elif analyze is not None:
        out.append(f"- analyze: {analyze.median_s:.2f} s, peak RSS {analyze.peak_mb:.0f} MB "
                   f"(target < {TARGET_ANALYZE_S:.0f} s: {'met' if analyze.median_s < TARGET_ANALYZE_S else 'missed'})")
    for span, _, tool in reports:
        if span == 30 and realistic:
            out.append(_analysis_target("report, 30 days", tool, TARGET_REPORT_30D_S))
    return out


def _analysis_target(name: str, tool: Tool, seconds: float) -> str:
    """Issue 16's target line for an analysis command (judged at 10,000,000 events of realistic variety)."""
    if tool.problems:
        return f"- {name}: missed, the run failed ({tool.problems[0]})"
    met = tool.median_s < seconds and tool.peak_mb < TARGET_ANALYSIS_MB
    return (f"- {name}: {tool.median_s:.2f} s, peak RSS {tool.peak_mb:.0f} MB (target at 10,000,000 events: "
            f"< {seconds:.0f} s and < {TARGET_ANALYSIS_MB / 1024:.0f} GB: {'met' if met else 'missed'})")


def compile_package() -> None:
    """Write tokenaudit's bytecode, as a non-editable install does, so no timed run compiles it.

    An editable install (``make``) leaves compiling to the first run, and where
    ``PYTHONDONTWRITEBYTECODE`` is set every run would compile ~40 modules (0.1 s).
    """
    subprocess.run([sys.executable, "-c", "import compileall, pathlib, tokenaudit; "
                    "compileall.compile_dir(pathlib.Path(tokenaudit.__file__).parent, quiet=1)"],
                   check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})


def tokenaudit_formats() -> set[str]:
    """The format names ``tokenaudit formats`` lists."""
    done = subprocess.run([str(TOKENAUDIT), "formats"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in done.stdout.splitlines() if line.strip()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines per generated log [1,000,000]")
    parser.add_argument("--runs", type=int, default=3, help="runs of each tool; the median is reported [3]")
    parser.add_argument("--formats", nargs="*", choices=sorted(SHAPES), default=list(SHAPES),
                        help="generator formats to run [all]; none with --analyze-events times analyze alone")
    parser.add_argument("--gzip", action="store_true", help="also time gzip-compressed copies")
    parser.add_argument("--failure-share", type=float, default=0.03, help="share of failure lines [0.03]")
    parser.add_argument("--keep", type=Path, help="write files and datasets here and keep them")
    parser.add_argument("--analyze-events", type=int, default=0, metavar="N",
                        help="also time `tokenaudit analyze` over a dataset of N events")
    parser.add_argument("--cardinality", choices=("realistic", "templates"), default="realistic",
                        help="the analyze dataset's values: each event its own (realistic), or 20,000 repeated "
                             "template events (templates) [realistic]")
    parser.add_argument("--report-days", type=int, nargs="*", default=[], metavar="D",
                        help="with --analyze-events, also time `tokenaudit report` over the last D days of its "
                             "dataset, for each D given (1 7 30, say)")
    parser.add_argument("--timeout", type=float, default=900.0, metavar="S",
                        help="kill a command running longer than S seconds [900]")
    parser.add_argument("--rss-limit-mb", type=float, default=None, metavar="MB",
                        help="kill a command whose process tree passes MB of RSS [70%% of memory]")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.lines < 1:
        parser.error("--runs and --lines must be at least 1")
    if args.report_days and not args.analyze_events:
        parser.error("--report-days times report over the analyze dataset: give --analyze-events N too")
    if any(not 1 <= days <= 30 for days in args.report_days):
        parser.error("--report-days: each window is 1 to 30 days (the analyze dataset spans 30)")
    if not TOKENAUDIT.exists():
        parser.error(f"{TOKENAUDIT} not found: install tokenaudit into this Python's environment")

    limits = Limits(args.timeout, int((args.rss_limit_mb or 0.7 * _memory_bytes() / 1e6) * 1e6))
    compile_package()
    workdir = args.keep if args.keep else Path(tempfile.mkdtemp(prefix="tokenaudit-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print("## tokenaudit ingest benchmark\n")
    print("\n".join(machine_notes()))
    setup = f"{args.lines:,} lines per file, failure share {args.failure_share}; " if args.formats else ""
    print(f"- {setup}median of {args.runs} run(s); files in {workdir}{'' if args.keep else ' (removed afterwards)'}\n",
          flush=True)
    try:
        available = tokenaudit_formats()
        results: list[tuple[str, dict[str, object], list[Tool]]] = []
        skipped = []
        for name in args.formats:
            shape = SHAPES[name]
            if shape.tokenaudit_format not in available:
                skipped.append(f"- skipped {name}: `tokenaudit formats` does not list `{shape.tokenaudit_format}` yet")
                _progress(skipped[-1][2:])
                continue
            variants = [(name, workdir / f"{name}.log", False)]
            if args.gzip:
                variants.append((f"{name}.gz", workdir / f"{name}.log.gz", True))
            for label, path, compress in variants:
                started = time.perf_counter()
                truth = generate(name, args.lines, path, failure_share=args.failure_share, compress=compress)
                _progress(f"{label}: generated {int(truth['bytes']) / 1e6:,.1f} MB"  # type: ignore[call-overload]
                          f"{f' ({path.stat().st_size / 1e6:,.1f} MB on disk)' if compress else ''} "
                          f"in {time.perf_counter() - started:.1f} s")
                results.append((label, truth, bench_file(path, truth, args.runs, workdir, keep=bool(args.keep),
                                                              limits=limits)))
                if not args.keep:
                    path.unlink()
        analyze = None
        analyze_build = 0.0
        reports: list[tuple[int, int, Tool]] = []
        if args.analyze_events:
            analyze, analyze_build = bench_analyze(args.analyze_events, args.runs, workdir, limits=limits,
                                                   cardinality=args.cardinality)
            if args.report_days:
                reports = bench_report(workdir / "analyze-dataset", args.analyze_events, args.report_days,
                                       args.runs, workdir, limits=limits)

        if skipped:
            print("\n".join(skipped) + "\n")
        rows = [row for label, truth, tools in results for row in table_rows(label, truth, tools)]
        if rows:
            print(markdown_table(HEADER, rows))
            print()
        if analyze is not None:
            print(markdown_table(
                ("command", "events", "median s", "events/s", "peak RSS MB", "correct"),
                [("tokenaudit analyze --format json", f"{args.analyze_events:,}", f"{analyze.median_s:.3f}",
                  _fmt_rate(args.analyze_events / analyze.median_s), f"{analyze.peak_mb:,.0f}",
                  "yes" if not analyze.problems else "FAIL: " + analyze.problems[0])]))
            if reports:
                print()
                print(markdown_table(
                    ("command", "window", "events", "median s", "peak RSS MB", "correct"),
                    [("tokenaudit report --format json", f"{span} d", f"{expected:,}", f"{tool.median_s:.3f}",
                      f"{tool.peak_mb:,.0f}", "yes" if not tool.problems else "FAIL: " + tool.problems[0])
                     for span, expected, tool in reports]))
            cardinality = (f"each event its own client address and message, one of {DISTINCT_USERS:,} users, "
                           f"{DISTINCT_REALMS} realms and {DISTINCT_AUDIENCES:,} audiences"
                           if args.cardinality == "realistic"
                           else "20,000 template events repeated")
            print(f"\n(dataset of {args.analyze_events:,} events over 30 days, {cardinality}; built in "
                  f"{analyze_build:.1f} s)\n")
        print("Targets:\n")
        print("\n".join(target_lines(results, analyze, reports, realistic=args.cardinality == "realistic")))
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"\nLoad average at the end: {load}")
        failed = (any(tool.problems for _, _, tools in results for tool in tools) or bool(analyze and analyze.problems)
                  or any(tool.problems for _, _, tool in reports))
        return 1 if failed else 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
