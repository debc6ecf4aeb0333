"""Diagnose a captured token against what a relying party expects, at a given time.

Every cause that applies is listed, each with its evidence, in the order a
strict validator would check them. The time is the event's (``at``), never
the clock of the machine running tokenaudit. Besides the causes, a diagnosis
lists *risks*: what lenient validators accept although a strict one rejects
it (an untrusted extra audience, an ``azp`` naming another client), and
ZITADEL's authorization trap (an audience obtained by scope, with no roles).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..causes.recommend import issuer_difference, recommend
from ..common.timestamps import duration_text, epoch_seconds
from .decode import TokenInfo
from .kind import Verdict, issuer_family, token_kind, zitadel_project_ids, zitadel_roles
from .relying_parties import RelyingParty

_ASYMMETRIC = ("RS", "PS", "ES", "Ed")
#: Causes lenient validators (most JWT libraries' audience checks) accept.
LENIENTLY_ACCEPTED = ("untrusted_extra_audience", "azp_mismatch")


@dataclass(frozen=True)
class Finding:
    """One cause that applies to a token, with the evidence and the fix."""

    cause: str
    evidence: tuple[str, ...]
    recommendation: str = ""


@dataclass(frozen=True)
class Diagnosis:
    """Everything tokenaudit concludes about one token for one relying party."""

    kind: Verdict
    issuer_family: Verdict
    findings: tuple[Finding, ...]
    risks: tuple[str, ...] = ()
    at: pd.Timestamp | None = None
    relying_party: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: The signature check against a key set, in one line ("" when none was made).
    signature_check: str = ""

    @property
    def causes(self) -> list[str]:
        """The cause ids, in checking order."""
        return [finding.cause for finding in self.findings]


def _roles(claims: dict[str, Any], client_id: str | None) -> set[str]:
    roles: set[str] = set()
    for value in (claims.get("roles"), claims.get("groups"), (claims.get("realm_access") or {}).get("roles")):
        if isinstance(value, list):
            roles |= {str(v) for v in value}
    resource = claims.get("resource_access") or {}
    if isinstance(resource, dict):
        for client, entry in resource.items():
            if client_id is None or client == client_id:
                roles |= {str(v) for v in (entry or {}).get("roles", [])}
    roles |= set(zitadel_roles(claims))
    for project in zitadel_project_ids(claims):
        roles |= set(zitadel_roles(claims, project))
    return roles


def _scopes(claims: dict[str, Any]) -> set[str]:
    value = claims.get("scope", claims.get("scp", ""))
    return set(value) if isinstance(value, list) else set(str(value).split())


def diagnose(info: TokenInfo, rp: RelyingParty, *, at: pd.Timestamp,
             signature: tuple[str | None, tuple[str, ...]] | None = None) -> Diagnosis:
    """List every cause for which ``rp`` rejects (or should reject) the token at time ``at``.

    Parameters
    ----------
    info
        The decoded token (:func:`tokenaudit.tokens.decode.inspect_token`).
    rp
        What the relying party expects.
    at
        When the token was presented (tz-aware).
    signature
        ``(cause or None, evidence)`` from a signature check against the key
        set (:func:`tokenaudit.tokens.jwks.check_signature`), if one was made.

    Returns
    -------
    Diagnosis
        ``findings`` is empty for a token the relying party should accept.

    Examples
    --------
    >>> from tokenaudit.tokens.decode import TokenInfo
    >>> token = TokenInfo("fp", "jws", {"alg": "RS256"}, {"iss": "https://auth.test", "aud": ["1", "2"],
    ...                   "exp": 1_900_000_000, "iat": 1_800_000_000, "nonce": "n", "azp": "1"})
    >>> rp = RelyingParty("pve", kind="proxmox", client_id="1", issuer="https://auth.test", expect="id")
    >>> diagnose(token, rp, at=pd.Timestamp("2028-01-01", tz="UTC")).causes
    ['untrusted_extra_audience']
    """
    header, claims = info.header, info.claims
    kind = token_kind(header, claims) if info.encoding == "jws" else Verdict("unknown", (f"token is {info.encoding}",))
    family = issuer_family(header, claims)
    found: list[tuple[str, list[str], dict[str, Any]]] = []

    def add(cause: str, evidence: list[str], **values: Any) -> None:
        found.append((cause, evidence, values))

    if info.encoding != "jws":
        what = {"opaque": "an opaque token, not a JWT (ZITADEL: the app's token type is Bearer, not JWT; "
                          "Auth0: no audience was requested)",
                "jwe": "an encrypted JWT (JWE), which the relying party cannot read without the decryption key",
                "malformed": f"a JWT that does not decode: {info.error}",
                "claims": "claims printed by a validator, without the token"}[info.encoding]
        if info.encoding != "claims":
            add("malformed_token", [f"the value is {what}"], detail=what)
            return _finish(info, rp, at, kind, family, found, signature)

    _check_algorithm(info, rp, add)
    _check_issuer(claims, rp, add)
    _check_audience(info, rp, kind, add)
    _check_times(info, rp, at, add)
    _check_authorization(claims, rp, add)
    return _finish(info, rp, at, kind, family, found, signature)


#: How a check reports a cause: ``add(cause, evidence, **values)``.
_Add = Callable[..., None]


def _check_algorithm(info: TokenInfo, rp: RelyingParty, add: _Add) -> None:
    """The header's ``alg``: none, not accepted, or symmetric where a provider signs asymmetrically."""
    alg = info.alg or ""
    if info.encoding == "jws":
        if alg.lower() == "none":
            add("algorithm_mismatch", ["header alg is none: the token is not signed"], alg=alg)
        elif rp.algorithms and alg not in rp.algorithms:
            add("algorithm_mismatch", [f"header alg {alg} is not among the accepted {', '.join(rp.algorithms)}"],
                alg=alg)
        elif alg.startswith("HS") and not rp.algorithms:
            add("algorithm_mismatch", [f"header alg {alg} is symmetric; an OpenID provider signs with RS256/ES256"],
                alg=alg)

def _check_issuer(claims: dict[str, Any], rp: RelyingParty, add: _Add) -> None:
    """``iss``: missing, or not the one the relying party expects."""
    iss = claims.get("iss")
    if iss is None:
        add("malformed_token", ["the token has no iss claim"], detail="no iss claim")
    elif rp.issuer and iss != rp.issuer:
        add("issuer_mismatch", [f"iss is `{iss}`, the relying party expects `{rp.issuer}`",
                                issuer_difference(rp.issuer, str(iss))],
            expected_issuer=rp.issuer, found_issuer=str(iss))

def _check_audience(info: TokenInfo, rp: RelyingParty, kind: Verdict, add: _Add) -> None:
    """``aud`` (and ``azp``) against what the relying party accepts, for the kind of token it checks."""
    header, claims = info.header, info.claims
    audiences = info.audiences
    accepted = ({rp.client_id} if rp.client_id else set()) | set(rp.audiences)
    if "aud" not in claims:
        add("aud_claim_missing", ["the token has no aud claim"])
    elif rp.expect == "id" or (rp.expect is None and kind.value == "id_token"):
        if kind.value == "access_token":
            add("token_type_confusion", ["an access token where an ID token is checked", *kind.evidence],
                token_type=str(header.get("typ") or "access token"))
        if rp.client_id and rp.client_id not in audiences:
            add("client_id_missing", [f"aud {_listed(audiences)} lacks the client id `{rp.client_id}`"],
                expected_audience=rp.client_id, found_audiences=", ".join(f"`{a}`" for a in audiences))
        extra = [a for a in audiences if a not in accepted]
        if rp.client_id and rp.client_id in audiences and extra:
            projects = set(zitadel_project_ids(claims))
            notes = [f"{a} looks like a ZITADEL project id" for a in extra if a in projects]
            add("untrusted_extra_audience",
                [f"aud also holds {', '.join(extra)}, which the relying party does not trust", *notes],
                audience=extra[0])
        azp = claims.get("azp")
        if rp.client_id and azp and azp != rp.client_id:
            add("azp_mismatch", [f"azp is `{azp}`: the token was issued to another client than `{rp.client_id}`"],
                detail=f"azp {azp}")
    elif rp.expect == "access":
        if kind.value == "id_token":
            add("token_type_confusion", ["an ID token sent to an API", *kind.evidence], token_type="ID token")
        elif accepted and not set(audiences) & accepted:
            if kind.value == "access_token" and rp.client_id and not rp.audiences:
                add("token_type_confusion", [
                    f"aud {_listed(audiences)} names the resource, as access tokens do (RFC 9068), while the relying "
                    f"party checks for its client id `{rp.client_id}`: validate the API's audience instead"],
                    token_type="access token")
            else:
                add("client_id_missing", [f"aud {_listed(audiences)} holds none of {_listed(sorted(accepted))}"],
                    expected_audience=", ".join(sorted(accepted)), found_audiences=", ".join(audiences))
    elif accepted and not set(audiences) & accepted:
        # The relying party did not say which token it checks: at least its audience must be there.
        add("client_id_missing", [f"aud {_listed(audiences)} holds none of {_listed(sorted(accepted))}"],
            expected_audience=", ".join(sorted(accepted)), found_audiences=", ".join(audiences))

def _check_times(info: TokenInfo, rp: RelyingParty, at: pd.Timestamp, add: _Add) -> None:
    """``exp``, ``nbf`` and ``iat`` against the moment of use, with the relying party's leeway."""
    claims = info.claims
    exp, nbf, iat = (epoch_seconds(claims.get(name)) for name in ("exp", "nbf", "iat"))
    leeway = pd.Timedelta(seconds=rp.leeway_s)
    if exp is not None and at >= exp + leeway:
        gap = (at - exp).total_seconds()
        add("expired", [f"exp {exp.isoformat()} is {duration_text(gap)} before {at.isoformat()}"],
            expired_at=exp.strftime("%Y-%m-%d %H:%M:%S UTC"), current_time=at.strftime("%Y-%m-%d %H:%M:%S UTC"))
    elif exp is None and info.encoding == "jws":
        add("malformed_token", ["the token has no exp claim"], detail="no exp claim")
    for name, moment in (("nbf", nbf), ("iat", iat)):
        if moment is not None and moment > at + leeway:
            add("not_yet_valid", [f"{name} {moment.isoformat()} is {duration_text((moment - at).total_seconds())} "
                                  f"after {at.isoformat()}"])
            break

def _check_authorization(claims: dict[str, Any], rp: RelyingParty, add: _Add) -> None:
    """Roles and scopes the relying party requires and the token lacks."""
    roles = _roles(claims, rp.client_id)
    missing_roles = [r for r in rp.required_roles if r not in roles]
    missing_scopes = [s for s in rp.required_scopes if s not in _scopes(claims)]
    if missing_roles or missing_scopes:
        parts = (
            [f"roles {_listed(missing_roles)} missing (token has {_listed(sorted(roles)) if roles else 'none'})"]
            if missing_roles else []
        ) + ([f"scopes {_listed(missing_scopes)} missing"] if missing_scopes else [])
        add("insufficient_scope_or_roles", parts, detail="; ".join(parts))

def _listed(values: object) -> str:
    """Values as a person reads them: each in backquotes, comma-joined (never a Python list).

    Examples
    --------
    >>> _listed(["web", "377572587972067335"]), _listed([])
    ('`web`, `377572587972067335`', 'none')
    """
    items = [f"`{value}`" for value in values]  # type: ignore[attr-defined]
    return ", ".join(items) if items else "none"


def _finish(info: TokenInfo, rp: RelyingParty, at: pd.Timestamp, kind: Verdict, family: Verdict,
            found: list[tuple[str, list[str], dict[str, Any]]],
            signature: tuple[str | None, tuple[str, ...]] | None) -> Diagnosis:
    if signature is not None and signature[0] is not None:
        same = next((entry for entry in found if entry[0] == signature[0]), None)
        if same is not None:  # the header check found it too: one finding, both evidences
            same[1].extend(e for e in signature[1] if e not in same[1])
        else:
            found.insert(0, (signature[0], list(signature[1]), {"kid": info.header.get("kid"), "alg": info.alg}))
    findings = []
    for cause, evidence, values in found:
        group = {"cause": cause, "software": rp.software, "relying_party": rp.name, "detail": evidence[0],
                 "host": "the relying party's host", **values}
        _, fix = recommend(group, {"audiences": ",".join(rp.audiences), "issuer_url": rp.issuer})
        findings.append(Finding(cause, tuple(e for e in evidence if e), fix))
    risks = []
    causes = {f.cause for f in findings}
    lenient = [c for c in LENIENTLY_ACCEPTED if c in causes]
    if lenient:
        risks.append(f"lenient validators (PyJWT, jose, go-oidc with a single expected audience) accept this token "
                     f"despite: {', '.join(lenient)}")
    claims = info.claims
    for project in zitadel_project_ids(claims):
        if project != rp.client_id and not zitadel_roles(claims, project):
            risks.append(f"aud holds ZITADEL project {project} but the token carries no roles for it: "
                         "any client of the instance can get this audience with the scope "
                         f"urn:zitadel:iam:org:project:id:{project}:aud, "
                         "so aud alone must never authorize; check the roles claim")
    return Diagnosis(kind, family, tuple(findings), tuple(risks), at, rp.name)


def diagnose_tokens(tokens: pd.DataFrame, parties: dict[str, RelyingParty], *,
                    at: pd.Timestamp | None = None) -> pd.DataFrame:
    """Diagnose every captured token against every relying party it belongs to, as a DataFrame.

    A token belongs to a party whose client id or trusted audiences its
    ``aud`` names, or whose issuer is its ``iss``.

    Parameters
    ----------
    tokens
        The tokens table (:func:`tokenaudit.read_tokens`).
    parties
        Relying parties by name.
    at
        Judge times at this moment; each token's last sighting by default.

    Returns
    -------
    pandas.DataFrame
        One row per (token, relying party): ``fingerprint``, ``relying_party``,
        ``kind``, ``issuer_family``, ``causes`` (comma-joined, empty when
        valid), ``evidence`` (first evidence of each cause, ``; ``-joined), ``risks``.

    Examples
    --------
    >>> import json
    >>> tokens = pd.DataFrame([{"fingerprint": "f1", "encoding": "jws", "header": json.dumps({"alg": "RS256"}),
    ...     "claims": json.dumps({"iss": "https://a.test", "aud": ["c", "p"], "exp": 2_000_000_000, "nonce": "n"}),
    ...     "last_seen": pd.Timestamp("2026-01-01", tz="UTC"), "first_seen": pd.NaT}])
    >>> rp = RelyingParty("pve", kind="proxmox", client_id="c", issuer="https://a.test", expect="id")
    >>> diagnose_tokens(tokens, {"pve": rp})[["relying_party", "kind", "causes"]].to_dict("records")
    [{'relying_party': 'pve', 'kind': 'id_token', 'causes': 'untrusted_extra_audience'}]
    """
    import json

    rows = []
    for token in tokens.to_dict("records"):
        info = TokenInfo(str(token["fingerprint"]), token["encoding"], json.loads(token.get("header") or "{}"),
                         json.loads(token.get("claims") or "{}"))
        moment = at if at is not None else token.get("last_seen")
        if moment is None or pd.isna(moment):
            moment = pd.Timestamp.now(tz="UTC")
        for party in parties.values():
            if not party.concerns(info.audiences, info.claims.get("iss")):
                continue
            result = diagnose(info, party, at=moment)
            rows.append({
                "fingerprint": info.fingerprint, "relying_party": party.name, "kind": result.kind.value,
                "issuer_family": result.issuer_family.value, "causes": ",".join(result.causes),
                "evidence": "; ".join(f.evidence[0] for f in result.findings if f.evidence),
                "risks": " | ".join(result.risks),
            })
    columns = ["fingerprint", "relying_party", "kind", "issuer_family", "causes", "evidence", "risks"]
    return pd.DataFrame(rows, columns=columns)
