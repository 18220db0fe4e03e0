"""Settings: production refuses the development secret and a missing one."""

import pytest

from tracker.config import DEV_SECRET, ConfigError, load


def test_production_refuses_development_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", DEV_SECRET)
    with pytest.raises(ConfigError, match="development value"):
        load(str(tmp_path))


def test_production_refuses_missing_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="must be set"):
        load(str(tmp_path))


def test_development_gets_a_default_secret_and_sqlite(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_ENV", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = load(str(tmp_path))
    assert config["SECRET_KEY"] == DEV_SECRET
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path}/tracker.db"
    assert config["SESSION_COOKIE_SECURE"] is False


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-of-enough-length")
    config = load(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]


def test_public_url_must_be_http(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_ENV", "development")
    monkeypatch.setenv("TRACKER_PUBLIC_URL", "ftp://x")
    with pytest.raises(ConfigError, match="TRACKER_PUBLIC_URL"):
        load(str(tmp_path))
