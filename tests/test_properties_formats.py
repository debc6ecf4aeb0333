"""Property tests: every parser and the format detector survive whatever a log holds.

Logs are partly written by attackers (paths, user agents, user names) and
by software that crashes mid-line, so the parsers get random text, real
sample lines mutated (truncated, junk spliced in, fields swapped, times out
of range, huge numbers, JSON fields of the wrong type), invalid UTF-8, NUL
bytes, CR/LF mixes and 1 MB lines. The properties: nothing raises, and every
line is accounted for (read = parsed + skipped + rejected, each rejected or
skipped line counted under a reason).

Bounded for the suite: ``TOKENAUDIT_PROPS_EXAMPLES`` (default 15) examples per
format and test, four times as many for the detector; raise it for a deeper run.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tokenaudit.catalogue.loading import load_catalogue
from tokenaudit.formats.parsing import Detection, detect_format, lines_array, load_formats, parse_chunk, split_lines
from tokenaudit.models import LineAccount, LogFormat
from tokenaudit.pipeline.chunk import ChunkContext, process_chunk
from tokenaudit.tokens.realms import parse_domains_cfg
from tokenaudit.tokens.sightings import sightings_in_document

EXAMPLES = int(os.environ.get("TOKENAUDIT_PROPS_EXAMPLES", "15"))
PROPS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FORMATS = load_formats()
CATALOGUE = load_catalogue()
LINE_FORMATS = [fmt for fmt in FORMATS.values() if fmt.kind in ("regex", "json")]
DOCUMENT_FORMATS = [fmt for fmt in FORMATS.values() if fmt.kind in ("config", "tokens")]
ALL_SAMPLES = [sample.line for fmt in FORMATS.values() for sample in fmt.samples]
# A zone west of UTC: a local time in year 9999 then falls past the end of the calendar.
CONTEXT = ChunkContext(
    source_file="fuzz.log",
    first_line_no=1,
    timezone="America/Los_Angeles",
    reference_time=pd.Timestamp("2025-12-01", tz="UTC"),
    fingerprint_key=b"k" * 32,
)

# --- strategies ------------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=60)
NASTY = st.sampled_from([
    "", " ", "\x00", "\x00" * 8, "\t", "\r", "\ufffd", "\ufeff", "-", '"', "{", "}", "[", "]", ":", "\\",
    "9" * 40, "-1", "1e20", "-1e20", "1e308", "NaN", "Infinity", "0x7fffffff", "2147483648",
    "0000-00-00T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59",
    "99999-01-01T00:00:00Z", "2025-02-30T25:61:61Z", "31/Dec/9999:23:59:59 -1400", "01/Jan/0001:00:00:00 +1400",
    "9999/12/31 23:59:59", "Fri Dec 31 23:59:59.999999 9999", "31/Dec/9999:23:59:59.999",
    "Feb 30 25:61:61", "2016-08-10T23:39:43." + "9" * 60 + "Z",
    "eyJhbGciOiJub25lIn0.eyJleHAiOiJ4In0.", "Bearer " + "a" * 24, "claims: map[exp:" + "9" * 30 + " aud:[x",
    "authentication failure;", "msg=", "rhost=", "status=401", " 401 ", '"status":401', "%s%n", "\u202e",
])
JUNK = st.one_of(TEXT, NASTY)
HUGE = st.sampled_from(["0", "-1", "9999", "99999999999999999999", "1e20", "-99999999999999999999", "00000000"])
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
              st.floats(allow_nan=False, allow_infinity=False), TEXT, NASTY),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=6,
)


def _truncate(draw: st.DrawFn, line: str, fmt: LogFormat) -> str:
    return line[: draw(st.integers(0, len(line)))]


def _splice(draw: st.DrawFn, line: str, fmt: LogFormat) -> str:
    at = draw(st.integers(0, len(line)))
    return line[:at] + draw(JUNK) + line[at:]


def _swap_fields(draw: st.DrawFn, line: str, fmt: LogFormat) -> str:
    fields = line.split(" ")
    i, j = draw(st.integers(0, len(fields) - 1)), draw(st.integers(0, len(fields) - 1))
    fields[i], fields[j] = fields[j], fields[i]
    return " ".join(fields)


def _numbers(draw: st.DrawFn, line: str, fmt: LogFormat) -> str:
    runs = list(re.finditer(r"\d+", line))
    if not runs:
        return line
    run = runs[draw(st.integers(0, len(runs) - 1))]
    return line[: run.start()] + draw(HUGE) + line[run.end() :]


def _timestamp(draw: st.DrawFn, line: str, fmt: LogFormat) -> str:
    stamps = [s.expect["ts"] for s in fmt.samples if s.expect.get("ts") and s.expect["ts"] in line]
    if not stamps:
        return line
    return line.replace(stamps[0], draw(st.one_of(NASTY, HUGE)), 1)


def _mistype_json(draw: st.DrawFn, line: str, fmt: LogFormat) -> str:
    """Give one field the format reads a value of the wrong type (or a path through a non-object)."""
    try:
        obj = json.loads(line)
    except ValueError:
        return line
    if not isinstance(obj, dict):
        return line
    keys = [key for keys in fmt.fields.values() for key in keys] or list(obj)
    path = draw(st.sampled_from(keys)).split(".")
    cut = draw(st.integers(1, len(path)))  # sometimes replace a parent object by a scalar
    target: Any = obj
    for part in path[: cut - 1]:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target[path[cut - 1]] = draw(JSON_VALUE)
    return json.dumps(obj)


MUTATIONS = [_truncate, _splice, _swap_fields, _numbers, _timestamp, _mistype_json]


@st.composite
def mutated_sample(draw: st.DrawFn, fmt: LogFormat) -> str:
    """A real sample line of ``fmt`` (or of another format), mutated up to three times."""
    own = [sample.line for sample in fmt.samples]
    line = draw(st.sampled_from(own) if own and draw(st.booleans()) else st.sampled_from(ALL_SAMPLES))
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), max_size=3)):
        line = mutation(draw, line, fmt)
    return line


@st.composite
def block_of(draw: st.DrawFn, lines: st.SearchStrategy[str]) -> bytes:
    """Lines joined by a mix of LF, CRLF, CR and LFCR, with invalid UTF-8 bytes spliced in."""
    parts = draw(st.lists(lines, min_size=1, max_size=8))
    block = b""
    for part in parts:
        block += part.encode("utf-8") + draw(st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\r", b"\n\n"]))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(block)))
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\x00"]))
        block = block[:at] + bad + block[at:]
    return block


def mutated_block(fmt: LogFormat) -> st.SearchStrategy[bytes]:
    return block_of(st.one_of(mutated_sample(fmt), JUNK))


# --- properties --------------------------------------------------------------------------------


def assert_accounted(account: LineAccount, lines: int) -> None:
    """Every line read was parsed, skipped or rejected, and each skip and rejection has a reason."""
    assert account.read == lines
    assert min(account.parsed, account.skipped, account.rejected, account.events) >= 0, account
    assert account.balanced, account
    assert sum(account.rejected_reasons.values()) == account.rejected, account
    assert sum(account.skipped_reasons.values()) == account.skipped, account
    assert account.events <= account.parsed, account


def check_chunk(block: bytes, fmt: LogFormat) -> None:
    lines = lines_array(block)
    assert len(lines) == (len(split_lines(block)) if block else 0)
    everything = parse_chunk(lines, fmt, first_line_no=1, marker=None)  # every line a candidate
    assert_accounted(everything.account, len(lines))
    line_no = everything.records.column("line_no").to_pylist()
    if not fmt.continuation:  # a continuation line is parsed as part of the line before it
        assert len(line_no) == everything.account.parsed
    assert all(1 <= n <= len(lines) for n in line_no)
    result = process_chunk(lines, fmt, CATALOGUE, CONTEXT)
    assert_accounted(result.account, len(lines))
    assert result.events.num_rows == result.account.events
    assert all(1 <= n <= len(lines) for n in result.events.column("line_no").to_pylist())


# Regressions the properties found (each example ran into a traceback before its fix):
# a JSON status of the wrong type or too large for int32 (traefik_json, kong_json, caddy_json, nginx_json);
TRAEFIK_STATUS_OBJECT = (
    b'{"ClientHost":"203.0.113.7","DownstreamStatus":{"x":{"y":1}},"RequestMethod":"GET",'
    b'"RequestPath":"/api/x","StartUTC":"2026-05-01T10:00:00.123Z"}\n'
)
KONG_STATUS_HUGE = (
    b'{"started_at":1716723772601,"response":{"status":100000000000000000000},'
    b'"request":{"method":"GET","uri":"/log","headers":{"host":"localhost"}},"client_ip":"10.0.0.1"}\n'
)
# an access-log time with a fraction too long to parse (aws_alb): its request count hour was NaT;
ALB_LONG_FRACTION = (
    b"https 2016-08-10T23:39:43.0654669999999999999999999999999999999999999999Z app/my-loadbalancer/50dc6c495c0c9188 "
    b"192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 401 401 0 57 \"GET https://www.example.com:443/ HTTP/1.1\" "
    b"\"curl/7.46.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:"
    b"targetgroup/my-targets/73e2d6bc24d8a067 \"Root=1-58337281-1d84f3d73c47ec4e58577259\" www.example.com "
    b"arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012\n"
)
# a local time in year 9999, west of UTC, could not be localized (nginx_error, oauth2-proxy, haproxy, apache).
NGINX_YEAR_9999 = (
    b"9999/12/31 23:59:59 [error] 45#45: *1784241 [lua] openid-connect.lua:268: phase_func(): OIDC introspection "
    b"failed: response indicates failure, status=401, body=, client: 192.168.3.69, server: , "
    b'request: "POST /oidc/test HTTP/1.1", host: "192.168.3.34:19080"\n'
)


@pytest.mark.parametrize("fmt", LINE_FORMATS, ids=lambda fmt: fmt.name)
@PROPS
@given(data=st.data())
def test_mutated_samples_are_accounted_for(fmt: LogFormat, data: st.DataObject) -> None:
    check_chunk(data.draw(mutated_block(fmt), label="block"), fmt)


@pytest.mark.parametrize("fmt", LINE_FORMATS, ids=lambda fmt: fmt.name)
@PROPS
@given(block=st.one_of(st.binary(max_size=400), block_of(JUNK)))
@example(block=TRAEFIK_STATUS_OBJECT)
@example(block=KONG_STATUS_HUGE)
@example(block=ALB_LONG_FRACTION)
@example(block=NGINX_YEAR_9999)
@example(block=b"\x00" * 64 + b"\n")
@example(block=b"\r\n\r\r\n\n")
def test_random_bytes_are_accounted_for(fmt: LogFormat, block: bytes) -> None:
    check_chunk(block, fmt)


def test_regressions_parse_as_far_as_they_can() -> None:
    """The lines of the regression examples above are not only survived but read right."""
    traefik = process_chunk(lines_array(TRAEFIK_STATUS_OBJECT), FORMATS["traefik_json"], CATALOGUE, CONTEXT)
    assert (traefik.account.parsed, traefik.account.rejected) == (1, 0)
    assert traefik.events.num_rows == 0  # no status, so no refusal
    alb = process_chunk(lines_array(ALB_LONG_FRACTION), FORMATS["aws_alb"], CATALOGUE, CONTEXT)
    assert alb.account.rejected_reasons == {"timestamp did not parse": 1}
    assert alb.requests.empty
    nginx = process_chunk(lines_array(NGINX_YEAR_9999), FORMATS["nginx_error"], CATALOGUE, CONTEXT)
    assert nginx.account.rejected_reasons == {"timestamp did not parse": 1}
    assert nginx.events.num_rows == 0
    in_range = NGINX_YEAR_9999.replace(b"9999/12/31", b"2021/03/23")
    assert process_chunk(lines_array(in_range), FORMATS["nginx_error"], CATALOGUE, CONTEXT).events.num_rows == 1


ONE_MB = 1024 * 1024


@pytest.mark.parametrize("fmt", LINE_FORMATS, ids=lambda fmt: fmt.name)
def test_one_megabyte_lines(fmt: LogFormat) -> None:
    """1 MB lines of junk next to a sample line; a sample line with 1 MB appended has its fields extracted."""
    sample = fmt.samples[0].line
    block = "\n".join(["A" * ONE_MB, "\x00B" * (ONE_MB // 2), sample, ""]).encode()
    result = process_chunk(lines_array(block), fmt, CATALOGUE, CONTEXT)
    assert_accounted(result.account, 3)
    alone = process_chunk(lines_array(sample.encode()), fmt, CATALOGUE, CONTEXT)
    assert result.events.num_rows == alone.events.num_rows  # the sample is read as it is alone
    long = parse_chunk(lines_array((sample + " " + "A" * ONE_MB + "\n" + sample).encode()), fmt,
                       first_line_no=1, marker=None)
    assert_accounted(long.account, 2)


@pytest.mark.parametrize("name", ["syslog_rfc3164", "journal_json", "combined_access"])
def test_one_megabyte_failure_line(name: str) -> None:
    """A failure line grown to 1 MB goes through signature matching (1-2 s: every signature runs on it)."""
    fmt = FORMATS[name]
    line = fmt.samples[0].line  # a failure line in the first two; its message grows (inside the JSON string)
    grown = line[:-2] + "A" * ONE_MB + line[-2:] if fmt.kind == "json" else line + " " + "A" * ONE_MB
    result = process_chunk(lines_array(grown.encode()), fmt, CATALOGUE, CONTEXT)
    assert_accounted(result.account, 1)
    alone = process_chunk(lines_array(line.encode()), fmt, CATALOGUE, CONTEXT)
    assert result.account.events == alone.account.events == (name != "combined_access")


# --- the detector ----------------------------------------------------------------------------


def check_detection(head: list[str]) -> None:
    detection = detect_format(head)
    assert isinstance(detection, Detection)
    assert detection.format is None or detection.format is FORMATS[detection.format.name]
    assert all(0 <= hit <= total for hit, total in detection.scores.values()), detection.scores
    assert isinstance(detection.explain(), str)


@settings(PROPS, max_examples=EXAMPLES * 4)
@given(head=st.lists(st.one_of(JUNK, st.sampled_from(ALL_SAMPLES)), max_size=30))
@example(head=[])
@example(head=["\x00"])
@example(head=["", "", ""])
def test_detector_never_raises_on_lines(head: list[str]) -> None:
    check_detection(head)


@settings(PROPS, max_examples=EXAMPLES * 4)
@given(data=st.data())
def test_detector_never_raises_on_mutated_heads(data: st.DataObject) -> None:
    fmt = data.draw(st.sampled_from(list(FORMATS.values())), label="format")
    check_detection(split_lines(data.draw(block_of(st.one_of(mutated_sample(fmt), JUNK)), label="head")))


@settings(PROPS, max_examples=EXAMPLES * 4)
@given(head=st.binary(max_size=2000))
def test_detector_never_raises_on_bytes(head: bytes) -> None:
    check_detection(split_lines(head))


# --- documents: domains.cfg and token files --------------------------------------------------


@pytest.mark.parametrize("fmt", DOCUMENT_FORMATS, ids=lambda fmt: fmt.name)
@PROPS
@given(data=st.data())
def test_documents_are_accounted_for(fmt: LogFormat, data: st.DataObject) -> None:
    lines = split_lines(data.draw(st.one_of(mutated_block(fmt), st.binary(max_size=400)), label="block"))
    if fmt.kind == "config":
        realms, account = parse_domains_cfg(lines, source_file="domains.cfg")
        assert_accounted(account, len(lines))
        assert all(realm.source_file == "domains.cfg" for realm in realms)
    else:
        sightings, bad = sightings_in_document(lines, fmt.name, source="tokens.txt")
        assert 0 <= bad <= sum(1 for line in lines if line.strip())
        assert all(s.token is not None or s.claims is not None for s in sightings)


@pytest.mark.parametrize("name", ["har", "token_response"])
@PROPS
@given(document=JSON_VALUE, wrap=st.sampled_from(["log", "entries", "request", "none"]))
@example(document=[], wrap="log")
@example(document={"request": [], "response": "x"}, wrap="entries")
@example(document={"headers": [1, None, {"name": 1}], "url": 5, "postData": []}, wrap="request")
def test_token_documents_of_any_shape(name: str, document: Any, wrap: str) -> None:
    """HAR files and token responses whose JSON has any shape at all: read, never a traceback."""
    if wrap == "request":
        document = {"log": {"entries": [{"request": document, "response": document}]}}
    elif wrap == "entries":
        document = {"log": {"entries": [document, document]}}
    elif wrap == "log":
        document = {"log": document}
    lines = json.dumps(document, indent=1).splitlines()
    sightings, bad = sightings_in_document(lines, name, source="capture.har")
    assert bad == 0  # valid JSON is never a bad line, whatever its shape
    assert all(s.token is not None for s in sightings)


def test_token_documents_nested_too_deep() -> None:
    """JSON nested deeper than Python's recursion limit is a bad document, not a RecursionError."""
    deep = '{"log":' * 5000 + "1" + "}" * 5000
    for name in ("har", "token_response"):
        assert sightings_in_document([deep, deep], name, source="deep.har") == ([], 2)
