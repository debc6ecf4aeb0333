"""`tokenaudit explain`: wiring, relying-party resolution, exit codes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

import tokenaudit as ta
from tokenaudit.cli import app

from .conftest import SAMPLE_LOGS

SECRET = "h" * 32
RUNNER = CliRunner()


def token(**claims: object) -> str:
    base = {"iss": "https://auth.example.com", "aud": "377576883644006407", "exp": 2_000_000_000,
            "iat": 1_790_000_000, "nonce": "n", "azp": "377576883644006407"}
    return jwt.encode({**base, **claims}, SECRET, algorithm="HS256")


def explain(tmp_path: Path, value: str, *args: str) -> dict[str, object]:
    path = tmp_path / "token.txt"
    path.write_text(value + "\n", encoding="utf-8")
    result = RUNNER.invoke(app, ["explain", str(path), "--format", "json", "--at", "2026-11-21T17:12:00Z",
                                 "--algorithms", "HS256", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_valid_token_has_no_causes(tmp_path: Path) -> None:
    out = explain(tmp_path, token(), "--client-id", "377576883644006407", "--issuer", "https://auth.example.com",
                  "--expect", "id")
    assert out["causes"] == [] and out["kind"] == "id_token" and out["issuer_family"] == "generic"


def test_flags_describe_the_relying_party(tmp_path: Path) -> None:
    value = token(aud=["377576883644006407", "377572587972067335"])
    out = explain(tmp_path, value, "--client-id", "377576883644006407", "--issuer", "https://auth.example.com",
                  "--expect", "id")
    assert [c["cause"] for c in out["causes"]] == ["untrusted_extra_audience"]  # type: ignore[index]
    trusted = explain(tmp_path, value, "--client-id", "377576883644006407", "--issuer", "https://auth.example.com",
                      "--expect", "id", "--audience", "377572587972067335")
    assert trusted["causes"] == []


def test_rp_from_an_ingested_domains_cfg(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    shutil.copytree(SAMPLE_LOGS / "pve_domains_cfg", logs)
    ta.ingest([str(logs)], tmp_path / "ds", timezone="UTC")
    out = explain(tmp_path, token(iss="https://auth.example.com/"), "--rp", "zitadel",
                  "--dataset", str(tmp_path / "ds"))
    causes = [c["cause"] for c in out["causes"]]  # type: ignore[index]
    assert causes == ["issuer_mismatch"]
    assert "pveum realm modify zitadel --issuer-url https://auth.example.com/" in out["causes"][0]["recommendation"]  # type: ignore[index]


def test_rp_from_the_config_file(tmp_path: Path) -> None:
    out = explain(tmp_path, token(iss="https://kc.example.com/realms/main", aud="orders-ui", typ="ID"),
                  "--rp", "orders-api", "--config", str(SAMPLE_LOGS / "tokenaudit.toml"))
    assert "token_type_confusion" in [c["cause"] for c in out["causes"]]  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--rp", "nosuch"], "no relying party"), (["--at", "someday"], "cannot read")],
)
def test_explain_errors_are_one_line_with_a_hint(tmp_path: Path, args: list[str], says: str) -> None:
    path = tmp_path / "t.txt"
    path.write_text(token(), encoding="utf-8")
    result = RUNNER.invoke(app, ["explain", str(path), "--dataset", str(tmp_path / "none"), *args])
    assert result.exit_code == 1
    assert says in result.stderr and "hint:" in result.stderr


def test_no_token_in_the_input(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["explain", "-"], input="hello world\n")
    assert result.exit_code == 1 and "no token found" in result.stderr


def test_token_from_stdin() -> None:
    result = RUNNER.invoke(app, ["explain", "--format", "json", "--at", "2026-11-21T17:12:00Z"],
                           input=f"Bearer {token()}\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kind"] == "id_token"


def _jwks(tmp_path: Path, secret: str) -> str:
    path = tmp_path / "jwks.json"
    k = jwt.utils.base64url_encode(secret.encode()).decode()
    path.write_text(json.dumps({"keys": [{"kty": "oct", "kid": "h1", "k": k}]}), encoding="utf-8")
    return str(path)


def test_a_signature_checked_against_the_jwks_says_so(tmp_path: Path) -> None:
    value = jwt.encode({"iss": "https://auth.example.com", "aud": "377576883644006407", "exp": 2_000_000_000,
                        "iat": 1_790_000_000, "nonce": "n"}, SECRET, algorithm="HS256", headers={"kid": "h1"})
    path = tmp_path / "token.txt"
    path.write_text(value, encoding="utf-8")
    args = ["explain", str(path), "--at", "2026-11-21T17:12:00Z", "--algorithms", "HS256", "--client-id",
            "377576883644006407", "--issuer", "https://auth.example.com", "--expect", "id"]
    good = RUNNER.invoke(app, [*args, "--jwks", _jwks(tmp_path, SECRET)])
    assert good.exit_code == 0, good.output
    assert "keys: signature verified: signature verifies with key 'h1' (oct) under HS256" in good.stdout
    assert "verdict: a strict validator configured like this accepts the token" in good.stdout
    bad = RUNNER.invoke(app, [*args, "--jwks", _jwks(tmp_path, "x" * 32), "--format", "json"])
    data = json.loads(bad.stdout)
    assert [c["cause"] for c in data["causes"]] == ["signature_invalid"]
    assert data["signature_check"].startswith("signature failed (signature_invalid): ")


def test_recommendations_are_complete_and_build_one_discovery_url(tmp_path: Path) -> None:
    out = explain(tmp_path, token(iss="https://auth.example.com/", exp=1_795_280_700, azp="other"),
                  "--client-id", "377576883644006407", "--issuer", "https://auth.example.com", "--expect", "id")
    fixes = {c["cause"]: c["recommendation"] for c in out["causes"]}  # type: ignore[index, union-attr]
    assert set(fixes) >= {"issuer_mismatch", "expired", "azp_mismatch"}
    assert ("`curl -s https://auth.example.com/.well-known/openid-configuration | jq -r .issuer`"
            in fixes["issuer_mismatch"])
    assert "the relying party's host" in fixes["expired"]
    for cause, text in fixes.items():
        assert not re.search(r"<[a-z_]+>|\(unknown |//\.well-known", text), f"{cause}: {text}"
