#!/usr/bin/env python3
"""Generate evaluation lines from REAL JWT validator errors.

Mints tokens with known defects, validates each one with PyJWT, python-jose,
Authlib (authlib.jose) and joserfc configured the way an API would configure
them, catches what each library raises, and writes the caught exception through
real Python loggers (logging Formatters, python-json-logger, structlog) into
StringIO buffers.  It then runs generate_node.mjs (jsonwebtoken / panva jose,
logged through winston, pino and console.error) and re-logs the real messages
of both ecosystems through faithful logrus / zap / klog / Spring Boot layouts.

Output: lines.jsonl next to this file (see README.md).  Run with a Python that
has the validators installed, e.g.

    python3 -m venv /tmp/evalvenv
    /tmp/evalvenv/bin/pip install 'pyjwt[crypto]' 'python-jose[cryptography]' \
        authlib joserfc cryptography python-json-logger structlog
    /tmp/evalvenv/bin/python evaluation/validators/generate_python.py \
        --node-modules /tmp/evalnode
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import importlib.metadata as md
import io
import json
import logging
import subprocess
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

warnings.filterwarnings("ignore")  # authlib.jose deprecation notice etc.

HERE = Path(__file__).resolve().parent
AUD = "my-api"
ISS = "https://idp.example.com/realms/demo"
WRONG_ISS = "https://evil.example.net/realms/demo"
BASE_TS = dt.datetime(2025, 1, 7, 10, 0, 0, tzinfo=dt.UTC)

# ---------------------------------------------------------------- defects ---
# defect id -> (cause id, accept list, human description)
DEFECTS: dict[str, tuple[str, list[str], str]] = {
    "expired": ("expired", [], "exp one hour in the past"),
    "not_yet_valid": ("not_yet_valid", [], "nbf and iat one hour in the future"),
    "wrong_audience": (
        "client_id_missing",
        ["token_type_confusion", "untrusted_extra_audience"],
        'aud "other-client", the API expects "my-api"',
    ),
    "aud_missing": ("aud_claim_missing", ["client_id_missing"], "no aud claim at all"),
    "wrong_issuer": ("issuer_mismatch", [], f"iss {WRONG_ISS}"),
    "bad_signature": (
        "signature_invalid",
        ["unknown_signing_key"],
        'signed by an unrelated RSA key that claims kid "k1"',
    ),
    "unknown_kid": (
        "unknown_signing_key",
        ["signature_invalid"],
        'kid "k9", not in the JWKS (signed by an unrelated key)',
    ),
    "alg_hs256": (
        "algorithm_mismatch",
        ["signature_invalid"],
        "HS256 token (shared secret) where RS256 is expected",
    ),
    "alg_none": ("algorithm_mismatch", ["signature_invalid"], 'alg "none", empty signature'),
    "alg_es256": (
        "algorithm_mismatch",
        ["signature_invalid"],
        "ES256 token (EC key) where RS256 is expected",
    ),
    "malformed_two_segments": ("malformed_token", [], "header.payload, no signature segment"),
    "malformed_garbage": ("malformed_token", [], "three segments of non-base64url garbage"),
    "malformed_non_json": ("malformed_token", [], "correctly signed, payload is not JSON"),
    "malformed_empty": ("malformed_token", ["missing_token"], "empty string as the token"),
    "missing_exp": ("malformed_token", [], "no exp claim, validator told to require it"),
    "missing_iss": (
        "malformed_token",
        ["issuer_mismatch"],
        "no iss claim, validator told to require it",
    ),
    "missing_sub": ("malformed_token", [], "no sub claim, validator told to require it"),
    "wrong_typ": (
        "token_type_confusion",
        [],
        'ID token (typ "JWT") sent to an API that requires typ "at+jwt"',
    ),
}

# Causes that the library's *message* names although the true defect is another
# one (filled in after reading the real messages; see README).
EXTRA_ACCEPT: dict[tuple[str, str], list[str]] = {
    # "jwt audience invalid. expected: my-api" -- word for word the wrong-audience message
    ("jsonwebtoken", "aud_missing"): ["token_type_confusion", "untrusted_extra_audience"],
    # jsonwebtoken takes the non-JSON payload as a string and then fails the audience check
    ("jsonwebtoken", "malformed_non_json"): [
        "client_id_missing",
        "aud_claim_missing",
        "token_type_confusion",
        "untrusted_extra_audience",
    ],
    # "jwt signature is required"
    ("jsonwebtoken", "alg_none"): ["malformed_token"],
}


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ------------------------------------------------------------------- keys ---
def make_keys():
    rsa1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    eck = ec.generate_private_key(ec.SECP256R1())
    secret = b"0123456789abcdef0123456789abcdef-shared-secret"
    pub_numbers = rsa1.public_key().public_numbers()

    def intb(n: int) -> str:
        return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))

    jwk = {
        "kty": "RSA",
        "kid": "k1",
        "use": "sig",
        "alg": "RS256",
        "n": intb(pub_numbers.n),
        "e": intb(pub_numbers.e),
    }
    return {
        "rsa1": rsa1,
        "rsa2": rsa2,
        "ec": eck,
        "secret": secret,
        "jwks": {"keys": [jwk]},
        "pub_pem": rsa1.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    }


def raw_sign(header: dict, payload: bytes | dict, key) -> str:
    """Compact-serialize with cryptography directly (for payloads the JWT
    libraries refuse to produce, such as a non-JSON payload)."""
    if isinstance(payload, dict):
        payload = json.dumps(payload, separators=(",", ":")).encode()
    signing_input = f"{b64u(json.dumps(header, separators=(',', ':')).encode())}.{b64u(payload)}"
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64u(sig)}"


def mint_tokens(keys) -> tuple[dict[str, str], str]:
    import jwt  # PyJWT is used only as a minting tool here

    now = int(time.time())
    base = {
        "iss": ISS,
        "sub": "alice",
        "aud": AUD,
        "iat": now,
        "exp": now + 3600,
        "jti": "b1c2d3",
        "client_id": "web-client",
        "scope": "openid profile",
    }
    at = {"typ": "at+jwt", "kid": "k1"}

    def rs(claims, key=keys["rsa1"], headers=at):
        return jwt.encode(claims, key, algorithm="RS256", headers=dict(headers))

    def without(*names):
        return {k: v for k, v in base.items() if k not in names}

    t = {}
    t["expired"] = rs({**base, "iat": now - 7200, "exp": now - 3600})
    t["not_yet_valid"] = rs({**base, "iat": now + 3600, "nbf": now + 3600, "exp": now + 7200})
    t["wrong_audience"] = rs({**base, "aud": "other-client"})
    t["aud_missing"] = rs(without("aud"))
    t["wrong_issuer"] = rs({**base, "iss": WRONG_ISS})
    t["bad_signature"] = rs(base, key=keys["rsa2"])
    t["unknown_kid"] = rs(base, key=keys["rsa2"], headers={"typ": "at+jwt", "kid": "k9"})
    t["alg_hs256"] = jwt.encode(base, keys["secret"], algorithm="HS256", headers=dict(at))
    t["alg_none"] = (
        b64u(json.dumps({"alg": "none", "typ": "at+jwt", "kid": "k1"}).encode())
        + "."
        + b64u(json.dumps(base).encode())
        + "."
    )
    t["alg_es256"] = jwt.encode(base, keys["ec"], algorithm="ES256", headers=dict(at))
    good = rs(base)
    t["malformed_two_segments"] = good.rsplit(".", 1)[0]
    t["malformed_garbage"] = "eyJ!!hbG.c2Vy%%dmljZQ.@@@sig=="
    t["malformed_non_json"] = raw_sign(
        {"alg": "RS256", "typ": "at+jwt", "kid": "k1"}, b"user=alice;role=admin", keys["rsa1"]
    )
    t["malformed_empty"] = ""
    t["missing_exp"] = rs(without("exp"))
    t["missing_iss"] = rs(without("iss"))
    t["missing_sub"] = rs(without("sub"))
    id_token = {
        **without("scope", "client_id", "jti"),
        "nonce": "n-0S6_WzA2Mj",
        "auth_time": now - 60,
        "azp": "web-client",
    }
    t["wrong_typ"] = rs(id_token, headers={"typ": "JWT", "kid": "k1"})
    return t, good


# ------------------------------------------------------------- validators ---
def make_validators(keys):
    """Each validator is configured as an API would configure it and returns
    the verified claims or raises what the library raises."""
    import jwt
    from jwt import PyJWKClient

    class LocalJWKClient(PyJWKClient):
        # Real PyJWKClient lookup (kid matching, caching); only the HTTP fetch
        # of the JWKS document is replaced by the in-memory document.
        def fetch_data(self):
            return keys["jwks"]

    jwk_client = LocalJWKClient(f"{ISS}/protocol/openid-connect/certs")

    def v_pyjwt(token):
        signing_key = jwk_client.get_signing_key_from_jwt(token)
        return jwt.decode(
            token,
            signing_key.key,
            algorithms=["RS256"],
            audience=AUD,
            issuer=ISS,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )

    from jose import jwt as jose_jwt

    def v_python_jose(token):
        return jose_jwt.decode(
            token,
            keys["jwks"],
            algorithms=["RS256"],
            audience=AUD,
            issuer=ISS,
            options={
                "require_exp": True,
                "require_iss": True,
                "require_aud": True,
                "require_sub": True,
            },
        )

    import authlib.deprecate  # installs an "always" filter at import; ours goes in front

    warnings.filterwarnings("ignore", category=authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.oauth2.rfc9068.claims import JWTAccessTokenClaims

    authlib_jwt = JsonWebToken(["RS256"])
    authlib_keys = JsonWebKey.import_key_set(keys["jwks"])
    authlib_opts = {
        "iss": {"essential": True, "value": ISS},
        "aud": {"essential": True, "values": [AUD]},
        "exp": {"essential": True},
        "sub": {"essential": True},
    }

    def v_authlib(token):
        # RFC 9068 access-token claims: also checks the "typ" header.
        claims = authlib_jwt.decode(
            token, authlib_keys, claims_cls=JWTAccessTokenClaims, claims_options=authlib_opts
        )
        claims.validate()
        return dict(claims)

    from joserfc import jwt as rfc_jwt
    from joserfc.jwk import KeySet
    from joserfc.jws import JWSRegistry
    from joserfc.registry import HeaderParameter, in_choices

    rfc_keys = KeySet.import_key_set(keys["jwks"])
    rfc_registry = JWSRegistry(
        header_registry={"typ": HeaderParameter("Type", in_choices(["at+jwt"]), True)},
        algorithms=["RS256"],
    )
    rfc_claims = rfc_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISS},
        aud={"essential": True, "values": [AUD]},
        exp={"essential": True},
        sub={"essential": True},
    )

    def v_joserfc(token):
        tok = rfc_jwt.decode(token, rfc_keys, algorithms=["RS256"], registry=rfc_registry)
        rfc_claims.validate(tok.claims)
        return tok.claims

    return {
        "pyjwt": ("PyJWT", v_pyjwt),
        "python_jose": ("python-jose", v_python_jose),
        "authlib": ("Authlib", v_authlib),
        "joserfc": ("joserfc", v_joserfc),
    }


def run_validations(keys, tokens, good):
    records, accepted = [], []
    for software, (dist, validate) in make_validators(keys).items():
        version = md.version(dist)
        try:
            claims = validate(good)
            accepted.append({"software": software, "version": version, "claims": claims})
        except Exception as e:  # the valid token must pass; fail loudly otherwise
            raise SystemExit(f"{software}: valid token rejected: {type(e).__name__}: {e}") from e
        for defect, token in tokens.items():
            rec = {"software": software, "version": version, "defect": defect, "raised": False}
            try:
                validate(token)
            except Exception as e:
                rec.update(
                    raised=True,
                    exc=e,
                    exc_class=f"{type(e).__module__}.{type(e).__qualname__}",
                    exc_short=type(e).__name__,
                    message=str(e),
                )
            records.append(rec)
    return records, accepted


# ---------------------------------------------------------------- loggers ---
logging.Formatter.converter = time.gmtime  # every layout prints UTC


def ts_of(index: int) -> float:
    """Fixed clock: 2025-01-07T10:00:00Z plus the line index in seconds."""
    return BASE_TS.timestamp() + index + 0.123456


class FixedRecordFilter(logging.Filter):
    """Pins the record's time, pid and caller so that re-runs give the same
    text; everything else comes from the real LogRecord."""

    def __init__(self, index: int):
        super().__init__()
        self.index = index

    def filter(self, record):
        record.created = ts_of(self.index)
        record.msecs = 123.0
        record.process = 1
        record.module, record.funcName, record.lineno = "auth", "verify_token", 57
        return True


class LevelPrefixFormatter(logging.Formatter):
    """uvicorn.logging.DefaultFormatter with use_colors=False."""

    def formatMessage(self, record):
        import copy

        rc = copy.copy(record)
        rc.__dict__["levelprefix"] = rc.levelname + ":" + " " * (8 - len(rc.levelname))
        return super().formatMessage(rc)


def json_formatter_cls():
    try:
        from pythonjsonlogger.json import JsonFormatter
    except ImportError:  # python-json-logger < 3
        from pythonjsonlogger.jsonlogger import JsonFormatter
    return JsonFormatter


def via_logging(formatter, name, index, level, msg, *args, exc=None, extra=None, exception=False):
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(formatter)
    handler.addFilter(FixedRecordFilter(index))
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    if exception:
        logger.exception(msg, *args, exc_info=exc, extra=extra)
    else:
        logger.log(level, msg, *args, extra=extra)
    return buf.getvalue().rstrip("\n")


def via_structlog(renderer, index, level, event, **kw):
    import structlog

    buf = io.StringIO()

    def fixed_timestamp(_logger, _name, event_dict):
        event_dict["timestamp"] = (
            dt.datetime.fromtimestamp(ts_of(index), dt.UTC)
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z")
        )
        return event_dict

    log = structlog.wrap_logger(
        structlog.PrintLogger(file=buf),
        context_class=dict,
        processors=[structlog.processors.add_log_level, fixed_timestamp, renderer],
    )
    getattr(log.bind(logger="api.auth"), level)(event, **kw)
    return buf.getvalue().rstrip("\n")


OK_MSG = "token accepted for sub=alice aud=my-api"
TYPICAL = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


def _py_layouts():
    F = logging.Formatter
    W, E, INFO = logging.WARNING, logging.ERROR, logging.INFO

    def basic(e, i):  # logging.basicConfig() default format
        return via_logging(
            F(logging.BASIC_FORMAT),
            "app.auth",
            i,
            W if e else INFO,
            "Invalid token: %s" if e else OK_MSG,
            *((e,) if e else ()),
        )

    def typical(e, i):
        return via_logging(
            F(TYPICAL),
            "api.auth",
            i,
            E if e else INFO,
            "JWT validation failed: %s" if e else OK_MSG,
            *((e,) if e else ()),
        )

    def cookbook(e, i):  # the logging cookbook's format, app wrapper message
        return via_logging(
            F("%(asctime)s - %(name)s - %(levelname)s - %(message)s"),
            "myapp.security",
            i,
            W if e else INFO,
            f"auth: rejecting request: {e}" if e else OK_MSG,
        )

    def flask(e, i):  # flask.logging.default_handler format
        return via_logging(
            F("[%(asctime)s] %(levelname)s in %(module)s: %(message)s"),
            "app",
            i,
            W if e else INFO,
            f"JWT check failed -> {e}" if e else OK_MSG,
        )

    def uvicorn(e, i):
        return via_logging(
            LevelPrefixFormatter("%(levelprefix)s %(message)s"),
            "uvicorn.error",
            i,
            E if e else INFO,
            f"Authentication failed: {type(e).__name__}: {e}" if e else OK_MSG,
        )

    def exception(e, i):  # logger.exception(): message plus the traceback
        if not e:
            return typical(e, i)
        return via_logging(
            F(TYPICAL), "api.auth", i, E, "Token validation error", exc=e, exception=True
        )

    def gunicorn(e, i):  # gunicorn's error-log format
        f = F("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s", "%Y-%m-%d %H:%M:%S +0000")
        if not e:
            return via_logging(f, "gunicorn.error", i, INFO, OK_MSG)
        return via_logging(
            f, "gunicorn.error", i, E, "Error handling request /api/items", exc=e, exception=True
        )

    def json_exc(e, i):  # python-json-logger, exc_info + error field
        f = json_formatter_cls()("%(asctime)s %(levelname)s %(name)s %(message)s")
        if not e:
            return via_logging(
                f, "api.auth", i, INFO, "token accepted", extra={"sub": "alice", "aud": AUD}
            )
        return via_logging(
            f, "api.auth", i, E, "token rejected", exc=e, exception=True, extra={"error": str(e)}
        )

    def json_extra(e, i):  # python-json-logger with timestamp=True, no traceback
        f = json_formatter_cls()("%(levelname)s %(name)s %(message)s", timestamp=True)
        if not e:
            return via_logging(
                f, "api.auth", i, INFO, "token accepted", extra={"sub": "alice", "aud": AUD}
            )
        return via_logging(
            f,
            "api.auth",
            i,
            W,
            "authentication failed",
            extra={
                "error": str(e),
                "error_type": type(e).__name__,
                "path": "/api/items",
                "status": 401,
            },
        )

    def structlog_kv(e, i):
        import structlog

        r = structlog.processors.KeyValueRenderer(key_order=["timestamp", "level", "event"])
        if not e:
            return via_structlog(r, i, "info", "token accepted", sub="alice", aud=AUD)
        return via_structlog(r, i, "warning", "token rejected", error=str(e))

    def structlog_console(e, i):
        import structlog

        r = structlog.dev.ConsoleRenderer(colors=False)
        if not e:
            return via_structlog(r, i, "info", "token accepted", sub="alice", aud=AUD)
        return via_structlog(
            r, i, "error", "jwt_validation_failed", error=str(e), path="/api/items"
        )

    def structlog_json(e, i):
        import structlog

        r = structlog.processors.JSONRenderer()
        if not e:
            return via_structlog(r, i, "info", "token accepted", sub="alice", aud=AUD)
        return via_structlog(
            r, i, "warning", "token rejected", error=str(e), error_type=type(e).__name__
        )

    return {
        "py_basicconfig": basic,
        "py_asctime_brackets": typical,
        "py_cookbook_wrapper": cookbook,
        "py_flask_arrow": flask,
        "py_uvicorn_typename": uvicorn,
        "py_logger_exception": exception,
        "py_gunicorn_exception": gunicorn,
        "py_json_logger_exc": json_exc,
        "py_json_logger_fields": json_extra,
        "structlog_kv": structlog_kv,
        "structlog_console": structlog_console,
        "structlog_json": structlog_json,
    }


PY_LAYOUTS = _py_layouts()


# ------------------------------------ other ecosystems' loggers (re-logging) ---
def go_quote(s: str) -> str:
    """strconv.Quote"""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def logrus_value(v: str) -> str:
    """logrus TextFormatter.appendValue: quote unless every rune is safe."""
    safe = all(c.isascii() and (c.isalnum() or c in "-._/@^+") for c in v)
    return v if safe and v else go_quote(v)


def foreign_layout(layout: str, message: str | None, index: int) -> str:
    t = dt.datetime.fromtimestamp(ts_of(index), dt.UTC)
    if layout == "logrus_text":
        # logrus TextFormatter (FullTimestamp, no colors): time, level, msg, then fields sorted
        if message is None:
            fields = {"aud": AUD, "sub": "alice"}
            head = [
                ("time", t.strftime("%Y-%m-%dT%H:%M:%SZ")),
                ("level", "info"),
                ("msg", "token accepted"),
            ]
        else:
            fields = {"error": message, "path": "/api/items"}
            head = [
                ("time", t.strftime("%Y-%m-%dT%H:%M:%SZ")),
                ("level", "warning"),
                ("msg", "JWT validation failed"),
            ]
        return " ".join(f"{k}={logrus_value(v)}" for k, v in head + sorted(fields.items()))
    if layout == "zap_json":
        # zap production JSON encoder: level, ts (epoch seconds), caller, msg, fields
        rec = {
            "level": "info" if message is None else "error",
            "ts": ts_of(index),
            "caller": "middleware/auth.go:57",
            "msg": "token accepted" if message is None else "auth failed",
        }
        rec.update({"sub": "alice", "aud": AUD} if message is None else {"error": message})
        return json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
    if layout == "klog":
        # klog header Lmmdd hh:mm:ss.uuuuuu threadid file:line] then InfoS/ErrorS key=value
        sev = "I" if message is None else "E"
        head = f"{sev}{t:%m%d %H:%M:%S}.{t.microsecond:06d} {1:7d} "
        if message is None:
            return head + f'auth.go:88] "Token accepted" sub="alice" aud="{AUD}"'
        return head + (
            'authentication.go:73] "Unable to authenticate the request" err='
            + go_quote(f"[invalid bearer token, {message}]")
        )
    if layout == "spring_boot":
        # Spring Boot 2.x console pattern:
        # %d{yyyy-MM-dd HH:mm:ss.SSS} %5p ${PID} --- [%15.15t] %-40.40logger{39} : %m%n
        level = "INFO" if message is None else "WARN"
        msg = OK_MSG if message is None else f"JWT validation failed: {message}"
        return (
            f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond // 1000:03d} {level:>5} 1 --- "
            f"[{'nio-8080-exec-1':>15.15}] {'c.e.a.JwtAuthenticationFilter':<40.40} : {msg}"
        )
    raise KeyError(layout)


FOREIGN = ["logrus_text", "zap_json", "klog", "spring_boot"]


# ------------------------------------------------------------------ build ---
class RoundRobin:
    def __init__(self, pool):
        self.pool, self.pos = list(pool), 0

    def take(self, k):
        out = [self.pool[(self.pos + j) % len(self.pool)] for j in range(k)]
        self.pos = (self.pos + k) % len(self.pool)
        return out


def entry(index, line, software, version, defect, variant, logger):
    if defect == "valid":
        expected, accept = None, []
        src_defect, note = "valid token (accepted)", "accepted"
    else:
        expected, base_accept, _ = DEFECTS[defect]
        accept = list(dict.fromkeys(base_accept + EXTRA_ACCEPT.get((software, defect), [])))
        accept = [a for a in accept if a != expected]
        src_defect = note = defect + (f" [{variant}]" if variant else "")
    return {
        "id": f"val-{index:04d}",
        "line": line,
        "expected": expected,
        "accept": accept,
        "software": software,
        "logger": logger,
        "source": f"generated: {software} {version} {src_defect}",
        "note": note,
    }


def run_node(node_modules: str, start: int):
    cmd = [
        "node",
        str(HERE / "generate_node.mjs"),
        "--modules",
        node_modules,
        "--start",
        str(start),
        "--foreign",
        ",".join(FOREIGN),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(row) for row in out.splitlines() if row.strip()]


def redact(text: str, secrets: list[str]) -> str:
    for s in secrets:
        text = text.replace(s, "<redacted>")
    return text


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--node-modules",
        default="/tmp/evalnode",
        help="folder whose node_modules has jsonwebtoken, jose, winston, pino",
    )
    ap.add_argument("--no-node", action="store_true", help="Python libraries only")
    ap.add_argument("--out", default=str(HERE / "lines.jsonl"))
    ap.add_argument("--records", help="also write every validation record (raised or not) here")
    a = ap.parse_args()

    keys = make_keys()
    tokens, good = mint_tokens(keys)
    secrets = sorted(
        {p for t in [good, *tokens.values()] for p in [t, *t.split(".")] if len(p) >= 16},
        key=len,
        reverse=True,
    )
    records, accepted = run_validations(keys, tokens, good)

    entries, index, case_no = [], 1, 0
    rr = RoundRobin([*PY_LAYOUTS, *FOREIGN])

    def write(software, version, defect, exc, layouts):
        nonlocal index
        for layout in layouts:
            if layout in PY_LAYOUTS:
                line = PY_LAYOUTS[layout](exc, index)
            else:
                line = foreign_layout(layout, None if exc is None else str(exc), index)
            entries.append(
                entry(index, redact(line, secrets), software, version, defect, "", layout)
            )
            index += 1

    for acc in accepted:
        recs = [r for r in records if r["software"] == acc["software"]]
        write(acc["software"], acc["version"], "valid", None, rr.take(3))
        for r in recs:
            if r["raised"]:
                write(r["software"], r["version"], r["defect"], r["exc"], rr.take(3 + case_no % 2))
                case_no += 1

    if not a.no_node:
        for o in run_node(a.node_modules, index):
            if o["kind"] == "record":
                if o["defect"] != "valid":
                    records.append(o)
                continue
            assert o["index"] == index, (o["index"], index)
            line = (
                o["line"]
                if o["kind"] == "line"
                else foreign_layout(o["logger"], o["message"], index)
            )
            entries.append(
                entry(
                    index,
                    redact(line, secrets),
                    o["software"],
                    o["version"],
                    o["defect"],
                    o.get("variant", ""),
                    o["logger"],
                )
            )
            index += 1

    with open(a.out, "w", encoding="utf-8") as fh:
        for e in entries:
            fh.write(json.dumps(e, ensure_ascii=False) + "\n")
    if a.records:
        with open(a.records, "w", encoding="utf-8") as fh:
            for r in records:
                fh.write(
                    json.dumps({k: v for k, v in r.items() if k != "exc"}, ensure_ascii=False)
                    + "\n"
                )

    # ------------------------------------------------------------ report ---
    versions = {}
    for r in records:
        versions[r["software"]] = r["version"]
    print("versions:", ", ".join(f"{k} {v}" for k, v in versions.items()))
    print("not detected (raised=false, no line written):")
    for r in records:
        if not r["raised"]:
            print(f"  {r['software']}: {r['defect']}")
    table = defaultdict(Counter)
    for e in entries:
        table[e["software"]][e["expected"] or "null"] += 1
    causes = sorted({c for t in table.values() for c in t})
    print(f"{len(entries)} lines -> {a.out}")
    print("software".ljust(14) + "".join(c[:10].rjust(11) for c in causes) + "      total")
    for sw, cnt in table.items():
        print(
            sw.ljust(14)
            + "".join(str(cnt.get(c, 0)).rjust(11) for c in causes)
            + str(sum(cnt.values())).rjust(11)
        )


if __name__ == "__main__":
    main()
