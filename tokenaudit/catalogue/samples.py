"""Check the catalogue against its samples, and read annotated sample logs.

Two kinds of samples keep the catalogue honest (see the README):

* samples inside each signature and format definition: messages that must
  (or must not) match, with the values they must capture;
* annotated logs in ``sample_logs/<format>/``: real-shaped files whose
  ``#@ expect: {...}`` lines say which event the next line must give. A line
  with no annotation must give no event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..formats.parsing import RECORD_COLUMNS, count_fields, detect_format, load_formats
from ..models import LogFormat, Signature, SignatureSample
from ..regex.lint import begins_with_own_text, lint_pattern
from .matching import match_messages
from .order import Catalogue
from .positions import clause_pattern, keyword_pattern, reports_failure
from .user_text import searched_texts

ANNOTATION = "#@ "


@dataclass(frozen=True)
class Problem:
    """A catalogue problem: where, what, and the text concerned."""

    where: str
    message: str
    text: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" + (f"\n    text: {self.text}" if self.text else "")


def _sample_pattern(signature: Signature) -> str:
    """The pattern a sample is checked with: a phrase or a keyword as the matcher looks for it."""
    if signature.tier == "phrase":
        return clause_pattern(signature.pattern)
    if signature.tier == "keyword":
        return keyword_pattern(signature.pattern)
    return signature.pattern


def _captures(signature: Signature, text: str) -> dict[str, str] | None:
    array = pa.array([text], pa.string())
    if signature.tier == "keyword" and not reports_failure(array)[0]:
        return None  # a keyword counts only in a text that reports a failure
    pattern = _sample_pattern(signature)
    if not signature.fields:
        return {} if pc.match_substring_regex(array, pattern)[0].as_py() else None
    extracted = pc.extract_regex(array, pattern)
    if not extracted[0].is_valid:
        return None
    return {k: v for k, v in extracted[0].as_py().items() if v}


def check_signature_lint(signature: Signature) -> list[Problem]:
    """Lint one pattern: anchoring, and constructs that could backtrack catastrophically.

    A whole-message signature must be anchored at both ends. A ``search``
    signature is anchored by the matcher (at the message start or after a
    wrapper), so it must begin with its own fixed text: neither ``^`` nor a
    wildcard that could swallow user text. The loader refuses the same
    patterns; this lists them for catalogues built in code. (A search
    signature's captures are checked against its pattern alone;
    :func:`check_samples_fire` then reads each sample through the matcher,
    where it is found only at a message's start, after a wrapper or at a
    clause.)

    Examples
    --------
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> check_signature_lint(load_catalogue().by_id["proxmox.password_invalid"])
    []
    """
    where = f"{signature.path}: {signature.id}"
    problems = []
    if not signature.search and not (signature.pattern.startswith("^") and signature.pattern.endswith("$")):
        problems.append(Problem(where, "a whole-message pattern must start with ^ and end with $", signature.pattern))
    if signature.search and (signature.pattern.startswith("^") or not begins_with_own_text(signature.pattern)):
        problems.append(Problem(where, "a search pattern must begin with fixed text (no ^, no wildcard)",
                                signature.pattern))
    problems += [Problem(where, f"could backtrack catastrophically: {reason}", signature.pattern)
                 for reason in lint_pattern(signature.pattern)]
    return problems


def check_catalogue(catalogue: Catalogue) -> list[Problem]:
    """Check every signature against its samples and against the others.

    Checks: at least one positive sample; each positive sample matches its
    signature, captures exactly ``expect``, and matches no other signature of
    its kind; no negative sample matches its signature; patterns pass the
    lint; every envelope explains at least one cause signature; each positive
    sample of a ``search`` signature gives its cause through the matcher
    (:func:`check_samples_fire`). The overlap check runs each pattern once
    over all positive samples; a family's later search signature may match
    an earlier one's sample (specific texts stand before general ones, and
    the earlier is tried first), as a later phrase may, and a ``coarse``
    entry (a software's catch-all text, tried after all others) any sample
    of an entry that is not.

    Returns
    -------
    list of Problem
        Empty when the catalogue is sound.
    """
    problems: list[Problem] = []
    positives = [(signature, number, sample) for signature in catalogue.signatures
                 for number, sample in enumerate(signature.samples) if sample.match]
    texts = pa.array([sample.message for _, _, sample in positives], pa.string())
    matched_by: dict[int, list[str]] = {}
    order = {signature.id: number for number, signature in enumerate(catalogue.signatures)}
    for other in catalogue.signatures:
        hits = pc.match_substring_regex(texts, _sample_pattern(other)).to_numpy(zero_copy_only=False)
        for position in np.flatnonzero(hits):
            owner = positives[position][0]
            if owner.id == other.id or owner.kind != other.kind or owner.tier != other.tier:
                continue  # a phrase may well match a signature's text: it is the fallback for it
            if owner.tier != "signature" and (other.cause == owner.cause or order[other.id] > order[owner.id]):
                continue  # phrases (and keywords) are tried in order: only an earlier one of another cause counts
            if owner.search and other.search and other.family == owner.family and order[other.id] > order[owner.id]:
                continue  # a family's specific text before its general one: tried first (check_samples_fire proves it)
            if other.coarse and not owner.coarse:
                continue  # a catch-all text is tried after every other (check_samples_fire proves the other wins)
            matched_by.setdefault(int(position), []).append(other.id)
    for index, (signature, number, sample) in enumerate(positives):
        if index in matched_by:
            label = f"{signature.path}: {signature.id}[sample{number}]"
            problems.append(Problem(label, f"also matched by {', '.join(matched_by[index])}", sample.message))
    for signature in catalogue.signatures:
        where = f"{signature.path}: {signature.id}"
        problems += check_signature_lint(signature)
        if not any(s.match for s in signature.samples):
            problems.append(Problem(where, "no positive sample"))
        if signature.kind == "envelope" and not catalogue.explainers(signature):
            problems.append(Problem(where, "explains no cause signature"))
        for number, sample in enumerate(signature.samples):
            label = f"{where}[sample{number}]"
            got = _captures(signature, sample.message)
            if sample.match:
                if got is None:
                    problems.append(Problem(label, "sample not matched by its own pattern", sample.message))
                elif got != sample.expect:
                    problems.append(Problem(label, f"captures {got} differ from expected {sample.expect}",
                                            sample.message))
            elif got is not None:
                problems.append(Problem(label, "must not match, but does", sample.message))
    return problems + check_samples_fire(catalogue)


def check_samples_fire(catalogue: Catalogue) -> list[Problem]:
    """Read each positive sample of a ``search`` signature as a line of generic text: it must give its cause.

    The pattern alone matching a sample proves little: the matcher looks for a
    signature only at a message's start, after a wrapper (a logger's header)
    or at a clause after a failure cue, and an earlier signature may take the
    line. A sample the matcher does not answer with its signature's cause (its
    own signature or another of the same cause) is a signature that would not
    fire on the line as logged: a quote whose framing no software writes, a
    pattern that holds a logger's header, or a header no wrapper reads.

    Examples
    --------
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> check_samples_fire(load_catalogue())
    []
    """
    positives = _positive_samples(catalogue, tiers=("signature",))
    if not positives:
        return []
    answers = _read_as_lines(catalogue, [sample.message for _, _, sample in positives], masked=False)
    problems: list[Problem] = []
    for (signature, number, sample), given in zip(positives, answers, strict=True):
        if given is not None and given.cause == signature.cause:
            continue
        what = "no event" if given is None else f"{given.id} ({given.cause})"
        problems.append(Problem(f"{signature.path}: {signature.id}[sample{number}]",
                                f"read as a line of generic text, it gives {what}, not {signature.cause}",
                                sample.message))
    return problems


def samples_lost_to_masking(catalogue: Catalogue, files: Iterable[str | Path] | None = None) -> list[Problem]:
    """Positive samples the matcher answers with their cause as written, but not once the user's spans are masked.

    A real line is searched with the user's spans masked
    (:func:`~tokenaudit.catalogue.user_text.searched_texts`), so an entry
    whose words a span covers (a quoted reason, a ``host=`` or a path it
    needs) never fires on the line as logged, though :func:`check_samples_fire`,
    which reads the sample as written, passes. Some are deliberate trades
    against forgery (a quote in prose is masked even where software wrote
    it); each is a sample that proves less than it seems.

    Parameters
    ----------
    catalogue
        The catalogue whose samples are read.
    files
        Only the samples of the entries these signature files define (a
        user's own files, as ``tokenaudit signatures check`` reads them);
        every entry's by default.

    Examples
    --------
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> lost = samples_lost_to_masking(load_catalogue())
    >>> any(p.where.endswith("phrase.idp_endpoint_unreachable_python[sample0]") for p in lost)
    True
    >>> samples_lost_to_masking(load_catalogue(), files=[])
    []
    """
    positives = _positive_samples(catalogue, tiers=("signature", "phrase", "keyword"))
    if files is not None:
        chosen = {Path(path).resolve() for path in files}
        positives = [entry for entry in positives if Path(entry[0].path).resolve() in chosen]
    messages = [sample.message for _, _, sample in positives]
    as_written = _read_as_lines(catalogue, messages, masked=False)
    as_searched = _read_as_lines(catalogue, messages, masked=True)
    problems: list[Problem] = []
    for (signature, number, sample), written, searched in zip(positives, as_written, as_searched, strict=True):
        if written is not None and written.cause == signature.cause and (
                searched is None or searched.cause != signature.cause):
            what = "no event" if searched is None else f"{searched.id} ({searched.cause})"
            problems.append(Problem(f"{signature.path}: {signature.id}[sample{number}]",
                                    f"with the user's spans masked, as a real line is searched, it gives {what}",
                                    sample.message))
    return problems


def _positive_samples(catalogue: Catalogue, *, tiers: tuple[str, ...]) -> list[tuple[Signature, int, SignatureSample]]:
    """The positive samples of the ``search`` entries of ``tiers`` (no envelope), each with its entry and number."""
    return [(signature, number, sample) for signature in catalogue.signatures
            if signature.search and signature.kind != "envelope" and signature.tier in tiers
            for number, sample in enumerate(signature.samples) if sample.match]


def _read_as_lines(catalogue: Catalogue, messages: list[str], *, masked: bool) -> list[Signature | None]:
    """The entry the matcher answers each of ``messages`` with, read as a line of generic text.

    ``masked``: with the user's spans masked, as a real line is searched; else as written.
    """
    texts = pa.array(messages, pa.string())
    answers = match_messages(texts, catalogue, format_name="generic_text", generic_search=True,
                             search_texts=searched_texts(texts) if masked else None).column("signature").to_pylist()
    return [catalogue.by_id[answer] if answer else None for answer in answers]


def check_formats(formats: dict[str, LogFormat] | None = None) -> list[Problem]:
    """Check every format against its sample lines.

    Each sample must match ``detect`` and ``pattern`` (json formats: parse),
    capture exactly ``expect``, and be detected as its own format; a
    ``count_pattern`` (or a ``flat`` JSON format's key reading) must give the
    same time, path and status as ``pattern`` (the JSON parse).
    """
    formats = formats or load_formats()
    problems: list[Problem] = []
    for fmt in formats.values():
        if not fmt.samples:
            problems.append(Problem(fmt.path, "no sample lines"))
        for number, sample in enumerate(fmt.samples):
            label = f"{fmt.path}[sample{number}]"
            if not pc.match_substring_regex(pa.array([sample.line]), fmt.detect)[0].as_py():
                problems.append(Problem(label, "detect does not match the sample", sample.line))
            if fmt.kind == "config":
                continue
            if fmt.kind == "tokens":
                from ..tokens.sightings import sightings_in_document

                found, bad = sightings_in_document([sample.line], fmt.name, source="sample")
                if not found or bad:
                    problems.append(Problem(label, f"no token found ({bad} unreadable lines)", sample.line))
                continue
            got = _format_captures(fmt, sample.line)
            if (fmt.count_pattern or fmt.flat) and got is not None:
                rows = count_fields(pa.array([sample.line]), fmt).to_pylist()
                counted = {("ts" if k == "ts_raw" else k): v for k, v in rows[0].items()} if rows else {}
                groups = f"{fmt.count_pattern} {fmt.request_path or ''}"
                for field in ("ts", "path", "status", "host"):
                    if ((f"(?P<{field}>" in groups or field in fmt.fields)
                            and (counted.get(field) or None) != (got.get(field) or None)):
                        problems.append(Problem(label, f"count_pattern gives {field}={counted.get(field)!r}, "
                                                       f"pattern {got.get(field)!r}", sample.line))
                if not counted:
                    problems.append(Problem(label, "count_pattern does not match the sample", sample.line))
            if got != sample.expect:
                problems.append(Problem(label, f"captures {got} differ from expected {sample.expect}", sample.line))
            detected = detect_format([sample.line], formats).format
            if detected is None or detected.name != fmt.name:
                problems.append(Problem(label, f"detected as {detected.name if detected else 'nothing'}", sample.line))
    return problems


def _format_captures(fmt: LogFormat, line: str) -> dict[str, str] | None:
    from ..formats.parsing import parse_chunk

    chunk = parse_chunk(pa.array([line], pa.string()), fmt, first_line_no=1, marker=None)
    if chunk.records.num_rows != 1:
        return None
    row = chunk.records.to_pylist()[0]
    got = {("ts" if k == "ts_raw" else k): v for k, v in row.items() if k in RECORD_COLUMNS and v not in (None, "")}
    if fmt.kind == "regex" and fmt.pattern:
        extracted = pc.extract_regex(pa.array([line]), fmt.pattern)[0].as_py() or {}
        got.update({k: v for k, v in extracted.items() if v and k not in got and k != "ts"})
    return got


@dataclass
class AnnotatedLog:
    """A sample log: its lines, the expectation for each annotated line, and file settings."""

    path: Path
    lines: list[str]
    expectations: dict[int, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def read_annotated_log(path: Path) -> AnnotatedLog:
    """Read a sample log with its ``#@`` annotations.

    ``#@ file: {...}`` sets ``mtime`` (the reference time for year-less
    timestamps) and ``timezone``; ``#@ expect: {...}`` applies to the next
    line that is not an annotation; ``#@ note:`` is free text.

    Raises
    ------
    ValueError
        If an annotation is not valid JSON or is followed by no line.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    log = AnnotatedLog(path, lines)
    pending: dict[str, Any] | None = None
    for number, line in enumerate(lines, start=1):
        if line.startswith(ANNOTATION):
            key, _, value = line[len(ANNOTATION) :].partition(":")
            if key == "expect":
                pending = json.loads(value)
            elif key == "file":
                log.settings.update(json.loads(value))
            elif key != "note":
                raise ValueError(f"{path}:{number}: unknown annotation {key!r}")
            continue
        if pending is not None:
            log.expectations[number] = pending
            pending = None
    if pending is not None:
        raise ValueError(f"{path}: the last annotation is followed by no line")
    return log
