"""The causes' definitions, and what the catalogue asks of them."""

from __future__ import annotations

import tokenaudit as ta
from tokenaudit.catalogue.loading import load_catalogue
from tokenaudit.causes.definitions import load_causes

#: Variants worked out from a failure group, not named by signatures.
WORKED_OUT = {"default", "unpaired_refusal", "already_trusted", "unconfirmed"}


def test_every_fix_variant_a_signature_names_is_a_fix_of_its_cause() -> None:
    causes = load_causes()
    named = [s for s in load_catalogue().signatures if s.fix_variant]
    assert len(named) >= 9
    for signature in named:
        assert signature.cause is not None and signature.fix_variant not in WORKED_OUT, signature.id
        variants = {fix.variant for fix in causes[signature.cause].fixes if fix.software == "*"}
        assert signature.fix_variant in variants, signature.id


def test_a_refused_client_secret_gets_the_client_secret_fix_not_the_lockout_advice() -> None:
    [answer] = ta.why('2024-10-08 20:15:47,489 WARN  [org.keycloak.events] (executor-thread-57) '
                      'type="CODE_TO_TOKEN_ERROR", realmId="master", realmName="master", clientId="nextcloud", '
                      'userId="null", ipAddress="192.0.2.7", error="invalid_client_credentials", '
                      'grant_type="authorization_code"')
    assert answer.cause == "credentials_invalid"
    assert "Clients → nextcloud → Credentials" in answer.fix and "brute force" not in answer.fix
    assert "The IdP's own log of the request" in answer.explanation  # its alternative is no token cause
    [password] = ta.why('WARN  [org.keycloak.events] (executor-thread-3) type=LOGIN_ERROR, realmId=main, '
                        'clientId=grafana, userId=1f0e5b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b, ipAddress=192.0.2.8, '
                        'error=invalid_user_credentials, auth_method=openid-connect, username=alice')
    assert password.cause == "credentials_invalid" and "brute force detection" in password.fix


def test_the_entra_secret_fix_names_the_secrets_value_and_expiry() -> None:
    [answer] = ta.why("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is "
                      "the client secret value, not the client secret ID, for a secret added to app 'a1b2'.")
    assert answer.cause == "credentials_invalid"
    assert "not the secret ID" in answer.fix and "Entra ID secrets expire" in answer.fix
