"""Regenerate the token samples in sample_logs/ (har, token_response, jwt_lines).

Run: python tests/data/make_sample_tokens.py. Keys are made fresh each run and
thrown away; issuers are on reserved domains (example.com), so no real token
can be in the repository. Times fit the story of the syslog samples.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ROOT = Path(__file__).resolve().parents[2] / "sample_logs"
T0 = 1795281087  # 2026-11-21T17:11:27Z, the first untrusted-audience failure on pve1


def sign(claims: dict, *, kid: str = "zitadel-2026-10", typ: str | None = None, key: object = None,
         alg: str = "RS256") -> str:
    key = key if key is not None else _RSA
    headers = {"kid": kid} | ({"typ": typ} if typ else {})
    return jwt.encode(claims, key, algorithm=alg, headers=headers)  # type: ignore[arg-type]


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()



_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048) if __name__ == "__main__" else None


def main() -> None:
    """Write the samples (runs only as a script: importing this module writes nothing)."""
    zitadel_id_token = sign({
        "iss": "https://auth.example.com", "sub": "282374728973", "aud": ["377576883644006407", "377572587972067335"],
        "azp": "377576883644006407", "exp": T0 + 43200, "iat": T0 - 1, "auth_time": T0 - 20, "nonce": "Nq8v1dW2",
        "at_hash": "e3XUwG9Kx0r7mP2nQ1aB4c", "amr": ["pwd"], "email": "alice@example.com", "email_verified": True,
        "urn:zitadel:iam:user:resourceowner:id": "377570001122334455",
    })
    har = {"log": {"version": "1.2", "creator": {"name": "Firefox", "version": "132.0"}, "entries": [
        {"startedDateTime": "2026-11-21T17:11:26.912Z", "time": 88,
         "request": {"method": "POST", "url": "https://auth.example.com/oauth/v2/token", "httpVersion": "HTTP/2",
                     "headers": [{"name": "Content-Type", "value": "application/x-www-form-urlencoded"}],
                     "postData": {"mimeType": "application/x-www-form-urlencoded",
                                  "text": "grant_type=authorization_code&code=Zk2m"
                                          "&redirect_uri=https%3A%2F%2Fpve1.example.com%3A8006"}},
         "response": {"status": 200, "statusText": "OK", "headers": [],
                      "content": {"mimeType": "application/json", "text": json.dumps({
                          "access_token": "x4kQvE2pLm9Zt7RbWc3NyHs8Dg5Jf1Ua", "token_type": "Bearer",
                          "expires_in": 43199, "id_token": zitadel_id_token})}}},
        {"startedDateTime": "2026-11-21T17:11:27.020Z", "time": 120,
         "request": {"method": "POST", "url": "https://pve1.example.com:8006/api2/json/access/openid/login",
                     "httpVersion": "HTTP/2", "headers": [],
                     "postData": {"mimeType": "application/json", "text": "{\"code\":\"Zk2m\",\"state\":\"s1\"}"}},
         "response": {"status": 401, "statusText": "authentication failure", "headers": [],
                      "content": {"mimeType": "application/json", "text": "{\"data\":null}"}}},
    ]}}
    (ROOT / "har").mkdir(exist_ok=True)
    (ROOT / "har" / "zitadel-proxmox-login.har").write_text(json.dumps(har, indent=2) + "\n")

    kc_access = sign({
        "exp": T0 + 300, "iat": T0, "jti": "17b94735-0c1f-4bb8-9e0e-3d0f7a3a1c2b", "iss": "https://kc.example.com/realms/main",
        "aud": "account", "sub": "09a3ceb7-6a9f-4c8a-8b8e-2b5b1e9d7f11", "typ": "Bearer", "azp": "orders-ui",
        "session_state": "fd0d6f25-1c4d-4d3e-9a0b-8c7e6f5d4c3b", "acr": "1",
        "realm_access": {"roles": ["default-roles-main", "offline_access", "uma_authorization"]},
        "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}},
        "scope": "openid email profile", "preferred_username": "alice"}, kid="kc-rsa-1")
    kc_id = sign({
        "exp": T0 + 300, "iat": T0, "iss": "https://kc.example.com/realms/main", "aud": "orders-ui",
        "sub": "09a3ceb7-6a9f-4c8a-8b8e-2b5b1e9d7f11", "typ": "ID", "azp": "orders-ui", "nonce": "b7",
        "at_hash": "j3xvmXKSwEcNpY0LcD8xtQ",
        "sid": "bfc80bf8-0000-4000-8000-000000000001", "preferred_username": "alice"}, kid="kc-rsa-1")
    (ROOT / "token_response").mkdir(exist_ok=True)
    (ROOT / "token_response" / "keycloak-orders-ui.json").write_text(json.dumps({
        "access_token": kc_access, "expires_in": 300, "refresh_expires_in": 1800, "token_type": "Bearer",
        "id_token": kc_id, "not-before-policy": 0, "session_state": "fd0d6f25-1c4d-4d3e-9a0b-8c7e6f5d4c3b",
        "scope": "openid email profile"}, indent=2) + "\n")

    rfc9068 = sign({"iss": "https://as.example.com/", "sub": "5ba552d67", "aud": "https://orders.example.com/",
                    "exp": T0 + 3600, "iat": T0, "jti": "dbe39bf3a3ba4238a513f51d6e1691c4", "client_id": "s6BhdRkqt3",
                    "scope": "openid profile orders:read"},
                   kid="as-ec-1", typ="at+jwt", key=ec.generate_private_key(ec.SECP256R1()), alg="ES256")
    jwe = b64({"alg": "RSA-OAEP", "enc": "A256GCM", "kid": "enc-1"}) + (
        ".OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b"
        ".5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ")
    (ROOT / "jwt_lines").mkdir(exist_ok=True)
    (ROOT / "jwt_lines" / "captured-bearer-tokens.txt").write_text("\n".join([
        "#@ note: tokens an operator copied from a failing API client (curl -v, browser devtools). Synthetic: issuers "
        "on example.com, keys thrown away.",
        "#@ note: an RFC 9068 access token for the orders API (aud is the resource URL, typ at+jwt)",
        f"Bearer {rfc9068}",
        "#@ note: the Keycloak ID token sent to the API by mistake",
        f"Bearer {kc_id}",
        "#@ note: an opaque ZITADEL access token (the app's token type is Bearer, not JWT)",
        "Bearer x4kQvE2pLm9Zt7RbWc3NyHs8Dg5Jf1Ua",
        "#@ note: an encrypted token (JWE)",
        jwe,
        "#@ note: a line that is no token",
        "curl: (22) The requested URL returned error: 401",
    ]) + "\n")
    print("written")


if __name__ == "__main__":
    main()
