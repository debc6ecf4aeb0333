"""Try the catalogue on a log, in the spirit of ``fail2ban-regex``.

Which lines does each signature match, and which lines look like failures
but match none? The second list, grouped by masked template, is where new
signatures come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..catalogue.order import Catalogue
from ..common.masking import mask_messages, redact_tokens
from ..errors import FormatError
from ..formats.parsing import detect_format, get_format, load_formats, parse_chunk, split_lines
from ..sources.readers import Source, close_source, iter_line_blocks, open_source
from .chunk import match_failures

#: Words that make an unmatched line worth a look.
FAILURE_LOOKING = (r"(?i)\b(?:error|fail(?:ed|ure|s)?|denied|invalid|unauthori[sz]ed|forbidden|expired|"
                   r"reject(?:ed)?|mismatch|not allowed|untrusted)\b")


@dataclass(frozen=True)
class Trial:
    """What the catalogue made of one log.

    ``matched``: signature, cause, lines, first line number.
    ``missed``: template, lines, first line number, an example (redacted),
    for failure-looking lines no signature matched.
    """

    format: str
    lines: int
    matched: pd.DataFrame
    missed: pd.DataFrame


def try_signatures(path: Path, catalogue: Catalogue, *, format_name: str | None = None,
                   signature_id: str | None = None) -> Trial:
    """Run the catalogue over every line of ``path`` and report matches and misses.

    Parameters
    ----------
    path
        A log file (plain or gzip).
    catalogue
        The signatures (built-in plus the user's).
    format_name
        Force the format instead of detecting it.
    signature_id
        Report only this signature's matches.

    Raises
    ------
    FormatError
        If the format cannot be told, or is a token or configuration format.
    """
    formats = load_formats()
    stream = open_source(Source(str(path)))
    try:
        data = b"".join(iter_line_blocks(stream, block_size=8 << 20, keep_partial=True))
    finally:
        close_source(stream)
    lines = split_lines(data) if data else []
    fmt = get_format(format_name, formats) if format_name else detect_format(lines[:200], formats).format
    if fmt is None or fmt.kind not in ("regex", "json"):
        raise FormatError(f"{path}: not a log tokenaudit can try signatures on",
                          hint="force a log format with --input-format")
    parsed = parse_chunk(pa.array(lines, pa.string()), fmt, first_line_no=1, marker=None)
    records = parsed.records
    messages = redact_tokens(pc.fill_null(records.column("message"), ""))
    # as ingest matches: user text is not searched, a journal line written by `logger` is nobody's failure
    matched = match_failures(messages, records.column("process"), fmt, catalogue, writers=records.column("writer"))
    frame = pd.DataFrame({
        "line_no": records.column("line_no").to_numpy(),
        "signature": matched.column("signature").to_pandas(),
        "message": messages.to_pylist(),
    })
    by_id = catalogue.by_id
    hits = frame[frame["signature"].notna()]
    if signature_id:
        hits = hits[hits["signature"] == signature_id]
    matched_table = (
        hits.groupby("signature", sort=False)
        .agg(lines=("line_no", "size"), first_line=("line_no", "min"))
        .reset_index()
        .assign(cause=lambda f: f["signature"].map(lambda s: by_id[s].cause or "unclassified"))
        [["signature", "cause", "lines", "first_line"]]
        .sort_values("lines", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    unexplained = frame["signature"].isna() | frame["signature"].map(
        lambda s: isinstance(s, str) and by_id[s].kind == "envelope")
    raw = pa.array([lines[n - 1] for n in frame.loc[unexplained, "line_no"]], pa.string())
    looking = pc.match_substring_regex(raw, FAILURE_LOOKING).to_numpy(zero_copy_only=False)
    misses = frame.loc[unexplained].loc[looking]
    if misses.empty:
        missed_table = pd.DataFrame(columns=["template", "lines", "first_line", "example"])
    else:
        raw_texts = pa.array([lines[n - 1] for n in misses["line_no"]], pa.string())
        # The template is of the message (the line without its time and host) where the format has one.
        texts = pa.array([m or lines[n - 1] for m, n in zip(misses["message"], misses["line_no"], strict=True)],
                         pa.string())
        misses = misses.assign(template=mask_messages(texts).to_pylist(), example=redact_tokens(raw_texts).to_pylist())
        missed_table = (
            misses.groupby("template", sort=False)
            .agg(lines=("line_no", "size"), first_line=("line_no", "min"), example=("example", "first"))
            .reset_index()
            .sort_values("lines", ascending=False, kind="stable")
            .reset_index(drop=True)
        )
    return Trial(fmt.name, len(lines), matched_table, missed_table)
