"""No ingested token, signature segment or client secret reaches the dataset, a report or CLI output."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

import tokenaudit as ta
from tokenaudit.cli import app

from .conftest import SAMPLE_LOGS

CLIENT_KEY = "Zk3vQ0Zq1d9Yb6Sx2Lr8Tn4Wm7Pc5Ha0"


def secrets_in_samples() -> set[str]:
    found = {CLIENT_KEY}
    for path in SAMPLE_LOGS.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace").replace("\\\\", "\\")
            for token in ta.find_tokens(text):
                found.add(token)
                parts = token.split(".")
                if len(parts) >= 3 and len(parts[-1]) >= 16:
                    found.add(parts[-1])  # the signature (or JWE tag) segment
    return found


SECRETS = secrets_in_samples()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("secrets")
    logs = root / "logs"
    shutil.copytree(SAMPLE_LOGS, logs)
    ta.ingest([str(logs)], root / "ds", timezone="Europe/Berlin", fingerprint_key=b"q" * 32)
    return root / "ds"


def test_the_samples_hold_secrets_to_look_for() -> None:
    assert len(SECRETS) >= 8


def test_no_dataset_file_holds_a_token_a_signature_or_the_client_key(dataset: Path) -> None:
    for path in dataset.rglob("*"):
        if not path.is_file():
            continue
        texts = [path.read_bytes().decode("latin-1")]
        if path.suffix == ".parquet":
            texts.append(pq.read_table(path).to_pandas().to_csv())
        for text in texts:
            leaked = [s[:12] for s in SECRETS if s in text]
            assert not leaked, f"{path} holds {leaked}"


def test_tokens_were_captured_at_all(dataset: Path) -> None:
    tokens = ta.read_tokens(dataset)
    assert set(tokens["encoding"]) >= {"jws", "opaque", "jwe"}


@pytest.mark.parametrize(
    "args",
    [
        ["analyze"], ["analyze", "--format", "json"], ["analyze", "--format", "markdown"],
        ["events"], ["events", "--format", "csv"],
    ],
)
def test_no_report_holds_a_secret(dataset: Path, args: list[str]) -> None:
    result = CliRunner().invoke(app, [*args, "--dataset", str(dataset)])
    assert result.exit_code == 0, result.output
    assert not [s[:12] for s in SECRETS if s in result.output]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_explain_output_holds_no_token_or_signature(fmt: str) -> None:
    token_file = SAMPLE_LOGS / "jwt_lines" / "captured-bearer-tokens.txt"
    result = CliRunner().invoke(app, ["explain", str(token_file), "--expect", "access", "--format", fmt,
                                      "--at", "2026-11-21T17:12:00Z"])
    assert result.exit_code == 0, result.output
    assert "orders.example.com" in result.output  # it did explain the first token
    assert not [s[:12] for s in SECRETS if s in result.output]


# --- End to end: fresh tokens, every kind of input, every command, every output -------------------

T0 = 1795281087  # 2026-11-21T17:11:27Z
HS_KEY = secrets.token_bytes(32)
FP_KEY = secrets.token_hex(32).encode()
CLIENT_SECRET = "cs-" + secrets.token_urlsafe(24)
REALM_KEY = "rk-" + secrets.token_urlsafe(24)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Minted:
    """Fresh tokens and what must never be seen again: tokens, signature and JWE segments, keys."""

    rs: list[str] = field(default_factory=list)
    hs: list[str] = field(default_factory=list)
    jwe: list[str] = field(default_factory=list)
    opaque: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)

    def secrets(self) -> dict[str, str]:
        found = {"client secret": CLIENT_SECRET, "realm client-key": REALM_KEY,
                 "HMAC key (hex)": HS_KEY.hex(), "HMAC key (b64)": _b64(HS_KEY), "HMAC key": HS_KEY.decode("latin-1"),
                 "fingerprint key": FP_KEY.decode()}
        for number, token in enumerate(self.rs + self.hs + self.jwe + self.opaque + self.broken):
            found[f"token {number}"] = token
        for number, token in enumerate(self.rs + self.hs + self.broken):
            found[f"signature {number}"] = token.split(".")[2]
        for number, token in enumerate(self.jwe):
            parts = token.split(".")
            found[f"JWE {number} tag"] = parts[4]
            found[f"JWE {number} ciphertext"] = parts[3]
            found[f"JWE {number} encrypted key"] = parts[1]
        return found


def _mint() -> Minted:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    minted = Minted()
    for number in range(4):
        claims = {"iss": "https://kc.example.com/realms/main", "sub": f"sub-{number}", "aud": "orders-ui",
                  "azp": "orders-ui", "exp": T0 + 300, "iat": T0, "nonce": f"n{number}",
                  "preferred_username": f"user{number}", "email": f"user{number}@example.com"}
        minted.rs.append(jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "kc-1"}))
        minted.hs.append(jwt.encode(claims | {"aud": "orders-api"}, HS_KEY, algorithm="HS256"))
        header = _b64(json.dumps({"alg": "RSA-OAEP", "enc": "A256GCM", "kid": "enc-1"}).encode())
        minted.jwe.append(".".join([header, _b64(os.urandom(256)), _b64(os.urandom(12)), _b64(os.urandom(96)),
                                    _b64(os.urandom(16))]))
        minted.opaque.append(secrets.token_urlsafe(32))
        # a JWT whose payload is not JSON: the decode error must not quote it
        head, _, signature = minted.rs[-1].split(".")
        minted.broken.append(f"{head}.{_b64(b'{not json ' + os.urandom(24))}.{signature[::-1]}")
    return minted


def _write_inputs(folder: Path, m: Minted) -> dict[str, Path]:
    folder.mkdir()
    stamp = "21/Nov/2026:18:{:02d}:{:02d} +0100"
    access = []
    for n in range(4):
        access.append(f'192.0.2.{10 + n} - - [{stamp.format(10 + n, 5)}] "GET '
                      f'/oauth2/callback?code=c{n}&client_secret={CLIENT_SECRET}'
                      f'&id_token_hint={m.rs[n]} HTTP/2.0" 401 10 '
                      f'"https://orders.example.com/?id_token_hint={m.hs[n]}" '
                      f'"curl/8 Authorization: Bearer {m.opaque[n]}"')
        access.append(f'192.0.2.{10 + n} - - [{stamp.format(10 + n, 6)}] "GET '
                      f'/logout?id_token_hint={m.jwe[n]}&access_token={m.opaque[n]} HTTP/2.0" 403 10 "-" "curl/8"')
    (folder / "access.log").write_text("\n".join(access) + "\n")
    syslog = []
    for n in range(4):
        syslog.append(f"Nov 21 18:1{n}:27 pve1 pvedaemon[2345]: openid authentication failure; "
                      f"rhost=::ffff:192.168.178.8{n} msg=Failed to verify ID token: "
                      f"Invalid audiences: `37757258797206733{n}` is not a trusted audience "
                      f"id_token={m.rs[n]} client_secret={CLIENT_SECRET}")
        syslog.append(f"Nov 21 18:1{n}:28 pve1 app[77]: JWT validation failed: token expired; "
                      f"Authorization: Bearer {m.hs[n]}")
        syslog.append(f"Nov 21 18:1{n}:29 pve1 app[77]: error: invalid token {m.jwe[n]} "
                      f"header Authorization: Bearer {m.rs[n]}")
    (folder / "syslog").write_text("\n".join(syslog) + "\n")
    entries = []
    for n in range(4):
        entries.append({
            "startedDateTime": f"2026-11-21T17:1{n}:26.912Z", "time": 88,
            "request": {"method": "POST", "url": f"https://auth.example.com/oauth/v2/token?client_secret={CLIENT_SECRET}"
                        f"&id_token_hint={m.hs[n]}", "httpVersion": "HTTP/2",
                        "headers": [{"name": "Authorization", "value": f"Bearer {m.rs[n]}"}],
                        "postData": {"mimeType": "application/x-www-form-urlencoded",
                                     "text": f"grant_type=refresh_token&refresh_token={m.opaque[n]}"
                                             f"&client_secret={CLIENT_SECRET}"}},
            "response": {"status": 200, "statusText": "OK",
                         "headers": [{"name": "Location", "value": f"https://rp.example.com/#id_token={m.jwe[n]}"}],
                         "content": {"mimeType": "application/json", "text": json.dumps(
                             {"access_token": m.hs[n], "id_token": m.rs[n], "refresh_token": m.opaque[n],
                              "token_type": "Bearer"})}}})
    (folder / "login.har").write_text(json.dumps(
        {"log": {"version": "1.2", "creator": {"name": "Firefox", "version": "132"}, "entries": entries}}, indent=2))
    responses = folder / "responses"
    responses.mkdir()
    for n in range(4):
        (responses / f"token-{n}.json").write_text(json.dumps(
            {"access_token": m.rs[n], "id_token": m.hs[n], "refresh_token": m.jwe[n], "token_type": "Bearer",
             "expires_in": 300}, indent=2))
    tokens = folder / "tokens"
    tokens.mkdir()
    (tokens / "captured.txt").write_text("\n".join([*m.rs, *(f"Bearer {t}" for t in m.hs), *m.jwe,
                                                    *(f"Bearer {t}" for t in m.opaque), *m.broken]) + "\n")
    for n, token in enumerate([m.rs[0], m.hs[1], m.jwe[2], "Bearer " + m.opaque[3], m.broken[0]]):
        (tokens / f"one-{n}.jwt").write_text(token + "\n")
    (folder / "domains.cfg").write_text(
        "openid: zitadel\n\tissuer-url https://auth.example.com\n\tclient-id 377576883644006407\n"
        f"\tclient-key {REALM_KEY}\n\tusername-claim email\n\nopenid: kc\n\tissuer-url "
        f"https://kc.example.com/realms/main\n"
        f"\tclient-key {CLIENT_SECRET}\n\tclient-id orders-ui\n")
    return {"access": folder / "access.log", "syslog": folder / "syslog", "har": folder / "login.har",
            "responses": responses, "tokens": tokens, "domains": folder / "domains.cfg"}


@dataclass
class Run:
    minted: Minted
    datasets: list[Path]
    outputs: dict[str, str]
    files: list[Path]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("e2e")
    minted = _mint()
    inputs = _write_inputs(root / "in", minted)
    key_file = root / "fingerprint.key"
    key_file.write_bytes(FP_KEY)
    env = {**os.environ, "TOKENAUDIT_KEY_FILE": str(key_file), "COLUMNS": "200"}
    paths = [str(p) for p in inputs.values()]
    outputs: dict[str, str] = {}
    # a real process, with a permissive umask: what a shell or cron would see
    real = subprocess.run([sys.executable, "-m", "tokenaudit", "ingest", *paths, "--dataset", str(root / "ds-real"),
                           "--timezone", "Europe/Berlin"], capture_output=True, text=True, env=env, check=False,
                          preexec_fn=lambda: os.umask(0o002))  # noqa: PLW1509 - only sets the umask
    assert real.returncode == 0, real.stderr
    outputs["subprocess ingest stdout"], outputs["subprocess ingest stderr"] = real.stdout, real.stderr
    real = subprocess.run([sys.executable, "-m", "tokenaudit", "analyze", "--dataset", str(root / "ds-real")],
                          capture_output=True, text=True, env=env, check=False)
    assert real.returncode == 0, real.stderr
    outputs["subprocess analyze stdout"], outputs["subprocess analyze stderr"] = real.stdout, real.stderr

    ds = root / "ds"
    runner = CliRunner()
    old = os.umask(0)
    try:
        commands = [["ingest", *paths, "--dataset", str(ds), "--timezone", "Europe/Berlin"],
                    ["ingest", *paths, "--dataset", str(ds), "--format", "json"]]
        for fmt in ("table", "json", "markdown"):
            commands.append(["analyze", "--dataset", str(ds), "--format", fmt])
        for fmt in ("jsonl", "csv"):
            commands.append(["events", "--dataset", str(ds), "--format", fmt])
        for fmt in ("html", "markdown", "json"):
            report = ["report", "--dataset", str(ds), "--since", "2026-11-01", "--until", "2026-12-01", "--format", fmt]
            commands.append(report)
            commands.append([*report, "--output", str(root / "reports" / f"report.{fmt}")])
            commands.append([*report, "--pseudonymize"])
        token_files = sorted(inputs["tokens"].iterdir()) + sorted(inputs["responses"].iterdir()) + [inputs["har"]]
        for path in token_files:
            for fmt in ("text", "json"):
                commands.append(["explain", str(path), "--rp", "kc", "--dataset", str(ds), "--format", fmt,
                                 "--at", "2026-11-21T17:12:00Z"])
        commands.append(["signatures", "try", str(inputs["syslog"])])
        commands.append(["signatures", "try", str(inputs["access"])])
        for args in commands:
            result = runner.invoke(app, args, env={"TOKENAUDIT_KEY_FILE": str(key_file)})
            assert result.exit_code == 0, (args, result.output)
            outputs[" ".join(args)] = result.stdout + result.stderr
    finally:
        os.umask(old)
    return Run(minted, [ds, root / "ds-real"], outputs, sorted((root / "reports").iterdir()))


def _texts_of(path: Path) -> list[str]:
    texts = [path.read_bytes().decode("latin-1")]
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        texts.append(table.to_pandas().to_csv())
        metadata = table.schema.metadata
        texts.append(json.dumps(metadata and {k.decode(): v.decode("latin-1") for k, v in metadata.items()}))
    return texts


def _leaks(text: str, found: dict[str, str]) -> list[str]:
    return [name for name, secret in found.items() if secret in text]


def test_every_command_ran_and_saw_the_tokens(run: Run) -> None:
    tokens = ta.read_tokens(run.datasets[0])
    assert set(tokens["encoding"]) >= {"jws", "jwe", "opaque"}
    assert len(tokens) >= 12
    assert set(ta.read_realms(run.datasets[0])["realm"]) == {"zitadel", "kc"}
    assert len(ta.read_events(run.datasets[0])) >= 8
    explained = [text for name, text in run.outputs.items() if name.startswith("explain")]
    assert len(explained) == 2 * 11 and all("fingerprint" in text for text in explained)
    assert "malformed" in set(tokens["encoding"])
    assert len(run.files) == 3


def test_no_dataset_file_holds_a_fresh_token_segment_or_secret(run: Run) -> None:
    found = run.minted.secrets()
    scanned = 0
    for dataset in run.datasets:
        for path in dataset.rglob("*"):
            if path.is_file():
                scanned += 1
                for text in _texts_of(path):
                    assert not _leaks(text, found), f"{path.relative_to(dataset)} holds {_leaks(text, found)}"
    assert scanned >= 10


def test_no_report_file_or_cli_output_holds_a_fresh_token_segment_or_secret(run: Run) -> None:
    found = run.minted.secrets()
    for path in run.files:
        assert not _leaks(path.read_text(encoding="utf-8"), found), path.name
    for name, text in run.outputs.items():
        assert not _leaks(text, found), f"`{name}` printed {_leaks(text, found)}"


def test_dataset_files_are_owner_only_whatever_the_umask(run: Run) -> None:
    for dataset in run.datasets:
        assert stat.S_IMODE(dataset.stat().st_mode) == 0o700, dataset
        for path in dataset.rglob("*"):
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o700 if path.is_dir() else 0o600), f"{path.relative_to(dataset)}: {oct(mode)}"
