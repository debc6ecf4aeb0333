"""The files tokenaudit keeps for itself: platform folders, atomic replacement, the JSON cache."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tokenaudit.common import files


def test_platform_folders_follow_the_xdg_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "d"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "e"))
    assert files.cache_dir() == tmp_path / "c" / "tokenaudit"
    assert files.data_dir() == tmp_path / "d" / "tokenaudit"
    assert files.config_dir() == tmp_path / "e" / "tokenaudit"


def test_replacing_keeps_the_old_file_when_the_write_fails(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "table.parquet"
    with files.replacing(target) as temporary:
        temporary.write_text("first")
    with pytest.raises(RuntimeError), files.replacing(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("disk gone")
    assert target.read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.parquet"]
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert oct(target.parent.stat().st_mode & 0o777) == "0o700"


def test_create_once_keeps_the_first_file(tmp_path: Path) -> None:
    key = tmp_path / "conf" / "fingerprint.key"
    assert files.create_once(key, b"first") is True
    assert files.create_once(key, b"second") is False
    assert key.read_bytes() == b"first"
    assert [p.name for p in key.parent.iterdir()] == ["fingerprint.key"]


def test_the_cache_reads_back_what_it_wrote_and_ages_out_other_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "tokenaudit"
    folder.mkdir()
    old, recent = folder / "thing-old.json", folder / "thing-recent.json"
    for path in (old, recent):
        path.write_text("[]")
    long_ago = time.time() - files.STALE_CACHE_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    files.write_cached("thing-now.json", {"a": [1, 2]}, stale="thing-*.json")
    assert files.read_cached("thing-now.json") == {"a": [1, 2]}
    assert not old.exists() and recent.exists()
    (folder / "thing-now.json").write_text("{not json")
    assert files.read_cached("thing-now.json") is None
    assert files.read_cached("thing-missing.json") is None
