"""The catalogue and the formats against their samples, and the annotated sample logs.

Like fail2ban's filter tests: every signature and format has samples that
must match (with exact captures) or must not; every line of every sample log
gives exactly the event its ``#@ expect`` annotation says, and a line with no
annotation gives none.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tokenaudit.analysis.failures import classify
from tokenaudit.catalogue.loading import load_catalogue
from tokenaudit.catalogue.samples import check_catalogue, check_formats, read_annotated_log, samples_lost_to_masking
from tokenaudit.formats.parsing import detect_format, load_formats
from tokenaudit.pipeline.chunk import ChunkContext, process_chunk
from tokenaudit.tokens.decode import inspect_token
from tokenaudit.tokens.realms import parse_domains_cfg
from tokenaudit.tokens.sightings import sightings_in_document, tokens_table

from ..conftest import SAMPLE_LOGS, TESTS_DATA_DIR

CATALOGUE = load_catalogue()
FORMATS = load_formats()
CATALOGUE_PROBLEMS = check_catalogue(CATALOGUE)
FORMAT_PROBLEMS = check_formats(FORMATS)
SAMPLE_FILES = sorted(p for p in SAMPLE_LOGS.rglob("*") if p.is_file() and p.parent.name in FORMATS)


@pytest.mark.parametrize("signature_id", [s.id for s in CATALOGUE.signatures])
def test_signature_matches_its_samples(signature_id: str) -> None:
    problems = [str(p) for p in CATALOGUE_PROBLEMS if p.where.split(": ")[-1].split("[")[0] == signature_id]
    assert not problems, "\n".join(problems)


def test_catalogue_has_no_problem_outside_signatures() -> None:
    ids = {s.id for s in CATALOGUE.signatures}
    stray = [str(p) for p in CATALOGUE_PROBLEMS if p.where.split(": ")[-1].split("[")[0] not in ids]
    assert not stray


def test_the_samples_the_user_s_spans_hide_are_the_known_ones() -> None:
    """A real line is searched with the user's spans masked; a sample that fires only as written proves less.

    The known ones are listed in ``tests/data/samples_lost_to_masking.txt``: a new one fails here, and so does
    one mended but still listed.
    """
    listed = (TESTS_DATA_DIR / "samples_lost_to_masking.txt").read_text(encoding="utf-8").splitlines()
    known = {line for line in listed if line and not line.startswith("#")}
    lost = {problem.where.split(": ", 1)[1] for problem in samples_lost_to_masking(CATALOGUE)}
    assert sorted(lost - known) == [], "new samples the masking hides (see samples_lost_to_masking)"
    assert sorted(known - lost) == [], "mended: take them off tests/data/samples_lost_to_masking.txt"


@pytest.mark.parametrize("name", list(FORMATS))
def test_format_matches_its_samples(name: str) -> None:
    problems = [str(p) for p in FORMAT_PROBLEMS if Path(p.where.split("[")[0]).stem == name]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_has_a_sample_log(name: str) -> None:
    assert list((SAMPLE_LOGS / name).glob("*")), f"sample_logs/{name}/ holds no sample log"


def test_every_signature_names_its_source() -> None:
    assert all(len(s.source) > 10 for s in CATALOGUE.signatures)


def _events_of(path: Path) -> tuple[pd.DataFrame, dict[int, dict[str, object]]]:
    log = read_annotated_log(path)
    fmt = FORMATS[path.parent.name]
    settings = log.settings
    reference = pd.Timestamp(settings["mtime"]) if "mtime" in settings else pd.Timestamp("2026-11-23", tz="UTC")
    context = ChunkContext(str(path), timezone=settings.get("timezone", "UTC"), reference_time=reference)
    result = process_chunk(log.lines, fmt, CATALOGUE, context)
    assert result.account.balanced
    assert result.account.rejected == 0, result.account.rejected_reasons
    events = classify(result.events.to_pandas())
    return events, log.expectations


LOG_FILES = [p for p in SAMPLE_FILES if FORMATS[p.parent.name].kind in ("regex", "json")]


@pytest.mark.parametrize("path", LOG_FILES,
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_log_lines_give_exactly_the_annotated_events(path: Path) -> None:
    events, expectations = _events_of(path)
    by_line = {int(row["line_no"]): row for row in events.to_dict("records")}
    unexpected = sorted(set(by_line) - set(expectations))
    assert not unexpected, f"{path}: lines {unexpected} gave events but carry no #@ expect"
    for line_no, expect in expectations.items():
        assert line_no in by_line, f"{path}:{line_no}: expected an event, got none"
        row = by_line[line_no]
        for key, wanted in expect.items():
            got = row.get(key)
            if key == "ts":
                got = pd.Timestamp(got).isoformat().replace("+00:00", "Z")
                wanted = pd.Timestamp(str(wanted)).isoformat().replace("+00:00", "Z")
            elif key == "status":
                got = int(got)  # type: ignore[call-overload]
            assert got == wanted, f"{path}:{line_no}: {key} is {got!r}, expected {wanted!r}"


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_log_is_detected_as_its_format(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    detection = detect_format(lines, FORMATS)
    assert detection.format is not None, detection.explain()
    assert detection.format.name == path.parent.name


def test_sample_domains_cfg_gives_the_zitadel_realm_without_its_secret() -> None:
    path = SAMPLE_LOGS / "pve_domains_cfg" / "domains.cfg"
    realms, account = parse_domains_cfg(path.read_text(encoding="utf-8").splitlines())
    zitadel = next(r for r in realms if r.name == "zitadel")
    assert (zitadel.type, zitadel.client_id, zitadel.issuer_url) == (
        "openid", "377576883644006407", "https://auth.example.com")
    assert "Zk3vQ0Zq1d9Yb6Sx2Lr8Tn4Wm7Pc5Ha0" not in repr(realms)
    assert account.balanced and account.rejected == 0


def test_every_cause_signature_of_proxmox_and_openidconnect_fires_in_some_sample_log() -> None:
    seen: set[str] = set()
    for path in LOG_FILES:
        seen |= set(_events_of(path)[0]["signature"].dropna())
    story = {"openidconnect.untrusted_audience", "openidconnect.client_id_missing", "openidconnect.issuer_mismatch",
             "openidconnect.expired", "openidconnect.signature_failed", "openidconnect.token_request_failed",
             "proxmox.openid_state_timeout", "proxmox.password_pam_failure", "proxmox.password_invalid",
             "proxmox.account_unknown", "proxmox.password_on_openid_realm"}
    assert story <= seen, f"not shown by any sample log: {sorted(story - seen)}"


TOKEN_FILES = {p.name: p for p in SAMPLE_FILES if FORMATS[p.parent.name].kind == "tokens"}
KEY = b"k" * 32


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("zitadel-proxmox-login.har", {("opaque", "unknown", None), ("jws", "id_token", "zitadel")}),
        ("keycloak-orders-ui.json", {("jws", "access_token", "keycloak"), ("jws", "id_token", "keycloak")}),
        ("captured-bearer-tokens.txt", {("jws", "access_token", "generic"), ("jws", "id_token", "keycloak"),
                                        ("opaque", "unknown", None), ("jwe", "unknown", None)}),
    ],
)
def test_token_samples_give_the_tokens_they_hold(name: str, expected: set[tuple[str, str, str | None]]) -> None:
    path = TOKEN_FILES[name]
    found, bad = sightings_in_document(path.read_text(encoding="utf-8").splitlines(), path.parent.name, source=name)
    table = tokens_table(found, KEY)
    got = {(row["encoding"], row["kind"], row["issuer_family"] if isinstance(row["issuer_family"], str) else None)
           for row in table.to_dict("records")}
    assert got == expected
    assert bad == (1 if name.endswith(".txt") else 0)


_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_RESERVED = re.compile(r"^https?://([a-z0-9-]+\.)*(example\.(com|org|net)|[a-z0-9-]+\.(test|example))(:\d+)?(/|$)")


def test_every_token_in_the_repository_is_synthetic() -> None:
    """Hygiene: a JWT in sample_logs/ or tests/ must name an issuer on a reserved domain (RFC 2606)."""
    roots = [SAMPLE_LOGS, SAMPLE_LOGS.parent / "tests"]
    checked = 0
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.suffix in (".pyc",):
                continue
            for token in _JWT.findall(path.read_text(encoding="utf-8", errors="replace")):
                info = inspect_token(token, KEY)
                iss = str(info.claims.get("iss", ""))
                if info.encoding == "jws" and iss:
                    assert _RESERVED.match(iss), f"{path}: a token with issuer {iss!r}"
                    checked += 1
    assert checked >= 5
