"""Token kind and issuer family on real decoded claim sets (FIELD_NOTES §2d).

Each claim set names its source. Where a source quotes only some claims, the
rest are marked as filled in and follow the vendor's documented claim table.
"""

from __future__ import annotations

from typing import Any

import pytest

from tokenaudit.tokens.kind import (
    Verdict,
    issuer_family,
    token_kind,
    zitadel_project_ids,
    zitadel_roles,
)

# ZITADEL ID token for a Proxmox realm. `aud` is quoted from the no3x.de blog; the
# other claims are filled in from the ID-token column of zitadel claims.md.
ZITADEL_ID = {
    "iss": "https://auth.example.com",
    "aud": ["377576883644006407", "377572587972067335"],
    "azp": "377576883644006407",
    "sub": "77776025198584418",
    "nonce": "blQtVEJHNTF0WHhFQmhqZ0RqeHJsdzdkd2d",
    "at_hash": "fMB-Zq2MAHm-rv0gn5mDhA",
    "amr": ["pwd"],
    "auth_time": 1311280969,
    "exp": 1311281970,
    "iat": 1311280970,
}
# Introspection response mapped to claims (smartive/zitadel-net #422).
ZITADEL_INTROSPECTION = {
    "active": True,
    "aud": ["202357448760164787@licensing", "202357485485490611@licensing", "202342795002773939"],
    "client_id": "202357448760164787@licensing",
    "email_verified": True,
    "exp": 1677153977,
    "family_name": "Wratten",
    "iat": 1677110777,
}
# pingvin-share #795 (ids as redacted by the reporter).
PINGVIN_ROLES = {
    "urn:zitadel:iam:org:project:2XXProjectIDXX5:roles": {
        "admin": {"2XXResourceIDXX3": "domain.com"},
        "user": {"2XXResourceIDXX3": "domain.com"},
    },
    "urn:zitadel:iam:org:project:roles": {
        "admin": {"2XXResourceIDXX3": "domain.com"},
        "user": {"2XXResourceIDXX3": "domain.com"},
    },
}
# simov/grant #257.
KEYCLOAK_ACCESS = {
    "exp": 1627481458, "iat": 1627481157, "auth_time": 1627481157, "jti": "17b94735-…",
    "iss": "http://localhost:9090/auth/realms/Adapt", "aud": "account", "sub": "09a3ceb7-…",
    "typ": "Bearer", "azp": "directus-ui", "session_state": "fd0d6f25-…", "acr": "1",
    "allowed-origins": ["http://localhost:8050", "http://localhost:8055"],
    "realm_access": {"roles": ["default-roles-adapt", "offline_access", "system_admin",
                               "uma_authorization"]},
    "resource_access": {"account": {"roles": ["manage-account", "manage-account-links",
                                              "view-profile"]}},
    "scope": "openid email profile", "email_verified": False, "name": "admin adapt",
    "preferred_username": "system~~admin",
}
# StevenJDH/akhq-acl-mapper README.
KEYCLOAK_ID = {
    "exp": 1725228553, "iat": 1725228493, "jti": "2fd02132-…",
    "iss": "http://localhost:8080/realms/master", "aud": "akhq", "sub": "a123346f-…", "typ": "ID",
    "azp": "akhq", "sid": "bfc80bf8-…", "acr": "1", "email_verified": True, "name": "john doe",
    "groups": {},
}
# RFC 9068 Figure 2.
RFC9068_HEADER = {"typ": "at+JWT", "alg": "RS256", "kid": "RjEwOwOA"}
RFC9068_CLAIMS = {
    "iss": "https://authorization-server.example.com/", "sub": "5ba552d67",
    "aud": "https://rs.example.com/", "exp": 1639528912, "iat": 1618354090,
    "jti": "dbe39bf3a3ba4238a513f51d6e1691c4", "client_id": "s6BhdRkqt3",
    "scope": "openid profile reademail",
}
# auth0.com/docs/secure/tokens/access-tokens/access-token-profiles.
AUTH0_DEFAULT = {
    "iss": "https://my-domain.auth0.com/", "sub": "auth0|123456",
    "aud": ["https://example.com/health-api", "https://my-domain.auth0.com/userinfo"],
    "azp": "my_client_id", "exp": 1311281970, "iat": 1311280970,
    "scope": "openid profile read:patients read:admin", "my_custom_claim": "my_custom_value",
}
AUTH0_RFC9068 = {
    **{k: v for k, v in AUTH0_DEFAULT.items() if k != "azp"},
    "client_id": "my_client_id", "jti": "73WakrfVbNJBaAmhQtEeDv",
}
# Entra v1.0: the Office 365 Management API "Sample token" (MicrosoftDocs).
ENTRA_V1 = {
    "aud": "https://manage.office.com",
    "iss": "https://sts.windows.net/41463f53-8812-40f4-890f-865bf6e35190/",
    "iat": 1427246416, "nbf": 1427246416, "exp": 1427250316, "ver": "1.0",
    "tid": "41463f53-8812-40f4-890f-865bf6e35190", "amr": ["pwd"],
    "oid": "1cef1fdb-ff52-48c4-8e4e-dfb5ea83d357", "upn": "admin@contoso.onmicrosoft.com",
    "unique_name": "admin@contoso.onmicrosoft.com",
    "appid": "a6099727-6b7b-482c-b509-1df309acc563", "appidacr": "1",
    "scp": "ActivityFeed.Read ServiceHealth.Read", "acr": "1",
}
# Entra v2.0: the access-token sample from the Microsoft identity platform docs.
# The app requested a token for itself, so aud == azp even though it is an access token.
ENTRA_V2 = {
    "aud": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
    "iss": "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
    "iat": 1537231048, "nbf": 1537231048, "exp": 1537234948,
    "azp": "6e74172b-be56-4843-9ff4-e66a39bb12e3", "azpacr": "0", "name": "Abe Lincoln",
    "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474", "preferred_username": "abeli@microsoft.com",
    "rh": "I", "scp": "access_as_user", "sub": "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ",
    "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0",
}
# Okta access token, custom authorization server "default".
OKTA_ACCESS = {
    "ver": 1, "jti": "AT.xtjhr8FeMkyMfgLiFzVYOYPbgqWdd6ONULT3ffeK7d4",
    "iss": "https://${yourOktaDomain}/oauth2/default", "aud": "api://default",
    "iat": 1575929637, "exp": 1575933237, "cid": "0oaosna3ilNxgPTmk0h7",
    "uid": "00uixa271s6x7qt8I0h7", "scp": ["openid", "phone"], "sub": "joe.smith@okta.com",
}
# Google ID token, from Google's OpenID Connect guide (legacy iss without scheme).
GOOGLE_ID = {
    "iss": "accounts.google.com", "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q", "email_verified": "true",
    "sub": "10769150350006150715113082367", "azp": "1234987819200.apps.googleusercontent.com",
    "email": "jsmith@example.com", "aud": "1234987819200.apps.googleusercontent.com",
    "iat": 1353601026, "exp": 1353604926, "nonce": "0394852-3190485-2490358", "hd": "example.com",
}
# Dex ID token, from the dexidp/dex README.
DEX_ID = {
    "iss": "http://127.0.0.1:5556/dex", "sub": "CgcyMzQyNzQ5EgZnaXRodWI", "aud": "example-app",
    "exp": 1492882042, "iat": 1492795642, "at_hash": "bi96gOXZShvlWYtal9Eqiw",
    "email": "jane.doe@coreos.com", "email_verified": True, "groups": ["admins", "developers"],
    "name": "Jane Doe",
}
# OpenID Connect Back-Channel Logout 1.0 §2.4, non-normative example.
LOGOUT = {
    "iss": "https://server.example.com", "sub": "248289761001", "aud": "s6BhdRkqt3",
    "iat": 1471566154, "jti": "bWJq", "sid": "08a5019c-17e1-4977-8f42-65a12843ea02",
    "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
}


def has(verdict: Verdict, fragment: str) -> bool:
    return any(fragment in reason for reason in verdict.evidence)


KIND_CASES = [
    ("zitadel_id", {"typ": "JWT"}, ZITADEL_ID, "id_token", "nonce present"),
    ("zitadel_introspection", {}, ZITADEL_INTROSPECTION, "access_token", "client_id present"),
    ("keycloak_access", {"typ": "JWT"}, KEYCLOAK_ACCESS, "access_token", "payload typ is Bearer"),
    ("keycloak_id", {"typ": "JWT"}, KEYCLOAK_ID, "id_token", "payload typ is ID"),
    ("rfc9068_fig2", RFC9068_HEADER, RFC9068_CLAIMS, "access_token", "RFC 9068 §2.1"),
    ("auth0_default", {"typ": "JWT"}, AUTH0_DEFAULT, "access_token", "/userinfo audience"),
    ("auth0_rfc9068", {"typ": "at+jwt"}, AUTH0_RFC9068, "access_token", "header typ is at+jwt"),
    ("entra_v1", {"typ": "JWT"}, ENTRA_V1, "access_token", "appid present"),
    ("entra_v2", {"typ": "JWT"}, ENTRA_V2, "access_token", "Entra ver 2.0 with scp/roles"),
    ("okta_access", {}, OKTA_ACCESS, "access_token", "cid present"),
    ("google_id", {}, GOOGLE_ID, "id_token", "at_hash present"),
    ("dex_id", {}, DEX_ID, "id_token", "at_hash present"),
    ("backchannel_logout", {"typ": "logout+jwt"}, LOGOUT, "logout_token", "backchannel-logout"),
]


@pytest.mark.parametrize(("header", "claims", "kind", "fragment"),
                         [c[1:] for c in KIND_CASES], ids=[c[0] for c in KIND_CASES])
def test_token_kind_on_real_claim_sets(header: dict[str, Any], claims: dict[str, Any],
                                       kind: str, fragment: str) -> None:
    verdict = token_kind(header, claims)
    assert verdict.value == kind, verdict.evidence
    assert has(verdict, fragment), verdict.evidence


def test_entra_v2_aud_equal_to_azp_is_outvoted_but_reported() -> None:
    verdict = token_kind({"typ": "JWT"}, ENTRA_V2)
    assert verdict.value == "access_token"
    assert has(verdict, "aud equals azp")


@pytest.mark.parametrize("typ", ["Refresh", "Offline"])
def test_keycloak_refresh_token_despite_scope(typ: str) -> None:
    claims = {"iss": "http://localhost:8080/realms/master", "typ": typ, "azp": "akhq",
              "scope": "openid email profile"}
    verdict = token_kind({"typ": "JWT"}, claims)
    assert verdict.value == "refresh_token"
    assert has(verdict, f"payload typ is {typ}")


def test_keycloak_id_token_from_keats_344() -> None:
    claims = {"aud": "podfetch", "typ": "ID", "azp": "podfetch",
              "at_hash": "j3xvmXKSwEcNpY0LcD8xtQ"}
    verdict = token_kind({}, claims)
    assert verdict.value == "id_token"
    assert has(verdict, "aud equals azp")


def test_header_typ_is_case_insensitive() -> None:
    verdict = token_kind({"typ": "Application/AT+JWT"}, {})
    assert verdict.value == "access_token"
    assert has(verdict, "RFC 9068 §2.1")


def test_empty_claims_are_unknown() -> None:
    verdict = token_kind({}, {})
    assert verdict.value == "unknown"
    assert has(verdict, "no discriminating")


def test_conflicting_signals_are_unknown() -> None:
    verdict = token_kind({}, {"nonce": "n-0S6", "scope": "openid", "aud": "x"})
    assert verdict.value == "unknown"
    assert has(verdict, "signals conflict")
    assert has(verdict, "nonce present") and has(verdict, "scope present")


def test_at_jwt_header_with_id_token_markers_is_unknown() -> None:
    verdict = token_kind({"typ": "at+jwt"}, {"nonce": "n", "at_hash": "h"})
    assert verdict.value == "unknown"
    assert has(verdict, "access_token=10, id_token=6")


def test_weak_evidence_alone_is_unknown() -> None:
    verdict = token_kind({}, {"aud": "akhq", "azp": "akhq"})
    assert verdict.value == "unknown"
    assert has(verdict, "only weak evidence")


FAMILY_CASES = [
    ("zitadel_id", ZITADEL_ID, "generic", "no known shape"),
    ("zitadel_roles", {"iss": "https://auth.example.com", **PINGVIN_ROLES}, "zitadel",
     "urn:zitadel:iam:* claims"),
    ("zitadel_introspection", ZITADEL_INTROSPECTION, "zitadel", "<id>@<project>"),
    ("zitadel_cloud", {"iss": "https://my-instance-abc123.zitadel.cloud"}, "zitadel",
     "zitadel.cloud"),
    ("keycloak_access", KEYCLOAK_ACCESS, "keycloak", "/realms/ and a realm name"),
    ("keycloak_id", KEYCLOAK_ID, "keycloak", "azp with payload typ ID"),
    ("keycloak_no_iss", {k: v for k, v in KEYCLOAK_ACCESS.items() if k != "iss"}, "keycloak",
     "realm_access claim"),
    ("authentik", {"iss": "https://authentik.company/application/o/proxmox/"}, "authentik",
     "/application/o/<slug>/"),
    ("auth0_default", AUTH0_DEFAULT, "auth0", "*.auth0.com"),
    ("auth0_custom_domain", {**AUTH0_DEFAULT, "iss": "https://login.example.com/"}, "auth0",
     "auth0| connection prefix"),
    ("entra_v1", ENTRA_V1, "entra_v1", "sts.windows.net"),
    ("entra_v2", ENTRA_V2, "entra_v2", "/v2.0"),
    ("entra_v1_no_iss", {k: v for k, v in ENTRA_V1.items() if k != "iss"}, "entra_v1",
     "ver=1.0"),
    ("okta", OKTA_ACCESS, "okta", "/oauth2/default"),
    ("okta_no_iss", {k: v for k, v in OKTA_ACCESS.items() if k != "iss"}, "okta",
     "integer ver 1"),
    ("google", GOOGLE_ID, "google", "accounts.google.com"),
    ("dex", DEX_ID, "dex", "/dex"),
    ("dex_federated", {"iss": "https://login.example.com",
                       "federated_claims": {"connector_id": "github", "user_id": "2342749"}},
     "dex", "federated_claims"),
    ("rfc9068", RFC9068_CLAIMS, "generic", "no known shape"),
]


@pytest.mark.parametrize(("claims", "family", "fragment"),
                         [c[1:] for c in FAMILY_CASES], ids=[c[0] for c in FAMILY_CASES])
def test_issuer_family(claims: dict[str, Any], family: str, fragment: str) -> None:
    verdict = issuer_family({}, claims)
    assert verdict.value == family, verdict.evidence
    assert has(verdict, fragment), verdict.evidence


def test_issuer_family_tie_is_generic() -> None:
    verdict = issuer_family({}, {"federated_claims": {}, "hd": "example.com"})
    assert verdict.value == "generic"
    assert has(verdict, "tie between")


def test_issuer_family_reports_disagreeing_claims() -> None:
    verdict = issuer_family({}, {"iss": "https://kc.example.com/realms/r",
                                 "urn:zitadel:iam:user:resourceowner:id": "1"})
    assert verdict.value == "keycloak"
    assert has(verdict, "but claims suggest zitadel")


def test_zitadel_project_ids_from_roles_claim() -> None:
    assert zitadel_project_ids(PINGVIN_ROLES) == ("2XXProjectIDXX5",)


def test_zitadel_project_ids_from_aud_skip_the_client() -> None:
    assert zitadel_project_ids(ZITADEL_ID) == ("377572587972067335",)


def test_zitadel_project_ids_skip_at_project_client_ids() -> None:
    assert zitadel_project_ids(ZITADEL_INTROSPECTION) == ("202342795002773939",)


def test_zitadel_project_ids_none() -> None:
    assert zitadel_project_ids(KEYCLOAK_ACCESS) == ()
    assert zitadel_project_ids({}) == ()


def test_zitadel_roles_pingvin_shape() -> None:
    expected = PINGVIN_ROLES["urn:zitadel:iam:org:project:roles"]
    assert zitadel_roles(PINGVIN_ROLES) == expected
    assert zitadel_roles(PINGVIN_ROLES, project_id="2XXProjectIDXX5") == expected
    assert zitadel_roles(PINGVIN_ROLES, project_id="other") == {}
    assert zitadel_roles({}) == {}


def test_zitadel_roles_returns_a_copy() -> None:
    roles = zitadel_roles(PINGVIN_ROLES)
    roles["intruder"] = {}
    assert "intruder" not in PINGVIN_ROLES["urn:zitadel:iam:org:project:roles"]


def test_zitadel_roles_merges_the_documented_list_wrapper() -> None:
    user = {"user": {"id1": "acme.zitade.ch", "id2": "caos.ch"}}  # zitadel claims.md example
    assert zitadel_roles({"urn:zitadel:iam:org:project:roles": [user]}) == user


def test_malformed_iss_is_generic() -> None:
    assert issuer_family({}, {"iss": "http://[::1"}).value == "generic"


def test_verdict_is_frozen() -> None:
    verdict = token_kind({}, {})
    with pytest.raises(AttributeError):
        verdict.value = "id_token"  # type: ignore[misc]
