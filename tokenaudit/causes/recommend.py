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

from ..common.masking import shorten
from ..common.timestamps import duration_text
from ..models import CauseDefinition
from .definitions import load_causes

_TEMPLATE = re.compile(r"\[\[|\]\]|\[|\]|\{([a-z_]+)(?:\|([^{}]*))?\}")
_NAME = re.compile(r"\{([a-z_]+)(?:\|[^{}]*)?\}")
_ZITADEL_ID = re.compile(r"^\d{15,20}$")
SOFTWARE_NAMES = {"proxmox": "Proxmox VE", "openidconnect-rs": "the openidconnect-rs validator"}

#: Texts a missing value turns into on its way through pandas or ``str()``: never shown as a value.
_MISSING_TEXTS = frozenset({"", "nan", "NaN", "None", "NaT", "<NA>"})


def known(value: object) -> bool:
    """Whether ``value`` is a value a person may read (not None, NaN, NaT, empty, or their text).

    Examples
    --------
    >>> known("alice"), known(""), known(float("nan")), known("None"), known(None), known(0)
    (True, False, False, False, False, True)
    """
    if value is None or (not isinstance(value, str | list | tuple | dict) and bool(pd.isna(value))):
        return False
    return str(value).strip() not in _MISSING_TEXTS


def fill(template: str, values: Mapping[str, object]) -> str:
    """Fill a cause's template with ``values``; a value not known never shows as a bare name.

    The syntax of the texts in ``data/causes.toml``:

    - ``{name}`` is replaced by the value of ``name``;
    - ``{name|words}`` is replaced by the value of ``name``, or by ``words`` when
      the value is not known (:func:`known`): ``the relying party's host``, or a
      placeholder the *user* fills in a command, written with a space so it
      never looks like a template name (``<realm name>``, ``<client id>``);
    - ``[ text ]`` is an optional segment: it is left out, brackets and all,
      when a ``{name}`` in it (one without ``|words``) is not known. Segments do
      not nest; ``[[`` and ``]]`` stand for a literal bracket.

    A bare ``{name}`` outside a segment whose value is not known reads
    ``(unknown name)``; the catalogue's test makes sure no text relies on that.
    Only plain names are substituted (no attribute or index access), so a
    template can never reach into an object.

    Examples
    --------
    >>> fill("The account[ {user}] was refused[: {detail}].", {"user": "alice"})
    'The account alice was refused.'
    >>> fill("pveum realm modify {realm|<realm name>} --audiences {audience}", {"realm": "zitadel"})
    'pveum realm modify zitadel --audiences (unknown audience)'
    >>> fill("a [[b]] c", {})
    'a [b] c'
    """
    out: list[str] = []
    segment: list[str] | None = None
    complete = True
    position = 0
    for match in _TEMPLATE.finditer(template):
        (segment if segment is not None else out).append(template[position:match.start()])
        position = match.end()
        token = match[0]
        if token in ("[[", "]]"):
            (segment if segment is not None else out).append(token[0])
        elif token == "[" and segment is None:
            segment, complete = [], True
        elif token == "]" and segment is not None:
            if complete:
                out.extend(segment)
            segment = None
        elif token in ("[", "]"):
            (segment if segment is not None else out).append(token)
        else:
            found = values.get(match[1])
            if known(found):
                text = shorten(found)  # a value from a line of any length: bounded as examples are
            elif match[2] is not None:
                text = match[2]
            elif segment is not None:
                complete, text = False, ""
            else:
                text = f"(unknown {match[1].replace('_', ' ')})"
            (segment if segment is not None else out).append(text)
    if segment is not None:  # an unclosed segment: its text as written
        out.append("[" + "".join(segment))
    out.append(template[position:])
    return "".join(out)


def template_names(template: str) -> set[str]:
    """The value names a template uses.

    Examples
    --------
    >>> sorted(template_names("The account[ {user}] was refused on {host|the host}."))
    ['host', 'user']
    """
    return set(_NAME.findall(template))


def moment(value: object) -> pd.Timestamp | None:
    """Read a time as validators log it: ISO 8601, Go's ``… +0000 UTC``, or epoch seconds or milliseconds.

    Examples
    --------
    >>> moment("1736243600000"), moment("2024-03-05 10:12:01 +0000 UTC"), moment("soon")
    (Timestamp('2025-01-07 09:53:20+0000', tz='UTC'), Timestamp('2024-03-05 10:12:01+0000', tz='UTC'), None)
    """
    if not known(value):
        return None
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{9,10}(\.\d+)?", text):
            return pd.Timestamp(float(text), unit="s", tz="UTC")
        if re.fullmatch(r"\d{12,13}", text):
            return pd.Timestamp(int(text), unit="ms", tz="UTC")
        if text.endswith(" UTC"):
            text = text[:-4] if re.search(r"[+-]\d{2}:?\d{2}$", text[:-4]) else text[:-4] + "Z"
        stamp = pd.Timestamp(text)
    except (ValueError, OverflowError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def time_text(value: object) -> str | None:
    """A logged time as a person reads it: epoch numbers become UTC times, other texts stay as logged.

    Examples
    --------
    >>> time_text("1795280700"), time_text("2025-01-07T09:55:12.000Z"), time_text(None)
    ('2026-11-21 17:05:00 UTC', '2025-01-07T09:55:12.000Z', None)
    """
    if not known(value):
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text) and (stamp := moment(text)) is not None:
        return str(stamp.strftime("%Y-%m-%d %H:%M:%S UTC"))
    return text


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
        parts.append("an Entra ID v1.0 token where v2.0 is expected "
                     "(set requestedAccessTokenVersion = 2 in the API's manifest)")
    return "They differ in " + " and ".join(parts) + "." if parts else "They differ in case or encoding."


def skew_note(expired_at: object, current_time: object) -> str:
    """Describe how long before the check a token expired ("" when either time is unknown).

    Examples
    --------
    >>> skew_note("2025-03-24 17:19:40 UTC", "2025-03-24 17:20:03 UTC")
    'It had expired 23 s before the check: a gap that small points at clocks that disagree.'
    >>> skew_note("2025-03-24T16:20:36Z", "2025-03-24T17:20:03Z")
    'It had expired 59 min 27 s before the check: a stale or replayed token, not clock skew.'
    """
    expired, current = moment(expired_at), moment(current_time)
    if expired is None or current is None:
        return ""
    gap = (current - expired).total_seconds()
    if gap < 0:
        return ""
    if gap <= 300:
        return f"It had expired {duration_text(gap)} before the check: a gap that small points at clocks that disagree."
    return f"It had expired {duration_text(gap)} before the check: a stale or replayed token, not clock skew."


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
        return ("`account` is the audience Keycloak adds for its account client: "
                "this looks like a Keycloak access token, not an ID token.")
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
    >>> group = {"cause": "untrusted_extra_audience", "audience": "evil123", "confidence": "high",
    ...          "identity": "claimed"}
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
    if group.get("tier") == "words":
        return ("the cause was guessed from words the catalogue's samples of it use, in a line that no entry of the "
                "catalogue matched")
    if group.get("tier") == "keyword":
        return ("the cause was read from a pair of words in a line that reports a failure, not from the exact text "
                "of the software that refused the token")
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


def detail_text(group: Mapping[str, object]) -> str | None:
    """What the log says of a failure, in words: its ``detail``, else the error code and description it carries.

    Examples
    --------
    >>> detail_text({"error_code": "invalid_grant", "error_description": "Code not valid"})
    '`invalid_grant`: Code not valid'
    >>> detail_text({"detail": "OpenID realm does not allow password verification."})
    'OpenID realm does not allow password verification'
    >>> detail_text({}) is None
    True
    """
    if known(group.get("detail")):
        detail = str(group["detail"]).strip()
        # the text ends the sentence
        return detail[:-1] if detail.endswith(".") and not detail.endswith("..") else detail
    parts = [f"`{group['error_code']}`" if known(group.get("error_code")) else "",
             str(group["error_description"]) if known(group.get("error_description")) else ""]
    return ": ".join(part for part in parts if part) or None


def token_type_note(token_type: object) -> str:
    """Say in a sentence what the logged token type tells ("" when none was logged).

    Examples
    --------
    >>> token_type_note("at+jwt")
    'Its JOSE header says typ `at+jwt`, the mark of an RFC 9068 access token, where an ID token was expected.'
    >>> token_type_note("ID token")
    'It is an ID token.'
    """
    if not known(token_type):
        return ""
    text = str(token_type)
    if text.lower().endswith("at+jwt"):
        return (f"Its JOSE header says typ `{text}`, the mark of an RFC 9068 access token, "
                "where an ID token was expected.")
    if text in ("ID token", "access token"):
        return f"It is an {text}."
    if text.lower() == "bearer":
        return "Its `typ` claim says `Bearer`, which Keycloak gives its access tokens."
    return f"The log names its type `{shorten(text)}`."


def proxmox_userid(user: object, realm: object) -> str | None:
    """A Proxmox user id (``user@realm``) from a logged user name and the realm, if both are known.

    Examples
    --------
    >>> proxmox_userid("alice", "zitadel"), proxmox_userid("bob@pve", "zitadel"), proxmox_userid("alice", None)
    ('alice@zitadel', 'bob@pve', None)
    """
    if not known(user):
        return None
    if "@" in str(user):
        return str(user)
    return f"{user}@{realm}" if known(realm) else None


def template_values(group: Mapping[str, object], realm: Mapping[str, object] | None = None) -> dict[str, object]:
    """The values a cause's texts are filled with: the group's own, and the notes computed from them.

    A value tokenaudit does not know is left out (or ``""`` for a computed
    note), so that :func:`fill` drops the clause that needs it.

    Examples
    --------
    >>> values = template_values({"cause": "expired", "expired_at": "1795280700", "software": "pyjwt"})
    >>> values["expired_at"], values["software"], values["skew_note"]
    ('2026-11-21 17:05:00 UTC', 'pyjwt', '')
    """
    causes = load_causes()
    cause = causes.get(str(group.get("cause")), causes["unclassified"])
    realm = realm or {}
    values: dict[str, object] = {k: v for k, v in group.items() if isinstance(v, str) and known(v)}
    software = str(group.get("software") or "")
    values["software"] = SOFTWARE_NAMES.get(software, software or "the relying party")
    values["realm"] = group.get("relying_party")
    values["detail"] = detail_text(group)
    values["expired_at"] = time_text(group.get("expired_at"))
    values["current_time"] = time_text(group.get("current_time"))
    issuer_url = str(realm.get("issuer_url")) if known(realm.get("issuer_url")) else None
    values["issuer_url"] = issuer_url
    values["realm_discovery_url"] = discovery_url(issuer_url) if issuer_url else None
    audience = str(group["audience"]) if known(group.get("audience")) else None
    existing = [a for a in str(realm.get("audiences") or "").split(",") if known(a)]
    values["audiences_value"] = ",".join(dict.fromkeys([*existing, audience or "<the extra audience>"]))
    values["audience_note"] = audience_note(audience, issuer_url)
    zitadel = _is_zitadel(audience, issuer_url)
    if zitadel and software == "proxmox":
        values["idp_note"] = ("ZITADEL adds the project id to every ID token by default, "
                              "so with ZITADEL the upgrade is the way.")
    elif zitadel:
        values["idp_note"] = "ZITADEL adds the project id to every ID token by default: trusting it is the usual fix."
    else:
        values["idp_note"] = ("Keycloak: remove the audience mapper that adds it; "
                              "other IdPs: the client's audience or resource settings.")
    values["issuer_difference"] = issuer_difference(
        str(group["expected_issuer"]) if known(group.get("expected_issuer")) else None,
        str(group["found_issuer"]) if known(group.get("found_issuer")) else None,
    )
    values["skew_note"] = skew_note(group.get("expired_at"), group.get("current_time"))
    alternatives = [a for a in str(group.get("alternatives") or "").split(",") if a in causes]
    values["ambiguity_note"] = ambiguity_note([causes[a] for a in [cause.id, *alternatives]]) if alternatives else ""
    values["token_type_note"] = token_type_note(group.get("token_type"))
    values["evidence_note"] = evidence_note(group)
    values["confirm_audience"] = confirm_audience(audience, realm) if audience else None
    found_issuer = str(group["found_issuer"]) if known(group.get("found_issuer")) else None
    values["discovery_url"] = discovery_url(found_issuer) if found_issuer else None
    values["pve_userid"] = proxmox_userid(group.get("user"), group.get("relying_party"))
    return values


def ambiguity_note(candidates: list[CauseDefinition]) -> str:
    """What to say when a message cannot tell ``candidates`` (the answer first) apart, and what would.

    A captured token or the JWKS decides between token causes; between others (a refused secret or a
    misconfigured client), the IdP's own log of the request, or the relying party's settings, decides.

    Examples
    --------
    >>> from tokenaudit.causes.definitions import load_causes
    >>> causes = load_causes()
    >>> note = ambiguity_note([causes["signature_invalid"], causes["unknown_signing_key"]])
    >>> note.split(". ")[0]
    'The message is the same for these causes: signature not verified; unknown signing key'
    >>> "A captured token (`tokenaudit explain`) or the JWKS tells them apart." in note
    True
    >>> "The IdP's own log of the request" in ambiguity_note([causes["credentials_invalid"], causes["config_error"]])
    True
    """
    titles = [_in_sentence(candidate.title) for candidate in candidates]
    named = "; ".join(titles)  # titles may hold "and" or "or" themselves
    if all(candidate.group == "token" for candidate in candidates):
        return (f"The message is the same for these causes: {named}. The validator does not log which, so tokenaudit "
                "does not guess. A captured token (`tokenaudit explain`) or the JWKS tells them apart.")
    return (f"The message is the same for these causes: {named}. The software does not log which, so tokenaudit does "
            "not guess. The IdP's own log of the request, or the relying party's settings compared with the IdP's "
            "application, tells them apart.")


def _in_sentence(title: str) -> str:
    """A cause's title inside a sentence: its first letter in lower case, unless its first word is a name (IdP)."""
    first = title.split(" ", 1)[0]
    return title if any(c.isupper() for c in first[1:]) else title[:1].lower() + title[1:]


def fix_variant(group: Mapping[str, object], realm: Mapping[str, object] | None = None) -> str:
    """Which of a cause's fixes the situation calls for: ``default``, ``unpaired_refusal``, ``already_trusted``,
    ``unconfirmed``, or the one the group's signature names (``fix_variant``, such as ``client_secret``).

    Examples
    --------
    >>> fix_variant({"cause": "unclassified", "event_kind": "http_denied"})
    'unpaired_refusal'
    >>> fix_variant({"cause": "untrusted_extra_audience", "audience": "a"}, {"audiences": "a"})
    'already_trusted'
    >>> fix_variant({"cause": "credentials_invalid", "fix_variant": "client_secret"})
    'client_secret'
    """
    realm = realm or {}
    audience = group.get("audience")
    existing = [a for a in str(realm.get("audiences") or "").split(",") if a]
    if group.get("event_kind") == "http_denied":
        return "unpaired_refusal"
    if group.get("cause") == "untrusted_extra_audience" and known(audience) and str(audience) in existing:
        return "already_trusted"
    if not ready_fix(group, realm):
        return "unconfirmed"
    return str(group["fix_variant"]) if known(group.get("fix_variant")) else "default"


def recommend(group: Mapping[str, object], realm: Mapping[str, object] | None = None) -> tuple[str, str]:
    """Return the explanation and the fix for a failure group.

    Parameters
    ----------
    group
        A row of :func:`tokenaudit.analysis.failures.failure_groups` (``cause``,
        ``software``, ``relying_party``, ``key`` and the captured fields).
    realm
        The relying party's configuration (a row of the realms table), if known.

    Returns
    -------
    explanation, recommendation
        Complete texts: a value that is not known drops the clause that needs
        it, or is named in words (:func:`fill`).

    Examples
    --------
    >>> why, fix = recommend({"cause": "untrusted_extra_audience", "software": "proxmox",
    ...                       "relying_party": "zitadel", "audience": "377572587972067335"},
    ...                      {"audiences": "", "issuer_url": "https://auth.example.com"})
    >>> "pveum realm modify zitadel --audiences 377572587972067335" in fix
    True
    >>> recommend({"cause": "account_rejected", "software": "keycloak"})[0]
    'The account was refused.'
    """
    causes = load_causes()
    cause = causes.get(str(group.get("cause")), causes["unclassified"])
    values = template_values(group, realm)
    fix = cause.fix_for(str(group.get("software") or ""), fix_variant(group, realm))
    explanation = " ".join(fill(cause.explanation, values).split())
    if values["ambiguity_note"] and cause.id != "signature_invalid":
        explanation += " " + str(values["ambiguity_note"])
    return explanation, fill(fix.text, values)
