"""Where captured tokens come from: HAR files, token responses, token files, log lines, claim maps.

Each reader yields :class:`Sighting` objects: a raw token (kept in memory
only, until :func:`tokens_table` turns it into claims and a fingerprint) or
claims printed without a token, with where and when it was seen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pandas as pd

from ..common.timestamps import epoch_seconds
from .decode import TokenInfo, claims_info, find_tokens, inspect_token

_TOKEN_KEYS = ("access_token", "id_token", "refresh_token", "logout_token")
_OPAQUE_LINE = re.compile(r"^(?:[Bb]earer\s+)?([A-Za-z0-9._~+/=-]{16,})$")
_CLAIM_MAP = re.compile(r"claims: map\[(?P<body>.*)\]")
_MAP_PAIR = re.compile(r"(?:^|\s)(?P<key>[A-Za-z_][\w.-]*):(?P<value>\[[^\]]*\]|map\[[^\]]*\]|\S+)")


@dataclass(frozen=True)
class Sighting:
    """One place a token (or a validator's claim printout) was seen."""

    where: str
    line_no: int = 0
    ts: pd.Timestamp | None = None
    token: str | None = field(default=None, repr=False)
    claims: dict[str, Any] | None = None


def sightings_in_text(text: str, *, where: str, line_no: int = 0, ts: pd.Timestamp | None = None) -> list[Sighting]:
    """Tokens, and oauth2-proxy style claim maps, in one line of text.

    Examples
    --------
    >>> [s.where for s in sightings_in_text("GET / Bearer eyJhbGciOiJub25lIn0.e30. 200", where="log")]
    ['log']
    >>> sightings_in_text("audience claims [aud] do not exist in claims: map[azp:cli iss:https://kc.test typ:Bearer]",
    ...                   where="log")[0].claims
    {'azp': 'cli', 'iss': 'https://kc.test', 'typ': 'Bearer'}
    """
    found = [Sighting(where, line_no, ts, token=token) for token in find_tokens(text)]
    if (match := _CLAIM_MAP.search(text)) and (claims := parse_claim_map(match["body"])):
        found.append(Sighting(where, line_no, ts, claims=claims))
    return found


def parse_claim_map(body: str) -> dict[str, Any]:
    """Parse the inside of a Go ``map[...]`` claim printout (top-level keys only).

    Examples
    --------
    >>> parse_claim_map("aud:[a b] exp:1700000000 iss:https://x.test")
    {'aud': ['a', 'b'], 'exp': 1700000000, 'iss': 'https://x.test'}
    """
    claims: dict[str, Any] = {}
    for match in _MAP_PAIR.finditer(body):
        value: Any = match["value"]
        if value.startswith("[") and value.endswith("]"):
            value = value[1:-1].split()
        elif value.isascii() and value.isdigit() and len(value) <= 30:  # not "²", not 5000 digits
            value = int(value)
        claims[match["key"]] = value
    return claims


def sightings_in_token_response(data: Any, *, where: str, ts: pd.Timestamp | None = None) -> list[Sighting]:
    """Tokens in a token endpoint response (``{"access_token": …, "id_token": …}``)."""
    if not isinstance(data, dict):
        return []
    return [Sighting(f"{where} {key}", 0, ts, token=str(data[key]))
            for key in _TOKEN_KEYS if isinstance(data.get(key), str)]


def sightings_in_har(har: dict[str, Any], *, source: str) -> list[Sighting]:
    """Tokens in a HAR file: request headers, URLs (``#id_token=``), bodies, token responses.

    Modern browsers export sanitised HARs without Authorization headers; the
    token endpoint's response body and implicit-flow redirects still hold tokens.
    """
    found: list[Sighting] = []
    # A HAR is read as far as it has the expected shape; a part of another type is passed over.
    for number, entry in enumerate(_list(_dict(_dict(har).get("log")).get("entries")), start=1):
        entry = _dict(entry)
        started = entry.get("startedDateTime")
        ts = pd.to_datetime(started, utc=True, errors="coerce") if isinstance(started, str) else None
        ts = None if ts is None or pd.isna(ts) else ts
        request, response = _dict(entry.get("request")), _dict(entry.get("response"))
        where = f"{source} entry {number}"
        for header in map(_dict, _list(request.get("headers"))):
            if str(header.get("name", "")).lower() == "authorization":
                found += [Sighting(f"{where} Authorization", 0, ts, token=t)
                          for t in find_tokens(str(header.get("value", "")))]
        for url in [request.get("url", "")] + [h.get("value", "") for h in map(_dict, _list(response.get("headers")))
                                               if str(h.get("name", "")).lower() == "location"]:
            try:
                parts = urlsplit(str(url))
            except ValueError:  # "http://[" is no URL
                continue
            for key, value in parse_qsl(parts.fragment) + parse_qsl(parts.query):
                if key in _TOKEN_KEYS:
                    found.append(Sighting(f"{where} URL {key}", 0, ts, token=value))
        post = str(_dict(request.get("postData")).get("text") or "")
        found += [Sighting(f"{where} request body", 0, ts, token=t) for t in find_tokens(post)]
        body = str(_dict(response.get("content")).get("text") or "")
        try:
            parsed = json.loads(body) if body.lstrip().startswith("{") else None
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
            parsed = None
        if parsed is not None:
            found += sightings_in_token_response(parsed, where=f"{where} response", ts=ts)
        else:
            found += [Sighting(f"{where} response body", 0, ts, token=t) for t in find_tokens(body)]
    return found


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


#: Columns of the tokens table.
TOKEN_COLUMNS = (
    "fingerprint", "encoding", "alg", "kid", "typ", "iss", "sub", "aud", "azp", "client_id", "scope",
    "exp_at", "iat_at", "nbf_at", "kind", "kind_evidence", "issuer_family", "family_evidence",
    "header", "claims", "error", "first_seen", "last_seen", "sightings", "sources",
)


def token_row(info: TokenInfo) -> dict[str, Any]:
    """One row of the tokens table for a token, without sighting columns."""
    from .kind import issuer_family, token_kind

    claims, header = info.claims, info.header
    kind = token_kind(header, claims) if info.encoding in ("jws", "claims") else None
    family = issuer_family(header, claims) if claims else None
    scope = claims.get("scope", claims.get("scp"))
    return {
        "fingerprint": info.fingerprint,
        "encoding": info.encoding,
        "alg": info.alg,
        "kid": header.get("kid"),
        "typ": header.get("typ"),
        "iss": claims.get("iss"),
        "sub": claims.get("sub"),
        "aud": json.dumps(list(info.audiences)) if "aud" in claims else None,
        "azp": claims.get("azp"),
        "client_id": claims.get("client_id", claims.get("cid", claims.get("appid"))),
        "scope": " ".join(str(item) for item in scope) if isinstance(scope, list) else scope,
        "exp_at": epoch_seconds(claims.get("exp")),
        "iat_at": epoch_seconds(claims.get("iat")),
        "nbf_at": epoch_seconds(claims.get("nbf")),
        "kind": kind.value if kind else "unknown",
        "kind_evidence": json.dumps(list(kind.evidence)) if kind else "[]",
        "issuer_family": family.value if family else None,
        "family_evidence": json.dumps(list(family.evidence)) if family else "[]",
        "header": json.dumps(header, sort_keys=True, default=str),
        "claims": json.dumps(claims, sort_keys=True, default=str),
        "error": info.error,
    }


def tokens_table(sightings: Iterable[Sighting], key: bytes) -> pd.DataFrame:
    """Decode every distinct token once and aggregate its sightings.

    Returns
    -------
    pandas.DataFrame
        One row per fingerprint with :data:`TOKEN_COLUMNS`: decoded header
        and claims (as JSON), kind and issuer family with evidence,
        ``first_seen``/``last_seen`` (UTC, null when no sighting had a time),
        ``sightings`` and ``sources`` (up to 20 places). Never the token.
    """
    rows: dict[str, dict[str, Any]] = {}
    for sighting in sightings:
        info = (inspect_token(sighting.token, key) if sighting.token is not None
                else claims_info(sighting.claims or {}, key))
        row = rows.get(info.fingerprint)
        place = f"{sighting.where}:{sighting.line_no}" if sighting.line_no else sighting.where
        if row is None:
            row = rows[info.fingerprint] = {**token_row(info), "first_seen": sighting.ts, "last_seen": sighting.ts,
                                            "sightings": 0, "sources": []}
        row["sightings"] += 1
        if len(row["sources"]) < 20:
            row["sources"].append(place)
        if sighting.ts is not None:
            row["first_seen"] = min(t for t in (row["first_seen"], sighting.ts) if t is not None)
            row["last_seen"] = max(t for t in (row["last_seen"], sighting.ts) if t is not None)
    frame = pd.DataFrame(list(rows.values()), columns=list(TOKEN_COLUMNS))
    frame["sources"] = frame["sources"].map(json.dumps)
    for column in ("exp_at", "iat_at", "nbf_at", "first_seen", "last_seen"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    frame["sightings"] = frame["sightings"].astype("int64")
    return frame



def sightings_in_document(lines: list[str], format_name: str, *, source: str) -> tuple[list[Sighting], int]:
    """Read a token document (``har``, ``token_response`` or ``jwt_lines``).

    Returns
    -------
    sightings, bad
        What was found, and how many lines could not be read (a document
        that is not valid JSON counts all its lines).

    Examples
    --------
    >>> found, bad = sightings_in_document(["Bearer eyJhbGciOiJub25lIn0.e30.", "oops"], "jwt_lines", source="f")
    >>> [(s.where, s.line_no) for s in found], bad
    ([('f', 1)], 1)
    """
    if format_name == "jwt_lines":
        found, bad = [], 0
        for number, line in enumerate(lines, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            opaque = _OPAQUE_LINE.match(text)
            tokens = find_tokens(text) or ([opaque.group(1)] if opaque else [])
            if tokens:
                found += [Sighting(source, number, token=token) for token in tokens]
            else:
                bad += 1
        return found, bad
    text = "\n".join(lines)
    try:
        documents = [json.loads(text)]
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        try:  # one JSON object per line
            documents = [json.loads(line) for line in lines if line.strip()]
        except (ValueError, RecursionError):
            return [], sum(1 for line in lines if line.strip())
    found = []
    for document in documents:
        if format_name == "har":
            found += sightings_in_har(document, source=source)
        else:
            found += sightings_in_token_response(document, where=source)
    return found, 0


def aggregate_tokens(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Merge tokens tables (from chunks, batches): one row per fingerprint.

    ``first_seen`` is the earliest, ``last_seen`` the latest, ``sightings``
    the sum, ``sources`` the first 20 places; the decoded columns come from
    the first row.
    """
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=list(TOKEN_COLUMNS))
    frame = pd.concat(frames, ignore_index=True)
    grouped = frame.groupby("fingerprint", sort=False)
    merged = grouped.first()
    merged["first_seen"] = grouped["first_seen"].min()
    merged["last_seen"] = grouped["last_seen"].max()
    merged["sightings"] = grouped["sightings"].sum().astype("int64")
    merged["sources"] = grouped["sources"].agg(lambda s: json.dumps([p for v in s for p in json.loads(v)][:20]))
    return merged.reset_index()[list(TOKEN_COLUMNS)]
