"""Where in a message a signature may start: the regexes that place a pattern.

A ``search`` signature is anchored at the start of a message or after a chain
of wrappers (:func:`anchored_pattern`); a clause further in counts only after
the software's text reports a failure (:func:`clause_pattern`); a keyword is
found from the start of any word (:func:`keyword_pattern`), in a message that
reports a failure (:func:`reports_failure`). The user's own text is kept out by
the field (``data/user_text.toml``), and these positions keep a user's words
quoted inside a message from starting one.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .error_keys import ERROR_KEY
from .wrappers import load_wrappers

#: Where a clause can begin inside a message: after a separator of an application's prefix, a
#: logger header or an error chain (a spaced hyphen, en dash or em dash among them: ``PGRST303 — JWT …``; the
#: exclamation mark of a CLI's ``Error! `` or ``npm ERR! ``; a colon with the blanks of aligned output after it,
#: ``Error:  Code 10000``); after an opening quote or bracket; after an error-like key.
CLAUSE_START = (
    r"(?:: +|, |; |\. |! |\] |\) |-> |=> | - | — | – |[\"'`(\[{]"
    r"|\b(?:msg|err|error|reason|message|error_description|detail|description|exception) ?= ?[\"']?|\n\s*)"
)


@cache
def anchored_pattern(pattern: str, search: bool) -> str:
    """The regex that actually runs for a signature's ``pattern``.

    A whole-message pattern runs as it is (it starts with ``^``). A search
    pattern runs anchored at the start of the text, after any chain of
    wrappers: software-written framing, never a user's text.

    Examples
    --------
    >>> body = "Invalid audiences: (?P<audience>[^ ]+)"
    >>> texts = pa.array(["Failed to verify ID token: Invalid audiences: x",
    ...                   "sshd: Invalid user Invalid audiences: x from 10.0.0.1"])
    >>> pc.match_substring_regex(texts, anchored_pattern(body, True)).to_pylist()
    [True, False]
    """
    if not search:
        return pattern
    wrappers = "|".join(f"(?:{wrapper.pattern})" for wrapper in load_wrappers())
    return f"^(?:{wrappers})*(?:{pattern})"


#: A logger's message field inside a JSON line no format parsed (a pasted, cut or nested record): its value starts
#: the software's message wherever it stands in the line, as the message of a parsed JSON log does. .NET and AWS
#: bodies spell it ``"Message"``; an AWS XML error carries it as ``<Message>``. A Python client that logs a
#: decoded JSON body prints the dict's repr, its keys in single quotes: ``{'code': 1010, 'msg': 'token is expired'}``.
MESSAGE_FIELD = r'''(?:"(?:msg|message|Message)"\s*:\s*"|'(?:msg|message|Message)'\s*:\s*["']|<Message>)'''


#: A start of a message that is structure, not words: braces, quotes, one neutral key (``{"msg": "``, a list of
#: messages ``{"messages": ["``), one word of the software's own framing (``IDX10223: ``, ``[openid-connect] ``,
#: ``oidc_proto_jwt_verify: ``, PowerShell's ``Connect-AzAccount : ``, an error code before a dash, ``PGRST303 — ``),
#: the HTTP status a web framework writes before its error (``500 state mismatch``), or the number of an error in a
#: list (``0. ``, ``2) ``).
NEUTRAL_START = (r"""[\s{\[("'`]*(?:(?:msg|messages?|detail|reason|description|error_description|title|text)"""
                 r"""["']?\s*[:=]\s*\[?\s*["'`]?\s*|[^\s\]]{1,60}?(?:\(\))?(?: ?: |\] | [—–] )["'`(\[]?|[1-5]\d\d """
                 r"""|\d{1,2}[.)] )?""")


@cache
def clause_pattern(pattern: str) -> str:
    """The regex that finds ``pattern`` at the start of a text, after a neutral start, or at a clause after a cue.

    A match further into a message counts only where the software's text
    before it reports a failure (:func:`.error_keys.failure_pattern`: the ``failure_cue``
    of ``data/user_text.toml``, a level such as ERROR or WARN, words such as
    "failed" or "invalid", or a key naming an error such as ``"reason": "``): an
    application that logs a user's search or echo in words of its own reports
    none. The value of an error-like key (``error=``, ``"exception": "``)
    counts as well: the key reports the failure; so does a JSON line's
    message field (``"message": "``), the start of the software's own
    message. One RE2 pattern finds the first clause that both follows a cue
    and starts the signature's text.

    Examples
    --------
    >>> texts = pa.array(["WARN auth: jwt expired", "INFO app: search query: jwt expired", "jwt expired"])
    >>> pc.match_substring_regex(texts, clause_pattern("jwt expired")).to_pylist()
    [True, False, True]
    """
    from .user_text import load_user_text

    cue = load_user_text().failure_cue
    return (f"^(?:(?s:.*?)(?:{cue})(?s:.*?){CLAUSE_START}|(?s:.*?)(?:{ERROR_KEY}|{MESSAGE_FIELD})|{wrapper_chain()}"
            f"|{NEUTRAL_START})?"
            f"(?:{pattern})")


def keyword_pattern(pattern: str) -> str:
    r"""The regex that finds a keyword's ``pattern``: at the text's start or after any character not of a word.

    Examples
    --------
    >>> texts = pa.array(['Errors: * claim "aud" is invalid', "aud_claim", "claudette"])
    >>> pc.match_substring_regex(texts, keyword_pattern('"?aud"?')).to_pylist()
    [True, True, False]
    """
    return rf"(?:^|\W)(?:{pattern})"


def reports_failure(texts: pa.Array) -> np.ndarray:
    """Which ``texts`` report a failure in words of their own: a failure cue or an error key (``failure_cue``).

    A keyword counts only in such a text: "token expired" logged at INFO while
    a client refreshes it is no refusal, ``ERROR … token expired`` is.

    An error field that holds nothing (``"error":null``, ``error=""``) is no
    failure reported (``empty_error`` of ``data/user_text.toml``).

    Examples
    --------
    >>> reports_failure(pa.array(["INFO token expired, refreshing", "ERROR auth: token expired", None])).tolist()
    [False, True, False]
    >>> reports_failure(pa.array(['{"level":"info","error":null,"message":"refreshing JWK"}'])).tolist()
    [False]
    """
    from .user_text import load_user_text

    rules = load_user_text()
    cleared = pc.replace_substring_regex(texts, rules.empty_error, " ")
    cue = pc.match_substring_regex(cleared, rules.failure_cue)
    flags: np.ndarray = pc.fill_null(cue, False).to_numpy(zero_copy_only=False)
    return flags


@cache
def wrapper_chain() -> str:
    """A chain of wrappers: software-written framing, as neutral as no prefix at all."""
    return "(?:" + "|".join(f"(?:{wrapper.pattern})" for wrapper in load_wrappers()) + ")+"


@cache
def wrapper_start() -> str:
    """A regex matching texts that begin with a wrapper."""
    return "^(?:" + "|".join(f"(?:{wrapper.pattern})" for wrapper in load_wrappers()) + ")"
