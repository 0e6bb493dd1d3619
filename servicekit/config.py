"""Settings from environment variables, with embedded defaults that run on one laptop.

Every variable is prefixed JALON_. The defaults give the embedded mode of `make run`: SQLite
files and local folders under JALON_DATA_DIR, RabbitMQ on localhost, emails written to disk.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from email.utils import parseaddr
from urllib.parse import urlsplit, urlunsplit


DEVELOPMENT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
# Addresses only this machine reaches: an email's link to them leads nowhere.
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
# What docker-compose.yml and deploy/k8s ship for the settings only a deployment knows: a
# process in production refuses them, so that a forgotten one stops it instead of mailing
# links to nowhere.
_EXAMPLE_NAMES = ("example.org", "example.com", "example.net", "example", "test", "invalid")
_PLACEHOLDER_KEYS = {"your-site-key", "change-me"}


def _env(name: str, default: str) -> str:
    return os.environ.get(f"JALON_{name}", default)


def _flag(name: str) -> bool:
    """An off-by-default switch: 1, true or yes turn it on."""
    return _env(name, "false").lower() in ("1", "true", "yes")


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
    # The port this process serves its Prometheus /metrics on (JALON_METRICS_PORT; 0: none).
    metrics_port: int = 0
    # How long an email claimed for sending is left to its sender (JALON_EMAIL_LEASE_SECONDS):
    # longer than any send (SMTP timeout 30 s), since past it another sender sends it again.
    email_lease_seconds: float = 120.0
    # The CAPTCHA the public forms show (JALON_CAPTCHA_PROVIDER: none, hcaptcha or recaptcha)
    # and its public site key (JALON_CAPTCHA_SITE_KEY); the answers are checked by the service
    # that receives the form.
    captcha_provider: str = "none"
    captcha_site_key: str = ""
    # JALON_ENV=production: every process refuses to start while a setting a deployment needs
    # is unset, left at its development default or at the deployment files' placeholder
    # (production_problems).
    environment: str = "development"
    # How long the log of public events keeps a published event, the oldest a replay reaches
    # (JALON_INTEGRATION_RETENTION_DAYS).
    integration_retention_days: int = 400
    # Where other funders' systems reach the broker (JALON_AMQP_PUBLIC_URL, e.g.
    # amqps://broker.example.org:5671/jalon), as /asyncapi.json says; by default JALON_AMQP_URI.
    # Either way its credentials are dropped (public_amqp_url).
    amqp_public_url: str = ""
    # The command that runs rabbitmqctl when a funder is given its broker access
    # (JALON_RABBITMQCTL), e.g. "docker compose exec -T rabbitmq rabbitmqctl".
    rabbitmqctl: str = "rabbitmqctl"
    # Webhooks (issue 17): http:// endpoints allowed besides https:// (JALON_WEBHOOKS_ALLOW_HTTP,
    # development and tests only); how long a rotated secret still signs beside the new one
    # (JALON_WEBHOOK_SECRET_OVERLAP_HOURS); the waits, in seconds, after each failed attempt,
    # after which a delivery fails (JALON_WEBHOOK_RETRY_DELAYS, about a day); how long an
    # endpoint has to answer (JALON_WEBHOOK_TIMEOUT_SECONDS); endpoints on private networks
    # or this machine allowed (JALON_WEBHOOKS_ALLOW_PRIVATE, development and tests only).
    webhooks_allow_http: bool = False
    webhooks_allow_private: bool = False
    webhook_secret_overlap_hours: float = 24.0
    webhook_retry_delays: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    webhook_timeout_seconds: float = 10.0
    # A running job whose heartbeat is older than this lost its process (JALON_JOB_STALE_SECONDS):
    # another replica resumes it (servicekit/jobs.py).
    job_stale_seconds: float = 30.0

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
    def public_amqp_url(self) -> str:
        """The broker's public address without user or password: it is published."""
        parts = urlsplit(self.amqp_public_url or self.amqp_uri)
        host = parts.hostname or "localhost"
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

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
        amqp_uri=_env("AMQP_URI", DEVELOPMENT_AMQP_URI),
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
        metrics_port=int(_env("METRICS_PORT", "0")),
        email_lease_seconds=float(_env("EMAIL_LEASE_SECONDS", "120")),
        captcha_provider=_env("CAPTCHA_PROVIDER", "none"),
        captcha_site_key=_env("CAPTCHA_SITE_KEY", ""),
        environment=_env("ENV", "development").strip().lower(),
        integration_retention_days=int(_env("INTEGRATION_RETENTION_DAYS", "400")),
        amqp_public_url=_env("AMQP_PUBLIC_URL", ""),
        rabbitmqctl=_env("RABBITMQCTL", "rabbitmqctl"),
        webhooks_allow_http=_flag("WEBHOOKS_ALLOW_HTTP"),
        webhooks_allow_private=_flag("WEBHOOKS_ALLOW_PRIVATE"),
        webhook_secret_overlap_hours=float(_env("WEBHOOK_SECRET_OVERLAP_HOURS", "24")),
        webhook_retry_delays=tuple(float(s) for s in _env(
            "WEBHOOK_RETRY_DELAYS", "5,300,1800,7200,18000,36000,36000").split(",") if s),
        webhook_timeout_seconds=float(_env("WEBHOOK_TIMEOUT_SECONDS", "10")),
        job_stale_seconds=float(_env("JOB_STALE_SECONDS", "30")),
    )


def production_problems(settings: Settings, database: str | None = None) -> list[str]:
    """Why a process (using `database`'s database, if any) must not run with these settings,
    each reason naming its variable: in production (JALON_ENV) only, else none."""
    if settings.environment not in ("development", "production"):
        return [f"JALON_ENV: {settings.environment!r} is neither development nor production"]
    if settings.environment == "development":
        return []
    problems = _link_problems("JALON_PUBLIC_URL", settings.public_url)
    if settings.space_url != settings.public_url:
        problems += _link_problems("JALON_SPACE_URL", settings.space_url)
    sender = parseaddr(settings.mail_from)[1].lower()
    if "@" not in sender or sender.endswith("@jalon.local"):
        problems.append(f"JALON_MAIL_FROM: {settings.mail_from!r} is not a real sender")
    elif _placeholder(sender.rpartition("@")[2]):
        problems.append(f"JALON_MAIL_FROM: {settings.mail_from!r} is the shipped placeholder")
    if not settings.smtp_host:
        problems.append("JALON_SMTP_HOST: unset, emails would only be written to disk")
    elif _placeholder(settings.smtp_host):
        problems.append(f"JALON_SMTP_HOST: {settings.smtp_host} is the shipped placeholder")
    if settings.amqp_uri == DEVELOPMENT_AMQP_URI:
        problems.append("JALON_AMQP_URI: unset, the development broker on this machine")
    if database and settings.database_url(database).startswith("sqlite"):
        problems.append("JALON_DATABASE_URL_TEMPLATE: SQLite, one machine's files (use "
                        f"PostgreSQL, or JALON_DB_URL_{database.upper()})")
    problems += _captcha_problems(settings)
    problems += [f"{name}: for development and tests only" for name, allowed in (
        ("JALON_WEBHOOKS_ALLOW_HTTP", settings.webhooks_allow_http),
        ("JALON_WEBHOOKS_ALLOW_PRIVATE", settings.webhooks_allow_private)) if allowed]
    return problems


def _link_problems(variable: str, url: str) -> list[str]:
    """Emails carry links to this address: people must reach it, over https."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in _LOCAL_HOSTS or host.startswith("127."):
        return [f"{variable}: {url} is this machine's address, not where users reach Jalon"]
    if parts.scheme != "https":
        return [f"{variable}: {url} is not an https:// address"]
    if _placeholder(host):
        return [f"{variable}: {url} is the shipped placeholder, not where users reach Jalon"]
    return []


def _placeholder(host: str) -> bool:
    """A name reserved for examples (RFC 2606), as the deployment files ship: never a real
    deployment's."""
    host = host.lower().rstrip(".")
    return any(host == name or host.endswith(f".{name}") for name in _EXAMPLE_NAMES)


def _captcha_problems(settings: Settings) -> list[str]:
    """The public forms (sign-up, forgotten password) need a CAPTCHA, with both its keys."""
    if settings.captcha_provider == "none":
        return ["JALON_CAPTCHA_PROVIDER: none, the public forms would accept any robot"]
    keys = (("JALON_CAPTCHA_SITE_KEY", settings.captcha_site_key),
            ("JALON_CAPTCHA_SECRET", os.environ.get("JALON_CAPTCHA_SECRET", "")))
    return [f"{name}: unset, needed with JALON_CAPTCHA_PROVIDER" if not value else
            f"{name}: the shipped placeholder" for name, value in keys
            if not value or value in _PLACEHOLDER_KEYS]
