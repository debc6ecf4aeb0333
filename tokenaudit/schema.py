"""The dataset's tables, in one place: their Arrow schemas and the values a signature may capture.

Every stage that writes or reads the dataset takes its columns from here, so the
dataset format is defined once, below the code that fills it.

Examples
--------
>>> from tokenaudit.schema import EVENT_SCHEMA, EVENT_FIELDS
>>> EVENT_SCHEMA.field("ts").type
TimestampType(timestamp[us, tz=UTC])
>>> "audience" in EVENT_FIELDS and "audience" in EVENT_SCHEMA.names
True
"""

from __future__ import annotations

import pyarrow as pa

#: Values a signature may capture; each becomes a column of the event dataset.
EVENT_FIELDS = (
    "client_addr",
    "user",
    "realm",
    "detail",
    "audience",
    "expected_audience",
    "found_audiences",
    "expected_issuer",
    "found_issuer",
    "kid",
    "alg",
    "token_type",
    "expired_at",
    "current_time",
    "claim",
    "error_code",
    "error_description",
    "error_uri",
    "realm_type",
    "tfa_type",
)

#: Event kinds the catalogue decides: an event of these stored with another catalogue is matched again
#: from its message (by analysis, and once for good by compaction).
MATCHED_KINDS = ("auth_failure", "suspicious")

#: The dataset format's version, written into every file and the dataset's tokenaudit.json.
SCHEMA_VERSION = 1
#: The key of a Parquet file's metadata that holds SCHEMA_VERSION.
VERSION_KEY = b"tokenaudit_schema_version"

#: Captured values that describe the request rather than the refusal: they stand earlier in the events table.
CONTEXT_COLUMNS = ("client_addr", "user", "realm")
#: Schema of the events table: one row per failure event.
EVENT_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        # where ts came from: the line itself, the file's modification time, or the ingest's clock
        pa.field("ts_source", pa.string()),
        pa.field("event_date", pa.string()),
        pa.field("host", pa.string()),
        pa.field("process", pa.string()),
        pa.field("pid", pa.string()),
        pa.field("source_file", pa.string()),
        pa.field("line_no", pa.int64()),
        pa.field("format", pa.string()),
        pa.field("event_kind", pa.string()),
        pa.field("client_addr", pa.string()),
        pa.field("user", pa.string()),
        pa.field("realm", pa.string()),
        pa.field("method", pa.string()),
        pa.field("path", pa.string()),
        pa.field("status", pa.int32()),
        # cut to tokenaudit.common.masking.MESSAGE_LIMIT characters; its full length is message_length
        pa.field("message", pa.string()),
        pa.field("message_length", pa.int64()),
        pa.field("envelope", pa.string()),
        pa.field("signature", pa.string()),
        # how the cause was found: a named software's text (signature) or a cause's words (phrase)
        pa.field("tier", pa.string()),
        # how far it can be trusted: high, medium or low (tokenaudit.catalogue.matching.confidence_of)
        pa.field("confidence", pa.string()),
        # the program as journald saw it (_COMM), which no client sets; null where the log has no such field
        pa.field("writer", pa.string()),
        # how far the line's program can be believed: trusted, claimed or none (tokenaudit.identity)
        pa.field("identity", pa.string()),
        # why a line whose writer contradicts its text is no failure of that software (event_kind "suspicious")
        pa.field("suspicion", pa.string()),
        *(pa.field(name, pa.string()) for name in EVENT_FIELDS if name not in CONTEXT_COLUMNS),
        pa.field("stream_id", pa.string()),
        pa.field("batch_id", pa.string()),
        pa.field("catalogue", pa.string()),
    ],
    metadata={VERSION_KEY: str(SCHEMA_VERSION).encode()},
)

#: Schema of the manifest: one row per source and ingest batch.
MANIFEST_SCHEMA = pa.schema(
    [
        pa.field("batch_id", pa.string()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC")),
        pa.field("source_file", pa.string()),
        pa.field("stream_id", pa.string()),
        pa.field("format", pa.string()),
        pa.field("size_bytes", pa.int64()),
        pa.field("compressed", pa.bool_()),
        pa.field("head_len", pa.int64()),
        pa.field("head_sha256", pa.string()),
        pa.field("tail_sha256", pa.string()),
        pa.field("offset_bytes", pa.int64()),
        pa.field("lines_total", pa.int64()),
        pa.field("lines_read", pa.int64()),
        pa.field("lines_parsed", pa.int64()),
        pa.field("lines_skipped", pa.int64()),
        pa.field("lines_rejected", pa.int64()),
        pa.field("events", pa.int64()),
    ]
)

REALM_SCHEMA = pa.schema(
    [
        pa.field("realm", pa.string()),
        pa.field("type", pa.string()),
        pa.field("issuer_url", pa.string()),
        pa.field("client_id", pa.string()),
        pa.field("audiences", pa.string()),
        pa.field("username_claim", pa.string()),
        pa.field("software", pa.string()),
        pa.field("source_file", pa.string()),
        pa.field("batch_id", pa.string()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)


#: Columns of the tokens table that hold times.
TIME_TOKEN_COLUMNS = ("exp_at", "iat_at", "nbf_at", "first_seen", "last_seen")
#: Schema of the tokens table: one row per token (keyed fingerprint) and batch; never the token.
TOKEN_SCHEMA = pa.schema(
    [
        pa.field(name, pa.timestamp("us", tz="UTC") if name in TIME_TOKEN_COLUMNS
                 else pa.int64() if name == "sightings" else pa.string())
        for name in (
            "fingerprint", "encoding", "alg", "kid", "typ", "iss", "sub", "aud", "azp", "client_id", "scope",
            "exp_at", "iat_at", "nbf_at", "kind", "kind_evidence", "issuer_family", "family_evidence",
            "header", "claims", "error", "first_seen", "last_seen", "sightings", "sources",
        )
    ]
    + [pa.field("batch_id", pa.string())]
)


#: Schema of the request counts of access logs (per hour, host, route, status).
REQUEST_SCHEMA = pa.schema([
    pa.field("hour", pa.timestamp("us", tz="UTC")),
    pa.field("format", pa.string()),
    pa.field("source_file", pa.string()),
    pa.field("host", pa.string()),
    pa.field("route", pa.string()),
    pa.field("status", pa.int32()),
    pa.field("count", pa.int64()),
    pa.field("batch_id", pa.string()),
])
