"""Recommendations: templates filled with the user's values, complete whatever is known."""

from __future__ import annotations

import re
from functools import cache

import pytest

from tokenaudit.catalogue.loading import load_catalogue
from tokenaudit.causes.definitions import CAUSE_IDS, load_causes
from tokenaudit.causes.recommend import (
    audience_note,
    fill,
    fix_variant,
    issuer_difference,
    moment,
    recommend,
    skew_note,
    template_names,
    template_values,
)
from tokenaudit.schema import EVENT_FIELDS

#: A template name left in a text (`<detail>`); a placeholder the user fills in has a space (`<client id>`).
TEMPLATE_NAME = re.compile(r"<[a-z_]+>")
USER_PLACEHOLDER = re.compile(r"<[^<>\n]* [^<>\n]*>")
#: What fill writes for a bare name it has no value for, and template syntax left over.
LEFTOVERS = re.compile(r"\(unknown [a-z ]+\)|\{[a-z_]*(\|[^}]*)?\}|\[|\]|\b(?:nan|None|NaT)\b")

#: A value for every field a signature captures, and for what a group and a realm add.
FULL_GROUP: dict[str, str] = {
    **{name: f"{name}-value" for name in EVENT_FIELDS},
    "audience": "377572587972067335",
    "expected_issuer": "https://auth.example.com/",
    "found_issuer": "https://auth.example.com",
    "expired_at": "1795280700",
    "current_time": "2026-11-21T17:59:27Z",
    "token_type": "at+jwt",
    "relying_party": "zitadel",
    "host": "pve1",
    "alternatives": "config_error",
    "suspicion": "written by `logger`, not by the program its tag names",
}
FULL_REALM: dict[str, str] = {"audiences": "other-audience", "issuer_url": "https://auth.example.com/"}
#: The inputs a test drops one at a time: every group field and every realm setting.
OPTIONAL = tuple(sorted({*FULL_GROUP, *(f"realm.{k}" for k in FULL_REALM)}))


def _software() -> list[str]:
    return sorted({signature.software for signature in load_catalogue().signatures} | {"proxmox", ""})


def situation(cause: str, software: str, variant: str, drop: str | None = None,
              everything: bool = True) -> tuple[dict[str, object], dict[str, str]]:
    """A group and realm of ``cause`` at ``software`` that call for ``variant``, with ``drop`` left out."""
    group: dict[str, object] = {**(FULL_GROUP if everything else {}), "cause": cause, "software": software,
                                "confidence": "high", "identity": "trusted", "tier": "signature"}
    realm = dict(FULL_REALM if everything else {})
    if variant == "unconfirmed":
        group.update(confidence="low", tier="phrase")
    elif variant == "unpaired_refusal":
        group["event_kind"] = "http_denied"
    elif variant == "already_trusted":
        realm["audiences"] = f"{realm.get('audiences', '')},{group.get('audience', '')}"
    elif variant != "default":  # a situation the group's signature names (a refused client secret)
        group["fix_variant"] = variant
    if drop is not None:
        group.pop(drop, None)
        realm.pop(drop.removeprefix("realm."), None)
    return group, realm


def assert_complete(text: str, where: str) -> None:
    """Fail on a template name, a value-less bare name, template syntax or a missing-value word in ``text``."""
    for line in text.splitlines():
        found = TEMPLATE_NAME.search(line) or LEFTOVERS.search(line)
        assert found is None, f"{where}: {found[0]!r} left in: {line}"


@cache
def _variants(cause: str) -> tuple[str, ...]:
    return tuple(sorted({fix.variant for fix in load_causes()[cause].fixes}))


@pytest.mark.parametrize("cause", CAUSE_IDS)
def test_every_text_is_complete_for_every_software_with_or_without_values(cause: str) -> None:
    representatives: dict[str, str] = {}  # one software per distinct fix text
    for variant in _variants(cause):
        for software in _software():
            for everything in (True, False):
                group, realm = situation(cause, software, variant, everything=everything)
                if everything and variant != "default":
                    assert fix_variant(group, realm) == variant, (cause, software, variant)
                why, fix = recommend(group, realm)
                where = f"{cause}/{variant}/{software or 'no software'}/{'all values' if everything else 'no values'}"
                assert why.strip() and fix.strip(), where
                assert_complete(why, where + " why")
                assert_complete(fix, where + " fix")
            representatives.setdefault(load_causes()[cause].fix_for(software, variant).text, software)
    for text, software in representatives.items():
        variant = next(v for v in _variants(cause) if load_causes()[cause].fix_for(software, v).text == text)
        for drop in OPTIONAL:
            group, realm = situation(cause, software, variant, drop=drop)
            why, fix = recommend(group, realm)
            where = f"{cause}/{variant}/{software or 'no software'}/without {drop}"
            assert_complete(why, where + " why")
            assert_complete(fix, where + " fix")


@pytest.mark.parametrize("cause", CAUSE_IDS)
def test_every_template_name_is_a_value_tokenaudit_provides(cause: str) -> None:
    group, realm = situation(cause, "proxmox", "default")
    provided = set(template_values(group, realm))
    definition = load_causes()[cause]
    for text in (definition.explanation, *(fix.text for fix in definition.fixes)):
        assert template_names(text) <= provided, f"{cause}: unknown names {template_names(text) - provided}"


@pytest.mark.parametrize("cause", CAUSE_IDS)
def test_placeholders_the_user_fills_in_have_a_space(cause: str) -> None:
    """`<client id>` is for the user; `<client_id>` would read as a template name nobody filled."""
    definition = load_causes()[cause]
    for text in (definition.explanation, *(fix.text for fix in definition.fixes)):
        for placeholder in re.findall(r"<[^<>\n]*>", text):
            assert USER_PLACEHOLDER.fullmatch(placeholder), f"{cause}: {placeholder} looks like a template name"


def test_user_placeholders_stay_and_template_names_go() -> None:
    _, fix = recommend({"cause": "untrusted_extra_audience", "software": "pyjwt", "confidence": "low",
                        "tier": "phrase"})
    assert "`tokenaudit explain --client-id <client id> --expect id token.txt`" in fix
    assert TEMPLATE_NAME.search(fix) is None and "the extra audience" in fix


def test_every_cause_has_an_explanation_and_a_fix() -> None:
    for cause in CAUSE_IDS:
        why, fix = recommend({"cause": cause, "software": "proxmox", "relying_party": "r", "detail": "d"})
        assert why.strip() and fix.strip() and load_causes()[cause].summary


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ("The account[ {user}] was refused[: {detail}].", {}, "The account was refused."),
        ("The account[ {user}] was refused[: {detail}].", {"user": "bob", "detail": "disabled"},
         "The account bob was refused: disabled."),
        ("on {host|the relying party's host}", {"host": float("nan")}, "on the relying party's host"),
        ("on {host|the relying party's host}", {"host": "None"}, "on the relying party's host"),
        ("[{a} and {b|b}]", {"a": "A"}, "A and b"),
        ("[{a} and {b}]", {"a": "A"}, ""),
        ("x {a}", {}, "x (unknown a)"),
        ("[[literal]] [open", {}, "[literal] [open"),
    ],
)
def test_fill_drops_or_words_what_is_not_known(template: str, values: dict[str, object], expected: str) -> None:
    assert fill(template, values) == expected


def test_fill_never_reaches_into_objects() -> None:
    assert fill("{a.__class__} {b}", {"a": "x", "b": "y"}) == "{a.__class__} y"


@pytest.mark.parametrize(
    ("expected", "found", "says"),
    [
        ("https://a.example/", "https://a.example", "trailing slash"),
        ("http://a.example", "https://a.example", "scheme"),
        ("https://a.example", "https://b.example", "host"),
        ("https://a.example:8443/x", "https://a.example/x", "port"),
        ("https://login.microsoftonline.com/t/v2.0", "https://sts.windows.net/t/", "v1.0"),
    ],
)
def test_issuer_difference_names_the_part(expected: str, found: str, says: str) -> None:
    assert says in issuer_difference(expected, found)


def test_issuer_fix_for_proxmox_names_the_realm_and_found_issuer() -> None:
    _, fix = recommend({"cause": "issuer_mismatch", "software": "proxmox", "relying_party": "kc",
                        "expected_issuer": "https://kc/auth/realms/a", "found_issuer": "https://kc/realms/a"})
    assert "pveum realm modify kc --issuer-url https://kc/realms/a" in fix


def test_discovery_url_of_a_realm_with_a_trailing_slash_has_one_slash() -> None:
    _, fix = recommend({"cause": "idp_unreachable", "software": "proxmox", "host": "pve1"},
                       {"issuer_url": "https://auth.example.com/"})
    assert "`curl -sS https://auth.example.com/.well-known/openid-configuration`" in fix
    assert "From the node pve1," in fix


def test_skew_note_tells_clock_skew_from_a_stale_token() -> None:
    assert "clocks" in skew_note("2026-11-22 09:10:00 UTC", "2026-11-22 09:10:41.3 UTC")
    assert skew_note("2026-11-22 09:10:00 UTC", "2026-11-22 11:10:00 UTC") == (
        "It had expired 2 h before the check: a stale or replayed token, not clock skew.")
    assert skew_note("garbage", "2026-11-22 11:10:00 UTC") == ""
    assert skew_note(None, "2026-11-22 11:10:00 UTC") == ""


@pytest.mark.parametrize(
    ("logged", "iso"),
    [("1736243600000", "2025-01-07T09:53:20+00:00"), ("1795280700", "2026-11-21T17:05:00+00:00"),
     ("2024-03-05 10:12:01.503214 +0000 UTC", "2024-03-05T10:12:01.503214+00:00"),
     ("2025-08-29T00:30:05.0000000Z", "2025-08-29T00:30:05+00:00"),
     ("2025-03-24 17:19:40 UTC", "2025-03-24T17:19:40+00:00")],
)
def test_moment_reads_the_times_validators_log(logged: str, iso: str) -> None:
    stamp = moment(logged)
    assert stamp is not None and stamp.isoformat() == iso


def test_expired_explanation_reads_epoch_times_and_the_gap_in_words() -> None:
    why, _ = recommend({"cause": "expired", "software": "pyjwt", "expired_at": "1795280700",
                        "current_time": "1795284267"})
    assert why == ("The token had expired when pyjwt checked it. It expired at 2026-11-21 17:05:00 UTC. "
                   "The validator's clock read 2026-11-21 18:04:27 UTC. "
                   "It had expired 59 min 27 s before the check: a stale or replayed token, not clock skew.")


def test_an_unknown_detail_drops_its_clause_and_error_codes_stand_in() -> None:
    assert recommend({"cause": "account_rejected", "software": "keycloak"})[0] == "The account was refused."
    why, _ = recommend({"cause": "login_state", "software": "keycloak", "error_code": "invalid_code"})
    assert why == "The login's round trip did not come back as it left: `invalid_code`."


def test_audience_note_spots_zitadel_and_keycloak() -> None:
    assert "ZITADEL project id" in audience_note("377572587972067335", None)
    assert "Keycloak" in audience_note("account", None)
    assert audience_note("api://x", None) == ""


def test_generic_fix_for_other_software_does_not_talk_about_pveum() -> None:
    _, fix = recommend({"cause": "untrusted_extra_audience", "software": "openidconnect-rs",
                        "audience": "329836626744180738"})
    assert "pveum" not in fix and "oidc_additional_trusted_audiences" in fix


@pytest.mark.parametrize("cause", CAUSE_IDS)
def test_advice_for_other_software_names_no_proxmox_tool(cause: str) -> None:
    """A Keycloak failure must not be told about pveum or fail2ban's proxmox filter."""
    for variant in _variants(cause):
        if variant == "unpaired_refusal":  # lists where validators log, Proxmox's pvedaemon among them
            continue
        for software in _software():
            if software == "proxmox":
                continue
            group, realm = situation(cause, software, variant)
            _, fix = recommend(group, realm)
            assert "pveum" not in fix and "proxmox" not in fix.lower(), f"{cause}/{variant}/{software}: {fix}"


def test_credentials_advice_fits_the_software() -> None:
    keycloak = recommend({"cause": "credentials_invalid", "software": "keycloak", "user": "alice"})[1]
    proxmox = recommend({"cause": "credentials_invalid", "software": "proxmox", "user": "root@pam"})[1]
    assert "Brute force detection" in keycloak and "fail2ban" not in keycloak
    assert "`proxmox` filter" in proxmox
