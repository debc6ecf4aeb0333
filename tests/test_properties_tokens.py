"""Property tests: the token decoder reads any token-shaped junk as data, and never leaks it.

Tokens are built from segments that are anything but a well-formed JWT:
non-base64 text, base64 of bytes that are not JSON, JSON arrays and numbers
where objects belong, ``exp``/``iat``/``nbf`` huge, negative, fractional or
strings, nested claims, 1 to 6 segments, empty segments. The properties:
nothing raises, and neither a :class:`~tokenaudit.tokens.decode.TokenInfo` error nor
the tokens table holds the raw token or its signature segment.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import jwt
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tokenaudit.render.tables import render_diagnosis
from tokenaudit.tokens.decode import find_tokens, inspect_token
from tokenaudit.tokens.diagnose import diagnose
from tokenaudit.tokens.relying_parties import RelyingParty
from tokenaudit.tokens.sightings import (
    parse_claim_map,
    sightings_in_har,
    sightings_in_text,
    sightings_in_token_response,
    tokens_table,
)

EXAMPLES = int(os.environ.get("TOKENAUDIT_PROPS_EXAMPLES", "15")) * 4
PROPS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY = b"k" * 32
ENCODINGS = {"jws", "jwe", "opaque", "malformed", "claims"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


TEXT = st.text(st.characters(codec="utf-8"), max_size=20)
TIME = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 2**63, 10**20, 1e20, 1e300, -1e300, 1.5, 253402300800, "1700000000", "soon", True]),
    TEXT, st.none(), st.lists(st.integers(), max_size=2),
)
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**64), max_value=2**64),
              st.floats(allow_nan=False, allow_infinity=False), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=8,
)
CLAIM_NAMES = ("iss", "sub", "aud", "azp", "client_id", "cid", "appid", "scope", "scp", "typ", "nonce", "sid", "acr")
CLAIMS = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(CLAIM_NAMES, JSON_VALUE),
        "exp": TIME, "iat": TIME, "nbf": TIME, "auth_time": TIME,
    },
)
HEADER = st.fixed_dictionaries(
    {}, optional={"alg": st.one_of(st.sampled_from(["none", "RS256", "HS256", "ES256", "dir"]), JSON_VALUE),
                  "kid": JSON_VALUE, "typ": JSON_VALUE, "enc": JSON_VALUE, "crit": JSON_VALUE, "jku": JSON_VALUE},
)


def json_segment(value: Any) -> str:
    return b64(json.dumps(value).encode())


SEGMENT = st.one_of(
    CLAIMS.map(json_segment),
    JSON_VALUE.map(json_segment),  # arrays, numbers, strings, null where an object belongs
    st.binary(max_size=40).map(b64),  # base64 of bytes that are not JSON
    st.text(alphabet="ABCabc012_-+/=!%. ", max_size=24),  # not base64url
    st.sampled_from(["", "e30", "W10", "MQ", "bnVsbA", "eyJ", "=", "A" * 43, "x" * 86]),
)


@st.composite
def junk_tokens(draw: st.DrawFn) -> str:
    """Something token-shaped: a JSON header first (mostly), then 0 to 5 more junk segments."""
    first = draw(st.one_of(HEADER.map(json_segment), SEGMENT))
    rest = draw(st.lists(SEGMENT, max_size=5))
    if draw(st.booleans()):  # the usual 3 or 5 segments
        rest = (rest + [draw(SEGMENT) for _ in range(4)])[: draw(st.sampled_from([2, 4]))]
    return ".".join([first, *rest])


SCOPE_WITH_NUMBER = jwt.encode({"scope": ["openid", 1]}, key=None, algorithm="none")
AUD_FALSE = ".".join([json_segment({"alg": "none"}), json_segment({"iss": None, "aud": False}), "e30"])
DEEP_JWE_HEADER = ".".join([b64(b'{"a":' * 5000 + b"1" + b"}" * 5000), "e30", "e30", "e30", "e30"])


def secret_parts(token: str) -> list[str]:
    """The token, and every segment long enough to be worth stealing (8+ characters, as redaction uses)."""
    return [token, *(part for part in token.split(".") if len(part) >= 8)]


@PROPS
@given(token=junk_tokens())
@example(token=SCOPE_WITH_NUMBER)
@example(token=DEEP_JWE_HEADER)
@example(token=AUD_FALSE)
@example(token="eyJhbGciOiJub25lIn0..")
@example(token="....")
@example(token="Bearer ")
def test_inspect_token_reads_junk_as_data(token: str) -> None:
    info = inspect_token(token, KEY)
    assert info.encoding in ENCODINGS
    assert len(info.fingerprint) == 32
    assert isinstance(info.header, dict) and isinstance(info.claims, dict)
    if info.error is not None:
        assert info.encoding == "malformed"
        for part in secret_parts(token.strip()):
            assert part not in info.error
    # The row the tokens table keeps of it: decoded header and claims, never the token or its signature.
    text = f"Authorization: Bearer {token} 401"
    table = tokens_table(sightings_in_text(text, where="log"), KEY)
    cells = " ".join(str(value) for value in table.to_numpy().ravel())
    for found in find_tokens(text):
        parts = found.split(".")
        for secret in (found, parts[2] if found.startswith("eyJ") and len(parts) >= 3 else ""):
            assert len(secret) < 8 or secret not in cells


HUGE_EXP = jwt.encode({"exp": 10**20, "iat": -(10**17), "nbf": 1e300}, key=None, algorithm="none")
PARTIES = [RelyingParty("flags"), RelyingParty("api", client_id="cli", issuer="https://idp.test", audiences=("a",),
                                               algorithms=("RS256",))]


@PROPS
@given(token=junk_tokens(), party=st.sampled_from(PARTIES))
@example(token=HUGE_EXP, party=PARTIES[0])
def test_explain_output_of_junk_tokens(token: str, party: RelyingParty) -> None:
    """`tokenaudit explain` on junk: a diagnosis in text and JSON, without the token or its signature."""
    info = inspect_token(token, KEY)
    diagnosis = diagnose(info, party, at=pd.Timestamp("2025-06-01", tz="UTC"))
    for fmt in ("text", "json"):
        out = render_diagnosis(diagnosis, info, fmt=fmt)
        parts = token.split(".")
        for secret in (token, parts[2] if len(parts) >= 3 else ""):
            assert len(secret) < 8 or secret not in out


def test_decoder_errors_never_quote_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """If PyJWT ever put the token in its message, inspect_token's error would still not hold it."""
    token = jwt.encode({"sub": "x"}, "secret-key-of-32-bytes-or-more!!", algorithm="HS256")
    signature = token.split(".")[2]

    def leaky(value: str) -> dict[str, Any]:
        raise jwt.DecodeError(f"cannot decode {value}: segment {signature} is odd")

    monkeypatch.setattr(jwt, "get_unverified_header", leaky)
    info = inspect_token(token, KEY)
    assert info.encoding == "malformed" and info.error is not None
    assert token not in info.error and signature not in info.error
    assert "DecodeError" in info.error and "<redacted>" in info.error


@PROPS
@given(text=st.lists(st.one_of(TEXT, junk_tokens(), st.sampled_from(["Bearer ", "bearer\t", "claims: map[", "]",
                                                                     "id_token=", " "])), max_size=8).map("".join))
def test_tokens_in_text(text: str) -> None:
    for token in find_tokens(text):
        assert token in text
    for sighting in sightings_in_text(text, where="log", line_no=3):
        assert (sighting.token is None) != (sighting.claims is None)
        assert sighting.token is None or sighting.token in text


@PROPS
@given(body=st.lists(st.one_of(TEXT, st.sampled_from(["exp:", "aud:[", "map[", "]", " ", "9" * 30, "-1", "x:"])),
                     max_size=12).map("".join))
@example(body="exp:" + "9" * 5000)
@example(body="exp:\u00b2 iat:\u0661\u0662")
@example(body="aud:[a map[b:[c]] d] exp:1e20 iat:-1 nbf:soon")
def test_parse_claim_map(body: str) -> None:
    claims = parse_claim_map(body)
    assert all(isinstance(key, str) and key for key in claims)
    # A claim map's times then pass through the tokens table like any claim.
    tokens_table(sightings_in_text(f"claims: map[{body}]", where="log"), KEY)


@PROPS
@given(data=JSON_VALUE, token=junk_tokens())
def test_token_responses_of_any_shape(data: Any, token: str) -> None:
    for document in (data, {"access_token": token, "id_token": data, "refresh_token": [token]}):
        sightings = sightings_in_token_response(document, where="resp.json")
        assert all(isinstance(s.token, str) for s in sightings)
        tokens_table(sightings, KEY)


@PROPS
@given(token=junk_tokens(), junk=JSON_VALUE, started=st.one_of(TEXT, TIME))
@example(token="x", junk=None, started="9999-99-99")
@example(token="x", junk=None, started=[1])
def test_har_with_junk_tokens(token: str, junk: Any, started: Any) -> None:
    har = {"log": {"entries": [
        {"startedDateTime": started,
         "request": {"url": f"https://rp.test/cb#id_token={token}&state={junk}", "headers": [
             {"name": "Authorization", "value": f"Bearer {token}"}, {"name": "X", "value": junk}, junk],
             "postData": {"text": f"grant_type=x&assertion={token}"}},
         "response": {"headers": [{"name": "Location", "value": f"https://rp.test/?access_token={token}"}],
                      "content": {"text": json.dumps({"id_token": token, "extra": junk})}}},
        junk,
    ]}}
    sightings = sightings_in_har(har, source="login.har")
    assert all(s.where.startswith("login.har entry ") for s in sightings)
    assert all(s.ts is None or isinstance(s.ts, pd.Timestamp) for s in sightings)
    tokens_table(sightings, KEY)
