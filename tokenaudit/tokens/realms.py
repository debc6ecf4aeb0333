"""Relying parties from configuration: Proxmox VE's ``/etc/pve/domains.cfg``.

Only what diagnosis needs is kept: realm name and type, issuer URL, client
id, trusted audiences, user-name claim. The ``client-key`` is a secret: its
line is counted as parsed and its value dropped on the spot.
"""

from __future__ import annotations

import re

import pandas as pd

from ..models import LineAccount, Realm

_SECTION = re.compile(r"^(?P<type>[a-z]+):\s+(?P<id>\S+)\s*$")
_PROPERTY = re.compile(r"^[ \t]+(?P<key>[a-z][a-z0-9-]*)(?:[ \t]+(?P<value>\S.*?))?\s*$")
_SECRET_KEYS = frozenset({"client-key", "password", "bind-password"})
#: Columns of :func:`realms_frame`.
REALM_COLUMNS = ("realm", "type", "issuer_url", "client_id", "audiences", "username_claim", "software", "source_file")


def split_list(value: str) -> tuple[str, ...]:
    """Split a list option the way PVE::Tools::split_list does (commas, semicolons, spaces).

    Examples
    --------
    >>> split_list("a, b;c  d")
    ('a', 'b', 'c', 'd')
    """
    return tuple(part for part in re.split(r"[,;\s]+", value) if part)


def parse_domains_cfg(lines: list[str], *, source_file: str = "") -> tuple[list[Realm], LineAccount]:
    """Parse the lines of a ``domains.cfg``.

    Parameters
    ----------
    lines
        The file's lines.
    source_file
        Recorded on each realm.

    Returns
    -------
    realms, account
        The realms in file order, and how each line was accounted for.

    Examples
    --------
    >>> text = ["openid: zitadel", "\\tissuer-url https://auth.example.com",
    ...         "\\tclient-id 377576883644006407", "\\tclient-key s3cr3t", "",
    ...         "pam: pam", "\\tcomment Linux PAM"]
    >>> realms, account = parse_domains_cfg(text)
    >>> realms[0].client_id, realms[0].issuer_url, [r.name for r in realms]
    ('377576883644006407', 'https://auth.example.com', ['zitadel', 'pam'])
    >>> account.read, account.parsed, account.skipped, account.rejected
    (7, 6, 1, 0)
    """
    account = LineAccount(read=len(lines))
    realms: list[Realm] = []
    current: dict[str, str] | None = None

    def close() -> None:
        if current is not None:
            realms.append(_realm(current, source_file))

    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            account.skipped += 1
            account.skipped_reasons["comment, marker or blank line"] += 1
            continue
        if section := _SECTION.match(line):
            close()
            current = {"type": section["type"], "name": section["id"]}
            account.parsed += 1
        elif (prop := _PROPERTY.match(line)) and current is not None:
            if prop["key"] not in _SECRET_KEYS:
                current[prop["key"]] = prop["value"] or ""
            account.parsed += 1
        else:
            account.rejected += 1
            account.rejected_reasons["not a domains.cfg line"] += 1
    close()
    return realms, account


def _realm(values: dict[str, str], source_file: str) -> Realm:
    return Realm(
        name=values["name"],
        type=values["type"],
        issuer_url=values.get("issuer-url"),
        client_id=values.get("client-id"),
        audiences=split_list(values.get("audiences", "")),
        username_claim=values.get("username-claim"),
        software="proxmox",
        source_file=source_file,
    )


def realms_frame(realms: list[Realm]) -> pd.DataFrame:
    """Turn realms into a DataFrame with :data:`REALM_COLUMNS` (audiences comma-joined).

    Examples
    --------
    >>> realms_frame([Realm("kc", "openid", client_id="pve", audiences=("a", "b"))])[["realm", "audiences"]]
      realm audiences
    0    kc       a,b
    """
    rows = [
        {
            "realm": realm.name,
            "type": realm.type,
            "issuer_url": realm.issuer_url,
            "client_id": realm.client_id,
            "audiences": ",".join(realm.audiences),
            "username_claim": realm.username_claim,
            "software": realm.software,
            "source_file": realm.source_file,
        }
        for realm in realms
    ]
    return pd.DataFrame(rows, columns=list(REALM_COLUMNS)).astype("string")
