"""What a decoded token is, and who issued it, from its header and claims alone.

These functions work on claim sets that were already decoded (unverified) by
:mod:`tokenaudit.tokens.decode`; they never see the raw token and never import ``jwt``.

Scoring used by :func:`token_kind`. Each signal votes for one kind:

* **declared** (10): the issuer says what the token is: header ``typ``
  ``at+jwt``/``application/at+jwt`` (RFC 9068 §2.1) or ``logout+jwt``, Keycloak's
  payload ``typ`` (``Bearer``, ``ID``, ``Refresh``, ``Offline``, ``Logout``), or a
  back-channel logout ``events`` member;
* **strong** (3): ``nonce``, ``at_hash``, ``c_hash`` (ID token); ``scope``, ``scp``,
  ``scopes`` (access token);
* **moderate** (2): a client claim ``client_id``/``cid``/``appid``; an Entra ``ver``
  with ``scp`` or ``roles``; an ``aud`` list holding Auth0's ``…/userinfo``;
* **weak** (1): ``aud`` equal to ``azp`` (ID token); an Okta ``AT.`` ``jti``.

The kind with the highest total wins if it totals at least 2 *and* more than
twice the runner-up; otherwise the verdict is ``"unknown"`` and the evidence
says whether the signals were missing, too weak, or in conflict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Verdict", "issuer_family", "token_kind", "zitadel_project_ids", "zitadel_roles"]

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
_BCL = "OIDC Back-Channel Logout 1.0 §2.4"
_KEYCLOAK_TYP = {"bearer": "access_token", "id": "id_token", "refresh": "refresh_token",
                 "offline": "refresh_token", "logout": "logout_token"}
_ZITADEL_ROLES = re.compile(r"^urn:zitadel:iam:org:project:(?P<id>[^:]+):roles$")
_ZITADEL_CLIENT = re.compile(r"^\d+@[\w.-]+$")
_LONG_DECIMAL = re.compile(r"^\d{15,20}$")


@dataclass(frozen=True)
class Verdict:
    """A classification and the human-readable reasons behind it."""

    value: str
    evidence: tuple[str, ...]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def token_kind(header: Mapping[str, Any], claims: Mapping[str, Any]) -> Verdict:
    """Tell an ID token from an access, refresh or logout token.

    Parameters
    ----------
    header
        The decoded JOSE header (may be empty).
    claims
        The decoded, unverified claim set.

    Returns
    -------
    Verdict
        ``value`` is one of ``"id_token"``, ``"access_token"``, ``"refresh_token"``,
        ``"logout_token"`` or ``"unknown"``; ``evidence`` lists every signal seen,
        with its weight and source, and ends with the decision.

    Examples
    --------
    >>> v = token_kind({"typ": "at+JWT"}, {"client_id": "s6BhdRkqt3", "scope": "openid"})
    >>> v.value, v.evidence[0]
    ('access_token', 'header typ is at+JWT (RFC 9068 §2.1) [+10 access_token]')
    >>> token_kind({}, {"nonce": "n-0S6", "scope": "openid"}).value
    'unknown'
    """
    votes: list[tuple[str, int, str]] = []

    def vote(kind: str, weight: int, why: str) -> None:
        votes.append((kind, weight, why))

    htyp = str(header.get("typ", "")).lower()
    if htyp in ("at+jwt", "application/at+jwt"):
        vote("access_token", 10, f"header typ is {header['typ']} (RFC 9068 §2.1)")
    elif htyp in ("logout+jwt", "application/logout+jwt"):
        vote("logout_token", 10, f"header typ is {header['typ']} ({_BCL})")
    ptyp = claims.get("typ")
    if isinstance(ptyp, str) and ptyp.lower() in _KEYCLOAK_TYP:
        vote(_KEYCLOAK_TYP[ptyp.lower()], 10, f"payload typ is {ptyp} (Keycloak TokenUtil)")
    events = claims.get("events")
    if isinstance(events, Mapping) and BACKCHANNEL_LOGOUT_EVENT in events:
        vote("logout_token", 10, f"events holds the backchannel-logout event ({_BCL})")
    for name in ("nonce", "at_hash", "c_hash"):
        if name in claims:
            vote("id_token", 3, f"{name} present: only ID tokens carry it (OIDC Core 1.0 §2, §3)")
    for name in ("scope", "scp", "scopes"):
        if name in claims:
            vote("access_token", 3, f"{name} present: granted scopes (RFC 9068 §2.2.3)")
    for name, source in (("client_id", "RFC 9068 §2.2"), ("cid", "Okta"), ("appid", "Entra v1")):
        if name in claims:
            vote("access_token", 2, f"{name} present: client of an access token ({source})")
    ver = claims.get("ver")
    if ver in ("1.0", "2.0") and ("scp" in claims or "roles" in claims):
        vote("access_token", 2, f"Entra ver {ver} with scp/roles (Entra access-token claims)")
    auds = [str(a) for a in _as_list(claims.get("aud"))]
    if any(a.endswith("/userinfo") for a in auds):
        vote("access_token", 2, "aud includes a …/userinfo audience (Auth0 access token)")
    if len(auds) == 1 and "azp" in claims and auds[0] == str(claims["azp"]):
        vote("id_token", 1, "aud equals azp: issued to the client itself (OIDC Core 1.0 §2)")
    if str(claims.get("jti", "")).startswith("AT."):
        vote("access_token", 1, "jti has Okta's AT. prefix")
    evidence = [f"{why} [+{weight} {kind}]" for kind, weight, why in votes]
    if not votes:
        return Verdict("unknown", ("no discriminating header or claim (typ, nonce, at_hash, scope, "
                                   "client_id, events) present",))
    totals = {kind: sum(w for k, w, _ in votes if k == kind) for kind, _, _ in votes}
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    best, score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    if score < 2:
        evidence.append(f"only weak evidence for {best} (score {score} < 2)")
        return Verdict("unknown", tuple(evidence))
    if score <= 2 * runner_up:
        scores = ", ".join(f"{k}={v}" for k, v in ranked)
        evidence.append(f"signals conflict ({scores}): no kind scores more than twice the next")
        return Verdict("unknown", tuple(evidence))
    evidence.append(f"{best} by score {score} vs {runner_up}")
    return Verdict(best, tuple(evidence))


def _issuer_by_iss(iss: str) -> tuple[str, str] | None:
    try:
        parts = urlsplit(iss if "://" in iss else f"https://{iss}")
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    host, path = (parts.hostname or "").lower(), parts.path.rstrip("/")
    if re.search(r"/realms/[^/]+$", path):
        return "keycloak", "iss path ends in /realms/ and a realm name (Keycloak)"
    if host == "sts.windows.net":
        return "entra_v1", "iss is https://sts.windows.net/ and a tenant id (Entra v1.0)"
    if host == "login.microsoftonline.com" and path.endswith("/v2.0"):
        return "entra_v2", "iss is https://login.microsoftonline.com/, a tenant id and /v2.0 (Entra v2.0)"
    if host == "accounts.google.com":
        return "google", "iss is accounts.google.com (Google)"
    if host.endswith(".auth0.com"):
        return "auth0", "iss host is *.auth0.com (Auth0)"
    if host.endswith((".okta.com", ".oktapreview.com")) or re.search(r"/oauth2/default$", path):
        return "okta", "iss host is *.okta.com or path is /oauth2/default (Okta)"
    if re.search(r"/application/o/[^/]+$", path):
        return "authentik", "iss path is /application/o/<slug>/ (authentik)"
    if path.endswith("/dex"):
        return "dex", "iss path ends in /dex (Dex default issuer)"
    if host.endswith(".zitadel.cloud"):
        return "zitadel", "iss host is *.zitadel.cloud (ZITADEL Cloud)"
    return None


def _issuer_by_claims(claims: Mapping[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}

    def add(family: str, why: str) -> None:
        found.setdefault(family, []).append(why)

    zitadel = sorted(k for k in claims if k.startswith("urn:zitadel:iam:"))
    if zitadel:
        add("zitadel", f"urn:zitadel:iam:* claims ({zitadel[0]})")
    clients = [claims.get("client_id"), claims.get("azp"), *_as_list(claims.get("aud"))]
    if any(isinstance(c, str) and _ZITADEL_CLIENT.match(c) for c in clients):
        add("zitadel", "a client id of the form <id>@<project> (ZITADEL API/JWT-profile app)")
    for name in ("realm_access", "resource_access", "allowed-origins"):
        if name in claims:
            add("keycloak", f"{name} claim (Keycloak)")
    if "azp" in claims and str(claims.get("typ", "")).lower() in _KEYCLOAK_TYP:
        add("keycloak", f"azp with payload typ {claims['typ']} (Keycloak)")
    ver = claims.get("ver")
    entra = [n for n in ("tid", "oid") if n in claims]
    if ver in ("1.0", "2.0") or entra:
        if ver == "1.0" or (ver is None and "appid" in claims):
            add("entra_v1", f"Entra claims (ver={ver}, {', '.join(entra) or 'appid'})")
        elif ver == "2.0" or (ver is None and "azp" in claims):
            add("entra_v2", f"Entra claims (ver={ver}, {', '.join(entra) or 'azp'})")
    if ver == 1 and not isinstance(ver, bool) and ("cid" in claims or "uid" in claims):
        add("okta", "cid/uid with integer ver 1 (Okta)")
    if "federated_claims" in claims:
        add("dex", "federated_claims claim (Dex)")
    if "hd" in claims or any(str(a).endswith(".apps.googleusercontent.com")
                             for a in _as_list(claims.get("aud"))):
        add("google", "hd claim or aud *.apps.googleusercontent.com (Google)")
    if str(claims.get("sub", "")).startswith("auth0|"):
        add("auth0", "sub has the auth0| connection prefix (Auth0)")
    return found


def issuer_family(header: Mapping[str, Any], claims: Mapping[str, Any]) -> Verdict:
    """Name the identity-provider software that issued a token.

    The ``iss`` shape decides when it is recognisable; otherwise the family
    with the most claim signals wins, and a tie (or no signal) gives ``"generic"``.

    Parameters
    ----------
    header
        The decoded JOSE header (kept for symmetry; ``typ``/``x5t`` are not decisive).
    claims
        The decoded, unverified claim set.

    Returns
    -------
    Verdict
        ``value`` is one of ``"zitadel"``, ``"keycloak"``, ``"authentik"``, ``"auth0"``,
        ``"entra_v1"``, ``"entra_v2"``, ``"okta"``, ``"google"``, ``"dex"``, ``"generic"``.

    Examples
    --------
    >>> issuer_family({}, {"iss": "http://localhost:8080/realms/master", "azp": "akhq"}).value
    'keycloak'
    >>> v = issuer_family({}, {"iss": "https://auth.example.com",
    ...                        "urn:zitadel:iam:org:project:roles": {}})
    >>> v.value, v.evidence
    ('zitadel', ('urn:zitadel:iam:* claims (urn:zitadel:iam:org:project:roles)',))
    """
    by_claims = _issuer_by_claims(claims)
    iss = claims.get("iss")
    by_iss = _issuer_by_iss(iss) if isinstance(iss, str) and iss else None
    if by_iss is not None:
        family, why = by_iss
        others = [f"but claims suggest {f}: {'; '.join(w)}"
                  for f, w in by_claims.items() if f != family]
        return Verdict(family, (why, *by_claims.get(family, []), *others))
    if not by_claims:
        shown = f"iss `{iss}`" if isinstance(iss, str) and iss else "no iss claim"
        return Verdict("generic", (f"{shown}: no known shape and no vendor claims found",))
    ranked = sorted(by_claims.items(), key=lambda kv: -len(kv[1]))
    evidence = tuple(w for _, whys in ranked for w in whys)
    if len(ranked) > 1 and len(ranked[0][1]) == len(ranked[1][1]):
        tied = ", ".join(f for f, w in ranked if len(w) == len(ranked[0][1]))
        return Verdict("generic", (*evidence, f"claim signals tie between {tied}"))
    return Verdict(ranked[0][0], evidence)


def zitadel_project_ids(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """Project ids a ZITADEL token evidences, in order of appearance.

    Taken from ``urn:zitadel:iam:org:project:<id>:roles`` claim names, then from
    ``aud`` values that are 15-20 digit ids other than ``azp``/``client_id``. By
    default ZITADEL puts every client id of the project into ``aud`` next to the
    project id, so aud-derived ids are candidates: sibling apps look the same.

    Parameters
    ----------
    claims
        The decoded, unverified claim set.

    Returns
    -------
    tuple of str
        Distinct ids; empty when none are evidenced.

    Examples
    --------
    >>> zitadel_project_ids({"aud": ["377576883644006407", "377572587972067335"],
    ...                      "azp": "377576883644006407"})
    ('377572587972067335',)
    """
    ids: list[str] = []
    for name in claims:
        m = _ZITADEL_ROLES.match(name)
        if m and m["id"] not in ids:
            ids.append(m["id"])
    clients = {str(claims[k]) for k in ("azp", "client_id") if k in claims}
    clients |= {c.split("@", 1)[0] for c in clients}
    for aud in _as_list(claims.get("aud")):
        aud = str(aud)
        if _LONG_DECIMAL.match(aud) and aud not in clients and aud not in ids:
            ids.append(aud)
    return tuple(ids)


def zitadel_roles(claims: Mapping[str, Any], project_id: str | None = None) -> dict[str, Any]:
    """ZITADEL roles granted in a token, as ``{role: {org_id: primary_domain}}``.

    Reads ``urn:zitadel:iam:org:project:<project_id>:roles``, or
    ``urn:zitadel:iam:org:project:roles`` when ``project_id`` is None. The list
    wrapper shown in older ZITADEL docs (``[{"user": {…}}]``) is merged into one dict.

    Parameters
    ----------
    claims
        The decoded, unverified claim set.
    project_id
        The project whose roles to read; None for the requesting project's claim.

    Returns
    -------
    dict
        A new dict; ``{}`` when the claim is absent or not an object.

    Examples
    --------
    >>> claims = {"urn:zitadel:iam:org:project:roles": {"admin": {"2XXOrgIDXX3": "domain.com"}}}
    >>> zitadel_roles(claims)
    {'admin': {'2XXOrgIDXX3': 'domain.com'}}
    >>> zitadel_roles(claims, project_id="123")
    {}
    """
    name = ("urn:zitadel:iam:org:project:roles" if project_id is None
            else f"urn:zitadel:iam:org:project:{project_id}:roles")
    value = claims.get(name)
    if isinstance(value, Mapping):
        return dict(value)
    roles: dict[str, Any] = {}
    if isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping):
                roles.update(item)
    return roles
