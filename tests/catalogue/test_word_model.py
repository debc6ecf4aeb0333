"""The word model: trained on the catalogue's samples only, held to the keywords' field rules, cached as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tokenaudit.catalogue import word_model as words
from tokenaudit.catalogue.loading import load_catalogue
from tokenaudit.catalogue.matching import match_messages
from tokenaudit.catalogue.word_model import (
    NOTHING,
    THRESHOLD,
    WordModel,
    features,
    guess_causes,
    train,
    training_examples,
    word_model,
)

#: Failures in words no entry of the catalogue holds (checked below), each naming its cause plainly.
UNMATCHED_FAILURES = {
    "login failed: nonce in the returned id token differs from the one we sent": "login_state",
    "error: the nonce of the id token differs from the session nonce": "login_state",
    "error: no published key carries the kid of this token": "unknown_signing_key",
    "failed: the token kid names no key of the jwks": "unknown_signing_key",
    "rejected: clock skew, the token is not valid before a later time": "not_yet_valid",
}


def test_features_are_words_and_adjacent_pairs_with_camel_case_split() -> None:
    assert features("InvalidAudience for api") == [
        "invalid", "audience", "for", "api", "invalid_audience", "audience_for", "for_api"]
    assert features("jwt_auth_bad_iss") == ["jwt", "auth", "bad", "iss", "jwt_auth", "auth_bad", "bad_iss"]


def test_numbers_ids_and_single_letters_are_no_words() -> None:
    assert features("401 2024-01-01 a b 7f3a9c") == []
    assert features("kid 7f3a9c not found") == ["kid", "not", "found", "kid_not", "not_found"]


def test_training_is_deterministic_and_learns_the_words_of_each_label() -> None:
    examples = [("token is expired", "expired"), ("the token has expired", "expired"),
                ("issuer is invalid", "issuer_mismatch"), ("invalid issuer claim", "issuer_mismatch"),
                ("job done", NOTHING), ("job started", NOTHING)]
    first, second = train(examples), train(examples)
    assert np.array_equal(first.weights, second.weights)
    guesses = first.guess(["expired token", "bad issuer claim", "job"], threshold=0.4)
    assert [g.cause for g in guesses] == ["expired", "issuer_mismatch", None]


def test_a_guess_below_the_threshold_names_nothing() -> None:
    model = train([("token is expired", "expired"), ("the token has expired", "expired"),
                   ("issuer is invalid", "issuer_mismatch"), ("invalid issuer claim", "issuer_mismatch")])
    [guess] = model.guess(["completely unrelated words"], threshold=0.99)
    assert guess.cause is None and 0 < guess.probability < 0.99


def test_the_model_learns_only_from_the_catalogue_samples() -> None:
    catalogue = load_catalogue()
    examples = training_examples(catalogue)
    samples = [(sample.message, signature) for signature in catalogue.signatures for sample in signature.samples]
    assert [text for text, _ in examples] == [message for message, _ in samples]
    for (text, label), (_, signature) in zip(examples, samples, strict=True):
        if signature.kind == "cause" and label != NOTHING and text in {s.message for s in signature.samples
                                                                         if s.match}:
            assert label == signature.cause


def test_a_near_miss_teaches_what_the_catalogue_makes_of_it() -> None:
    catalogue = load_catalogue()
    misses = {sample.message for signature in catalogue.signatures for sample in signature.samples
              if not sample.match}
    taught = {text: label for text, label in training_examples(catalogue) if text in misses}
    matched = match_messages(pa.array(sorted(taught)), catalogue, format_name="generic_text",
                             generic_search=True).column("signature").to_pylist()
    for text, signature in zip(sorted(taught), matched, strict=True):
        if all(text != s.message for sig in catalogue.signatures for s in sig.samples if s.match):
            assert taught[text] == (catalogue.by_id[signature].cause or NOTHING if signature else NOTHING)


def _guessed(texts: list[str], *, searched: list[str] | None = None, searchable: np.ndarray | None = None,
             generic_search: bool = True) -> list[dict[str, object]]:
    """What the pipeline makes of ``texts``: the catalogue's match, then the word model on the searched texts."""
    catalogue = load_catalogue()
    messages = pa.array(texts)
    matched = match_messages(messages, catalogue, format_name="generic_text", generic_search=generic_search)
    rows: list[dict[str, object]] = guess_causes(matched, pa.array(searched) if searched else messages, catalogue,
                                                 searchable=searchable).to_pylist()
    return rows


@pytest.mark.parametrize(("text", "cause"), UNMATCHED_FAILURES.items())
def test_a_failure_in_words_no_entry_holds_gets_the_word_tier(text: str, cause: str) -> None:
    bare = match_messages(pa.array([text]), load_catalogue(), format_name="generic_text", generic_search=True)
    assert bare.column("signature").to_pylist() == [None]  # no entry matches: the word model is the only answer
    [row] = _guessed([text])
    assert (row["signature"], row["tier"], row["confidence"]) == (f"words.{cause}", "words", "low")
    assert all(row[name] is None for name in ("audience", "kid", "found_issuer", "detail"))  # it captures nothing


def test_a_match_of_the_catalogue_is_kept() -> None:
    [row] = _guessed(["auth: rejecting request -> Token is expired"])
    assert row["tier"] == "phrase"


@pytest.mark.parametrize("text", [
    "the token kid names a key of the jwks",  # no failure reported
    "the nonce of the id token equals the session nonce",
])
def test_a_line_that_reports_no_failure_is_not_guessed(text: str) -> None:
    [row] = _guessed([text])
    assert row["signature"] is None


def test_a_program_that_echoes_input_is_not_guessed() -> None:
    [row] = _guessed([next(iter(UNMATCHED_FAILURES))], searchable=np.array([False]))
    assert row["signature"] is None


def test_the_masked_text_is_what_the_model_reads() -> None:
    [row] = _guessed([next(iter(UNMATCHED_FAILURES))], searched=["login failed: …"])
    assert row["signature"] is None  # the words that would decide were the user's


def test_the_pipeline_guesses_only_in_formats_whose_messages_are_searched() -> None:
    from tokenaudit.formats.parsing import load_formats
    from tokenaudit.pipeline.chunk import match_failures

    text = next(iter(UNMATCHED_FAILURES))
    formats = load_formats()
    [row] = match_failures(pa.array([text]), pa.array(["app"]), formats["syslog_rfc3164"],
                           load_catalogue()).to_pylist()
    assert row["tier"] == "words"
    [row] = match_failures(pa.array([text]), pa.array(["sshd"]), formats["syslog_rfc3164"],
                           load_catalogue()).to_pylist()
    assert row["signature"] is None  # sshd echoes what a user typed
    searched = [name for name, fmt in formats.items() if not fmt.generic_search and fmt.kind == "regex"]
    [row] = match_failures(pa.array([text]), None, formats[searched[0]], load_catalogue()).to_pylist()
    assert row["signature"] is None


def test_evidence_names_the_words_that_speak_for_the_cause() -> None:
    model = word_model(load_catalogue())
    evidence = model.evidence("error: no published key carries the kid of this token", "unknown_signing_key")
    assert "kid" in evidence and "carries" not in evidence  # a word of no sample decides nothing
    assert len(model.evidence("error: no published key carries the kid of this token", "unknown_signing_key", 2)) == 2
    assert model.evidence("the bearer token", "no_such_cause") == []


def test_the_model_survives_its_json_form() -> None:
    model = word_model(load_catalogue())
    again = WordModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again is not None and again.labels == model.labels and again.vocabulary == model.vocabulary
    assert np.array_equal(again.weights, model.weights)
    assert WordModel.from_json({"labels": ["a"]}) is None and WordModel.from_json([1, 2]) is None


def test_a_cached_model_is_read_not_trained_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    catalogue = load_catalogue()
    words._MODELS.clear()  # as in a new process
    first = words.word_model(catalogue)
    assert list((tmp_path / "tokenaudit").glob("words-*.json"))
    words._MODELS.clear()

    def no_training(examples: object) -> WordModel:
        raise AssertionError("trained again")

    monkeypatch.setattr(words, "train", no_training)
    assert np.array_equal(words.word_model(catalogue).weights, first.weights)


def test_the_threshold_is_a_probability_above_a_coin_toss() -> None:
    assert 0.5 <= THRESHOLD < 1
