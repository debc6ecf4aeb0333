"""Captured tokens: decoding, kind and issuer, key sets, relying parties, diagnosis against a relying party.

Modules: ``correlate``, ``decode``, ``diagnose``, ``explain``, ``jwks``, ``kind``, ``realms``,
``relying_parties``, ``sightings``. The names below are what the other stages use; each is imported
on first use (:mod:`tokenaudit._lazy`).
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .correlate import refine_with_tokens
    from .decode import TokenInfo, find_tokens, inspect_token, load_fingerprint_key
    from .diagnose import Diagnosis, Finding, diagnose_tokens
    from .explain import explain_token
    from .kind import Verdict, issuer_family, token_kind
    from .realms import parse_domains_cfg, realms_frame
    from .relying_parties import RelyingParty, load_relying_parties, relying_party_from_realm, with_overrides
    from .sightings import TOKEN_COLUMNS, aggregate_tokens, sightings_in_document, sightings_in_text, tokens_table

__getattr__, __dir__ = attach(__name__, __file__, globals())

__all__ = [
    "Diagnosis",
    "Finding",
    "RelyingParty",
    "TOKEN_COLUMNS",
    "TokenInfo",
    "Verdict",
    "aggregate_tokens",
    "diagnose_tokens",
    "explain_token",
    "find_tokens",
    "inspect_token",
    "issuer_family",
    "load_fingerprint_key",
    "load_relying_parties",
    "parse_domains_cfg",
    "realms_frame",
    "refine_with_tokens",
    "relying_party_from_realm",
    "sightings_in_document",
    "sightings_in_text",
    "token_kind",
    "tokens_table",
    "with_overrides",
]
