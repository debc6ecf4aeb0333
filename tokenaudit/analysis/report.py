"""Periodic reports: what failed in a period, what changed against the one before, what to fix.

:func:`build_report` reads the dataset for a period and the period of the same
length before it and returns a :class:`Report` of DataFrames; the renderers in
:mod:`tokenaudit.render.report` turn it into HTML, Markdown or JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..catalogue.loading import load_catalogue
from ..catalogue.order import Catalogue
from ..errors import InputError
from ..store.dataset import read_realms, read_requests, read_tokens
from ..store.event_classes import read_event_classes
from ..store.layout import committed_batches
from ..store.location import Root, locate
from ..store.looseness import Looseness
from ..tokens.decode import load_fingerprint_key
from ..tokens.diagnose import diagnose_tokens
from ..tokens.relying_parties import RelyingParty, relying_party_from_realm
from .event_causes import FileCauses, iter_event_causes
from .failures import cause_changes, classify, failure_groups, group_accounting
from .pseudonymize import IDENTITY_COLUMNS, Pseudonymizer, identity_values

#: How many refused credentials from one address make a finding.
GUESSING_THRESHOLD = 5

#: Time bins, finest first: a period up to the given length is binned by this unit.
#: Longer periods are binned by week (weeks start on Monday, UTC).
TIME_BINS: tuple[tuple[str, pd.Timedelta], ...] = (
    ("hour", pd.Timedelta(days=2)),
    ("day", pd.Timedelta(days=62)),
)

#: A chart of the whole period would need more bins than this: it covers the part with data instead.
MAX_BINS = 120

_BIN_LENGTH = {"hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1), "week": pd.Timedelta(weeks=1)}


@dataclass(frozen=True)
class SecurityFinding:
    """A security finding: something to look at even if nothing is broken."""

    severity: str
    title: str
    detail: str


def time_bin(span: pd.Timedelta) -> str:
    """The time bin for charting a period of this length: ``hour``, ``day`` or ``week``.

    Up to 2 days a period is binned by hour (at most 48 bars), up to 62 days by
    day (at most 62), beyond that by week; see :data:`TIME_BINS`.

    Examples
    --------
    >>> time_bin(pd.Timedelta(hours=24)), time_bin(pd.Timedelta(days=7)), time_bin(pd.Timedelta(days=540))
    ('hour', 'day', 'week')
    """
    for unit, longest in TIME_BINS:
        if span <= longest:
            return unit
    return "week"


def bin_start(times: pd.Series, unit: str) -> pd.Series:
    """The start of the ``hour``, ``day`` or ``week`` (Monday 00:00 UTC) that holds each time.

    Examples
    --------
    >>> bin_start(pd.Series(pd.to_datetime(["2026-11-22 17:45"], utc=True)), "week").iloc[0]
    Timestamp('2026-11-16 00:00:00+0000', tz='UTC')
    """
    if unit == "hour":
        return times.dt.floor("h")
    days = times.dt.floor("D")
    return days - pd.to_timedelta(days.dt.day_of_week, unit="D") if unit == "week" else days


def time_bins(since: pd.Timestamp, until: pd.Timestamp, times: pd.Series | None = None) -> tuple[str, pd.DatetimeIndex]:
    """The bin unit and the bin starts that chart the period ``[since, until)``.

    The unit follows the period's length (:func:`time_bin`). A period that
    would need more than :data:`MAX_BINS` bins (a report ``--since`` a date
    long before the first failure) is charted from the first to the last of
    ``times`` instead, with the unit that span needs.

    Examples
    --------
    >>> unit, bins = time_bins(pd.Timestamp("2026-11-21", tz="UTC"), pd.Timestamp("2026-11-23", tz="UTC"))
    >>> unit, len(bins)
    ('hour', 48)
    >>> seen = pd.Series(pd.to_datetime(["2025-05-10", "2026-11-22"], utc=True))
    >>> unit, bins = time_bins(pd.Timestamp("2000-01-01", tz="UTC"), pd.Timestamp("2026-12-01", tz="UTC"), seen)
    >>> unit, len(bins), bins[0].date()
    ('week', 81, datetime.date(2025, 5, 5))
    """
    unit = time_bin(until - since)
    start, end = since, until
    if (until - since) / _BIN_LENGTH[unit] > MAX_BINS and times is not None and len(times.dropna()):
        start, end = times.min(), times.max() + pd.Timedelta(microseconds=1)
        unit = time_bin(end - start)
    first, last = bin_start(pd.Series([start, end - pd.Timedelta(microseconds=1)]), unit)
    return unit, pd.date_range(first, last, freq=_BIN_LENGTH[unit])


def binned_counts(events: pd.DataFrame, unit: str, bins: pd.DatetimeIndex, *, by: str = "cause") -> pd.DataFrame:
    """Failures per bin, one column per value of ``by``, zero-filled over ``bins``.

    Examples
    --------
    >>> events = pd.DataFrame({"ts": pd.to_datetime(["2026-11-22 10:05", "2026-11-22 12:00"], utc=True),
    ...                        "cause": ["expired", "expired"]})
    >>> unit, bins = time_bins(pd.Timestamp("2026-11-22", tz="UTC"), pd.Timestamp("2026-11-23", tz="UTC"))
    >>> counts = binned_counts(events, unit, bins)
    >>> int(counts["expired"].sum()), int((counts["expired"] > 0).sum()), len(counts)
    (2, 2, 24)
    """
    if events.empty:
        return pd.DataFrame(index=bins)
    counts = (events.assign(bin=bin_start(events["ts"], unit)).groupby(["bin", by], dropna=False).size()
              .unstack(fill_value=0))
    counts.columns = [str(c) for c in counts.columns]
    return counts.reindex(bins, fill_value=0).astype("int64")


def binned_rates(requests: pd.DataFrame, unit: str, bins: pd.DatetimeIndex) -> pd.DataFrame:
    """Requests of access logs per bin: ``requests``, ``refused`` (401/403) and ``rate``.

    Examples
    --------
    >>> requests = pd.DataFrame({"hour": pd.to_datetime(["2026-11-22 10:00"] * 2, utc=True),
    ...                          "status": [200, 401], "count": [3, 1]})
    >>> unit, bins = time_bins(pd.Timestamp("2026-11-22", tz="UTC"), pd.Timestamp("2026-11-23", tz="UTC"))
    >>> binned_rates(requests, unit, bins).loc["2026-11-22 10:00"].tolist()
    [4.0, 1.0, 0.25]
    """
    if requests.empty:
        return pd.DataFrame(columns=["requests", "refused", "rate"])
    frame = requests.assign(refused=requests["status"].isin([401, 403]).astype("int64") * requests["count"],
                            bin=bin_start(requests["hour"], unit))
    sums = frame.groupby("bin")[["count", "refused"]].sum().rename(columns={"count": "requests"})
    sums = sums.reindex(bins, fill_value=0).astype("int64")
    sums["rate"] = (sums["refused"] / sums["requests"].where(sums["requests"] > 0)).fillna(0.0)
    return sums


def count_accounting(groups: pd.DataFrame) -> dict[str, int]:
    """How the failure lines of a period become the failures its groups count, as the report's ``totals``.

    A refusal paired with the line that says why and a follow-up line are counted once, with the line they belong
    to, so ``events == grouped_events + paired_refusals + paired_follow_ups``. The figures are the ones
    :func:`tokenaudit.failure_groups` kept when it paired them (:func:`tokenaudit.group_accounting`).

    Returns
    -------
    dict
        ``events`` (failure lines), ``grouped_events`` (the sum of the groups' counts), ``paired_refusals``,
        ``paired_follow_ups``, ``suspicious_lines`` (lines whose writer contradicts their text; among ``events``,
        a group of their own) and ``groups``.
    """
    account = group_accounting(groups)
    return {
        "events": account.events,
        "grouped_events": account.grouped,
        "paired_refusals": account.paired_refusals,
        "paired_follow_ups": account.follow_ups,
        "suspicious_lines": account.suspicious,
        "groups": account.groups,
    }


@dataclass(frozen=True)
class Report:
    """A period's failures, their change against the previous period, and security findings.

    ``changes`` has one row per cause: ``current``, ``previous``, ``delta`` and
    ``trend`` (``new``, ``rising``, ``falling``, ``gone``, ``steady``); like
    ``timeline`` and ``by_host`` it counts failure lines. ``groups`` and
    ``by_relying_party`` count a refusal paired with its reason, and a
    follow-up line, once; ``totals`` accounts for the difference
    (:func:`count_accounting`). ``timeline`` and ``rates`` are per ``bin``
    (:func:`time_bins`).
    """

    since: pd.Timestamp
    until: pd.Timestamp
    previous_since: pd.Timestamp
    groups: pd.DataFrame
    changes: pd.DataFrame
    security: tuple[SecurityFinding, ...]
    by_relying_party: pd.DataFrame
    by_host: pd.DataFrame
    timeline: pd.DataFrame
    rates: pd.DataFrame
    totals: dict[str, int] = field(default_factory=dict)
    bin: str = "hour"

    @property
    def new_causes(self) -> list[str]:
        """Causes seen in this period and not in the previous one."""
        causes: list[str] = self.changes.loc[self.changes["trend"] == "new", "cause"].tolist()
        return causes

    def triggers(self, fail_on: Sequence[str]) -> list[str]:
        """Which ``--fail-on`` conditions hold: ``new`` (a cause the previous period did not
        have), ``any`` (any failure), or a cause id present in the period."""
        present = set(self.changes.loc[self.changes["current"] > 0, "cause"])
        hits = []
        for condition in fail_on:
            if condition == "any" and present:
                hits.append("any")
            elif condition == "new" and self.new_causes:
                hits.append("new: " + ", ".join(self.new_causes))
            elif condition in present:
                hits.append(condition)
        return hits


def _security(causes: pd.Series, guessing: pd.Series, tokens: pd.DataFrame, parties: Mapping[str, RelyingParty],
              at: pd.Timestamp) -> list[SecurityFinding]:
    """Findings from the events per cause, the refused credentials per client address, and the tokens."""
    findings: list[SecurityFinding] = []
    for address, count in guessing[guessing >= GUESSING_THRESHOLD].items():
        findings.append(SecurityFinding("high", f"Password guessing from {address}",
                                f"{count} refused credentials from one address in this period: block or "
                                "rate-limit it (fail2ban has filters for Proxmox and most gateways)."))
    unsigned, suspicious = int(causes.get("algorithm_mismatch", 0)), int(causes.get("suspicious_line", 0))
    if suspicious:
        findings.append(SecurityFinding("medium", "Lines whose writer contradicts their text",
                                f"{suspicious} of the failure lines carry a refusal text written by a program "
                                "that is not the software it names (a syslog tag anyone can set): possibly forged; "
                                "change nothing for them."))
    if unsigned:
        findings.append(SecurityFinding("high", "Tokens with a refused signing algorithm",
                                f"{unsigned} failures name an algorithm the relying party refuses "
                                "(alg none or HS* among them is an attack pattern)."))
    for row in tokens.to_dict("records") if not tokens.empty else []:
        alg = str(json.loads(row.get("header") or "{}").get("alg"))
        if row.get("encoding") == "jws" and (alg.lower() == "none" or alg.startswith("HS")):
            issuer = json.loads(row.get("claims") or "{}").get("iss") or "an unnamed issuer"
            findings.append(SecurityFinding("high", f"Captured token signed with {alg}",
                                    f"token {str(row['fingerprint'])[:12]} from {issuer}: "
                                    "an OpenID provider signs with RS256/ES256."))
    if not tokens.empty:
        diagnosed = diagnose_tokens(tokens[tokens["encoding"] == "jws"], dict(parties), at=at)
        for row in diagnosed.to_dict("records"):
            for risk in filter(None, row["risks"].split(" | ")):
                findings.append(SecurityFinding("medium", f"Token risk at {row['relying_party']}", risk))
    unique = {(f.title, f.detail): f for f in findings}
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(unique.values(), key=lambda f: order.get(f.severity, 3))


def build_report(
    root: Root,
    *,
    since: pd.Timestamp,
    until: pd.Timestamp | None = None,
    parties: Mapping[str, RelyingParty] | None = None,
    catalogue: Catalogue | None = None,
    pseudonymize: bool = False,
    key: bytes | None = None,
    client: Any = None,
) -> Report:
    """Build the report of ``[since, until)`` and compare it with the period of the same length before.

    Parameters
    ----------
    root
        The dataset.
    since, until
        The period (UTC); ``until`` defaults to now.
    parties
        Relying parties besides the Proxmox realms of the dataset (``tokenaudit.toml``).
    catalogue
        The signatures; the built-in catalogue by default.
    pseudonymize
        Replace subjects, e-mails, user names and client addresses, in every
        table and text of the report, with keyed pseudonyms
        (:mod:`tokenaudit.analysis.pseudonymize`), for readers who need not know who.
    key
        The pseudonym key; by default the fingerprint key
        (:func:`tokenaudit.load_fingerprint_key`), so pseudonyms agree across reports.
    client
        A ``distributed.Client``: the dataset's files are read as tasks on its cluster (whose
        workers see the dataset at the same path); the report is the same as without.

    Returns
    -------
    Report

    Raises
    ------
    InputError
        If the period ends before it starts.
    """
    catalogue = catalogue or load_catalogue()
    until = until if until is not None else pd.Timestamp.now(tz="UTC")
    if until <= since:
        raise InputError(f"the period ends ({until.isoformat()}) before it starts ({since.isoformat()})",
                         hint="--until must be after --since")
    previous_since = since - (until - since)
    root = locate(root)
    batches = committed_batches(root)  # one snapshot for every table, even while an ingest commits
    realms = read_realms(root, batches=batches)
    known = {r["realm"]: relying_party_from_realm(r) for r in realms.to_dict("records") if r.get("type") == "openid"}
    parties = {**known, **(parties or {})}
    # Both periods as classes of events (as analyze reads them), classified once per class.
    loose = Looseness.of(catalogue)
    collapsed = read_event_classes(root, since=since, until=until, batches=batches, loose=loose, client=client)
    current = classify(collapsed.classes, catalogue)
    previous = classify(read_event_classes(root, since=previous_since, until=since, batches=batches,
                                           loose=loose, client=client).classes, catalogue)
    tokens = all_tokens = read_tokens(root, batches=batches)
    if not tokens.empty:
        seen = tokens["last_seen"].fillna(tokens["first_seen"])
        tokens = tokens[seen.isna() | ((seen >= previous_since) & (seen < until))]
    groups = failure_groups(collapsed, realms, catalogue=catalogue, tokens=tokens, parties=parties)
    requests = read_requests(root, batches=batches)
    if not requests.empty:
        requests = requests[(requests["hour"] >= since.floor("h")) & (requests["hour"] < until)]
    moments = pd.concat([current["first_ts"], current["last_ts"], *([requests["hour"]] if not requests.empty else [])])
    unit, bins = time_bins(since, until, moments)
    # What needs each event's own time or address, read file by file.
    events = _PeriodEvents(bins, identities=pseudonymize)
    pool = pa.default_memory_pool()
    pool.release_unused()  # what reading the classes took and gave back: each phase then starts from what is held
    for found in iter_event_causes(root, catalogue, since=since, until=until, batches=batches,
                                   columns=IDENTITY_COLUMNS if pseudonymize else ("client_addr",), client=client):
        events.add(found)
    pool.release_unused()
    guessing = events.guessing(GUESSING_THRESHOLD)
    by_party = (groups.assign(relying_party=groups["relying_party"].fillna("(unknown)"))
                .groupby(["relying_party", "cause"])["count"].sum().reset_index()
                .sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
                if not groups.empty else pd.DataFrame(columns=["relying_party", "cause", "count"]))
    by_host = (current.assign(host=current["host"].fillna("(unknown)")).groupby("host")["count"].sum()
               .rename("count").reset_index().sort_values("count", ascending=False, kind="stable")
               .reset_index(drop=True)
               if not current.empty else pd.DataFrame(columns=["host", "count"]))
    report = Report(
        since=since,
        until=until,
        previous_since=previous_since,
        groups=groups,
        changes=cause_changes(current, previous),
        security=tuple(_security(current.groupby("cause")["count"].sum(), guessing, tokens, parties, until)),
        by_relying_party=by_party,
        by_host=by_host,
        timeline=events.timeline(),
        rates=binned_rates(requests, unit, bins),
        totals={**count_accounting(groups), "previous_events": int(previous["count"].sum()),
                "requests": int(requests["count"].sum()) if not requests.empty else 0},
        bin=unit,
    )
    if not pseudonymize:
        return report
    before = _PeriodEvents(bins, identities=True)
    for found in iter_event_causes(root, catalogue, since=previous_since, until=since, batches=batches,
                                   columns=IDENTITY_COLUMNS, client=client):
        before.add(found)
    seen_names = identity_values(events.identities()) | identity_values(before.identities(), all_tokens)
    return _pseudonymized(report, Pseudonymizer(key or load_fingerprint_key(), frozenset(seen_names)))


class _PeriodEvents:
    """What a report counts event by event, gathered file by file: the timeline, guessing, identities.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> from tokenaudit.analysis.event_causes import FileCauses
    >>> _, bins = time_bins(pd.Timestamp("2026-11-22", tz="UTC"), pd.Timestamp("2026-11-23", tz="UTC"))
    >>> events = _PeriodEvents(bins)
    >>> ts = pd.to_datetime(["2026-11-22 10:05", "2026-11-22 10:50", "2026-11-22 12:00"], utc=True)
    >>> events.add(FileCauses(ts.as_unit("us").asi8, np.array([1, 1, 0]), np.array(["credentials_invalid", "expired"],
    ...            dtype=object), {"client_addr": pa.array(["192.0.2.1", None, "192.0.2.9"])}))
    >>> timeline = events.timeline()
    >>> list(timeline.columns), int(timeline.loc[pd.Timestamp("2026-11-22 10:00", tz="UTC"), "expired"])
    (['credentials_invalid', 'expired'], 2)
    >>> events.guessing().to_dict()
    {'192.0.2.9': 1}
    """

    def __init__(self, bins: pd.DatetimeIndex, *, identities: bool = False) -> None:
        self.bins = bins
        self._edges = np.asarray(bins.as_unit("us").asi8, dtype=np.int64)  # bin starts, µs as the events' times
        self._counts: dict[str, np.ndarray] = {}
        self._guessing: list[pa.Table] = []
        self._identities: dict[str, list[pa.Array]] | None = {} if identities else None

    def add(self, found: FileCauses) -> None:
        """Count one file's events."""
        slot = np.clip(np.searchsorted(self._edges, found.ts, side="right") - 1, 0, len(self._edges) - 1)
        causes, code = found.causes, found.code
        per = np.bincount(code * len(self._edges) + slot, minlength=len(causes) * len(self._edges))
        for number, cause in enumerate(causes):
            total = self._counts.setdefault(str(cause), np.zeros(len(self._edges), dtype=np.int64))
            total += per[number * len(self._edges):(number + 1) * len(self._edges)]
        if "client_addr" in found.columns:
            refused = found.columns["client_addr"].filter(pa.array(found.causes[found.code] == "credentials_invalid"))
            counted = pc.value_counts(refused.drop_null())
            self._guessing.append(pa.table({"value": counted.field("values"), "count": counted.field("counts")}))
        if self._identities is not None:
            for name, values in found.columns.items():
                self._identities.setdefault(name, []).append(pc.unique(values.drop_null()))

    def timeline(self) -> pd.DataFrame:
        """Failures per bin, a column per cause (as :func:`binned_counts` gives them)."""
        return pd.DataFrame({cause: self._counts[cause] for cause in sorted(self._counts)}, index=self.bins)

    def guessing(self, least: int = 1) -> pd.Series:
        """Refused credentials per client address (of those with at least ``least``), in order of address."""
        if not self._guessing:
            return pd.Series(dtype="int64")
        both = pa.concat_tables(self._guessing)
        encoded = pc.dictionary_encode(both["value"]).combine_chunks()  # a code per address
        sums = np.bincount(encoded.indices.to_numpy(), weights=both["count"].to_numpy(),
                           minlength=len(encoded.dictionary))
        enough = np.flatnonzero(sums >= least)  # before Python sees them
        counts = pd.Series(sums[enough].astype("int64"), index=encoded.dictionary.take(pa.array(enough)).to_pylist())
        return counts.sort_index()

    def identities(self) -> pd.DataFrame:
        """The distinct users and client addresses, a column each (as :func:`identity_values` reads them)."""
        found = {name: pc.unique(pa.chunked_array(values, pa.string())).to_pylist()
                 for name, values in (self._identities or {}).items()}
        return pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in found.items()})


def _pseudonymized(report: Report, names: Pseudonymizer) -> Report:
    """The report with every person and client address in its tables and texts pseudonymized."""
    return replace(
        report,
        groups=names.frame(report.groups),
        changes=names.frame(report.changes),
        security=tuple(SecurityFinding(f.severity, names.text(f.title), names.text(f.detail)) for f in report.security),
        by_relying_party=names.frame(report.by_relying_party),
        by_host=names.frame(report.by_host),
        timeline=names.frame(report.timeline),
        rates=names.frame(report.rates),
    )
