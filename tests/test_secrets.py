"""No ingested token, signature segment or client secret reaches the dataset, a report or CLI output."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
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
