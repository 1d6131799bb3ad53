"""Settings: no usable secret key in the source; each install makes its own, kept private."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from rescind.config import Settings
from rescind.web.sessions import Signer

# The key every install used to share (anyone could read it here and forge sessions).
OLD_BUILT_IN_KEY = "dev-only-insecure-secret-key-change-me"


def test_a_fresh_install_generates_its_own_private_key(tmp_path: Path) -> None:
    first = Settings(environment="dev", data_dir=tmp_path / "a")
    again = Settings(environment="dev", data_dir=tmp_path / "a")
    other = Settings(environment="dev", data_dir=tmp_path / "b")
    key = first.secret_key.get_secret_value()
    assert len(key) >= 32
    assert again.secret_key.get_secret_value() == key  # kept across restarts
    assert other.secret_key.get_secret_value() != key  # never shared between installs
    mode = (tmp_path / "a" / "secret-key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["secret-key"]  # no temp left


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    keys: list[str] = []

    def start() -> None:
        keys.append(Settings(environment="dev", data_dir=tmp_path).secret_key.get_secret_value())

    threads = [threading.Thread(target=start) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 16 and len(set(keys)) == 1


def test_a_configured_key_wins_and_writes_nothing(tmp_path: Path) -> None:
    settings = Settings(environment="dev", data_dir=tmp_path, secret_key="k" * 40)
    assert settings.secret_key.get_secret_value() == "k" * 40
    assert not (tmp_path / "secret-key").exists()


def test_production_refuses_to_start_without_a_strong_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="RESCIND_SECRET_KEY must be set"):
        Settings(environment="production", data_dir=tmp_path)
    assert not (tmp_path / "secret-key").exists()  # production never generates one
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production", data_dir=tmp_path, secret_key="short-secret-value")
    assert "short-secret-value" not in str(refused.value)  # errors never echo the input
    ok = Settings(environment="production", data_dir=tmp_path, secret_key="s" * 32)
    assert ok.secret_key.get_secret_value() == "s" * 32


def test_a_session_forged_with_the_old_built_in_key_is_refused(tmp_path: Path) -> None:
    forged = Signer(Settings(environment="test", secret_key=OLD_BUILT_IN_KEY), "case-session")
    token = forged.dumps({"rid": 1}, 3600)
    fresh = Settings(environment="test", data_dir=tmp_path)
    assert Signer(fresh, "case-session").loads(token) is None


def test_one_decode_must_fit_the_shared_memory_budget(tmp_path: Path) -> None:
    """A per-decode limit above the whole budget would make such uploads wait for memory
    that can never be free (a 503 forever): refused at start, naming both settings."""
    with pytest.raises(ValidationError) as refused:
        Settings(data_dir=tmp_path, media_decode_memory_mb=3000, media_memory_budget_mb=2000)
    assert "media_decode_memory_mb (3000)" in str(refused.value)
    assert "media_memory_budget_mb (2000)" in str(refused.value)
    settings = Settings(data_dir=tmp_path)
    assert (settings.media_decode_memory_mb, settings.media_memory_budget_mb) == (1280, 2560)
