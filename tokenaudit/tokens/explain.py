"""Explain one captured token: decode it, check its signature if asked, diagnose it.

The library side of ``tokenaudit explain``: the CLI reads the token from a
file or standard input (never from the command line, so it stays out of shell
history) and hands the text here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from ..errors import InputError
from .decode import TokenInfo, find_tokens, inspect_token
from .diagnose import Diagnosis, diagnose
from .relying_parties import RelyingParty


def explain_token(
    text: str,
    rp: RelyingParty,
    *,
    key: bytes,
    at: pd.Timestamp | None = None,
    jwks: str | None = None,
    verify: bool = False,
    algorithms: Sequence[str] = (),
) -> tuple[TokenInfo, Diagnosis]:
    """Explain the first token found in ``text`` for relying party ``rp``.

    Parameters
    ----------
    text
        Text holding the token (a bare JWT, ``Bearer …``, a token response).
    rp
        What the relying party expects.
    key
        The fingerprint key.
    at
        The time to judge expiry at; now by default.
    jwks
        A JWKS file or URL to check the signature against.
    verify
        Fetch the issuer's discovery document and JWKS (network) to check the signature.
    algorithms
        Accepted algorithms for the signature check (default: those of ``rp``).

    Raises
    ------
    InputError
        If ``text`` holds no token, or a key set cannot be loaded.

    Examples
    --------
    >>> info, diagnosis = explain_token("eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2EudGVzdCJ9.",
    ...                                 RelyingParty("x"), key=b"k" * 32, at=pd.Timestamp("2026-01-01", tz="UTC"))
    >>> diagnosis.causes
    ['algorithm_mismatch', 'aud_claim_missing', 'malformed_token']
    """
    tokens = find_tokens(text) or ([text.strip()] if text.strip() and len(text.strip().split()) == 1 else [])
    if not tokens:
        raise InputError("no token found in the input",
                         hint="give a file (or stdin) holding one JWT or `Bearer <token>`")
    token = tokens[0]
    info = inspect_token(token, key)
    at = at if at is not None else pd.Timestamp.now(tz="UTC")
    signature = None
    checked = ""
    if (jwks or verify or rp.jwks) and info.encoding == "jws":
        from .jwks import check_signature, discover_jwks, load_jwks

        location = jwks or rp.jwks
        if location:
            keys = load_jwks(location)
        else:
            issuer = rp.issuer or str(info.claims.get("iss") or "")
            if not issuer:
                raise InputError("--verify needs an issuer", hint="give --issuer or a token with iss")
            keys = discover_jwks(issuer)
        verdict = check_signature(token, keys, algorithms=list(algorithms or rp.algorithms) or None)
        signature = (verdict.cause, tuple(verdict.evidence))
        checked = verdict.summary
    del token, tokens
    if algorithms and not rp.algorithms:
        rp = replace(rp, algorithms=tuple(algorithms))
    diagnosis = diagnose(info, rp, at=at, signature=signature)
    if signature is not None:
        diagnosis = replace(diagnosis, signature_check=checked)
    return info, diagnosis
