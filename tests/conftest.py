"""Shared fixtures and paths."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LOGS = ROOT / "sample_logs"
TESTS_DATA_DIR = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def _no_dataset_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch a dataset named by the environment."""
    monkeypatch.delenv("TOKENAUDIT_DATASET", raising=False)


@pytest.fixture(autouse=True)
def _private_fingerprint_key(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never create or read a fingerprint key in the user's home."""
    monkeypatch.setenv("TOKENAUDIT_KEY_FILE", str(tmp_path_factory.getbasetemp() / "fingerprint.key"))


def pytest_configure(config: pytest.Config) -> None:
    """Derived data (the checked catalogue) is cached in a fresh folder, never in the user's home.

    Set before collection, since modules load the catalogue at import; subprocesses inherit it.
    """
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="tokenaudit-test-cache-")
