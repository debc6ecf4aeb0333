"""Redaction: tokens never leave the input line they arrived in.

Every stored message passes through :func:`redact_tokens` first. A JWT (or
JWE) becomes ``<JWT>``, the value after ``Bearer`` becomes ``<TOKEN>``, and
``client-key``/``client_secret`` values become ``<SECRET>``. The work is one
vectorized regex replace per rule over a pyarrow array.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

#: Ordered (regex, replacement) rules; RE2 syntax.
REDACTIONS = (
    # Compact JWS (3 parts) and JWE (5 parts): base64url header starting {"
    (r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){2,4}", "<JWT>"),
    (r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}", r"\1<TOKEN>"),
    (r"(?i)((?:client[-_]key|client[-_]secret|access_token|id_token|refresh_token)[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,}]{4,}", r"\1<SECRET>"),
)


def redact_tokens(texts: pa.Array) -> pa.Array:
    """Replace tokens and secrets in ``texts``.

    Parameters
    ----------
    texts
        A pyarrow string array.

    Returns
    -------
    pyarrow.Array
        The same texts, redacted.

    Examples
    --------
    >>> jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    >>> redact_tokens(pa.array([f"got {jwt} and Bearer abcdefghijk", "id_token=abcdef&x=1"])).to_pylist()
    ['got <JWT> and Bearer <TOKEN>', 'id_token=<SECRET>&x=1']
    """
    for pattern, replacement in REDACTIONS:
        texts = pc.replace_substring_regex(texts, pattern, replacement)
    return texts
