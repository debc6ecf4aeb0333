"""Key sets (JWKS) and signature checks: does a captured JWT verify, and if not, why.

With :mod:`tokenaudit.tokens.decode`, the only module that imports PyJWT. Only the
JWS signature is checked (``jwt.api_jws``): claims such as ``exp`` are never
looked at here, because expiry is judged elsewhere against the event's time.

Nothing here returns, raises or prints a token or key material (``n``, ``e``,
``x``, ``y``, ``k``, ``d``...): evidence names keys by kid, kty, crv and alg.
PyJWT's own key errors embed the whole JWK, so their messages are never
passed on, only their class names.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from ..errors import InputError

UNKNOWN_SIGNING_KEY = "unknown_signing_key"
ALGORITHM_MISMATCH = "algorithm_mismatch"
SIGNATURE_INVALID = "signature_invalid"

_PRIVATE = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})
_MAX_BYTES = 1 << 20  # a JWKS or discovery document over 1 MiB is not one
_SET_HINT = 'a key set is {"keys": [{"kty": ...}, ...]}; a single key is {"kty": ...}'
# alg -> (the kty it needs, the curves it allows or None)
_NEEDS: dict[str, tuple[str, frozenset[str] | None]] = {
    **{f"{p}{n}": ("RSA", None) for p in ("RS", "PS") for n in (256, 384, 512)},
    **{f"HS{n}": ("oct", None) for n in (256, 384, 512)},
    "ES256": ("EC", frozenset({"P-256"})),
    "ES256K": ("EC", frozenset({"secp256k1"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "ES521": ("EC", frozenset({"P-521"})),  # PyJWT's alias of ES512
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
}


@dataclass(frozen=True, repr=False)
class KeySet:
    """Public JWKs, and the path or URL they came from.

    ``keys`` hold public members only (``k`` is kept for ``oct`` keys, which
    have nothing else). The repr names keys by kid and kty, never by value.
    """

    keys: tuple[dict[str, Any], ...]
    source: str

    def __repr__(self) -> str:
        return f"KeySet(source={self.source!r}, keys=[{', '.join(map(_describe, self.keys))}])"


@dataclass(frozen=True)
class SignatureVerdict:
    """Outcome of :func:`check_signature`.

    ``cause`` is ``None`` when the signature verifies, else one of
    ``unknown_signing_key``, ``algorithm_mismatch``, ``signature_invalid``.
    ``checked`` is false when no fitting key could be used at all (a key
    type this installation cannot check, say): then ``cause`` is ``None`` and
    ``evidence`` says why, since not being able to check is not a cause.
    """

    cause: str | None
    evidence: tuple[str, ...]
    kid: str | None
    alg: str | None
    checked: bool = True

    @property
    def summary(self) -> str:
        """One line for a person: verified, failed (with its cause), or could not check (with why)."""
        if not self.checked:
            return "signature could not be checked: " + "; ".join(self.evidence)
        if self.cause is None:
            return "signature verified: " + "; ".join(self.evidence)
        return f"signature failed ({self.cause}): " + "; ".join(self.evidence)


def parse_jwks(data: bytes | str, *, source: str) -> KeySet:
    """Read a JWKS document (``{"keys": [...]}``) or a single JWK.

    Private members (``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``, ``oth``) are
    dropped, and ``k`` unless the key is ``oct``. An empty set is kept: it is
    a finding, not an error.

    Parameters
    ----------
    data
        The JSON text.
    source
        Where it came from (a path or URL), for messages and ``KeySet.source``.

    Returns
    -------
    KeySet

    Raises
    ------
    InputError
        If the text is not JSON, or not a JWK or key set.

    Examples
    --------
    >>> parse_jwks('{"kty": "oct", "kid": "h1", "k": "c2VjcmV0"}', source="inline")
    KeySet(source='inline', keys=['h1' (oct)])
    >>> parse_jwks("<html>", source="x.json")
    Traceback (most recent call last):
    ...
    tokenaudit.errors.InputError: x.json: not JSON (line 1 column 1)
    """
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        at = ""
        if isinstance(exc, json.JSONDecodeError):
            at = f" (line {exc.lineno} column {exc.colno})"
        raise InputError(f"{source}: not JSON{at}",
                         hint="point at the issuer's jwks_uri or a .json key file") from None
    if isinstance(doc, dict) and "keys" in doc:
        members = doc["keys"]
        if not isinstance(members, list):
            raise InputError(f"{source}: 'keys' is not a list", hint=_SET_HINT)
    elif isinstance(doc, dict) and "kty" in doc:
        members = [doc]
    else:
        raise InputError(f"{source}: neither a JWK set nor a JWK (no 'keys' or 'kty')",
                         hint=_SET_HINT)
    keys = []
    for i, member in enumerate(members):
        if not isinstance(member, dict) or not isinstance(member.get("kty"), str):
            raise InputError(f"{source}: key #{i} is not a JWK (no string 'kty')", hint=_SET_HINT)
        drop = _PRIVATE if member["kty"] == "oct" else _PRIVATE | {"k"}
        keys.append({name: value for name, value in member.items() if name not in drop})
    return KeySet(tuple(keys), source)


def load_jwks(location: str, *, timeout: float = 10.0) -> KeySet:
    """Read a key set from a file path or an ``http(s)://`` URL.

    Raises
    ------
    InputError
        If the file or URL cannot be read, or does not hold a key set.
    """
    if location.startswith(("http://", "https://")):
        return parse_jwks(_fetch(location, timeout), source=location)
    if "://" in location:
        raise InputError(f"{location}: only http(s) URLs and file paths are supported")
    try:
        data = Path(location).read_bytes()
    except OSError as exc:
        raise InputError(f"{location}: cannot read key set ({exc.strerror or exc})",
                         hint="check the path, or pass the issuer's jwks_uri") from None
    return parse_jwks(data, source=location)


def discover_jwks(issuer: str, *, timeout: float = 10.0) -> KeySet:
    """Fetch an issuer's key set through OpenID Connect discovery.

    Reads ``{issuer}/.well-known/openid-configuration``, checks that its
    ``issuer`` is exactly the one asked for (OIDC Discovery 1.0, section 4.3),
    then loads its ``jwks_uri``.

    Raises
    ------
    InputError
        If discovery fails, names another issuer, or has no http(s) ``jwks_uri``.
    """
    url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    try:
        doc = json.loads(_fetch(url, timeout))
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        raise InputError(f"{url}: not a JSON discovery document", hint="is this the token's iss?")
    if doc.get("issuer") != issuer:
        raise InputError(
            f"{url}: discovery names issuer {doc.get('issuer')!r}, not {issuer!r}",
            hint="the issuer must match exactly, trailing slash included; use the token's iss",
        )
    jwks_uri = doc.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("http://", "https://")):
        raise InputError(f"{url}: no http(s) jwks_uri in the discovery document")
    return load_jwks(jwks_uri, timeout=timeout)


def check_signature(
    token: str, keys: KeySet, *, algorithms: Sequence[str] | None = None
) -> SignatureVerdict:
    """Tell whether a JWT's signature verifies against a key set, and if not, why.

    Parameters
    ----------
    token
        A compact JWS (a ``Bearer `` prefix is dropped). Never echoed back.
    keys
        The key set to verify against.
    algorithms
        Algorithms to accept. ``None`` accepts the asymmetric ones that fit
        the matching key (RS*/PS* for RSA, ES* for EC, EdDSA for OKP).
        HMAC (HS*) is accepted only when listed: accepting it by default
        invites the RSA-public-key-as-HMAC-secret confusion.

    Returns
    -------
    SignatureVerdict
        ``cause`` is ``None`` if the signature verifies, else
        ``unknown_signing_key``, ``algorithm_mismatch`` or ``signature_invalid``.

    Raises
    ------
    InputError
        If the token is not a compact JWS whose header can be read.

    Examples
    --------
    >>> secret = b"0123456789abcdef" * 2
    >>> jwk = {"kty": "oct", "kid": "h1", "k": jwt.utils.base64url_encode(secret).decode()}
    >>> keys = parse_jwks(json.dumps(jwk), source="inline")
    >>> token = jwt.encode({"sub": "a"}, secret, headers={"kid": "h1"})
    >>> check_signature(token, keys).evidence
    ('alg HS256 is symmetric; HMAC algorithms are accepted only when listed in algorithms',)
    >>> check_signature(token, keys, algorithms=["HS256"])
    SignatureVerdict(cause=None, evidence=("signature verifies with key 'h1' (oct) under HS256",), kid='h1', alg='HS256', checked=True)
    """  # noqa: E501
    token, header = _compact_jws(token)
    kid, alg = header.get("kid"), header.get("alg")

    def verdict(cause: str | None, *evidence: str, checked: bool = True) -> SignatureVerdict:
        return SignatureVerdict(cause, evidence, kid, alg if isinstance(alg, str) else None, checked)

    if not isinstance(alg, str) or not alg:
        return verdict(ALGORITHM_MISMATCH, "the token header has no alg")
    if refusal := _algorithm_refusal(alg, keys, algorithms):
        return verdict(ALGORITHM_MISMATCH, refusal)
    candidates, cause, evidence = _candidate_keys(keys, kid, alg)
    if cause is not None:
        return verdict(cause, *evidence)
    notes: list[str] = []
    usable = 0
    for jwk in candidates:
        outcome = _verify(token, jwk, alg, notes)
        if outcome is True:
            ok = f"signature verifies with key {_describe(jwk)} under {alg}"
            return verdict(None, ok, *notes)
        usable += outcome is False
    if usable == 0:  # no key could even be used: nothing was checked, so nothing failed
        return verdict(None, *notes, checked=False)
    tried = ("key " if len(candidates) == 1 else "keys ") + ", ".join(map(_describe, candidates))
    return verdict(SIGNATURE_INVALID,
                   f"signature does not verify with {tried} under {alg}: the token was "
                   "altered, or signed by another key under the same kid (rotated key?)", *notes)


def _compact_jws(token: str) -> tuple[str, dict[str, Any]]:
    """The token without a ``Bearer`` prefix, and its header; :class:`InputError` if it is no compact JWS."""
    token = token.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    if token.count(".") != 2:
        raise InputError(f"token has {token.count('.') + 1} segments; a compact JWS has 3",
                         hint="a 5-segment token is a JWE (encrypted): no signature to check")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InputError(f"token header cannot be read ({type(exc).__name__})") from None
    return token, header


def _algorithm_refusal(alg: str, keys: KeySet, algorithms: Sequence[str] | None) -> str | None:
    """Why ``alg`` is refused before any key is tried (unsigned, unknown, not allowed, HMAC unasked), or ``None``."""
    if alg.lower() == "none":
        return f"alg {alg!r} means unsigned; it never verifies"
    if alg not in _NEEDS:
        return f"alg {_q(alg)} is not a JWS algorithm PyJWT supports"
    if algorithms is not None and alg not in algorithms:
        allowed = ", ".join(algorithms) or "(none)"
        return f"alg {alg} is not among the allowed algs: {allowed}"
    if alg.startswith("HS"):
        ktys = sorted({_q(k.get("kty"), quote=False) for k in keys.keys})
        if ktys and "oct" not in ktys:
            held = f"the key set holds {'/'.join(ktys)} keys"
            return f"alg {alg} is symmetric; {held}"
        if algorithms is None:
            return f"alg {alg} is symmetric; HMAC algorithms are accepted only when listed in algorithms"
    return None


def _candidate_keys(keys: KeySet, kid: Any, alg: str) -> tuple[list[dict[str, Any]], str | None, list[str]]:
    """The signing keys the token's ``kid`` and ``alg`` point to; or none, with the cause and the evidence."""
    signing = [k for k in keys.keys if k.get("use") != "enc"]
    if kid is not None:
        named = [k for k in signing if k.get("kid") == kid]
        if not named:
            kids = ", ".join(sorted({_q(k["kid"], quote=False) for k in signing if "kid" in k}))
            enc = any(k.get("kid") == kid for k in keys.keys)
            return [], UNKNOWN_SIGNING_KEY, [f"kid {_q(kid)} is not among the key set's kids: {kids or '(none)'}"
                                             + ("; it names an encryption key (use 'enc')" if enc else "")]
        candidates = [k for k in named if _misfit(k, alg) is None]
        if not candidates:
            return [], ALGORITHM_MISMATCH, [str(_misfit(k, alg)) for k in named]
    else:
        candidates = [k for k in signing if _misfit(k, alg) is None]
        if not candidates:
            kty, crvs = _NEEDS[alg]
            need = f"kty {kty}" + (f", crv {'/'.join(sorted(crvs))}" if crvs else "")
            held = ", ".join(map(_describe, keys.keys)) or "no keys"
            return [], UNKNOWN_SIGNING_KEY, [f"the token has no kid and no key fits alg {alg} "
                                             f"(needs {need}); the set holds {held}"]
    return candidates, None, []


def _verify(token: str, jwk: dict[str, Any], alg: str, notes: list[str]) -> bool | None:
    """Verify ``token`` with one JWK, adding notes (never PyJWT's key messages) to ``notes``.

    ``True`` when it verifies, ``False`` when it does not, ``None`` when the
    key could not be used at all (so the signature was not checked with it).
    """
    try:
        key = jwt.PyJWK(jwk, algorithm=alg)  # PyJWK would otherwise bind RSA keys to RS256
    except jwt.PyJWTError as exc:
        reason = type(exc).__name__
        if not _has_crypto() and alg[:2] in ("RS", "PS", "ES", "Ed"):
            reason = "this installation lacks the cryptography package that PyJWT[crypto] brings"
        notes.append(f"key {_describe(jwk)} could not be loaded for {alg} ({reason})")
        return None
    if short := key.Algorithm.check_key_length(key.key):  # sizes only, never the key
        notes.append(f"key {_describe(jwk)}: {short}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # reported as a note
            jwt.api_jws.decode_complete(token, key=key, algorithms=[alg])
    except jwt.InvalidSignatureError:
        return False
    except jwt.PyJWTError as exc:
        notes.append(f"key {_describe(jwk)} rejected the token ({type(exc).__name__})")
        return False
    return True


def _has_crypto() -> bool:
    """Whether PyJWT can use asymmetric keys (its ``cryptography`` extra is installed)."""
    return bool(getattr(jwt.algorithms, "has_crypto", False))


def _misfit(jwk: dict[str, Any], alg: str) -> str | None:
    """Why ``jwk`` cannot verify ``alg``, or ``None`` if it can."""
    kty, crvs = _NEEDS[alg]
    if jwk.get("kty") != kty:
        return f"alg {alg} needs a key of kty {kty}; key {_describe(jwk)} is not one"
    if crvs is not None and jwk.get("crv") not in crvs:
        return f"alg {alg} needs curve {'/'.join(sorted(crvs))}; key {_describe(jwk)} is not on it"
    if "alg" in jwk and jwk["alg"] != alg:
        return f"key {_describe(jwk)} is declared for another alg; the token uses {alg}"
    return None


def _describe(jwk: dict[str, Any]) -> str:
    """How evidence names a key: ``'k1' (RSA)``, ``(no kid) (EC P-256 ES256)``."""
    kid = _q(jwk["kid"]) if "kid" in jwk else "(no kid)"
    detail = " ".join(_q(jwk[m], quote=False) for m in ("kty", "crv", "alg") if m in jwk)
    return f"{kid} ({detail})"


def _q(value: object, *, quote: bool = True) -> str:
    """A header or key value for evidence: escaped (no newlines), at most 64 characters."""
    text = repr(value) if quote else str(value).encode("unicode_escape").decode()
    return text if len(text) <= 64 else text[:61] + "..."


def _fetch(url: str, timeout: float) -> bytes:
    """GET ``url`` (http or https), at most 1 MiB; InputError with a hint on any failure."""
    request = urllib.request.Request(url, headers={"Accept": "application/json",
                                                   "User-Agent": "tokenaudit"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data: bytes = response.read(_MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the open response
        raise InputError(f"{url}: HTTP {exc.code} {exc.reason}",
                         hint="check the URL, or pass a saved key file") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise InputError(f"{url}: cannot fetch ({reason})",
                         hint="check the URL and the network, or pass a saved key file") from None
    if len(data) > _MAX_BYTES:
        raise InputError(f"{url}: response larger than {_MAX_BYTES} bytes; not a key set")
    return data
