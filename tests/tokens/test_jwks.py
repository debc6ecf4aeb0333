"""Key sets and signature checks: each cause, key hygiene, fetching over a local HTTP server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.warnings import InsecureKeyLengthWarning

from tokenaudit.errors import InputError
from tokenaudit.tokens.jwks import KeySet, check_signature, discover_jwks, load_jwks, parse_jwks

CLAIMS = {"iss": "https://issuer.test", "sub": "alice", "exp": 1_000_000_000}  # long expired


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any] = CLAIMS) -> str:
    """A token with an empty signature segment, built by hand."""
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def rsa_key_rotated() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="session")
def rsa_jwk(rsa_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    return {**RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}


@pytest.fixture(scope="session")
def jwks_doc(rsa_jwk: dict[str, Any], ec_key: ec.EllipticCurvePrivateKey) -> str:
    ec_jwk = {**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "e1"}
    return json.dumps({"keys": [rsa_jwk, ec_jwk]})


@pytest.fixture(scope="session")
def keys(jwks_doc: str) -> KeySet:
    return parse_jwks(jwks_doc, source="jwks.json")


@pytest.fixture(scope="session")
def rsa_only(rsa_jwk: dict[str, Any]) -> KeySet:
    return parse_jwks(json.dumps({"keys": [rsa_jwk]}), source="rsa.json")


@pytest.fixture(scope="session")
def rs256(rsa_key: rsa.RSAPrivateKey) -> str:
    return jwt.encode(CLAIMS, rsa_key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture(scope="session")
def hs256_confused(rsa_key: rsa.RSAPrivateKey) -> str:
    """The classic confusion: HS256 keyed with the RSA public key's PEM, built by hand
    because PyJWT refuses PEM keys as HMAC secrets (see the test below)."""
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": "k1"})[:-1]
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


# -- check_signature: each cause --------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_a_valid_signature_has_no_cause(
    keys: KeySet, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey, alg: str
) -> None:
    private = ec_key if alg.startswith("ES") else rsa_key
    kid = "e1" if alg.startswith("ES") else "k1"
    token = jwt.encode(CLAIMS, private, algorithm=alg, headers={"kid": kid})
    verdict = check_signature(token, keys)
    assert verdict.cause is None, verdict.evidence
    assert (verdict.kid, verdict.alg) == (kid, alg)
    assert verdict.evidence[0].startswith(f"signature verifies with key '{kid}'")


def test_expiry_is_not_judged_here(keys: KeySet, rs256: str) -> None:
    assert check_signature(rs256, keys).cause is None  # exp is in 2001


def test_a_token_without_kid_is_tried_against_every_key_that_fits(
    keys: KeySet, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    assert check_signature(jwt.encode(CLAIMS, ec_key, algorithm="ES256"), keys).cause is None


def test_a_kid_missing_from_the_set_is_an_unknown_signing_key(
    keys: KeySet, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = jwt.encode(CLAIMS, rsa_key, algorithm="RS256", headers={"kid": "k2"})
    verdict = check_signature(token, keys)
    assert verdict.cause == "unknown_signing_key"
    assert verdict.evidence == ("kid 'k2' is not among the key set's kids: e1, k1",)


def test_no_kid_and_no_key_of_a_fitting_kty_is_an_unknown_signing_key(
    rsa_only: KeySet, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    verdict = check_signature(jwt.encode(CLAIMS, ec_key, algorithm="ES256"), rsa_only)
    assert verdict.cause == "unknown_signing_key"
    assert "no kid" in verdict.evidence[0] and "needs kty EC, crv P-256" in verdict.evidence[0]


def test_a_rotated_key_under_the_same_kid_is_an_invalid_signature(
    keys: KeySet, rsa_key_rotated: rsa.RSAPrivateKey
) -> None:
    token = jwt.encode(CLAIMS, rsa_key_rotated, algorithm="RS256", headers={"kid": "k1"})
    verdict = check_signature(token, keys)
    assert verdict.cause == "signature_invalid"
    assert "'k1' (RSA)" in verdict.evidence[0]


def test_a_tampered_payload_is_an_invalid_signature(keys: KeySet, rs256: str) -> None:
    header, _, signature = rs256.split(".")
    forged = f"{header}.{b64(json.dumps({**CLAIMS, 'sub': 'admin'}).encode())}.{signature}"
    assert check_signature(forged, keys).cause == "signature_invalid"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_an_algorithm_mismatch(keys: KeySet, alg: str) -> None:
    verdict = check_signature(unsigned({"alg": alg, "kid": "k1"}), keys)
    assert (verdict.cause, verdict.alg) == ("algorithm_mismatch", alg)
    assert "unsigned" in verdict.evidence[0]


def test_pyjwt_refuses_a_pem_key_as_hmac_secret(rsa_key: rsa.RSAPrivateKey) -> None:
    """Why ``hs256_confused`` is built by hand."""
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(jwt.InvalidKeyError):
        jwt.encode(CLAIMS, pem, algorithm="HS256")


@pytest.mark.parametrize("algorithms", [None, ["HS256", "RS256"]])
def test_hs256_signed_with_the_rsa_public_key_is_an_algorithm_mismatch(
    keys: KeySet, hs256_confused: str, algorithms: list[str] | None
) -> None:
    verdict = check_signature(hs256_confused, keys, algorithms=algorithms)
    assert verdict.cause == "algorithm_mismatch"
    assert verdict.evidence == ("alg HS256 is symmetric; the key set holds EC/RSA keys",)


def test_an_alg_outside_the_allowed_list_is_an_algorithm_mismatch(
    keys: KeySet, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    token = jwt.encode(CLAIMS, ec_key, algorithm="ES256", headers={"kid": "e1"})
    verdict = check_signature(token, keys, algorithms=["RS256"])
    assert verdict.cause == "algorithm_mismatch"
    assert verdict.evidence == ("alg ES256 is not among the allowed algs: RS256",)


def test_an_alg_that_does_not_fit_the_kid_s_key_is_an_algorithm_mismatch(
    keys: KeySet, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    token = jwt.encode(CLAIMS, ec_key, algorithm="ES256", headers={"kid": "k1"})
    verdict = check_signature(token, keys)
    assert verdict.cause == "algorithm_mismatch"
    assert "needs a key of kty EC; key 'k1' (RSA) is not one" in verdict.evidence[0]


def test_a_key_declared_for_another_alg_is_an_algorithm_mismatch(
    rsa_jwk: dict[str, Any], rsa_key: rsa.RSAPrivateKey
) -> None:
    declared = parse_jwks(json.dumps({**rsa_jwk, "alg": "RS256"}), source="k.json")
    token = jwt.encode(CLAIMS, rsa_key, algorithm="PS256", headers={"kid": "k1"})
    assert check_signature(token, declared).cause == "algorithm_mismatch"


def test_hmac_verifies_only_when_listed_and_against_an_oct_key() -> None:
    secret = b"s" * 32
    oct_keys = parse_jwks(json.dumps({"kty": "oct", "kid": "h1", "k": b64(secret)}), source="x")
    token = jwt.encode(CLAIMS, secret, algorithm="HS256", headers={"kid": "h1"})
    assert check_signature(token, oct_keys).cause == "algorithm_mismatch"
    assert check_signature(token, oct_keys, algorithms=["HS256"]).cause is None


def test_a_short_key_verifies_with_a_note_and_no_warning() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    jwk = {**RSAAlgorithm.to_jwk(small.public_key(), as_dict=True), "kid": "s1"}
    with pytest.warns(InsecureKeyLengthWarning):  # PyJWT warns when signing, too
        token = jwt.encode(CLAIMS, small, algorithm="RS256", headers={"kid": "s1"})
    verdict = check_signature(token, parse_jwks(json.dumps(jwk), source="x"))  # warnings are errors
    assert verdict.cause is None
    assert "1024 bits" in verdict.evidence[1]


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c.d.e", "!!!.e30.", "e30"])
def test_a_token_that_is_not_a_compact_jws_is_an_input_error(keys: KeySet, token: str) -> None:
    with pytest.raises(InputError) as info:
        check_signature(token, keys)
    assert token not in str(info.value)


# -- key hygiene ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["<html>", "", "[]", '{"keys": {}}', '{"keys": [1]}', '{"keys": [{"n": "x"}]}', b"\xff"]
)
def test_parse_jwks_rejects_garbage_with_a_hint(text: str | bytes) -> None:
    with pytest.raises(InputError) as info:
        parse_jwks(text, source="bad.json")
    assert str(info.value).startswith("bad.json: ")
    assert info.value.hint


def test_parse_jwks_drops_private_members(rsa_key: rsa.RSAPrivateKey) -> None:
    private = {**RSAAlgorithm.to_jwk(rsa_key, as_dict=True), "kid": "k1", "k": "stray"}
    assert {"d", "p", "q", "dp", "dq", "qi"} <= private.keys()
    oct_key = {"kty": "oct", "kid": "h1", "k": b64(b"s" * 32)}
    ks = parse_jwks(json.dumps({"keys": [private, oct_key]}), source="x")
    assert set(ks.keys[0]) == {"kty", "kid", "n", "e", "key_ops"}  # PyJWT adds key_ops
    assert ks.keys[1] == oct_key


def test_an_empty_key_set_is_kept_and_explains_the_verdict(rs256: str) -> None:
    verdict = check_signature(rs256, parse_jwks('{"keys": []}', source="x"))
    assert verdict.cause == "unknown_signing_key"
    assert verdict.evidence == ("kid 'k1' is not among the key set's kids: (none)",)


def test_no_evidence_or_repr_holds_the_token_or_key_material(
    keys: KeySet,
    rsa_jwk: dict[str, Any],
    rs256: str,
    hs256_confused: str,
    rsa_key_rotated: rsa.RSAPrivateKey,
) -> None:
    rotated = jwt.encode(CLAIMS, rsa_key_rotated, algorithm="RS256", headers={"kid": "k1"})
    secrets = [rsa_jwk["n"], rsa_jwk["e"]]
    for token in (rs256, hs256_confused, rotated):
        text = repr(check_signature(token, keys))
        assert all(secret not in text for secret in [token, token.rsplit(".", 1)[1], *secrets])
    assert all(secret not in repr(keys) for secret in secrets)
    assert repr(keys) == "KeySet(source='jwks.json', keys=['k1' (RSA), 'e1' (EC P-256)])"


# -- loading: files and a local HTTP server -----------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        body = self.routes.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body if body is not None else b"{}")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep test output quiet


@pytest.fixture(scope="session")
def issuer(jwks_doc: str) -> Iterator[str]:
    """A local issuer; ``{issuer}/other`` publishes a discovery document naming someone else."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    _Handler.routes = {
        "/.well-known/openid-configuration": json.dumps(
            {"issuer": base, "jwks_uri": f"{base}/jwks.json"}
        ).encode(),
        "/jwks.json": jwks_doc.encode(),
        "/other/.well-known/openid-configuration": json.dumps(
            {"issuer": "https://evil.test", "jwks_uri": f"{base}/jwks.json"}
        ).encode(),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_load_jwks_reads_a_file(tmp_path: Any, jwks_doc: str, keys: KeySet) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(jwks_doc)
    assert load_jwks(str(path)).keys == keys.keys


def test_load_jwks_reports_a_missing_file(tmp_path: Any) -> None:
    with pytest.raises(InputError, match="cannot read key set"):
        load_jwks(str(tmp_path / "nope.json"))


def test_load_jwks_fetches_a_url(issuer: str, keys: KeySet) -> None:
    loaded = load_jwks(f"{issuer}/jwks.json", timeout=2)
    assert (loaded.keys, loaded.source) == (keys.keys, f"{issuer}/jwks.json")


def test_load_jwks_reports_an_http_error(issuer: str) -> None:
    with pytest.raises(InputError, match="HTTP 404"):
        load_jwks(f"{issuer}/missing.json", timeout=2)


@pytest.mark.parametrize("suffix", ["", "/"])
def test_discover_jwks_follows_jwks_uri(issuer: str, keys: KeySet, rs256: str, suffix: str) -> None:
    if suffix:  # the issuer must match exactly: a trailing slash is another issuer
        with pytest.raises(InputError, match="discovery names issuer"):
            discover_jwks(issuer + suffix, timeout=2)
        return
    found = discover_jwks(issuer, timeout=2)
    assert found.keys == keys.keys
    assert check_signature(rs256, found).cause is None


def test_discover_jwks_rejects_a_document_naming_another_issuer(issuer: str) -> None:
    with pytest.raises(InputError) as info:
        discover_jwks(f"{issuer}/other", timeout=2)
    assert "'https://evil.test'" in str(info.value) and f"'{issuer}/other'" in str(info.value)
    assert info.value.hint


def test_an_unreachable_url_is_an_input_error_quickly() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago, and is now closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(InputError, match="cannot fetch") as info:
        load_jwks(f"http://127.0.0.1:{port}/jwks.json", timeout=1)
    assert time.monotonic() - start < 2
    assert info.value.hint


def test_a_key_this_installation_cannot_use_is_not_checked_rather_than_failed(
    rs256: str, rsa_only: KeySet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As without PyJWT's cryptography extra: no RSA key can be loaded, so nothing was checked and nothing failed."""
    import tokenaudit.tokens.jwks as module

    def no_rsa(*args: object, **kwargs: object) -> None:
        raise jwt.exceptions.PyJWKError("Unable to find an algorithm for key")

    monkeypatch.setattr(module.jwt, "PyJWK", no_rsa)
    monkeypatch.setattr(module, "_has_crypto", lambda: False)
    verdict = check_signature(rs256, rsa_only)
    assert (verdict.cause, verdict.checked) == (None, False)
    assert verdict.evidence == ("key 'k1' (RSA) could not be loaded for RS256 (this installation lacks the "
                                "cryptography package that PyJWT[crypto] brings)",)
    assert verdict.summary.startswith("signature could not be checked: ")


def test_a_verified_and_a_failed_signature_say_so_in_one_line(
    rs256: str, rsa_only: KeySet, rsa_key_rotated: rsa.RSAPrivateKey
) -> None:
    assert check_signature(rs256, rsa_only).summary.startswith("signature verified: signature verifies with key 'k1'")
    rotated = jwt.encode(CLAIMS, rsa_key_rotated, algorithm="RS256", headers={"kid": "k1"})
    assert check_signature(rotated, rsa_only).summary.startswith("signature failed (signature_invalid): ")
