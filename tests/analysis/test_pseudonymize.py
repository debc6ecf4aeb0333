"""Pseudonymized reports name no user, subject, e-mail or client address, and agree across formats."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import tokenaudit as ta
from tokenaudit.analysis.pseudonymize import Pseudonymizer, identity_values, pseudonym, pseudonymize
from tokenaudit.cli import app

from ..conftest import SAMPLE_LOGS

KEY = b"p" * 32
FORMATS = ("html", "markdown", "json")
#: People and addresses of the sample logs that a normal report shows (checked below, so the test can fail).
MUST_VANISH = ("alice", "root@pam", "alice@example.com", "282374728973", "203.0.113.77",
               "::ffff:192.168.178.81", "192.0.2.44", "bob@example.com@zitadel")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pseudo")
    shutil.copytree(SAMPLE_LOGS, root / "logs")
    ta.ingest([str(root / "logs")], root / "ds", timezone="Europe/Berlin", fingerprint_key=KEY)
    return root / "ds"


def _report(dataset: Path, fmt: str, *extra: str, key_file: Path | None = None) -> str:
    env = {"TOKENAUDIT_KEY_FILE": str(key_file)} if key_file else None
    result = CliRunner().invoke(app, ["report", "--dataset", str(dataset), "--since", "2026-11-01",
                                      "--until", "2026-12-01", "--format", fmt, *extra], env=env)
    assert result.exit_code == 0, result.output
    return html.unescape(result.stdout) if fmt == "html" else result.stdout


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "fingerprint.key"
    path.write_bytes(KEY)
    return path


@pytest.fixture(scope="module")
def reports(dataset: Path, key_file: Path) -> dict[tuple[str, bool], str]:
    return {(fmt, pseudo): _report(dataset, fmt, *(["--pseudonymize"] if pseudo else []), key_file=key_file)
            for fmt in FORMATS for pseudo in (False, True)}


def test_every_name_and_address_vanishes_from_every_format(dataset: Path, reports: dict[tuple[str, bool], str]) -> None:
    names = identity_values(ta.read_events(dataset), ta.read_tokens(dataset))
    assert set(MUST_VANISH) <= names
    for fmt in FORMATS:
        normal, pseudo = reports[fmt, False], reports[fmt, True]
        shown = {v for v in names if v in normal}
        assert {"alice", "root@pam", "203.0.113.77", "::ffff:192.168.178.81"} <= shown, fmt
        assert not [v for v in names if v in pseudo], fmt
        assert not re.search(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", pseudo.replace("§3.1.3.7", "")), fmt
    assert set(MUST_VANISH) <= {v for v in names if v in reports["json", False]}


def test_the_same_value_has_the_same_pseudonym_in_every_format(reports: dict[tuple[str, bool], str]) -> None:
    for value in ("alice", "root@pam", "203.0.113.77"):
        alias = pseudonym(value, KEY)
        assert all(alias in reports[fmt, True] for fmt in FORMATS), value
    # an IPv4-mapped IPv6 address is its IPv4 address
    assert pseudonym("::ffff:192.168.178.81", KEY) in reports["markdown", True]
    assert "rhost=ip-" in reports["markdown", True]
    assert "The credentials given for user-" in reports["markdown", True]


def test_pseudonyms_are_stable_across_reports_and_change_with_the_key(dataset: Path, key_file: Path,
                                                                      tmp_path: Path) -> None:
    again = _report(dataset, "json", "--pseudonymize", key_file=key_file)
    assert pseudonym("alice", KEY) in again
    other_key = tmp_path / "other.key"
    other_key.write_bytes(b"o" * 32)
    other = _report(dataset, "json", "--pseudonymize", key_file=other_key)
    assert pseudonym("alice", KEY) not in other and pseudonym("alice", b"o" * 32) in other


def test_the_python_api_pseudonymizes_the_report_tables(dataset: Path) -> None:
    report = ta.build_report(dataset, since=pd.Timestamp("2026-11-01", tz="UTC"),
                             until=pd.Timestamp("2026-12-01", tz="UTC"), pseudonymize=True, key=KEY)
    text = report.groups.to_csv() + "".join(f.title + f.detail for f in report.security)
    assert "alice" not in text and "root@pam" not in text
    assert pseudonym("root@pam", KEY) in set(report.groups["key"])


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        ("openid authentication failure; rhost=::ffff:192.0.2.1 msg=x", ["192.0.2.1"], ["rhost=ip-", "msg=x"]),
        ("client: 2001:db8::1234, server: orders", ["2001:db8::1234"], ["server: orders"]),
        ("upstream 10.1.2.3:8443 refused", ["10.1.2.3"], [":8443 refused"]),
        ('username="carol", userId="4e2f-99", ipAddress="198.51.100.9"', ["carol", "4e2f-99", "198.51.100.9"],
         ["username="]),
        ("no such user ('dave@example.org@zitadel')", ["dave@example.org"], ["no such user"]),
        ("at 2026-11-21T17:11:27Z per OpenID Connect Core §3.1.3.7, ::1 later", [], ["17:11:27", "§3.1.3.7"]),
        ("sqlpage::webserver::oidc version 1.0.3", [], ["sqlpage::webserver::oidc", "1.0.3"]),
        ("invalid client: orders-ui, client: 192.0.2.5", ["192.0.2.5"], ["client: orders-ui"]),
    ],
)
def test_texts_lose_people_and_addresses_and_keep_the_rest(text: str, gone: list[str], kept: list[str]) -> None:
    out = Pseudonymizer(KEY).text(text)
    assert not [g for g in gone if g in out], out
    assert all(k in out for k in kept), out


def test_known_names_are_replaced_as_whole_words_only() -> None:
    names = Pseudonymizer(KEY, frozenset({"ann"}))
    out = names.text("ann failed; annual planning by joann; ann.")
    assert out == f"{pseudonym('ann', KEY)} failed; annual planning by joann; {pseudonym('ann', KEY)}."


def test_pseudonymize_frame_does_not_mutate_and_covers_columns() -> None:
    events = pd.DataFrame({"user": ["alice", None], "client_addr": ["192.0.2.7", "::ffff:192.0.2.7"],
                           "message": ["bad password for alice from 192.0.2.7", "x"], "count": [1, 2]})
    before = events.copy()
    out = pseudonymize(events, KEY)
    pd.testing.assert_frame_equal(events, before)
    assert out.loc[0, "user"] == pseudonym("alice", KEY)
    assert out.loc[0, "client_addr"] == out.loc[1, "client_addr"] == pseudonym("192.0.2.7", KEY)
    assert out.loc[0, "message"] == f"bad password for {pseudonym('alice', KEY)} from {pseudonym('192.0.2.7', KEY)}"
    assert out["count"].tolist() == [1, 2] and pd.isna(out.loc[1, "user"])
