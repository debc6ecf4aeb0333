"""Why was this rejected? The cause and fix of pasted messages, with no dataset.

A Proxmox admin pastes the line the web UI showed, an SRE the error of a
ticket: :func:`why` reads each message as ingest would (format detection,
the same per-chunk pipeline, the same catalogue and phrases) and answers
with what ``analyze`` would say of it. Nothing is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from ..catalogue.loading import load_catalogue
from ..catalogue.order import Catalogue
from ..catalogue.positions import reports_failure
from ..catalogue.user_text import searched_texts
from ..catalogue.word_model import word_model
from ..causes.definitions import load_causes
from ..causes.recommend import ready_fix, recommend
from ..common.masking import redact_tokens
from ..formats.parsing import detect_format, join_continuation_lines, load_formats
from ..pipeline.chunk import ChunkContext, process_chunk
from ..schema import EVENT_FIELDS
from .failures import attribute_relying_party, classify, fix_variant_of, reading_of


@dataclass(frozen=True)
class Answer:
    """What tokenaudit makes of one pasted message.

    ``cause`` is ``None`` when no failure is recognised in the message.
    ``alternatives`` are causes the same words can mean; ``confidence`` is
    ``high``, ``medium`` or ``low`` (:func:`tokenaudit.catalogue.matching.confidence_of`);
    ``tier`` says whether a named software's exact text (``signature``), a
    cause's common words (``phrase``), a subject and a verdict anywhere in a
    failure (``keyword``) or the word model of the catalogue's samples
    (``words``) recognised it; for the word model, ``evidence`` holds the
    words that decided. ``reading`` is what the entry that matched says the
    text means (its title: "the app's package name and SHA-1 are not
    registered" where the cause is only "configuration error"); the word
    model has none. ``values`` are what the
    message carries (the offending audience, the issuer found, …).
    ``ready_fix`` says whether ``fix`` may be applied as printed; a fix that
    widens trust on weak evidence asks for confirmation first, and a message
    with no cause has no fix, ready or not. ``reports_failure`` is true
    where a cause was found and, for a message with no cause, says whether
    its own words (user text masked) still report a failure (a level such
    as ERROR, an HTTP 401, "denied"): a failure tokenaudit cannot name, not
    a line that says all is well.
    """

    message: str
    format: str
    cause: str | None
    title: str = ""
    reading: str = ""
    alternatives: tuple[str, ...] = ()
    confidence: str = ""
    tier: str = ""
    signature: str = ""
    software: str = ""
    values: dict[str, str] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()
    explanation: str = ""
    fix: str = ""
    ready_fix: bool = False
    reports_failure: bool = False

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (``cause`` is ``null`` when none was recognised)."""
        return {
            "message": self.message, "format": self.format, "cause": self.cause, "title": self.title,
            "reading": self.reading or None,
            "alternatives": list(self.alternatives), "confidence": self.confidence or None,
            "tier": self.tier or None, "signature": self.signature or None, "software": self.software or None,
            "values": dict(self.values), "evidence": list(self.evidence), "explanation": self.explanation,
            "fix": self.fix,
            "ready_fix": self.ready_fix,
            "reports_failure": self.reports_failure,
        }


def split_messages(text: str) -> list[str]:
    """Split pasted text into messages: one a line, continuation lines joined to the line before.

    A line continues the one before it where the ``generic_text`` format says
    so (``continuation`` of its data file): indented, ``Caused by:``, the
    ``Response: {…}`` of a Go OAuth2 client, the second line of a next-auth
    error; ``ingest`` joins the same lines.

    Examples
    --------
    >>> split_messages("a\\n\\nb: boom\\nCaused by: x: Token is expired\\n\\tat y.z()\\n")
    ['a', 'b: boom Caused by: x: Token is expired at y.z()']
    >>> split_messages('oauth2: cannot fetch token: 401 Unauthorized\\nResponse: {"error":"invalid_client"}')
    ['oauth2: cannot fetch token: 401 Unauthorized Response: {"error":"invalid_client"}']
    """
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return join_continuation_lines(lines, load_formats()["generic_text"])


def why(
    text: str | Iterable[str],
    *,
    catalogue: Catalogue | None = None,
    realms: pd.DataFrame | None = None,
    timezone: str = "UTC",
) -> list[Answer]:
    """Name the cause, alternatives, confidence, explanation and fix of each pasted message.

    Parameters
    ----------
    text
        Pasted text (split by :func:`split_messages`), or messages one by one.
    catalogue
        The signatures and phrases; the built-in catalogue by default.
    realms
        Relying parties (:func:`tokenaudit.read_realms`), to fill in fixes.
    timezone
        Zone of times in the messages that carry none.

    Returns
    -------
    list of Answer
        One per message, in order; a message in which two failures are logged
        (one line each of a joined record) still gives one answer.

    Examples
    --------
    >>> line = ("openid authentication failure; rhost=::ffff:192.168.178.81 msg=Failed to verify ID token: "
    ...         "Invalid audiences: `377572587972067335` is not a trusted audience")
    >>> [answer] = why(line)
    >>> answer.cause, answer.values["audience"], answer.confidence
    ('untrusted_extra_audience', '377572587972067335', 'medium')
    >>> why("all good here")[0].cause is None
    True
    >>> [(a.cause, a.reports_failure) for a in why(["ERROR push: upstream answered 403", "INFO all good"])]
    [(None, True), (None, False)]
    """
    messages = split_messages(text) if isinstance(text, str) else [m for m in text if m.strip()]
    catalogue = catalogue or load_catalogue()
    realms = realms if realms is not None else pd.DataFrame(columns=["realm", "type"])
    formats = {name: fmt for name, fmt in load_formats().items() if fmt.kind in ("regex", "json")}
    answers: list[Answer] = []
    for message in messages:
        detected = detect_format([message], formats).format or formats["generic_text"]
        context = ChunkContext("<pasted>", timezone=timezone)
        result = process_chunk([message], detected, catalogue, context)
        shown = str(redact_tokens(pa.array([message], pa.string()))[0].as_py())
        events = result.events.to_pandas()
        if events.empty or events["signature"].isna().all():
            failing = bool(reports_failure(searched_texts(pa.array([message], pa.string())))[0])
            answers.append(Answer(shown, detected.name, None, reports_failure=failing))
            continue
        answers.append(_answer(shown, detected.name, events[events["signature"].notna()].iloc[:1], realms, catalogue))
    return answers


def _answer(message: str, format_name: str, event: pd.DataFrame, realms: pd.DataFrame, catalogue: Catalogue) -> Answer:
    row = attribute_relying_party(classify(event, catalogue), realms).iloc[0].to_dict()
    group: dict[str, Any] = {key: value for key, value in row.items() if isinstance(value, str)}
    group.update(relying_party=row.get("relying_party") if isinstance(row.get("relying_party"), str) else None,
                 event_kind=row.get("event_kind"), host=None)
    group["fix_variant"] = fix_variant_of(catalogue, group)
    realm_rows = {r["realm"]: r for r in realms.to_dict("records")} if not realms.empty else {}
    realm = realm_rows.get(group["relying_party"])
    explanation, fix = recommend(group, realm)
    cause = str(row["cause"])
    evidence: tuple[str, ...] = ()
    if row.get("tier") == "words":  # the words that decided, in the text the model read: the software's, masked
        written = row.get("message") if isinstance(row.get("message"), str) else message
        evidence = tuple(word_model(catalogue).evidence(searched_texts(pa.array([written]))[0].as_py(), cause))
    return Answer(
        message=message, format=format_name, cause=cause, title=load_causes()[cause].title,
        reading=reading_of(catalogue, {"cause": cause, "signature": row.get("signature")}),
        alternatives=tuple(a for a in str(row.get("alternatives") or "").split(",") if a),
        confidence=str(row.get("confidence") or ""), tier=str(row.get("tier") or ""),
        signature=str(row.get("signature") or ""), software=str(row.get("software") or ""),
        values={name: str(row[name]) for name in EVENT_FIELDS if isinstance(row.get(name), str)}, evidence=evidence,
        explanation=explanation, fix=fix, ready_fix=ready_fix(group, realm), reports_failure=True,
    )

