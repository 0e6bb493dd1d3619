"""Settings from environment variables, with embedded defaults that run on one laptop.

Every variable is prefixed JALON_. The defaults give the embedded mode of `make run`: SQLite
files and local folders under JALON_DATA_DIR, RabbitMQ on localhost, emails written to disk.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SERVICES = ("identity", "dossiers", "certification", "payments", "documents", "notifications")


def _env(name: str, default: str) -> str:
    return os.environ.get(f"JALON_{name}", default)


@dataclass(frozen=True)
class Settings:
    amqp_uri: str
    data_dir: Path
    database_url_template: str
    http_address: str
    rpc_timeout: float
    retry_delays: tuple[int, ...]
    dead_letter_queue: str
    max_workers: int
    db_pool_size: int
    log_format: str
    log_level: str
    smtp_host: str
    smtp_port: int
    mail_from: str
    token_ttl_minutes: int
    relay_poll_seconds: float

    def database_url(self, service: str) -> str:
        """JALON_DB_URL_<SERVICE> wins; else the template, filled with the service name."""
        explicit = os.environ.get(f"JALON_DB_URL_{service.upper()}")
        if explicit:
            return explicit
        return self.database_url_template.format(service=service, data_dir=self.data_dir)

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def files_dir(self) -> Path:
        return Path(_env("FILES_DIR", str(self.data_dir / "files")))

    def nameko_config(self) -> dict:
        return {
            "AMQP_URI": self.amqp_uri,
            "WEB_SERVER_ADDRESS": self.http_address,
            "max_workers": self.max_workers,
            "parent_calls_tracked": 10,
            "serializer": "json",
        }


def load() -> Settings:
    data_dir = Path(_env("DATA_DIR", "var")).absolute()
    return Settings(
        amqp_uri=_env("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
        data_dir=data_dir,
        database_url_template=_env("DATABASE_URL_TEMPLATE", "sqlite:///{data_dir}/{service}.db"),
        http_address=_env("HTTP_ADDRESS", "127.0.0.1:8000"),
        rpc_timeout=float(_env("RPC_TIMEOUT", "10")),
        retry_delays=tuple(int(s) for s in _env("RETRY_DELAYS", "1,5,30").split(",") if s),
        dead_letter_queue=_env("DEAD_LETTER_QUEUE", "jalon.dead-letters"),
        max_workers=int(_env("MAX_WORKERS", "10")),
        db_pool_size=int(_env("DB_POOL_SIZE", "10")),
        log_format=_env("LOG_FORMAT", "console"),
        log_level=_env("LOG_LEVEL", "INFO"),
        smtp_host=_env("SMTP_HOST", ""),
        smtp_port=int(_env("SMTP_PORT", "25")),
        mail_from=_env("MAIL_FROM", "Jalon <ne-pas-repondre@jalon.local>"),
        token_ttl_minutes=int(_env("TOKEN_TTL_MINUTES", "60")),
        relay_poll_seconds=float(_env("RELAY_POLL_SECONDS", "1")),
    )
