"""``tokenaudit analyze --format json`` pinned in full, so that faster code cannot change a result.

Two datasets: the sample logs (ingested with ``--timezone Europe/Berlin``; their
domains.cfg realms already correlate two captured tokens with failures), and a mixed
one, the benchmark generator's five formats beside the sample logs, analysed with the
relying parties of ``sample_logs/tokenaudit.toml``. Every column of every group is
compared: counts, first and last seen, hosts, example, explanation, recommendation
and token evidence.

The expected output lives in ``tests/data/analyze_golden/``. When a deliberate change
(a new signature, a reworded fix) changes it, rewrite it with
``TOKENAUDIT_UPDATE_GOLDEN=1 pytest tests/test_analyze_golden.py`` and review the diff.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from tokenaudit.cli import app

from .conftest import ROOT, SAMPLE_LOGS, TESTS_DATA_DIR

GOLDEN = TESTS_DATA_DIR / "analyze_golden"
RUNNER = CliRunner()
#: A fixed fingerprint key, so that token fingerprints (quoted in token evidence) are stable.
KEY = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#: Generated formats of the mixed dataset, lines of each.
MIXED = {"nginx": 1500, "istio": 1500, "traefik_json": 1500, "proxmox_syslog": 3000, "journal_json": 1500}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_golden_generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _run(*args: object) -> str:
    result = RUNNER.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}\n{result.exception!r}"
    return result.stdout


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("golden")
    key = base / "fingerprint.key"
    key.write_bytes(KEY)
    logs = base / "sample_logs"
    shutil.copytree(SAMPLE_LOGS, logs)
    sample = base / "sample"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOKENAUDIT_KEY_FILE", str(key))
        _run("ingest", logs, "--dataset", sample, "--timezone", "Europe/Berlin")
    generate = _generator()
    generated = base / "generated"
    generated.mkdir()
    for name, lines in MIXED.items():
        generate.generate(name, lines, generated / f"{name}.log", failure_share=0.4, seed=5)
        (generated / f"{name}.log.truth.json").unlink()
    mixed = base / "mixed"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOKENAUDIT_KEY_FILE", str(key))
        _run("ingest", logs, generated, "--dataset", mixed, "--timezone", "Europe/Berlin")
    return {"sample": sample, "mixed": mixed, "key": key}


CASES = {
    "sample": ("sample", ()),
    "mixed_with_config": ("mixed", ("--config", SAMPLE_LOGS / "tokenaudit.toml")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_analyze_json_output_is_pinned(case: str, datasets: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    name, options = CASES[case]
    monkeypatch.setenv("TOKENAUDIT_KEY_FILE", str(datasets["key"]))
    out = _run("analyze", "--dataset", datasets[name], "--format", "json", *options)
    groups = json.loads(out)
    expected_file = GOLDEN / f"{case}.json"
    if os.environ.get("TOKENAUDIT_UPDATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        expected_file.write_text(json.dumps(groups, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert len(groups) == len(expected)
    for number, (got, want) in enumerate(zip(groups, expected, strict=True)):
        assert got == want, f"group #{number} differs"
