"""Messages read again as words: identifiers split, long values shortened."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tokenaudit.catalogue.wording import VALUE_MARK, as_words


@pytest.mark.parametrize(("text", "words"), [
    ("InvalidIssuer", "Invalid Issuer"),  # a Rust enum logged with Debug
    ("JWSError JWSInvalidSignature", "JWS Error JWS Invalid Signature"),  # an acronym before a word
    ("INVALID_CUSTOM_TOKEN : AUDIENCE_MISMATCH", "INVALID CUSTOM TOKEN : AUDIENCE MISMATCH"),
    ("jwt_auth_bad_iss", "jwt auth bad iss"),
    ("ECONNREFUSED", "ECONNREFUSED"),  # one word in capitals stays one word
])
def test_identifiers_are_split_into_their_words(text: str, words: str) -> None:
    assert as_words(pa.array([text])).to_pylist() == [words]


@pytest.mark.parametrize(("text", "read"), [
    ("The key id, paPifw94MwpwDx3Wcs-Xz6mbULZSLAW3AQKrXQjPxYk, was not found",
     f"The key id, {VALUE_MARK}, was not found"),
    ("Signature b'WW2dPFK12vFlPi3vnvbN_7LlsUE' does not match", f"Signature b'{VALUE_MARK}' does not match"),
    ("session 3f2c9a1e-7b4d-4c1a-9e8f-0a1b2c3d4e5f expired", f"session {VALUE_MARK} expired"),
])
def test_a_long_value_holding_a_digit_becomes_one_mark(text: str, read: str) -> None:
    assert as_words(pa.array([text])).to_pylist() == [read]


def test_short_numbers_and_words_without_digits_are_kept() -> None:
    texts = ["HTTP 401 from /v2/token", "AuthenticationHandlerError", "x509: certificate signed by unknown authority"]
    assert as_words(pa.array(texts)).to_pylist() == [
        "HTTP 401 from /v2/token", "Authentication Handler Error", "x509: certificate signed by unknown authority"]


def test_nulls_stay_null() -> None:
    assert as_words(pa.array([None, "InvalidAudience"], pa.string())).to_pylist() == [None, "Invalid Audience"]
