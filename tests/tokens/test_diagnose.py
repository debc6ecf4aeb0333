"""diagnose() against a real validator, one token per cause, shaped like FIELD_NOTES §2d.

Every case builds its own token with keys made here (RSA 2048, EC P-256, a
32-byte HMAC secret), diagnoses it at a fixed moment ``AT`` (never the
clock), and asserts the exact cause list. The same token is then given to
PyJWT, used the way a careful application uses it: the signing key is looked
up by ``kid`` through ``PyJWKClient`` (served our JWKS, no network), then
``jwt.decode`` with the relying party's algorithms, audience, issuer and
leeway 0, requiring ``exp`` and ``iss``.

Where PyJWT rejects, tokenaudit must name the cause PyJWT's exception maps
to (:data:`PYJWT_CAUSES`); where PyJWT accepts, tokenaudit's causes must be
ones PyJWT does not look at, and the lenient ones must come with a risk.

Time: PyJWT judges ``exp``/``nbf``/``iat`` against the real clock, tokenaudit
against ``AT``. So PyJWT is given a twin of each token, signed the same way,
whose time claims are shifted by ``now - AT``: PyJWT's "now" then stands
exactly where ``AT`` stands for the original. Offsets from ``AT`` are whole
minutes, so the few milliseconds between the shift and the check never
matter. Everything else in the twin is identical.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tokenaudit.tokens.decode import inspect_token
from tokenaudit.tokens.diagnose import LENIENTLY_ACCEPTED, Diagnosis, diagnose
from tokenaudit.tokens.explain import explain_token
from tokenaudit.tokens.jwks import KeySet, check_signature, parse_jwks
from tokenaudit.tokens.relying_parties import RelyingParty

AT = pd.Timestamp("2025-03-24T17:20:03", tz="UTC")  # when every token is presented
T = int(AT.timestamp())
FP_KEY = b"fingerprint-key-for-tests-only!!"  # 32 bytes
TIME_CLAIMS = ("exp", "nbf", "iat", "auth_time")

# Issuers and clients, after FIELD_NOTES §2d.
ZITADEL = "https://my-instance.zitadel.cloud"
ZITADEL_CLIENT = "377576883644006407"
ZITADEL_PROJECT = "377572587972067335"
KEYCLOAK = "https://kc.example.com/realms/main"
AUTH0 = "https://my-domain.auth0.com/"
RFC9068_ISS = "https://authorization-server.example.com/"
OKTA = "https://dev-133337.okta.com/oauth2/default"
ENTRA_TID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ENTRA_V2 = f"https://login.microsoftonline.com/{ENTRA_TID}/v2.0"
ENTRA_API = "6e74172b-be56-4843-9ff4-e66a39bb12e3"

LENIENT_RISK = "lenient validators"
ZITADEL_RISK = f"ZITADEL project {ZITADEL_PROJECT} but the token carries no roles"


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class Keys:
    rsa: rsa.RSAPrivateKey  # the IdP's key, kid k1
    rotated: rsa.RSAPrivateKey  # another RSA key (a rotated or foreign one)
    ec: ec.EllipticCurvePrivateKey  # the IdP's EC key, kid e1
    hmac: bytes  # an HMAC secret (alg-confusion attempts)
    jwks: dict[str, Any]  # the published key set: k1 (RSA), e1 (EC P-256)
    keyset: KeySet


@pytest.fixture(scope="session")
def keys() -> Keys:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    doc = {"keys": [
        {**RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "k1", "use": "sig"},
        {**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "e1", "use": "sig"},
    ]}
    keyset = parse_jwks(json.dumps(doc), source="jwks.json")
    return Keys(rsa_key, rotated, ec_key, os.urandom(32), doc, keyset)


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One token, the relying party it is presented to, and what tokenaudit must conclude.

    ``signer``: ``rsa`` (the IdP's key), ``rotated`` (another RSA key), ``ec``,
    ``hmac``, ``none`` (unsigned), or ``opaque``/``jwe`` (not a JWS at all).
    ``evidence``: substrings the findings' evidence must hold. ``risks``: one
    substring per expected risk, in order (no other risk allowed).
    ``signature``: diagnose with the verdict of :func:`check_signature`.
    ``pyjwt_accepts``: what PyJWT must do with the token.
    """

    id: str
    rp: RelyingParty
    claims: dict[str, Any]
    causes: list[str]
    pyjwt_accepts: bool
    header: dict[str, Any] = field(default_factory=lambda: {"kid": "k1"})
    signer: str = "rsa"
    evidence: tuple[str, ...] = ()
    risks: tuple[str, ...] = ()
    signature: bool = False


# Relying parties.
RS256 = ("RS256",)
PVE_ZITADEL = RelyingParty("pve-zitadel", kind="proxmox", client_id=ZITADEL_CLIENT,
                           issuer=ZITADEL, expect="id", algorithms=RS256)
AKHQ = RelyingParty("akhq", kind="oauth2-proxy", client_id="akhq", issuer=KEYCLOAK,
                    expect="id", algorithms=RS256)
MYAPP_PROXY = RelyingParty("myapp-proxy", kind="oauth2-proxy", client_id="myapp",
                           issuer=KEYCLOAK, expect="id", algorithms=RS256)
PODFETCH_API = RelyingParty("podfetch-api", kind="api",
                            audiences=("https://podfetch.example.com/api",),
                            issuer=KEYCLOAK, expect="access", algorithms=RS256)
GRAFANA_API = RelyingParty("grafana-api", kind="api", client_id="grafana", issuer=KEYCLOAK,
                           expect="access", algorithms=RS256, required_roles=("admin",))
RS_BY_CLIENT_ID = RelyingParty("rs", kind="api", client_id="s6BhdRkqt3", issuer=RFC9068_ISS,
                               expect="access", algorithms=RS256)
RS_BY_AUDIENCE = RelyingParty("rs", kind="api", client_id="s6BhdRkqt3",
                              audiences=("https://rs.example.com/",),
                              issuer=RFC9068_ISS, expect="access", algorithms=RS256)
AUTH0_SPA = RelyingParty("spa", kind="generic", client_id="my_client_id", issuer=AUTH0,
                         expect="id", algorithms=RS256)
HEALTH_API = RelyingParty("health-api", kind="api", audiences=("https://example.com/health-api",),
                          issuer=AUTH0.rstrip("/"), expect="access", algorithms=RS256)
OKTA_API = RelyingParty("okta-api", kind="api", audiences=("api://default",), issuer=OKTA,
                        expect="access", algorithms=RS256)
ENTRA_ID_API = RelyingParty("entra-api", kind="api", audiences=(ENTRA_API,), issuer=ENTRA_V2,
                            expect="access", algorithms=RS256)
BOTH_ALGS = RelyingParty("akhq-rs-es", kind="oauth2-proxy", client_id="akhq", issuer=KEYCLOAK,
                         expect="id", algorithms=("RS256", "ES256"))


def zitadel_id(**extra: Any) -> dict[str, Any]:
    """A ZITADEL ID token: aud = [client, project], as ZITADEL issues by default."""
    return {"iss": ZITADEL, "sub": "377576003939074055", "aud": [ZITADEL_CLIENT, ZITADEL_PROJECT],
            "azp": ZITADEL_CLIENT, "exp": T + 3600, "iat": T - 60, "auth_time": T - 70,
            "nonce": "n-0S6_WzA2Mj", "at_hash": "j3xvmXKSwEcNpY0LcD8xtQ", "amr": ["pwd"],
            "preferred_username": "alice@example.com",
            "urn:zitadel:iam:user:resourceowner:id": "377571885577043975", **extra}


def keycloak_id(**extra: Any) -> dict[str, Any]:
    """A Keycloak ID token (payload typ ID), akhq-acl-mapper style."""
    return {"iss": KEYCLOAK, "sub": "a123346f-0bd9-4b0a-a0d2-6d2a7f5e1c3b", "aud": "akhq",
            "typ": "ID", "azp": "akhq", "exp": T + 300, "iat": T - 60,
            "jti": "2fd02132-7c1e-4a6f-9d37-4f9c8d1c2b11",
            "sid": "bfc80bf8-38a3-4f7f-8c5a-1d2e3f4a5b6c", "acr": "1", "nonce": "n-0S6",
            "email_verified": True, "name": "john doe", **extra}


def keycloak_access(**extra: Any) -> dict[str, Any]:
    """A Keycloak access token (payload typ Bearer), simov/grant #257 style."""
    return {"iss": KEYCLOAK, "sub": "09a3ceb7-5d0e-4b0c-9b55-6cbe1b0a4f21", "aud": "account",
            "typ": "Bearer", "azp": "directus-ui", "exp": T + 300, "iat": T - 60,
            "auth_time": T - 60, "jti": "17b94735-1c1e-4a2b-8d7e-5b0c6a2d9f10",
            "session_state": "fd0d6f25-2a3b-4c5d-8e9f-0a1b2c3d4e5f", "acr": "1",
            "allowed-origins": ["http://localhost:8050"],
            "realm_access": {"roles": ["default-roles-main", "offline_access",
                                       "uma_authorization"]},
            "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}},
            "scope": "openid email profile", "preferred_username": "admin", **extra}


def rfc9068(**extra: Any) -> dict[str, Any]:
    """RFC 9068 Figure 2 (header typ at+JWT)."""
    return {"iss": RFC9068_ISS, "sub": "5ba552d67", "aud": "https://rs.example.com/",
            "exp": T + 600, "iat": T - 60, "jti": "dbe39bf3a3ba4238a513f51d6e1691c4",
            "client_id": "s6BhdRkqt3", "scope": "openid profile reademail", **extra}


def auth0_access(**extra: Any) -> dict[str, Any]:
    """Auth0's default access-token profile, with the .../userinfo audience."""
    return {"iss": AUTH0, "sub": "auth0|123456",
            "aud": ["https://example.com/health-api", "https://my-domain.auth0.com/userinfo"],
            "azp": "my_client_id", "exp": T + 86400, "iat": T - 60,
            "scope": "openid profile read:patients read:admin", **extra}


def auth0_id(**extra: Any) -> dict[str, Any]:
    """An Auth0 ID token: aud is the client id, no azp."""
    return {"iss": AUTH0, "sub": "auth0|123456", "aud": "my_client_id", "exp": T + 36000,
            "iat": T - 60, "nonce": "n-0S6", "name": "alice", **extra}


def okta_access(**extra: Any) -> dict[str, Any]:
    """An Okta access token from the default custom authorization server, expired 95 s before AT."""
    return {"ver": 1, "jti": "AT.xtjhr8FeMkyMfgLiFzVYOYPbgqWdd6ONULT3ffeK7d4", "iss": OKTA,
            "aud": "api://default", "iat": T - 3695, "exp": T - 95, "cid": "0oaosna3ilNxgPTmk0h7",
            "uid": "00uixa271s6x7qt8I0h7", "scp": ["openid", "phone"], "sub": "joe.smith@okta.com",
            **extra}


def entra_access(**extra: Any) -> dict[str, Any]:
    """An Entra ID v2.0 access token for one's own API (aud = the API's client id)."""
    return {"aud": ENTRA_API, "iss": ENTRA_V2, "iat": T - 60, "nbf": T - 60, "exp": T + 3540,
            "aio": "AWQAm/8TAAAA", "azp": "3c1f6e8a-6c2d-4f8e-9b7a-2d5e8f1a0b3c", "azpacr": "0",
            "name": "Alice", "oid": "6d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "preferred_username": "alice@contoso.com", "rh": "0.AAAA", "scp": "orders.read",
            "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "tid": ENTRA_TID,
            "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0", **extra}


def without(claims: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k not in names}


AT_JWT = {"kid": "k1", "typ": "at+JWT"}
ZITADEL_ROLES = {f"urn:zitadel:iam:org:project:{ZITADEL_PROJECT}:roles":
                 {"admin": {"377571885577043975": "example.zitadel.cloud"}}}
OTHER_SPA = "t2bF4DuTfGLfdtaC4omAgTG9pU6ZlpGY"

CASES = [
    # ---- accepted by everyone
    Case("valid-keycloak-id-token", AKHQ, keycloak_id(), [], True, signature=True),
    Case("valid-rfc9068-at-api-audience", RS_BY_AUDIENCE, rfc9068(), [], True, header=AT_JWT,
         signature=True),
    Case("valid-es256-keycloak-id-token", BOTH_ALGS, keycloak_id(), [], True,
         header={"kid": "e1"}, signer="ec", signature=True),
    Case("valid-entra-v2-access-token", ENTRA_ID_API, entra_access(), [], True, signature=True),
    # ---- accepted by PyJWT, flagged by tokenaudit
    Case("zitadel-extra-project-audience", PVE_ZITADEL, zitadel_id(),
         ["untrusted_extra_audience"], True, signature=True,
         evidence=(ZITADEL_PROJECT, f"{ZITADEL_PROJECT} looks like a ZITADEL project id"),
         risks=(LENIENT_RISK, ZITADEL_RISK)),
    Case("zitadel-extra-project-audience-with-roles", PVE_ZITADEL, zitadel_id(**ZITADEL_ROLES),
         ["untrusted_extra_audience"], True, evidence=(ZITADEL_PROJECT,), risks=(LENIENT_RISK,)),
    Case("keycloak-id-azp-other-client", AKHQ, keycloak_id(azp="kafka-ui"), ["azp_mismatch"],
         True, evidence=("`kafka-ui`",), risks=(LENIENT_RISK,)),
    Case("keycloak-access-typ-bearer-at-id-rp", MYAPP_PROXY,
         keycloak_access(aud="myapp", azp="myapp"), ["token_type_confusion"], True,
         evidence=("an access token where an ID token is checked", "payload typ is Bearer")),
    Case("keycloak-access-missing-client-role", GRAFANA_API,
         keycloak_access(aud=["grafana", "account"], azp="grafana-ui",
                         resource_access={"grafana": {"roles": ["viewer"]},
                                          "account": {"roles": ["admin"]}}),
         ["insufficient_scope_or_roles"], True, evidence=("roles `admin` missing", "viewer")),
    Case("keycloak-access-with-client-role", GRAFANA_API,
         keycloak_access(aud=["grafana", "account"], azp="grafana-ui",
                         resource_access={"grafana": {"roles": ["viewer", "admin"]}}),
         [], True),
    # ---- rejected by PyJWT: claims
    Case("auth0-id-token-for-another-client", AUTH0_SPA, auth0_id(aud=OTHER_SPA),
         ["client_id_missing"], False, evidence=("`my_client_id`", OTHER_SPA)),
    Case("auth0-id-token-without-aud", AUTH0_SPA, without(auth0_id(), "aud"),
         ["aud_claim_missing"], False, evidence=("no aud claim",)),
    Case("keycloak-access-default-aud-at-id-rp", MYAPP_PROXY, keycloak_access(azp="myapp"),
         ["token_type_confusion", "client_id_missing"], False,
         evidence=("payload typ is Bearer", "`myapp`")),
    Case("keycloak-id-token-at-api", PODFETCH_API,
         keycloak_id(aud="podfetch", azp="podfetch", at_hash="j3xvmXKSwEcNpY0LcD8xtQ"),
         ["token_type_confusion"], False,
         evidence=("an ID token sent to an API", "payload typ is ID")),
    Case("rfc9068-resource-aud-at-client-id-rp", RS_BY_CLIENT_ID, rfc9068(),
         ["token_type_confusion"], False, header=AT_JWT,
         evidence=("https://rs.example.com/", "RFC 9068", "`s6BhdRkqt3`",
                   "validate the API's audience")),
    Case("auth0-issuer-trailing-slash", HEALTH_API, auth0_access(), ["issuer_mismatch"], False,
         evidence=(f"`{AUTH0}`", f"`{AUTH0.rstrip('/')}`",
                   "They differ only in the trailing slash.")),
    Case("okta-access-expired-95s", OKTA_API, okta_access(), ["expired"], False,
         evidence=("is 1 min 35 s before", AT.isoformat())),
    Case("entra-access-nbf-in-5-min", ENTRA_ID_API, entra_access(nbf=T + 300, iat=T + 300),
         ["not_yet_valid"], False, evidence=("nbf", "is 5 min after")),
    Case("keycloak-id-no-exp", AKHQ, without(keycloak_id(), "exp"), ["malformed_token"], False,
         evidence=("no exp claim",)),
    # ---- rejected by PyJWT: algorithm and encoding (diagnose reads the header only)
    Case("alg-none", AKHQ, keycloak_id(), ["algorithm_mismatch"], False, signer="none",
         evidence=("alg is none",)),
    Case("hs256-at-rs256-rp", AKHQ, keycloak_id(), ["algorithm_mismatch"], False, signer="hmac",
         evidence=("HS256 is not among the accepted RS256",)),
    Case("es256-at-rs256-rp", AKHQ, keycloak_id(), ["algorithm_mismatch"], False,
         header={"kid": "e1"}, signer="ec", evidence=("ES256 is not among the accepted RS256",)),
    Case("zitadel-opaque-bearer-token", PVE_ZITADEL, {}, ["malformed_token"], False,
         signer="opaque", evidence=("opaque token",)),
    Case("auth0-jwe-dir-access-token", HEALTH_API, {}, ["malformed_token"], False,
         header={"alg": "dir", "enc": "A256GCM", "iss": AUTH0}, signer="jwe", evidence=("JWE",)),
    # ---- rejected by PyJWT: signature, through jwks.check_signature
    Case("signed-by-rotated-key-same-kid", AKHQ, keycloak_id(), ["signature_invalid"], False,
         signer="rotated", signature=True, evidence=("does not verify with key 'k1'",)),
    Case("kid-not-in-key-set", AKHQ, keycloak_id(), ["unknown_signing_key"], False,
         header={"kid": "k9"}, signer="rotated", signature=True, evidence=("'k9'", "e1, k1")),
    Case("es256-kid-names-rsa-key", BOTH_ALGS, keycloak_id(), ["algorithm_mismatch"], False,
         signer="ec", signature=True, evidence=("needs a key of kty EC",)),
]
CASES_BY_ID = {c.id: c for c in CASES}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(case: Case, keys: Keys, shift: int = 0) -> str:
    """The case's token; ``shift`` moves its time claims (the PyJWT twin)."""
    claims = {k: (v + shift if k in TIME_CLAIMS else v) for k, v in case.claims.items()}
    if case.signer == "opaque":  # ZITADEL app with token type Bearer
        return "Jw3Tt5mQ9vBk2Lr8pXy4NcZ7aFhD1sGeUoIq6WnYbVxC0RjKlMtPzHuEiOgA"
    if case.signer == "jwe":  # Auth0 without an audience: alg dir, 5 segments
        parts = [json.dumps(case.header).encode(), b"", os.urandom(12), os.urandom(64),
                 os.urandom(16)]
        return ".".join(map(b64, parts))
    signing = {"rsa": (keys.rsa, "RS256"), "rotated": (keys.rotated, "RS256"),
               "ec": (keys.ec, "ES256"), "hmac": (keys.hmac, "HS256"), "none": (None, "none")}
    key, alg = signing[case.signer]
    return jwt.encode(claims, key, algorithm=alg, headers=case.header)


def run_diagnose(case: Case, keys: Keys, token: str) -> Diagnosis:
    info = inspect_token(token, FP_KEY)
    signature = None
    if case.signature:
        algorithms = list(case.rp.algorithms) or None
        verdict = check_signature(token, keys.keyset, algorithms=algorithms)
        signature = (verdict.cause, verdict.evidence)
    return diagnose(info, case.rp, at=AT, signature=signature)


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- tokenaudit's verdict


def test_exact_causes_evidence_and_risks(case: Case, keys: Keys) -> None:
    diagnosis = run_diagnose(case, keys, make_token(case, keys))
    assert diagnosis.causes == case.causes
    evidence = "\n".join(e for finding in diagnosis.findings for e in finding.evidence)
    for needle in case.evidence:
        assert needle in evidence
    assert len(diagnosis.risks) == len(case.risks), diagnosis.risks
    for needle, risk in zip(case.risks, diagnosis.risks, strict=True):
        assert needle in risk
    for finding in diagnosis.findings:
        assert finding.evidence and all(finding.evidence)
        assert finding.recommendation.strip()
    assert diagnosis.at == AT and diagnosis.relying_party == case.rp.name


def test_valid_token_has_no_cause_and_no_risk(keys: Keys) -> None:
    case = CASES[0]
    token = make_token(case, keys)
    assert check_signature(token, keys.keyset, algorithms=["RS256"]).cause is None
    diagnosis = run_diagnose(case, keys, token)
    assert diagnosis.causes == [] and diagnosis.findings == () and diagnosis.risks == ()
    assert diagnosis.kind.value == "id_token" and diagnosis.issuer_family.value == "keycloak"


def test_kind_and_family_follow_the_idp(keys: Keys) -> None:
    expected = {"zitadel-extra-project-audience": ("id_token", "zitadel"),
                "keycloak-access-typ-bearer-at-id-rp": ("access_token", "keycloak"),
                "rfc9068-resource-aud-at-client-id-rp": ("access_token", "generic"),
                "auth0-issuer-trailing-slash": ("access_token", "auth0"),
                "okta-access-expired-95s": ("access_token", "okta"),
                "entra-access-nbf-in-5-min": ("access_token", "entra_v2")}
    for case in CASES:
        if case.id in expected:
            diagnosis = run_diagnose(case, keys, make_token(case, keys))
            found = (diagnosis.kind.value, diagnosis.issuer_family.value)
            assert found == expected[case.id], case.id


def test_time_causes_follow_at_not_the_clock(keys: Keys) -> None:
    """The expired Okta token is valid 96 s earlier; the Entra one becomes valid at nbf."""
    info = inspect_token(make_token(CASES_BY_ID["okta-access-expired-95s"], keys), FP_KEY)
    assert diagnose(info, OKTA_API, at=AT - pd.Timedelta(seconds=96)).causes == []
    at_exp = AT - pd.Timedelta(seconds=95)  # PyJWT too rejects at exp exactly
    assert diagnose(info, OKTA_API, at=at_exp).causes == ["expired"]
    info = inspect_token(make_token(CASES_BY_ID["entra-access-nbf-in-5-min"], keys), FP_KEY)
    assert diagnose(info, ENTRA_ID_API, at=AT + pd.Timedelta(seconds=300)).causes == []
    early = diagnose(info, ENTRA_ID_API, at=AT + pd.Timedelta(seconds=299))
    assert early.causes == ["not_yet_valid"]


# --------------------------------------------------------------------------- PyJWT's verdict

#: What a PyJWT rejection means, as tokenaudit causes (first match wins:
#: InvalidSignatureError is a DecodeError).
PYJWT_CAUSES: list[tuple[type[Exception], set[str]]] = [
    (jwt.ExpiredSignatureError, {"expired"}),
    (jwt.ImmatureSignatureError, {"not_yet_valid"}),
    (jwt.InvalidAudienceError,
     {"client_id_missing", "token_type_confusion", "aud_claim_missing"}),
    (jwt.InvalidIssuerError, {"issuer_mismatch"}),
    (jwt.InvalidSignatureError, {"signature_invalid"}),
    (jwt.InvalidAlgorithmError, {"algorithm_mismatch"}),
    (jwt.PyJWKClientError, {"unknown_signing_key"}),
    (jwt.DecodeError, {"malformed_token"}),
]
#: Causes PyJWT never checks: it may accept a token tokenaudit flags for these.
NOT_CHECKED_BY_PYJWT = {"untrusted_extra_audience", "azp_mismatch", "token_type_confusion",
                        "insufficient_scope_or_roles"}


def mapped_causes(exc: Exception) -> set[str]:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return {"aud_claim_missing"} if exc.claim == "aud" else {"malformed_token"}
    for kind, causes in PYJWT_CAUSES:
        if isinstance(exc, kind):
            return causes
    raise AssertionError(f"unmapped PyJWT error {type(exc).__name__}: {exc}")


class StaticJWKClient(jwt.PyJWKClient):
    """PyJWT's JWKS client, served a key set from memory instead of the network."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        super().__init__("https://idp.invalid/jwks", cache_jwk_set=False)
        self._doc = jwks

    def fetch_data(self) -> Any:
        return self._doc


def pyjwt_decode(token: str, rp: RelyingParty, jwks: dict[str, Any]) -> dict[str, Any]:
    """Validate as an application does with PyJWT: key by kid, every claim check, leeway 0."""
    key = StaticJWKClient(jwks).get_signing_key_from_jwt(token)
    audience = rp.client_id if rp.expect == "id" else list(rp.audiences) or rp.client_id
    return jwt.decode(token, key, algorithms=list(rp.algorithms), audience=audience,
                      issuer=rp.issuer, leeway=0, options={"require": ["exp", "iss"]})


def pyjwt_rejection(token: str, rp: RelyingParty, jwks: dict[str, Any]) -> Exception | None:
    try:
        pyjwt_decode(token, rp, jwks)
    except jwt.PyJWTError as exc:
        return exc
    return None


@pytest.fixture
def shift() -> int:
    """Seconds from AT to now: the PyJWT twin's time claims move by this much."""
    return int(time.time()) - T


def test_tokenaudit_names_the_cause_pyjwt_rejects_for(case: Case, keys: Keys,
                                                      shift: int) -> None:
    diagnosis = run_diagnose(case, keys, make_token(case, keys))
    rejection = pyjwt_rejection(make_token(case, keys, shift), case.rp, keys.jwks)
    assert (rejection is None) == case.pyjwt_accepts, repr(rejection)
    if rejection is not None:
        expected = mapped_causes(rejection)
        assert expected & set(diagnosis.causes), f"PyJWT: {type(rejection).__name__}: {rejection}"
    else:
        assert set(diagnosis.causes) <= NOT_CHECKED_BY_PYJWT
        lenient = [c for c in LENIENTLY_ACCEPTED if c in diagnosis.causes]
        if lenient:
            assert any(LENIENT_RISK in risk and all(c in risk for c in lenient)
                       for risk in diagnosis.risks)


def test_twin_differs_only_in_time(keys: Keys, shift: int) -> None:
    """The PyJWT twin has the same claims as the diagnosed token, bar the time claims."""
    case = CASES_BY_ID["okta-access-expired-95s"]
    original = inspect_token(make_token(case, keys), FP_KEY).claims
    twin = inspect_token(make_token(case, keys, shift), FP_KEY).claims
    assert without(twin, *TIME_CLAIMS) == without(original, *TIME_CLAIMS)
    assert twin["exp"] - original["exp"] == shift == twin["iat"] - original["iat"]


def test_pyjwt_accepts_zitadel_project_audience_tokenaudit_flags_it(keys: Keys) -> None:
    """The lenient-validator trap: PyJWT's audience check passes if any aud matches."""
    case = CASES_BY_ID["zitadel-extra-project-audience"]
    token = make_token(case, keys)
    claims = jwt.decode(token, keys.rsa.public_key(), algorithms=["RS256"],
                        audience=ZITADEL_CLIENT, issuer=ZITADEL, options={"verify_exp": False})
    assert claims["aud"] == [ZITADEL_CLIENT, ZITADEL_PROJECT]
    diagnosis = run_diagnose(case, keys, token)
    assert diagnosis.causes == ["untrusted_extra_audience"]
    assert ZITADEL_PROJECT in diagnosis.findings[0].evidence[0]
    assert diagnosis.kind.value == "id_token" and diagnosis.issuer_family.value == "zitadel"
    lenient, no_roles = diagnosis.risks
    assert "PyJWT" in lenient and "untrusted_extra_audience" in lenient
    assert ZITADEL_PROJECT in no_roles and "no roles" in no_roles
    assert f"urn:zitadel:iam:org:project:id:{ZITADEL_PROJECT}:aud" in no_roles
    # A strict validator (the audience set must be trusted, as Proxmox checks) rejects it.
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, keys.rsa.public_key(), algorithms=["RS256"], audience=ZITADEL_CLIENT,
                   issuer=ZITADEL, options={"verify_exp": False, "strict_aud": True})
    # Trusting the project id (Proxmox `audiences`) clears the cause, not the ZITADEL risk.
    trusting = RelyingParty("pve-zitadel", kind="proxmox", client_id=ZITADEL_CLIENT,
                            audiences=(ZITADEL_PROJECT,), issuer=ZITADEL, expect="id",
                            algorithms=RS256)
    info = inspect_token(token, FP_KEY)
    trusted = diagnose(info, trusting, at=AT)
    assert trusted.causes == [] and len(trusted.risks) == 1
    assert ZITADEL_RISK in trusted.risks[0]


def test_keycloak_client_role_counts_only_for_the_rp_client(keys: Keys) -> None:
    """resource_access[grafana].roles satisfies grafana-api; another client's role does not."""
    case = CASES_BY_ID["keycloak-access-with-client-role"]
    assert run_diagnose(case, keys, make_token(case, keys)).causes == []
    case = CASES_BY_ID["keycloak-access-missing-client-role"]
    assert "admin" in case.claims["resource_access"]["account"]["roles"]
    diagnosis = run_diagnose(case, keys, make_token(case, keys))
    assert diagnosis.causes == ["insufficient_scope_or_roles"]


# --------------------------------------------------------------------------- known bugs


@pytest.fixture
def jwks_file(keys: Keys, tmp_path: Path) -> str:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(keys.jwks))
    return str(path)


@pytest.mark.parametrize("case_id", ["alg-none", "hs256-at-rs256-rp", "es256-at-rs256-rp"])
def test_explain_with_jwks_lists_algorithm_mismatch_once(case_id: str, keys: Keys,
                                                         jwks_file: str) -> None:
    case = CASES_BY_ID[case_id]
    token = make_token(case, keys)
    _, diagnosis = explain_token(token, case.rp, key=FP_KEY, at=AT, jwks=jwks_file)
    assert diagnosis.causes == ["algorithm_mismatch"]


def test_audience_checked_when_rp_does_not_say_which_token(keys: Keys, shift: int) -> None:
    rp = RelyingParty("command-line flags", client_id="grafana", issuer=KEYCLOAK, algorithms=RS256)
    claims = {"iss": KEYCLOAK, "sub": "alice", "aud": "account", "exp": T + 300, "iat": T - 60}
    case = Case("generic", rp, claims, ["client_id_missing"], False)
    rejection = pyjwt_rejection(make_token(case, keys, shift), rp, keys.jwks)
    assert isinstance(rejection, jwt.InvalidAudienceError)
    assert run_diagnose(case, keys, make_token(case, keys)).causes == ["client_id_missing"]
