"""From a chunk of lines to failure events: the pure core of ingest.

:func:`process_chunk` takes lines and context and returns events and line
accounting, touching no file and no global state, so that a process pool here,
or a distributed engine over a fleet's logs, can run it on any slice of any
file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..catalogue.identity import identity_of, suspicions
from ..catalogue.matching import match_messages
from ..catalogue.order import Catalogue
from ..catalogue.user_text import load_user_text, searchable_rows, searched_texts
from ..catalogue.word_model import guess_causes
from ..common.masking import cap_texts, redact_tokens
from ..common.timestamps import parse_timestamps
from ..formats.parsing import lines_array, parse_chunk
from ..models import LineAccount, LogFormat
from ..regex.prefilter import search_marker
from ..schema import EVENT_FIELDS, EVENT_SCHEMA
from ..tokens.sightings import TOKEN_COLUMNS, sightings_in_text, tokens_table

#: Columns of the per-hour request counts of access logs.
REQUEST_COLUMNS = ("hour", "format", "source_file", "host", "route", "status", "count")

#: Lines that may carry a token or a validator's claim printout.
TOKEN_MARKER = r"eyJ[A-Za-z0-9_-]{4,}\.|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{16,}|claims: map\["


@dataclass(frozen=True)
class ChunkContext:
    """Where a chunk comes from, and what its lines need to be read right."""

    source_file: str
    first_line_no: int = 1
    timezone: str = "UTC"
    reference_time: pd.Timestamp | None = None
    stream_id: str = ""
    batch_id: str = ""
    fingerprint_key: bytes | None = field(default=None, repr=False)
    #: Programs whose messages are never searched; the built-in list of ``data/user_text.toml`` if ``None``.
    echo_programs: frozenset[str] | None = None


@dataclass(frozen=True)
class ChunkResult:
    """Failure events of a chunk (``EVENT_SCHEMA`` columns), its line accounting, and its tokens.

    ``tokens`` has one row per token seen in the chunk (decoded claims and a
    keyed fingerprint, :data:`~tokenaudit.tokens.sightings.TOKEN_COLUMNS`); it
    is empty when the context carries no fingerprint key. Raw tokens never
    leave :func:`process_chunk`.
    """

    events: pa.Table
    account: LineAccount
    tokens: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(TOKEN_COLUMNS)))
    requests: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(REQUEST_COLUMNS)))


def process_chunk(
    lines: list[str] | pa.Array, fmt: LogFormat, catalogue: Catalogue, context: ChunkContext
) -> ChunkResult:
    """Parse a chunk of lines and keep the failure events.

    A line is a failure event when a signature recognises its message (an
    envelope such as Proxmox's ``authentication failure; …``, or a validator
    message at its start or after a known wrapper), or when it is an HTTP response the format
    marks as a refusal (pveproxy's 401 on a login endpoint). Messages are
    redacted before anything is captured from them.

    Parameters
    ----------
    lines
        The lines, without newlines.
    fmt
        Their format (``regex`` or ``json`` kind).
    catalogue
        The signatures.
    context
        Source name, first line number, time zone and reference time.

    Returns
    -------
    ChunkResult

    Examples
    --------
    >>> from tokenaudit.formats.parsing import load_formats
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> line = ("Mar  8 09:37:44 pve1 pvedaemon[12021]: authentication failure; "
    ...         "rhost=192.0.2.123 user=root@pam msg=Authentication failure")
    >>> result = process_chunk([line, "Mar  8 09:37:45 pve1 cron[1]: ok"],
    ...                        load_formats()["syslog_rfc3164"], load_catalogue(),
    ...                        ChunkContext("syslog", reference_time=pd.Timestamp("2025-04-01", tz="UTC")))
    >>> row = result.events.to_pylist()[0]
    >>> row["signature"], row["user"], str(row["ts"]), row["line_no"]
    ('proxmox.password_pam_failure', 'root@pam', '2025-03-08 09:37:44+00:00', 1)
    >>> result.account.read, result.account.parsed, result.account.events
    (2, 2, 1)
    """
    array = lines if isinstance(lines, pa.Array) else pa.array(lines, pa.string())
    marker = catalogue.marker(fmt.name, generic_search=fmt.generic_search, raw_json=fmt.kind == "json")
    if marker is not None and context.fingerprint_key is not None:
        marker = f"{marker}|{TOKEN_MARKER}"
    keywords = catalogue.keyword_marker(fmt.name, generic_search=fmt.generic_search, raw_json=fmt.kind == "json")
    gated = (keywords, load_user_text().failure_cue) if keywords is not None else None
    parsed = parse_chunk(array, fmt, first_line_no=context.first_line_no, marker=marker, gated=gated)
    account = parsed.account
    records = parsed.records
    tokens = _tokens(array, records, fmt, context)
    account.tokens = int(tokens["sightings"].sum()) if not tokens.empty else 0
    requests = _request_counts(parsed.counted if parsed.counted is not None else records, fmt, context) \
        if fmt.event_status else None
    if fmt.event_status and marker is not None:
        records = _worth_matching(records, marker, fmt)
    messages = redact_tokens(records.column("message").combine_chunks())
    matched = match_failures(messages, records.column("process"), fmt, catalogue, echo_programs=context.echo_programs,
                             writers=records.column("writer"))
    status = pc.cast(records.column("status"), pa.int32(), safe=False) if records.num_rows else pa.array([], pa.int32())
    rows = _Rows(records, matched, messages, status).take(_failures(matched, records, status, fmt))
    ts, ts_source, bad_time = _event_times(rows.records, fmt, context)
    if bad_time.any():
        count = int(bad_time.sum())
        account.parsed -= count
        account.rejected += count
        account.rejected_reasons["timestamp did not parse"] += count
        rows = rows.take(np.flatnonzero(~bad_time))
        ts, ts_source = ts[~bad_time], ts_source[~bad_time]
    records, matched, messages, status = rows.records, rows.matched, rows.messages, rows.status
    account.events = records.num_rows
    events = _event_table(records, matched, messages, status, ts, ts_source, fmt, context, catalogue.fingerprint)
    if requests is None:
        return ChunkResult(events, account, tokens)
    return ChunkResult(events, account, tokens, requests)


def process_block(block: bytes, fmt: LogFormat, catalogue: Catalogue, context: ChunkContext) -> ChunkResult:
    """:func:`process_chunk` of a block of whole lines as read from a file (split as ingest splits them).

    Examples
    --------
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> from tokenaudit.formats.parsing import get_format
    >>> result = process_block(
    ...     b"Nov 22 10:00:00 pve1 pvedaemon[1]: authentication failure; rhost=::ffff:192.0.2.1 "
    ...     b"user=root@pam msg=Authentication failure\\n",
    ...     get_format("syslog_rfc3164"), load_catalogue(), ChunkContext("syslog"))
    >>> result.account.read, result.events.num_rows
    (1, 1)
    """
    return process_chunk(lines_array(block), fmt, catalogue, context)


@dataclass(frozen=True)
class _Rows:
    """The candidate rows of a chunk, in four aligned parts."""

    records: pa.Table
    matched: pa.Table
    messages: pa.Array
    status: pa.Array

    def take(self, index: np.ndarray) -> _Rows:
        """The rows at ``index``, in every part."""
        take = pa.array(index, pa.int64())
        return _Rows(self.records.take(take), self.matched.take(take), self.messages.take(take), self.status.take(take))


def _worth_matching(records: pa.Table, marker: str, fmt: LogFormat) -> pa.Table:
    """An access log's records worth matching and redacting: those a signature could explain, and refusals.

    An access log parses every line, to count it; most are neither.
    """
    worth = pc.fill_null(search_marker(records.column("message").combine_chunks(), marker), False)
    status = pc.cast(records.column("status"), pa.int32(), safe=False)
    worth = pc.or_(worth, pc.fill_null(pc.is_in(status, pa.array(fmt.event_status, pa.int32())), False))
    return records.take(pa.array(np.flatnonzero(worth.to_numpy(zero_copy_only=False)), pa.int64()))


def _failures(matched: pa.Table, records: pa.Table, status: pa.Array, fmt: LogFormat) -> np.ndarray:
    """Positions of the failures: a signature matched, or (access logs) a refusal status on an event path."""
    keep = matched.column("signature").is_valid()
    if fmt.event_status and records.num_rows:
        http = pc.is_in(status, pa.array(fmt.event_status, pa.int32()))
        if fmt.event_path:
            http = pc.and_(http, pc.match_substring_regex(pc.fill_null(records.column("path"), ""), fmt.event_path))
        keep = pc.or_(keep, pc.fill_null(http, False))
    return np.flatnonzero(np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool))


def _event_times(records: pa.Table, fmt: LogFormat, context: ChunkContext) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Each record's time, where it came from (``line``, ``file_mtime``, ``ingest``), and which did not parse."""
    ts = parse_timestamps(records.column("ts_raw").to_pandas(), fmt.timestamp, timezone=context.timezone,
                          reference=context.reference_time)
    own_time = ts.notna().to_numpy()
    if fmt.timestamp == "any":  # a line of an unknown log without a time: the file's time, else now
        ts = ts.fillna(fallback_time(context))
    ts_source = np.where(own_time, "line", fallback_time_source(context)).astype(object)
    return ts, ts_source, ts.isna().to_numpy()


def match_failures(
    messages: pa.Array,
    processes: pa.Array | None,
    fmt: LogFormat,
    catalogue: Catalogue,
    *,
    echo_programs: frozenset[str] | None = None,
    writers: pa.Array | None = None,
) -> pa.Table:
    """Match redacted messages of ``fmt`` against the catalogue, searching only what no user controls.

    User-controlled spans are masked in the searched text, programs that echo
    user input are not searched (:mod:`tokenaudit.catalogue.user_text`), and a format
    whose writer is unknown (``generic_text``) gives at most ``medium``
    confidence: nothing vouches for the program that wrote its lines. Where
    the log names its writer in a field the writer cannot set (``writers``:
    journald's ``_COMM``), a line written by such a program (``logger``) is
    no failure of the software it claims to be, whatever its tag says.

    Examples
    --------
    >>> from tokenaudit.formats.parsing import load_formats
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> text = "Invalid audiences: `evil123` is not a trusted audience"
    >>> rows = match_failures(pa.array([f"Invalid user {text} from 10.0.0.9", text]), pa.array(["sshd", "app"]),
    ...                       load_formats()["syslog_rfc3164"], load_catalogue()).to_pylist()
    >>> rows[0]["signature"], rows[1]["signature"], rows[1]["confidence"]
    (None, 'openidconnect.untrusted_audience', 'high')
    """
    echo_programs = echo_programs if echo_programs is not None else load_user_text().echo_programs
    searchable = searchable_rows(processes, len(messages), echo_programs)
    if writers is not None and writers.null_count < len(writers):
        searchable &= searchable_rows(writers, len(messages), echo_programs)
    # Only what may be searched is masked (an sshd line of a busy syslog is never searched at all).
    search_texts = searched_texts(
        messages if searchable.all() else pc.if_else(pa.array(searchable), messages, pa.scalar(None, messages.type))
    ) if fmt.generic_search else None
    matched = match_messages(messages, catalogue, format_name=fmt.name, generic_search=fmt.generic_search,
                             search_texts=search_texts, searchable=searchable)
    if search_texts is not None:  # a failure nothing matched, in words no entry holds: the word model's guess
        matched = guess_causes(matched, search_texts, catalogue, searchable=searchable)
    if fmt.fallback:
        position = matched.column_names.index("confidence")
        capped = pc.if_else(pc.equal(matched.column("confidence"), "high"), "medium", matched.column("confidence"))
        matched = matched.set_column(position, "confidence", capped)
    matched = matched.append_column("identity", identity_of(processes, writers, len(messages)))
    return matched.append_column("suspicion", _suspicions(matched, processes, writers, catalogue, echo_programs))


def _suspicions(matched: pa.Table, processes: pa.Array | None, writers: pa.Array | None, catalogue: Catalogue,
                echo_programs: frozenset[str]) -> pa.Array:
    """Why each matched line is not its software's failure (:func:`tokenaudit.catalogue.identity.suspicions`).

    Only matched lines are looked at.
    """
    found = np.flatnonzero(np.asarray(matched.column("signature").is_valid().to_numpy(zero_copy_only=False),
                                      dtype=bool))
    reasons: list[str | None] = [None] * matched.num_rows
    if len(found) == 0 or (processes is None and writers is None):
        return pa.array(reasons, pa.string())
    take = pa.array(found, pa.int64())
    by_id = catalogue.by_id
    envelopes = matched.column("envelope").take(take).to_pylist()
    signatures = matched.column("signature").take(take).to_pylist()
    # The envelope's software wrote the line; a phrase names none, and then only the writer is checked.
    software = [by_id[e or s].software if (e or s) in by_id else "" for e, s in zip(envelopes, signatures, strict=True)]
    none = [None] * len(found)
    found_processes = processes.take(take).to_pylist() if processes is not None else none
    found_writers = writers.take(take).to_pylist() if writers is not None else none
    for row, reason in zip(found, suspicions(software, found_processes, found_writers, echo_programs), strict=True):
        reasons[row] = reason
    return pa.array(reasons, pa.string())


def fallback_time_source(context: ChunkContext) -> str:
    """Where the time of a line without a time of its own comes from: ``file_mtime`` or ``ingest``.

    A file's lines fall back on the file's modification time; standard input
    and pasted text, which have none, on the moment of the ingest.
    """
    return "file_mtime" if context.reference_time is not None else "ingest"


def fallback_time(context: ChunkContext) -> pd.Timestamp:
    """The time given to a line that carries none, at the dataset's precision (microseconds).

    A file system keeps modification times in nanoseconds; the dataset keeps
    microseconds, so the time is truncated, never rounded into the future.

    Examples
    --------
    >>> moment = pd.Timestamp(1796119200123456717, unit="ns", tz="UTC")
    >>> str(fallback_time(ChunkContext("pasted.txt", reference_time=moment)))
    '2026-12-01 10:00:00.123456+00:00'
    """
    moment = context.reference_time if context.reference_time is not None else pd.Timestamp.now(tz="UTC")
    return moment.floor("us")


def route_of(paths: pd.Series) -> pd.Series:
    """A request path without its query, ids folded to ``{id}``, for counting by route.

    Examples
    --------
    >>> route_of(pd.Series(["/api/v1/orders/42?x=1", "/u/3f2a9c4e-1b2c-4d5e-8f90-1234567890ab/keys",
    ...                     "/a/1/2"])).tolist()
    ['/api/v1/orders/{id}', '/u/{id}/keys', '/a/{id}/{id}']
    """
    routes = routes_array(pa.array(paths.astype("string").fillna("").tolist(), pa.string()))
    return pd.Series(routes.to_pylist(), index=paths.index, dtype="string")


_ID = r"/(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,})(/|$)"


def routes_array(paths: pa.Array) -> pa.Array:
    """:func:`route_of` over a pyarrow array, in RE2 (run twice: adjacent ids share a slash)."""
    routes = pc.replace_substring_regex(pc.fill_null(paths, ""), r"\?.*$", "")
    for _ in range(2):
        routes = pc.replace_substring_regex(routes, _ID, r"/{id}\1")
    return routes


#: The seconds (and fraction) of an ISO 8601 time; the offset after them is kept.
# A fraction beyond nanoseconds is left alone: such a time does not parse, here as in the events.
_ISO_SECONDS = r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}):\d{2}(?:[.,]\d{1,9})?(\D|$)"


def _routes_once(paths: pa.Array) -> pa.DictionaryArray:
    """:func:`routes_array`, folding each distinct path once (a busy log repeats its paths).

    The routes come back dictionary-encoded; two codes may stand for the same route.
    """
    if not pa.types.is_dictionary(paths.type):
        paths = pc.dictionary_encode(pc.fill_null(paths, ""))
    return pa.DictionaryArray.from_arrays(paths.indices, routes_array(paths.dictionary))


def _request_counts(records: pa.Table, fmt: LogFormat, context: ChunkContext) -> pd.DataFrame:
    """Requests per hour, host, route and status: the denominator of failure rates.

    Routes are folded in Arrow for every line; times are parsed once per
    distinct value (a busy log repeats each second many times) and mapped
    back; the counting itself is an Arrow group-by.
    """
    if records.num_rows == 0:
        return pd.DataFrame(columns=list(REQUEST_COLUMNS))
    ts_raw = records.column("ts_raw").combine_chunks()
    if fmt.timestamp == "iso8601":  # only the hour counts: drop seconds, so a minute is parsed once
        ts_raw = pc.replace_substring_regex(ts_raw, _ISO_SECONDS, r"\1:00\2")
    distinct = pc.unique(ts_raw)
    hours = parse_timestamps(distinct.to_pandas(), fmt.timestamp, timezone=context.timezone,
                             reference=context.reference_time).dt.floor("h")
    # From the Series, not its object-array ``to_numpy()``: that makes a Timestamp per value.
    hour_of_distinct = pa.Array.from_pandas(hours).cast(pa.timestamp("us", tz="UTC"))
    routes = _routes_once(records.column("path").combine_chunks())
    table = pa.table({
        "hour": hour_of_distinct.take(pc.index_in(ts_raw, distinct)),
        "host": pc.fill_null(records.column("host"), ""),
        "route": routes.indices,
        "status": pc.cast(records.column("status"), pa.int32(), safe=False),
    })
    keys = ["hour", "host", "route", "status"]
    # Count by route code first (integers, one per line), then by the route's text (a row per group).
    counted = table.group_by(keys, use_threads=False).aggregate([([], "count_all")])
    position = counted.column_names.index("route")
    counted = counted.set_column(position, "route", routes.dictionary.take(counted.column("route")))
    counted = counted.group_by(keys, use_threads=False).aggregate([("count_all", "sum")])
    frame = counted.select([*keys, "count_all_sum"]).rename_columns([*keys, "count"]).to_pandas()
    frame = frame.dropna(subset=["hour"]).astype({"status": "Int32", "count": "int64"})
    return frame.assign(format=fmt.name, source_file=context.source_file)[list(REQUEST_COLUMNS)]


def _tokens(lines: pa.Array, records: pa.Table, fmt: LogFormat, context: ChunkContext) -> pd.DataFrame:
    """Tokens on the parsed lines of a chunk, decoded and fingerprinted."""
    if context.fingerprint_key is None or records.num_rows == 0:
        return pd.DataFrame(columns=list(TOKEN_COLUMNS))
    line_no = records.column("line_no").to_numpy()
    raw = lines.take(pa.array(line_no - context.first_line_no, pa.int64()))
    carrying = np.flatnonzero(pc.match_substring_regex(raw, TOKEN_MARKER).to_numpy(zero_copy_only=False))
    if len(carrying) == 0:
        return pd.DataFrame(columns=list(TOKEN_COLUMNS))
    ts = parse_timestamps(
        records.column("ts_raw").take(pa.array(carrying, pa.int64())).to_pandas(),
        fmt.timestamp, timezone=context.timezone, reference=context.reference_time,
    )
    texts = raw.take(pa.array(carrying, pa.int64())).to_pylist()
    sightings = [
        sighting
        for text, number, moment in zip(texts, line_no[carrying], ts, strict=True)
        for sighting in sightings_in_text(text, where=context.source_file, line_no=int(number),
                                          ts=None if pd.isna(moment) else moment)
    ]
    return tokens_table(sightings, context.fingerprint_key)


def _event_table(
    records: pa.Table,
    matched: pa.Table,
    messages: pa.Array,
    status: pa.Array,
    ts: pd.Series,
    ts_source: np.ndarray,
    fmt: LogFormat,
    context: ChunkContext,
    catalogue_fingerprint: str,
) -> pa.Table:
    n = records.num_rows
    # From the Series, not its object-array ``to_numpy()``: that makes a Timestamp per event.
    # A time finer than the dataset's microseconds (a nanosecond fraction in the line) is truncated.
    utc = pa.timestamp("us", tz="UTC")
    ts_array = pa.Array.from_pandas(ts).cast(utc, safe=False) if n else pa.array([], utc)

    def constant(value: str) -> pa.Array:
        return pa.array([value] * n, pa.string())

    def coalesce(name: str) -> pa.Array:
        return pc.coalesce(matched.column(name), records.column(name)) if n else pa.array([], pa.string())

    signature = matched.column("signature")
    kind = pc.if_else(signature.is_valid(), "auth_failure", "http_denied") if n else pa.array([], pa.string())
    if n:  # a line whose writer contradicts its text is no failure of that software (tokenaudit.identity)
        kind = pc.if_else(matched.column("suspicion").is_valid(), "suspicious", kind)
    columns: dict[str, pa.Array] = {
        "ts": ts_array,
        "ts_source": pa.array(ts_source, pa.string()),
        "event_date": pc.strftime(ts_array, format="%Y-%m-%d") if n else pa.array([], pa.string()),
        "host": records.column("host"),
        "process": records.column("process"),
        "pid": records.column("pid"),
        "source_file": constant(context.source_file),
        "line_no": records.column("line_no"),
        "format": constant(fmt.name),
        "event_kind": kind,
        "client_addr": coalesce("client_addr"),
        "user": coalesce("user"),
        "realm": matched.column("realm"),
        "method": records.column("method"),
        "path": redact_tokens(records.column("path").combine_chunks()),  # a query string can carry tokens
        "status": status,
        "message": cap_texts(messages),
        "message_length": pc.utf8_length(messages) if n else pa.array([], pa.int64()),
        "envelope": matched.column("envelope"),
        "signature": signature,
        "tier": matched.column("tier"),
        "confidence": matched.column("confidence"),
        "writer": records.column("writer"),
        "identity": matched.column("identity"),
        "suspicion": matched.column("suspicion"),
    }
    for name in EVENT_FIELDS:  # a captured value is part of the message: bounded as it is
        columns.setdefault(name, cap_texts(matched.column(name)) if n else matched.column(name))
    columns["stream_id"] = constant(context.stream_id)
    columns["batch_id"] = constant(context.batch_id)
    columns["catalogue"] = constant(catalogue_fingerprint)
    table = pa.table({name: columns[name] for name in EVENT_SCHEMA.names})
    return table.cast(EVENT_SCHEMA)
