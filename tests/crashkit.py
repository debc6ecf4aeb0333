"""Shared by the crash-safety and concurrency tests: generated logs, subprocess ingests, checks.

The logs are made by ``benchmarks/generate.py`` (about a second of ingest work),
plus the sample realm configuration and captured tokens, so that one batch
writes every table: events, requests, tokens, realms and the manifest.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import tokenaudit as ta
from tokenaudit.cli import app
from tokenaudit.schema import EVENT_SCHEMA
from tokenaudit.store.layout import committed_batches
from tokenaudit.tokens.decode import load_fingerprint_key

from .conftest import ROOT, SAMPLE_LOGS

#: Columns that say what an event is; batch and stream ids differ between runs by design.
KEY = ["source", "line_no"]
COMPARED = ["source", "line_no", "ts", "format", "event_kind", "status", "signature", "message", "path", "client_addr"]


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("_benchmarks_generate_crash", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Corpus:
    """The full content of each log (name -> bytes); tests expose prefixes of it."""

    files: dict[str, bytes]

    def write(self, folder: Path, share: float = 1.0) -> list[str]:
        """Grow each log in ``folder`` to its first ``share`` of bytes, by appending (cut anywhere,
        even mid-line, as a writer may leave it); the small files are written whole."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            target = folder / name
            have = target.stat().st_size if target.exists() else 0
            want = max(have, int(len(data) * share)) if len(data) > 65536 else len(data)
            with open(target, "ab") as handle:
                handle.write(data[have:want])
        return [str(folder / name) for name in self.files]


def make_corpus(folder: Path, *, nginx_lines: int, journal_lines: int) -> Corpus:
    generate = _generator()
    files: dict[str, bytes] = {}
    for shape, name, lines in (("nginx", "access.log", nginx_lines), ("journal_json", "journal.json", journal_lines)):
        generate.generate(shape, lines, folder / name)  # type: ignore[attr-defined]
        files[name] = (folder / name).read_bytes()
    files["domains.cfg"] = (SAMPLE_LOGS / "pve_domains_cfg" / "domains.cfg").read_bytes()
    files["tokens.txt"] = (SAMPLE_LOGS / "jwt_lines" / "captured-bearer-tokens.txt").read_bytes()
    return Corpus(files)


def ingest_command(paths: list[str], dataset: Path) -> list[str]:
    return [sys.executable, "-m", "tokenaudit", "ingest", *paths, "--dataset", str(dataset),
            "--timezone", "UTC", "--jobs", "1", "--format", "json"]


def key_file(dataset: Path) -> Path:
    """The fingerprint key of every ingest into ``dataset``, in-process or not: beside it."""
    return dataset.parent / "fingerprint.key"


def start_ingest(paths: list[str], dataset: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOKENAUDIT_KEY_FILE": str(key_file(dataset))}
    return subprocess.Popen(ingest_command(paths, dataset), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=ROOT)


def ingest_here(paths: list[str], dataset: Path) -> ta.IngestReport:
    """A whole ingest in this process (no interpreter start-up), with the dataset's key."""
    return ta.ingest(paths, dataset, timezone="UTC", jobs=1,
                     fingerprint_key=load_fingerprint_key(key_file(dataset)))


def run_ingest(paths: list[str], dataset: Path) -> float:
    """A whole ingest in a subprocess; returns its wall time."""
    started = time.perf_counter()
    process = start_ingest(paths, dataset)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode(errors="replace")
    return time.perf_counter() - started


def kill_when(process: subprocess.Popen[bytes], dataset: Path, *, delay: float | None = None,
              new_file: Callable[[str], bool] | None = None, timeout: float = 60.0) -> str:
    """SIGKILL ``process`` after ``delay`` seconds, or as soon as a new file matching ``new_file`` appears.

    Returns what happened: ``killed`` or ``finished`` (the ingest ended first).
    """
    before = set(_files(dataset))
    started = time.perf_counter()
    while process.poll() is None:
        now = time.perf_counter() - started
        if now > timeout:
            break
        if delay is not None and now >= delay:
            break
        if new_file is not None and any(new_file(name) for name in set(_files(dataset)) - before):
            break
        time.sleep(0.0005 if new_file is not None else min(0.005, max(0.0, (delay or 0) - now)))
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.communicate()
        return "killed"
    process.communicate()
    return "finished"


def _files(root: Path) -> list[str]:
    names: list[str] = []
    for folder, _dirs, files in os.walk(root):
        names.extend(os.path.join(folder, f) for f in files)
    return names


def keyed(events: pd.DataFrame) -> pd.DataFrame:
    """Events as comparable rows: file base name as ``source``, sorted by source and line."""
    frame = events.assign(source=events["source_file"].map(lambda p: Path(p).name))
    return frame[COMPARED].sort_values(KEY, kind="stable").reset_index(drop=True)


def complete_lines(folder: Path) -> dict[str, int]:
    """Newline-terminated lines per file of ``folder``: what an ingest may have read."""
    return {p.name: p.read_bytes().count(b"\n") for p in folder.iterdir() if p.is_file()}


def expected_events(reference: pd.DataFrame, lines: dict[str, int]) -> pd.DataFrame:
    """The reference events of the first ``lines[name]`` lines of each file."""
    keep = reference["line_no"] <= reference["source"].map(lines).fillna(0)
    return reference[keep].reset_index(drop=True)


RUNNER = CliRunner()


def assert_reads_cleanly(root: Path, reference: pd.DataFrame, context: str) -> pd.DataFrame:
    """Every reader works and agrees with the manifest; committed events are reference events.

    Returns the events read (keyed).
    """
    if not (root / "tokenaudit.json").exists():
        # Killed before the dataset existed: readers say so, in one line with a hint.
        for reader in (ta.read_events, ta.read_manifest, ta.read_tokens, ta.read_requests, ta.read_realms):
            try:
                reader(root)
            except ta.DatasetError as exc:
                assert exc.hint, context
            else:
                raise AssertionError(f"{context}: {reader.__name__} read a dataset that was never created")
        result = RUNNER.invoke(app, ["analyze", "--dataset", str(root)])
        assert result.exit_code == 1 and result.stderr.startswith("error:"), f"{context}: {result.stderr}"
        return keyed(EVENT_SCHEMA.empty_table().to_pandas())
    batches = committed_batches(root)
    events = ta.read_events(root)
    manifest = ta.read_manifest(root)  # after the events: a superset of the batches they came from
    ta.read_tokens(root)
    ta.read_requests(root)
    ta.read_realms(root)
    for command in (["analyze", "-f", "json"], ["report", "--since", "2026-11-01", "-f", "json"], ["events"]):
        result = RUNNER.invoke(app, [*command, "--dataset", str(root)])
        assert result.exit_code == 0, f"{context}: {command}: {result.stderr}{result.exception!r}"
    per_batch = events.groupby("batch_id").size()
    promised = manifest.groupby("batch_id")["events"].sum()
    assert set(per_batch.index) <= set(promised.index), f"{context}: events of uncommitted batches are visible"
    half = {b: (int(n), int(promised[b])) for b, n in per_batch.items() if int(n) != int(promised[b])}
    assert not half, f"{context}: batches with other event counts than their manifest says: {half}"
    assert set(batches) <= set(manifest["batch_id"]), context
    got = keyed(events)
    duplicates = got[got.duplicated(KEY, keep=False)]
    assert duplicates.empty, f"{context}: duplicate events:\n{duplicates.head()}"
    merged = got.merge(reference, on=KEY, how="left", suffixes=("", "_ref"), indicator=True)
    assert (merged["_merge"] == "both").all(), f"{context}: events that a clean ingest does not have"
    return got


def assert_same_events(root: Path, expected: pd.DataFrame, context: str) -> None:
    got = keyed(ta.read_events(root))
    if len(got) != len(expected) or not got.equals(expected):
        missing = expected.merge(got, on=KEY, how="left", indicator=True).query("_merge == 'left_only'")
        duplicates = got[got.duplicated(KEY, keep=False)]
        raise AssertionError(
            f"{context}: {len(got)} events, a clean ingest gives {len(expected)}; "
            f"{len(missing)} missing, {len(duplicates)} duplicated"
        )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def copy_tree(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)


def leftovers(root: Path) -> list[str]:
    """What a killed ingest left: temporary files, and files of batches with no manifest."""
    if not root.is_dir():
        return []
    committed = set(committed_batches(root))
    found = []
    for name in _files(root):
        base = os.path.basename(name)
        if base.endswith(".tmp"):
            found.append(name)
        elif base.endswith(".parquet") and "/manifest/" not in name:
            stem = base.removesuffix(".parquet")
            batch = stem.removeprefix("batch-") if stem.startswith("batch-") else stem[5:].rpartition("-")[0]
            if batch not in committed:
                found.append(name)
    return sorted(found)


#: Ways a dataset gets damaged or comes from a newer tokenaudit, and the tables each one breaks.
DAMAGE = {
    "garbage events file": "events",
    "truncated events file": "events",
    "newer events file": "events",
    "truncated tokens file": "tokens",
    "garbage realms file": "realms",
    "truncated requests file": "requests",
    "broken manifest": "manifest",
    "newer manifest file": "manifest",
    "tokenaudit.json not JSON": "*",
    "tokenaudit.json of version 999": "*",
    "dataset is a file": "*",
}


def damage(root: Path, kind: str) -> Path:
    """Damage the dataset at ``root`` as ``kind`` (a key of :data:`DAMAGE`) says; return the path to use."""
    import pyarrow.parquet as pq

    def first(pattern: str) -> Path:
        found = sorted(root.glob(pattern))
        assert found, f"{root} has no {pattern}"
        return found[0]

    def truncate(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])

    def newer(path: Path) -> None:
        table = pq.read_table(path)
        pq.write_table(table.replace_schema_metadata({b"tokenaudit_schema_version": b"999"}), path)

    if kind == "garbage events file":
        first("events/*/part-*.parquet").write_bytes(b"PAR1 this is not parquet at all")
    elif kind == "truncated events file":
        truncate(first("events/*/part-*.parquet"))
    elif kind == "newer events file":
        newer(first("events/*/part-*.parquet"))
    elif kind == "truncated tokens file":
        truncate(first("tokens/batch-*.parquet"))
    elif kind == "garbage realms file":
        first("realms/batch-*.parquet").write_bytes(b"\x00" * 100)
    elif kind == "truncated requests file":
        truncate(first("requests/batch-*.parquet"))
    elif kind == "broken manifest":
        truncate(first("manifest/batch-*.parquet"))
    elif kind == "newer manifest file":
        newer(first("manifest/batch-*.parquet"))
    elif kind == "tokenaudit.json not JSON":
        (root / "tokenaudit.json").write_text("{schema_version: 1", encoding="utf-8")
    elif kind == "tokenaudit.json of version 999":
        (root / "tokenaudit.json").write_text('{"schema_version": 999}', encoding="utf-8")
    elif kind == "dataset is a file":
        shutil.rmtree(root)
        root.write_text("not a folder\n", encoding="utf-8")
    else:
        raise ValueError(kind)
    return root
