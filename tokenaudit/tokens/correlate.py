"""Correlate log failures with captured tokens, and let the token refine the cause.

A validator's log line often cannot tell causes apart ("audience mismatch"
for a token lacking the client id and for an access token sent where an ID
token belongs). When a captured token belongs to the same relying party
(its ``aud`` names the party's client id or trusted audiences, or its
``iss`` is the party's issuer) and was seen close in time, its diagnosis is
attached to the failure, and where it names a more specific cause, that
cause replaces the log's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd

from .decode import TokenInfo
from .diagnose import diagnose
from .relying_parties import RelyingParty

#: Causes a captured token may replace, and by which ones.
REFINABLE = {
    "client_id_missing": ("token_type_confusion",),
    "unclassified": ("token_type_confusion", "untrusted_extra_audience", "client_id_missing", "issuer_mismatch",
                     "expired", "algorithm_mismatch", "aud_claim_missing"),
    "signature_invalid": ("unknown_signing_key", "algorithm_mismatch"),
}
WINDOW = pd.Timedelta(minutes=5)


def _info(row: Mapping[str, object]) -> TokenInfo:
    return TokenInfo(str(row["fingerprint"]), row["encoding"],  # type: ignore[arg-type]
                     json.loads(str(row["header"] or "{}")), json.loads(str(row["claims"] or "{}")))


def refine_with_tokens(
    events: pd.DataFrame,
    tokens: pd.DataFrame,
    parties: Mapping[str, RelyingParty],
    *,
    window: pd.Timedelta = WINDOW,
) -> pd.DataFrame:
    """Attach the nearest captured token of the same relying party to each failure, and refine its cause.

    Parameters
    ----------
    events
        Classified failures with ``relying_party`` (see :func:`tokenaudit.failure_groups`).
    tokens
        The tokens table (:func:`tokenaudit.read_tokens`).
    parties
        Relying parties by name.
    window
        How far apart in time a failure and a token sighting may be.

    Returns
    -------
    pandas.DataFrame
        A copy with ``token_fingerprint``, ``token_causes`` (comma-joined
        causes of the token's diagnosis) and ``log_cause`` (the cause the log
        line gave, where the token changed it).
    """
    frame = events.copy()
    frame["token_fingerprint"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame["token_causes"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame["log_cause"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    if tokens.empty or frame.empty:
        return frame
    usable = tokens[(tokens["encoding"] == "jws") & tokens["first_seen"].notna()].to_dict("records")
    for index, event in frame.iterrows():
        rp = parties.get(str(event.get("relying_party")))
        if rp is None:
            continue
        ts = event["ts"]
        near = [t for t in usable if t["first_seen"] - window <= ts <= t["last_seen"] + window
                and rp.concerns(_info(t).audiences, _info(t).claims.get("iss"))]
        if not near:
            continue
        best = min(near, key=lambda t: min(abs(t["first_seen"] - ts), abs(t["last_seen"] - ts)))
        diagnosis = diagnose(_info(best), rp, at=ts)
        frame.at[index, "token_fingerprint"] = best["fingerprint"]
        frame.at[index, "token_causes"] = ",".join(diagnosis.causes)
        better = [c for c in diagnosis.causes if c in REFINABLE.get(str(event["cause"]), ())]
        if better:
            frame.at[index, "log_cause"] = event["cause"]
            frame.at[index, "cause"] = better[0]
    return frame
