"""Periodic reports: what failed in a period, what changed against the one before, what to fix.

:func:`build_report` reads the dataset for a period and the period of the same
length before it and returns a :class:`Report` of DataFrames; the renderers in
:mod:`tokenaudit.report_render` turn it into HTML, Markdown or JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from .analysis import cause_changes, classify, failure_groups, failure_rates, failure_timeline
from .catalogue import Catalogue, load_catalogue
from .dataset import committed_batches, read_events, read_realms, read_requests, read_tokens
from .diagnose import diagnose_tokens
from .errors import InputError
from .pseudonymize import Pseudonymizer, identity_values
from .relying_parties import RelyingParty, relying_party_from_realm
from .tokens import load_fingerprint_key

#: How many refused credentials from one address make a finding.
GUESSING_THRESHOLD = 5


@dataclass(frozen=True)
class Finding:
    """A security finding: something to look at even if nothing is broken."""

    severity: str
    title: str
    detail: str


@dataclass(frozen=True)
class Report:
    """A period's failures, their change against the previous period, and security findings.

    ``changes`` has one row per cause: ``current``, ``previous``, ``delta`` and
    ``trend`` (``new``, ``rising``, ``falling``, ``gone``, ``steady``).
    """

    since: pd.Timestamp
    until: pd.Timestamp
    previous_since: pd.Timestamp
    groups: pd.DataFrame
    changes: pd.DataFrame
    security: tuple[Finding, ...]
    by_relying_party: pd.DataFrame
    by_host: pd.DataFrame
    timeline: pd.DataFrame
    rates: pd.DataFrame
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def new_causes(self) -> list[str]:
        """Causes seen in this period and not in the previous one."""
        return self.changes.loc[self.changes["trend"] == "new", "cause"].tolist()

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


def _security(events: pd.DataFrame, tokens: pd.DataFrame, parties: Mapping[str, RelyingParty],
              at: pd.Timestamp) -> list[Finding]:
    findings: list[Finding] = []
    if not events.empty:
        guessing = events[events["cause"] == "credentials_invalid"].groupby("client_addr").size()
        for address, count in guessing[guessing >= GUESSING_THRESHOLD].items():
            findings.append(Finding("high", f"Password guessing from {address}",
                                    f"{count} refused credentials from one address in this period: block or "
                                    "rate-limit it (fail2ban has filters for Proxmox and most gateways)."))
        unsigned = events[events["cause"] == "algorithm_mismatch"]
        if len(unsigned):
            findings.append(Finding("high", "Tokens with a refused signing algorithm",
                                    f"{len(unsigned)} failures name an algorithm the relying party refuses "
                                    "(alg none or HS* among them is an attack pattern)."))
    for row in tokens.to_dict("records") if not tokens.empty else []:
        alg = str(json.loads(row.get("header") or "{}").get("alg"))
        if row.get("encoding") == "jws" and (alg.lower() == "none" or alg.startswith("HS")):
            issuer = json.loads(row.get("claims") or "{}").get("iss") or "an unnamed issuer"
            findings.append(Finding("high", f"Captured token signed with {alg}",
                                    f"token {str(row['fingerprint'])[:12]} from {issuer}: "
                                    "an OpenID provider signs with RS256/ES256."))
    if not tokens.empty:
        diagnosed = diagnose_tokens(tokens[tokens["encoding"] == "jws"], dict(parties), at=at)
        for row in diagnosed.to_dict("records"):
            for risk in filter(None, row["risks"].split(" | ")):
                findings.append(Finding("medium", f"Token risk at {row['relying_party']}", risk))
    unique = {(f.title, f.detail): f for f in findings}
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(unique.values(), key=lambda f: order.get(f.severity, 3))


def build_report(
    root: Path,
    *,
    since: pd.Timestamp,
    until: pd.Timestamp | None = None,
    parties: Mapping[str, RelyingParty] | None = None,
    catalogue: Catalogue | None = None,
    pseudonymize: bool = False,
    key: bytes | None = None,
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
        (:mod:`tokenaudit.pseudonymize`), for readers who need not know who.
    key
        The pseudonym key; by default the fingerprint key
        (:func:`tokenaudit.load_fingerprint_key`), so pseudonyms agree across reports.

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
    batches = committed_batches(root)  # one snapshot for every table, even while an ingest commits
    realms = read_realms(root, batches=batches)
    known = {r["realm"]: relying_party_from_realm(r) for r in realms.to_dict("records") if r.get("type") == "openid"}
    parties = {**known, **(parties or {})}
    current = classify(read_events(root, since=since, until=until, batches=batches), catalogue)
    previous = classify(read_events(root, since=previous_since, until=since, batches=batches), catalogue)
    tokens = all_tokens = read_tokens(root, batches=batches)
    if not tokens.empty:
        seen = tokens["last_seen"].fillna(tokens["first_seen"])
        tokens = tokens[seen.isna() | ((seen >= previous_since) & (seen < until))]
    groups = failure_groups(current, realms, catalogue=catalogue, tokens=tokens, parties=parties)
    requests = read_requests(root, batches=batches)
    if not requests.empty:
        requests = requests[(requests["hour"] >= since.floor("h")) & (requests["hour"] < until)]
    by_party = (groups.assign(relying_party=groups["relying_party"].fillna("(unknown)"))
                .groupby(["relying_party", "cause"])["count"].sum().reset_index()
                .sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
                if not groups.empty else pd.DataFrame(columns=["relying_party", "cause", "count"]))
    by_host = (current.assign(host=current["host"].fillna("(unknown)")).groupby("host").size().rename("count")
               .reset_index().sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
               if not current.empty else pd.DataFrame(columns=["host", "count"]))
    report = Report(
        since=since,
        until=until,
        previous_since=previous_since,
        groups=groups,
        changes=cause_changes(current, previous),
        security=tuple(_security(current, tokens, parties, until)),
        by_relying_party=by_party,
        by_host=by_host,
        timeline=failure_timeline(current, freq="1h", by="cause"),
        rates=failure_rates(current, requests),
        totals={"events": len(current), "previous_events": len(previous), "groups": len(groups),
                "requests": int(requests["count"].sum()) if not requests.empty else 0},
    )
    if not pseudonymize:
        return report
    seen_names = identity_values(current) | identity_values(previous, all_tokens)
    return _pseudonymized(report, Pseudonymizer(key or load_fingerprint_key(), frozenset(seen_names)))


def _pseudonymized(report: Report, names: Pseudonymizer) -> Report:
    """The report with every person and client address in its tables and texts pseudonymized."""
    return replace(
        report,
        groups=names.frame(report.groups),
        changes=names.frame(report.changes),
        security=tuple(Finding(f.severity, names.text(f.title), names.text(f.detail)) for f in report.security),
        by_relying_party=names.frame(report.by_relying_party),
        by_host=names.frame(report.by_host),
        timeline=names.frame(report.timeline),
        rates=names.frame(report.rates),
    )
