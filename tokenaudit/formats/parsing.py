"""Log formats: load their definitions, detect which one a file has, parse chunks of lines.

A format is data (``data/<name>.toml`` of :mod:`tokenaudit.formats`): a cheap anchored ``detect``
regex that tells a line of the format from any other, a ``pattern`` (or a
JSON field map) that captures the fields, and real sample lines. Parsing is a
pure function over a chunk of lines held in a pyarrow array; the regexes run
in RE2 (linear time, no catastrophic backtracking) through
:mod:`pyarrow.compute`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..common.datafiles import check_keys, package_data, read_toml
from ..common.files import read_cached, write_cached
from ..common.timestamps import TIMESTAMP_KINDS
from ..errors import CatalogueError, FormatError
from ..models import FormatSample, LineAccount, LogFormat
from ..regex import lint as regex_lint
from ..regex.lint import BACKTRACKING_HINT, lint_pattern, validate_regex
from ..regex.prefilter import escape, search_marker

#: This package's TOML files.
DATA_DIR = package_data("tokenaudit.formats")

#: Columns every parsed record has, whatever its format (missing ones are null).
RECORD_COLUMNS = (
    "ts_raw",
    "host",
    "process",
    # the program as the log's own trusted field names it (journald's _COMM, which a client cannot set),
    # where the format has one; ``process`` may be a tag anyone can write (`logger -t pvedaemon`)
    "writer",
    "pid",
    "message",
    "client_addr",
    "user",
    "method",
    "path",
    "status",
)

_FORMAT_KEYS: dict[str, Any] = {
    "required": ("name", "title", "description", "kind", "detect", "timestamp"),
    "optional": (
        "pattern",
        "fields",
        "skip",
        "event_status",
        "event_path",
        "candidate",
        "count_pattern",
        "request_path",
        "shape",
        "continuation",
        "continuation_prefix",
        "constants",
        "generic_search",
        "flat",
        "priority",
        "detect_scope",
        "fallback",
        "software",
        "url",
        "sample",
    ),
}
_DETECT_SAMPLE_LINES = 200
_DETECT_MIN_SHARE = 0.6


#: A line of a pretty-printed body: only an opening or closing bracket, or a member (``"error": …``) at the
#: line's start (see :func:`_body_lines`).
_BODY_LINE = r'^\s*(?:[{}\[\]][,;]?\s*$|"[^"\n]{1,80}"\s*:)'
_OPENING_LINE = r"^\s*[{\[]\s*$"
_CLOSING_LINE = r"^\s*[}\]][,;]?\s*$"
#: A body written on one line (``{"Identity":"0","XErr":2148916238,…}``) and a line that announces one: it ends
#: with a colon (``error stream:``, ``Response body:``).
_ONE_LINE_BODY = r"^\s*[{\[]\S"
_ANNOUNCING_LINE = r":\s*$"


def _format_from_toml(path: Path, clean: set[str] | None = None) -> LogFormat:
    data = read_toml(path)
    check_keys(data, **_FORMAT_KEYS, path=str(path))
    name = data["name"]
    if name != path.stem:
        raise CatalogueError(f"format name {name!r} differs from its file name", path=str(path))
    if data["kind"] not in ("regex", "json", "config", "tokens"):
        raise CatalogueError(f"unknown kind {data['kind']!r}", path=str(path))
    if data["timestamp"] not in TIMESTAMP_KINDS:
        raise CatalogueError(
            f"unknown timestamp {data['timestamp']!r}",
            path=str(path),
            hint=f"one of {', '.join(TIMESTAMP_KINDS)}",
        )
    if data.get("flat") and (data["kind"] != "json" or any(
            "." in key for column in ("ts", "host", "path", "status")
            for key in data.get("fields", {}).get(column, ()))):
        raise CatalogueError("flat is for json formats whose counted fields are top-level keys", path=str(path))
    if data["kind"] == "regex" and "pattern" not in data:
        raise CatalogueError("a regex format needs a pattern", path=str(path))
    for key in ("detect", "pattern", "event_path", "candidate", "count_pattern", "request_path", "shape",
                "continuation", "continuation_prefix", *(f"skip[{i}]" for i in range(len(data.get("skip", []))))):
        value = data["skip"][int(key[5:-1])] if key.startswith("skip[") else data.get(key)
        if value is None or (clean is not None and value in clean):
            continue
        if problem := validate_regex(value):
            raise CatalogueError(f"{key} does not compile: {problem}", path=str(path))
        if problems := lint_pattern(value):
            raise CatalogueError(f"{key} could backtrack catastrophically: {problems[0]}", path=str(path),
                                 hint=BACKTRACKING_HINT)
        if clean is not None:
            clean.add(value)
    samples = []
    for sample in data.get("sample", []):
        check_keys(sample, required=("line", "expect"), optional=("source",), path=str(path))
        samples.append(FormatSample(sample["line"], dict(sample["expect"]), sample.get("source", "")))
    fields = {column: tuple(keys) for column, keys in data.get("fields", {}).items()}
    return LogFormat(
        name=name,
        title=data["title"],
        description=data["description"].strip(),
        kind=data["kind"],
        detect=data["detect"],
        timestamp=data["timestamp"],
        pattern=data.get("pattern"),
        fields=fields,
        skip=tuple(data.get("skip", ())),
        event_status=tuple(data.get("event_status", ())),
        event_path=data.get("event_path"),
        candidate=data.get("candidate"),
        count_pattern=data.get("count_pattern"),
        request_path=data.get("request_path"),
        shape=data.get("shape"),
        continuation=data.get("continuation"),
        continuation_prefix=data.get("continuation_prefix"),
        constants={str(k): str(v) for k, v in data.get("constants", {}).items()},
        generic_search=bool(data.get("generic_search", False)),
        flat=bool(data.get("flat", False)),
        priority=int(data.get("priority", 50)),
        software=data.get("software", ""),
        detect_scope=data.get("detect_scope", "line"),
        fallback=bool(data.get("fallback", False)),
        url=data.get("url", ""),
        samples=tuple(samples),
        path=str(path),
    )


def load_formats(directory: Path | None = None) -> dict[str, LogFormat]:
    """Load every format definition, keyed by name, in detection order.

    Parameters
    ----------
    directory
        Folder of ``<name>.toml`` files; the built-in formats by default.

    Returns
    -------
    dict
        Format name to :class:`~tokenaudit.models.LogFormat`, most specific first.

    Examples
    --------
    >>> formats = load_formats()
    >>> "syslog_rfc3164" in formats and "journal_json" in formats
    True
    """
    if directory is None:
        return dict(_builtin_formats())
    return _load_formats(directory, None)


def _load_formats(directory: Path, clean: set[str] | None) -> dict[str, LogFormat]:
    found = [_format_from_toml(path, clean) for path in sorted(directory.glob("*.toml"))]
    found.sort(key=lambda fmt: (fmt.priority, fmt.name))
    return {fmt.name: fmt for fmt in found}


@cache
def _builtin_formats() -> tuple[tuple[str, LogFormat], ...]:
    clean = _read_clean_patterns()
    known = len(clean)
    formats = _load_formats(DATA_DIR, clean)
    if len(clean) != known:
        _write_clean_patterns(clean)
    return tuple(formats.items())


# Checking the built-in formats' ~140 patterns (an RE2 compile and the backtracking lint each) took
# 0.04-0.08 s of every command. Patterns that passed are remembered, as text (JSON), in the cache
# folder, in a file named by a hash of the checking code and of pyarrow's version (its RE2 decides
# what compiles): a pattern not in it, or any problem reading it, means the pattern is checked.


def _clean_patterns_name() -> str:
    digest = hashlib.sha256(pa.__version__.encode())
    for path in (Path(__file__), Path(regex_lint.__file__ or "")):
        digest.update(path.read_bytes())
    return f"patterns-{digest.hexdigest()[:24]}.json"


def _read_clean_patterns() -> set[str]:
    patterns = read_cached(_clean_patterns_name())
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        return set()
    return set(patterns)


def _write_clean_patterns(clean: set[str]) -> None:
    # other versions' files go at once: they are rebuilt in a blink
    write_cached(_clean_patterns_name(), sorted(clean), stale="patterns-*.json", unused_for=0)


def get_format(name: str, formats: dict[str, LogFormat] | None = None) -> LogFormat:
    """Return the format called ``name``.

    Raises
    ------
    FormatError
        If there is no such format; the hint lists the known ones.
    """
    formats = formats if formats is not None else load_formats()
    try:
        return formats[name]
    except KeyError:
        raise FormatError(
            f"unknown format {name!r}",
            hint=f"known formats: {', '.join(formats)} (see `tokenaudit formats`)",
        ) from None


@dataclass(frozen=True)
class Detection:
    """The outcome of format detection: the format, and how every format scored."""

    format: LogFormat | None
    scores: dict[str, tuple[int, int]]

    def explain(self) -> str:
        """Say in one line how each format scored (matching lines of lines sampled)."""
        ranked = sorted(self.scores.items(), key=lambda item: -item[1][0])
        return "; ".join(f"{name} {hit}/{total}" for name, (hit, total) in ranked[:4])


def detect_format(head: list[str], formats: dict[str, LogFormat] | None = None) -> Detection:
    """Tell the format of a file from its first lines.

    Each format's ``detect`` regex (and for a ``regex`` format its ``pattern``:
    a line of the right shape whose fields do not parse is not the format's)
    is tried on up to 200 lines that none of its
    ``skip`` patterns drops (a ``detect_scope = "head"`` format's regex on the
    head as one text, for documents such as HAR files); the format matching the largest share (at least
    60 %) wins, the more specific one (lower priority number) on a tie. A
    ``fallback`` format (``generic_text``) wins only when no other qualifies.

    Parameters
    ----------
    head
        The first lines of the file.
    formats
        Candidate formats; all built-in ones by default.

    Returns
    -------
    Detection
        ``format`` is ``None`` when nothing matched well enough.

    Examples
    --------
    >>> line = "Mar  8 09:37:44 pve1 pvedaemon[12021]: authentication failure; rhost=192.0.2.1"
    >>> detect_format([line]).format.name
    'syslog_rfc3164'
    >>> detect_format(["hello world"]).format.name
    'generic_text'
    >>> detect_format(["hello world"], {k: v for k, v in load_formats().items() if not v.fallback}).format is None
    True
    """
    formats = formats if formats is not None else load_formats()
    scores: dict[str, tuple[int, int]] = {}
    best: tuple[float, int, LogFormat] | None = None
    for fmt in formats.values():
        if fmt.detect_scope == "head":
            hit = bool(pc.match_substring_regex(pa.array(["\n".join(head)]), fmt.detect)[0].as_py())
            scores[fmt.name] = (int(hit), 1)
            if hit and (best is None or (1.0, -fmt.priority) > (best[0], best[1])):
                best = (1.0, -fmt.priority, fmt)
            continue
        lines = pa.array(head, pa.string())
        kept = lines.filter(pc.invert(_skip_mask(lines, fmt)))[:_DETECT_SAMPLE_LINES]
        if len(kept) == 0:
            continue
        shaped = pc.match_substring_regex(kept, fmt.detect)
        if fmt.kind == "regex" and fmt.pattern:  # the shape alone is not enough: the fields must parse too
            shaped = pc.and_(shaped, pc.match_substring_regex(kept, fmt.pattern))
        hits = int(pc.sum(shaped).as_py() or 0)
        scores[fmt.name] = (hits, len(kept))
        share = hits / len(kept)
        if share >= _DETECT_MIN_SHARE and (best is None or _better((share, fmt), (best[0], best[2]))):
            best = (share, -fmt.priority, fmt)
    return Detection(best[2] if best else None, scores)


def _better(candidate: tuple[float, LogFormat], incumbent: tuple[float, LogFormat]) -> bool:
    """A specific format beats a fallback; then the larger share; then the more specific (lower priority)."""
    (share, fmt), (best_share, best) = candidate, incumbent
    if fmt.fallback != best.fallback:
        return best.fallback
    return (share, -fmt.priority) > (best_share, -best.priority)


def split_lines(block: bytes) -> list[str]:
    """Decode a block of complete lines (invalid UTF-8 replaced) and split it on newlines.

    Examples
    --------
    >>> split_lines(b"a\\r\\nb\\xff\\n")
    ['a', 'b\\ufffd']
    """
    text = block.decode("utf-8", errors="replace")
    if text.endswith("\n"):
        text = text[:-1]
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def lines_array(block: bytes) -> pa.Array:
    """Split a block of lines into a pyarrow string array without a Python object per line.

    The newline positions come from one numpy pass; the array's values are
    the block's own bytes. Lines end at ``\\n`` (a ``\\r`` before it is
    dropped); a block that is not valid UTF-8 is decoded with replacement
    characters instead.

    Examples
    --------
    >>> lines_array(b"a\\r\\nb\\n").to_pylist()
    ['a', 'b']
    >>> lines_array(b"ok\\nbad\\xff\\n").to_pylist()
    ['ok', 'bad\ufffd']
    >>> len(lines_array(b"")), lines_array(b"\\n").to_pylist(), lines_array(b"x\\ny").to_pylist()
    (0, [''], ['x', 'y'])
    """
    if not block:
        return pa.array([], pa.string())
    if not block.endswith(b"\n"):
        block += b"\n"
    ends = np.flatnonzero(np.frombuffer(block, np.uint8) == 10)
    offsets = np.empty(len(ends) + 1, np.int64)
    offsets[0] = 0
    offsets[1:] = ends + 1
    array = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(block))
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:  # not UTF-8: decode with replacement characters
        return pa.array(split_lines(block), pa.string())
    return pc.utf8_rtrim(array, characters="\r\n").cast(pa.string())


def _skip_mask(lines: pa.Array, fmt: LogFormat) -> pa.Array:
    if not fmt.skip:
        return pa.array(np.zeros(len(lines), dtype=bool))
    return pc.match_substring_regex(lines, any_of(fmt.skip))


def any_of(patterns: tuple[str, ...] | list[str]) -> str:
    r"""One regex matching where any of ``patterns`` does.

    When every pattern is anchored at the start, the ``^`` is taken out of
    the alternation: RE2 then knows the whole regex is anchored and stops at
    the line's first characters instead of scanning the whole line.

    Examples
    --------
    >>> print(any_of(["^#", r"^\s*$"]))
    ^(?:#|\s*$)
    >>> print(any_of(["^#", "x"]))
    (?:^#)|(?:x)
    """
    if all(p.startswith("^") and not p.startswith("^(?") and "|" not in p for p in patterns):
        return "^(?:" + "|".join(p[1:] for p in patterns) + ")"
    return "|".join(f"(?:{p})" for p in patterns)


@dataclass(frozen=True)
class ParsedChunk:
    """Records parsed from a chunk of lines, and how each line was accounted for.

    ``records`` holds only the *candidate* lines (those a failure marker or an
    event rule selected), with ``line_no`` and :data:`RECORD_COLUMNS`.
    ``counted`` (access logs with a ``count_pattern``) holds time, host, path
    (perhaps dictionary-encoded) and status of every line of the format, for
    the request counts.
    """

    records: pa.Table
    account: LineAccount
    counted: pa.Table | None = None


def parse_chunk(
    lines: pa.Array,
    fmt: LogFormat,
    *,
    first_line_no: int,
    marker: str | None,
    gated: tuple[str, str] | None = None,
) -> ParsedChunk:
    """Parse a chunk of lines of one format.

    Every line is accounted for: *skipped* (a comment, a marker, a blank line),
    *rejected* (not shaped like the format, or its fields did not parse) or
    *parsed*. Only candidate lines, those matching ``marker`` (a regex of
    failure markers built from the signature catalogue) or the format's own
    ``candidate`` regex, get their fields extracted; in an access log (a
    format with ``event_status``) every line does, since every request is
    counted.

    Parameters
    ----------
    lines
        The lines, a pyarrow string array.
    fmt
        Their format (``regex`` or ``json`` kind).
    first_line_no
        1-based line number of ``lines[0]`` in its file.
    marker
        Regex selecting candidate lines; ``None`` makes every line a candidate.
    gated
        ``(literals, cue)``: a line ``literals`` selects, and ``marker`` does
        not, is a candidate only if its message also matches ``cue`` (the
        catalogue's keywords, whose common words must stand in a message that
        reports a failure). ``cue`` must have no anchor: it is first looked
        for in the whole line, then in the message. A line it drops is still
        parsed, and counted as such.

    Returns
    -------
    ParsedChunk

    Examples
    --------
    >>> fmt = load_formats()["syslog_rfc3164"]
    >>> lines = pa.array(["# note", "Mar  8 09:37:44 pve pvedaemon[1]: authentication failure; x",
    ...                   "garbage", "Mar  8 09:37:45 pve cron[2]: ok"])
    >>> chunk = parse_chunk(lines, fmt, first_line_no=1, marker="authentication failure")
    >>> chunk.records.column("line_no").to_pylist(), chunk.records.column("process").to_pylist()
    ([2], ['pvedaemon'])
    >>> a = chunk.account
    >>> (a.read, a.parsed, a.skipped, a.rejected)
    (4, 2, 1, 1)
    """
    account = LineAccount(read=len(lines))
    skipped = _skip_mask(lines, fmt)
    # ``shape``, where a format has one, is a cheaper per-line test than ``detect`` (which must tell
    # formats apart on a file's first lines); a line that fails it is not of the format.
    shaped = pc.fill_null(pc.match_substring_regex(lines, fmt.shape or fmt.detect), False)
    kept = pc.invert(skipped)
    account.skipped = _count(skipped)
    if account.skipped:
        account.skipped_reasons["comment, marker or blank line"] += account.skipped
    if fmt.continuation:
        lines, shaped, joined = _join_continuations(lines, shaped, kept, fmt.continuation,
                                                    fmt.continuation_prefix)
        if joined is not None:  # continuation lines are parsed as part of the line they continue
            kept = pc.and_(kept, pc.invert(joined))
    rejected = pc.and_(kept, pc.invert(shaped))
    account.rejected = _count(rejected)
    if account.rejected:
        account.rejected_reasons[f"not a {fmt.name} line"] += account.rejected
    candidates = pc.and_(kept, shaped)
    counted = None
    if fmt.event_status and (fmt.count_pattern or fmt.flat):
        # Every request is counted from a small pattern (or a few keys); the full one runs on candidates only.
        counted = count_fields(lines.filter(candidates), fmt)
    only_gated = None
    if marker is not None and (not fmt.event_status or counted is not None):
        # Refusals by status (access logs) in the same pass as the catalogue's marker.
        selected = pc.fill_null(search_marker(lines, any_of([marker, fmt.candidate]) if fmt.candidate else marker),
                                False)
        if gated is not None:
            only_gated = _gated_lines(lines, selected, *gated)
            selected = pc.or_(selected, only_gated)
        candidates = pc.and_(candidates, selected)
    index = np.flatnonzero(candidates.to_numpy(zero_copy_only=False))
    subset = lines.take(pa.array(index, pa.int64()))
    if fmt.kind == "json":
        records, bad = _parse_json(subset, fmt)
        bad_reason = "invalid JSON"
    else:
        records, bad = _parse_regex(subset, fmt)
        bad_reason = f"{fmt.name} fields did not parse"
    for column, value in fmt.constants.items():  # fields a format always has (nginx_error's process)
        if column in RECORD_COLUMNS:
            position = records.column_names.index(column)
            filled = pc.fill_null(records.column(column), value)
            records = records.set_column(position, column, filled)
    account.parsed = account.read - account.skipped - account.rejected - len(bad)
    if bad:
        account.rejected += len(bad)
        account.rejected_reasons[bad_reason] += len(bad)
    good = np.setdiff1d(np.arange(len(index)), np.asarray(bad, dtype=np.int64), assume_unique=True)
    line_no = pa.array(index[good] + first_line_no, pa.int64())
    table = _numeric_status(records.take(pa.array(good, pa.int64())) if bad else records)
    counted = _numeric_status(counted) if counted is not None else None
    table = table.add_column(0, "line_no", line_no)
    if only_gated is not None and gated is not None:
        table = _reporting_failure(table, only_gated.to_numpy(zero_copy_only=False)[index[good]], gated[1])
    return ParsedChunk(table, account, counted)


def _gated_lines(lines: pa.Array, selected: pa.BooleanArray, literals: str, cue: str) -> pa.BooleanArray:
    """Lines ``selected`` leaves out that hold ``cue`` and one of ``literals``.

    The cue, one RE2 pass, is far rarer in ordinary lines than the keywords'
    common words: the literals are looked for only in the lines that hold it.
    """
    maybe = pc.and_(pc.invert(selected), pc.fill_null(pc.match_substring_regex(lines, cue), False))
    rows = np.flatnonzero(maybe.to_numpy(zero_copy_only=False))
    found = np.zeros(len(lines), dtype=bool)
    if len(rows):
        hits = pc.fill_null(search_marker(lines.take(pa.array(rows, pa.int64())), literals), False)
        found[rows[hits.to_numpy(zero_copy_only=False)]] = True
    return pa.array(found)


def _reporting_failure(records: pa.Table, gated: np.ndarray, cue: str) -> pa.Table:
    """``records`` without the rows only a gated literal selected whose message does not match ``cue``."""
    if not gated.any():
        return records
    reports = pc.fill_null(pc.match_substring_regex(records.column("message"), cue), False)
    keep = np.logical_or(~np.asarray(gated, dtype=bool), reports.to_numpy(zero_copy_only=False))
    return records.filter(pa.array(keep))


def _numeric_status(table: pa.Table) -> pa.Table:
    """Null a ``status`` that is no HTTP status (a JSON log's object, text or huge number there).

    Callers cast the column to int32; a value that cannot be one would stop the whole chunk.
    """
    position = table.column_names.index("status")
    status = table.column(position)
    numeric = pc.fill_null(pc.match_substring_regex(status, r"^-?\d{1,6}$"), False)
    return table.set_column(position, "status", pc.if_else(numeric, status, pa.scalar(None, pa.string())))


#: Columns of :func:`count_fields`.
COUNT_COLUMNS = ("ts_raw", "host", "path", "status")


def count_fields(lines: pa.Array, fmt: LogFormat) -> pa.Table:
    """Time, host, path and status of the lines an access log's ``count_pattern`` matches.

    A ``count_pattern`` that captures the whole ``request`` (and a
    ``request_path`` regex that takes the ``path`` from it) keeps both regexes
    one-pass: RE2 then extracts in a single scan, about three times faster
    than a pattern with alternatives inside the quotes.

    Examples
    --------
    >>> fmt = load_formats()["combined_access"]
    >>> line = '10.0.0.1 - - [08/Mar/2025:09:37:44 +0000] "GET /api/x?y=1 HTTP/1.1" 401 12 "-" "curl"'
    >>> count_fields(pa.array([line, "junk"]), fmt).to_pylist()
    [{'ts_raw': '08/Mar/2025:09:37:44 +0000', 'host': None, 'path': '/api/x?y=1', 'status': '401'}]
    """
    if fmt.flat:
        return _json_count_fields(lines, fmt)
    assert fmt.count_pattern is not None
    counted = _extract(lines, fmt.count_pattern, (*COUNT_COLUMNS, "request"))
    if fmt.request_path and "(?P<request>" in fmt.count_pattern:
        # A busy log repeats its requests: take the path once per distinct request.
        request = pc.dictionary_encode(pc.fill_null(counted.column("request").combine_chunks(), ""))
        path = pc.struct_field(pc.extract_regex(request.dictionary, fmt.request_path), "path")
        path = pc.if_else(pc.is_in(path, pa.array(["-", ""])), None, path)
        # Left dictionary-encoded (a path per distinct request): request counts fold routes per
        # distinct value and group by the codes, never by a string per line.
        path = pa.DictionaryArray.from_arrays(request.indices, path)
        counted = counted.set_column(counted.column_names.index("path"), "path", path)
    return counted.drop_columns(["request"])


#: A JSON key's value when it is a string (``s``, still escaped) or an integer (``n``).
_JSON_VALUE = r'''\s*:\s*(?:"(?P<s>(?:[^"\\]|\\.)*)"|(?P<n>-?\d+)[,}\s])'''


def _json_count_fields(lines: pa.Array, fmt: LogFormat) -> pa.Table:
    """:func:`count_fields` of a ``flat`` JSON format: one RE2 pass per key, no JSON parse.

    A key's value is its first string or integer value in the line (keys
    tried in the format's order, the next only where the previous gave
    none); strings with escapes are decoded by orjson. Lines without a time
    are dropped, as a ``count_pattern`` drops lines it does not match.
    """
    out: dict[str, pa.Array] = {}
    for column in COUNT_COLUMNS:
        values: pa.Array = pa.nulls(len(lines), pa.string())
        for key in fmt.fields.get("ts" if column == "ts_raw" else column, ()):
            if values.null_count == 0:
                break
            found = pc.extract_regex(lines, f'"{escape(key)}"{_JSON_VALUE}')
            text, number = pc.struct_field(found, "s"), pc.struct_field(found, "n")
            value = pc.if_else(pc.not_equal(number, ""), number, text)
            values = pc.coalesce(values, _unescape_json(value))
        out[column] = values
    table = pa.table(out)
    return table.filter(table.column("ts_raw").is_valid())


def _unescape_json(values: pa.Array) -> pa.Array:
    """Decode JSON string escapes where a value has any (rare in access logs)."""
    escaped = np.flatnonzero(pc.fill_null(pc.match_substring(values, "\\"), False).to_numpy(zero_copy_only=False))
    if len(escaped) == 0:
        return values
    texts = values.to_pylist()
    for position in escaped:
        try:
            texts[position] = orjson.loads(f'"{texts[position]}"')
        except ValueError:
            texts[position] = None
    return pa.array(texts, pa.string())


def _extract(lines: pa.Array, pattern: str, columns: tuple[str, ...]) -> pa.Table:
    """Named captures of ``pattern`` as columns (``ts`` as ``ts_raw``); non-matching lines dropped."""
    extracted = pc.extract_regex(lines, pattern)
    extracted = extracted.filter(extracted.is_valid())
    names = {extracted.type.field(i).name: i for i in range(extracted.type.num_fields)}
    out = {}
    for column in columns:
        source = "ts" if column == "ts_raw" else column
        if source in names:
            values = extracted.field(names[source])
            out[column] = pc.if_else(pc.is_in(values, pa.array(["-", ""])), None, values)
        else:
            out[column] = pa.nulls(len(extracted), pa.string())
    return pa.table(out)


def _join_continuations(
    lines: pa.Array, shaped: pa.Array, kept: pa.Array, continuation: str, prefix: str | None = None
) -> tuple[pa.Array, pa.Array, pa.Array | None]:
    """Append continuation lines (an indented stack trace, a cause on the next line) to the line they continue.

    The first line of a record gets the joined text (parts separated by a
    space); continuation lines are then accounted as parsed and take no
    further part. Only those lines are read into Python; the rest of the
    chunk stays in Arrow. A continuation at the very start of a chunk has
    nothing to join and is left as it is. A ``prefix`` that a collector writes before
    every line (docker compose's ``service  | ``) is read past: a line is a
    continuation by what follows it, and is joined without it.
    """
    bodies = lines if prefix is None else pc.replace_substring_regex(lines, f"^(?:{prefix})", "", max_replacements=1)
    kept_rows = np.asarray(kept.to_numpy(zero_copy_only=False), dtype=bool)
    is_cont = pc.fill_null(pc.match_substring_regex(bodies, continuation), False).to_numpy(zero_copy_only=False)
    is_cont = (is_cont | _body_lines(bodies)) & kept_rows
    is_cont[:1] = False
    if not is_cont.any():
        return lines, shaped, None
    starts = ~is_cont & kept_rows
    owner = np.maximum.accumulate(np.where(starts, np.arange(len(starts)), -1))
    joined = is_cont & (owner >= 0)
    positions = np.flatnonzero(joined)
    heads = np.unique(owner[positions])  # ascending, as replace_with_mask fills them
    if isinstance(lines, pa.ChunkedArray):  # replace_with_mask takes one array
        lines = lines.combine_chunks()
    # Each head's continuations are contiguous in ``positions`` (owners never decrease): one list per head, joined
    # by Arrow, with no Python loop over the lines.
    parts = pc.utf8_trim_whitespace(pc.take(bodies, pa.array(positions)))
    if isinstance(parts, pa.ChunkedArray):
        parts = parts.combine_chunks()
    offsets = np.append(np.searchsorted(owner[positions], heads), len(positions)).astype(np.int32)
    continued = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), parts), " ")
    head_texts = pc.binary_join_element_wise(pc.take(lines, pa.array(heads)), continued, " ")
    is_head = np.zeros(len(joined), dtype=bool)
    is_head[heads] = True
    lines = pc.replace_with_mask(lines, pa.array(is_head), head_texts.cast(lines.type))
    return lines, shaped, pa.array(joined)


def _body_lines(bodies: pa.Array) -> np.ndarray:
    """Lines of a body that continue the line before: brackets (``{``, ``}``, ``],``), members, announced bodies.

    A member (``"error": "invalid_grant",`` at the start of a line, however indented) and a closing line
    always do; an opening line does unless the line before it closed a body, so a log of pretty-printed
    JSON records keeps one record per body, while the JSON answer an exception message prints on its next
    lines (google-api-client's ``TokenResponseException: 400 Bad Request`` then ``{``) stays with that
    message. A log record never starts with a member or a lone bracket. A body on one line continues a line
    that announces it with a closing colon (``MSA Error: 401: Unauthorized, error stream:`` then
    ``{"XErr":…}``); a log of JSON records, whose lines end in ``}``, announces none.
    """
    body = pc.fill_null(pc.match_substring_regex(bodies, _BODY_LINE), False).to_numpy(zero_copy_only=False)
    one_line = pc.fill_null(pc.match_substring_regex(bodies, _ONE_LINE_BODY), False).to_numpy(zero_copy_only=False)
    announced = np.zeros(len(one_line), dtype=bool)
    if one_line.any():
        announces = pc.fill_null(pc.match_substring_regex(bodies, _ANNOUNCING_LINE), False).to_numpy(
            zero_copy_only=False)
        announced[1:] = one_line[1:] & announces[:-1]
    if not body.any():
        return np.asarray(announced, dtype=bool)
    closes = body & pc.fill_null(pc.match_substring_regex(bodies, _CLOSING_LINE), False).to_numpy(
        zero_copy_only=False)
    opens = body & pc.fill_null(pc.match_substring_regex(bodies, _OPENING_LINE), False).to_numpy(
        zero_copy_only=False)
    after_close = np.zeros(len(closes), dtype=bool)
    after_close[1:] = closes[:-1]
    return np.asarray((body & ~opens) | (opens & ~after_close) | announced, dtype=bool)


def join_continuation_lines(lines: list[str], fmt: LogFormat) -> list[str]:
    """The records of ``lines``: each line with the continuation lines of ``fmt`` joined to it, as ingest joins them.

    Examples
    --------
    >>> join_continuation_lines(["b: boom", "Caused by: x: Token is expired", "\\tat y.z()"],
    ...                         load_formats()["generic_text"])
    ['b: boom Caused by: x: Token is expired at y.z()']
    """
    array = pa.array(lines, pa.string())
    if not fmt.continuation or len(array) < 2:
        return lines
    kept = pa.array(np.ones(len(array), dtype=bool))
    joined, _, continued = _join_continuations(array, array, kept, fmt.continuation, fmt.continuation_prefix)
    if continued is None:
        return lines
    return [text for text, follows in zip(joined.to_pylist(), continued.to_pylist(), strict=True) if not follows]


def _count(mask: pa.Array) -> int:
    return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)


def _empty_column(length: int) -> pa.Array:
    return pa.nulls(length, pa.string())


def _parse_regex(lines: pa.Array, fmt: LogFormat) -> tuple[pa.Table, list[int]]:
    assert fmt.pattern is not None
    extracted = pc.extract_regex(lines, fmt.pattern)
    valid = extracted.is_valid().to_numpy(zero_copy_only=False)
    bad = [int(i) for i in np.flatnonzero(~valid)]
    names = {extracted.type.field(i).name: i for i in range(extracted.type.num_fields)}
    columns = {}
    for column in RECORD_COLUMNS:
        source = "ts" if column == "ts_raw" else column
        if source in names:
            values = extracted.field(names[source])
            # "-" is a log's nil value; "" is an optional group that did not take part.
            columns[column] = (pc.if_else(pc.is_in(values, pa.array(["-", ""])), None, values)
                               if column != "message" else values)
        else:
            columns[column] = _empty_column(len(lines))
    columns["message"] = _clean_message(columns["message"])
    return pa.table(columns), bad


def _clean_message(values: pa.Array) -> pa.Array:
    return pc.utf8_ltrim(pc.fill_null(values, ""), characters="\ufeff")


def _parse_json(lines: pa.Array, fmt: LogFormat) -> tuple[pa.Table, list[int]]:
    plans = [(column, fmt.fields.get("ts" if column == "ts_raw" else column, ())) for column in RECORD_COLUMNS]
    plans = [(column, keys) for column, keys in plans if keys]
    rows: dict[str, list[str | None]] = {column: [] for column, _ in plans}
    bad: list[int] = []
    for position, line in enumerate(lines.to_pylist()):
        try:
            obj = orjson.loads(line)
        except ValueError:  # orjson.JSONDecodeError is a ValueError
            obj = None
        if not isinstance(obj, dict):
            bad.append(position)
            continue
        for column, keys in plans:
            value = None
            for key in keys:
                value = obj.get(key) if "." not in key else _lookup(obj, key)
                if value is not None:
                    break
            rows[column].append(value if value is None or type(value) is str else _json_text(value))
    good_rows = len(lines) - len(bad)
    columns = {column: pa.array(rows[column], pa.string()) if column in rows else pa.nulls(good_rows, pa.string())
               for column in RECORD_COLUMNS}
    columns["message"] = _clean_message(columns["message"])
    table = pa.table(columns)
    # Positions of good rows in ``lines`` are all but ``bad``; re-expand so the
    # caller can take the good ones by position.
    if bad:
        table = _reexpand(table, len(lines), bad)
    return table, bad


def _reexpand(table: pa.Table, length: int, bad: list[int]) -> pa.Table:
    good = np.setdiff1d(np.arange(length), np.asarray(bad, dtype=np.int64), assume_unique=True)
    positions = np.full(length, -1, dtype=np.int64)
    positions[good] = np.arange(len(good))
    take = pa.array(np.where(positions < 0, 0, positions), pa.int64())
    if table.num_rows == 0:
        return pa.table({name: pa.nulls(length, pa.string()) for name in table.column_names})
    return table.take(take)


def _json_text(value: Any) -> str | None:
    """A JSON value that is not a string, as the text a log field means."""
    if isinstance(value, list) and value and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", errors="replace")  # journald's MESSAGE as bytes
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]  # header values as arrays (Caddy)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else repr(value)
    return json.dumps(value)


def _lookup(obj: dict[str, Any], key: str) -> Any:
    """``obj[key]``, or, for ``a.b.c``, ``obj["a"]["b"]["c"]`` (keys are matched case-sensitively first)."""
    if key in obj:
        return obj[key]
    current: Any = obj
    for part in key.split("."):
        if not isinstance(current, dict):
            return None
        if part in current:
            current = current[part]
        else:
            lowered = {k.lower(): v for k, v in current.items()}
            if part.lower() not in lowered:
                return None
            current = lowered[part.lower()]
    return current
