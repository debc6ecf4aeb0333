"""Recommendations: templates filled with the user's values."""

from __future__ import annotations

import pytest

from tokenaudit.causes import CAUSE_IDS, load_causes
from tokenaudit.recommend import audience_note, fill, issuer_difference, recommend, skew_note


@pytest.mark.parametrize("cause", CAUSE_IDS)
def test_every_cause_has_an_explanation_and_a_fix(cause: str) -> None:
    why, fix = recommend({"cause": cause, "software": "proxmox", "relying_party": "r", "detail": "d"})
    assert why.strip() and fix.strip()
    assert load_causes()[cause].summary


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


def test_skew_note_tells_clock_skew_from_a_stale_token() -> None:
    assert "clocks" in skew_note("2026-11-22 09:10:00 UTC", "2026-11-22 09:10:41.3 UTC")
    assert "stale" in skew_note("2026-11-22 09:10:00 UTC", "2026-11-22 11:10:00 UTC")
    assert skew_note("garbage", "2026-11-22 11:10:00 UTC") == ""


def test_audience_note_spots_zitadel_and_keycloak() -> None:
    assert "ZITADEL project id" in audience_note("377572587972067335", None)
    assert "Keycloak" in audience_note("account", None)
    assert audience_note("api://x", None) == ""


def test_generic_fix_for_other_software_does_not_talk_about_pveum() -> None:
    _, fix = recommend({"cause": "untrusted_extra_audience", "software": "openidconnect-rs", "audience": "329836626744180738"})
    assert "pveum" not in fix and "oidc_additional_trusted_audiences" in fix
