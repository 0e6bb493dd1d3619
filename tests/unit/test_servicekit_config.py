"""servicekit.config: embedded defaults, JALON_* overrides, per-service database URLs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from servicekit import config

ROOT = Path(__file__).resolve().parents[2]

@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No JALON_* variable from the outside world; run from a scratch folder."""
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


PRODUCTION = {
    "JALON_ENV": "production",
    "JALON_PUBLIC_URL": "https://jalon.transitionspro-idf.fr",
    "JALON_MAIL_FROM": "Jalon <ne-pas-repondre@transitionspro-idf.fr>",
    "JALON_SMTP_HOST": "smtp.transitionspro-idf.fr",
    "JALON_AMQP_URI": "amqp://jalon:secret@rabbitmq:5672/",
    "JALON_DATABASE_URL_TEMPLATE": "postgresql://jalon:secret@postgres/jalon_{service}",
    "JALON_CAPTCHA_PROVIDER": "hcaptcha",
    "JALON_CAPTCHA_SITE_KEY": "site-key",
    "JALON_CAPTCHA_SECRET": "secret-key",
}


@pytest.fixture
def production(clean_env):
    for name, value in PRODUCTION.items():
        clean_env.setenv(name, value)
    return clean_env


def problem_variables(database: str | None = "identity") -> list[str]:
    return [problem.split(":")[0] for problem in
            config.production_problems(config.load(), database)]


def test_development_accepts_its_own_defaults(clean_env):
    assert config.load().environment == "development"
    assert config.production_problems(config.load(), "identity") == []


def test_a_complete_production_setup_passes(production):
    assert problem_variables() == []


def test_production_with_the_development_defaults_names_every_missing_setting(clean_env):
    clean_env.setenv("JALON_ENV", "production")
    assert problem_variables() == [
        "JALON_PUBLIC_URL", "JALON_MAIL_FROM", "JALON_SMTP_HOST", "JALON_AMQP_URI",
        "JALON_DATABASE_URL_TEMPLATE", "JALON_CAPTCHA_PROVIDER"]


@pytest.mark.parametrize("variable, value", [
    ("JALON_PUBLIC_URL", "http://localhost:8000"),
    ("JALON_PUBLIC_URL", "https://127.0.0.1"),
    ("JALON_PUBLIC_URL", "http://jalon.transitionspro-idf.fr"),
    ("JALON_SPACE_URL", "http://127.0.0.1:3000"),
    ("JALON_MAIL_FROM", "Jalon <ne-pas-repondre@jalon.local>"),
    ("JALON_MAIL_FROM", "Jalon"),
    ("JALON_SMTP_HOST", ""),
    ("JALON_AMQP_URI", config.DEVELOPMENT_AMQP_URI),
    ("JALON_DATABASE_URL_TEMPLATE", "sqlite:///{data_dir}/{service}.db"),
    ("JALON_CAPTCHA_PROVIDER", "none"),
    ("JALON_CAPTCHA_SITE_KEY", ""),
    ("JALON_CAPTCHA_SECRET", ""),
    # The deployment files' placeholders, left as shipped:
    ("JALON_PUBLIC_URL", "https://jalon.example.org"),
    ("JALON_SPACE_URL", "https://espace.example.com"),
    ("JALON_MAIL_FROM", "Jalon <ne-pas-repondre@example.org>"),
    ("JALON_SMTP_HOST", "smtp.example.org"),
    ("JALON_CAPTCHA_SITE_KEY", "your-site-key"),
    ("JALON_CAPTCHA_SECRET", "change-me"),
    ("JALON_WEBHOOKS_ALLOW_HTTP", "true"),
    ("JALON_WEBHOOKS_ALLOW_PRIVATE", "true"),
])
def test_production_refuses_a_development_value(production, variable, value):
    production.setenv(variable, value)
    assert problem_variables() == [variable]


def test_a_process_without_a_database_does_not_need_one(production):
    production.setenv("JALON_DATABASE_URL_TEMPLATE", "sqlite:///{data_dir}/{service}.db")
    assert problem_variables(database=None) == []
    production.setenv("JALON_DB_URL_IDENTITY", "postgresql://pg/identity")
    assert problem_variables("identity") == []


def test_an_unknown_environment_is_refused_rather_than_taken_for_development(clean_env):
    clean_env.setenv("JALON_ENV", "prod")
    assert problem_variables() == ["JALON_ENV"]


def test_a_production_process_with_missing_settings_exits_with_one_line(clean_env, tmp_path):
    """Before any connection: nothing listens on the development broker's port here."""
    import json
    import subprocess
    import sys
    env = {name: value for name, value in os.environ.items() if not name.startswith("JALON_")}
    env.update(JALON_ENV="production", JALON_LOG_FORMAT="json", JALON_DATA_DIR=str(tmp_path),
               JALON_PUBLIC_URL="https://jalon.transitionspro-idf.fr")
    result = subprocess.run([sys.executable, "-m", "servicekit.run", "identity"], env=env,
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = [json.loads(line) for line in (result.stdout + result.stderr).splitlines()
              if "settings_invalid" in line]
    assert line["level"] == "critical" and line["service"] == "identity"
    assert [problem.split(":")[0] for problem in line["problems"]] == [
        "JALON_MAIL_FROM", "JALON_SMTP_HOST", "JALON_AMQP_URI", "JALON_DATABASE_URL_TEMPLATE",
        "JALON_CAPTCHA_PROVIDER"]
