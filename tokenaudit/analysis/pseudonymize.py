"""Pseudonyms for people and client addresses, for reports meant for a wider audience.

A report that goes to a ticket, a chat or a vendor should say *that* one user
failed eight times from one address, not *who* and *from where*. Subjects,
e-mail addresses, user names and client addresses (IPv4, IPv6, ``rhost``)
are replaced with a keyed hash: ``user-3f9a1c2b``, ``email-…``, ``ip-…``.
The key is the fingerprint key (:func:`tokenaudit.tokens.decode.load_fingerprint_key`),
which never leaves the machine, so a reader cannot hash guessed names to undo
the pseudonyms, while the same value gets the same pseudonym in every report
made with the same key (and ``::ffff:192.0.2.1`` the same as ``192.0.2.1``).

Values are found three ways, in any text (messages, examples, evidence,
explanations): values the dataset names as users, addresses or subjects
(``user``, ``client_addr``, token ``sub``/``email``/``preferred_username``),
wherever they appear as a whole word; anything shaped like an e-mail or an
IP address; and the value after ``user=``, ``rhost=``, ``userId=``,
``username=``, ``sub=`` and the like.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pandas as pd

#: Event columns that name a person or a client address.
IDENTITY_COLUMNS = ("user", "client_addr")
#: Token claims that name a person.
IDENTITY_CLAIMS = ("sub", "email", "preferred_username", "upn", "unique_name", "username", "name", "oid")

_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# Candidates only; ipaddress decides (so times like 17:11:27 stay as they are).
_IPV6 = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?::\d{1,3}(?:\.\d{1,3}){3})?"
_IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
# key=value and key="value" pairs whose value is a person or an address (a bare "client:" may be a client id: not here).
_LABELLED = (r"(?i)(?<![\w-])(?:rhost|user|username|user_?id|sub|subject|email|e-mail|"
             r"ip_?address|client_?ip|remote_?addr)([\"']?\s*[=:]\s*[\"'(]*)([^\s\"'(),;&\]}]+)")
_BEFORE = r"(?<![\w.@%+§-])"  # § : "OpenID Connect Core §3.1.3.7" is no address
_AFTER = r"(?![\w@%+-]|\.\w)"
_AFTER_SHAPE = r"(?![\w%+-]|\.\w)"  # an e-mail may go on with @realm (Proxmox: alice@example.com@zitadel)


def pseudonym(value: str, key: bytes) -> str:
    """The pseudonym of one value: a kind prefix and 8 hex digits of HMAC-SHA-256.

    IPv4-mapped IPv6 addresses are the IPv4 address they map.

    Examples
    --------
    >>> key = b"k" * 32
    >>> pseudonym("alice", key) == pseudonym("alice", key) != pseudonym("alice", b"x" * 32)
    True
    >>> pseudonym("alice", key)[:5], pseudonym("alice@example.com", key)[:6], pseudonym("192.0.2.1", key)[:3]
    ('user-', 'email-', 'ip-')
    >>> pseudonym("::ffff:192.0.2.1", key) == pseudonym("192.0.2.1", key)
    True
    """
    address = _address(value)
    if address is not None:
        kind, canonical = "ip", address
    elif re.fullmatch(_EMAIL, value):
        kind, canonical = "email", value.lower()
    else:
        kind, canonical = "user", value
    digest = hmac.new(key, f"{kind}:{canonical}".encode("utf-8", errors="replace"), hashlib.sha256).hexdigest()
    return f"{kind}-{digest[:8]}"


def _address(value: str) -> str | None:
    try:
        ip = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def _usable(value: object) -> bool:
    return isinstance(value, str) and len(value.strip()) >= 2 and value.strip() not in {"-", "--", "null", "none"}


def identity_values(events: pd.DataFrame | None = None, tokens: pd.DataFrame | None = None) -> set[str]:
    """The values a dataset names as users, subjects, e-mails or client addresses.

    Parameters
    ----------
    events
        Events (``user``, ``client_addr`` columns are used).
    tokens
        Captured tokens (``sub`` and the ``claims`` JSON are used).

    Returns
    -------
    set of str

    Examples
    --------
    >>> sorted(identity_values(pd.DataFrame({"user": ["alice", None, "-"], "client_addr": ["192.0.2.1", "", None]})))
    ['192.0.2.1', 'alice']
    """
    found: set[str] = set()
    for frame, columns in ((events, IDENTITY_COLUMNS), (tokens, ("sub",))):
        if frame is None or frame.empty:
            continue
        for column in columns:
            if column in frame.columns:
                found.update(v.strip() for v in frame[column].dropna().unique() if _usable(v))
    if tokens is not None and not tokens.empty and "claims" in tokens.columns:
        for text in tokens["claims"].dropna().unique():
            try:
                claims = json.loads(text)
            except (TypeError, ValueError):
                continue
            if isinstance(claims, dict):
                found.update(str(claims[c]).strip() for c in IDENTITY_CLAIMS if _usable(claims.get(c)))
    return found


@dataclass(frozen=True)
class Pseudonymizer:
    """Replaces people and addresses in text with their pseudonyms.

    Parameters
    ----------
    key
        The secret key (the fingerprint key).
    known
        Values known to be users, subjects, e-mails or addresses
        (:func:`identity_values`); each is replaced wherever it stands as a
        whole word, besides what is recognised by its shape or label.

    Examples
    --------
    >>> p = Pseudonymizer(b"k" * 32, frozenset({"alice"}))
    >>> text = p.text("The credentials given for alice were rejected; rhost=::ffff:192.0.2.1 user=bob@pve")
    >>> "alice" in text or "192.0.2.1" in text or "bob@pve" in text
    False
    >>> p.text("alice") == p.text("alice") == p.value("alice")
    True
    """

    key: bytes
    known: frozenset[str] = frozenset()

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        literals = "|".join(re.escape(v) for v in sorted(self.known, key=len, reverse=True))
        parts = [f"{_BEFORE}(?:{literals}){_AFTER}"] if literals else []
        parts += [f"{_BEFORE}(?:{_EMAIL}|{_IPV6}|{_IPV4}){_AFTER_SHAPE}"]
        return re.compile("|".join(parts))

    def value(self, value: str) -> str:
        """The pseudonym of a whole value (a ``user`` or ``client_addr`` cell)."""
        return pseudonym(value.strip(), self.key) if _usable(value) else value

    def text(self, text: str) -> str:
        """``text`` with every person and address it names replaced."""
        text = re.sub(_LABELLED, self._labelled, text)
        return self._pattern.sub(self._replace, text)

    def _labelled(self, match: re.Match[str]) -> str:
        value = match.group(2)
        if value.startswith(("<", "ip-", "user-", "email-")) or not _usable(value):
            return match.group(0)  # already masked or pseudonymized, or nothing there
        return match.group(0)[: match.start(2) - match.start(0)] + pseudonym(value, self.key)

    def _replace(self, match: re.Match[str]) -> str:
        value = match.group(0)
        if value in self.known or re.fullmatch(_EMAIL, value) or _address(value) is not None:
            return pseudonym(value, self.key)
        return value  # an IPv6-shaped candidate that is no address

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``frame`` with every text cell (and text index) pseudonymized."""
        out = frame.copy()
        for column in out.columns:
            if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
                out[column] = out[column].map(self.any, na_action="ignore")
        if out.index.dtype == object or pd.api.types.is_string_dtype(out.index.dtype):
            out.index = out.index.map(self.any)
        return out

    def any(self, value: Any) -> Any:
        """Pseudonymize strings (and lists of them); leave other values as they are."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, (list, tuple)):
            return type(value)(self.any(v) for v in value)
        return value


def pseudonymize(frame: pd.DataFrame, key: bytes, *, known: Iterable[str] | None = None) -> pd.DataFrame:
    """A copy of ``frame`` with people and client addresses replaced by keyed pseudonyms.

    Every text column is rewritten (messages, examples, evidence and
    explanations included); the input is not changed.

    Parameters
    ----------
    frame
        Events, failure groups, or any frame of text.
    key
        The secret key: :func:`tokenaudit.load_fingerprint_key`.
    known
        Values to replace wherever they stand as a word; by default those of
        the frame's own ``user`` and ``client_addr`` columns.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> events = pd.DataFrame({"user": ["alice"], "message": ["no such user ('alice') from 192.0.2.7"]})
    >>> out = pseudonymize(events, b"k" * 32)
    >>> out.loc[0, "user"] == pseudonym("alice", b"k" * 32), "alice" in out.loc[0, "message"]
    (True, False)
    """
    values = set(known) if known is not None else identity_values(frame)
    return Pseudonymizer(key, frozenset(values)).frame(frame)

