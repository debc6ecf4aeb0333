"""tokenaudit: why OIDC/JWT logins and API calls are rejected, and what to change.

The notebook API::

    import tokenaudit as ta
    report = ta.ingest(["/var/log/syslog"], ta.default_dataset_path())
    events = ta.read_events(ta.default_dataset_path(), since=ta.parse_time_bound("7d"))
    ta.failure_groups(events, ta.read_realms(ta.default_dataset_path()))
"""

from typing import TYPE_CHECKING

from ._lazy import attach
from .version import __version__

# The public API, imported on first use (tokenaudit._lazy reads these lines): `import tokenaudit`
# and `tokenaudit --version` load no pandas.
if TYPE_CHECKING:
    from .analysis.answers import Answer, why
    from .analysis.failures import (
        GroupAccounting,
        attribute_relying_party,
        cause_changes,
        cause_counts,
        classify,
        failure_groups,
        failure_rates,
        failure_timeline,
        group_accounting,
        pair_http_denials,
        paired_events,
    )
    from .analysis.pseudonymize import pseudonym, pseudonymize
    from .analysis.report import binned_counts, build_report, time_bins
    from .catalogue.loading import load_catalogue
    from .catalogue.matching import match_messages
    from .catalogue.order import Catalogue
    from .causes.definitions import CAUSE_IDS, load_causes
    from .causes.recommend import recommend
    from .common.timestamps import parse_time_bound, time_window
    from .errors import (
        CatalogueError,
        DatasetError,
        FormatError,
        InputError,
        OutOfMemoryError,
        ReportError,
        SchemaMismatchError,
        StorageError,
        TokenAuditError,
        TokenAuditWarning,
    )
    from .formats.parsing import detect_format, load_formats, parse_chunk
    from .pipeline.batches import IngestReport, SourceReport, ingest
    from .pipeline.chunk import ChunkContext, process_chunk
    from .render.tables import render_events, render_groups, render_ingest_report
    from .store.compact import CompactReport, compact
    from .store.dataset import (
        default_dataset_path,
        read_events,
        read_manifest,
        read_realms,
        read_requests,
        read_tokens,
    )
    from .store.event_classes import EventClasses, read_event_classes
    from .tokens.decode import TokenInfo, find_tokens, inspect_token, load_fingerprint_key
    from .tokens.diagnose import Diagnosis, Finding, diagnose, diagnose_tokens
    from .tokens.explain import explain_token
    from .tokens.kind import Verdict, issuer_family, token_kind
    from .tokens.realms import parse_domains_cfg
    from .tokens.relying_parties import RelyingParty, load_relying_parties, relying_party_from_realm

__getattr__, __dir__ = attach(__name__, __file__, globals())

__all__ = [
    "GroupAccounting",
    "OutOfMemoryError",
    "StorageError",
    "binned_counts",
    "group_accounting",
    "paired_events",
    "time_bins",
    "time_window",
    "Answer",
    "CAUSE_IDS",
    "Catalogue",
    "CompactReport",
    "EventClasses",
    "CatalogueError",
    "ChunkContext",
    "Diagnosis",
    "Finding",
    "RelyingParty",
    "TokenInfo",
    "Verdict",
    "DatasetError",
    "FormatError",
    "IngestReport",
    "InputError",
    "ReportError",
    "SchemaMismatchError",
    "SourceReport",
    "TokenAuditError",
    "TokenAuditWarning",
    "__version__",
    "attribute_relying_party",
    "build_report",
    "cause_changes",
    "cause_counts",
    "classify",
    "compact",
    "default_dataset_path",
    "detect_format",
    "diagnose",
    "diagnose_tokens",
    "explain_token",
    "find_tokens",
    "inspect_token",
    "issuer_family",
    "load_fingerprint_key",
    "load_relying_parties",
    "relying_party_from_realm",
    "read_tokens",
    "token_kind",
    "failure_groups",
    "failure_rates",
    "failure_timeline",
    "ingest",
    "load_catalogue",
    "load_causes",
    "load_formats",
    "match_messages",
    "pair_http_denials",
    "parse_chunk",
    "parse_domains_cfg",
    "parse_time_bound",
    "process_chunk",
    "pseudonym",
    "pseudonymize",
    "read_event_classes",
    "read_events",
    "read_manifest",
    "read_realms",
    "read_requests",
    "recommend",
    "render_events",
    "render_groups",
    "render_ingest_report",
    "why",
]
