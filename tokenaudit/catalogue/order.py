"""The catalogue as an ordered set of signatures: which ones a message of a format is tried with, in which order.

:class:`Catalogue` holds the signatures (tier-1 signatures first, then phrases,
then keywords) and, per log format, selects the envelopes, the whole-message
signatures, the searched ones, the phrases and the keywords; :meth:`Catalogue.steps`
gives the order in which :func:`tokenaudit.catalogue.matching.match_messages` tries
them, first match wins, and :class:`StepIndex` which steps a text's literals can wake.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import CatalogueError
from ..models import Signature
from .literals import NEVER, LiteralIndex, folds_case, literal_marker
from .positions import anchored_pattern


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
                woken.setdefault((step.searched, folds_case(step.signature), literal), []).append(number)
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
                for sample in signature.samples:  # the word model learns from them: they change what events say
                    digest.update(f"{sample.match}\0{sample.message}\0".encode())
            object.__setattr__(self, "fingerprint", digest.hexdigest()[:16])

    def __getstate__(self) -> dict[str, object]:
        """Its fields only: what it builds and keeps (compiled patterns, Aho-Corasick automata) is built again
        where it is unpickled (a worker of a cluster ingest), and some of it cannot be pickled.

        Examples
        --------
        >>> from tokenaudit.catalogue.loading import load_catalogue
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
        """Signatures keyed by id, and the word model's entry for each cause (:meth:`word_signature`)."""
        named = {signature.id: signature for signature in self.signatures}
        causes = sorted({signature.cause for signature in self.signatures if signature.cause})
        return {**{f"words.{cause}": _word_signature(cause) for cause in causes}, **named}

    def word_signature(self, cause: str) -> Signature:
        """The entry an event the word model named ``cause`` refers to (``words.<cause>``).

        Examples
        --------
        >>> from tokenaudit.catalogue.loading import load_catalogue
        >>> entry = load_catalogue().word_signature("expired")
        >>> entry.id, entry.tier, entry.cause
        ('words.expired', 'words', 'expired')
        """
        return self.by_id[f"words.{cause}"]

    @cached_property
    def literals(self) -> LiteralIndex:
        """Every signature's prefilter literals in one automaton: which texts hold which, in one scan."""
        return LiteralIndex(
            [literal for s in self.signatures if not folds_case(s) for literal in s.prefilter],
            [literal for s in self.signatures if folds_case(s) for literal in s.prefilter],
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

    def native(self, format_name: str) -> list[Signature]:
        """Tier-1 texts of the software that writes ``format_name``'s messages: their ``applies_to`` names it.

        A format whose messages are not searched (``generic_search = false``,
        oauth2-proxy's auth log, say) still has them looked for at the start of
        its message field: there the software writes its own text, and the
        user's name stands in a field of its own.

        Examples
        --------
        >>> from tokenaudit.catalogue.loading import load_catalogue
        >>> "oauth2_proxy.csrf_mismatch" in [s.id for s in load_catalogue().native("oauth2_proxy_auth")]
        True
        """
        return list(self._remember(("native", format_name), lambda: [
            s for s in self.signatures
            if s.kind == "cause" and s.search and s.tier == "signature" and format_name in s.applies_to
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
        >>> import pyarrow as pa, pyarrow.compute as pc
        >>> from tokenaudit.catalogue.loading import load_catalogue
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
        chosen += self.searchers(format_name) if generic_search else self.native(format_name)
        if not chosen and not phrases:
            return NEVER
        if any(not s.prefilter for s in [*chosen, *phrases]):
            return None
        return literal_marker([literal for s in chosen for literal in s.prefilter],
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
        >>> from tokenaudit.catalogue.loading import load_catalogue
        >>> print(load_catalogue().keyword_marker("syslog_rfc3164", generic_search=False))
        None
        >>> "(?i:" in load_catalogue().keyword_marker("syslog_rfc3164", generic_search=True)
        True
        """
        if not generic_search or not self.keywords(format_name):
            return None
        marker: str = self._remember(("keyword_marker", f"{format_name}\0{raw_json}"), lambda: literal_marker(
            [], [literal for s in self.keywords(format_name) for literal in s.prefilter], raw_json=raw_json) or "")
        return marker

    def steps(self, format_name: str, *, generic_search: bool) -> list[MatchStep]:
        """The order in which a message of ``format_name`` is tried, first match wins.

        Envelopes and whole-message signatures on the text as written; then,
        without ``generic_search``, the :meth:`native` texts at the message's
        start; with it, tier-1 texts at the start (or after wrappers), tier-1
        texts at any clause, and last the phrases at any clause, on the text with
        the user's spans masked, and after them the keywords anywhere in a
        message that reports a failure, and the coarse entries after the
        keywords: a software's catch-all texts (``AuthFailed: Authentication
        failed: <description>``), whose description a keyword may name more
        exactly, and phrases of a bare OAuth error code. (:func:`match_messages`
        then reads the messages none of these matched once more for the
        keywords, as words.)
        """
        def compute() -> list[MatchStep]:
            steps = [MatchStep(s, "whole", searched=False)
                     for s in [*self.envelopes(format_name), *self.direct(format_name)]]
            if generic_search:
                searchers = [s for s in self.searchers(format_name) if not s.coarse]
                steps += [MatchStep(s, "start", searched=True) for s in searchers]
                phrases = self.phrases(format_name)
                steps += [MatchStep(s, "clause", searched=True)
                          for s in [*searchers, *(phrase for phrase in phrases if not phrase.coarse)]]
                steps += [MatchStep(s, "within", searched=True) for s in self.keywords(format_name)]
                coarse = [s for s in [*self.searchers(format_name), *phrases] if s.coarse]
                steps += [MatchStep(s, "clause", searched=True) for s in coarse]
            else:
                steps += [MatchStep(s, "start", searched=False) for s in self.native(format_name)]
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
        clash = sorted({s.id for s in self.signatures} & {s.id for s in other.signatures})
        if clash:
            raise CatalogueError(f"signature id(s) defined twice: {', '.join(clash)}")
        return Catalogue(self.signatures + other.signatures)


def _applies(signature: Signature, format_name: str) -> bool:
    return any(fnmatch.fnmatchcase(format_name, glob) for glob in signature.applies_to)


def _word_signature(cause: str) -> Signature:
    """The entry of the word model's guesses of ``cause``: no pattern, no sample, no value captured."""
    return Signature(id=f"words.{cause}", family="words", kind="cause", title=f"words the catalogue's samples of "
                     f"{cause} use", pattern="", cause=cause, search=True, tier="words",
                     source="a model trained on the catalogue's own samples (tokenaudit.catalogue.word_model)")
