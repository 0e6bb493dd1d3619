"""Settings from environment variables, with embedded defaults that run on one laptop.

Every variable is prefixed JALON_. The defaults give the embedded mode of `make run`: SQLite
files and local folders under JALON_DATA_DIR, RabbitMQ on localhost, emails written to disk.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


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
    # How many proxies in front of the gateway append to X-Forwarded-For (JALON_TRUSTED_PROXIES,
    # default 0: the header is ignored, else anyone could pick the address the per-address
    # limits count).
    trusted_proxies: int = 0
    # Where users reach Jalon: the base of the links emails carry (confirmation, reset).
    public_url: str = "http://127.0.0.1:8000"
    # Where emails' links to the space lead (JALON_SPACE_URL): a web front, or by default the
    # gateway itself (contracts/common/links.py says the path of each kind of object).
    space_url: str = ""
    # Liveness (servicekit/liveness.py): a ping through this process's own consumer every
    # JALON_LIVENESS_INTERVAL s; none back for JALON_LIVENESS_DEADLINE s, or the eventlet hub
    # still for JALON_HUB_STALL_SECONDS, and the process exits to be restarted.
    liveness_interval: float = 10
    liveness_deadline: float = 60
    hub_stall_seconds: float = 60
    liveness_file: str = "{data_dir}/liveness/{name}.alive"  # JALON_LIVENESS_FILE
    # How long an email claimed for sending is left to its sender (JALON_EMAIL_LEASE_SECONDS):
    # longer than any send (SMTP timeout 30 s), since past it another sender sends it again.
    email_lease_seconds: float = 120.0
    # The CAPTCHA the public forms show (JALON_CAPTCHA_PROVIDER: none, hcaptcha or recaptcha)
    # and its public site key (JALON_CAPTCHA_SITE_KEY); the answers are checked by the service
    # that receives the form.
    captcha_provider: str = "none"
    captcha_site_key: str = ""

    def database_url(self, service: str) -> str:
        """JALON_DB_URL_<SERVICE> wins; else the template, filled with the service name."""
        explicit = os.environ.get(f"JALON_DB_URL_{service.upper()}")
        if explicit:
            return explicit
        return self.database_url_template.format(service=service, data_dir=self.data_dir)

    def heartbeat_path(self, name: str) -> Path:
        """The file process `name` touches while it consumes (JALON_LIVENESS_FILE)."""
        return Path(self.liveness_file.format(data_dir=self.data_dir, name=name))

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
        trusted_proxies=int(_env("TRUSTED_PROXIES", "0")),
        public_url=_env("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        space_url=_env("SPACE_URL", _env("PUBLIC_URL", "http://127.0.0.1:8000")).rstrip("/"),
        liveness_interval=float(_env("LIVENESS_INTERVAL", "10")),
        liveness_deadline=float(_env("LIVENESS_DEADLINE", "60")),
        hub_stall_seconds=float(_env("HUB_STALL_SECONDS", "60")),
        liveness_file=_env("LIVENESS_FILE", "{data_dir}/liveness/{name}.alive"),
        email_lease_seconds=float(_env("EMAIL_LEASE_SECONDS", "120")),
        captcha_provider=_env("CAPTCHA_PROVIDER", "none"),
        captcha_site_key=_env("CAPTCHA_SITE_KEY", ""),
    )
