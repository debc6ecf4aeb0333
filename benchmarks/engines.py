"""Choose tokenaudit's columnar engine by measurement: polars (lazy, streaming) against DuckDB.

Usage::

    python benchmarks/engines.py [--lines N] [--runs 3] [--formats nginx proxmox_syslog ...] [--gzip]
                                 [--failure-share 0.03] [--keep DIR]
    python benchmarks/engines.py --analysis EVENTS [--runs 3] [--keep DIR]

Ingest mode. Generates each format's log (``benchmarks/generate.py``), then times, interleaved,
each in its own process, with peak RSS measured as ``benchmarks/run.py`` measures it (its
``measure``: GNU time's ``%M`` and the sampled PSS of the process tree):

* ``floor``: the grep floor of run.py (``zcat | grep`` for gzip);
* ``polars``: one lazy query, run by the streaming engine: ``pl.scan_lines`` (with a row index:
  the line numbers), the format's own regex (``pattern`` of its TOML, through
  ``tokenaudit.load_formats()``; JSON formats: tokenaudit's per-key regex of ``flat`` formats)
  extracting time, status, method and path (access logs) or program and message (syslog,
  journal), the time parsed, lines counted per hour and status, and the candidate rows
  (refusals, and lines holding a literal of the catalogue's prefilter,
  ``Catalogue.marker``) handed to pandas through Arrow;
* ``duckdb``: the same query in DuckDB (``read_csv`` of whole lines with a delimiter that
  never occurs, ``regexp_extract`` with the group names as a list, ``threads = 2``).

Every run is checked: the refusal rows (count and sum of line numbers) against the
generator's truth, the per-hour counts against the generator's clock (line i at
2026-11-20T00:00:00Z + i * 20 ms: every hour's count is known), the counted 401/403
against the truth, and the candidate rows (count and line-number sum) against a reference
computed once with pyarrow's RE2, the engine tokenaudit uses today. A run that gets any of
these wrong is reported as FAIL, its time shown but not judged.

Analysis mode (``--analysis EVENTS``) writes a hive-partitioned events dataset with
tokenaudit's schema and commit protocol (``tokenaudit.store.dataset``), EVENTS events over 30 days
with distinct client addresses, users, audiences and times per event, then times the
analysis group-by (count, first and last seen, distinct clients per cause, realm and
audience) over the last 1, 7 and 30 days in polars, DuckDB, and pandas through
``tokenaudit.read_events`` (what tokenaudit does today). Results are checked against each
other and against the known number of events in each window.

The timed processes are this script run with ``--child`` (not for direct use).
"""

from __future__ import annotations

import argparse
import calendar
import hashlib
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import SHAPES, START_US, STEP_US, generate  # noqa: E402
from run import (  # noqa: E402
    Limits,
    Measurement,
    Tool,
    _child_env,
    _fmt_rate,
    _fmt_ratio,
    _memory_bytes,
    _progress,
    _warm,
    compile_package,
    machine_notes,
    markdown_table,
    measure,
    template_events,
)

ENGINES = ("polars", "duckdb")
DUCKDB_THREADS = 2
#: Literals per RE2 regex when the catalogue's marker is split for DuckDB (see ``marker_parts``).
RE2_LITERALS_PER_REGEX = 300
#: The generated logs carry no year (RFC 3164): tokenaudit takes it from the file's time; here the generator's.
GENERATED_YEAR = time.gmtime(START_US // 1_000_000).tm_year
#: Days of the analysis windows.
WINDOWS = (1, 7, 30)


# --------------------------------------------------------------------------- regexes


def marker_parts(marker: str | None, limit: int = RE2_LITERALS_PER_REGEX) -> list[str]:
    r"""Split the catalogue's marker (``lit|lit|…|(?i:lit|…)``) into regexes of at most ``limit`` literals.

    Any of the parts matches exactly where the marker does. RE2 (pyarrow's and DuckDB's)
    compiles the whole marker of the syslog formats (~1,600 literals, 23 KB) into a DFA larger
    than its memory budget and falls back to its NFA: ~20 µs a syslog line instead of ~1. Parts
    of 300 literals each keep the DFA (measured, 200,000 syslog lines in DuckDB: 100 literals a
    part 0.56 s, 250 0.28 s, 400 0.22 s, 600 3.7 s: a cliff). Rust's regex (polars) takes the
    marker whole (Aho-Corasick), best as two regexes, the exact and the case-folded literals.

    Examples
    --------
    >>> marker_parts(r"a\|b|c|(?i:d|e\(|f)", limit=2)
    ['a\\|b|c', '(?i:d|e\\()', '(?i:f)']
    """
    if not marker:
        return []
    exact: list[str] = []
    folded: list[str] = []
    for piece in _top_level_alternatives(marker):
        if piece.startswith("(?i:") and piece.endswith(")"):
            folded.extend(_top_level_alternatives(piece[4:-1]))
        else:
            exact.append(piece)
    parts = ["|".join(exact[i:i + limit]) for i in range(0, len(exact), limit)]
    parts += ["(?i:" + "|".join(folded[i:i + limit]) + ")" for i in range(0, len(folded), limit)]
    return parts


def _top_level_alternatives(pattern: str) -> list[str]:
    """``pattern`` split at the ``|`` outside groups and escapes."""
    depth, start, i = 0, 0, 0
    pieces: list[str] = []
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            pieces.append(pattern[start:i])
            start = i + 1
        i += 1
    pieces.append(pattern[start:])
    return pieces


#: RE2's Perl classes are ASCII; Rust's (polars) are Unicode unless ``(?-u)``. Written out as
#: RE2 defines them, so that both engines split fields on exactly the same characters.
_ASCII_CLASSES = {"d": "0-9", "s": r"\t\n\f\r ", "w": "0-9A-Za-z_"}


def to_rust_regex(pattern: str) -> str:
    r"""Translate an RE2 pattern of tokenaudit (format or marker) for polars (Rust's ``regex``).

    What had to change: nothing in the syntax. Rust's regex takes Python/RE2 named groups
    ``(?P<name>…)`` as they are, ``(?i:…)``, ``\S``, ``[^\s"]``, non-greedy repeats and the
    absence of look-arounds and back-references are the same dialect. The meaning of the Perl
    classes differs: ``\d \s \w`` (and ``\b``) are Unicode in Rust (``\d`` matches Arabic-Indic
    digits, ``\s`` U+2028) and ASCII in RE2. They are rewritten as RE2's ASCII sets (``\d`` →
    ``[0-9]``, ``\S`` → ``[^\t\n\f\r ]``; inside a class the set's members, or for a negated
    class a nested ``[^…]``, which Rust allows), and ``\b`` as ``(?-u:\b)``.

    Examples
    --------
    >>> print(to_rust_regex(r'^(?P<a>\S+) \d{3} [^\s"]+\b'))
    ^(?P<a>[^\t\n\f\r ]+) [0-9]{3} [^\t\n\f\r "]+(?-u:\b)
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            letter = pattern[i + 1]
            ascii_set = _ASCII_CLASSES.get(letter.lower())
            if ascii_set is not None:
                negated = letter.isupper()
                if in_class:
                    out.append(f"[^{ascii_set}]" if negated else ascii_set)
                else:
                    out.append(f"[^{ascii_set}]" if negated else f"[{ascii_set}]")
            elif letter in "bB" and not in_class:
                out.append(f"(?-u:\\{letter})")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            out.append(char)
            i += 1
            # a ']' right after '[' or '[^' is a literal
            if pattern[i:i + 1] == "^":
                out.append("^")
                i += 1
            if pattern[i:i + 1] == "]":
                out.append(r"\]")
                i += 1
            continue
        if char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


def group_names(pattern: str) -> list[str]:
    """The named groups of ``pattern`` in group order (DuckDB maps a name list to groups 1..n)."""
    compiled = re.compile(pattern)
    if compiled.groups != len(compiled.groupindex):
        raise ValueError(f"every group must be named or non-capturing: {pattern}")
    return sorted(compiled.groupindex, key=compiled.groupindex.__getitem__)


#: tokenaudit's ``flat`` JSON key regex (tokenaudit.formats.parsing._JSON_VALUE): a string (s) or an integer (n).
JSON_VALUE = r'''\s*:\s*(?:"(?P<s>(?:[^"\\]|\\.)*)"|(?P<n>-?\d+)[,}\s])'''


def json_key_regex(key: str) -> str:
    return '"' + re.escape(key).replace('"', '\\"') + '"' + JSON_VALUE


# --------------------------------------------------------------------------- what a format needs


@dataclass(frozen=True)
class Plan:
    """What the engines extract from one generator format, taken from tokenaudit's own objects.

    Each engine runs two queries over the file, as tokenaudit's ``parse_chunk`` splits the
    work: the *counts* (every line: the shape test, the time, the status, grouped per hour),
    and the *candidates* (every line through the literal prefilter, then the format's full
    regex, time parse and refusal test on the lines that pass it).
    """

    name: str
    kind: str
    pattern: str | None
    """The format's regex (regex kinds)."""
    count_pattern: str | None
    """Access logs: the format's smaller one-pass regex every line is counted with (tokenaudit does the same)."""
    keys: dict[str, str]
    """JSON kinds: column -> the format's first key for it."""
    timestamp: str
    skip: str | None
    shape: str | None
    event_status: tuple[int, ...]
    marker: str | None
    """The catalogue's literal prefilter as one RE2 alternation (``None``: the catalogue has none)."""
    candidate: str | None
    """The format's own candidate regex: a refusal's status (access logs), journal's MESSAGE as bytes."""

    @property
    def access(self) -> bool:
        return bool(self.event_status)

    @property
    def line_pattern(self) -> str | None:
        """The regex run on every line (regex kinds): ``count_pattern`` where there is one."""
        return self.count_pattern or self.pattern

    @property
    def early(self) -> list[str]:
        """Fields every line needs for the counts: time, and status in access logs."""
        return ["ts", "status"] if self.access else ["ts"]

    @property
    def columns(self) -> tuple[str, ...]:
        """Fields handed over with each candidate row."""
        if self.access:
            return ("ts", "client_addr", "method", "path", "status")
        return ("ts", "host", "process", "pid", "message")

    @property
    def fields(self) -> list[str]:
        """The candidate fields this format has (a regex group or a JSON key)."""
        if self.kind == "regex":
            assert self.pattern is not None
            return [c for c in self.columns if c in group_names(self.pattern)]
        return [c for c in self.columns if c in self.keys]

    @property
    def prefilter(self) -> list[str]:
        """RE2 regexes of which a candidate line matches at least one (the marker split, the candidate regex)."""
        return marker_parts(self.marker) + ([self.candidate] if self.candidate else [])


def make_plan(generator_format: str) -> Plan:
    import tokenaudit as ta
    from tokenaudit.catalogue.literals import NEVER
    from tokenaudit.formats.parsing import any_of

    fmt = ta.load_formats()[SHAPES[generator_format].tokenaudit_format]
    marker = ta.load_catalogue().marker(fmt.name, generic_search=fmt.generic_search, raw_json=fmt.kind == "json")
    if marker == NEVER:
        marker = None
    elif marker is None:
        raise SystemExit(f"{fmt.name}: a signature without a literal makes every line a candidate")
    keys: dict[str, str] = {}
    if fmt.kind == "json":
        wanted = ("ts", "client_addr", "method", "path", "status") if fmt.event_status \
            else ("ts", "host", "process", "pid", "message")
        keys = {column: fmt.fields[column][0] for column in wanted if fmt.fields.get(column)}
    return Plan(
        name=generator_format,
        kind=fmt.kind,
        pattern=fmt.pattern,
        count_pattern=fmt.count_pattern,
        keys=keys,
        timestamp=fmt.timestamp,
        skip=any_of(fmt.skip) if fmt.skip else None,
        shape=fmt.shape,
        event_status=fmt.event_status,
        marker=marker,
        candidate=fmt.candidate,
    )


# --------------------------------------------------------------------------- the polars query


def polars_queries(path: Path, plan: Plan) -> tuple[Any, Any]:
    """The two lazy queries (candidates, counts)."""
    import polars as pl

    line = pl.col("line")

    def lines() -> Any:
        # scan_lines reads .gz as well; a row index gives the line numbers (streaming keeps it exact)
        return pl.scan_lines(path, row_index_name="line_no", row_index_offset=1)

    def extracted(lf: Any, pattern_or_keys: str | list[str]) -> tuple[Any, Any]:
        """``lf`` with the fields, and the shape test."""
        if plan.kind == "regex":
            assert isinstance(pattern_or_keys, str)
            names = group_names(pattern_or_keys)
            wanted = [c for c in ["ts", *plan.early, *plan.fields] if c in names]
            found = line.str.extract_groups(to_rust_regex(pattern_or_keys))
            return lf.with_columns(found.struct.field(*dict.fromkeys(wanted))), pl.col("ts").is_not_null()
        assert plan.shape is not None
        keys = list(dict.fromkeys(pattern_or_keys))
        return (lf.with_columns(_polars_json_value(plan.keys[c]).alias(c) for c in keys if c in plan.keys),
                line.str.contains(to_rust_regex(plan.shape)))

    skipped = line.str.contains(to_rust_regex(plan.skip)) if plan.skip else pl.lit(False)
    time_of = _polars_time(pl.col("ts"), plan.timestamp)

    # counts: every line
    counted, shaped = extracted(lines(), plan.line_pattern if plan.kind == "regex" else plan.early)
    counted = counted.with_columns(time_of.alias("time")).with_columns(
        pl.when(skipped).then(pl.lit("skipped")).when(shaped.not_() | pl.col("time").is_null())
        .then(pl.lit("rejected")).otherwise(pl.lit("parsed")).alias("account"))
    by = [pl.col("time").dt.truncate("1h").alias("hour"), "account"]
    if plan.access:
        by.append(pl.col("status").cast(pl.Int32, strict=False))
    counts = counted.group_by(by).agg(pl.len().alias("count"))

    # candidates: the prefilter on every line, the full extraction on the lines that pass it.
    # Rust's regex runs a literal alternation as Aho-Corasick, but one regex mixing the exact literals
    # with the case-folded ``(?i:…)`` ones ran 2x slower than the two apart (journal lines: 1.27 s
    # against 0.29 + 0.35 s a 200,000 lines); str.contains_any on the same literals took 0.82 s.
    marked = [line.str.contains(to_rust_regex(part)) for part in marker_parts(plan.marker, limit=1 << 30)]
    hit = pl.any_horizontal(marked) if marked else pl.lit(False)
    own = line.str.contains(to_rust_regex(plan.candidate)) if plan.candidate else pl.lit(False)
    found = lines().with_columns(hit.alias("hit"), own.alias("own")).filter(pl.col("hit") | pl.col("own"))
    found, shaped = extracted(found, plan.pattern if plan.kind == "regex" else [*plan.early, *plan.fields])
    found = found.with_columns(time_of.alias("time")).filter(skipped.not_() & shaped & pl.col("time").is_not_null())
    if plan.access:  # the candidate regex only preselects: the status decides
        found = found.filter(pl.col("hit") | pl.col("status").cast(pl.Int32, strict=False).is_in(plan.event_status))
    # A filtered string column still points into the buffers of every line read (Utf8View):
    # concatenating copies the candidates' text, so the rest can be freed (730 MB -> 310 MB, nginx).
    found = found.select("line_no", pl.concat_str([line, pl.lit("")]).alias("line"), "time",
                         *[c for c in plan.fields if c != "ts"])
    return found, counts


def polars_ingest(path: Path, plan: Plan) -> tuple[Any, Any, dict[str, float]]:
    """(candidates, counts) as pandas DataFrames, and where the time went."""
    import polars as pl

    started = time.perf_counter()
    candidates, counts = polars_queries(path, plan)
    # Both queries in one streaming run. Not as one plan with a shared scan (collect_all's common
    # sub-plan elimination): its cache node then buffered the file (peak 735 MB against 314 MB).
    found, counted = pl.collect_all([candidates, counts], engine="streaming",
                                    optimizations=pl.QueryOptFlags(comm_subplan_elim=False))
    engine_s = time.perf_counter() - started
    handed = time.perf_counter()
    frames = (_to_pandas(found.to_arrow()), _to_pandas(counted.to_arrow()))
    return frames[0], frames[1], {"engine_s": engine_s, "to_pandas_s": time.perf_counter() - handed}


def _polars_json_value(key: str) -> Any:
    import polars as pl

    found = pl.col("line").str.extract_groups(to_rust_regex(json_key_regex(key)))
    return pl.coalesce(found.struct.field("n"), found.struct.field("s"))


def _polars_time(ts: Any, kind: str) -> Any:
    import polars as pl

    if kind == "clf":
        return ts.str.to_datetime("%d/%b/%Y:%H:%M:%S %z", strict=False, time_zone="UTC")
    if kind == "iso8601":
        # the generated logs write UTC with a Z; tokenaudit's iso8601 takes offsets too (a ladder of formats)
        return ts.str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", strict=False, time_zone="UTC")
    if kind == "rfc3164":
        return (pl.lit(f"{GENERATED_YEAR} ") + ts).str.to_datetime("%Y %b %e %H:%M:%S", strict=False,
                                                                    time_zone="UTC")
    if kind == "epoch_us":
        return pl.from_epoch(ts.cast(pl.Int64, strict=False), time_unit="us").dt.replace_time_zone("UTC")
    raise ValueError(f"no polars time format for {kind}")


# --------------------------------------------------------------------------- the DuckDB query


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _duckdb_time(ts: str, kind: str) -> str:
    if kind == "clf":
        return f"try_strptime({ts}, '%d/%b/%Y:%H:%M:%S %z')"
    if kind == "iso8601":
        return f"try_cast({ts} AS TIMESTAMPTZ)"
    if kind == "rfc3164":
        return f"try_strptime('{GENERATED_YEAR} ' || {ts}, '%Y %b %d %H:%M:%S')::TIMESTAMPTZ"
    if kind == "epoch_us":
        return f"make_timestamp(try_cast({ts} AS BIGINT))::TIMESTAMPTZ"
    raise ValueError(f"no DuckDB time format for {kind}")


def _duckdb_json_value(column: str) -> str:
    """The value of a key extracted into the struct column ``_<column>`` (see :func:`_duckdb_extracted`)."""
    return f"(CASE WHEN _{column}.n <> '' THEN _{column}.n ELSE _{column}.s END)"


def duckdb_source(path: Path) -> str:
    """Whole lines: a delimiter that never occurs (\\x01), no quotes, no escapes, no header.

    ``max_line_size`` stays at its default, 2 MB: a longer line is an error (tokenaudit takes any
    length), and raising it raises the reader's buffers with it (16 MB: peak RSS 523 MB against
    267 MB on 2,000,000 nginx lines).

    Not a faithful line splitter (the generated logs are plain ``\\n``): with these options a
    ``\\r\\n`` line end gives an extra empty row, shifting every later line number; with
    ``new_line = '\\r\\n'`` CRLF is right but a bare ``\\r`` inside a line ends it and the
    rest of that line is lost. ``pl.scan_lines`` splits on ``\\n`` and drops a ``\\r`` before it,
    as tokenaudit does.
    """
    return (f"read_csv({_sql_text(str(path))}, columns = {{'line': 'VARCHAR'}}, delim = '\\x01', quote = '', "
            "escape = '', header = false, auto_detect = false, strict_mode = false)")


def _duckdb_extracted(plan: Plan, pattern_or_keys: str | list[str]) -> tuple[str, str, str]:
    """(regex structs, fields over them, shape test) for a relation with ``line``.

    The structs go in an inner SELECT and the fields in the one above: written inline, DuckDB
    evaluated ``regexp_extract`` once per field taken from it (5x the work on nginx).
    """
    if plan.kind == "regex":
        assert isinstance(pattern_or_keys, str)
        names = group_names(pattern_or_keys)
        wanted = [c for c in dict.fromkeys(["ts", *plan.early, *plan.fields]) if c in names]
        structs = f"regexp_extract(line, {_sql_text(pattern_or_keys)}, {names!r}) AS _f"
        # regexp_extract gives '' for a line that does not match: ts is a required group of every pattern
        return structs, ", ".join(f"nullif(_f.{c}, '') AS {c}" for c in wanted), "ts IS NOT NULL"
    assert plan.shape is not None
    keys = [c for c in dict.fromkeys(pattern_or_keys) if c in plan.keys]
    structs = ", ".join(f"regexp_extract(line, {_sql_text(json_key_regex(plan.keys[c]))}, ['s', 'n']) AS _{c}"
                        for c in keys)
    return (structs, ", ".join(f"{_duckdb_json_value(c)} AS {c}" for c in keys),
            f"regexp_matches(line, {_sql_text(plan.shape)})")


def duckdb_counts_sql(path: Path, plan: Plan) -> str:
    structs, fields, shaped = _duckdb_extracted(plan, plan.line_pattern if plan.kind == "regex" else plan.early)
    skipped = f"regexp_matches(line, {_sql_text(plan.skip)})" if plan.skip else "false"
    status = ", try_cast(status AS INTEGER) AS status" if plan.access else ""
    return f"""
WITH extracted AS (SELECT line, {fields} FROM (SELECT line, {structs} FROM {duckdb_source(path)})),
timed AS (SELECT *, {_duckdb_time('ts', plan.timestamp)} AS time FROM extracted)
SELECT date_trunc('hour', time) AS hour,
       CASE WHEN {skipped} THEN 'skipped' WHEN NOT ({shaped}) OR time IS NULL THEN 'rejected' ELSE 'parsed' END
       AS account{status}, count(*) AS count
FROM timed GROUP BY ALL
"""


def duckdb_candidates_sql(path: Path, plan: Plan) -> str:
    structs, fields, shaped = _duckdb_extracted(plan, plan.pattern if plan.kind == "regex"
                                                else [*plan.early, *plan.fields])
    skipped = f"regexp_matches(line, {_sql_text(plan.skip)})" if plan.skip else "false"
    hit = " OR ".join(f"regexp_matches(line, {_sql_text(part)})" for part in marker_parts(plan.marker)) or "false"
    own = f"regexp_matches(line, {_sql_text(plan.candidate)})" if plan.candidate else "false"
    refused = f" AND (hit OR try_cast(status AS INTEGER) IN ({', '.join(map(str, plan.event_status))}))" \
        if plan.access else ""
    out = [c for c in plan.fields if c != "ts"]
    # Line numbers: read_csv has no row-number column; row_number() OVER () in insertion order
    # numbers the lines (a streaming window: this query then runs on one thread). The last tests are a
    # column (``keep``, applied to the few rows in Arrow), not a WHERE: DuckDB pushed such a WHERE,
    # each of its tests with its own copy of the full regexp_extract, under the prefilter onto every
    # line (10x slower), even out of a MATERIALIZED CTE.
    return f"""
WITH numbered AS (SELECT row_number() OVER () AS line_no, line FROM {duckdb_source(path)}),
marked AS (
  SELECT line_no, line, hit FROM (SELECT line_no, line, {hit} AS hit, {own} AS own FROM numbered) WHERE hit OR own
),
extracted AS (SELECT line_no, line, hit, {fields} FROM (SELECT *, {structs} FROM marked)),
timed AS (SELECT *, {_duckdb_time('ts', plan.timestamp)} AS time FROM extracted)
SELECT line_no, line, time{''.join(', ' + c for c in out)},
       NOT {skipped} AND {shaped} AND time IS NOT NULL{refused} AS keep
FROM timed
"""


def duckdb_ingest(path: Path, plan: Plan) -> tuple[Any, Any, dict[str, float]]:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {DUCKDB_THREADS}")
    # The two queries at once, each on its own cursor, sharing the database's two threads: the
    # candidates query runs on one thread (row_number), the counts query fills the other
    # (sequentially: 7.9 s against 3.3 s on 2,000,000 Traefik lines).
    results: dict[str, Any] = {}

    def run(name: str, sql: str) -> None:
        try:
            results[name] = con.cursor().sql(sql).to_arrow_table()
        except Exception as exc:  # handed to the main thread below
            results[name] = exc

    workers = [threading.Thread(target=run, args=("found", duckdb_candidates_sql(path, plan))),
               threading.Thread(target=run, args=("counted", duckdb_counts_sql(path, plan)))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for value in results.values():
        if isinstance(value, Exception):
            raise value
    found, counted = results["found"], results["counted"]
    found = found.filter(found.column("keep")).drop_columns(["keep"])
    engine_s = time.perf_counter() - started
    handed = time.perf_counter()
    frames = (_to_pandas(found), _to_pandas(counted))
    return frames[0], frames[1], {"engine_s": engine_s, "to_pandas_s": time.perf_counter() - handed}


def _to_pandas(table: Any) -> Any:
    """Arrow to pandas as the pipeline would take it: Arrow-backed columns, no copy where possible."""
    import pandas as pd

    return table.to_pandas(types_mapper=pd.ArrowDtype)


# --------------------------------------------------------------------------- checks


def expected_hours(lines: int) -> dict[str, int]:
    """Lines per UTC hour of a generated log (line i at START_US + i * STEP_US)."""
    out: dict[str, int] = {}
    hour_us = 3_600_000_000
    first_hour = (START_US + STEP_US) // hour_us
    last_hour = (START_US + lines * STEP_US) // hour_us
    for hour in range(first_hour, last_hour + 1):
        low = max(1, -(-(hour * hour_us - START_US) // STEP_US))
        high = min(lines, ((hour + 1) * hour_us - 1 - START_US) // STEP_US)
        if high >= low:
            out[time.strftime("%Y-%m-%dT%H", time.gmtime(hour * 3600))] = high - low + 1
    return out


def summarize(plan: Plan, candidates: Any, counts: Any) -> dict[str, Any]:
    """What a run found, in the terms the parent checks (computed on pandas, as the pipeline would)."""
    import pandas as pd

    parsed = counts[counts["account"] == "parsed"]
    hours = parsed.groupby(parsed["hour"].dt.strftime("%Y-%m-%dT%H"))["count"].sum()
    line_no = candidates["line_no"].astype("int64")
    if plan.access:
        status = pd.to_numeric(candidates["status"], errors="coerce")
        refused = status.isin(plan.event_status).to_numpy(dtype=bool, na_value=False)
        counted_refusals = int(parsed.loc[parsed["status"].isin(plan.event_status), "count"].sum())
    else:
        message = candidates["message"].astype("string").fillna("")
        refused = ((candidates["process"].astype("string") == "pvedaemon")
                   & message.str.match(r"(?:openid )?authentication failure; rhost=")).to_numpy(
                       dtype=bool, na_value=False)
        counted_refusals = None
    return {
        "candidates": len(candidates),
        "candidate_line_sum": int(line_no.sum()),
        "refusals": int(refused.sum()),
        "refusal_line_sum": int(line_no[refused].sum()),
        "counted_refusals": counted_refusals,
        "accounted": {str(k): int(v) for k, v in counts.groupby("account")["count"].sum().items()},
        "hours": {str(k): int(v) for k, v in hours.items()},
    }


def reference(path: Path, plan: Plan) -> dict[str, int]:
    """Candidate rows (count, line-number sum) by pyarrow's RE2, tokenaudit's engine today, block by block."""
    import gzip

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from tokenaudit.formats.parsing import lines_array

    parts = marker_parts(plan.marker)
    if plan.candidate and not plan.access:  # in access logs the status decides, not the candidate regex
        parts.append(plan.candidate)
    count = line_sum = 0
    first = 1
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        rest = b""
        while True:
            block = f.read(32 << 20)
            data = rest + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            rest = data[cut:]
            lines = lines_array(data[:cut])
            if len(lines):
                hit = pa.array(np.zeros(len(lines), dtype=bool))
                for part in parts:
                    hit = pc.or_(hit, pc.fill_null(pc.match_substring_regex(lines, part), False))
                if plan.access:
                    status = pc.extract_regex(lines, plan.pattern if plan.kind == "regex"
                                              else json_key_regex(plan.keys["status"]))
                    field = pc.struct_field(status, "status" if plan.kind == "regex" else "n")
                    denied = pc.is_in(pc.cast(pc.if_else(pc.equal(field, ""), None, field), pa.int32()),
                                      pa.array(plan.event_status, pa.int32()))
                    hit = pc.or_(hit, pc.fill_null(denied, False))
                index = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
                count += len(index)
                line_sum += int((index + first).sum())
                first += len(lines)
            if not block:
                break
    return {"candidates": count, "candidate_line_sum": line_sum}


def check_ingest(found: dict[str, Any], truth: dict[str, Any], ref: dict[str, int]) -> str | None:
    if found["refusals"] != truth["failures"]:
        return f"refusal rows {found['refusals']:,} != truth {truth['failures']:,}"
    if found["refusal_line_sum"] != truth["failure_line_sum"]:
        return f"refusal line sum {found['refusal_line_sum']:,} != truth {truth['failure_line_sum']:,}"
    if found["counted_refusals"] is not None and found["counted_refusals"] != truth["failures"]:
        return f"401/403 counted {found['counted_refusals']:,} != truth {truth['failures']:,}"
    if found["candidates"] != ref["candidates"] or found["candidate_line_sum"] != ref["candidate_line_sum"]:
        return (f"candidate rows {found['candidates']:,} (line sum {found['candidate_line_sum']:,}) != RE2 "
                f"reference {ref['candidates']:,} ({ref['candidate_line_sum']:,})")
    accounted = found["accounted"]
    if accounted.get("parsed", 0) != truth["lines"] or sum(accounted.values()) != truth["lines"]:
        return f"lines accounted {accounted} != {truth['lines']:,} parsed"
    hours = expected_hours(int(truth["lines"]))
    if found["hours"] != hours:
        wrong = sorted(set(found["hours"].items()) ^ set(hours.items()))[:2]
        return f"per-hour counts differ from the generator's clock: {wrong}"
    return None


# --------------------------------------------------------------------------- analysis


def analysis_windows(dataset_end_day: str) -> dict[int, tuple[str, str]]:
    """days -> (first event_date, first day after) of the last ``days`` days of the dataset."""
    end = calendar.timegm(time.strptime(dataset_end_day, "%Y-%m-%d")) + 86_400
    return {days: (time.strftime("%Y-%m-%d", time.gmtime(end - days * 86_400)),
                   time.strftime("%Y-%m-%d", time.gmtime(end))) for days in WINDOWS}


ANALYSIS_COLUMNS = ["ts", "signature", "realm", "audience", "client_addr"]
#: The analysis dataset: 30 days ending on this day (the generator's calendar).
ANALYSIS_START = "2026-10-22"
ANALYSIS_DAYS = 30


def _cause_table() -> Any:
    """signature -> cause, from the catalogue (a few hundred rows, joined inside each engine)."""
    import pyarrow as pa

    import tokenaudit as ta

    catalogue = ta.load_catalogue()
    return pa.table({"signature": [s.id for s in catalogue.signatures],
                     "cause": [s.cause for s in catalogue.signatures]})


def _window_bounds(days: int) -> tuple[Any, Any, str, str]:
    import pandas as pd

    end_day = time.strftime("%Y-%m-%d", time.gmtime(calendar.timegm(time.strptime(ANALYSIS_START, "%Y-%m-%d"))
                                                       + (ANALYSIS_DAYS - 1) * 86_400))
    first, after = analysis_windows(end_day)[days]
    return pd.Timestamp(first, tz="UTC"), pd.Timestamp(after, tz="UTC"), first, after


def analysis_polars(root: Path, days: int, causes_table: Any) -> Any:
    import polars as pl

    since, until, first, after = _window_bounds(days)
    causes = pl.from_arrow(causes_table).lazy()
    # event_date as text, as tokenaudit partitions it (polars would infer a Date)
    lf = (pl.scan_parquet(str(root / "events" / "*" / "*.parquet"), hive_partitioning=True,
                          hive_schema={"event_date": pl.String})
          .filter(pl.col("event_date") >= first, pl.col("event_date") < after)  # partition pruning
          .filter(pl.col("ts") >= since, pl.col("ts") < until)
          .select(ANALYSIS_COLUMNS)
          .join(causes, on="signature", how="left")
          .group_by("cause", "realm", "audience")
          .agg(pl.len().alias("count"), pl.col("ts").min().alias("first_seen"),
               pl.col("ts").max().alias("last_seen"), pl.col("client_addr").n_unique().alias("clients")))
    return _to_pandas(lf.collect(engine="streaming").to_arrow())


def analysis_duckdb(root: Path, days: int, causes_table: Any) -> Any:
    import duckdb

    since, until, first, after = _window_bounds(days)
    con = duckdb.connect()
    con.execute(f"SET threads = {DUCKDB_THREADS}")
    con.register("causes", causes_table)
    events = _sql_text(str(root / "events" / "*" / "*.parquet"))
    sql = f"""
SELECT c.cause, e.realm, e.audience, count(*) AS count, min(e.ts) AS first_seen, max(e.ts) AS last_seen,
       count(DISTINCT e.client_addr) AS clients
FROM read_parquet({events}, hive_partitioning = true) e LEFT JOIN causes c USING (signature)
WHERE e.event_date >= '{first}' AND e.event_date < '{after}'
  AND e.ts >= '{since.isoformat()}'::TIMESTAMPTZ AND e.ts < '{until.isoformat()}'::TIMESTAMPTZ
GROUP BY ALL
"""
    return _to_pandas(con.sql(sql).to_arrow_table())


def analysis_pandas(root: Path, days: int, causes_table: Any) -> Any:
    import tokenaudit as ta

    since, until, _first, _after = _window_bounds(days)
    events = ta.read_events(root, since=since, until=until, columns=ANALYSIS_COLUMNS)
    causes = causes_table.to_pandas().set_index("signature")["cause"]
    events["cause"] = events["signature"].map(causes)
    grouped = events.groupby(["cause", "realm", "audience"], dropna=False, observed=True)
    return grouped.agg(count=("ts", "size"), first_seen=("ts", "min"), last_seen=("ts", "max"),
                       clients=("client_addr", "nunique")).reset_index()


def analysis_digest(frame: Any) -> dict[str, Any]:
    """Order-free summary of a group-by result, equal across engines when their results are (vectorized:
    a Python loop over 200,000 groups took longer than the query)."""
    import pandas as pd

    keys = pd.DataFrame({c: frame[c].astype(object).where(frame[c].notna(), "<null>").astype(str)
                         for c in ("cause", "realm", "audience")})
    values = pd.DataFrame({
        "count": frame["count"].astype("int64"),
        "first_seen": pd.to_datetime(frame["first_seen"], utc=True).astype("datetime64[us, UTC]").astype("int64"),
        "last_seen": pd.to_datetime(frame["last_seen"], utc=True).astype("datetime64[us, UTC]").astype("int64"),
        "clients": frame["clients"].astype("int64"),
    })
    table = pd.concat([keys, values], axis=1).sort_values(list(keys.columns) + list(values.columns))
    hashed = pd.util.hash_pandas_object(table.reset_index(drop=True), index=True).to_numpy()
    return {"groups": len(table), "events": int(values["count"].sum()), "clients": int(values["clients"].sum()),
            "sha256": hashlib.sha256(hashed.tobytes()).hexdigest()[:16]}


def build_analysis_dataset(root: Path, events: int, *, seed: int = 16) -> dict[str, Any]:
    """A dataset of ``events`` events of realistic variety, written with tokenaudit's own writer.

    Template events come from ``tokenaudit.process_chunk`` over generated Proxmox failure
    lines (their signatures, causes and messages); each event then gets its own time
    (uniform over 30 days), client address (from ~250,000 addresses), user (~40,000),
    realm (40) and audience (~5,000, on the events whose signature names one, else null),
    and its message carries its own ``rhost=``. One batch a day, committed with its
    manifest, as daily ingests leave them. Returns the number of events per day and the
    cardinalities.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    import tokenaudit as ta
    from tokenaudit.schema import EVENT_SCHEMA
    from tokenaudit.store.dataset import commit_batch, new_batch_id, open_for_writing, write_events

    sample = root.parent / "analysis-sample.log"
    template = template_events(sample)
    rng = np.random.default_rng(seed)
    open_for_writing(root)
    start = pd.Timestamp(ANALYSIS_START, tz="UTC").value // 1000
    day_us = 86_400 * 1_000_000
    per_day = np.bincount(rng.integers(0, ANALYSIS_DAYS, events), minlength=ANALYSIS_DAYS)
    realms = [f"realm{n:02d}" for n in range(40)]
    line_no = 0
    for day, count in enumerate(per_day.tolist()):
        count = int(count)
        pick = pa.array(rng.integers(0, template.num_rows, count), pa.int64())
        table = template.take(pick)
        ts = np.sort(start + day * day_us + rng.integers(0, day_us, count))
        a, b, c = rng.integers(0, 256, count), rng.integers(0, 256, count), rng.integers(1, 255, count)
        net = rng.integers(0, 4, count)
        clients = pa.array([f"{10 + n * 50}.{x}.{y}.{z}" for n, x, y, z in zip(net, a % 16, b, c, strict=True)])
        users = pa.array([f"user{u}@pve" for u in rng.integers(0, 40_000, count)])
        realm = pa.array(np.array(realms, dtype=object)[rng.integers(0, len(realms), count)].tolist())
        has_audience = pc.is_valid(table.column("audience"))
        audience = pc.if_else(has_audience, pa.array([f"https://app{n}.example.com" for n in
                                                      rng.integers(0, 5_000, count)]),
                              pa.scalar(None, pa.string()))
        parts = pc.extract_regex(table.column("message"), r"^(?P<a>.*?rhost=)\S+(?P<b>.*)$")
        message = pc.if_else(pc.is_valid(parts),
                             pc.binary_join_element_wise(pc.struct_field(parts, "a"), clients,
                                                         pc.struct_field(parts, "b"), ""),
                             table.column("message"))
        stamps = pa.array(ts, pa.timestamp("us", tz="UTC"))
        batch_id = new_batch_id() + f"-{day:04d}"
        replace = {
            "ts": stamps,
            "event_date": pc.strftime(stamps, "%Y-%m-%d"),
            "line_no": pa.array(np.arange(line_no + 1, line_no + count + 1), pa.int64()),
            "client_addr": clients,
            "user": users,
            "realm": realm,
            "audience": audience,
            "message": message,
            "source_file": pa.array([f"/var/log/syslog.{day}"] * count),
            "batch_id": pa.array([batch_id] * count),
        }
        line_no += count
        for name, values in replace.items():
            table = table.set_column(EVENT_SCHEMA.get_field_index(name), name, values)
        write_events(root, table, batch_id)
        manifest = pd.DataFrame([{
            "batch_id": batch_id, "ingested_at": pd.Timestamp.now(tz="UTC"), "source_file": f"/var/log/syslog.{day}",
            "stream_id": f"{day:016x}", "format": "syslog_rfc3164", "size_bytes": 0, "compressed": False,
            "head_len": 0, "head_sha256": "", "tail_sha256": "", "offset_bytes": 0, "lines_total": count,
            "lines_read": count, "lines_parsed": count, "lines_skipped": 0, "lines_rejected": 0, "events": count,
        }])
        commit_batch(root, manifest, batch_id)
        _progress(f"  analysis dataset: day {day + 1}/{ANALYSIS_DAYS}, {count:,} events")
    sample.unlink()
    sample.with_name(sample.name + ".truth.json").unlink(missing_ok=True)
    check = ta.read_events(root, columns=["client_addr", "user", "audience", "ts"])
    return {
        "per_day": per_day.tolist(),
        "distinct": {column: int(check[column].nunique()) for column in ("client_addr", "user", "audience", "ts")},
        "templates": int(pc.count_distinct(template.column("signature")).as_py()),
    }


# --------------------------------------------------------------------------- child processes


def child(argv: list[str]) -> int:
    """``--child ingest ENGINE FORMAT FILE`` or ``--child analysis ENGINE ROOT DAYS``: one timed run."""
    mode, engine = argv[0], argv[1]
    if mode == "ingest":
        plan = make_plan(argv[2])
        run = {"polars": polars_ingest, "duckdb": duckdb_ingest}[engine]
        candidates, counts, took = run(Path(argv[3]), plan)
        print(json.dumps({**summarize(plan, candidates, counts), **took}))
        return 0
    root, days = Path(argv[2]), int(argv[3])
    causes = _cause_table()  # loading the catalogue is the same for every engine: not in the query time
    started = time.perf_counter()
    query = {"polars": analysis_polars, "duckdb": analysis_duckdb, "pandas": analysis_pandas}[engine]
    frame = query(root, days, causes)
    took = time.perf_counter() - started
    print(json.dumps({**analysis_digest(frame), "query_s": took}))
    return 0


def _child_argv(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", *args]


# --------------------------------------------------------------------------- the runner


@dataclass
class EngineTool(Tool):
    """A timed command, and what its last correct run found (the child's JSON)."""

    found: dict[str, Any] = field(default_factory=dict)


@dataclass
class Row:
    label: str
    truth: dict[str, Any]
    tools: list[EngineTool]


def _floor_tool(path: Path, truth: dict[str, Any], env: dict[str, str]) -> EngineTool:
    pattern = str(truth["floor_pattern"])
    q = shlex.quote
    if truth["gzip"]:
        sh = shutil.which("sh") or "/bin/sh"
        return EngineTool("floor", [sh, "-c", f"zcat {q(str(path))} | LC_ALL=C grep -c -E {q(pattern)}"], env)
    grep = shutil.which("grep") or "/usr/bin/grep"
    return EngineTool("floor", [grep, "-c", "-E", pattern, str(path)], {**env, "LC_ALL": "C"})


def _problem(tool: EngineTool, run: Measurement, truth: dict[str, Any], ref: dict[str, int]) -> str | None:
    if run.killed:
        return run.killed
    if run.returncode != 0:
        return f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
    if tool.name == "floor":
        got = run.stdout.split()[:1]
        return None if got == [str(truth["failures"])] else f"count {got} != truth {truth['failures']:,}"
    try:
        found = json.loads(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"no result in output {run.stdout[:120]!r}"
    tool.found = found
    return check_ingest(found, truth, ref)


def bench_file(path: Path, truth: dict[str, Any], engines: list[str], runs: int, workdir: Path,
               limits: Limits) -> list[EngineTool]:
    env = _child_env(workdir)
    env["POLARS_MAX_THREADS"] = str(DUCKDB_THREADS)
    plan = make_plan(str(truth["format"]))
    started = time.perf_counter()
    cached = path.with_name(path.name + ".reference.json")
    if cached.exists():
        ref = json.loads(cached.read_text())
    else:
        ref = reference(path, plan)
        cached.write_text(json.dumps(ref))
    _progress(f"  {path.name}: RE2 reference {ref['candidates']:,} candidate rows "
              f"({time.perf_counter() - started:.1f} s)")
    tools = [_floor_tool(path, truth, env)]
    tools += [EngineTool(engine, _child_argv("ingest", engine, str(truth["format"]), str(path)), dict(env))
              for engine in engines]
    scratch = workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    _warm(path)
    for number in range(runs):
        for tool in tools:
            run = measure(tool.argv, env=tool.env, scratch=scratch,
                          timeout_s=limits.timeout_s, rss_limit=limits.rss)
            tool.runs.append(run)
            problem = _problem(tool, run, truth, ref)
            if problem:
                tool.problems.append(problem)
            _progress(f"  {path.name} {tool.name} run {number + 1}/{runs}: {run.wall_s:.3f} s, "
                      f"{run.peak_rss / 1e6:.0f} MB{' FAIL ' + problem if problem else ''}")
    return tools


INGEST_HEADER = ("format", "lines", "MB", "engine", "median s", "lines/s", "MB/s", "×floor", "in-engine s",
                 "to pandas s", "candidates", "peak RSS MB", "correct")


def ingest_rows(row: Row) -> list[tuple[str, ...]]:
    lines = int(row.truth["lines"])
    megabytes = int(row.truth["bytes"]) / 1e6
    floor = next(tool for tool in row.tools if tool.name == "floor").median_s
    out = []
    for tool in row.tools:
        median = tool.median_s
        last = tool.found
        engine_s = f"{last['engine_s']:.3f}" if "engine_s" in last else ""
        handoff = f"{last['to_pandas_s']:.3f}" if "to_pandas_s" in last else ""
        found = f"{last['candidates']:,}" if "candidates" in last else ""
        correct = "yes" if not tool.problems else "FAIL: " + tool.problems[0]
        out.append((row.label, f"{lines:,}", f"{megabytes:,.1f}", tool.name, f"{median:.3f}",
                    _fmt_rate(lines / median), f"{megabytes / median:,.1f}", _fmt_ratio(median / floor),
                    engine_s, handoff, found, f"{tool.peak_mb:,.0f}", correct))
    return out


def run_ingest(args: argparse.Namespace, workdir: Path, limits: Limits) -> tuple[list[Row], bool]:
    rows: list[Row] = []
    for name in args.formats:
        variants = [(name, workdir / f"{name}.log", False)]
        if args.gzip:
            variants.append((f"{name}.gz", workdir / f"{name}.log.gz", True))
        for label, path, compress in variants:
            truth_file = path.with_name(path.name + ".truth.json")
            truth = None
            if path.exists() and truth_file.exists():
                truth = json.loads(truth_file.read_text())
                if truth.get("lines") != args.lines or truth.get("failure_share") != args.failure_share:
                    truth = None
            if truth is None:
                started = time.perf_counter()
                path.with_name(path.name + ".reference.json").unlink(missing_ok=True)
                truth = generate(name, args.lines, path, failure_share=args.failure_share, compress=compress)
                _progress(f"{label}: generated {int(truth['bytes']) / 1e6:,.1f} MB in "
                          f"{time.perf_counter() - started:.1f} s")
            rows.append(Row(label, truth, bench_file(path, truth, args.engines, args.runs, workdir, limits)))
            if not args.keep:
                path.unlink()
    failed = any(tool.problems for row in rows for tool in row.tools)
    return rows, failed


def run_analysis(args: argparse.Namespace, workdir: Path, limits: Limits) -> tuple[str, bool]:
    root = workdir / "analysis-dataset"
    info_file = workdir / "analysis-dataset.json"
    info = json.loads(info_file.read_text()) if info_file.exists() and root.exists() else None
    if info is None or sum(info["per_day"]) != args.analysis:
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        info = build_analysis_dataset(root, args.analysis)
        info["build_s"] = time.perf_counter() - started
        info_file.write_text(json.dumps(info))
    env = _child_env(workdir)
    env["POLARS_MAX_THREADS"] = str(DUCKDB_THREADS)
    scratch = workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    table_rows = []
    failed = False
    for days in WINDOWS:
        expected = sum(info["per_day"][-days:])
        tools = [Tool(engine, _child_argv("analysis", engine, str(root), str(days)), dict(env))
                 for engine in ("pandas", *args.engines)]
        digests: dict[str, dict[str, Any]] = {}
        for number in range(args.runs):
            for tool in tools:
                run = measure(tool.argv, env=tool.env, scratch=scratch, timeout_s=limits.timeout_s,
                              rss_limit=limits.rss)
                tool.runs.append(run)
                problem = None
                if run.killed:
                    problem = run.killed
                elif run.returncode != 0:
                    problem = f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
                else:
                    digest = json.loads(run.stdout.strip().splitlines()[-1])
                    digests[tool.name] = digest
                    if digest["events"] != expected:
                        problem = f"{digest['events']:,} events != {expected:,} in the window"
                if problem:
                    tool.problems.append(problem)
                _progress(f"  analysis {days} d {tool.name} run {number + 1}/{args.runs}: {run.wall_s:.3f} s, "
                          f"{run.peak_rss / 1e6:.0f} MB{' FAIL ' + problem if problem else ''}")
        reference_digest = digests.get("pandas")
        for tool in tools:
            digest = digests.get(tool.name, {})
            if reference_digest and digest and not tool.problems and \
                    {k: digest[k] for k in ("groups", "events", "clients", "sha256")} != \
                    {k: reference_digest[k] for k in ("groups", "events", "clients", "sha256")}:
                tool.problems.append(f"groups differ from pandas: {digest} vs {reference_digest}")
            failed |= bool(tool.problems)
            pandas_s = tools[0].median_s
            table_rows.append((f"{days} d", f"{expected:,}", tool.name, f"{tool.median_s:.3f}",
                               f"{digest.get('query_s', float('nan')):.3f}", _fmt_ratio(tool.median_s / pandas_s),
                               f"{digest.get('groups', 0):,}", f"{tool.peak_mb:,.0f}",
                               "yes" if not tool.problems else "FAIL: " + tool.problems[0]))
    text = markdown_table(("window", "events", "engine", "median s", "in-process s", "×pandas", "groups",
                           "peak RSS MB", "correct"), table_rows)
    distinct = ", ".join(f"{k} {v:,}" for k, v in info["distinct"].items())
    text += (f"\n\nDataset: {args.analysis:,} events over {ANALYSIS_DAYS} days from {ANALYSIS_START}, "
             f"{len(info['per_day'])} daily batches; distinct values: {distinct}; "
             f"{info['templates']} signatures")
    if "build_s" in info:
        text += f"; built in {info['build_s']:.0f} s"
    return text + ".\n", failed


def engine_versions() -> str:
    out = []
    for name in ENGINES:
        try:
            module = __import__(name)
            out.append(f"{name} {module.__version__}")
        except ImportError:
            out.append(f"{name} not installed")
    return ", ".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines per generated log [1,000,000]")
    parser.add_argument("--runs", type=int, default=3, help="runs of each engine; the median is reported [3]")
    parser.add_argument("--formats", nargs="*", choices=sorted(SHAPES), default=list(SHAPES),
                        help="generator formats [all]")
    parser.add_argument("--engines", nargs="*", choices=ENGINES, default=list(ENGINES), help="engines [both]")
    parser.add_argument("--gzip", action="store_true", help="also time gzip-compressed copies")
    parser.add_argument("--failure-share", type=float, default=0.03, help="share of failure lines [0.03]")
    parser.add_argument("--keep", type=Path, help="write files here and keep them (reused when they match)")
    parser.add_argument("--analysis", type=int, default=0, metavar="EVENTS",
                        help="time the analysis group-by over a dataset of EVENTS events instead of ingest")
    parser.add_argument("--timeout", type=float, default=900.0, metavar="S", help="kill a run after S seconds")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.lines < 1:
        parser.error("--runs and --lines must be at least 1")
    limits = Limits(args.timeout, int(0.7 * _memory_bytes()))
    compile_package()
    workdir = args.keep if args.keep else Path(tempfile.mkdtemp(prefix="tokenaudit-engines-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print("## polars against DuckDB on tokenaudit's formats\n")
    print("\n".join(machine_notes()))
    print(f"- {engine_versions()}; POLARS_MAX_THREADS={DUCKDB_THREADS}, DuckDB threads={DUCKDB_THREADS}")
    what = f"analysis over {args.analysis:,} events" if args.analysis else \
        f"{args.lines:,} lines per file, failure share {args.failure_share}"
    print(f"- {what}; median of {args.runs} run(s); files in {workdir}"
          f"{'' if args.keep else ' (removed afterwards)'}\n", flush=True)
    try:
        if args.analysis:
            text, failed = run_analysis(args, workdir, limits)
            print(text)
        else:
            rows, failed = run_ingest(args, workdir, limits)
            print(markdown_table(INGEST_HEADER, [r for row in rows for r in ingest_rows(row)]))
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"\nLoad average at the end: {load}")
        return 1 if failed else 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
