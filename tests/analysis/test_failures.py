"""Analysis: classification at analysis time, pairing, relying parties, groups."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import tokenaudit as ta
from tokenaudit.analysis import failures
from tokenaudit.catalogue.loading import load_catalogue
from tokenaudit.formats.parsing import load_formats
from tokenaudit.pipeline.chunk import ChunkContext, process_chunk

SYSLOG = load_formats()["syslog_iso"]
AUD = ("openid authentication failure; rhost=::ffff:10.0.0.{n} msg=Failed to verify ID token: "
       "Invalid audiences: `377572587972067335` is not a trusted audience")
SUBJECT = ("openid authentication failure; rhost=::ffff:10.0.0.9 msg=Failed to verify ID token: "
           "Invalid subject: expected `1` (found `2`)")


def events_from(messages: list[str], host: str = "pve1") -> pd.DataFrame:
    lines = [f"2026-11-22T10:{i:02d}:00+00:00 {host} pvedaemon[7]: {m}" for i, m in enumerate(messages)]
    return process_chunk(lines, SYSLOG, load_catalogue(), ChunkContext("s.log")).events.to_pandas()


REALMS = pd.DataFrame([{"realm": "zitadel", "type": "openid", "issuer_url": "https://auth.example.com",
                        "client_id": "377576883644006407", "audiences": "", "username_claim": "email",
                        "software": "proxmox", "source_file": "domains.cfg"}])


def test_groups_count_the_same_cause_and_value_together_with_the_fix_filled_in() -> None:
    events = events_from([AUD.format(n=1), AUD.format(n=2), SUBJECT, AUD.format(n=3)])
    groups = ta.failure_groups(events, REALMS)
    top = groups.iloc[0]
    assert (top["cause"], top["count"], top["key"], top["relying_party"]) == (
        "untrusted_extra_audience", 3, "377572587972067335", "zitadel")
    assert "pveum realm modify zitadel --audiences 377572587972067335" in top["recommendation"]
    assert groups.iloc[-1]["cause"] == "unclassified"
    assert top["first_seen"] == pd.Timestamp("2026-11-22T10:00:00Z")
    assert top["last_seen"] == pd.Timestamp("2026-11-22T10:03:00Z")


def test_fix_keeps_audiences_already_trusted() -> None:
    realms = REALMS.assign(audiences="111111111111111111")
    groups = ta.failure_groups(events_from([AUD.format(n=1)]), realms)
    assert "--audiences 111111111111111111,377572587972067335" in groups.iloc[0]["recommendation"]


def test_already_trusted_audience_points_at_the_version() -> None:
    realms = REALMS.assign(audiences="377572587972067335")
    text = ta.failure_groups(events_from([AUD.format(n=1)]), realms).iloc[0]["recommendation"]
    assert "already lists 377572587972067335" in text


def test_an_improved_catalogue_reclassifies_stored_events(tmp_path: Path) -> None:
    stored = events_from([SUBJECT])  # as ingested with the built-in catalogue
    assert stored["signature"].tolist() == ["proxmox.openid_login_failure"]
    assert ta.classify(stored)["cause"].tolist() == ["unclassified"]
    # A user adds a signature to the family the Proxmox envelope hands its detail to.
    extra = tmp_path / "openidconnect.toml"
    extra.write_text(
        'family = "openidconnect"\nsource = "test"\n[[signature]]\nid = "openidconnect.subject_mismatch"\n'
        'title = "subject differs"\ncause = "account_rejected"\nsearch = true\n'
        "pattern = '''Invalid subject: expected `(?P<expected_audience>[^`]+)`'''\n"
        '[[signature.sample]]\nmessage = "Invalid subject: expected `1` (found `2`)"\nexpect = { expected_audience = '
        '"1" }\n',
        encoding="utf-8",
    )
    improved = load_catalogue([extra])
    reclassified = ta.classify(stored, improved)
    assert reclassified["signature"].tolist() == ["openidconnect.subject_mismatch"]
    assert reclassified["cause"].tolist() == ["account_rejected"]
    assert reclassified["expected_audience"].tolist() == ["1"]
    assert stored["signature"].tolist() == ["proxmox.openid_login_failure"]  # input untouched


def test_ambiguous_message_names_the_causes_it_cannot_separate() -> None:
    events = events_from(["openid authentication failure; rhost=1.2.3.4 msg=Failed to verify ID token: Signature "
                          "verification failed"])
    group = ta.failure_groups(events, REALMS).iloc[0]
    assert group["cause"] == "signature_invalid"
    assert group["alternatives"] == "unknown_signing_key,algorithm_mismatch"
    assert "does not guess" in group["explanation"]


def test_access_log_refusal_pairs_with_the_daemon_line() -> None:
    daemon = events_from([AUD.format(n=5)])
    access_fmt = load_formats()["pveproxy_access"]
    lines = ['::ffff:10.0.0.5 - - [22/11/2026:11:00:03 +0100] "POST /api2/json/access/openid/login HTTP/1.1" 401 -',
             '::ffff:10.0.0.6 - - [22/11/2026:11:30:00 +0100] "POST /api2/json/access/ticket HTTP/1.1" 401 -']
    access = process_chunk(lines, access_fmt, load_catalogue(), ChunkContext("access.log")).events.to_pandas()
    paired = ta.pair_http_denials(pd.concat([daemon, access], ignore_index=True))
    explained = paired[paired["event_kind"] == "http_denied"].set_index("client_addr")["explained_by"]
    assert explained["::ffff:10.0.0.5"] == "s.log:1"
    assert pd.isna(explained["::ffff:10.0.0.6"])
    groups = ta.failure_groups(pd.concat([daemon, access], ignore_index=True), REALMS)
    assert groups["count"].sum() == 2  # the paired 401 is not counted twice


def test_relying_party_from_user_or_single_realm() -> None:
    events = events_from([AUD.format(n=1),
                          "authentication failure; rhost=1.2.3.4 user=jose@pve msg=invalid credentials"])
    parties = ta.attribute_relying_party(ta.classify(events), REALMS)["relying_party"].tolist()
    assert parties == ["zitadel", "pve"]


def test_relying_party_unknown_with_two_openid_realms_and_no_clue() -> None:
    realms = pd.concat([REALMS, REALMS.assign(realm="keycloak", client_id="pve")], ignore_index=True)
    parties = ta.attribute_relying_party(ta.classify(events_from([AUD.format(n=1)])), realms)["relying_party"]
    assert parties.isna().all()


def test_analysis_does_not_mutate_its_input() -> None:
    events = events_from([AUD.format(n=1)])
    before = events.copy()
    ta.failure_groups(events, REALMS)
    pd.testing.assert_frame_equal(events, before)


@pytest.mark.parametrize("by", [None, "host"])
def test_cause_counts(by: str | None) -> None:
    events = pd.concat([events_from([AUD.format(n=1), SUBJECT]), events_from([AUD.format(n=2)], host="pve2")])
    counts = ta.cause_counts(events, by=by)
    if by is None:
        assert dict(zip(counts["cause"], counts["count"], strict=True)) == {"untrusted_extra_audience": 2,
                                                                            "unclassified": 1}
    else:
        assert len(counts) == 3


def test_a_follow_up_line_of_the_same_request_is_counted_once() -> None:
    fmt = load_formats()["apache_error"]
    lines = [
        "[Sat Nov 21 18:04:51.720114 2026] [auth_openidc:error] [pid 1:tid 2] [client 192.0.2.44:53120] "
        "oidc_proto_validate_aud_and_azp: our configured client_id (orders-reports) could not be found in the array "
        'of values for "aud" claim',
        "[Sat Nov 21 18:04:51.720500 2026] [authz_core:error] [pid 1:tid 2] [client 192.0.2.44:53120] "
        'AH01631: user alice@example.com: authorization failure for "/reports/": ',
        "[Sat Nov 21 18:09:00.000000 2026] [authz_core:error] [pid 1:tid 3] [client 192.0.2.99:1000] "
        'AH01631: user bob@example.com: authorization failure for "/reports/": ',
    ]
    events = process_chunk(lines, fmt, load_catalogue(), ChunkContext("error.log")).events.to_pandas()
    assert len(events) == 3
    paired = failures.pair_follow_ups(events)
    assert paired["explained_by"].tolist()[1] == "error.log:1"
    assert paired["explained_by"].isna().tolist() == [True, False, True]
    groups = ta.failure_groups(events)
    assert sorted(zip(groups["cause"], groups["count"], strict=True)) == [
        ("client_id_missing", 1), ("insufficient_scope_or_roles", 1)]


def test_cause_changes_trend_needs_more_than_a_fifth_and_two_events() -> None:
    def events(**counts: int) -> pd.DataFrame:
        return pd.DataFrame({"cause": [c for c, n in counts.items() for _ in range(n)]})

    now = events(a=13, b=12, c=3, d=10, e=4)
    before = events(a=10, b=10, c=5, d=9, f=1)
    changes = ta.cause_changes(now, before).set_index("cause")
    assert changes["trend"].to_dict() == {
        "a": "rising", "b": "steady", "d": "steady", "e": "new", "c": "falling", "f": "gone"}
    assert changes.loc["c", "delta"] == -2 and changes.loc["f", "current"] == 0
    assert list(changes.index) == ["a", "b", "d", "e", "c", "f"]  # largest current count first


def test_a_huge_failure_line_is_stored_capped_and_shown_short(tmp_path: Path) -> None:
    """One 2 MB failure line: the dataset keeps 4096 characters and the full length; outputs show a few hundred."""
    from typer.testing import CliRunner

    from tokenaudit.cli import app
    from tokenaudit.common.masking import EXAMPLE_WIDTH, MESSAGE_LIMIT

    detail = "x" * 2_000_000
    log = tmp_path / "huge.log"
    log.write_text("Nov 22 09:40:03 pve1 pvedaemon[2345]: openid authentication failure; rhost=::ffff:10.0.0.5 "
                   f"msg=Failed to verify ID token: Invalid audiences: `{detail}` is not a trusted audience\n")
    dataset = tmp_path / "ds"
    ta.ingest([str(log)], dataset, timezone="UTC")
    [row] = ta.read_events(dataset).to_dict("records")
    assert len(row["message"]) == MESSAGE_LIMIT + 1 and row["message"].endswith("…")
    assert row["message_length"] == len(log.read_text().split(": ", 1)[1]) - 1
    assert len(row["audience"]) == MESSAGE_LIMIT + 1
    [group] = ta.failure_groups(ta.read_events(dataset)).to_dict("records")
    assert len(group["example"]) == EXAMPLE_WIDTH and len(group["key"]) == EXAMPLE_WIDTH
    runner = CliRunner()
    for args in (["analyze"], ["analyze", "--format", "json"], ["report", "--since", "3650d", "--format", "markdown"],
                 ["events"]):
        result = runner.invoke(app, [*args, "--dataset", str(dataset)])
        assert result.exit_code == 0, result.output
        assert len(result.output) < 40_000, (args, len(result.output))


def test_a_cause_keyed_by_a_value_its_message_lacks_is_keyed_by_the_messages_template() -> None:
    # Keycloak's refused client secret: credentials_invalid is keyed by the user, and the event names none
    event = ("2024-10-08 20:15:47,489 WARN  [org.keycloak.events] (executor-thread-57) type=\"CODE_TO_TOKEN_ERROR\", "
             "realmId=\"{uuid}\", realmName=\"main\", clientId=\"nextcloud\", userId=\"null\", ipAddress=\"{ip}\", "
             "error=\"invalid_client_credentials\", grant_type=\"authorization_code\"")
    lines = [event.format(uuid="15b3a838-647e-4f17-9a00-7116f39e0b62", ip="172.18.0.7"),
             event.format(uuid="9c1d2e3f-0000-4f17-9a00-7116f39e0b62", ip="10.1.2.3")]
    events = process_chunk(lines, load_formats()["generic_text"], load_catalogue(), ChunkContext("k.log")).events
    [group] = ta.failure_groups(events.to_pandas()).to_dict("records")
    assert (group["cause"], group["count"]) == ("credentials_invalid", 2)
    assert 'realmId="<UUID>"' in group["key"] and 'ipAddress="<IP>"' in group["key"]
