"""The signature catalogue: validator and daemon messages as data, and matching them.

Signatures live in ``data/signatures/<family>.toml``. Loading checks the
schema (required and unknown keys, unique ids, compiling patterns, captures
equal to the declared ``fields``); :func:`tokenaudit.catalogue.samples.check_catalogue`
checks every signature against its embedded samples.

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
:data:`CLAUSE_START`), since applications write their own words, logger
headers and error chains before a validator's text. After the signatures
come the *phrases* of ``data/phrases.toml``: the words every library uses
for a cause ("token is expired", "invalid audience"), case-insensitive,
found at the start of a message or of a clause. Each match says how it was
found (``tier``: signature, phrase or keyword) and how far it can be trusted
(``confidence``, see :func:`confidence_of`). Last come the *keywords* of
``data/keywords.toml``: a pair of words that states a cause ("aud ... invalid",
"password ... incorrect") anywhere in a message that reports a failure
(:func:`reports_failure`), for the applications that say it in words of
their own; a message nothing matched is read once more for them with its
identifiers split into words and its long values shortened
(:mod:`tokenaudit.catalogue.wording`). What keeps a user's text from
making an event is not the position but the field: user-controlled parts
of a message are masked before the search (the formats' ``user_text``),
and programs that echo user input are never searched (``searchable``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

import ahocorasick_rs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import models
from ..common.datafiles import check_keys, package_data, read_toml
from ..common.files import read_cached, write_cached
from ..errors import CatalogueError
from ..models import Signature, SignatureSample
from ..regex import lint as regex_lint
from ..regex import prefilter
from ..regex.lint import BACKTRACKING_HINT, begins_with_own_text, can_match_space, lint_pattern, validate_regex
from ..regex.prefilter import marker_regex, required_literals
from ..schema import EVENT_FIELDS
from .word_classes import expand_word_classes, read_word_classes
from .wording import as_words

#: This package's TOML files.
DATA_DIR = package_data("tokenaudit.catalogue")

#: A regex that matches no line: the marker of a format no signature applies to.
NEVER = r"[^\s\S]"

#: Columns :func:`match_messages` returns besides the fields.
MATCH_COLUMNS = ("envelope", "signature", "tier", "confidence")

#: Where a clause can begin inside a message: after a separator of an application's prefix, a
#: logger header or an error chain; after an opening quote or bracket; after an error-like key.
CLAUSE_START = (
    r"(?:: |, |; |\. |\] |\) |-> |=> | - |[\"'`(\[{]"
    r"|\b(?:msg|err|error|reason|message|error_description|detail|description|exception)=[\"']?|\n\s*)"
)

#: How far an event's cause can be trusted, strongest first (the ``confidence`` column).
CONFIDENCES = ("high", "medium", "low")

_FILE_KEYS: dict[str, Any] = {"required": ("family", "source"), "optional": ("software", "signature")}
_SIGNATURE_KEYS = {
    "required": ("id", "title", "pattern"),
    "optional": (
        "kind",
        "cause",
        "alternatives",
        "search",
        "applies_to",
        "explains",
        "follows",
        "fields",
        "software",
        "source",
        "sample",
        "deprecated",
        "fix_variant",
    ),
}
_SAMPLE_KEYS = {"required": ("message",), "optional": ("match", "expect", "why")}


@dataclass(frozen=True)
class MatchStep:
    """One signature tried on the messages no earlier step matched."""

    signature: Signature
    #: ``whole`` (the pattern as written), ``start`` (at the start or after wrappers), ``clause`` (at any
    #: clause), ``within`` (anywhere from a word's start, in a message that reports a failure)
    where: str
    #: whether it reads the text with the user's spans masked (and skips programs that echo user input)
    searched: bool


@dataclass(frozen=True)
class StepIndex:
    """For a list of match steps, which steps a text can match at all, found from the literals it holds.

    A step whose signature has prefilter literals (all of them in the catalogue's
    :class:`LiteralIndex`) can match only a text holding one of them; the others are tried
    always. A chunk whose texts hold few literals then tries a few dozen steps, not every one
    of the catalogue's thousands: on a log of many small files, each a chunk, that loop was
    most of the time.
    """

    #: steps tried whatever the texts hold (no prefilter, or a literal the index does not know)
    always: np.ndarray
    #: (whether the step reads the masked texts, whether in lower case, literal) -> the steps it wakes
    by_literal: dict[tuple[bool, bool, str], np.ndarray]
    #: the (masked, lower case) kinds of text some literal is looked for in
    kinds: frozenset[tuple[bool, bool]]

    @classmethod
    def of(cls, steps: list[MatchStep], index: LiteralIndex) -> StepIndex:
        always: list[int] = []
        woken: dict[tuple[bool, bool, str], list[int]] = {}
        for number, step in enumerate(steps):
            if not index.prefilters(step.signature):
                always.append(number)
                continue
            for literal in step.signature.prefilter:
                woken.setdefault((step.searched, _folded(step.signature), literal), []).append(number)
        return cls(np.array(always, dtype=np.int64),
                   {key: np.array(numbers, dtype=np.int64) for key, numbers in woken.items()},
                   frozenset(key[:2] for key in woken))

    def possible(self, found: Callable[[bool, bool], Collection[str]]) -> np.ndarray:
        """The steps, in order, that texts holding ``found(searched, fold)`` literals can match."""
        parts = [self.always]
        for searched, fold in self.kinds:
            parts += [self.by_literal[key] for literal in found(searched, fold)
                      if (key := (searched, fold, literal)) in self.by_literal]
        return np.unique(np.concatenate(parts))


@dataclass(frozen=True)
class Catalogue:
    """An ordered set of signatures; order decides which one wins (overlaps are errors)."""

    signatures: tuple[Signature, ...]
    fingerprint: str = field(default="")

    def __post_init__(self) -> None:
        if not self.fingerprint:
            digest = hashlib.sha256(anchored_pattern("", True).encode())
            for signature in self.signatures:
                digest.update(
                    f"{signature.id}\0{signature.pattern}\0{signature.cause}\0{signature.explains}\0"
                    .encode()
                )
            object.__setattr__(self, "fingerprint", digest.hexdigest()[:16])

    def __getstate__(self) -> dict[str, object]:
        """Its fields only: what it builds and keeps (compiled patterns, Aho-Corasick automata) is built again
        where it is unpickled (a worker of a cluster ingest), and some of it cannot be pickled.

        Examples
        --------
        >>> import pickle
        >>> catalogue = load_catalogue()
        >>> _ = catalogue.literals  # an automaton, built and kept
        >>> pickle.loads(pickle.dumps(catalogue)).fingerprint == catalogue.fingerprint
        True
        """
        return {"signatures": self.signatures, "fingerprint": self.fingerprint}

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    @cached_property
    def by_id(self) -> dict[str, Signature]:
        """Signatures keyed by id."""
        return {signature.id: signature for signature in self.signatures}

    @cached_property
    def literals(self) -> LiteralIndex:
        """Every signature's prefilter literals in one automaton: which texts hold which, in one scan."""
        return LiteralIndex(
            [literal for s in self.signatures if not _folded(s) for literal in s.prefilter],
            [literal for s in self.signatures if _folded(s) for literal in s.prefilter],
        )

    @cached_property
    def _memo(self) -> dict[tuple[str, str], object]:
        """Per-format selections, computed once per catalogue (ingest asks again for every chunk)."""
        return {}

    def envelopes(self, format_name: str) -> list[Signature]:
        """Envelope signatures that apply to ``format_name``, in catalogue order."""
        return list(self._remember(("envelopes", format_name), lambda: [
            s for s in self.signatures if s.kind == "envelope" and _applies(s, format_name)
        ]))

    def explainers(self, envelope: Signature) -> list[Signature]:
        """Cause signatures that may explain the detail of ``envelope``."""
        return list(self._remember(("explainers", envelope.id), lambda: [
            s
            for s in self.signatures
            if s.kind == "cause" and any(fnmatch.fnmatchcase(s.id, g) for g in envelope.explains)
        ]))

    def direct(self, format_name: str) -> list[Signature]:
        """Whole-message cause signatures written for ``format_name`` itself (its ``applies_to`` names it).

        They match the format's message field as a whole, with no envelope:
        Envoy's ``%RESPONSE_CODE_DETAILS%``, say, which no user controls.
        """
        return list(self._remember(("direct", format_name), lambda: [
            s for s in self.signatures
            if s.kind == "cause" and not s.search and s.applies_to != ("*",) and _applies(s, format_name)
        ]))

    def searchers(self, format_name: str) -> list[Signature]:
        """Tier-1 cause signatures looked for in a message of ``format_name``.

        They are looked for at its start, after wrappers, and at a clause.
        """
        return list(self._remember(("searchers", format_name), lambda: [
            s for s in self.signatures
            if s.kind == "cause" and s.search and s.tier == "signature" and _applies(s, format_name)
        ]))

    def phrases(self, format_name: str) -> list[Signature]:
        """Tier-2 phrases looked for in a message of ``format_name``, in file order."""
        return list(self._remember(("phrases", format_name), lambda: [
            s for s in self.signatures if s.tier == "phrase" and _applies(s, format_name)
        ]))

    def keywords(self, format_name: str) -> list[Signature]:
        """Tier-3 keywords looked for in a message of ``format_name``, in file order."""
        return list(self._remember(("keywords", format_name), lambda: [
            s for s in self.signatures if s.tier == "keyword" and _applies(s, format_name)
        ]))

    def marker(self, format_name: str, *, generic_search: bool, raw_json: bool = False) -> str | None:
        r"""Regex of literals of which a failure line of ``format_name`` holds at least one.

        ``None`` when some signature has no literal: then every line is a
        candidate (correct, only slower). With ``raw_json`` the marker runs on
        JSON text, where the message's quotes and backslashes are escaped (and,
        by some encoders, ``/ < > &`` and non-ASCII): each literal is then cut
        to its longest part free of such characters.

        Examples
        --------
        >>> line = '{"MESSAGE":"token uses \\"none\\" alg but accept_none_alg is not enabled"}'
        >>> marker = load_catalogue().marker("journal_json", generic_search=True, raw_json=True)
        >>> bool(pc.match_substring_regex(pa.array([line]), marker)[0].as_py())
        True
        """
        marker: str | None = self._remember(("marker", f"{format_name}\0{generic_search}\0{raw_json}"),
                                            lambda: self._marker(format_name, generic_search, raw_json))
        return marker

    def _marker(self, format_name: str, generic_search: bool, raw_json: bool) -> str | None:
        chosen = self.envelopes(format_name) + self.direct(format_name)
        phrases = self.phrases(format_name) if generic_search else []
        if generic_search:
            chosen += self.searchers(format_name)
        if not chosen and not phrases:
            return NEVER
        if any(not s.prefilter for s in [*chosen, *phrases]):
            return None
        return _literal_marker([literal for s in chosen for literal in s.prefilter],
                               [literal for s in phrases for literal in s.prefilter], raw_json=raw_json)

    def keyword_marker(self, format_name: str, *, generic_search: bool, raw_json: bool = False) -> str | None:
        r"""Regex of the keywords' literals (any case), or ``None`` where no keyword is looked for.

        Kept apart from :meth:`marker`: a keyword's words ("token", "user",
        "state") fill ordinary log lines, so a line holding one is a
        candidate only if its message also reports a failure
        (:func:`tokenaudit.formats.parsing.parse_chunk`'s ``gated``). Where a
        literal cannot be searched in raw JSON, the regex is empty: the failure
        cue alone then decides.

        Examples
        --------
        >>> print(load_catalogue().keyword_marker("syslog_rfc3164", generic_search=False))
        None
        >>> "(?i:" in load_catalogue().keyword_marker("syslog_rfc3164", generic_search=True)
        True
        """
        if not generic_search or not self.keywords(format_name):
            return None
        marker: str = self._remember(("keyword_marker", f"{format_name}\0{raw_json}"), lambda: _literal_marker(
            [], [literal for s in self.keywords(format_name) for literal in s.prefilter], raw_json=raw_json) or "")
        return marker

    def steps(self, format_name: str, *, generic_search: bool) -> list[MatchStep]:
        """The order in which a message of ``format_name`` is tried, first match wins.

        Envelopes and whole-message signatures on the text as written; then, with
        ``generic_search``, tier-1 texts at the start (or after wrappers), tier-1
        texts at any clause, and last the phrases at any clause, on the text with
        the user's spans masked, and after them the keywords anywhere in a
        message that reports a failure. (:func:`match_messages` then reads the
        messages none of these matched once more for the keywords, as words.)
        """
        def compute() -> list[MatchStep]:
            steps = [MatchStep(s, "whole", searched=False)
                     for s in [*self.envelopes(format_name), *self.direct(format_name)]]
            if generic_search:
                searchers = self.searchers(format_name)
                steps += [MatchStep(s, "start", searched=True) for s in searchers]
                steps += [MatchStep(s, "clause", searched=True) for s in [*searchers, *self.phrases(format_name)]]
                steps += [MatchStep(s, "within", searched=True) for s in self.keywords(format_name)]
            return steps

        return list(self._remember(("steps", f"{format_name}\0{generic_search}"), compute))

    def step_index(self, format_name: str, *, generic_search: bool) -> StepIndex:
        """Which of :meth:`steps` each prefilter literal can wake (computed once per format)."""
        return self._remember(("step_index", f"{format_name}\0{generic_search}"),  # type: ignore[no-any-return]
                              lambda: StepIndex.of(self.steps(format_name, generic_search=generic_search),
                                                   self.literals))

    def _remember(self, key: tuple[str, str], compute: Callable[[], Any]) -> Any:
        memo = self._memo
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    def merged(self, other: Catalogue) -> Catalogue:
        """Return this catalogue followed by ``other``'s signatures (user additions).

        Raises
        ------
        CatalogueError
            If an id is defined twice.
        """
        clash = sorted(set(self.by_id) & set(other.by_id))
        if clash:
            raise CatalogueError(f"signature id(s) defined twice: {', '.join(clash)}")
        return Catalogue(self.signatures + other.signatures)


_JSON_ESCAPED = re.compile(r'["\\/<>&]|[^\x20-\x7e]')


def _json_safe(literal: str | None) -> str | None:
    """The longest part of ``literal`` that JSON encoders write as it is (``None`` if none)."""
    if literal is None:
        return None
    return max(_JSON_ESCAPED.split(literal), key=len) or None


def _literal_marker(exact: list[str], folded: list[str], *, raw_json: bool) -> str | None:
    """One regex of literals, the ``folded`` ones (lower case) in any case; :data:`NEVER` for none.

    With ``raw_json`` each literal is cut to the part JSON encoders leave as
    it is; ``None`` when a literal has no such part (every line is then a
    candidate).
    """
    if raw_json:
        safe = [[_json_safe(literal) for literal in literals] for literals in (exact, folded)]
        if any(literal is None for literals in safe for literal in literals):
            return None
        exact, folded = ([str(literal) for literal in literals] for literals in safe)
    exact_regex, folded_regex = marker_regex(exact), marker_regex(folded)
    parts = ([exact_regex] if exact_regex else []) + ([f"(?i:{folded_regex})"] if folded_regex else [])
    return "|".join(parts) or NEVER


def _folded(signature: Signature) -> bool:
    """Whether ``signature`` is matched in any case (a phrase or a keyword: its literals are lower case)."""
    return signature.tier != "signature"


def _applies(signature: Signature, format_name: str) -> bool:
    return any(fnmatch.fnmatchcase(format_name, glob) for glob in signature.applies_to)


def _signature_from_toml(
    data: dict[str, object], *, family: str, software: str, source: str, path: str
) -> Signature:
    check_keys(data, **_SIGNATURE_KEYS, path=path, where=str(data.get("id", "?")))
    sid = str(data["id"])
    if not sid.startswith(f"{family}.") or not sid.replace(".", "_").replace("_", "a").isalnum():
        raise CatalogueError(
            f"id must be <family>.<snake_case> with family {family!r}", path=path, signature_id=sid
        )
    pattern = str(data["pattern"])
    if problem := validate_regex(pattern):
        raise CatalogueError(f"pattern is not a usable regex: {problem}", path=path, signature_id=sid)
    search = bool(data.get("search", False))
    _check_anchoring(pattern, search=search, path=path, signature_id=sid)
    if backtracking := lint_pattern(pattern):
        raise CatalogueError(f"pattern could backtrack catastrophically: {backtracking[0]}", path=path,
                             signature_id=sid, hint=BACKTRACKING_HINT)
    groups = _named_groups(pattern)
    fields: tuple[str, ...] = tuple(data.get("fields", groups))  # type: ignore[arg-type]
    if set(fields) != set(groups):
        raise CatalogueError(
            f"fields {sorted(fields)} differ from the pattern's named groups {sorted(groups)}",
            path=path,
            signature_id=sid,
        )
    unknown = sorted(set(fields) - set(EVENT_FIELDS))
    if unknown:
        raise CatalogueError(
            f"unknown field(s) {unknown}",
            path=path,
            signature_id=sid,
            hint=f"fields are columns of the dataset: {', '.join(EVENT_FIELDS)}",
        )
    kind = str(data.get("kind", "cause"))
    if kind not in ("envelope", "cause"):
        raise CatalogueError(f"kind must be envelope or cause, not {kind!r}", path=path, signature_id=sid)
    if kind == "envelope" and "detail" not in fields:
        raise CatalogueError("an envelope must capture `detail`", path=path, signature_id=sid)
    if kind == "cause" and not data.get("cause"):
        raise CatalogueError("a cause signature needs `cause`", path=path, signature_id=sid)
    samples = []
    for sample in data.get("sample", []):  # type: ignore[attr-defined]
        check_keys(sample, **_SAMPLE_KEYS, path=path, where=sid)
        samples.append(
            SignatureSample(
                message=sample["message"],
                match=bool(sample.get("match", True)),
                expect={k: str(v) for k, v in sample.get("expect", {}).items()},
                why=sample.get("why", ""),
            )
        )
    return Signature(
        id=sid,
        family=family,
        kind=kind,  # type: ignore[arg-type]
        title=str(data["title"]),
        pattern=pattern,
        cause=str(data["cause"]) if data.get("cause") else None,
        source=str(data.get("source", source)),
        software=str(data.get("software", software)),
        alternatives=tuple(data.get("alternatives", ())),  # type: ignore[arg-type]
        search=search,
        applies_to=tuple(data.get("applies_to", ("*",))),  # type: ignore[arg-type]
        explains=tuple(data.get("explains", ())),  # type: ignore[arg-type]
        follows=tuple(data.get("follows", ())),  # type: ignore[arg-type]
        fields=fields,
        samples=tuple(samples),
        prefilter=required_literals(pattern),
        deprecated=bool(data.get("deprecated", False)),
        path=path,
        fix_variant=str(data.get("fix_variant", "")),
    )


#: Why a pattern must be anchored, and how: the hint of every anchoring error.
ANCHOR_HINT = (
    "a signature must match text its software writes, never text a user chose: anchor a whole-message "
    "pattern with ^ (and $); a validator message passed on by other software is `search = true`, begins "
    "with the validator's own words and is matched only at the start of the message or after a wrapper "
    "of data/wrappers.toml"
)


def _check_anchoring(pattern: str, *, search: bool, path: str, signature_id: str) -> None:
    """Refuse a pattern that could start matching inside user-written text.

    A whole-message signature starts with ``^``. A ``search`` signature does
    not (the matcher anchors it, see :func:`anchored_pattern`) and must not
    begin with a wildcard, which would let it start anywhere after a wrapper;
    one captured word before the software's fixed text is allowed
    (:func:`~tokenaudit.regex.lint.begins_with_own_text`).
    """
    if not search and not pattern.startswith("^"):
        raise CatalogueError("pattern is not anchored: it must start with ^", path=path,
                             signature_id=signature_id, hint=ANCHOR_HINT)
    if search and pattern.startswith("^"):
        raise CatalogueError("a search pattern must not start with ^ (the matcher anchors it after known "
                             "wrappers)", path=path, signature_id=signature_id, hint=ANCHOR_HINT)
    if search and not begins_with_own_text(pattern):
        raise CatalogueError("a search pattern must begin with fixed text, not a wildcard", path=path,
                             signature_id=signature_id, hint=ANCHOR_HINT)


@dataclass(frozen=True)
class Wrapper:
    """Software-written text that may precede a validator's message (``data/wrappers.toml``)."""

    id: str
    pattern: str
    source: str
    samples: tuple[str, ...]


def read_wrappers(path: Path) -> tuple[Wrapper, ...]:
    """Read and check a wrappers file.

    Each wrapper has an id of its own, compiles in RE2, passes the
    backtracking lint, captures nothing, has no anchor of its own, matches
    each of its samples whole, and has no variable part that can match a
    space (user text inside a wrapper then cannot hold a validator's
    multi-word message).

    Raises
    ------
    CatalogueError
        On the first wrapper that breaks a rule.
    """
    data = read_toml(path)
    check_keys(data, required=("wrapper",), optional=(), path=str(path))
    wrappers: list[Wrapper] = []
    for entry in data["wrapper"]:
        check_keys(entry, required=("id", "pattern", "source", "sample"), optional=(), path=str(path),
                   where=str(entry.get("id", "?")))
        wid, pattern = str(entry["id"]), str(entry["pattern"])

        def fail(message: str, wid: str = wid) -> CatalogueError:
            return CatalogueError(message, path=str(path), signature_id=wid, hint=ANCHOR_HINT)

        if any(wrapper.id == wid for wrapper in wrappers):
            raise fail("a wrapper id is used twice: give each wrapper its own")
        if problem := validate_regex(pattern):
            raise fail(f"wrapper is not a usable regex: {problem}")
        if backtracking := lint_pattern(pattern):
            raise CatalogueError(f"wrapper could backtrack catastrophically: {backtracking[0]}", path=str(path),
                                 signature_id=wid, hint=BACKTRACKING_HINT)
        if "(?P<" in pattern or pattern.startswith("^") or pattern.endswith("$"):
            raise fail("a wrapper has no named group and no anchor of its own")
        if can_match_space(pattern):
            raise fail("a wrapper's variable parts must not match a space (they could hold user text)")
        samples = tuple(str(sample) for sample in entry["sample"])
        whole = pc.match_substring_regex(pa.array(samples, pa.string()), f"^(?:{pattern})$")
        if not samples or not all(whole.to_pylist()):
            raise fail("a wrapper must match each of its samples whole")
        wrappers.append(Wrapper(wid, pattern, str(entry["source"]), samples))
    return tuple(wrappers)


@cache
def load_wrappers() -> tuple[Wrapper, ...]:
    """The built-in wrappers (``data/wrappers.toml``)."""
    return read_wrappers(WRAPPERS_FILE)


@cache
def anchored_pattern(pattern: str, search: bool) -> str:
    """The regex that actually runs for a signature's ``pattern``.

    A whole-message pattern runs as it is (it starts with ``^``). A search
    pattern runs anchored at the start of the text, after any chain of
    wrappers: software-written framing, never a user's text.

    Examples
    --------
    >>> body = "Invalid audiences: (?P<audience>[^ ]+)"
    >>> texts = pa.array(["Failed to verify ID token: Invalid audiences: x",
    ...                   "sshd: Invalid user Invalid audiences: x from 10.0.0.1"])
    >>> pc.match_substring_regex(texts, anchored_pattern(body, True)).to_pylist()
    [True, False]
    """
    if not search:
        return pattern
    wrappers = "|".join(f"(?:{wrapper.pattern})" for wrapper in load_wrappers())
    return f"^(?:{wrappers})*(?:{pattern})"


def _named_groups(pattern: str) -> list[str]:
    extracted = pc.extract_regex(pa.array([""], pa.string()), pattern) if "(?P<" in pattern else None
    if extracted is None:
        return []
    return [extracted.type.field(i).name for i in range(extracted.type.num_fields)]


def read_signature_file(path: Path) -> list[Signature]:
    """Read the signatures of one family file.

    Raises
    ------
    CatalogueError
        On any schema problem, naming the file and the signature.
    """
    data = read_toml(path)
    check_keys(data, **_FILE_KEYS, path=str(path))
    family = str(data["family"])
    if family != path.stem:
        raise CatalogueError(f"family {family!r} differs from the file name", path=str(path),
                             hint=f"name the file {family}.toml, or set family = {path.stem!r}")
    entries = data.get("signature", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CatalogueError("signature must be an array of tables", path=str(path),
                             hint="write [[signature]] (two brackets) above each one")
    return [
        _signature_from_toml(
            entry,
            family=family,
            software=str(data.get("software", family)),
            source=str(data["source"]),
            path=str(path),
        )
        for entry in entries
    ]


_PHRASE_KEYS = {"required": ("id", "cause", "title", "pattern", "source", "sample"),
                "optional": ("alternatives", "fields", "applies_to", "fix_variant")}
_PHRASE_SAMPLE_KEYS = {"required": ("message",), "optional": ("software", "source", "match", "expect", "why")}


def read_phrase_file(path: Path) -> list[Signature]:
    """Read the tier-2 phrases (``data/phrases.toml``) as case-insensitive search signatures.

    A phrase names a cause in the words many libraries share, so it carries
    no software of its own (``software`` is empty): which library wrote the
    text is left to the tier-1 signatures. Each positive sample names the
    software that writes those words.

    Raises
    ------
    CatalogueError
        On a schema problem, a pattern that does not compile, could backtrack,
        starts with a wildcard or an anchor, or captures other than ``fields``.
    """
    return _read_words(path, "phrase")


def read_keyword_file(path: Path) -> list[Signature]:
    """Read the tier-3 keywords (``data/keywords.toml``) as case-insensitive signatures.

    A keyword is a pair of words that states a cause wherever an application
    writes it ("the aud claim is invalid", "password for alice incorrect"):
    it is looked for from the start of any word, in a message that reports a
    failure (:func:`reports_failure`), after every signature and phrase has
    had its turn. Same schema and rules as a phrase, ids ``keyword.<name>``.

    Raises
    ------
    CatalogueError
        As :func:`read_phrase_file`.
    """
    return _read_words(path, "keyword")


def _read_words(path: Path, tier: Literal["phrase", "keyword"]) -> list[Signature]:
    """Read a file of library-agnostic words for causes: phrases or keywords (``tier``)."""
    data = read_toml(path)
    check_keys(data, required=("family", "source", tier), optional=("words",), path=str(path))
    words = read_word_classes(data.get("words", {}), path)
    entries = []
    for entry in data[tier]:
        check_keys(entry, **_PHRASE_KEYS, path=str(path), where=str(entry.get("id", "?")))
        pid = str(entry["id"])
        body = expand_word_classes(str(entry["pattern"]), words, path=str(path), signature_id=pid)
        name = pid.removeprefix(f"{tier}.")
        if name == pid or not name.replace("_", "a").isalnum():
            raise CatalogueError(f"a {tier} id is {tier}.<snake_case>", path=str(path), signature_id=pid)
        pattern = f"(?i:{body})"
        if problem := validate_regex(pattern):
            raise CatalogueError(f"pattern is not a usable regex: {problem}", path=str(path), signature_id=pid)
        _check_anchoring(body, search=True, path=str(path), signature_id=pid)
        if backtracking := lint_pattern(body):
            raise CatalogueError(f"pattern could backtrack catastrophically: {backtracking[0]}", path=str(path),
                                 signature_id=pid, hint=BACKTRACKING_HINT)
        groups = _named_groups(pattern)
        fields = tuple(entry.get("fields", groups))
        if set(fields) != set(groups) or not set(fields) <= set(EVENT_FIELDS):
            raise CatalogueError(f"fields {sorted(fields)} must be the pattern's named groups {sorted(groups)}, "
                                 "each a dataset column", path=str(path), signature_id=pid)
        prefilter = required_literals(body)
        if not prefilter:
            raise CatalogueError("no literal that every match holds: each line would be a candidate", path=str(path),
                                 signature_id=pid, hint="name the subject word in full in every branch")
        if any(literal != literal.lower() for literal in prefilter):
            raise CatalogueError(f"the literals {list(prefilter)} are not lower case: they are looked for in the "
                                 "text folded to lower case, so this pattern would never be tried",
                                 path=str(path), signature_id=pid, hint="write the pattern in lower case")
        if tier == "keyword" and groups:
            raise CatalogueError("a keyword captures no value (a word found anywhere vouches for none): "
                                 f"drop the named groups {sorted(groups)}", path=str(path), signature_id=pid)
        samples = []
        for sample in entry["sample"]:
            check_keys(sample, **_PHRASE_SAMPLE_KEYS, path=str(path), where=pid)
            samples.append(SignatureSample(
                message=str(sample["message"]), match=bool(sample.get("match", True)),
                expect={k: str(v) for k, v in sample.get("expect", {}).items()},
                why=str(sample.get("why") or sample.get("source") or ""), software=str(sample.get("software", "")),
            ))
        entries.append(Signature(
            id=pid, family=tier, kind="cause", title=str(entry["title"]), pattern=pattern,
            cause=str(entry["cause"]), source=str(entry["source"]), software="",
            alternatives=tuple(entry.get("alternatives", ())), search=True,
            applies_to=tuple(entry.get("applies_to", ("*",))), fields=fields, samples=tuple(samples),
            prefilter=prefilter, path=str(path), tier=tier, fix_variant=str(entry.get("fix_variant", "")),
        ))
    return entries


def load_catalogue(extra: Iterable[Path] = ()) -> Catalogue:
    """Load the built-in signature catalogue, plus the user's signature files.

    Parameters
    ----------
    extra
        Further ``<family>.toml`` files; their signatures follow the built-in ones.

    Returns
    -------
    Catalogue

    Raises
    ------
    CatalogueError
        If a file is invalid or an id is defined twice.

    Examples
    --------
    >>> cat = load_catalogue()
    >>> cat.by_id["openidconnect.untrusted_audience"].cause
    'untrusted_extra_audience'
    """
    catalogue = _builtin_catalogue()
    for path in extra:
        catalogue = catalogue.merged(_checked(Catalogue(tuple(read_signature_file(path)))))
    return catalogue


@cache
def _builtin_catalogue() -> Catalogue:
    paths = sorted((DATA_DIR / "signatures").glob("*.toml"))
    phrase_file, keyword_file = DATA_DIR / "phrases.toml", DATA_DIR / "keywords.toml"
    key = _cache_key([*paths, phrase_file, keyword_file])
    cached = _read_cached(key)
    if cached is not None:
        return cached
    signatures: list[Signature] = []
    for path in paths:
        signatures.extend(read_signature_file(path))
    signatures.extend(read_phrase_file(phrase_file))  # tier 2 after tier 1: a named software's text wins
    signatures.extend(read_keyword_file(keyword_file))  # tier 3 last: words anywhere in a failure
    catalogue = _checked(Catalogue(tuple(signatures)))
    _write_cached(key, catalogue)
    return catalogue


# Loading checks ~300 signatures (TOML, two RE2 compiles and a parse for the prefilter each):
# a quarter of a second, on every run. The checked result is kept in the cache folder
# (tokenaudit.files), named by a hash of the signature files and of the code that reads them.
WRAPPERS_FILE = DATA_DIR / "wrappers.toml"
_TUPLE_FIELDS = ("alternatives", "applies_to", "explains", "follows", "fields", "prefilter")


def _cache_key(paths: list[Path]) -> str:
    digest = hashlib.sha256(str(DATA_DIR.resolve()).encode())  # signatures keep their file's path
    readers = [Path(__file__), *(Path(module.__file__ or "") for module in (models, prefilter, regex_lint))]
    for path in [*paths, *readers, WRAPPERS_FILE]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def _read_cached(key: str) -> Catalogue | None:
    rows = read_cached(f"catalogue-{key}.json")
    if not isinstance(rows, list):
        return None
    try:
        signatures = []
        for row in rows:
            row.update({name: tuple(row[name]) for name in _TUPLE_FIELDS})
            row["samples"] = tuple(SignatureSample(**sample) for sample in row["samples"])
            signatures.append(Signature(**row))
        return Catalogue(tuple(signatures))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _write_cached(key: str, catalogue: Catalogue) -> None:
    write_cached(f"catalogue-{key}.json", [asdict(signature) for signature in catalogue.signatures],
                 stale="catalogue-*.json")


def _checked(catalogue: Catalogue) -> Catalogue:
    seen: set[str] = set()
    for signature in catalogue.signatures:
        if signature.id in seen:
            raise CatalogueError("id defined twice", path=signature.path, signature_id=signature.id)
        seen.add(signature.id)
    return catalogue


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
    causes share (it lists ``alternatives``), and every keyword.

    Examples
    --------
    >>> signature = load_catalogue().by_id["openidconnect.untrusted_audience"]
    >>> confidence_of(signature, "start"), confidence_of(signature, "clause")
    ('high', 'medium')
    >>> confidence_of(load_catalogue().by_id["phrase.invalid_issuer"], "clause")
    'medium'
    """
    if signature.tier == "keyword":
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


class LiteralIndex:
    """The prefilter literals of a catalogue as two Aho-Corasick automata: exact, and in lower case.

    A signature is tried only on texts that hold one of its literals. Asking
    Python whether each of ~2,000 literals occurs in the texts cost a second a
    chunk; one scan of the automaton over all texts finds every literal at once
    (25 ms for 25,000 lines), and which texts hold each.
    """

    def __init__(self, exact: list[str], folded: list[str]) -> None:
        self.exact = list(dict.fromkeys(exact))
        self.folded = list(dict.fromkeys(folded))
        self._automata = {False: _automaton(self.exact), True: _automaton(self.folded)}
        self.known = {False: set(self.exact), True: set(self.folded)}

    def prefilters(self, signature: Signature) -> bool:
        """Whether the index alone tells the texts ``signature`` may match: it has literals, all of them known."""
        known = self.known[_folded(signature)]
        return bool(signature.prefilter) and all(literal in known for literal in signature.prefilter)

    def rows(self, joined: str, starts: np.ndarray, *, fold: bool) -> dict[str, np.ndarray]:
        """For each literal found in ``joined`` (texts joined by newlines, beginning at ``starts``), its texts."""
        automaton = self._automata[fold]
        if automaton is None:
            return {}
        matches = np.asarray(automaton.find_matches_as_indexes(joined, overlapping=True), dtype=np.int64)
        if len(matches) == 0:
            return {}
        rows = np.searchsorted(starts, matches[:, 1], side="right") - 1
        names = self.folded if fold else self.exact
        # Each (literal, row) pair as one number: a 1-D unique sorts ten times faster than unique rows of pairs.
        width = np.int64(len(starts))
        keys = np.unique(matches[:, 0] * width + rows)
        literals, found_rows = np.divmod(keys, width)
        cut = np.flatnonzero(np.diff(literals)) + 1
        return {names[int(group[0])]: group_rows
                for group, group_rows in zip(np.split(literals, cut), np.split(found_rows, cut), strict=True)}


def _automaton(literals: list[str]) -> ahocorasick_rs.AhoCorasick | None:
    return ahocorasick_rs.AhoCorasick(literals, matchkind=ahocorasick_rs.MatchKind.Standard) if literals else None


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
        found: np.ndarray = pc.match_substring_regex(self.array, _wrapper_start()).to_numpy(zero_copy_only=False)
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
        found = self._literal_rows(_folded(signature))
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
        positions = plain.having(signature.prefilter, positions, fold=_folded(signature))
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


#: A key whose value is an error: the key itself reports a failure (``error="…"``, ``"exception": "…"``, an XML
#: element such as Spring Security OAuth's ``<error_description>…``).
ERROR_KEY = (r"""(?:\b(?:err|error|errors|exception|reason|error_description|cause)=["']?"""
             r'|"(?:err|error|errors|exception|reason|error_description|cause)"\s*:\s*"'
             r"""|<(?:error|exception|reason|error_description|cause)>)""")

#: A logger's message field inside a JSON line no format parsed (a pasted, cut or nested record): its value starts
#: the software's message wherever it stands in the line, as the message of a parsed JSON log does. .NET and AWS
#: bodies spell it ``"Message"``; an AWS XML error carries it as ``<Message>``.
MESSAGE_FIELD = r'(?:"(?:msg|message|Message)"\s*:\s*"|<Message>)'

#: A start of a message that is structure, not words: braces, quotes, one neutral key (``{"msg": "``, a list of
#: messages ``{"messages": ["``), one word of the software's own framing (``IDX10223: ``, ``[openid-connect] ``,
#: ``oidc_proto_jwt_verify: ``, PowerShell's ``Connect-AzAccount : ``), the HTTP status a web framework writes
#: before its error (``500 state mismatch``), or the number of an error in a list (``0. ``, ``2) ``).
NEUTRAL_START = (r"""[\s{\[("'`]*(?:(?:msg|messages?|detail|reason|description|error_description|title|text)"""
                 r"""["']?\s*[:=]\s*\[?\s*["'`]?\s*|[^\s\]]{1,60}?(?:\(\))?(?: ?: |\] )["'`(\[]?|[1-5]\d\d """
                 r"""|\d{1,2}[.)] )?""")


@cache
def clause_pattern(pattern: str) -> str:
    """The regex that finds ``pattern`` at the start of a text, after a neutral start, or at a clause after a cue.

    A match further into a message counts only where the software's text
    before it reports a failure (``failure_cue`` of ``data/user_text.toml``:
    a level such as ERROR or WARN, words such as "failed" or "invalid"): an
    application that logs a user's search or echo in words of its own reports
    none. The value of an error-like key (``error=``, ``"exception": "``)
    counts as well: the key reports the failure; so does a JSON line's
    message field (``"message": "``), the start of the software's own
    message. One RE2 pattern finds the first clause that both follows a cue
    and starts the signature's text.

    Examples
    --------
    >>> texts = pa.array(["WARN auth: jwt expired", "INFO app: search query: jwt expired", "jwt expired"])
    >>> pc.match_substring_regex(texts, clause_pattern("jwt expired")).to_pylist()
    [True, False, True]
    """
    from .user_text import load_user_text

    cue = load_user_text().failure_cue
    return (f"^(?:(?s:.*?)(?:{cue})(?s:.*?){CLAUSE_START}|(?s:.*?)(?:{ERROR_KEY}|{MESSAGE_FIELD})|{_wrapper_chain()}"
            f"|{NEUTRAL_START})?"
            f"(?:{pattern})")


def keyword_pattern(pattern: str) -> str:
    r"""The regex that finds a keyword's ``pattern``: at the text's start or after any character not of a word.

    Examples
    --------
    >>> texts = pa.array(['Errors: * claim "aud" is invalid', "aud_claim", "claudette"])
    >>> pc.match_substring_regex(texts, keyword_pattern('"?aud"?')).to_pylist()
    [True, True, False]
    """
    return rf"(?:^|\W)(?:{pattern})"


def reports_failure(texts: pa.Array) -> np.ndarray:
    """Which ``texts`` report a failure in words of their own (``failure_cue`` of ``data/user_text.toml``).

    A keyword counts only in such a text: "token expired" logged at INFO while
    a client refreshes it is no refusal, ``ERROR … token expired`` is.

    Examples
    --------
    >>> reports_failure(pa.array(["INFO token expired, refreshing", "ERROR auth: token expired", None])).tolist()
    [False, True, False]
    """
    from .user_text import load_user_text

    cue = pc.match_substring_regex(texts, load_user_text().failure_cue)
    flags: np.ndarray = pc.fill_null(cue, False).to_numpy(zero_copy_only=False)
    return flags


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


@cache
def _wrapper_chain() -> str:
    """A chain of wrappers: software-written framing, as neutral as no prefix at all."""
    return "(?:" + "|".join(f"(?:{wrapper.pattern})" for wrapper in load_wrappers()) + ")+"


@cache
def _wrapper_start() -> str:
    """A regex matching texts that begin with a wrapper."""
    return "^(?:" + "|".join(f"(?:{wrapper.pattern})" for wrapper in load_wrappers()) + ")"


def _assign(values: dict[str, np.ndarray], positions: np.ndarray, captures: dict[str, np.ndarray]) -> None:
    for name, captured in captures.items():
        # An optional group that did not take part captures "": keep it null.
        cleaned = np.where(captured == "", np.array(None, dtype=object), captured)
        values[name][positions] = cleaned


def coverage_table(catalogue: Catalogue) -> str:
    """The catalogue's coverage as a Markdown table: family, software, signatures, samples, causes.

    The README carries this table; a test keeps it equal to the catalogue.

    Examples
    --------
    >>> coverage_table(load_catalogue()).splitlines()[0]
    '| family | validator | signatures | samples | causes |'
    """
    rows: dict[str, list[Signature]] = {}
    for signature in catalogue.signatures:
        rows.setdefault(signature.family, []).append(signature)
    lines = ["| family | validator | signatures | samples | causes |", "|---|---|---|---|---|"]
    for family, members in sorted(rows.items()):
        causes = sorted({s.cause for s in members if s.cause})
        samples = sum(len(s.samples) for s in members)
        software = sorted({s.software for s in members})
        lines.append(f"| `{family}` | {', '.join(software)} | {len(members)} | {samples} | {', '.join(causes)} |")
    total_samples = sum(len(s.samples) for s in catalogue.signatures)
    lines.append(f"| **{len(rows)} families** | | **{len(catalogue.signatures)}** | **{total_samples}** | |")
    return "\n".join(lines)
