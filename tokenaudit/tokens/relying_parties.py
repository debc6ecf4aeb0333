"""Relying parties: what each one that validates tokens expects.

Declared in a ``tokenaudit.toml`` (see ``sample_logs/tokenaudit.toml``), or
derived from Proxmox realms read out of ``domains.cfg``::

    [[relying_party]]
    name = "grafana-api"
    kind = "api"                   # proxmox, oauth2-proxy, envoy, api, generic
    client_id = "grafana"
    audiences = ["https://grafana.example.com"]   # accepted besides client_id
    issuer = "https://kc.example.com/realms/main"
    expect = "access"              # id or access
    algorithms = ["RS256"]
    required_roles = ["viewer"]
    required_scopes = ["openid"]
    jwks = "https://kc.example.com/realms/main/protocol/openid-connect/certs"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..common.datafiles import check_keys, read_toml
from ..errors import CatalogueError, InputError

RP_KINDS = ("proxmox", "oauth2-proxy", "envoy", "api", "generic")
_KEYS = {
    "required": ("name",),
    "optional": ("kind", "client_id", "audiences", "issuer", "expect", "algorithms",
                 "required_roles", "required_scopes", "jwks", "leeway_s"),
}


@dataclass(frozen=True)
class RelyingParty:
    """A relying party's expectations of the tokens it accepts."""

    name: str
    kind: str = "generic"
    client_id: str | None = None
    audiences: tuple[str, ...] = ()
    issuer: str | None = None
    expect: Literal["id", "access"] | None = None
    algorithms: tuple[str, ...] = ()
    required_roles: tuple[str, ...] = ()
    required_scopes: tuple[str, ...] = ()
    jwks: str | None = None
    leeway_s: int = 0

    def concerns(self, audiences: tuple[str, ...], issuer: object) -> bool:
        """Whether a token with these audiences and issuer is meant for this relying party.

        Examples
        --------
        >>> RelyingParty("a", client_id="c", issuer="https://i.test").concerns(("x",), "https://i.test")
        True
        """
        accepted = {self.client_id, *self.audiences} - {None}
        return bool(accepted & set(audiences)) or (self.issuer is not None and issuer == self.issuer)

    @property
    def software(self) -> str:
        """The software key fixes are chosen by (``proxmox`` or ``*``)."""
        return "proxmox" if self.kind == "proxmox" else "*"


def relying_party_from_mapping(data: Mapping[str, Any], *, where: str = "") -> RelyingParty:
    """Build a relying party from a table of ``tokenaudit.toml``.

    Raises
    ------
    CatalogueError
        On unknown keys or values.

    Examples
    --------
    >>> relying_party_from_mapping({"name": "api", "expect": "access", "audiences": ["https://api.test"]}).audiences
    ('https://api.test',)
    """
    if not isinstance(data, Mapping):
        raise CatalogueError("each relying_party must be a table", path=where or "tokenaudit.toml",
                             hint="write [[relying_party]] (two brackets) above each one")
    check_keys(data, **_KEYS, path=where or "tokenaudit.toml", where=str(data.get("name", "?")))
    _check_types(data, where or "tokenaudit.toml")
    kind = str(data.get("kind", "generic"))
    if kind not in RP_KINDS:
        raise CatalogueError(f"kind {kind!r} is unknown", path=where, signature_id=str(data["name"]),
                             hint=f"kind is one of {', '.join(RP_KINDS)}")
    expect = data.get("expect")
    if expect not in (None, "id", "access"):
        raise CatalogueError(f"expect {expect!r} is unknown", path=where, signature_id=str(data["name"]),
                             hint='write expect = "id" (ID tokens) or expect = "access" (access tokens)')
    return RelyingParty(
        name=str(data["name"]),
        kind=kind,
        client_id=data.get("client_id"),
        audiences=tuple(str(a) for a in data.get("audiences", ())),
        issuer=data.get("issuer"),
        expect=expect,
        algorithms=tuple(data.get("algorithms", ())),
        required_roles=tuple(data.get("required_roles", ())),
        required_scopes=tuple(data.get("required_scopes", ())),
        jwks=data.get("jwks"),
        leeway_s=int(data.get("leeway_s", 0)),
    )


_LISTS = ("audiences", "algorithms", "required_roles", "required_scopes")
_STRINGS = ("name", "kind", "client_id", "issuer", "expect", "jwks")


def _check_types(data: Mapping[str, Any], where: str) -> None:
    name = str(data.get("name", "?"))
    for key in _STRINGS:
        if key in data and not isinstance(data[key], str):
            raise CatalogueError(f"{key} must be a string", path=where, signature_id=name, hint=f'write {key} = "..."')
    for key in _LISTS:
        if key in data and not (isinstance(data[key], list) and all(isinstance(v, str) for v in data[key])):
            raise CatalogueError(f"{key} must be a list of strings", path=where, signature_id=name,
                                 hint=f'write {key} = ["...", "..."]')
    if "leeway_s" in data and (not isinstance(data["leeway_s"], int) or isinstance(data["leeway_s"], bool)):
        raise CatalogueError("leeway_s must be a whole number of seconds", path=where, signature_id=name,
                             hint="write leeway_s = 60")


def load_relying_parties(path: Path) -> dict[str, RelyingParty]:
    """Read the ``[[relying_party]]`` tables of a ``tokenaudit.toml``.

    Raises
    ------
    InputError
        If the file does not exist.
    CatalogueError
        If it is invalid.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such configuration file", hint="see sample_logs/tokenaudit.toml for an example")
    data = read_toml(path)
    check_keys(data, required=(), optional=("relying_party",), path=str(path))
    if not isinstance(data.get("relying_party", []), list):
        raise CatalogueError("relying_party must be an array of tables", path=str(path),
                             hint="write [[relying_party]] (two brackets) above each one")
    parties = [relying_party_from_mapping(t, where=str(path)) for t in data.get("relying_party", [])]
    return {party.name: party for party in parties}


def relying_party_from_realm(realm: Mapping[str, Any]) -> RelyingParty:
    """A Proxmox OpenID realm (a row of the realms table) as a relying party.

    Proxmox checks ID tokens: issuer equal to ``issuer-url``, ``client-id`` in
    ``aud`` and every other audience listed in ``audiences``, RS256 by default.

    Examples
    --------
    >>> rp = relying_party_from_realm({"realm": "zitadel", "type": "openid", "client_id": "1",
    ...                                "issuer_url": "https://auth.test", "audiences": "2,3"})
    >>> rp.kind, rp.expect, rp.audiences
    ('proxmox', 'id', ('2', '3'))
    """
    audiences = str(realm.get("audiences") or "")
    return RelyingParty(
        name=str(realm["realm"]),
        kind="proxmox",
        client_id=realm.get("client_id") or None,
        audiences=tuple(a for a in audiences.split(",") if a),
        issuer=realm.get("issuer_url") or None,
        expect="id",
    )


def with_overrides(rp: RelyingParty, **values: Any) -> RelyingParty:
    """Return ``rp`` with the given fields replaced; ``None`` and empty values keep the original.

    Examples
    --------
    >>> with_overrides(RelyingParty("a", client_id="x"), client_id=None, issuer="https://i.test").issuer
    'https://i.test'
    """
    from dataclasses import replace

    changes: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items()
                               if v not in (None, [], ())}
    return replace(rp, **changes)
