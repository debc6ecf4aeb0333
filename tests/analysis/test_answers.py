"""tokenaudit why: the cause and fix of pasted messages, with no dataset."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from tokenaudit.analysis.answers import Answer, split_messages, why
from tokenaudit.cli import EXIT_NOT_RECOGNISED, app
from tokenaudit.render.answers import render_answers

PASTED_PROXMOX = ("openid authentication failure; rhost=::ffff:192.168.178.81 msg=Failed to verify ID token: "
                  "Invalid audiences: `377572587972067335` is not a trusted audience")
SYSLOG_PROXMOX = f"Dec  4 10:00:00 pve1 pvedaemon[2345]: {PASTED_PROXMOX}"
runner = CliRunner()


def test_a_proxmox_line_pasted_without_its_header_names_the_untrusted_audience() -> None:
    [answer] = why(PASTED_PROXMOX)
    assert (answer.cause, answer.values["audience"], answer.tier) == (
        "untrusted_extra_audience", "377572587972067335", "signature")
    # Nothing vouches for who wrote a pasted line: the fix asks to confirm the audience first.
    assert answer.confidence == "medium"
    assert answer.fix.startswith("Confirm 377572587972067335 before you trust it")
    assert "pveum realm modify" not in answer.fix


def test_a_syslog_tag_alone_does_not_make_the_trust_widening_fix_ready() -> None:
    """`pvedaemon[2345]:` is a claim any local user can write with `logger -t pvedaemon`."""
    [answer] = why(SYSLOG_PROXMOX)
    assert (answer.cause, answer.confidence, answer.format) == ("untrusted_extra_audience", "high", "syslog_rfc3164")
    assert not answer.ready_fix
    assert "syslog tag" in answer.fix and "pveum realm modify" not in answer.fix


def test_a_zitadel_shaped_audience_at_a_zitadel_realm_gets_the_ready_command_with_its_confirmation() -> None:
    realms = pd.DataFrame([{"realm": "zitadel", "type": "openid", "issuer_url": "https://auth.example.com",
                            "client_id": "377576883644006407", "audiences": ""}])
    line = SYSLOG_PROXMOX
    [answer] = why(line, realms=realms)
    assert answer.ready_fix
    assert answer.fix.startswith("First confirm that 377572587972067335 is your ZITADEL project's Resource Id")
    assert "pveum realm modify zitadel --audiences 377572587972067335" in answer.fix
    [other] = why(line.replace("377572587972067335", "evil123"), realms=realms)
    assert not other.ready_fix and "pveum realm modify" not in other.fix


def test_a_journal_entry_whose_writer_journald_saw_gets_the_ready_command() -> None:
    entry = {"__REALTIME_TIMESTAMP": "1795281243512331", "_HOSTNAME": "pve2", "SYSLOG_IDENTIFIER": "pvedaemon",
             "_PID": "1418402", "_COMM": "pvedaemon worke",
             "MESSAGE": PASTED_PROXMOX.replace("377572587972067335", "4242")}
    [answer] = why(json.dumps(entry))
    assert (answer.cause, answer.format, answer.ready_fix) == ("untrusted_extra_audience", "journal_json", True)
    assert "pveum realm modify <realm name> --audiences 4242" in answer.fix
    assert answer.fix.startswith("First confirm that 4242 is an audience your IdP adds on purpose")


@pytest.mark.parametrize(("message", "cause"), [
    ("2025-01-07 10:00:00,123 WARNING app.auth: auth: rejecting request: "
     "jwt.exceptions.ExpiredSignatureError: Signature has expired", "expired"),
    ('time="2025-01-07T10:00:00Z" level=warning msg="JWT check failed -> '
     'oidc: id token issued by a different provider, expected \\"https://a\\" got \\"https://b\\""', "issuer_mismatch"),
    ('{"level":"error","ts":1736244000,"msg":"auth failed",'
     '"error":"oidc: expected audience \\"api\\" got [\\"web\\"]"}',
     "client_id_missing"),
])
def test_validator_text_behind_application_prefixes_is_found(message: str, cause: str) -> None:
    [answer] = why(message)
    assert answer.cause == cause


def test_a_message_with_nothing_to_say_is_not_recognised() -> None:
    [answer] = why("2025-01-07 10:00:00 INFO app: user alice logged in")
    assert answer.cause is None
    assert "no failure recognised" in render_answers([answer])
    assert answer.to_dict()["ready_fix"] is False  # no fix at all, so none ready to apply


def test_the_token_endpoint_answer_a_go_client_relays_on_the_next_line_decides() -> None:
    """golang.org/x/oauth2 writes the endpoint's answer on a line of its own: it is part of the message."""
    text = ("level=error msg=\"login failed: exchanging code: oauth2: cannot fetch token: 401 Unauthorized\n"
            'Response: {"error":"invalid_client","error_description":"Invalid client secret"}')
    [answer] = why(text)
    assert answer.cause == "credentials_invalid"
    assert "config_error" in answer.alternatives


def test_the_text_under_a_next_auth_header_decides_not_the_header() -> None:
    """next-auth 4 and Auth.js write an error over two lines; the header alone is only a weak last word."""
    text = ("[next-auth][error][OAUTH_CALLBACK_ERROR] \n"
            "https://next-auth.js.org/errors#oauth_callback_error JWT not active yet, now 1635241857, nbf 1635241858 {")
    [answer] = why(text)
    assert answer.cause == "not_yet_valid"
    text = ("[auth][error] CallbackRouteError: Read more at https://errors.authjs.dev#callbackrouteerror\n"
            '[auth][cause]: OperationProcessingError: unexpected JWT "aud" (audience) claim value')
    [answer] = why(text)
    assert answer.cause == "client_id_missing"
    [header] = why("[next-auth][error][OAUTH_CALLBACK_ERROR]")  # nothing follows: the weak last word
    assert header.cause == "login_state" and header.alternatives


def test_continuation_lines_belong_to_the_message_before() -> None:
    text = ("org.springframework.security.oauth2.server.resource.InvalidBearerTokenException: An error occurred\n"
            "Caused by: org.springframework.security.oauth2.jwt.JwtValidationException: "
            "An error occurred while attempting to decode the Jwt: Jwt expired at 2025-01-07T10:00:00Z\n"
            "\tat org.springframework.security.oauth2.jwt.NimbusJwtDecoder.validateJwt(NimbusJwtDecoder.java:189)\n"
            "second message\n")
    assert len(split_messages(text)) == 2
    answers = why(text)
    assert [a.cause for a in answers] == ["expired", None]


def test_a_pretty_printed_body_belongs_to_the_exception_line_before_it() -> None:
    """google-api-client prints the token endpoint's JSON answer on the lines after its exception's first line."""
    text = ("com.google.api.client.auth.oauth2.TokenResponseException: 400 Bad Request\n"
            "{\n"
            '  "error" : "invalid_grant",\n'
            '  "error_description" : "Token has been expired or revoked."\n'
            "}\n")
    [message] = split_messages(text)
    assert message.endswith('revoked." }')
    [answer] = why(text)
    assert answer.cause == "token_inactive" and answer.tier == "signature"


def test_continuation_lines_behind_a_compose_prefix_belong_to_the_message_before() -> None:
    """docker compose writes ``service  | `` before every line: the record is still one, joined without it."""
    text = ("web-1  | [next-auth][error][OAUTH_CALLBACK_ERROR] \n"
            "web-1  | https://next-auth.js.org/errors#oauth_callback_error id_token detected in the response, "
            "you must use client.callback() instead of client.oauthCallback() {\n"
            "web-1  | ready on port 3000")
    messages = split_messages(text)
    assert len(messages) == 2 and "web-1  | https" not in messages[0] and messages[0].startswith("web-1  | [next")
    assert [a.cause for a in why(text)] == ["config_error", None]


def test_tokens_in_pasted_text_are_redacted_in_the_answer() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWJ5dGVz"
    [answer] = why(f"auth failed for Bearer {token}: Token is expired")
    assert "c2lnbmF0dXJlLWJ5dGVz" not in json.dumps(answer.to_dict())


def test_cli_why_json_and_exit_codes() -> None:
    result = runner.invoke(app, ["why", "--format", "json", PASTED_PROXMOX, "all fine"])
    assert result.exit_code == EXIT_NOT_RECOGNISED, result.output
    answers = json.loads(result.output)
    assert [a["cause"] for a in answers] == ["untrusted_extra_audience", None]
    assert answers[0]["alternatives"] == [] and answers[0]["confidence"] == "medium"
    assert answers[1]["confidence"] is None  # JSON says null, never ""

    ok = runner.invoke(app, ["why", "-"], input=SYSLOG_PROXMOX + "\n")
    assert ok.exit_code == 0, ok.output
    assert "cause       untrusted_extra_audience: Untrusted extra audience (confidence high" in ok.output


def test_a_failure_whose_words_name_no_cause_says_so_and_what_would_decide() -> None:
    """A refusal tokenaudit cannot name is not "all is well": the answer says which, by the software's own words."""
    messages = ["2024-05-01 10:00:00 ERROR push.sender: upstream answered 403 {\"reason\":\"Quux\"}",
                "2024-05-01 10:00:01 INFO push.sender: 12 notifications delivered",
                "INFO search: query=\"ERROR 403 denied\" returned 0 hits"]
    answers = why("\n".join(messages))
    assert [(a.cause, a.reports_failure) for a in answers] == [(None, True), (None, False), (None, False)]
    result = runner.invoke(app, ["why", "--format", "json", *messages])
    assert result.exit_code == EXIT_NOT_RECOGNISED, result.output
    assert [a["reports_failure"] for a in json.loads(result.output)] == [True, False, False]
    text = runner.invoke(app, ["why", *messages[:2]]).output
    first, second = text.split("\n2. ")
    assert "failure, cause not named" in first and "tokenaudit explain TOKEN" in first
    assert "no failure recognised" in second and "cause not named" not in second
    [named] = why(PASTED_PROXMOX)
    assert named.to_dict()["reports_failure"] is True


def test_cli_why_without_a_message_explains_how_to_give_one() -> None:
    result = runner.invoke(app, ["why", "-"], input="")
    assert result.exit_code == 1
    assert "hint:" in result.output


def test_an_ambiguous_phrase_names_its_alternatives_and_what_decides() -> None:
    answer = Answer("x", "generic_text", "client_id_missing", title="Client id missing from aud",
                    alternatives=("token_type_confusion",), confidence="low", tier="phrase")
    text = render_answers([answer])
    assert "or else     token_type_confusion (access token and id token confused)" in text
    assert "a captured token (`tokenaudit explain`)" in text


def test_a_guess_of_the_word_model_says_so_and_shows_the_words_that_decided() -> None:
    """A failure in words no entry holds: the word model names it, with low confidence and its evidence."""
    [answer] = why("2025-01-07 10:00:00 ERROR auth: failed: the token kid names no key of the jwks")
    assert (answer.cause, answer.tier, answer.confidence) == ("unknown_signing_key", "words", "low")
    assert "kid" in answer.evidence and answer.values == {}
    shown = render_answers([answer])
    assert "a guess from words the catalogue's samples of this cause use" in shown
    evidence_line = next(line for line in shown.splitlines() if line.startswith("   words       "))
    assert "'kid'" in evidence_line and "the words that decided" in evidence_line
    assert answer.to_dict()["evidence"] == list(answer.evidence)
    assert answer.to_dict()["tier"] == "words"


def test_the_matched_entry_says_what_the_text_means_where_the_cause_is_broad() -> None:
    """config_error covers many mistakes: the entry's own title names the one this text shows."""
    [answer] = why("PlatformException(sign_in_failed, com.google.android.gms.common.api.ApiException: 10: , null)")
    assert (answer.cause, answer.signature) == ("config_error", "google_signin.developer_error")
    assert "SHA-1" in answer.reading and answer.to_dict()["reading"] == answer.reading
    reads_as = [line for line in render_answers([answer]).splitlines() if line.startswith("   reads as    ")]
    assert len(reads_as) == 1 and "Google Sign-In on Android refused the app" in reads_as[0]
    # ... and its fix is the one for that mistake, not the cause's general advice
    assert answer.fix.startswith("No OAuth client of the Google Cloud project knows this Android app")
    assert "app-signing key" in answer.fix


def test_a_guess_of_the_word_model_reads_as_nothing_more_than_its_cause() -> None:
    [answer] = why("2025-01-07 10:00:00 ERROR auth: failed: the token kid names no key of the jwks")
    assert answer.tier == "words" and answer.reading == ""
    assert answer.to_dict()["reading"] is None  # JSON says null, never ""
    assert "reads as" not in render_answers([answer])


def test_only_the_word_model_answers_carry_evidence() -> None:
    [answer] = why(PASTED_PROXMOX)
    assert answer.evidence == () and "   words       " not in render_answers([answer])
