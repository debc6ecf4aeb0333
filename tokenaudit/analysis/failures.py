"""Analysis: pure DataFrame functions from stored events to causes and groups.

Classification happens here, at analysis time, over the stored messages: a
catalogue that learned a new signature reclassifies old events (rows written
with another catalogue are matched again), and a changed cause mapping applies
at once. None of these functions mutates its input.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..catalogue.identity import IDENTITIES
from ..catalogue.loading import load_catalogue
from ..catalogue.matching import CONFIDENCES, match_messages
from ..catalogue.order import Catalogue
from ..causes.recommend import ready_fix, recommend
from ..common.masking import EXAMPLE_WIDTH, mask_messages, shorten
from ..formats.parsing import load_formats
from ..models import CauseDefinition
from ..pipeline.chunk import match_failures, route_of
from ..schema import EVENT_FIELDS, MATCHED_KINDS
from ..store.event_classes import EventClasses, classes_of_frame
from ..tokens.correlate import refine_with_tokens
from ..tokens.relying_parties import RelyingParty, relying_party_from_realm

#: Columns of :func:`failure_groups`.
GROUP_COLUMNS = (
    "cause",
    "title",
    "relying_party",
    "key",
    "count",
    "first_seen",
    "last_seen",
    "hosts",
    "software",
    "signature",
    "reading",
    "alternatives",
    "tier",
    "confidence",
    "identity",
    "ready_fix",
    "token_evidence",
    "example",
    "explanation",
    "recommendation",
)
#: How far apart an HTTP refusal and the line that says why may be (either way).
PAIR_WINDOW = pd.Timedelta(seconds=10)


@dataclass(frozen=True)
class GroupAccounting:
    """How the events :func:`failure_groups` read became the counts of its groups.

    ``events`` = ``grouped`` + ``follow_ups`` + ``paired_refusals``: a paired line is
    counted once, with the failure it belongs to. ``suspicious`` and ``unexplained``
    are parts of ``grouped``, and ``unpaired_refusals`` a part of ``unexplained``.

    Attributes
    ----------
    events
        Stored events read (what ``tokenaudit events`` exports for the same period).
    grouped
        Events counted in the groups (the sum of their ``count``).
    groups
        Number of groups.
    follow_ups
        Follow-up lines (httpd's ``AH01631`` after mod_auth_openidc's reason) counted
        with the failure they follow (:func:`pair_follow_ups`).
    paired_refusals
        HTTP refusals (pveproxy's 401) counted with the line that says why (:func:`pair_http_denials`).
    unpaired_refusals
        HTTP refusals no ingested line explains; grouped as ``unclassified`` by route.
    suspicious, suspicious_groups
        Events and groups of ``suspicious_line``: lines someone other than the named software wrote.
    unexplained, unexplained_groups
        Events and groups of ``unclassified``.

    Examples
    --------
    >>> GroupAccounting(events=84, grouped=82, groups=68, paired_refusals=2, suspicious=1).failures
    81
    """

    events: int
    grouped: int
    groups: int
    follow_ups: int = 0
    paired_refusals: int = 0
    unpaired_refusals: int = 0
    suspicious: int = 0
    suspicious_groups: int = 0
    unexplained: int = 0
    unexplained_groups: int = 0

    @property
    def failures(self) -> int:
        """Events in groups that are failures: all but the suspicious lines."""
        return self.grouped - self.suspicious


def group_accounting(groups: pd.DataFrame) -> GroupAccounting:
    """The accounting of failure groups: how many stored events they cover, and why that differs.

    :func:`failure_groups` keeps its accounting with its result (``groups.attrs["accounting"]``);
    for a part of the groups (``groups.head(10)``) or a frame made otherwise, the accounting is
    derived from the groups alone, with nothing paired.

    Parameters
    ----------
    groups
        Output of :func:`failure_groups`, whole or in part.

    Returns
    -------
    GroupAccounting

    Examples
    --------
    >>> groups = pd.DataFrame({"cause": ["expired", "suspicious_line", "unclassified"], "count": [5, 1, 2]})
    >>> account = group_accounting(groups)
    >>> account.events, account.failures, account.suspicious_groups, account.unexplained
    (8, 7, 1, 2)
    """
    kept = groups.attrs.get("accounting")
    counts = groups["count"].astype("int64") if "count" in groups.columns else pd.Series(dtype="int64")
    grouped = int(counts.sum())
    if isinstance(kept, GroupAccounting) and kept.grouped == grouped and kept.groups == len(groups):
        return kept
    return _accounting(groups, events=grouped)


def _accounting(groups: pd.DataFrame, *, events: int, follow_ups: int = 0, paired_refusals: int = 0,
                unpaired_refusals: int = 0) -> GroupAccounting:
    counts = groups["count"].astype("int64") if "count" in groups.columns else pd.Series(dtype="int64")
    cause = groups["cause"] if "cause" in groups.columns else pd.Series(dtype=object)
    suspicious, unexplained = (cause == "suspicious_line"), (cause == "unclassified")
    return GroupAccounting(
        events=events, grouped=int(counts.sum()), groups=len(groups), follow_ups=follow_ups,
        paired_refusals=paired_refusals, unpaired_refusals=unpaired_refusals,
        suspicious=int(counts[suspicious].sum()), suspicious_groups=int(suspicious.sum()),
        unexplained=int(counts[unexplained].sum()), unexplained_groups=int(unexplained.sum()),
    )


def classify(events: pd.DataFrame, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Add ``cause``, ``alternatives`` and ``software`` to events.

    Events written with another catalogue than ``catalogue`` are matched
    again first, so their ``signature`` and captured fields are current.

    Parameters
    ----------
    events
        Rows of the events table (as :func:`tokenaudit.read_events` returns).
    catalogue
        The signatures; the built-in catalogue by default.

    Returns
    -------
    pandas.DataFrame
        A copy of ``events`` with ``cause`` (a cause id; ``unclassified`` when
        no signature explains the line), ``alternatives`` (comma-joined ids of
        causes the message cannot be told from) and ``software`` (what
        refused the token).
    """
    catalogue = catalogue or load_catalogue()
    frame = events.copy()
    stale = stale_events(frame, catalogue)
    if stale.any():
        frame = rematch(frame, stale, catalogue)
    formats = load_formats()
    entries = catalogue.by_id.values()  # the signatures, and the word model's entries
    cause_of = {s.id: (s.cause if s.kind == "cause" else "unclassified") for s in entries}
    alternatives_of = {s.id: ",".join(s.alternatives) for s in entries}
    software_of = {s.id: s.software for s in entries}
    signature = frame["signature"].astype(object)
    causes = signature.map(cause_of).fillna("unclassified")
    alternatives = signature.map(alternatives_of).fillna("")
    # A line whose writer contradicts its text is no failure of that software (tokenaudit.identity).
    suspicious = (frame["event_kind"] == "suspicious").to_numpy(dtype=bool)
    causes = causes.where(~suspicious, "suspicious_line")
    alternatives = alternatives.where(~suspicious, "")
    owner = frame["envelope"].astype(object).where(frame["envelope"].notna(), signature)
    by_format = frame["format"].map({name: fmt.software for name, fmt in formats.items()}).fillna("")
    software = owner.map(software_of).fillna(by_format)
    return frame.assign(cause=causes, alternatives=alternatives, software=software)


def fix_variant_of(catalogue: Catalogue, group: Mapping[str, object]) -> str | None:
    """The fix the signature of a failure group calls for (:attr:`~tokenaudit.models.Signature.fix_variant`), if any.

    A line that contradicts its writer (``suspicious_line``) calls for none.

    Examples
    --------
    >>> fix_variant_of(load_catalogue(), {"cause": "credentials_invalid",
    ...                                   "signature": "keycloak.event_invalid_client_credentials"})
    'client_secret'
    >>> fix_variant_of(load_catalogue(), {"cause": "credentials_invalid",
    ...                                   "signature": "keycloak.event_invalid_user_credentials"}) is None
    True
    """
    signature = catalogue.by_id.get(str(group.get("signature")))
    if signature is None or not signature.fix_variant or group.get("cause") != signature.cause:
        return None
    return signature.fix_variant


def reading_of(catalogue: Catalogue, group: Mapping[str, object]) -> str:
    """What the entry that matched a failure group says its text means (the entry's title), if anything.

    A cause such as ``config_error`` covers many mistakes; the entry names
    the one its text shows. The word model has no entry of its own, and a
    line that contradicts its writer (``suspicious_line``) is not read as
    what its text claims: both read as nothing more than their cause.

    Examples
    --------
    >>> reading_of(load_catalogue(), {"cause": "config_error", "signature": "google_signin.developer_error"})[:42]
    'Google Sign-In on Android refused the app:'
    >>> reading_of(load_catalogue(), {"cause": "expired", "signature": "words.expired"})
    ''
    """
    entry = catalogue.by_id.get(str(group.get("signature")))
    if entry is None or entry.tier == "words" or group.get("cause") != entry.cause:
        return ""
    return entry.title


def stale_events(events: pd.DataFrame, catalogue: Catalogue) -> np.ndarray:
    """Which events were classified with another catalogue than ``catalogue``, and are matched again (a boolean each).

    Examples
    --------
    >>> frame = pd.DataFrame({"catalogue": ["old", "new", "old"], "event_kind": ["auth_failure"] * 2 + ["http_denied"]})
    >>> stale_events(frame, Catalogue((), fingerprint="new")).tolist()
    [True, False, False]
    """
    other = (events["catalogue"] != catalogue.fingerprint) & events["event_kind"].isin(MATCHED_KINDS)
    return np.asarray(other.to_numpy(dtype=bool))


def rematch(frame: pd.DataFrame, stale: np.ndarray, catalogue: Catalogue) -> pd.DataFrame:
    """A copy of ``frame`` whose ``stale`` rows are matched again from their message with ``catalogue``.

    Their signature, envelope, tier, confidence, identity, suspicion and captured values are the
    new match's (a client address or user the match does not capture stays); their kind becomes
    ``suspicious`` or ``auth_failure`` by what the match says of the line's writer.
    """
    formats = load_formats()
    frame = frame.copy()
    for fmt_name in pd.unique(frame.loc[stale, "format"]):
        rows = np.flatnonzero(stale & (frame["format"] == fmt_name).to_numpy())
        fmt = formats.get(fmt_name)
        messages = pa.array(frame["message"].iloc[rows].fillna("").astype(str).tolist(), pa.string())
        if fmt is not None:
            processes, writers = (pa.array(frame[name].iloc[rows], pa.string(), from_pandas=True)
                                  if name in frame.columns else None for name in ("process", "writer"))
            matched = match_failures(messages, processes, fmt, catalogue, writers=writers).to_pandas()
            suspicious = matched["suspicion"].notna().to_numpy()
            kind = frame["event_kind"].astype(object).to_numpy().copy()
            kind[rows] = np.where(suspicious, "suspicious", "auth_failure")
            frame["event_kind"] = kind
        else:
            matched = match_messages(messages, catalogue, format_name=str(fmt_name), generic_search=False).to_pandas()
        for column in ("envelope", "signature", "tier", "confidence", "identity", "suspicion", *EVENT_FIELDS):
            if column not in matched.columns:
                continue
            if column in frame.columns:
                current = frame[column].astype(object).to_numpy().copy()
                fresh = matched[column].to_numpy(dtype=object)
                if column in ("client_addr", "user"):
                    fresh = np.where(pd.isna(fresh), current[rows], fresh)
                current[rows] = fresh
                frame[column] = current
    return frame


def _normalise_addr(addr: pd.Series) -> pd.Series:
    return addr.astype("string").str.removeprefix("::ffff:")


def pair_http_denials(events: pd.DataFrame) -> pd.DataFrame:
    """Link each HTTP refusal (pveproxy's 401) to the daemon line that says why.

    Proxmox's access log says that a login was refused, pvedaemon's line says
    why; they share no request id, so they are paired by client address and
    time (within 10 s), best effort.

    Returns
    -------
    pandas.DataFrame
        A copy with ``explained_by`` (``source_file:line_no`` of the paired
        failure line, or null). Unpaired refusals get ``detail`` ``HTTP 401 on
        POST /route`` (ids in the path folded).
    """
    frame = events.copy()
    frame["explained_by"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    denied = frame["event_kind"] == "http_denied"
    if not denied.any():
        return frame
    left = frame.loc[denied, ["ts", "client_addr"]].assign(row=np.flatnonzero(denied.to_numpy()))
    right = frame.loc[~denied, ["ts", "client_addr", "source_file", "line_no"]]
    left["addr"] = _normalise_addr(left["client_addr"]).fillna("")
    right = right.assign(addr=_normalise_addr(right["client_addr"]).fillna(""))
    paired = pd.merge_asof(
        left.sort_values("ts", kind="stable"),
        right.sort_values("ts", kind="stable")[["ts", "addr", "source_file", "line_no"]],
        on="ts",
        by="addr",
        tolerance=PAIR_WINDOW,
        direction="nearest",
    )
    found = paired["source_file"].notna()
    positions = paired.loc[found, "row"].to_numpy()
    frame.iloc[positions, frame.columns.get_loc("explained_by")] = (
        paired.loc[found, "source_file"].astype(str) + ":" + paired.loc[found, "line_no"].astype("int64").astype(str)
    ).to_numpy()
    unpaired = denied & frame["explained_by"].isna()
    method = frame.loc[unpaired, "method"].astype("string").fillna("")
    frame.loc[unpaired, "detail"] = (
        "HTTP " + frame.loc[unpaired, "status"].astype("string") + " on "
        + method + method.map(lambda m: " " if m else "") + route_of(frame.loc[unpaired, "path"])
    )
    return frame


#: How long after a failure a follow-up line of the same request may come.
FOLLOW_WINDOW = pd.Timedelta(seconds=2)


def pair_follow_ups(events: pd.DataFrame, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Count a request's two failure lines once: a ``follows`` signature's line after the one it follows.

    httpd writes ``AH01631: user …: authorization failure`` after
    mod_auth_openidc's own line that says why; both describe one refusal.
    The follow-up is paired with the nearest earlier event of a signature it
    ``follows``, in the same file, from the same client, within 2 s.

    Returns
    -------
    pandas.DataFrame
        A copy; paired follow-ups get ``explained_by`` (``source_file:line_no``).
    """
    catalogue = catalogue or load_catalogue()
    frame = events.copy()
    if "explained_by" not in frame.columns:
        frame["explained_by"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    followers = {s.id: s.follows for s in catalogue.signatures if s.follows}
    is_follower = frame["signature"].isin(list(followers))
    if not is_follower.any():
        return frame
    client = _normalise_addr(frame["client_addr"]).str.replace(r":\d+$", "", regex=True)
    for index in frame.index[is_follower]:
        row = frame.loc[index]
        globs = followers[row["signature"]]
        earlier = frame[(frame["source_file"] == row["source_file"]) & (client == client[index])
                        & (frame["ts"] <= row["ts"]) & (frame["ts"] >= row["ts"] - FOLLOW_WINDOW)
                        & (frame.index != index)]
        earlier = earlier[earlier["signature"].map(
            lambda s, globs=globs: isinstance(s, str) and s not in followers
            and any(fnmatch.fnmatchcase(s, g) for g in globs))]
        if not earlier.empty:
            lead = earlier.sort_values("ts", kind="stable").iloc[-1]
            frame.at[index, "explained_by"] = f"{lead['source_file']}:{int(lead['line_no'])}"
    return frame


def paired_events(events: pd.DataFrame, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Classified events, each marked where :func:`failure_groups` counts it with another line.

    Every stored event stays: an export has as many rows as the dataset has events.
    A row with ``explained_by`` is counted once, with the line it names: an HTTP
    refusal with the line that says why (:func:`pair_http_denials`), a follow-up
    line with the failure it follows (:func:`pair_follow_ups`).

    Returns
    -------
    pandas.DataFrame
        :func:`classify`'s columns and ``explained_by`` (``source_file:line_no``, or null).

    Examples
    --------
    >>> columns = ["ts", "event_kind", "client_addr", "signature", "envelope", "format", "catalogue", "message",
    ...            "source_file", "line_no", "status", "method", "path", "detail"]
    >>> paired_events(pd.DataFrame(columns=columns)).columns[-1]
    'explained_by'
    """
    catalogue = catalogue or load_catalogue()
    frame = classify(events, catalogue)
    paired = pair_follow_ups(pair_http_denials(frame), catalogue)
    return frame.assign(explained_by=paired["explained_by"])


def attribute_relying_party(events: pd.DataFrame, realms: pd.DataFrame) -> pd.DataFrame:
    """Add ``relying_party``: which realm or client each failure concerns.

    The realm a line names wins (``user=alice@zitadel`` gives ``zitadel``).
    Proxmox's OpenID failure line names none: with one OpenID realm
    configured it is that realm; with several, the one whose client id or
    issuer the message names.

    Returns
    -------
    pandas.DataFrame
        A copy of ``events`` with ``relying_party`` (null when unknown).
    """
    frame = events.copy()
    named = frame["realm"].astype("string")
    is_proxmox = frame.get("software", pd.Series("", index=frame.index)) == "proxmox"
    # Proxmox user ids are user@realm; elsewhere an @ is an e-mail address, not a realm.
    # Once per distinct user, not per event: millions of events come from a few thousand users.
    user_code, users = pd.factorize(frame["user"].astype(object))
    realm_of_user = pd.Series(users, dtype="string").str.extract(r"@([^@\s]+)$", expand=False)
    realm_or_null = pd.array([*realm_of_user.to_numpy(dtype=object), pd.NA], dtype="string")  # code -1: no user
    from_user = pd.Series(realm_or_null[user_code], index=frame.index, dtype="string").where(is_proxmox)
    party = named.fillna(from_user)
    openid = realms[realms["type"] == "openid"] if not realms.empty else realms
    missing = party.isna() & is_proxmox & (frame["event_kind"] == "auth_failure")
    if missing.any() and len(openid) == 1:
        party[missing] = openid["realm"].iloc[0]
    elif missing.any() and len(openid) > 1:
        by_client = dict(zip(openid["client_id"], openid["realm"], strict=True))
        by_issuer = dict(zip(openid["issuer_url"], openid["realm"], strict=True))
        guess = frame["expected_audience"].map(by_client).fillna(frame["expected_issuer"].map(by_issuer))
        party[missing] = guess[missing]
    return frame.assign(relying_party=party)


def _paired_classes(classes: pd.DataFrame, collapsed: EventClasses, catalogue: Catalogue) -> np.ndarray:
    """Classes whose events :func:`pair_http_denials` or :func:`pair_follow_ups` may pair: a boolean per class.

    A class may pair if any of its events comes from an address that was refused (a class of
    failures holds its first event's address; the others are read from the files).
    """
    chosen = np.zeros(len(classes), dtype=bool)
    denied = (classes["event_kind"] == "http_denied").to_numpy(dtype=bool)
    if denied.any():
        refused = set(_normalise_addr(classes["client_addr"][denied]).fillna(""))
        chosen |= denied | collapsed.any_event(
            "client_addr", lambda values: _normalise_addr(pd.Series(values)).fillna("").isin(refused).to_numpy())
    followers = {s.id: s.follows for s in catalogue.signatures if s.follows}
    is_follower = classes["signature"].isin(list(followers)).to_numpy(dtype=bool)
    if is_follower.any():
        globs = {g for found in followers.values() for g in found}
        lead = classes["signature"].map(
            lambda s: isinstance(s, str) and s not in followers and any(fnmatch.fnmatchcase(s, g) for g in globs))
        chosen |= is_follower | lead.to_numpy(dtype=bool)
    return chosen


def failure_groups(
    events: pd.DataFrame | EventClasses,
    realms: pd.DataFrame | None = None,
    *,
    catalogue: Catalogue | None = None,
    tokens: pd.DataFrame | None = None,
    parties: Mapping[str, RelyingParty] | None = None,
) -> pd.DataFrame:
    """Group failures by cause, relying party and offending value, with the fix for each.

    Parameters
    ----------
    events
        Stored events (:func:`tokenaudit.read_events`), or the same collapsed into classes of
        identical events (:func:`tokenaudit.read_event_classes`, much faster on millions);
        classified here.
    realms
        Relying parties (:func:`tokenaudit.read_realms`), used to fill in fixes.
    catalogue
        The signatures; the built-in catalogue by default.
    tokens
        Captured tokens (:func:`tokenaudit.read_tokens`): a token of the same
        relying party seen close in time refines the cause and adds evidence.
    parties
        Relying parties by name, besides those made from ``realms``.

    Returns
    -------
    pandas.DataFrame
        One row per group, most frequent first (unexplained ones last, keyed
        by their masked template), with :data:`GROUP_COLUMNS`
        (``token_evidence`` says what a correlated token showed):
        ``key`` is the offending value (the untrusted audience, the issuer
        found, …), ``first_seen``/``last_seen`` are UTC timestamps, ``hosts``
        a comma-joined list, ``example`` one redacted message. How the events read
        became these counts (lines paired with another and counted once) is in
        ``attrs["accounting"]``; :func:`group_accounting` reads it.
    """
    realms = realms if realms is not None else pd.DataFrame(columns=["realm", "type"])
    from ..causes.definitions import load_causes

    causes = load_causes()
    catalogue = catalogue or load_catalogue()
    collapsed = events if isinstance(events, EventClasses) else classes_of_frame(events)
    frame, pairing = _unpaired_failures(collapsed, realms, catalogue, tokens, parties)
    if frame.empty:
        empty = pd.DataFrame(columns=list(GROUP_COLUMNS))
        empty.attrs["accounting"] = _accounting(empty, **pairing)
        return empty
    frame = _with_group_keys(frame, causes)
    result = _ranked(pd.DataFrame(_group_rows(frame, realms, causes, catalogue), columns=list(GROUP_COLUMNS)))
    result.attrs["accounting"] = _accounting(result, **pairing)
    return result


def _unpaired_failures(collapsed: EventClasses, realms: pd.DataFrame, catalogue: Catalogue,
                       tokens: pd.DataFrame | None, parties: Mapping[str, RelyingParty] | None
                       ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The failures left once follow-ups and refusals are paired with the failure they follow, and the counts.

    Classification and attribution run once per class of identical events; only the
    classes a pairing step or a captured token concerns are expanded to single events.
    """
    classes = attribute_relying_party(classify(collapsed.classes, catalogue), realms)
    all_parties: dict[str, RelyingParty] = {}
    if tokens is not None and not tokens.empty:
        known = {r["realm"]: relying_party_from_realm(r)
                 for r in realms.to_dict("records") if r.get("type") == "openid"}
        all_parties = {**known, **(parties or {})}
    single = _paired_classes(classes, collapsed, catalogue)
    if all_parties:
        single |= classes["relying_party"].map(lambda p: str(p) in all_parties).to_numpy(dtype=bool)
    rows = collapsed.rows(single, classes)
    rows = pair_follow_ups(pair_http_denials(rows), catalogue)
    paired = rows["explained_by"].notna().to_numpy(dtype=bool)
    refusal = (rows["event_kind"] == "http_denied").to_numpy(dtype=bool)
    pairing = {"events": int(collapsed.classes["count"].sum()), "follow_ups": int((paired & ~refusal).sum()),
               "paired_refusals": int((paired & refusal).sum()), "unpaired_refusals": int((~paired & refusal).sum())}
    rows = rows[~paired]
    if tokens is not None and not tokens.empty:
        rows = refine_with_tokens(rows, tokens, all_parties)
    rest = classes[~single].assign(ts=classes["first_ts"][~single])
    frame = pd.concat([rest, rows], ignore_index=True) if len(rest) and len(rows) else (rows if len(rows) else rest)
    return frame.sort_values("position", kind="stable").reset_index(drop=True), pairing


def _with_group_keys(frame: pd.DataFrame, causes: Mapping[str, CauseDefinition]) -> pd.DataFrame:
    """``frame`` with its ``key``: the value each cause groups by (the audience, the issuer, …, else the detail).

    Groups keyed by a message are keyed by its template (ids, addresses, times masked), so
    that failures differing only in those fall together; a refusal's key is already a route.
    """
    key_fields = frame["cause"].map({name: cause.key_field or "detail" for name, cause in causes.items()})
    keys = pd.Series(pd.NA, index=frame.index, dtype="string")
    for field in pd.unique(key_fields):
        chosen = (key_fields == field).to_numpy()
        if field in frame.columns and field != "detail":
            keys[chosen] = frame.loc[chosen, field].astype("string")
    # A cause keyed by a value its message did not capture (a refused client, with no user) falls back on the text.
    by_text = keys.isna().to_numpy() & (frame["event_kind"] != "http_denied").to_numpy()
    keys = keys.fillna(frame["detail"].astype("string")).fillna(frame["message"].astype("string")).fillna("")
    frame = frame.assign(key=keys)
    if by_text.any():
        templates = mask_messages(pa.array(frame.loc[by_text, "key"].astype(str).tolist(), pa.string()))
        frame.loc[by_text, "key"] = templates.to_pylist()
    frame["relying_party_"] = frame["relying_party"].fillna("")
    for column in ("tier", "confidence", "identity", "suspicion"):  # absent from events stored before these columns
        if column not in frame.columns:
            frame[column] = None
    return frame


def _group_rows(frame: pd.DataFrame, realms: pd.DataFrame, causes: Mapping[str, CauseDefinition],
                catalogue: Catalogue) -> list[dict[str, object]]:
    """One row a group of cause, relying party, key and software: counts, times, evidence and the fix."""
    grouped = frame.groupby(["cause", "relying_party_", "key", "software"], sort=False, dropna=False)
    summary = grouped.agg(count=("count", "sum"), first_seen=("first_ts", "min"), last_seen=("last_ts", "max"))
    summary = summary.reset_index()
    # Per group, without a Python function a group: with every event its own client address, a
    # group per offending value makes thousands of groups (13 s of lambdas for 14,000 of them).
    number = grouped.ngroup().to_numpy()
    summary["hosts"] = _joined_per_group(frame["host"], number, len(summary))
    summary["confidence"] = _strongest_per_group(frame["confidence"], number, len(summary), CONFIDENCES)
    summary["identity"] = _strongest_per_group(frame["identity"], number, len(summary), IDENTITIES)
    firsts = grouped.first().reset_index()
    grouped_tokens: dict[tuple[object, ...], list[dict[str, object]]] = {}
    if "token_fingerprint" in frame.columns:
        for row in frame[frame["token_fingerprint"].notna()].to_dict("records"):
            key = (row["cause"], row["relying_party_"], row["key"], row["software"])
            grouped_tokens.setdefault(key, []).append(row)
    realm_rows = {row["realm"]: row for row in realms.to_dict("records")} if not realms.empty else {}
    rows = []
    for base, first in zip(_records(summary), _records(firsts), strict=True):
        group_key = (base["cause"], base["relying_party_"], base["key"], base["software"])
        group = {**{k: v for k, v in first.items() if isinstance(v, str)}, **base}
        group["relying_party"] = base["relying_party_"] or None
        group["event_kind"] = first.get("event_kind")
        group["host"] = (base["hosts"] or "").split(",")[0] or None
        group["confidence"] = base["confidence"]
        group["identity"] = base["identity"]
        group["confirmed"] = _token_confirms(grouped_tokens.get(group_key), base["cause"])
        group["fix_variant"] = fix_variant_of(catalogue, group)
        realm = realm_rows.get(group["relying_party"])
        explanation, recommendation = recommend(group, realm)
        rows.append(
            {
                "cause": base["cause"],
                "title": causes[base["cause"]].title,
                "relying_party": group["relying_party"],
                "key": shorten(base["key"]),
                "count": int(base["count"]),
                "first_seen": base["first_seen"],
                "last_seen": base["last_seen"],
                "hosts": base["hosts"],
                "software": base["software"],
                "signature": first.get("signature"),
                "reading": reading_of(catalogue, {"cause": base["cause"], "signature": first.get("signature")}),
                "alternatives": first.get("alternatives") or "",
                "tier": first.get("tier") or "",
                "confidence": base["confidence"],
                "identity": base["identity"],
                "ready_fix": ready_fix(group, realm),
                "token_evidence": _token_evidence(grouped_tokens.get(group_key)),
                "example": _example(first),
                "explanation": explanation,
                "recommendation": recommendation,
            }
        )
    return rows


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame.to_dict("records")``, a column at a time: a tenth of its time on Arrow-backed strings.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": ["x", None], "n": [1, 2], "i": pd.array([None, 3], dtype="Int32")})
    >>> _records(frame) == frame.to_dict("records")
    True
    """
    names = list(frame.columns)
    columns = []
    for name in names:
        values = frame[name].to_numpy(dtype=object)
        if isinstance(frame[name].dtype, pd.core.arrays.masked.BaseMaskedDtype):
            values[frame[name].isna().to_numpy()] = None  # as to_dict gives a missing Int32
        columns.append(values)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _ranked(groups: pd.DataFrame) -> pd.DataFrame:
    """Groups by count, largest first (the earliest first among equals); unclassified failures last."""
    groups = groups.astype({"count": "int64"})
    order = groups["cause"].map(lambda c: 1 if c == "unclassified" else 0)
    return (
        groups.assign(_order=order)
        .sort_values(["_order", "count", "first_seen"], ascending=[True, False, True], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def _joined_per_group(values: pd.Series, group: np.ndarray, groups: int) -> np.ndarray:
    """Each group's distinct values, sorted and joined by commas (``""`` for a group with none)."""
    table = pd.DataFrame({"group": group, "value": values.to_numpy(dtype=object)}).dropna()
    table = table.assign(value=table["value"].astype(str)).drop_duplicates().sort_values(["group", "value"])
    joined = table.groupby("group", sort=True)["value"].agg(",".join)
    out = np.full(groups, "", dtype=object)
    out[joined.index.to_numpy()] = joined.to_numpy()
    return out


def _strongest_per_group(values: pd.Series, group: np.ndarray, groups: int, levels: tuple[str, ...]) -> np.ndarray:
    """Each group's strongest level (``levels`` strongest first; ``""`` where no event has one)."""
    rank = values.astype(object).map({level: number for number, level in enumerate(levels)})
    best = pd.Series(rank.to_numpy(dtype=float)).groupby(group).min().reindex(range(groups))
    out = np.full(groups, "", dtype=object)
    present = best.notna().to_numpy()
    out[present] = np.asarray(levels, dtype=object)[best.to_numpy()[present].astype(int)]
    return out


def _token_confirms(rows: list[dict[str, object]] | None, cause: str) -> bool:
    """Whether a captured token correlated with the group shows the group's cause itself."""
    return any(cause in str(row.get("token_causes") or "").split(",") for row in rows or [])


def _token_evidence(rows: list[dict[str, object]] | None) -> str:
    if not rows:
        return ""
    fingerprints = sorted({str(r["token_fingerprint"]) for r in rows})
    causes = str(rows[0]["token_causes"] or "none")
    changed = {str(r["log_cause"]) for r in rows if isinstance(r.get("log_cause"), str)}
    text = (f"{len(rows)} of these failures match a captured token of the same relying party "
            f"({', '.join(f[:12] for f in fingerprints[:3])}); its diagnosis: {causes}")
    if changed:
        text += f"; the log alone said {', '.join(sorted(changed))}"
    return text


def _example(row: dict[str, object]) -> str:
    """One line of a group as a person reads it, at most :data:`~tokenaudit.common.masking.EXAMPLE_WIDTH` characters.

    Examples
    --------
    >>> (_example({"process": "pvedaemon", "pid": "2345", "message": "x" * 400})[:20],
    ...  len(_example({"message": "x" * 400})))
    ('pvedaemon[2345]: xxx', 300)
    >>> _example({"event_kind": "http_denied", "client_addr": None, "method": "POST", "path": "/signin", "status": 401})
    '"POST /signin" 401'
    """
    def text(name: str) -> str:
        return shorten(row.get(name), EXAMPLE_WIDTH)

    process, pid = text("process"), text("pid")
    prefix = f"{process}[{pid}]: " if process and pid else (f"{process}: " if process else "")
    if row.get("event_kind") == "http_denied":
        status = row.get("status")
        request = " ".join(part for part in (text("method"), text("path")) if part)
        line = " ".join(part for part in (
            text("client_addr"), f'"{request}"' if request else "",
            str(int(status)) if isinstance(status, (int, float)) and status == status else "",
        ) if part)
        return shorten(line)
    return shorten(prefix + text("message"))


def cause_counts(events: pd.DataFrame, *, by: str | None = None, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Count classified failure events per cause (and per ``by`` column).

    Examples
    --------
    >>> columns = ["signature", "envelope", "format", "catalogue", "event_kind", "message"]
    >>> cause_counts(pd.DataFrame(columns=columns)).empty
    True
    """
    if events.empty:
        return pd.DataFrame(columns=["cause", "count"])
    frame = classify(events, catalogue)
    keys = ["cause"] + ([by] if by else [])
    counts = frame.groupby(keys, dropna=False).size().rename("count").reset_index()
    return counts.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)


def cause_changes(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Failures per cause in one period against the period before, with a trend.

    A cause the previous period did not have is ``new``, one that stopped is ``gone``;
    otherwise a change of more than 20 % and at least 2 events is ``rising`` or ``falling``,
    anything less is ``steady``.

    Parameters
    ----------
    current, previous
        Classified events of the two periods (each with a ``cause`` column, as
        :func:`classify` gives), or their classes (with a ``count`` column).

    Returns
    -------
    pandas.DataFrame
        ``cause``, ``current``, ``previous``, ``delta`` and ``trend``, the largest current counts first.

    Examples
    --------
    >>> now = pd.DataFrame({"cause": ["token_expired"] * 5 + ["issuer_mismatch"]})
    >>> before = pd.DataFrame({"cause": ["token_expired"] * 2 + ["unknown_signing_key"]})
    >>> cause_changes(now, before)[["cause", "current", "previous", "trend"]].to_numpy().tolist()
    [['token_expired', 5, 2, 'rising'], ['issuer_mismatch', 1, 0, 'new'], ['unknown_signing_key', 0, 1, 'gone']]
    """
    counts = pd.DataFrame({"current": _per_cause(current), "previous": _per_cause(previous)})
    counts = counts.fillna(0).astype("int64").sort_index()
    now, before = counts["current"], counts["previous"]
    counts["delta"] = now - before
    counts["trend"] = np.select(
        [before == 0, now == 0, (now > before * 1.2) & (counts["delta"] >= 2),
         (now < before * 0.8) & (counts["delta"] <= -2)],
        ["new", "gone", "rising", "falling"], default="steady")
    frame = counts.rename_axis("cause").reset_index()[["cause", "current", "previous", "delta", "trend"]]
    return frame.sort_values(["current", "delta"], ascending=False, kind="stable").reset_index(drop=True)


def _per_cause(events: pd.DataFrame) -> pd.Series:
    """Events per cause: a row is one event, or a class of ``count`` events (:class:`EventClasses`)."""
    if events.empty:
        return pd.Series(dtype="int64")
    if "count" in events.columns:
        return events.groupby("cause")["count"].sum()
    return events["cause"].value_counts()


def failure_timeline(events: pd.DataFrame, *, freq: str = "1h", by: str = "cause",
                     catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Failures per time bucket, one column per value of ``by`` (a cause, a host, a relying party).

    Parameters
    ----------
    events
        Stored events (classified here when ``by`` is ``cause``).
    freq
        Bucket size, a pandas frequency (``1h``, ``15min``, ``1D``).
    by
        The column to split by.

    Returns
    -------
    pandas.DataFrame
        Indexed by bucket start (UTC), one integer column per value, zero-filled.

    Examples
    --------
    >>> failure_timeline(pd.DataFrame(columns=["ts", "cause"])).empty
    True
    """
    if events.empty:
        return pd.DataFrame()
    frame = classify(events, catalogue) if by == "cause" and "cause" not in events.columns else events
    counts = frame.groupby([pd.Grouper(key="ts", freq=freq), by], dropna=False).size().unstack(fill_value=0)
    counts.columns = [str(c) for c in counts.columns]
    return counts.asfreq(freq, fill_value=0).astype("int64")


def failure_rates(events: pd.DataFrame, requests: pd.DataFrame, *, freq: str = "1h") -> pd.DataFrame:
    """Refusals against all requests of access logs per time bucket.

    Parameters
    ----------
    events
        Stored events; only HTTP refusals (``event_kind == "http_denied"`` or a status) count.
    requests
        Request counts (:func:`tokenaudit.read_requests`).
    freq
        Bucket size.

    Returns
    -------
    pandas.DataFrame
        ``requests``, ``refused`` (status 401/403) and ``rate`` (refused / requests) per bucket.

    Examples
    --------
    >>> failure_rates(pd.DataFrame(columns=["ts"]), pd.DataFrame(columns=["hour", "status", "count"])).empty
    True
    """
    if requests.empty:
        return pd.DataFrame(columns=["requests", "refused", "rate"])
    frame = requests.assign(refused=requests["status"].isin([401, 403]).astype("int64") * requests["count"])
    buckets = frame.groupby(pd.Grouper(key="hour", freq=freq))[["count", "refused"]].sum()
    buckets = buckets.rename(columns={"count": "requests"})
    buckets["rate"] = (buckets["refused"] / buckets["requests"].where(buckets["requests"] > 0)).fillna(0.0)
    return buckets
