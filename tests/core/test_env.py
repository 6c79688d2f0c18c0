from __future__ import annotations

import stat
from pathlib import Path

import pytest

from salesradar.core import env


def test_generated_secret_key_is_kept_private_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESRADAR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SALESRADAR_SECRET_KEY", raising=False)
    first = env.secret_key()
    assert len(first) >= 50
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert env.secret_key() == first


def test_configured_secret_key_wins_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESRADAR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SALESRADAR_SECRET_KEY", "from-the-environment")
    assert env.secret_key() == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_debug_is_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALESRADAR_DEBUG", raising=False)
    assert env.get_bool("DEBUG") is False
    monkeypatch.setenv("SALESRADAR_DEBUG", "1")
    assert env.get_bool("DEBUG") is True


def test_undocumented_setting_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="SALESRADAR_NOPE"):
        env.get("NOPE")
