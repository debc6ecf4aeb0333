"""Which entry explains a line that holds the words of two causes, and lines that must stay unexplained."""

from __future__ import annotations

import pytest

from tokenaudit import why


@pytest.mark.parametrize(
    ("message", "cause", "signature"),
    [
        # fosite's precise sentence about the secret wins over the RFC 6749 sentence before it and an outer wrapper
        ('{"error":"invalid_client","error_description":"Client authentication failed (e.g., unknown client, no '
         'client authentication included, or unsupported authentication method). The provided client secret did '
         'not match the registered client secret."}', "credentials_invalid", "phrase.invalid_client_credentials"),
        ('level=error msg="no access token found: The provided client secret did not match the registered client '
         'secret"', "credentials_invalid", "phrase.invalid_client_credentials"),
        # Authelia's log of the same two sentences: its secret signature wins over its outer invalid_client one
        ('level=error msg="Access Request failed with error: Client authentication failed (e.g., unknown client, no '
         'client authentication included, or unsupported authentication method). The provided client secret did not '
         'match the registered client secret." method=POST path=/api/oidc/token', "credentials_invalid",
         "authelia.oidc_client_secret_mismatch"),
        # Google's description wins over the client library's invalid_grant shape before it
        ('oauth2: "invalid_grant" "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable '
         'timeframe. Check your iat and exp values in the JWT claim."', "not_yet_valid", "google_oauth.jwt_timeframe"),
        # the RFC 6749 description names a grant (code or refresh token), so it wins over the bare invalid_grant code
        ('{:error=>:invalid_grant, :error_description=>"The provided authorization grant is invalid, expired, revoked, '
         'does not match the redirection URI used in the authorization request, or was issued to another client."}',
         "login_state", "phrase.rfc6749_invalid_grant_description"),
        # Keycloak's refresh answer is an inactive token
        ("Error: invalid_grant: Token is not active", "token_inactive", "keycloak.token_not_active"),
        # the membership is the reason, not Grafana's user-info call around it
        ("login.OAuthLogin(get info from github): user not a member of one of the required organizations",
         "account_rejected", "grafana.group_membership_missing"),
        # Nimbus's no-matching-key text wins over an outer refresh wrapper
        ("Failed to refresh expired token: Signed JWT rejected: Another algorithm expected, or no matching key(s) "
         "found", "unknown_signing_key", "spring_security.no_matching_key"),
        # Envoy's status strings, returned as the 401 body, are found without the debug line's prefix
        ("Jwks doesn't have key to match kid or alg from Jwt", "unknown_signing_key", "envoy.debug_no_matching_key"),
        ("Jwt authentication completed with: Jwt verification fails", "signature_invalid",
         "envoy.debug_verification_fails"),
        # openid-client's OPError is coarse: the authorization server's description inside it answers first
        ("token refresh failed: OPError: invalid_grant (Session not active)", "token_inactive",
         "phrase.refresh_failed_invalid_grant"),
        ("OPError: invalid_grant (Maximum allowed refresh token reuse exceeded)", "token_inactive",
         "phrase.invalid_grant_on_refresh"),
        ("OPError: invalid_grant (Code not valid)", "login_state", "phrase.code_invalid"),
        # and answers itself when the description names nothing more exact
        ("OPError: invalid_grant (Bad Request)", "login_state", "openid_client.op_invalid_grant"),
        # a bare invalid_grant is a refresh token refused unless the words name the code or its PKCE check
        ("sync: token source: oauth2: cannot fetch token: invalid_grant", "token_inactive", "phrase.invalid_grant"),
        ('exchange: {"error":"invalid_grant","error_description":"Failed to verify code verifier"}', "login_state",
         "keyword.pkce_rejected"),
        ('exchange: {"error":"invalid_grant","error_description":"Code not valid"}', "login_state",
         "phrase.code_invalid"),
    ],
)
def test_the_precise_words_win(message: str, cause: str, signature: str) -> None:
    [answer] = why(message)
    assert (answer.cause, answer.signature) == (cause, signature)


@pytest.mark.parametrize(
    "message",
    [
        # one provider's result, which requires_any / allow_missing_or_failed may tolerate (span envoy_provider_verdict)
        "[2024-08-05 08:54:42.206][28][warning][jwt] [source/extensions/filters/http/jwt_authn/authenticator.cc:374] "
        "firebase_jwt: JWT token verification completed with: Jwks remote fetch is failed",
        "firebase_jwt: JWT token verification completed with: Jwt is expired",
    ],
)
def test_lines_that_report_no_refusal_stay_unexplained(message: str) -> None:
    [answer] = why(message)
    assert answer.cause is None
