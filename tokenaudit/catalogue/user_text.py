"""Text a user controls inside log messages: masked before any search, or never searched.

A validator's message is looked for wherever a clause of a message begins
(:data:`tokenaudit.catalogue.positions.CLAUSE_START`), so what stops a user from
forging an event is the field the text stands in, not its position:

- the spans of ``data/user_text.toml`` (``user=…``, a quoted request line, …)
  are masked in the text that is searched;
- the messages of programs that echo user input (sshd, sudo, …) are not
  searched at all (:func:`searchable_rows`).

Envelope and whole-message signatures still read the message as written:
they match the software's own framing, and capture ``user=`` as a value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from re import _parser as sre_parse  # type: ignore[attr-defined]

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..common.datafiles import check_keys, package_data, read_toml
from ..errors import CatalogueError
from ..regex.lint import BACKTRACKING_HINT, lint_pattern, validate_regex
from .error_keys import failure_pattern

#: This package's TOML files.
DATA_DIR = package_data("tokenaudit.catalogue")

#: What a masked span of user text becomes in the searched text.
MASK = "…"


@dataclass(frozen=True)
class UserText:
    """The user-controlled spans of messages, the programs that echo user input, and the failure cue.

    ``failure_cue`` is the regex of a text that reports a failure: the data
    file's cue or a key naming an error, composed once by
    :func:`.error_keys.failure_pattern`. The software's text before a clause
    must match it for a validator's text found at that clause to count
    (:func:`tokenaudit.catalogue.matching.match_messages`). ``empty_error``
    matches an error field that holds nothing (``"error":null``): a message
    holding one reports no failure by it (:func:`~tokenaudit.catalogue.positions.reports_failure`).
    """

    spans: tuple[tuple[str, str, str], ...]  # (id, pattern, kept_after: words after which a match is not masked)
    echo_programs: frozenset[str]
    failure_cue: str = ""
    empty_error: str = ""


def read_user_text(path: Path) -> UserText:
    """Read and check a user-text file (``data/user_text.toml``).

    Each span compiles in RE2, passes the backtracking lint, has one or two
    groups (the kept key, and words kept after the value) and turns each
    sample into its ``masked`` text. A span's optional ``kept_after`` names
    the words (a regex) right after which a match is the software's text,
    not the user's, and stays as it is.

    Raises
    ------
    CatalogueError
        On the first entry that breaks a rule.
    """
    data = read_toml(path)
    check_keys(data, required=("echo", "span", "failure_cue", "empty_error"), optional=(), path=str(path))
    check_keys(data["echo"], required=("programs", "source"), optional=(), path=str(path), where="echo")
    cue = _read_failure_cue(data["failure_cue"], path)
    empty = _read_empty_error(data["empty_error"], cue, path)
    spans = []
    for entry in data["span"]:
        check_keys(entry, required=("id", "pattern", "source", "sample"), optional=("kept_after",), path=str(path),
                   where=str(entry.get("id", "?")))
        sid, pattern, kept_after = str(entry["id"]), str(entry["pattern"]), str(entry.get("kept_after", ""))
        if problem := validate_regex(pattern) or (validate_regex(kept_after) if kept_after else None):
            raise CatalogueError(f"span is not a usable regex: {problem}", path=str(path), signature_id=sid)
        if problems := lint_pattern(pattern):
            raise CatalogueError(f"span could backtrack catastrophically: {problems[0]}", path=str(path),
                                 signature_id=sid, hint=BACKTRACKING_HINT)
        if _groups(pattern) not in (1, 2):
            raise CatalogueError("a span has one or two groups: the key it keeps, and words kept after the value",
                                 path=str(path), signature_id=sid)
        for sample in entry["sample"]:
            got = _mask_one(pa.array([sample["message"]], pa.string()), pattern, kept_after)[0].as_py()
            if got != sample["masked"]:
                raise CatalogueError(f"sample masks to {got!r}, not {sample['masked']!r}", path=str(path),
                                     signature_id=sid)
        spans.append((sid, pattern, kept_after))
    programs = frozenset(str(name).lower() for name in data["echo"]["programs"])
    return UserText(tuple(spans), programs, cue, empty)


def _read_failure_cue(entry: dict[str, object], path: Path) -> str:
    """The regex of a text that reports a failure: the entry's cue or an error key; each sample is checked on it."""
    check_keys(entry, required=("pattern", "source", "sample"), optional=(), path=str(path), where="failure_cue")
    pattern = str(entry["pattern"])
    if problem := validate_regex(pattern):
        raise CatalogueError(f"failure_cue is not a usable regex: {problem}", path=str(path))
    reports = failure_pattern(pattern)  # the cue as every use reads it, error keys included
    for sample in entry["sample"]:  # type: ignore[attr-defined]
        got = bool(pc.match_substring_regex(pa.array([sample["prefix"]], pa.string()), reports)[0].as_py())
        if got != bool(sample["match"]):
            raise CatalogueError(f"failure_cue {'misses' if sample['match'] else 'matches'} {sample['prefix']!r}",
                                 path=str(path))
    return reports


def _read_empty_error(entry: dict[str, object], cue: str, path: Path) -> str:
    """The pattern of an error field that holds nothing; each sample says whether its text still reports a failure."""
    check_keys(entry, required=("pattern", "source", "sample"), optional=(), path=str(path), where="empty_error")
    pattern = str(entry["pattern"])
    if problem := validate_regex(pattern):
        raise CatalogueError(f"empty_error is not a usable regex: {problem}", path=str(path))
    for sample in entry["sample"]:  # type: ignore[attr-defined]
        cleared = pc.replace_substring_regex(pa.array([sample["text"]], pa.string()), pattern, " ")
        got = bool(pc.match_substring_regex(cleared, cue)[0].as_py())
        if got != bool(sample["reports"]):
            raise CatalogueError(f"empty_error: {sample['text']!r} {'reports' if got else 'does not report'} a "
                                 "failure", path=str(path))
    return pattern


@cache
def load_user_text() -> UserText:
    """The built-in user-text rules (``data/user_text.toml``)."""
    return read_user_text(DATA_DIR / "user_text.toml")


def mask_user_text(messages: pa.Array, rules: UserText | None = None) -> pa.Array:
    """The messages with every user-controlled span masked, for searching.

    Examples
    --------
    >>> msg = "authentication failure; rhost=::ffff:10.0.0.5 user=Invalid@pve msg=no such user"
    >>> mask_user_text(pa.array([msg])).to_pylist()
    ['authentication failure; rhost=… user=… msg=no such user']
    """
    rules = rules or load_user_text()
    masked = pc.fill_null(messages, "")
    for _, pattern, kept_after in rules.spans:
        masked = _mask_one(masked, pattern, kept_after)
    return masked


def searched_texts(messages: pa.Array) -> pa.Array:
    """The messages as the catalogue searches them: the user's spans masked (:func:`mask_user_text`), then their
    escaped strings read (:func:`unescape_strings`).

    Examples
    --------
    >>> searched_texts(pa.array(['{"error":"token \\"x\\" expired"}'])).to_pylist()
    ['{"error":"token "x" expired"}']
    """
    return unescape_strings(mask_user_text(messages))


#: HTML's escapes as an error page writes a message (Express's default error handler: ``<pre>InvalidTokenError:
#: Unexpected &#39;aud&#39; value<br> &nbsp; &nbsp;at …``), each with the text it stands for; ``&amp;`` last.
HTML_ESCAPES = (("<br>", "\n"), ("<br/>", "\n"), ("<br />", "\n"), ("&nbsp;", " "), ("&#39;", "'"), ("&#x27;", "'"),
                ("&apos;", "'"), ("&#34;", '"'), ("&quot;", '"'), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
#: Typographic quotes, as forums, chat tools and word processors turn the quotes of a pasted message, each with the
#: quote the software wrote: ``Invalid ‘iss’ claim`` reads as ``Invalid 'iss' claim``.
TYPOGRAPHIC_QUOTES = (("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'))
#: Every rewrite :func:`unescape_strings` makes in the texts that hold one, HTML's ``&amp;`` last.
_REWRITES = TYPOGRAPHIC_QUOTES + HTML_ESCAPES
_REWRITTEN = "|".join(escape for escape, _ in _REWRITES)  # none of them holds a character special to a regex


def unescape_strings(texts: pa.Array) -> pa.Array:
    """Texts with the escapes of a JSON or logfmt string and of HTML undone, for searching.

    A validator's message logged as a string value (``error="missing required key \\"aud\\" among claims"``,
    ``"exc_info": "Traceback …\\njose.exceptions.JWTError: …"``) reads as the validator wrote it, and so does
    one an error page wrote in HTML (:data:`HTML_ESCAPES`), and one whose quotes a forum or a word processor
    made typographic (:data:`TYPOGRAPHIC_QUOTES`). Applied after :func:`mask_user_text`, which needs the quotes
    as the line has them, so text a user wrote is masked before any escape of it is undone. HTML and typographic
    quotes are undone only in the texts that hold one (one literal pass over the chunk finds them).

    Examples
    --------
    >>> unescape_strings(pa.array(['error="missing key \\\\"aud\\\\" among claims"'])).to_pylist()
    ['error="missing key "aud" among claims"']
    >>> unescape_strings(pa.array(["<pre>InvalidTokenError: Unexpected &#39;aud&#39; value<br> &nbsp;at"])).to_pylist()
    ["<pre>InvalidTokenError: Unexpected 'aud' value\\n  at"]
    >>> unescape_strings(pa.array(["Invalid \u2018iss\u2019 claim", "no quote"])).to_pylist()
    ["Invalid 'iss' claim", 'no quote']
    """
    texts = pc.replace_substring(pc.replace_substring(texts, '\\"', '"'), "\\n", "\n")
    holding = pc.fill_null(pc.match_substring_regex(texts, _REWRITTEN), False)
    if not pc.any(holding).as_py():
        return texts
    if isinstance(texts, pa.ChunkedArray):  # replace_with_mask takes one array
        texts, holding = texts.combine_chunks(), holding.combine_chunks()
    pages = pc.filter(texts, holding)
    for escape, text in _REWRITES:
        pages = pc.replace_substring(pages, escape, text)
    return pc.replace_with_mask(texts, holding, pages)


def searchable_rows(processes: pa.Array | None, n: int, echo_programs: Iterable[str] | None = None) -> np.ndarray:
    """Which of ``n`` messages may be searched: those not written by a program that echoes user input.

    Parameters
    ----------
    processes
        The program name of each message (syslog tag, journal identifier),
        or ``None`` where the format has none.
    n
        The number of messages.
    echo_programs
        Program names never searched; the built-in list by default.

    Examples
    --------
    >>> searchable_rows(pa.array(["sshd", "pvedaemon", None, "/usr/sbin/sshd"]), 4).tolist()
    [False, True, True, False]
    """
    if processes is None:
        return np.ones(n, dtype=bool)
    names = frozenset(echo_programs) if echo_programs is not None else load_user_text().echo_programs
    if isinstance(processes, pa.ChunkedArray):
        processes = processes.combine_chunks()
    base = pc.utf8_lower(pc.replace_substring_regex(pc.fill_null(processes, ""), r"^.*/(\w)", r"\1"))
    # "postfix/smtpd" keeps its folder: compare both the whole name and its last part
    whole = pc.utf8_lower(pc.fill_null(processes, ""))
    listed = pa.array(sorted(names), pa.string())
    echoes = pc.or_(pc.is_in(base, listed), pc.is_in(whole, listed))
    return ~np.asarray(echoes.to_numpy(zero_copy_only=False), dtype=bool)


@cache
def _groups(pattern: str) -> int:
    """How many capturing groups ``pattern`` has (parsed, not counted by characters: ``[(]`` is none).

    Parsed once per pattern: every chunk masks with the same few dozen.
    """
    return int(sre_parse.parse(pattern).state.groups) - 1


#: Stands for the blank after a ``kept_after`` word while its span masks (a private-use character): no span's word
#: is followed by it, so none matches there; it is a blank again afterwards.
_SHIELD = "\ue000"


def _mask_one(messages: pa.Array, pattern: str, kept_after: str = "") -> pa.Array:
    if kept_after:
        messages = pc.replace_substring_regex(messages, f"(\\b(?:{kept_after})) ", "\\1" + _SHIELD)
    masked = pc.replace_substring_regex(messages, pattern, "\\1" + MASK + ("\\2" if _groups(pattern) == 2 else ""))
    return pc.replace_substring(masked, _SHIELD, " ") if kept_after else masked
