"""servicekit.config: embedded defaults, JALON_* overrides, per-service database URLs."""
from __future__ import annotations

from pathlib import Path

import pytest

from servicekit import config


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No JALON_* variable from the outside world; run from a scratch folder."""
    import os
    for name in list(os.environ):
        if name.startswith("JALON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_embedded_defaults(clean_env, tmp_path):
    settings = config.load()
    assert settings.data_dir == (tmp_path / "var").absolute()
    assert settings.database_url("dossiers") == f"sqlite:///{tmp_path / 'var'}/dossiers.db"
    assert settings.amqp_uri == "amqp://guest:guest@127.0.0.1:5672/"
    assert settings.mail_dir == settings.data_dir / "mail"
    assert settings.files_dir == settings.data_dir / "files"
    assert settings.retry_delays == (1, 5, 30)
    assert settings.dead_letter_queue == "jalon.dead-letters"
    assert settings.rpc_timeout == 10.0
    assert settings.log_format == "console"


def test_environment_overrides(clean_env, tmp_path):
    clean_env.setenv("JALON_DATA_DIR", str(tmp_path / "elsewhere"))
    clean_env.setenv("JALON_AMQP_URI", "amqp://u:p@broker:5672/jalon")
    clean_env.setenv("JALON_DATABASE_URL_TEMPLATE", "postgresql://pg/{service}")
    clean_env.setenv("JALON_RETRY_DELAYS", "2,4")
    clean_env.setenv("JALON_RPC_TIMEOUT", "2.5")
    clean_env.setenv("JALON_FILES_DIR", "/srv/files")
    settings = config.load()
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.amqp_uri == "amqp://u:p@broker:5672/jalon"
    assert settings.database_url("payments") == "postgresql://pg/payments"
    assert settings.retry_delays == (2, 4)
    assert settings.rpc_timeout == 2.5
    assert settings.files_dir == Path("/srv/files")
    assert settings.nameko_config()["AMQP_URI"] == "amqp://u:p@broker:5672/jalon"


def test_per_service_url_wins_over_template(clean_env):
    clean_env.setenv("JALON_DATABASE_URL_TEMPLATE", "postgresql://pg/{service}")
    clean_env.setenv("JALON_DB_URL_PAYMENTS", "postgresql://other/pay")
    settings = config.load()
    assert settings.database_url("payments") == "postgresql://other/pay"
    assert settings.database_url("documents") == "postgresql://pg/documents"


def test_per_service_url_is_read_at_call_time(clean_env):
    settings = config.load()
    clean_env.setenv("JALON_DB_URL_IDENTITY", "sqlite:////tmp/identity.db")
    assert settings.database_url("identity") == "sqlite:////tmp/identity.db"
