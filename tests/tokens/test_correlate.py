"""A captured token refines the cause a log line gives."""

from __future__ import annotations

import json

import jwt
import pandas as pd
import pytest

import tokenaudit as ta
from tokenaudit.formats.parsing import load_formats
from tokenaudit.pipeline.chunk import ChunkContext, process_chunk
from tokenaudit.tokens.correlate import refine_with_tokens
from tokenaudit.tokens.relying_parties import RelyingParty
from tokenaudit.tokens.sightings import Sighting, tokens_table

KEY = b"f" * 32
SECRET = "s" * 32
T = pd.Timestamp("2026-11-22T10:00:00Z")
RP = RelyingParty("orders-ui", kind="oauth2-proxy", client_id="orders-ui",
                  issuer="https://kc.example.com/realms/main", expect="id")
LINE = ("2026-11-22T10:00:05+00:00 app1 orders-ui[9]: login failed: Invalid audiences: must contain "
        "`orders-ui` (found audiences: `account`)")


def keycloak_access_token() -> str:
    return jwt.encode({"iss": RP.issuer, "aud": "account", "azp": "orders-ui", "typ": "Bearer",
                       "scope": "openid email", "exp": int(T.timestamp()) + 300, "iat": int(T.timestamp()),
                       "sub": "u1"}, SECRET, algorithm="HS256")


def failures(party: str = "orders-ui") -> pd.DataFrame:
    events = process_chunk([LINE], load_formats()["syslog_iso"], ta.load_catalogue(), ChunkContext("app.log"))
    return ta.classify(events.events.to_pandas()).assign(relying_party=party)


def seen(token: str, at: pd.Timestamp) -> pd.DataFrame:
    return tokens_table([Sighting("capture.har", 0, at, token=token)], KEY)


def test_keycloak_access_token_behind_an_audience_error_becomes_type_confusion() -> None:
    before = failures()
    assert before["cause"].tolist() == ["client_id_missing"]
    after = refine_with_tokens(before, seen(keycloak_access_token(), T), {"orders-ui": RP})
    row = after.iloc[0]
    assert (row["cause"], row["log_cause"]) == ("token_type_confusion", "client_id_missing")
    assert "token_type_confusion" in row["token_causes"].split(",")
    assert before["cause"].tolist() == ["client_id_missing"]  # input untouched


@pytest.mark.parametrize("offset", [pd.Timedelta(minutes=20), -pd.Timedelta(minutes=20)])
def test_a_token_seen_far_away_in_time_is_not_used(offset: pd.Timedelta) -> None:
    after = refine_with_tokens(failures(), seen(keycloak_access_token(), T + offset), {"orders-ui": RP})
    assert after.iloc[0]["cause"] == "client_id_missing" and pd.isna(after.iloc[0]["token_fingerprint"])


def test_a_token_of_another_relying_party_is_not_used() -> None:
    other = jwt.encode({"iss": "https://other.example.com", "aud": "billing", "exp": 2_000_000_000, "iat": 1},
                       SECRET, algorithm="HS256")
    after = refine_with_tokens(failures(), seen(other, T), {"orders-ui": RP})
    assert pd.isna(after.iloc[0]["token_fingerprint"])


def test_failure_groups_say_what_the_token_showed() -> None:
    events = process_chunk([LINE], load_formats()["syslog_iso"], ta.load_catalogue(), ChunkContext("app.log"))
    frame = events.events.to_pandas().assign(realm="orders-ui")
    groups = ta.failure_groups(frame, tokens=seen(keycloak_access_token(), T), parties={"orders-ui": RP})
    group = groups.iloc[0]
    assert group["cause"] == "token_type_confusion"
    assert "the log alone said client_id_missing" in group["token_evidence"]
    assert json.loads(seen(keycloak_access_token(), T).iloc[0]["aud"]) == ["account"]
