"""The keys whose value is an error: such a key reports a failure wherever it stands in a message.

:mod:`tokenaudit.catalogue.positions` starts a clause after one
(:func:`~tokenaudit.catalogue.positions.clause_pattern`) and counts a message
that holds one as reporting a failure
(:func:`~tokenaudit.catalogue.positions.reports_failure`);
:mod:`tokenaudit.catalogue.user_text` checks its ``empty_error`` samples with
the same pattern. A module of its own, so that both read it without importing
each other.
"""

from __future__ import annotations

#: A key whose value is an error: the key itself reports a failure (``error="…"``, ``"exception": "…"``, an XML
#: element such as Spring Security OAuth's ``<error_description>…``, the description in the user info Apple's
#: ``NSError`` prints: ``UserInfo={…, NSLocalizedDescription=Expired token received from FIRAuth, …}``, and the
#: description key of MSAL for iOS and macOS in the same user info, ``MSALErrorDescriptionKey=AADSTS…``; the same keys
#: in a Python dict's repr, ``{'error': 'invalid_grant', …}``; a
#: response header that names an error or its reason, ``X-Error: …``, ``X-Databricks-Reason-Phrase: …``: a request
#: header, which the client sets, is masked before any search, see ``client_header`` of ``data/user_text.toml``).
ERROR_KEY = (r"""(?:\b(?:err|error|errors|exception|reason|error_description|cause)=["']?"""
             r'|"(?:err|error|errors|exception|reason|error_description|cause)"\s*:\s*"'
             r"|'(?:err|error|errors|exception|reason|error_description|cause)'\s*:\s*[\"']"
             r"""|<(?:error|exception|reason|error_description|cause)>"""
             r"""|\b[Xx]-[\w-]*(?:[Ee]rror|[Rr]eason)[\w-]*: """
             r"""|\b(?:NS(?:Localized(?:Description|FailureReason)|DebugDescription)|MSALErrorDescriptionKey)=)""")


def failure_pattern(cue: str) -> str:
    """The regex of a text that reports a failure: the failure ``cue``, or a key naming an error (:data:`ERROR_KEY`).

    A key such as ``reason=``, ``cause=`` or ``NSLocalizedDescription=`` reports
    a failure wherever it stands, as it does before a clause
    (:func:`~tokenaudit.catalogue.positions.clause_pattern`).

    Examples
    --------
    >>> import pyarrow as pa
    >>> import pyarrow.compute as pc
    >>> texts = pa.array(["INFO push: reason=BadDeviceToken", "INFO push: delivered", "INFO reason: none"])
    >>> pc.match_substring_regex(texts, failure_pattern("(?i:fail)")).to_pylist()
    [True, False, False]
    """
    return f"(?:{cue})|{ERROR_KEY}"
