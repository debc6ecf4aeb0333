"""Tier 4: a model of the catalogue's own words, for failure lines no signature, phrase or keyword matched.

The catalogue's entries are exact texts, phrases and pairs of words; software
that says a cause in words of its own ("the bearer credential's lifetime has
run out") slips past all three. The *word model* reads such a line as a bag
of words and word pairs and says which cause the catalogue's samples that
share those words name. It is a softmax regression trained on the
catalogue's samples only (:func:`training_examples`): every positive sample
teaches its entry's cause, every near-miss sample teaches what the catalogue
itself makes of it, usually nothing. It holds no knowledge the data files do
not: a sample added to the catalogue teaches it too.

It is the least certain tier and is held to the keywords' field rules: it
reads only the masked message of a searchable program, of a format whose
messages no user controls as a whole, that reports a failure
(:func:`~tokenaudit.catalogue.positions.reports_failure`), and only when
nothing else matched. It names a cause only when its probability reaches
:data:`THRESHOLD`, with ``confidence`` low, captures no value, and its
evidence is the words that decided (:meth:`WordModel.evidence`). A fix that
widens trust is never ready on it (:func:`tokenaudit.causes.recommend.ready_fix`).

Training takes about five seconds, once per catalogue: the trained model is kept in the cache folder
(as JSON, never pickle), named by a hash of the catalogue (its entries and samples) and of the code
and data that read it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..common.files import cache_dir, read_cached, write_cached
from .matching import confidence_of, match_messages
from .positions import reports_failure

if TYPE_CHECKING:
    from .order import Catalogue

#: The least probability at which the model names a cause. Chosen with :data:`_STEPS` on the evaluation sets already
#: read (the real set, the validators, the negatives and fresh to fresh16; the model learns from none of them). Their
#: lines open to the model gave, in right and wrong answers: 56 and 12 at 60 steps and 0.6; 59 and 15 at 90 steps and
#: 0.6; 87 and 26 at 150 steps and 0.5; 88 and 29 at 200 steps and 0.5. Those lines are the misses earlier rounds
#: could not mend, so their precision is the model's worst case: on sets nobody had read it was right on 24 of 31.
THRESHOLD = 0.5

#: The label of a text that names no cause.
NOTHING = ""

#: A word is a run of letters and digits that begins with a letter, at least two long, cut at 31: a number, a hex id
#: (``7f3a9c``) and one letter are none; ``oauth2`` is one. Camel case is split first (``InvalidIssuer``).
_CAMEL, _NOT_ALNUM, _MAX_WORD = r"([a-z])([A-Z])", r"[^a-z0-9]+", 31

#: How the model is trained: gradient descent with momentum on the mean cross-entropy plus an L2 penalty.
_STEPS, _RATE, _MOMENTUM, _PENALTY = 150, 1.0, 0.9, 1e-4  # not to convergence: stopping early regularises

#: A feature seen in fewer training texts than this is left out (it would only learn its one sample by heart).
_MIN_TEXTS = 2

#: The bias feature, present in every text.
_BIAS = "<bias>"

#: The models trained or read in this process, by catalogue fingerprint.
_MODELS: dict[str, WordModel] = {}


def features(text: str) -> list[str]:
    """The words of ``text`` (camel case split, lower case) and each pair of adjacent words.

    Examples
    --------
    >>> features("JwtExpired: token expired at 10:00")
    ['jwt', 'expired', 'token', 'expired', 'at', 'jwt_expired', 'expired_token', 'token_expired', 'expired_at']
    """
    _, names = feature_table(pa.array([text], pa.string()))
    return [str(name) for name in names.to_pylist()]


def feature_table(texts: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """The :func:`features` of every text at once, in Arrow: which text each feature is of, and its name.

    Words come first, then the pairs, each in the order of the texts.

    Examples
    --------
    >>> owner, names = feature_table(pa.array(["token expired", None, "7f3a9c kid"]))
    >>> owner.tolist(), names.to_pylist()
    ([0, 0, 2, 0], ['token', 'expired', 'kid', 'token_expired'])
    """
    lowered = pc.utf8_lower(pc.replace_substring_regex(pc.fill_null(texts, ""), _CAMEL, r"\1 \2"))
    tokens = pc.split_pattern_regex(lowered, _NOT_ALNUM)
    flat = pc.list_flatten(tokens)
    is_word = pc.and_(pc.match_substring_regex(flat, "^[a-z]"), pc.greater_equal(pc.utf8_length(flat), 2))
    kept = is_word.to_numpy(zero_copy_only=False)
    owner = pc.list_parent_indices(tokens).to_numpy()[kept]
    words = pc.utf8_slice_codeunits(flat.filter(is_word), 0, _MAX_WORD)
    adjacent = owner[:-1] == owner[1:]
    pairs = pc.binary_join_element_wise(words[:-1], words[1:], "_").filter(pa.array(adjacent))
    return np.concatenate([owner, owner[:-1][adjacent]]), pa.concat_arrays([words, pairs])


@dataclass(frozen=True)
class Guess:
    """What the model makes of one text: the cause it names (``None``: nothing, or below the threshold), and the
    probability of its most likely label."""

    cause: str | None
    probability: float


@dataclass(frozen=True, eq=False)
class WordModel:
    """A trained softmax regression over :func:`features`.

    ``labels`` are the causes and :data:`NOTHING`; ``weights`` has one row per
    feature of ``vocabulary`` (row 0 is the bias) and one column per label.
    """

    labels: tuple[str, ...]
    vocabulary: dict[str, int]
    weights: np.ndarray

    @cached_property
    def _names(self) -> pa.Array:
        return pa.array(sorted(self.vocabulary, key=self.vocabulary.__getitem__), pa.string())

    def _present(self, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Each known feature of each text once: (text, vocabulary row), sorted by text."""
        owner, names = feature_table(texts)
        rows = pc.index_in(names, value_set=self._names)
        known = rows.is_valid().to_numpy(zero_copy_only=False)
        pairs = np.unique(owner[known].astype(np.int64) * len(self.vocabulary)
                          + rows.filter(rows.is_valid()).to_numpy().astype(np.int64))
        return pairs // len(self.vocabulary), pairs % len(self.vocabulary)

    def probabilities(self, texts: Sequence[str | None] | pa.Array) -> np.ndarray:
        """The probability of each label (columns, in the order of ``labels``) for each text (rows).

        A text met many times (a log repeats its messages) is scored once.
        """
        unique = pc.dictionary_encode(texts if isinstance(texts, pa.Array) else pa.array(texts, pa.string()))
        owner, rows = self._present(unique.dictionary)
        scores = np.tile(self.weights[0].astype(np.float64), (len(unique.dictionary), 1))
        for column in range(len(self.labels)):
            scores[:, column] += np.bincount(owner, weights=self.weights[rows, column], minlength=len(scores))
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        normalised: np.ndarray = (scores / scores.sum(axis=1, keepdims=True))[unique.indices.to_numpy()]
        return normalised

    def guess(self, texts: Sequence[str | None] | pa.Array, threshold: float = THRESHOLD) -> list[Guess]:
        """The cause each text names, where the model is at least ``threshold`` sure of it.

        Examples
        --------
        >>> from tokenaudit.catalogue.loading import load_catalogue
        >>> model = word_model(load_catalogue())
        >>> model.guess(["failed: the token kid names no key of the jwks"])[0].cause
        'unknown_signing_key'
        >>> model.guess(["backup finished in 3 s"])[0].cause is None
        True
        """
        if len(texts) == 0:
            return []
        p = self.probabilities(texts)
        best = p.argmax(axis=1)
        sure = p[np.arange(len(best)), best]
        return [Guess(self.labels[k] if self.labels[k] != NOTHING and s >= threshold else None, float(s))
                for k, s in zip(best.tolist(), sure.tolist(), strict=True)]

    def evidence(self, text: str, cause: str, count: int = 3) -> list[str]:
        """The words of ``text`` that speak most for ``cause`` against the other labels.

        Examples
        --------
        >>> from tokenaudit.catalogue.loading import load_catalogue
        >>> model = word_model(load_catalogue())
        >>> sorted(model.evidence("failed: the token kid names no key of the jwks", "unknown_signing_key"))
        ['key', 'kid', 'no']
        """
        if cause not in self.labels:
            return []
        column = self.labels.index(cause)
        rows = [int(row) for row in self._present(pa.array([text], pa.string()))[1] if row != 0]
        if not rows:
            return []
        weights = self.weights[rows]
        margin = weights[:, column] - weights.mean(axis=1)
        order = np.argsort(-margin, kind="stable")
        names = {index: name for name, index in self.vocabulary.items()}
        return [names[rows[i]].replace("_", " ") for i in order[:count] if margin[i] > 0]

    def to_json(self) -> dict[str, object]:
        """The model as JSON-able values (the weights as base64 of little-endian float32)."""
        return {"labels": list(self.labels), "vocabulary": sorted(self.vocabulary, key=self.vocabulary.__getitem__),
                "weights": base64.b64encode(self.weights.astype("<f4").tobytes()).decode("ascii")}

    @classmethod
    def from_json(cls, value: object) -> WordModel | None:
        """The model :meth:`to_json` wrote, or ``None`` if ``value`` is not one."""
        if not isinstance(value, dict):
            return None
        try:
            labels, vocabulary = tuple(value["labels"]), list(value["vocabulary"])
            weights = np.frombuffer(base64.b64decode(value["weights"]), dtype="<f4")
            weights = weights.reshape(len(vocabulary), len(labels)).astype(np.float32)
        except (KeyError, TypeError, ValueError):
            return None
        return cls(labels, {name: i for i, name in enumerate(vocabulary)}, weights)


def train(examples: Sequence[tuple[str, str]]) -> WordModel:
    """Train the model on ``(text, label)`` pairs (label :data:`NOTHING` for a text that names no cause).

    Deterministic: the same examples give the same weights.

    Examples
    --------
    >>> model = train([("token is expired", "expired"), ("token has expired", "expired"),
    ...                ("issuer is invalid", "issuer_mismatch"), ("invalid issuer", "issuer_mismatch"),
    ...                ("job done", ""), ("job started", "")])
    >>> [g.cause for g in model.guess(["the token expired", "issuer invalid", "job"], threshold=0.4)]
    ['expired', 'issuer_mismatch', None]
    """
    labels = tuple(sorted({label for _, label in examples}))
    label_of = {label: i for i, label in enumerate(labels)}
    owner, names = feature_table(pa.array([text for text, _ in examples], pa.string()))
    encoded = pc.dictionary_encode(names)
    spelled = encoded.dictionary.to_pylist()
    pairs = np.unique(owner.astype(np.int64) * len(spelled) + encoded.indices.to_numpy())  # each feature once a text
    texts_with = np.bincount(pairs % len(spelled), minlength=len(spelled))
    vocabulary = {_BIAS: 0}
    for name in sorted(str(spelled[i]) for i in np.flatnonzero(texts_with >= _MIN_TEXTS)):
        vocabulary[name] = len(vocabulary)
    row_of_code = np.array([vocabulary.get(str(name), -1) for name in spelled], np.int64)
    texts_of, codes = pairs // len(spelled), pairs % len(spelled)
    known = row_of_code[codes] >= 0
    texts_of, columns = texts_of[known], row_of_code[codes][known]
    # The texts as sparse rows of (text, vocabulary row), sorted by text, each with the bias; and by feature.
    n = len(examples)
    order = np.lexsort((np.r_[np.zeros(n, np.int64), columns], np.r_[np.arange(n), texts_of]))
    row_of = np.r_[np.arange(n), texts_of][order]
    indices = np.r_[np.zeros(n, np.int64), columns][order]
    indptr = np.searchsorted(row_of, np.arange(n + 1))
    by_feature = np.argsort(indices, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(indices[by_feature]) != 0])
    present = indices[by_feature][starts]
    target = np.zeros((n, len(labels)), np.float32)
    target[np.arange(n), [label_of[label] for _, label in examples]] = 1.0
    weights: np.ndarray = np.zeros((len(vocabulary), len(labels)), np.float32)
    velocity: np.ndarray = np.zeros_like(weights)
    for _ in range(_STEPS):
        ahead = weights + _MOMENTUM * velocity  # Nesterov: the gradient where the momentum is taking the weights
        scores = np.add.reduceat(ahead[indices], indptr[:-1], axis=0)
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        error = p - target
        gradient = np.zeros_like(weights)
        gradient[present] = np.add.reduceat(error[row_of[by_feature]], starts, axis=0)
        velocity = _MOMENTUM * velocity - _RATE * (gradient / n + _PENALTY * ahead)
        weights += velocity
    return WordModel(labels, vocabulary, weights)


def word_model(catalogue: Catalogue) -> WordModel:
    """The model of ``catalogue``'s words: trained once, then read from the cache folder, then kept in memory.

    Examples
    --------
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> model = word_model(load_catalogue())
    >>> "expired" in model.labels and NOTHING in model.labels
    True
    """
    kept = _MODELS.get(catalogue.fingerprint)
    if kept is not None:
        return kept
    name = _cache_name(catalogue)
    model = WordModel.from_json(read_cached(name))
    if model is None:
        model = train(training_examples(catalogue))
        write_cached(name, model.to_json(), stale="words-*.json")
    _MODELS[catalogue.fingerprint] = model
    return model


def is_trained(catalogue: Catalogue) -> bool:
    """Whether :func:`word_model` of ``catalogue`` is ready without training: kept in memory or in the cache folder.

    A display may tell its user that the first use takes a few seconds; the library itself says nothing.

    Examples
    --------
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> catalogue = load_catalogue()
    >>> _ = word_model(catalogue)
    >>> is_trained(catalogue)
    True
    """
    return catalogue.fingerprint in _MODELS or (cache_dir() / _cache_name(catalogue)).is_file()


def _cache_name(catalogue: Catalogue) -> str:
    """The cache file of ``catalogue``'s model.

    It is named by what the examples are made of: the catalogue's entries and samples (its fingerprint), and the
    code and data that decide what the catalogue makes of a near miss. Finding the examples themselves takes seconds.
    """
    digest = hashlib.sha256(catalogue.fingerprint.encode())
    here = Path(__file__).parent
    for path in sorted([*here.glob("*.py"), *(here / "data").glob("*.toml")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"words-{digest.hexdigest()[:24]}.json"


def guess_causes(matched: pa.Table, texts: pa.Array, catalogue: Catalogue, *,
                 searchable: np.ndarray | None = None) -> pa.Table:
    """Let the word model name a cause for the messages nothing matched, where the keywords could have.

    Parameters
    ----------
    matched
        What :func:`~tokenaudit.catalogue.matching.match_messages` made of the messages (at least the columns
        ``signature``, ``tier`` and ``confidence``).
    texts
        The messages as they were searched: user-controlled spans masked.
    catalogue
        The catalogue whose samples the model learnt.
    searchable
        Which messages may be searched at all (``False`` for a program that echoes user input); all by default.

    Returns
    -------
    pyarrow.Table
        ``matched``, with ``signature`` (``words.<cause>``), ``tier`` (``words``) and ``confidence`` (``low``) set
        where a message no entry matched reports a failure and the model is sure enough of a cause.

    Examples
    --------
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> texts = pa.array(["failed: the token kid names no key of the jwks", "the token kid names no key"])
    >>> catalogue = load_catalogue()
    >>> matched = match_messages(texts, catalogue, format_name="generic_text", generic_search=True)
    >>> guess_causes(matched, texts, catalogue).select(["signature", "tier", "confidence"]).to_pylist()[0]
    {'signature': 'words.unknown_signing_key', 'tier': 'words', 'confidence': 'low'}
    >>> guess_causes(matched, texts, catalogue).column("signature")[1].as_py() is None  # reports no failure
    True
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    open_rows = pc.is_null(matched.column("signature")).to_numpy(zero_copy_only=False)
    if searchable is not None:
        open_rows &= np.asarray(searchable, dtype=bool)
    rows = np.flatnonzero(open_rows)
    if len(rows) == 0:
        return matched
    candidates = pc.fill_null(texts.take(pa.array(rows, pa.int64())), "")
    rows = rows[reports_failure(candidates)]
    if len(rows) == 0:
        return matched
    guesses = word_model(catalogue).guess(texts.take(pa.array(rows, pa.int64())))
    named = [(int(row), catalogue.word_signature(guess.cause)) for row, guess in zip(rows, guesses, strict=True)
             if guess.cause is not None]
    if not named:
        return matched
    # Only the guessed rows change; they are in ascending order, as replace_with_mask fills them.
    guessed = np.zeros(matched.num_rows, dtype=bool)
    guessed[[row for row, _ in named]] = True
    values = {"signature": [entry.id for _, entry in named], "tier": [entry.tier for _, entry in named],
              "confidence": [confidence_of(entry, "within") for _, entry in named]}
    for name, new in values.items():
        column = matched.column(name).combine_chunks().cast(pa.string())
        matched = matched.set_column(matched.column_names.index(name), name,
                                     pc.replace_with_mask(column, pa.array(guessed), pa.array(new, pa.string())))
    return matched


def training_examples(catalogue: Catalogue) -> list[tuple[str, str]]:
    """The catalogue's samples as ``(text, label)`` pairs: what the model learns from, and nothing else.

    A positive sample of an entry that names a cause teaches that cause. Every
    other sample (a near miss, an envelope's line) teaches what the catalogue's
    own tiers make of it, read as a message of generic text: its cause, or
    :data:`NOTHING`.

    Examples
    --------
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> examples = training_examples(load_catalogue())
    >>> len(examples) > 5000, {label for _, label in examples} >= {"expired", NOTHING}
    (True, True)
    """
    taught: list[tuple[str, str | None]] = []
    for signature in catalogue.signatures:
        for sample in signature.samples:
            cause = signature.cause if sample.match and signature.kind == "cause" else None
            taught.append((sample.message, cause))
    unknown = [text for text, cause in taught if cause is None]
    matched = match_messages(pa.array(unknown, pa.string()), catalogue, format_name="generic_text",
                             generic_search=True).column("signature").to_pylist()
    read = {text: (catalogue.by_id[found].cause or NOTHING) if found else NOTHING
            for text, found in zip(unknown, matched, strict=True)}
    return [(text, cause if cause is not None else read[text]) for text, cause in taught]
