"""Messages read again as words: error identifiers split, opaque values shortened.

Software names a cause in words ("invalid issuer") or in an identifier that
packs the same words: an enum logged with ``Debug`` (``InvalidIssuer``,
``ExpiredSignature``), an exception or error type (``JWSInvalidSignature``),
an error code (``jwt_auth_bad_iss``, ``INVALID_CUSTOM_TOKEN : AUDIENCE_MISMATCH``).
And a message that does use words often puts a long value between them
(``The key id, paPifw94MwpwDx3Wcs-Xz6m…, was not found``) that stretches the
bounded gap a keyword allows between its subject and its verdict.

:func:`as_words` gives the text a keyword reads in a second pass, after no
signature, phrase or keyword matched the message as written: identifiers
split into their words and every long value that holds a digit shortened
to one mark. Only keywords read it: they capture no value, so nothing a
finding shows comes from the rewritten text.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

#: The mark a long value becomes: one short word, so that the words around it stand close again.
VALUE_MARK = "#"

#: Characters of an opaque value: identifiers, base64 and base64url, hex, dotted addresses, dates.
_VALUE_CHAR = r"[A-Za-z0-9_\-+/=.~]"

#: A run of value characters holding a digit, with at least eight of them on one side of a digit: a key id, a
#: hash, a UUID, an address, a timestamp; not a word ("Signature"), nor a status or a version ("401", "v2").
_LONG_VALUE = rf"{_VALUE_CHAR}{{8,}}[0-9]{_VALUE_CHAR}*|{_VALUE_CHAR}*[0-9]{_VALUE_CHAR}{{8,}}"

#: Rewrites in order: (pattern, replacement). Values first, so that a key id is not split at its capitals.
_REWRITES = (
    (_LONG_VALUE, VALUE_MARK),
    (r"([a-z])([A-Z])", r"\1 \2"),  # InvalidIssuer -> Invalid Issuer
    (r"([A-Z])([A-Z][a-z])", r"\1 \2"),  # JWTIssued -> JWT Issued
    (r"_", " "),  # jwt_auth_bad_iss, AUDIENCE_MISMATCH
)


def as_words(texts: pa.Array) -> pa.Array:
    """``texts`` with identifiers split into words and long values holding a digit shortened to :data:`VALUE_MARK`.

    Parameters
    ----------
    texts
        Message texts (strings, nulls allowed).

    Returns
    -------
    pyarrow.Array
        The texts rewritten, null where a text was null.

    Examples
    --------
    >>> as_words(pa.array(["0: InvalidIssuer", "JWTIssuedAtFuture", "jwt_auth_bad_iss",
    ...                    "The key id, paPifw94MwpwDx3Wcs-Xz6mbULZ, was not found", "HTTP 401 v2"])).to_pylist()
    ['0: Invalid Issuer', 'JWT Issued At Future', 'jwt auth bad iss', 'The key id, #, was not found', 'HTTP 401 v2']
    """
    for pattern, replacement in _REWRITES:
        texts = pc.replace_substring_regex(texts, pattern, replacement)
    return texts
