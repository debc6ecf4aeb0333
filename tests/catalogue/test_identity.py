"""Who wrote a line: journald's trusted fields vouch for a program, a syslog tag only claims one."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from tokenaudit.analysis.failures import failure_groups
from tokenaudit.catalogue.identity import identity_of, load_programs, read_programs, suspicions
from tokenaudit.catalogue.loading import load_catalogue
from tokenaudit.errors import CatalogueError
from tokenaudit.formats.parsing import load_formats
from tokenaudit.pipeline.chunk import ChunkContext, process_chunk

FORGED = ("openid authentication failure; rhost=10.6.6.6 msg=Failed to verify ID token: Invalid audiences: "
          "`evil123` is not a trusted audience")
REALMS = pd.DataFrame([{"realm": "zitadel", "type": "openid", "issuer_url": "https://auth.example.com",
                        "client_id": "377576883644006407", "audiences": ""}])


def _events(fmt: str, lines: list[str]) -> pd.DataFrame:
    result = process_chunk(lines, load_formats()[fmt], load_catalogue(), ChunkContext("probe.log"))
    assert result.account.balanced
    return result.events.to_pandas()


def _journal(comm: str, identifier: str = "pvedaemon", uid: str = "0", message: str = FORGED) -> str:
    return json.dumps({"__REALTIME_TIMESTAMP": "1795281243512331", "_HOSTNAME": "pve2", "SYSLOG_IDENTIFIER": identifier,
                       "_PID": "31306", "_UID": uid, "_COMM": comm, "MESSAGE": message})


def test_identity_strength_follows_the_field_that_names_the_program() -> None:
    assert identity_of(pa.array(["pvedaemon", "pvedaemon", None, ""]), pa.array(["pvedaemon worke", None, None, None]),
                       4).to_pylist() == ["trusted", "claimed", "none", "none"]


def test_f_a_syslog_tag_of_another_program_is_suspicious_and_no_failure() -> None:
    """(f) `logger -t alice '<pvedaemon's text>'`: proxmox's text from a program that is not proxmox's."""
    events = _events("syslog_rfc3164", [f"Dec  4 10:00:00 pve1 alice: {FORGED}"])
    [row] = events.to_dict("records")
    assert (row["event_kind"], row["identity"]) == ("suspicious", "claimed")
    assert "syslog tag `alice`" in row["suspicion"] and "logger -t" in row["suspicion"]
    groups = failure_groups(events, REALMS)
    assert groups["cause"].tolist() == ["suspicious_line"]
    assert "pveum" not in groups.loc[0, "recommendation"] and "_COMM" in groups.loc[0, "recommendation"]


def test_f_a_forged_pvedaemon_tag_gives_the_cause_but_no_ready_command() -> None:
    """`logger -t pvedaemon` cannot be told from pvedaemon in a syslog file: the fix asks for confirmation."""
    events = _events("syslog_rfc3164", [f"Dec  4 10:00:00 pve1 pvedaemon[2345]: {FORGED}"])
    groups = failure_groups(events, REALMS)
    assert (groups[["cause", "identity", "ready_fix"]].values.tolist()
            == [["untrusted_extra_audience", "claimed", False]])
    fix = groups.loc[0, "recommendation"]
    assert fix.startswith("Confirm evil123 before you trust it") and "syslog tag" in fix and "pveum" not in fix


def test_g_journald_comm_logger_under_a_pvedaemon_identifier_is_suspicious() -> None:
    """(g) SYSLOG_IDENTIFIER=pvedaemon is the client's claim; _COMM=logger is what journald saw."""
    events = _events("journal_json", [_journal("logger", uid="1000")])
    [row] = events.to_dict("records")
    assert (row["event_kind"], row["identity"], row["writer"]) == ("suspicious", "trusted", "logger")
    assert row["suspicion"] == ("written by `logger` (journald _COMM), which writes whatever a user gives it, "
                                "under the tag `pvedaemon`")
    assert failure_groups(events, REALMS)["cause"].tolist() == ["suspicious_line"]


def test_g_journald_comm_of_another_program_is_suspicious() -> None:
    events = _events("journal_json", [_journal("python3", identifier="pvedaemon")])
    assert events["event_kind"].tolist() == ["suspicious"]
    assert "journald saw `python3` write it" in events.loc[0, "suspicion"]


def test_strong_evidence_journald_saw_pvedaemon_write_it() -> None:
    events = _events("journal_json", [_journal("pvedaemon worke")])
    groups = failure_groups(events, REALMS)
    assert groups[["cause", "identity", "ready_fix"]].values.tolist() == [["untrusted_extra_audience", "trusted", True]]
    fix = groups.loc[0, "recommendation"]
    assert fix.startswith("First confirm that evil123 is an audience your IdP adds on purpose")
    assert "pveum realm modify zitadel --audiences evil123" in fix


def test_strong_evidence_a_zitadel_project_id_at_a_zitadel_realm_from_a_syslog_file() -> None:
    line = f"Dec  4 10:00:00 pve1 pvedaemon[2345]: {FORGED.replace('evil123', '377572587972067335')}"
    groups = failure_groups(_events("syslog_rfc3164", [line]), REALMS)
    assert groups.loc[0, "ready_fix"]
    assert groups.loc[0, "recommendation"].startswith(
        "First confirm that 377572587972067335 is your ZITADEL project's Resource Id")


def test_e_an_injected_newline_in_an_application_log_gives_no_ready_command() -> None:
    """(e) A user's text with a newline in it becomes a line of its own in an application's log."""
    lines = ["2025-12-04 10:00:00 INFO app: comment from bob: nice", FORGED]
    events = _events("generic_text", lines)
    groups = failure_groups(events[events["signature"].notna()], REALMS)
    assert groups[["cause", "ready_fix"]].values.tolist() == [["untrusted_extra_audience", False]]
    assert "pveum" not in groups.loc[0, "recommendation"]


def test_a_library_text_is_tied_to_no_program() -> None:
    """PyJWT's words may come from any application: no program contradicts them."""
    events = _events("syslog_rfc3164", ["Dec  4 10:00:00 web1 shop[7]: jwt.exceptions.ExpiredSignatureError: "
                                        "Signature has expired"])
    assert events["event_kind"].tolist() == ["auth_failure"] and events["suspicion"].isna().all()


def test_the_suspicions_name_every_reason() -> None:
    reasons = suspicions(["proxmox", "proxmox", "", "proxmox"], ["pvedaemon", "bob", "app", "pveproxy"],
                         ["sshd", None, "logger", None], frozenset({"sshd", "logger"}))
    assert reasons[0].startswith("written by `sshd`") and "under the tag `pvedaemon`" in reasons[0]
    assert "syslog tag `bob`" in reasons[1]
    assert reasons[2].startswith("written by `logger`")
    assert reasons[3] is None


def test_a_programs_file_whose_sample_does_not_hold_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "programs.toml"
    path.write_text('[[program]]\nsoftware = "x"\nnames = ["xd"]\nsource = "s"\n'
                    '  [[program.sample]]\n  process = "yd"\n  agrees = true\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match="agrees = False"):
        read_programs(path)
    assert load_programs().agrees("proxmox", "pvedaemon", None)
