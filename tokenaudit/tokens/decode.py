"""Captured tokens: find them in text, decode them without verifying, fingerprint them.

With :mod:`tokenaudit.tokens.jwks` (signature checks), the only module that imports
PyJWT. A token is a secret: nothing here returns or raises with the raw
token or its signature; callers keep a :class:`TokenInfo`, which holds the
decoded header and claims and a keyed fingerprint (HMAC-SHA-256 under a key
kept outside the dataset, so a leaked dataset cannot be matched against
guessed tokens).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..common.files import config_dir, create_once
from ..errors import InputError

Encoding = Literal["jws", "jwe", "opaque", "malformed", "claims"]

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*){2,4}")
_BEARER = re.compile(r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{16,})")
_KEY_ENV = "TOKENAUDIT_KEY_FILE"


@dataclass(frozen=True)
class TokenInfo:
    """What is known of one token, never the token itself.

    ``encoding`` is ``jws`` (a signed JWT), ``jwe`` (encrypted: header only),
    ``opaque`` (not a JWT), ``malformed`` (looks like a JWT, does not decode;
    ``error`` says why) or ``claims`` (claims printed by a validator, no token).
    """

    fingerprint: str
    encoding: Encoding
    header: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def alg(self) -> str | None:
        """The JOSE ``alg``."""
        value = self.header.get("alg")
        return str(value) if value is not None else None

    @property
    def audiences(self) -> tuple[str, ...]:
        """``aud`` as a tuple, whether the token holds a string or a list (or, wrongly, another value)."""
        aud = self.claims.get("aud")
        if aud is None:
            return ()
        return tuple(str(a) for a in aud) if isinstance(aud, list) else (str(aud),)


def default_key_path() -> Path:
    """Where the fingerprint key lives: ``$TOKENAUDIT_KEY_FILE``, else ``fingerprint.key`` in the platform's
    configuration folder (``~/.config/tokenaudit/fingerprint.key`` on Linux)."""
    if env := os.environ.get(_KEY_ENV):
        return Path(env)
    return config_dir() / "fingerprint.key"


def load_fingerprint_key(path: Path | None = None) -> bytes:
    """Read the fingerprint key, creating a random one (owner-only) on first use.

    The key is never stored in the dataset: without it, a fingerprint cannot
    be recomputed from a guessed token.

    Raises
    ------
    InputError
        If the key file cannot be read or created.
    """
    path = path or default_key_path()
    try:
        if path.exists():
            key = path.read_bytes().strip()
            if len(key) < 32:
                raise InputError(f"{path}: fingerprint key too short", hint="delete it to have a new one made")
            return key
        key = secrets.token_hex(32).encode()
        if not create_once(path, key):  # another process made it first: use that one
            return load_fingerprint_key(path)
        return key
    except OSError as exc:
        raise InputError(f"{path}: cannot read or create the fingerprint key: {exc.strerror}",
                         hint=f"set ${_KEY_ENV} to a writable path") from None


def fingerprint(token: str, key: bytes) -> str:
    """Keyed fingerprint of a token: 32 hex digits of HMAC-SHA-256.

    Examples
    --------
    >>> fingerprint("abc", b"k" * 32) == fingerprint("abc", b"k" * 32) != fingerprint("abc", b"x" * 32)
    True
    >>> len(fingerprint("abc", b"k" * 32))
    32
    """
    return hmac.new(key, token.encode("utf-8", errors="replace"), hashlib.sha256).hexdigest()[:32]


def find_tokens(text: str) -> list[str]:
    """Find JWTs, and opaque bearer tokens, in a text.

    Examples
    --------
    >>> find_tokens("Authorization: Bearer abcdefghijklmnopqrstuvwx and id_token=eyJhbGciOiJub25lIn0.e30.")
    ['eyJhbGciOiJub25lIn0.e30.', 'abcdefghijklmnopqrstuvwx']
    """
    found = [m.group(0) for m in _JWT.finditer(text)]
    for match in _BEARER.finditer(text):
        value = match.group(1)
        if not value.startswith("eyJ") and value not in found:
            found.append(value)
    return found


def inspect_token(token: str, key: bytes) -> TokenInfo:
    """Decode a token's header and claims without verifying anything.

    Parameters
    ----------
    token
        The raw token (a ``Bearer `` prefix is dropped).
    key
        The fingerprint key.

    Returns
    -------
    TokenInfo
        Decode errors are data (``encoding="malformed"``), never exceptions.

    Examples
    --------
    >>> info = inspect_token("eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2EudGVzdCJ9.", b"k" * 32)
    >>> info.encoding, info.alg, info.claims
    ('jws', 'none', {'iss': 'https://a.test'})
    >>> inspect_token("not-a-jwt-at-all", b"k" * 32).encoding
    'opaque'
    """
    token = token.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    fp = fingerprint(token, key)
    parts = token.split(".")
    if not token.startswith("eyJ") or len(parts) not in (3, 5):
        return TokenInfo(fp, "opaque")
    if len(parts) == 5:
        try:
            header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        except (ValueError, binascii.Error, RecursionError):  # RecursionError: JSON nested too deep
            return TokenInfo(fp, "malformed", error="JWE header is not base64url JSON")
        return TokenInfo(fp, "jwe", header=dict(header) if isinstance(header, dict) else {})
    import jwt  # here, not at the top: PyJWT and its cryptography take ~0.2 s to import

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        return TokenInfo(fp, "malformed", error=_safe_error(exc, token))
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        return TokenInfo(fp, "malformed", header=dict(header), error=_safe_error(exc, token))
    return TokenInfo(fp, "jws", header=dict(header), claims=dict(claims))


def claims_info(claims: dict[str, Any], key: bytes) -> TokenInfo:
    """A :class:`TokenInfo` for claims a validator printed without the token.

    The fingerprint is over the canonical JSON of the claims.
    """
    return TokenInfo(fingerprint(json.dumps(claims, sort_keys=True), key), "claims", claims=dict(claims))


def _safe_error(exc: Exception, token: str) -> str:
    text = str(exc)
    for part in token.split("."):
        if len(part) >= 8:
            text = text.replace(part, "<redacted>")
    return f"{type(exc).__name__}: {text}"[:200]
