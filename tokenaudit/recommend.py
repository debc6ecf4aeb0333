"""Fill a cause's explanation and fix with the user's own values.

The texts are templates in ``data/causes.toml``; this module computes the
values they need (the realm's audiences, how two issuers differ, the clock
gap, whether an audience looks like a ZITADEL project id) and picks the fix
written for the software that refused the token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import pandas as pd

from .causes import load_causes
from .masking import shorten

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_ZITADEL_ID = re.compile(r"^\d{15,20}$")
SOFTWARE_NAMES = {"proxmox": "Proxmox VE", "openidconnect-rs": "the openidconnect-rs validator"}


def fill(template: str, values: Mapping[str, object]) -> str:
    """Replace ``{name}`` by its value; unknown or empty values show as ``<name>``.

    Only plain names are substituted (no attribute or index access), so a
    template can never reach into an object.

    Examples
    --------
    >>> fill("pveum realm modify {realm} --audiences {audience}", {"realm": "zitadel"})
    'pveum realm modify zitadel --audiences <audience>'
    """

    def value(match: re.Match[str]) -> str:
        found = values.get(match[1])
        if found is None or (isinstance(found, float) and pd.isna(found)) or found == "":
            return f"<{match[1]}>"
        return shorten(found)  # a value from a line of any length: bounded as examples are

    return _PLACEHOLDER.sub(value, template)


def issuer_difference(expected: str | None, found: str | None) -> str:
    """Say in words how two issuer URLs differ.

    Examples
    --------
    >>> issuer_difference("https://auth.example.com/", "https://auth.example.com")
    'They differ only in the trailing slash.'
    >>> issuer_difference("https://kc.example.org/auth/realms/main", "https://kc.example.org/realms/main")
    'They differ in the path: /auth/realms/main against /realms/main.'
    """
    if not expected or not found:
        return ""
    if expected == found:
        return "They are equal as logged; look for invisible characters."
    if expected.rstrip("/") == found.rstrip("/"):
        return "They differ only in the trailing slash."
    want, got = urlsplit(expected), urlsplit(found)
    parts = []
    if want.scheme != got.scheme:
        parts.append(f"the scheme ({want.scheme} against {got.scheme})")
    if want.hostname != got.hostname:
        parts.append(f"the host ({want.hostname} against {got.hostname})")
    if want.port != got.port:
        parts.append(f"the port ({want.port or 'default'} against {got.port or 'default'})")
    if want.path.rstrip("/") != got.path.rstrip("/"):
        parts.append(f"the path: {want.path or '/'} against {got.path or '/'}")
    if "sts.windows.net" in (got.hostname or "") and "login.microsoftonline.com" in (want.hostname or ""):
        parts.append("an Entra ID v1.0 token where v2.0 is expected (set requestedAccessTokenVersion = 2 in the API's manifest)")
    return "They differ in " + " and ".join(parts) + "." if parts else "They differ in case or encoding."


def skew_note(expired_at: str | None, current_time: str | None) -> str:
    """Describe how long before the check a token expired.

    Examples
    --------
    >>> skew_note("2025-03-24 17:19:40 UTC", "2025-03-24 17:20:03 UTC")
    'It had expired 23 s before the check: a gap that small points at clocks that disagree.'
    """
    try:
        gap = (pd.Timestamp(str(current_time).replace(" UTC", "Z")) - pd.Timestamp(str(expired_at).replace(" UTC", "Z"))).total_seconds()
    except ValueError:
        return ""
    if gap < 0:
        return ""
    if gap <= 300:
        return f"It had expired {gap:.0f} s before the check: a gap that small points at clocks that disagree."
    return f"It had expired {pd.Timedelta(seconds=round(gap))} before the check: a stale or replayed token, not clock skew."


def audience_note(audience: str | None, issuer_url: str | None) -> str:
    """Say what an untrusted extra audience probably is.

    Examples
    --------
    >>> audience_note("377572587972067335", None)[:45]
    '377572587972067335 looks like a ZITADEL proje'
    """
    if audience and _ZITADEL_ID.match(audience):
        where = " (and the issuer is a ZITADEL instance)" if issuer_url and "zitadel" in issuer_url.lower() else ""
        return (
            f"{audience} looks like a ZITADEL project id{where}: ZITADEL puts the project id into the aud of every "
            "ID token besides the client ids of the project's applications."
        )
    if audience == "account":
        return "`account` is the audience Keycloak adds for its account client: this looks like a Keycloak access token, not an ID token."
    return ""


def _is_zitadel(audience: str | None, issuer_url: str | None) -> bool:
    return bool((audience and _ZITADEL_ID.match(audience)) or (issuer_url and "zitadel" in issuer_url.lower()))


#: Causes whose fix widens what the relying party trusts: an audience, an issuer, an algorithm.
WIDENS_TRUST = ("untrusted_extra_audience", "issuer_mismatch", "algorithm_mismatch")


def ready_fix(group: Mapping[str, object], realm: Mapping[str, object] | None = None) -> bool:
    """Whether a group's fix may be printed as a ready command, or must first say how to confirm its value.

    Only a fix that widens trust (:data:`WIDENS_TRUST`) ever waits for confirmation, and it is ready only on strong
    evidence:

    - a captured token of the relying party shows the cause itself (``confirmed``);
    - or a tier-1 signature found the value in its software's own position (``confidence`` high) *and* the
      writer is vouched for: journald saw the program write the line (``identity`` trusted), or the value has the
      shape the realm's IdP gives it (a ZITADEL project id at a realm whose client id or issuer is ZITADEL's).

    A syslog tag is a claim any local user can make with ``logger -t``, so it alone never makes a fix ready. A
    group built by hand, without ``confidence`` and ``identity`` keys, is taken as it is given.

    Examples
    --------
    >>> group = {"cause": "untrusted_extra_audience", "audience": "evil123", "confidence": "high", "identity": "claimed"}
    >>> ready_fix(group), ready_fix({**group, "identity": "trusted"}), ready_fix({**group, "cause": "expired"})
    (False, True, True)
    >>> zitadel = {"client_id": "377576883644006407", "issuer_url": "https://auth.example.com"}
    >>> ready_fix({**group, "audience": "377572587972067335"}, zitadel)
    True
    """
    if str(group.get("cause")) not in WIDENS_TRUST or bool(group.get("confirmed")):
        return True
    if "confidence" in group and group.get("confidence") != "high":
        return False
    if "identity" not in group or group.get("identity") == "trusted":
        return True
    return _has_idp_shape(group, realm or {})


def _has_idp_shape(group: Mapping[str, object], realm: Mapping[str, object]) -> bool:
    """Whether the offending value has the shape the realm's IdP gives such values (a ZITADEL project id)."""
    audience = str(group.get("audience") or "")
    if group.get("cause") != "untrusted_extra_audience" or not _ZITADEL_ID.match(audience):
        return False
    client_id = str(realm.get("client_id") or "").split("@")[0]
    return bool(_ZITADEL_ID.match(client_id) or "zitadel" in str(realm.get("issuer_url") or "").lower())


def evidence_note(group: Mapping[str, object]) -> str:
    """Why a group's value is not yet vouched for, in words for the fix.

    Examples
    --------
    >>> evidence_note({"tier": "phrase", "confidence": "low"})
    'the cause was read from words many libraries share, not from the exact text of the software that refused the token'
    >>> evidence_note({"tier": "signature", "confidence": "high", "identity": "claimed"})[:60]
    "the line's program is named only by its syslog tag, which an"
    """
    if group.get("tier") == "phrase":
        return ("the cause was read from words many libraries share, not from the exact text of the software that "
                "refused the token")
    if group.get("confidence") == "medium":
        return ("the validator's text stood inside another program's message, or in a log whose writer tokenaudit "
                "cannot tell")
    if group.get("identity") == "claimed":
        return ("the line's program is named only by its syslog tag, which any local user can set with `logger -t` "
                "(in the journal, `_COMM` would vouch for it)")
    return "nothing in the log vouches for the program that wrote the line"


def confirm_audience(audience: str, realm: Mapping[str, object]) -> str:
    """How to confirm that an extra audience is the IdP's own, in words for the fix.

    Examples
    --------
    >>> confirm_audience("377572587972067335", {"client_id": "377576883644006407"})[:55]
    "that 377572587972067335 is your ZITADEL project's Resou"
    """
    if _has_idp_shape({"cause": "untrusted_extra_audience", "audience": audience}, realm) or (
            _ZITADEL_ID.match(audience) and not realm):
        return (f"that {audience} is your ZITADEL project's Resource Id (Console → Projects → the project → "
                "Resource Id)")
    return (f"that {audience} is an audience your IdP adds on purpose: `tokenaudit explain --client-id <client id> "
            "--expect id token.txt` on a captured ID token shows its aud")


def discovery_url(issuer: str) -> str:
    """The discovery document of an issuer (OpenID Connect Discovery §4).

    Examples
    --------
    >>> discovery_url("https://kc.example.org/realms/main/")
    'https://kc.example.org/realms/main/.well-known/openid-configuration'
    """
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def recommend(group: Mapping[str, object], realm: Mapping[str, object] | None = None) -> tuple[str, str]:
    """Return the explanation and the fix for a failure group.

    Parameters
    ----------
    group
        A row of :func:`tokenaudit.analysis.failure_groups` (``cause``,
        ``software``, ``relying_party``, ``key`` and the captured fields).
    realm
        The relying party's configuration (a row of the realms table), if known.

    Returns
    -------
    explanation, recommendation

    Examples
    --------
    >>> why, fix = recommend({"cause": "untrusted_extra_audience", "software": "proxmox",
    ...                       "relying_party": "zitadel", "audience": "377572587972067335"},
    ...                      {"audiences": "", "issuer_url": "https://auth.example.com"})
    >>> "pveum realm modify zitadel --audiences 377572587972067335" in fix
    True
    """
    causes = load_causes()
    cause = causes.get(str(group.get("cause")), causes["unclassified"])
    realm = realm or {}
    values: dict[str, object] = {k: v for k, v in group.items() if isinstance(v, str)}
    software = str(group.get("software") or "")
    values["software"] = SOFTWARE_NAMES.get(software, software or "the relying party")
    values["realm"] = group.get("relying_party")
    issuer_url = realm.get("issuer_url")
    values["issuer_url"] = issuer_url
    audience = group.get("audience")
    existing = [a for a in str(realm.get("audiences") or "").split(",") if a]
    values["audiences_value"] = ",".join(dict.fromkeys([*existing, str(audience or "<audience>")]))
    values["audience_note"] = audience_note(str(audience) if audience else None, str(issuer_url) if issuer_url else None)
    zitadel = _is_zitadel(str(audience) if audience else None, str(issuer_url) if issuer_url else None)
    if zitadel and software == "proxmox":
        values["idp_note"] = "ZITADEL adds the project id to every ID token by default, so with ZITADEL the upgrade is the way."
    elif zitadel:
        values["idp_note"] = "ZITADEL adds the project id to every ID token by default: trusting it is the usual fix."
    else:
        values["idp_note"] = "Keycloak: remove the audience mapper that adds it; other IdPs: the client's audience or resource settings."
    values["issuer_difference"] = issuer_difference(
        str(group.get("expected_issuer") or "") or None, str(group.get("found_issuer") or "") or None
    )
    values["skew_note"] = skew_note(group.get("expired_at"), group.get("current_time"))  # type: ignore[arg-type]
    alternatives = [a for a in str(group.get("alternatives") or "").split(",") if a]
    values["ambiguity_note"] = (
        "The message is the same for "
        + ", ".join(causes[a].title.lower() for a in [cause.id, *alternatives] if a in causes)
        + ": the validator does not log which, so tokenaudit does not guess. A captured token "
        "(`tokenaudit explain`) or the JWKS tells them apart."
        if alternatives
        else ""
    )
    token_type = group.get("token_type")
    values["token_type_note"] = (
        f"its JOSE header says typ `{token_type}`"
        + (", the mark of an RFC 9068 access token, where an ID token was expected." if str(token_type).lower().endswith("at+jwt") else ".")
        if token_type
        else ""
    )
    variant = "unpaired_refusal" if group.get("event_kind") == "http_denied" else "default"
    if cause.id == "untrusted_extra_audience" and audience and str(audience) in existing:
        variant = "already_trusted"
    elif not ready_fix(group, realm):
        variant = "unconfirmed"
        values["evidence_note"] = evidence_note(group)
    values["confirm_audience"] = confirm_audience(str(audience or "<audience>"), realm)
    found_issuer = str(group.get("found_issuer") or "")
    values["discovery_url"] = discovery_url(found_issuer) if found_issuer else None
    fix = cause.fix_for(software, variant)
    explanation = " ".join(fill(cause.explanation, values).split())
    if alternatives and cause.id != "signature_invalid":
        explanation += " " + str(values["ambiguity_note"])
    return explanation, fill(fix.text, values)
