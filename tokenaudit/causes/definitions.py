"""The canonical causes (``data/causes.toml``): ids, explanations and fixes."""

from __future__ import annotations

from functools import cache

from ..common.datafiles import check_keys, package_data, read_toml
from ..errors import CatalogueError
from ..models import CauseDefinition, Fix

#: This package's TOML files.
DATA_DIR = package_data("tokenaudit.causes")

#: Every cause id, in the order the README lists them.
CAUSE_IDS = (
    "untrusted_extra_audience",
    "client_id_missing",
    "aud_claim_missing",
    "token_type_confusion",
    "azp_mismatch",
    "issuer_mismatch",
    "expired",
    "not_yet_valid",
    "signature_invalid",
    "unknown_signing_key",
    "algorithm_mismatch",
    "malformed_token",
    "insufficient_scope_or_roles",
    "token_inactive",
    "missing_token",
    "idp_unreachable",
    "login_state",
    "credentials_invalid",
    "account_rejected",
    "config_error",
    "suspicious_line",
    "unclassified",
)

_CAUSE_KEYS = {
    "required": ("group", "title", "summary", "explanation", "fix"),
    "optional": ("key_field",),
}


@cache
def load_causes() -> dict[str, CauseDefinition]:
    """Load the cause definitions, keyed by id in :data:`CAUSE_IDS` order.

    Raises
    ------
    CatalogueError
        If a cause is missing, unknown, or lacks a generic fix.

    Examples
    --------
    >>> causes = load_causes()
    >>> causes["issuer_mismatch"].title
    'Issuer mismatch'
    >>> causes["expired"].fix_for("proxmox").software
    '*'
    """
    path = DATA_DIR / "causes.toml"
    data = read_toml(path).get("cause", {})
    unknown = sorted(set(data) - set(CAUSE_IDS))
    missing = sorted(set(CAUSE_IDS) - set(data))
    if unknown or missing:
        raise CatalogueError(f"causes unknown {unknown} or missing {missing}", path=str(path))
    causes = {}
    for cause_id in CAUSE_IDS:
        entry = data[cause_id]
        check_keys(entry, **_CAUSE_KEYS, path=str(path), where=cause_id)
        fixes = tuple(
            Fix(fix["software"], fix.get("variant", "default"), fix["text"].strip())
            for fix in entry["fix"]
        )
        if not any(fix.software == "*" for fix in fixes):
            raise CatalogueError("needs a fix with software = \"*\"", path=str(path), signature_id=cause_id)
        causes[cause_id] = CauseDefinition(
            id=cause_id,
            group=entry["group"],
            title=entry["title"],
            summary=entry["summary"],
            explanation=" ".join(entry["explanation"].split()),
            key_field=entry.get("key_field"),
            fixes=fixes,
        )
    return causes
