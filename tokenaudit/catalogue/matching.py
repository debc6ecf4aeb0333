"""Matching messages against the catalogue: which signature, phrase or keyword each message gives.

The catalogue is loaded by :mod:`tokenaudit.catalogue.loading`, ordered by
:mod:`tokenaudit.catalogue.order`; where in a message a pattern may start is
:mod:`tokenaudit.catalogue.positions`.

Matching is two-level. An *envelope* signature recognises the failure line of
some software (``openid authentication failure; rhost=… msg=…``) and hands
its ``detail`` to the *cause* signatures it ``explains``. A cause signature
marked ``search`` is also looked for in a message of a format whose
messages the software writes itself (syslog, journal), which is how a
validator's text wrapped by another program is still found; it is anchored
at the start of the message or after a chain of *wrappers*
(``data/wrappers.toml``, software-written framing such as ``[lua]
openidc.lua:12: authenticate(): ``), never anywhere, so that text a user
wrote into a line (a username, a path) cannot forge an event. A cause
signature whose ``applies_to`` names formats (not ``*``) and is not ``search``
matches the whole message field of those formats directly (Envoy's response
code details in its access log).

Cause first, software second: a ``search`` signature that does not begin the
message is still found where software begins a clause (after ``: ``,
``, ``, ``] ``, ``-> ``, ``msg=``, ``err=``, a quote, a new line: see
:data:`~tokenaudit.catalogue.positions.CLAUSE_START`), since applications write their own words, logger
headers and error chains before a validator's text. After the signatures
come the *phrases* of ``data/phrases.toml``: the words every library uses
for a cause ("token is expired", "invalid audience"), case-insensitive,
found at the start of a message or of a clause. Each match says how it was
found (``tier``: signature, phrase, keyword or words) and how far it can be trusted
(``confidence``, see :func:`confidence_of`). Last come the *keywords* of
``data/keywords.toml``: a pair of words that states a cause ("aud ... invalid",
"password ... incorrect") anywhere in a message that reports a failure
(:func:`~tokenaudit.catalogue.positions.reports_failure`), for the applications that say it in words of
their own; a message nothing matched is read once more for them with its
identifiers split into words and its long values shortened
(:mod:`tokenaudit.catalogue.wording`). A failure nothing matched can then be
read by the *word model* of the catalogue's samples
(:func:`tokenaudit.catalogue.word_model.guess_causes`, a step of its own after
this one). What keeps a user's text from
making an event is not the position but the field: user-controlled parts
of a message are masked before the search (the formats' ``user_text``),
and programs that echo user input are never searched (``searchable``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..models import Signature
from ..schema import EVENT_FIELDS
from .literals import LiteralIndex, folds_case
from .order import Catalogue
from .positions import anchored_pattern, clause_pattern, keyword_pattern, reports_failure, wrapper_start
from .wording import as_words

#: Columns :func:`match_messages` returns besides the fields.
MATCH_COLUMNS = ("envelope", "signature", "tier", "confidence")

#: How far an event's cause can be trusted, strongest first (the ``confidence`` column).
CONFIDENCES = ("high", "medium", "low")


def match_messages(
    messages: pa.Array,
    catalogue: Catalogue,
    *,
    format_name: str,
    generic_search: bool,
    search_texts: pa.Array | None = None,
    searchable: np.ndarray | None = None,
) -> pa.Table:
    """Match messages against the catalogue.

    Parameters
    ----------
    messages
        Message texts (the part of a log line its software wrote).
    catalogue
        The signatures and phrases.
    format_name
        The messages' log format; decides which signatures apply.
    generic_search
        Whether ``search`` signatures and phrases are looked for in messages
        no envelope recognised (true for formats whose messages no user
        controls as a whole).
    search_texts
        The same messages with their user-controlled parts masked
        (:func:`tokenaudit.catalogue.user_text.mask_user_text`); searched instead of
        ``messages``. Envelopes and whole-message signatures read
        ``messages``.
    searchable
        Which messages may be searched at all (``False`` for a program that
        echoes user input, such as sshd); all by default.

    Returns
    -------
    pyarrow.Table
        One row per message: ``envelope`` (id or null), ``signature`` (the
        cause signature's or phrase's id, else the envelope's, else null),
        ``tier`` (``signature``, ``phrase`` or ``keyword``), ``confidence``
        (:func:`confidence_of`) and one column per :data:`EVENT_FIELDS` entry.

    Examples
    --------
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> msg = ("openid authentication failure; rhost=10.0.0.9 msg=Failed to verify ID token: "
    ...        "Invalid audiences: `377572587972067335` is not a trusted audience")
    >>> rows = match_messages(pa.array([msg, "cron ok", "auth: rejecting request -> Token is expired"]),
    ...                       load_catalogue(), format_name="syslog_rfc3164", generic_search=True).to_pylist()
    >>> rows[0]["signature"], rows[0]["audience"], rows[0]["client_addr"], rows[0]["confidence"]
    ('openidconnect.untrusted_audience', '377572587972067335', '10.0.0.9', 'high')
    >>> rows[1]["signature"] is None
    True
    >>> rows[2]["tier"], rows[2]["confidence"]
    ('phrase', 'medium')
    """
    if isinstance(messages, pa.ChunkedArray):
        messages = messages.combine_chunks()
    n = len(messages)
    found = _Found(n)
    texts = pc.fill_null(messages, "")
    written = _Texts(texts, _Plain(texts, catalogue.literals))
    searched = written
    if search_texts is not None:
        masked = pc.fill_null(search_texts.combine_chunks() if isinstance(search_texts, pa.ChunkedArray)
                              else search_texts, "")
        searched = _Texts(masked, _Plain(masked, catalogue.literals))
    todo = np.arange(n)  # messages no signature has matched yet
    narrowed = searchable is None
    steps = catalogue.steps(format_name, generic_search=generic_search)
    # Only the steps whose literals these texts hold, in order: the others would match nothing.
    possible = catalogue.step_index(format_name, generic_search=generic_search).possible(
        lambda masked, fold: (searched if masked else written).plain.literals_found(fold))

    for step in (steps[number] for number in possible):
        if step.searched and not narrowed:  # the searched steps come last; programs that echo input drop out
            todo = todo[np.asarray(searchable, dtype=bool)[todo]]
            narrowed = True
        if len(todo) == 0:
            break
        texts_of = searched if step.searched else written
        hits, captures = _match(texts_of.array, todo, step.signature, texts_of.plain, step.where)
        if texts_of is not written and captures:
            captures = _unmasked(captures, hits, written, step.signature, step.where)
        todo = _settle(todo, hits)
        found.put(hits, step.signature, captures, step.where)
        if step.signature.kind == "envelope":
            found.envelope[hits] = step.signature.id
            if len(hits):
                _explain(found, hits, step.signature, catalogue)

    if generic_search and len(todo):
        if not narrowed:
            todo = todo[np.asarray(searchable, dtype=bool)[todo]]
        _match_keywords_in_words(found, todo, searched.array, catalogue, format_name)

    columns = {"envelope": pa.array(found.envelope, pa.string()), "signature": pa.array(found.signature, pa.string()),
               "tier": pa.array(found.tier, pa.string()), "confidence": pa.array(found.confidence, pa.string())}
    columns.update({name: pa.array(found.values[name], pa.string()) for name in EVENT_FIELDS})
    return pa.table(columns)


def _match_keywords_in_words(found: _Found, todo: np.ndarray, searched: pa.Array, catalogue: Catalogue,
                             format_name: str) -> None:
    """Look for the keywords once more in the ``todo`` messages read as words (:func:`.wording.as_words`).

    Only messages the rewriting changes are read again: an identifier split
    (``InvalidIssuer``) or a long value shortened. A keyword captures no value,
    so a finding shows nothing of the rewritten text.
    """
    subset = searched.take(pa.array(todo, pa.int64()))
    worded = as_words(subset)
    changed = np.flatnonzero(pc.fill_null(pc.not_equal(worded, subset), False).to_numpy(zero_copy_only=False))
    if len(changed) == 0:
        return
    rows, texts = todo[changed], worded.take(pa.array(changed, pa.int64()))
    plain = _Plain(texts, catalogue.literals)
    pending = np.arange(len(rows))
    for keyword in catalogue.keywords(format_name):
        if not plain.may_hold(keyword):
            continue
        hits, captures = _match(texts, pending, keyword, plain, "within")
        if len(hits):
            found.put(rows[hits], keyword, captures, "within")
            pending = _settle(pending, hits)
            if len(pending) == 0:
                return


def confidence_of(signature: Signature, where: str) -> str:
    """How far a match can be trusted: ``high``, ``medium`` or ``low``.

    ``high``: a tier-1 signature in its software's own position (a whole
    message, an envelope's detail, the start of a message or after a known
    wrapper). ``medium``: a tier-1 signature found at a clause further in, or
    a phrase that names one cause. ``low``: a phrase whose words several
    causes share (it lists ``alternatives``), every keyword and every guess of the word model.

    Examples
    --------
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> signature = load_catalogue().by_id["openidconnect.untrusted_audience"]
    >>> confidence_of(signature, "start"), confidence_of(signature, "clause")
    ('high', 'medium')
    >>> confidence_of(load_catalogue().by_id["phrase.invalid_issuer"], "clause")
    'medium'
    """
    if signature.tier in ("keyword", "words"):
        return "low"
    if signature.tier == "phrase":
        return "low" if signature.alternatives else "medium"
    return "high" if where in ("whole", "start") else "medium"


class _Found:
    """What :func:`match_messages` has found so far, one slot per message."""

    def __init__(self, n: int) -> None:
        self.envelope = np.full(n, None, dtype=object)
        self.signature = np.full(n, None, dtype=object)
        self.tier = np.full(n, None, dtype=object)
        self.confidence = np.full(n, None, dtype=object)
        self.values = {name: np.full(n, None, dtype=object) for name in EVENT_FIELDS}

    def put(self, positions: np.ndarray, signature: Signature, captures: dict[str, np.ndarray], where: str) -> None:
        """Record that ``signature`` matched at ``positions`` (``where``: whole, start or clause)."""
        self.signature[positions] = signature.id
        self.tier[positions] = signature.tier
        self.confidence[positions] = confidence_of(signature, where)
        _assign(self.values, positions, captures)


def _settle(todo: np.ndarray, hits: np.ndarray) -> np.ndarray:
    return todo[~np.isin(todo, hits)] if len(hits) else todo


def _explain(found: _Found, hits: np.ndarray, env: Signature, catalogue: Catalogue) -> None:
    """Match the details of an envelope's ``hits`` with its explainers, each at the detail's start.

    Phrases are not looked for in a detail: where an envelope's user-typed
    field (pvedaemon's ``user=``) holds the envelope's own separator, the
    detail it hands on begins with the user's text.
    """
    details = pa.array(found.values["detail"][hits], pa.string())
    plain = _Plain(pc.fill_null(details, ""), catalogue.literals)
    for explainer in catalogue.explainers(env):
        if not plain.may_hold(explainer):
            continue  # none of its literals is in any detail: it would match nothing
        pending = np.flatnonzero(found.signature[hits] == env.id)
        if len(pending) == 0:
            return
        sub_hits, captures = _match(details, pending, explainer, plain, "start" if explainer.search else "whole")
        found.put(hits[sub_hits], explainer, captures, "whole")


@dataclass(frozen=True)
class _Texts:
    """Texts to match, and their prefilter."""

    array: pa.Array
    plain: _Plain


def _unmasked(captures: dict[str, np.ndarray], hits: np.ndarray, written: _Texts, signature: Signature,
              where: str) -> dict[str, np.ndarray]:
    """Captures of ``hits`` with their masked values read again from the text as written.

    Only a capture that holds the mask is replaced, and only where the match
    in the written text agrees on every capture that does not: user text in
    front of the software's own (a forged clause) cannot change a value.
    """
    from .user_text import MASK

    masked = np.zeros(len(hits), dtype=bool)
    for values in captures.values():
        masked |= np.fromiter((isinstance(v, str) and MASK in v for v in values), bool, len(values))
    if not masked.any():
        return captures
    rows = np.flatnonzero(masked)
    again, fresh = _match(written.array, hits[rows], signature, written.plain, where)
    position_of = {int(p): i for i, p in enumerate(again)}
    repaired = {name: values.copy() for name, values in captures.items()}
    for row in rows:
        i = position_of.get(int(hits[row]))
        if i is None:
            continue
        kept = [name for name, values in captures.items()
                if not (isinstance(values[row], str) and MASK in values[row])]
        if all(fresh[name][i] == captures[name][row] for name in kept):
            for name in captures:
                repaired[name][row] = fresh[name][i]
    return repaired


class _Plain:
    """Texts as Python strings, for the signatures' literal prefilters.

    Matching sees only the few lines the marker selected, but asks about each
    of ~2,000 signatures: which texts hold one of its literals. The catalogue's
    :class:`LiteralIndex` answers that for every literal in one scan of the texts;
    a literal it does not know (a signature added to the catalogue later) is
    looked for text by text. A phrase's literal is lower case and is looked
    for in the texts folded to lower case.
    """

    def __init__(self, texts: pa.Array, index: LiteralIndex) -> None:
        self.array = texts
        self.texts = [text or "" for text in texts.to_pylist()]
        self.index = index
        self._rows: dict[bool, dict[str, np.ndarray]] = {}

    @cached_property
    def failing(self) -> np.ndarray:
        """Which texts report a failure (:func:`reports_failure`), found once for every keyword."""
        return reports_failure(self.array)

    @cached_property
    def wrapped(self) -> np.ndarray:
        """Which texts begin with a known wrapper, found once for every signature tried at the start."""
        found: np.ndarray = pc.match_substring_regex(self.array, wrapper_start()).to_numpy(zero_copy_only=False)
        return found

    @cached_property
    def folded(self) -> list[str]:
        """The texts in lower case."""
        return [text.lower() for text in self.texts]

    def having(self, literals: tuple[str, ...], positions: np.ndarray, *, fold: bool = False) -> np.ndarray:
        """The ``positions`` whose text contains one of ``literals`` (in any case with ``fold``)."""
        if not all(literal in self.index.known[fold] for literal in literals):
            texts = self.folded if fold else self.texts
            found = (any(literal in texts[i] for literal in literals) for i in positions)
            kept: np.ndarray = positions[np.fromiter(found, bool, len(positions))]
            return kept
        rows = self._literal_rows(fold)
        holding = [rows[literal] for literal in literals if literal in rows]
        if not holding:
            return positions[:0]
        union = holding[0] if len(holding) == 1 else np.unique(np.concatenate(holding))
        selected: np.ndarray = positions[np.isin(positions, union)]
        return selected

    def may_hold(self, signature: Signature) -> bool:
        """Whether a text may match ``signature``: the index cannot tell, or a text holds one of its literals."""
        if not self.index.prefilters(signature):
            return True
        found = self._literal_rows(folds_case(signature))
        return any(literal in found for literal in signature.prefilter)

    def literals_found(self, fold: bool) -> Collection[str]:
        """The index's literals that occur in the texts (in lower case with ``fold``)."""
        return self._literal_rows(fold).keys()

    def _literal_rows(self, fold: bool) -> dict[str, np.ndarray]:
        if fold not in self._rows:
            texts = self.folded if fold else self.texts
            ends = np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)) + 1)  # each text and its newline
            starts = np.concatenate([np.zeros(1, np.int64), ends[:-1]])
            self._rows[fold] = self.index.rows("\n".join(texts), starts, fold=fold)
        return self._rows[fold]


def _match(
    texts: pa.Array, positions: np.ndarray, signature: Signature, plain: _Plain, where: str
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Match ``signature`` at ``positions``; return matched positions and their captures.

    ``where`` is ``whole`` (the pattern as written, anchored by itself),
    ``start`` (at the start of the text or after wrappers), ``clause`` (at
    the start of the text or of any clause, :data:`CLAUSE_START`) or
    ``within`` (from the start of any word, in a text that reports a failure).
    """
    if len(positions) and signature.prefilter:
        positions = plain.having(signature.prefilter, positions, fold=folds_case(signature))
    if where == "within":
        positions = positions[plain.failing[positions]]
    if len(positions) == 0:
        return positions, {}
    subset = texts.take(pa.array(positions, pa.int64()))
    if where == "whole":
        return _run(subset, positions, signature.pattern, signature.fields)
    if where == "clause":
        return _run(subset, positions, clause_pattern(signature.pattern), signature.fields)
    if where == "within":
        return _run(subset, positions, keyword_pattern(signature.pattern), signature.fields)
    # Most texts start with the validator's own words: for them ``^(?:wrappers)*`` can take no
    # wrapper, and the pattern alone, anchored, finds the same match and captures several times
    # faster than with the alternation of every wrapper in front (9 ms instead of 1 for 880 texts).
    wrapped = plain.wrapped[positions]
    if not wrapped.any():
        return _run(subset, positions, f"^(?:{signature.pattern})", signature.fields)
    if wrapped.all():
        return _run(subset, positions, anchored_pattern(signature.pattern, True), signature.fields)
    inside, bare = np.flatnonzero(wrapped), np.flatnonzero(~wrapped)
    hits_a, captures_a = _run(subset.take(pa.array(bare, pa.int64())), positions[bare],
                              f"^(?:{signature.pattern})", signature.fields)
    hits_b, captures_b = _run(subset.take(pa.array(inside, pa.int64())), positions[inside],
                              anchored_pattern(signature.pattern, True), signature.fields)
    hits = np.concatenate([hits_a, hits_b])
    order = np.argsort(hits, kind="stable")
    captures = {name: np.concatenate([captures_a[name], captures_b[name]])[order] for name in captures_a}
    return hits[order], captures


def _run(subset: pa.Array, positions: np.ndarray, pattern: str, fields: tuple[str, ...]
         ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run ``pattern`` over ``subset`` (the texts at ``positions``): matched positions and captures."""
    if not fields:
        matched = pc.match_substring_regex(subset, pattern).to_numpy(zero_copy_only=False)
        return positions[matched], {}
    extracted = pc.extract_regex(subset, pattern)
    matched = extracted.is_valid().to_numpy(zero_copy_only=False)
    captures = {
        extracted.type.field(i).name: np.asarray(extracted.field(i).to_pylist(), dtype=object)[matched]
        for i in range(extracted.type.num_fields)
    }
    return positions[matched], captures


def _assign(values: dict[str, np.ndarray], positions: np.ndarray, captures: dict[str, np.ndarray]) -> None:
    for name, captured in captures.items():
        # An optional group that did not take part captures "": keep it null.
        cleaned = np.where(captured == "", np.array(None, dtype=object), captured)
        values[name][positions] = cleaned
