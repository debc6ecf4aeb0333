"""Bad command-line input: one ``error:`` line, one ``hint:`` line, the documented exit code, never a traceback.

README, "Exit codes": 0 success; 1 an error tokenaudit explains; 2 a usage error;
3 a check or ``--fail-on`` condition; 4 ingest finished but some inputs could not be read; 6 the dataset
cannot be written; 7 out of memory.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tokenaudit as ta
from tokenaudit.cli import app
from tokenaudit.store.layout import committed_batches

from .conftest import SAMPLE_LOGS

SIG_HEAD = 'family = "{name}"\nsource = "me"\n'


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of bad inputs, and a small good dataset ``ds``."""
    root = tmp_path_factory.mktemp("bad")
    (root / "empty").mkdir()
    (root / "binary.log").write_bytes(bytes(range(256)) * 40)
    os.mkfifo(root / "fifo")
    (root / "token.txt").write_text("not a token at all, just words\n")
    (root / "rp-syntax.toml").write_text("[[relying_party]\nname = 'x'\n")
    (root / "rp-table.toml").write_text("[relying_party]\nname = 'x'\n")
    (root / "rp-types.toml").write_text("[[relying_party]]\nname = 'x'\naudiences = 5\n")
    (root / "rp-kind.toml").write_text("[[relying_party]]\nname = 'x'\nkind = 'mainframe'\n")
    (root / "rp-noname.toml").write_text("[[relying_party]]\nkind = 'api'\n")
    (root / "rp-binary.toml").write_bytes(b"\xff\xfe\x00\x01")
    (root / "sigsyntax.toml").write_text(SIG_HEAD.format(name="sigsyntax") + "[[signature]\n")
    (root / "sigfamily.toml").write_text(SIG_HEAD.format(name="other"))
    (root / "sigkeys.toml").write_text('family = "sigkeys"\n')
    (root / "sigarray.toml").write_text(SIG_HEAD.format(name="sigarray") + "signature = 4\n")
    (root / "sigregex.toml").write_text(SIG_HEAD.format(name="sigregex") + '[[signature]]\nid = "sigregex.x"\n'
                                        'title = "t"\ncause = "expired"\npattern = "^a($"\nsource = "s"\n')
    (root / "sigescape.toml").write_text(SIG_HEAD.format(name="sigescape") + '[[signature]]\nid = "sigescape.x"\n'
                                         "title = 't'\ncause = 'expired'\npattern = 'gone\\z'\nsource = 's'\n")
    (root / "domains.cfg").write_text("openid: zitadel\n\tissuer-url https://auth.example.com\n}}} broken {{{\n")
    shutil.copy(SAMPLE_LOGS / "syslog_rfc3164" / "pve1-syslog.log", root / "pve1.log")
    ta.ingest([str(root / "pve1.log")], root / "ds", timezone="Europe/Berlin", fingerprint_key=b"k" * 32)
    return root


TOKEN_FILE = str(SAMPLE_LOGS / "jwt_lines" / "captured-bearer-tokens.txt")

CASES = [
    # (args, exit code, fragment of the error line, or of stdout for codes 0 and 4)
    # missing and wrong inputs
    (["ingest", "{p}/nope.log", "-d", "{p}/new"], 1, "nope.log: no such file or folder"),
    (["ingest", "{p}/empty", "-d", "{p}/new"], 1, "folder holds no files"),
    (["ingest", "{p}/*.nomatch", "-d", "{p}/new"], 1, "the pattern matches no file"),
    (["ingest", "{p}/fifo", "-d", "{p}/new"], 1, "not a regular file or folder"),
    (["ingest", "{p}/binary.log", "-d", "{p}/new"], 4, "binary file, not a log"),
    (["ingest", "{p}/domains.cfg", "-d", "{p}/new-cfg"], 0, "rejected 1: not a domains.cfg line"),
    (["ingest", "{p}/pve1.log", "-d", "{p}/binary.log"], 1, "is a file, not a dataset folder"),
    (["explain", "{p}/nope.txt"], 1, "nope.txt: cannot read"),
    (["explain", "{p}/empty"], 1, "empty: cannot read"),
    (["explain", "{p}/token.txt"], 1, "no token found in the input"),
    (["signatures", "try", "{p}/empty"], 1, "empty: no such file"),
    (["analyze", "-d", "{p}/nope"], 1, "no such dataset"),
    (["analyze", "-d", "{p}/empty"], 1, "not a tokenaudit dataset"),
    (["events", "-d", "{p}/binary.log"], 1, "is a file, not a dataset folder"),
    # unknown names
    (["ingest", "{p}/pve1.log", "-d", "{p}/new", "--input-format", "nosuch"], 1, "unknown format 'nosuch'"),
    (["signatures", "try", "{p}/pve1.log", "--input-format", "nosuch"], 1, "unknown format 'nosuch'"),
    (["ingest", "{p}/pve1.log", "-d", "{p}/new", "--format", "yaml"], 2, "'yaml' is not one of 'text', 'json'"),
    (["analyze", "-d", "{p}/ds", "--format", "xml"], 2, "'xml' is not one of"),
    (["events", "-d", "{p}/ds", "--format", "parquet"], 2, "'parquet' is not one of"),
    (["report", "-d", "{p}/ds", "--format", "pdf"], 2, "'pdf' is not one of"),
    (["explain", TOKEN_FILE, "--expect", "refresh"], 2, "'refresh' is not one of"),
    (["explain", TOKEN_FILE, "--rp", "nosuch", "-d", "{p}/ds"], 1, "no relying party 'nosuch'"),
    (["explain", TOKEN_FILE, "--rp", "nosuch", "--config", str(SAMPLE_LOGS / "tokenaudit.toml")], 1,
     "no relying party 'nosuch'"),
    (["analyze", "--bogus"], 2, "No such option: --bogus"),
    (["frobnicate"], 2, "No such command 'frobnicate'"),
    (["ingest"], 2, "Missing argument"),
    (["ingest", "{p}/pve1.log", "--jobs", "0"], 2, "--jobs"),
    # times and zones
    (["analyze", "-d", "{p}/ds", "--since", "yesterday"], 1, "cannot read 'yesterday' as a time"),
    (["analyze", "-d", "{p}/ds", "--since", ""], 1, "cannot read '' as a time"),
    (["events", "-d", "{p}/ds", "--until", "2025-13-45"], 1, "cannot read '2025-13-45' as a time"),
    (["events", "-d", "{p}/ds", "--since", "99999999999999999999d"], 1, "as a time"),
    (["events", "-d", "{p}/ds", "--since", "99999999999999999999"], 1, "as a time"),
    (["events", "-d", "{p}/ds", "--since", "2026-01-02", "--until", "2026-01-01"], 1, "is not after since 2026-01-02"),
    (["report", "-d", "{p}/ds", "--since", "7q"], 1, "cannot read '7q' as a time"),
    (["report", "-d", "{p}/ds", "--since", "2026-01-02", "--until", "2026-01-01"], 1, "ends before it starts"),
    (["explain", TOKEN_FILE, "--at", "teatime"], 1, "cannot read 'teatime' as a time"),
    (["ingest", "{p}/pve1.log", "-d", "{p}/new", "--timezone", "Mars/Olympus"], 1, "unknown time zone 'Mars/Olympus'"),
    (["schedule", "{p}/pve1.log", "--at", "25:00"], 1, "is not a time of day"),
    # configuration files
    (["analyze", "-d", "{p}/ds", "--config", "{p}/nope.toml"], 1, "no such configuration file"),
    (["analyze", "-d", "{p}/ds", "--config", "{p}/empty"], 1, "no such configuration file"),
    (["analyze", "-d", "{p}/ds", "--config", "{p}/rp-syntax.toml"], 1, "not valid TOML"),
    (["analyze", "-d", "{p}/ds", "--config", "{p}/rp-table.toml"], 1, "relying_party must be an array of tables"),
    (["analyze", "-d", "{p}/ds", "--config", "{p}/rp-types.toml"], 1, "audiences must be a list of strings"),
    (["analyze", "-d", "{p}/ds", "--config", "{p}/rp-kind.toml"], 1, "kind 'mainframe' is unknown"),
    (["analyze", "-d", "{p}/ds", "--config", "{p}/rp-noname.toml"], 1, "missing key(s): name"),
    (["report", "-d", "{p}/ds", "--config", "{p}/rp-binary.toml"], 1, "not UTF-8"),
    (["explain", TOKEN_FILE, "--rp", "x", "--config", "{p}/rp-syntax.toml"], 1, "not valid TOML"),
    # signature files
    (["signatures", "check", "--signatures", "{p}/nope.toml"], 1, "cannot read"),
    (["signatures", "check", "--signatures", "{p}/sigsyntax.toml"], 1, "not valid TOML"),
    (["signatures", "list", "--signatures", "{p}/sigfamily.toml"], 1, "differs from the file name"),
    (["signatures", "list", "--signatures", "{p}/sigkeys.toml"], 1, "missing key(s): source"),
    (["signatures", "check", "--signatures", "{p}/sigarray.toml"], 1, "signature must be an array of tables"),
    (["ingest", "{p}/pve1.log", "-d", "{p}/new", "--signatures", "{p}/sigregex.toml"], 1, "does not compile"),
    # RE2 takes \z, Python's parser (on which the checks walk) does not: a message, not a traceback
    (["why", "token gone", "--signatures", "{p}/sigescape.toml"], 1, "the catalogue's checks cannot read it"),
    (["analyze", "-d", "{p}/ds", "--signatures", "{p}/rp-binary.toml"], 1, "not UTF-8"),
    (["events", "-d", "{p}/ds", "--signatures", "{p}/rp-binary.toml"], 1, "not UTF-8"),
    (["report", "-d", "{p}/ds", "--signatures", "{p}/rp-binary.toml"], 1, "not UTF-8"),
    (["why", "x", "--signatures", "{p}/rp-binary.toml"], 1, "not UTF-8"),
    (["signatures", "try", "{p}/pve1.log", "--signatures", "{p}/rp-binary.toml"], 1, "not UTF-8"),
    # output
    (["report", "-d", "{p}/ds", "--output", "{p}/binary.log/report.html"], 1, "cannot write the report"),
    # old spellings: one meaning per option now, and the error names the new one
    (["ingest", "{p}/pve1.log", "-d", "{p}/new", "--format", "syslog_rfc3164"], 2,
     "the log format is --input-format syslog_rfc3164"),
    (["ingest", "{p}/pve1.log", "-d", "{p}/new", "-f", "syslog_rfc3164"], 2, "--input-format syslog_rfc3164"),
    (["ingest", "{p}/pve1.log", "-d", "{p}/new", "--output", "json"], 2, "--output/-o was renamed --format/-f"),
    (["ingest", "{p}/pve1.log", "-d", "{p}/new", "-o", "json"], 2, "--output/-o was renamed --format/-f"),
    (["compact", "-d", "{p}/ds", "--output", "json"], 2, "--output/-o was renamed --format/-f"),
    (["report", "-d", "{p}/ds", "--out", "{p}/report.html"], 2, "--out was renamed --output/-o"),
    (["signatures", "check", "{p}/sigregex.toml"], 2, "given with --signatures now"),
    (["signatures", "list", "{p}/sigregex.toml"], 2, "tokenaudit signatures list --signatures {p}/sigregex.toml"),
    (["signatures", "try", "{p}/pve1.log", "--format", "syslog_rfc3164"], 2, "--format/-f was renamed --input-format"),
]


@pytest.mark.parametrize(("args", "code", "fragment"), CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_bad_input_gives_one_error_line_a_hint_and_the_documented_exit_code(
    place: Path, args: list[str], code: int, fragment: str
) -> None:
    argv = [a.replace("{p}", str(place)) for a in args]
    fragment = fragment.replace("{p}", str(place))
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "╭" not in result.output, result.output
    if code in (0, 4):
        assert fragment in result.stdout, result.stdout
        return
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
    assert lines[1].startswith("hint: ") and len(lines[1]) > len("hint: ") + 5, lines[1]


def test_no_arguments_still_shows_the_help() -> None:
    result = CliRunner().invoke(app, [])
    assert "Usage" in result.output and "ingest" in result.output
    assert "error:" not in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_named_and_the_ingest_goes_on(place: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked.log"
    shutil.copy(place / "pve1.log", locked)
    locked.chmod(0)
    result = CliRunner().invoke(app, ["ingest", str(locked), str(place / "pve1.log"), "-d", str(tmp_path / "ds")])
    assert result.exit_code == 4, result.output
    assert "locked.log" in result.stdout and "Traceback" not in result.output


# --- Under pressure: a read-only dataset, a full disk, too little memory (README, "Exit codes": 6 and 7) ---

def _two_lines(result: object) -> list[str]:
    lines = [line for line in result.stderr.splitlines() if line.strip()]  # type: ignore[attr-defined]
    assert "Traceback" not in result.output and len(lines) == 2, result.output  # type: ignore[attr-defined]
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), lines
    return lines


def _state(dataset: Path) -> tuple[list[str], list[tuple[object, ...]], list[str]]:
    """What a reader sees, and every file name (hidden temporary files included)."""
    events = ta.read_events(dataset)
    files = sorted(str(p.relative_to(dataset)) for p in dataset.rglob("*") if p.is_file() and p.name != ".lock")
    return sorted(committed_batches(dataset)), sorted(events[["source_file", "line_no"]].itertuples(index=False)), files


@pytest.mark.parametrize(("raised", "words", "hint"), [
    (OSError("Error writing bytes to file. Detail: [errno 28] No space left on device"), "no space left on device",
     "free space"),
    (OSError(30, "Read-only file system"), "read-only file system", "writable --dataset"),
])
def test_a_failed_write_is_one_error_and_hint_and_the_dataset_stays_as_it_was(
        place: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raised: OSError, words: str, hint: str) -> None:
    """As Arrow reports a full disk (no errno, the words only) and as the OS reports a read-only mount."""
    dataset = tmp_path / "ds"
    shutil.copytree(place / "ds", dataset)
    before = _state(dataset)
    other = tmp_path / "pve3.log"
    shutil.copy(SAMPLE_LOGS / "syslog_iso" / "pve3-short-iso.log", other)

    def fail(table: object, where: object, **_: object) -> None:
        Path(str(where)).write_bytes(b"PAR1 half a file")  # a write that got part of the way
        raise raised

    monkeypatch.setattr("tokenaudit.store.location.pq.write_table", fail)
    result = CliRunner().invoke(app, ["ingest", str(other), "-d", str(dataset)])
    assert result.exit_code == 6, result.output
    error, hint_line = _two_lines(result)
    assert words in error and hint in hint_line
    assert _state(dataset) == before  # no batch, no event, no file left behind


def test_running_out_of_memory_is_one_error_and_hint(place: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    def exhausted(*_: object, **__: object) -> None:
        raise pa.ArrowMemoryError("malloc of size 1073741824 failed")

    monkeypatch.setattr("tokenaudit.analysis.failures.failure_groups", exhausted)
    result = CliRunner().invoke(app, ["analyze", "-d", str(place / "ds")])
    assert result.exit_code == 7, result.output
    error, hint_line = _two_lines(result)
    assert error == "error: out of memory" and "--since" in hint_line


@pytest.fixture()
def tmpfs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 3 MB tmpfs of its own, where the machine lets the test mount one (root in a container that may)."""
    mount_point = tmp_path / "fs"
    mount_point.mkdir()
    if os.geteuid() != 0 or os.system(f"mount -t tmpfs -o size=3m tmpfs {mount_point} 2>/dev/null") != 0:
        pytest.skip("cannot mount a tmpfs here: the fake-error tests above cover the same paths")
    yield mount_point
    os.system(f"umount -l {mount_point}")


def test_a_real_full_disk_and_a_real_read_only_mount(tmpfs: Path, tmp_path: Path) -> None:
    dataset = tmpfs / "ds"
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(SAMPLE_LOGS / "syslog_rfc3164" / "pve1-syslog.log"), "-d",
                               str(dataset)]).exit_code == 0
    before = _state(dataset)
    big = tmp_path / "big.log"  # ~10 MB of distinct failure lines: more than the file system holds
    big.write_text("".join(f"Nov 22 09:{n // 6000 % 60:02d}:{n // 100 % 60:02d} pve1 pvedaemon[{n}]: authentication "
                           f"failure; rhost=::ffff:10.{n % 250}.{n // 250 % 250}.9 user=u{n}@pve msg=no such user "
                           f"('u{n}@pve')\n" for n in range(60_000)))
    full = runner.invoke(app, ["ingest", str(big), "-d", str(dataset)])
    assert full.exit_code == 6, full.output
    assert "no space left on device" in _two_lines(full)[0]
    assert _state(dataset) == before
    assert os.system(f"mount -o remount,ro {tmpfs}") == 0
    read_only = runner.invoke(app, ["ingest", str(big), "-d", str(dataset)])
    assert read_only.exit_code == 6, read_only.output
    assert "read-only file system" in _two_lines(read_only)[0]
    analyzed = runner.invoke(app, ["analyze", "-d", str(dataset), "--format", "json"])
    assert analyzed.exit_code == 0, analyzed.output  # reading needs no write


MEMORY_LIMITED = """
import resource, sys
import pyarrow
import tokenaudit.cli
import tokenaudit.render.tables, tokenaudit.store.dataset  # what `events` loads, loaded before the limit
pyarrow.set_cpu_count(1)
pyarrow.set_io_thread_count(1)
size = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmSize")) * 1024
limit = size + int(sys.argv[1]) * 2**20  # what the process has now, and a little more
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.argv = ["tokenaudit", *sys.argv[2:]]
tokenaudit.cli.app()
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc to size the limit")
def test_a_low_memory_limit_for_the_process_gives_exit_7(tmp_path: Path) -> None:
    import subprocess
    import sys

    big = tmp_path / "many.log"
    big.write_text("".join(f"Nov 22 09:{n // 6000 % 60:02d}:{n // 100 % 60:02d} pve1 pvedaemon[{n}]: authentication "
                           f"failure; rhost=::ffff:10.{n % 250}.{n // 250 % 250}.9 user=u{n}@pve msg=no such user "
                           f"('u{n}@pve')\n" for n in range(300_000)))
    dataset = tmp_path / "ds"
    ta.ingest([str(big)], dataset, timezone="UTC")
    outcomes = []
    for margin in (96, 128, 160):
        done = subprocess.run([sys.executable, "-c", MEMORY_LIMITED, str(margin), "events", "-d", str(dataset),
                               "--format", "csv"], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(Path(ta.__file__).parent.parent)})
        assert "Traceback" not in done.stderr, done.stderr[-2000:]
        outcomes.append(done.returncode)
        if done.returncode == 7:
            lines = done.stderr.splitlines()
            assert lines == ["error: out of memory", lines[1]] and lines[1].startswith("hint: "), lines
    assert 7 in outcomes, outcomes


@pytest.mark.parametrize(("text", "memory"), [
    ("Wrapping 'abc' failed", True),
    ("Unknown error: Wrapping syslog", True),  # what to_numpy says when a Python string cannot be made
    ("malloc of size 64 failed", True),
    ("Unknown error: something else", False),
    ("Invalid: wrapping mode unknown", False),
])
def test_arrow_failures_for_want_of_memory_are_told_from_the_others(text: str, memory: bool) -> None:
    import pyarrow as pa

    from tokenaudit.cli import _is_out_of_memory

    assert _is_out_of_memory(pa.ArrowException(text)) is memory
