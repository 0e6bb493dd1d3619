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
    # How many proxies in front of the gateway append to X-Forwarded-For (JALON_TRUSTED_PROXIES,
    # default 0: the header is ignored, else anyone could pick the address the per-address
    # limits count).
    trusted_proxies: int = 0
    # Where users reach Jalon: the base of the links emails carry (confirmation, reset).
    public_url: str = "http://127.0.0.1:8000"
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
    identity: "IdentitySettings | None" = None  # identity's security rules, set by load()

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


@dataclass(frozen=True)
class IdentitySettings:
    """What the identity service's security rules are tuned with (issue 4).

    JALON_SESSION_IDLE_MINUTES (30): a session unused this long ends; the absolute limit is
        JALON_TOKEN_TTL_MINUTES (default 60) from the login, whatever the activity.
    JALON_LOGIN_MAX_FAILURES (5) failed logins in a row lock the account for
        JALON_LOGIN_LOCK_MINUTES (15); the locked account answers like a wrong password.
    JALON_IP_MAX_FAILURES (20) failed logins from one address within JALON_IP_WINDOW_MINUTES
        (15) answer TooManyRequests("too_many_attempts") until the window slides past them.
    JALON_RESET_MAX_PER_ADDRESS (5) password-reset requests from one address within
        JALON_IP_WINDOW_MINUTES answer TooManyRequests("too_many_reset_requests"), whatever
        the identifiers asked (so the limit tells nothing about accounts).
    JALON_RESET_TTL_MINUTES (60): life of a password-reset link; JALON_CONFIRM_TTL_HOURS (48):
        of an identifier-confirmation link. Both links are single-use.
    JALON_CAPTCHA_PROVIDER: none (development, tests), hcaptcha or recaptcha; with
        JALON_CAPTCHA_SECRET (the provider's secret key) and optionally
        JALON_CAPTCHA_VERIFY_URL (default: the provider's siteverify URL).
    JALON_PRIVACY_POLICY_VERSION (2026-01): the version users must accept.
    """

    session_idle_minutes: int = 30
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    ip_max_failures: int = 20
    ip_window_minutes: int = 15
    reset_max_per_address: int = 5
    reset_ttl_minutes: int = 60
    confirm_ttl_hours: int = 48
    captcha_provider: str = "none"
    captcha_secret: str = ""
    captcha_verify_url: str = ""
    privacy_policy_version: str = "2026-01"


def _identity_settings() -> IdentitySettings:
    return IdentitySettings(
        session_idle_minutes=int(_env("SESSION_IDLE_MINUTES", "30")),
        login_max_failures=int(_env("LOGIN_MAX_FAILURES", "5")),
        login_lock_minutes=int(_env("LOGIN_LOCK_MINUTES", "15")),
        ip_max_failures=int(_env("IP_MAX_FAILURES", "20")),
        ip_window_minutes=int(_env("IP_WINDOW_MINUTES", "15")),
        reset_max_per_address=int(_env("RESET_MAX_PER_ADDRESS", "5")),
        reset_ttl_minutes=int(_env("RESET_TTL_MINUTES", "60")),
        confirm_ttl_hours=int(_env("CONFIRM_TTL_HOURS", "48")),
        captcha_provider=_env("CAPTCHA_PROVIDER", "none").strip().lower(),
        captcha_secret=_env("CAPTCHA_SECRET", ""),
        captcha_verify_url=_env("CAPTCHA_VERIFY_URL", ""),
        privacy_policy_version=_env("PRIVACY_POLICY_VERSION", "2026-01"),
    )


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
        liveness_interval=float(_env("LIVENESS_INTERVAL", "10")),
        liveness_deadline=float(_env("LIVENESS_DEADLINE", "60")),
        hub_stall_seconds=float(_env("HUB_STALL_SECONDS", "60")),
        liveness_file=_env("LIVENESS_FILE", "{data_dir}/liveness/{name}.alive"),
        email_lease_seconds=float(_env("EMAIL_LEASE_SECONDS", "120")),
        identity=_identity_settings(),
    )
