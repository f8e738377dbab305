"""Settings: the only module that reads the process environment."""

from __future__ import annotations

import base64
import binascii
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

ENVIRONMENTS = ("development", "production", "test")
OUTBOUND_MODES = ("send", "record")
SUPPORTED_DB_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
SMTP_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
STARTTLS = ("auto", "required")
TRACKERS = ("github", "jira", "gitlab")  # the built-in ones; an installed plugin may add more (integrations/registry)
# The webhook secret that each built-in tracker needs when it is switched on in production.
TRACKER_SECRETS = {
    "github": "PVM_GITHUB_WEBHOOK_SECRET",
    "jira": "PVM_JIRA_WEBHOOK_SECRET",
    "gitlab": "PVM_GITLAB_WEBHOOK_SECRET",
}


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable and what to do."""


@dataclass(frozen=True)
class Settings:
    """Everything the service can be told from outside, validated once at start."""

    instance_dir: Path = field(default_factory=lambda: default_instance_dir(os.environ))
    database_url: str = ""
    env: str = "development"
    secret_key: str | None = None
    github_webhook_secret: str | None = None
    jira_webhook_secret: str | None = None
    gitlab_webhook_secret: str | None = None
    allow_unsigned_webhooks: bool = False
    # The trackers whose webhooks this service takes (PVM_TRACKERS): in production each needs its webhook secret.
    trackers: tuple[str, ...] = TRACKERS
    github_token: str | None = None
    github_app_id: str | None = None
    github_app_private_key: str | None = None
    github_app_installation_id: str | None = None
    github_api_url: str = "https://api.github.com"
    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: str | None = None
    gitlab_url: str = "https://gitlab.com"
    gitlab_token: str | None = None
    smtp_url: str | None = None
    mail_from: str = "Public Value Monitor <pvm@localhost>"
    # Hosts outbound webhooks and pulled readings may reach although they resolve to a private address.
    allowed_private_hosts: tuple[str, ...] = ()
    email_per_second: float = 10.0  # check-in e-mails sent per second, across all workers
    webhook_per_second: float = 10.0  # outbound check-in webhooks per second, likewise
    outbound_timeout: float = 10.0  # seconds an outbound webhook or a pulled reading may take
    # How long a worker's claim on a delivery or an outbox row holds: a killed worker's work waits this long.
    worker_lease: float = 300.0
    base_url: str = "http://127.0.0.1:8000"
    # Jira keeps story points in a custom field whose id differs per site (Cloud's "Story point estimate" is
    # customfield_10016; Data Center's "Story Points" is often customfield_10002).
    jira_story_points_field: str = "customfield_10016"
    # Issues or tickets the sprint value summary is also posted on at iteration close, one per tracker at most.
    report_issues: tuple[str, ...] = ()
    rules_dir: Path | None = None
    outbound: str = "send"
    tracker_timeout: float = 20.0  # seconds to wait for a tracker's answer (read timeout of every outbound call)
    max_webhook_bytes: int = 25 * 1024 * 1024
    # Signs the value log's checkpoints: an Ed25519 private key, PEM or base64 of its 32 raw bytes. Outside
    # production one is made once in the instance folder when none is given (service/valuelog/keys.py).
    log_signing_key: str | None = field(default=None, repr=False)
    log_origin: str = ""  # the first line of every checkpoint, naming this log; default from base_url
    checkpoint_file: Path | None = None  # each new signed checkpoint is also written here (outside the database)
    checkpoint_webhook_url: str | None = None  # ... and posted here
    checkpoint_issue: str | None = None  # ... and commented on this tracker issue, e.g. github:city/audit#1
    # How many proxies in front of the web process set X-Forwarded-For/-Proto: only then are the client's address
    # (rate limits) and TLS (HSTS, Secure cookies) read from those headers; 0 trusts none, as a client can forge them.
    trusted_proxies: int = 0
    # Rate limits per client address, in Flask-Limiter's notation ("10 per minute; 100 per day"); see rate_limits.py.
    signin_rate_limit: str = "10 per minute; 100 per day"  # failed sign-ins on /signin
    token_failure_rate_limit: str = "20 per minute; 300 per day"  # API requests with an unknown or revoked token
    checkin_form_rate_limit: str = "30 per minute"  # requests to the public check-in answer form

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.instance_dir / 'pvm.sqlite3'}")
        if not self.log_origin:
            object.__setattr__(self, "log_origin", default_log_origin(self.base_url))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        pvm_env = get("PVM_ENV") or "development"
        if pvm_env not in ENVIRONMENTS:
            raise ConfigError(f"PVM_ENV={pvm_env!r} is not one of {', '.join(ENVIRONMENTS)}; set one of them.")
        outbound = get("PVM_OUTBOUND") or "send"
        if outbound not in OUTBOUND_MODES:
            raise ConfigError(
                f"PVM_OUTBOUND={outbound!r} is not one of {', '.join(OUTBOUND_MODES)}; "
                "use 'send' to act on trackers or 'record' for a dry run."
            )
        instance_dir = Path(get("PVM_INSTANCE_DIR") or default_instance_dir(env)).expanduser().resolve()
        database_url = get("DATABASE_URL") or ""
        if database_url:
            _check_database_url(database_url)
        rules_dir = get("PVM_RULES_DIR")
        if rules_dir and not Path(rules_dir).is_dir():
            raise ConfigError(f"PVM_RULES_DIR={rules_dir!r} is not a directory; point it at a folder of packs.")
        smtp_url = get("PVM_SMTP_URL")
        if smtp_url:
            try:
                parse_smtp_url(smtp_url)
            except ValueError as exc:
                # The URL may carry a password: it is named, never shown.
                raise ConfigError(f"PVM_SMTP_URL {exc} (e.g. smtp://user:password@mail.example.org:587).") from None
        for name in ("PVM_BASE_URL", "PVM_GITHUB_API_URL", "PVM_JIRA_URL", "PVM_GITLAB_URL"):
            value = get(name)
            if value and urlsplit(value).scheme not in ("http", "https"):
                raise ConfigError(f"{name} must be an http(s) URL, got {value!r}.")
        tracker_timeout = _seconds(get("PVM_TRACKER_TIMEOUT"), "PVM_TRACKER_TIMEOUT", 20.0)
        outbound_timeout = _seconds(get("PVM_OUTBOUND_TIMEOUT"), "PVM_OUTBOUND_TIMEOUT", 10.0)
        worker_lease = _seconds(get("PVM_WORKER_LEASE"), "PVM_WORKER_LEASE", 300.0, low=10, high=3600)
        if worker_lease < 3 * tracker_timeout:
            # An outbox send makes a few tracker calls under one lease; a lease running out mid-send would hand
            # the row to another worker while the first may still post.
            raise ConfigError(
                f"PVM_WORKER_LEASE ({worker_lease:g} s) must be at least three times PVM_TRACKER_TIMEOUT "
                f"({tracker_timeout:g} s): a send makes a few tracker calls under one lease."
            )
        email_rate = _rate(get("PVM_EMAIL_PER_SECOND"), "PVM_EMAIL_PER_SECOND", 10.0)
        webhook_rate = _rate(get("PVM_WEBHOOK_PER_SECOND"), "PVM_WEBHOOK_PER_SECOND", 10.0)
        allowed_hosts = tuple(
            host.strip().lower().rstrip(".")
            for host in (get("PVM_ALLOWED_PRIVATE_HOSTS") or "").split(",")
            if host.strip()
        )
        mail_from = get("PVM_MAIL_FROM") or "Public Value Monitor <pvm@localhost>"
        if "@" not in mail_from:
            raise ConfigError(
                f"PVM_MAIL_FROM must hold an e-mail address, e.g. 'Value team <value@city.example>', got {mail_from!r}."
            )
        points_field = get("PVM_JIRA_STORY_POINTS_FIELD") or "customfield_10016"
        if not re.fullmatch(r"customfield_\d{1,12}", points_field):
            raise ConfigError(
                "PVM_JIRA_STORY_POINTS_FIELD must be a Jira custom field id like customfield_10016, "
                f"got {points_field!r}; "
                "find yours in Jira under Settings > Issues > Custom fields (the id is in the field's edit URL)."
            )
        report_issues = _report_issues(get("PVM_REPORT_ISSUES"))
        trusted_proxies = _count(get("PVM_TRUSTED_PROXIES"), "PVM_TRUSTED_PROXIES", 0, 10)
        allow_unsigned = (get("PVM_ALLOW_UNSIGNED_WEBHOOKS") or "").lower()
        if allow_unsigned not in ("", "0", "1", "true", "false", "yes", "no"):
            raise ConfigError("PVM_ALLOW_UNSIGNED_WEBHOOKS must be 1/true/yes or 0/false/no.")

        trackers = _trackers(get("PVM_TRACKERS"), pvm_env)

        signing_key = get("PVM_LOG_SIGNING_KEY")
        if signing_key:
            try:
                parse_signing_key(signing_key)
            except ValueError as exc:  # the key itself is never shown
                raise ConfigError(f"PVM_LOG_SIGNING_KEY {exc}") from None
        log_origin = get("PVM_LOG_ORIGIN") or ""
        if log_origin and any(ch.isspace() or ch == "+" for ch in log_origin):
            raise ConfigError(
                "PVM_LOG_ORIGIN must name the log without spaces or '+', e.g. values.city.example/log, "
                f"got {log_origin!r}."
            )
        checkpoint_file = get("PVM_CHECKPOINT_FILE")
        if checkpoint_file and not Path(checkpoint_file).expanduser().resolve().parent.is_dir():
            raise ConfigError(
                f"PVM_CHECKPOINT_FILE={checkpoint_file!r} is in a folder that does not exist; create the folder first."
            )
        checkpoint_webhook = get("PVM_CHECKPOINT_WEBHOOK_URL")
        if checkpoint_webhook and urlsplit(checkpoint_webhook).scheme not in ("http", "https"):
            raise ConfigError(f"PVM_CHECKPOINT_WEBHOOK_URL must be an http(s) URL, got {checkpoint_webhook!r}.")
        checkpoint_issue = get("PVM_CHECKPOINT_ISSUE")
        tracker, _, issue_key = (checkpoint_issue or "").partition(":")
        if checkpoint_issue and (tracker not in ("github", "jira", "gitlab") or not issue_key):
            raise ConfigError(
                "PVM_CHECKPOINT_ISSUE must be a tracker issue key such as github:city/audit#1 or jira:OPS-7, "
                f"got {checkpoint_issue!r}."
            )

        settings = cls(
            instance_dir=instance_dir,
            database_url=database_url,
            env=pvm_env,
            secret_key=get("PVM_SECRET_KEY"),
            github_webhook_secret=get("PVM_GITHUB_WEBHOOK_SECRET"),
            jira_webhook_secret=get("PVM_JIRA_WEBHOOK_SECRET"),
            gitlab_webhook_secret=get("PVM_GITLAB_WEBHOOK_SECRET"),
            allow_unsigned_webhooks=allow_unsigned in ("1", "true", "yes"),
            trackers=trackers,
            github_token=get("PVM_GITHUB_TOKEN"),
            github_app_id=get("PVM_GITHUB_APP_ID"),
            github_app_private_key=get("PVM_GITHUB_APP_PRIVATE_KEY"),
            github_app_installation_id=get("PVM_GITHUB_APP_INSTALLATION_ID"),
            github_api_url=(get("PVM_GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
            jira_url=(get("PVM_JIRA_URL") or "").rstrip("/") or None,
            jira_email=get("PVM_JIRA_EMAIL"),
            jira_api_token=get("PVM_JIRA_API_TOKEN"),
            gitlab_url=(get("PVM_GITLAB_URL") or "https://gitlab.com").rstrip("/"),
            gitlab_token=get("PVM_GITLAB_TOKEN"),
            smtp_url=smtp_url,
            mail_from=mail_from,
            allowed_private_hosts=allowed_hosts,
            email_per_second=email_rate,
            webhook_per_second=webhook_rate,
            outbound_timeout=outbound_timeout,
            worker_lease=worker_lease,
            base_url=(get("PVM_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
            jira_story_points_field=points_field,
            report_issues=report_issues,
            rules_dir=Path(rules_dir).resolve() if rules_dir else None,
            outbound=outbound,
            tracker_timeout=tracker_timeout,
            log_signing_key=signing_key,
            log_origin=log_origin,
            checkpoint_file=Path(checkpoint_file).expanduser().resolve() if checkpoint_file else None,
            checkpoint_webhook_url=checkpoint_webhook,
            checkpoint_issue=checkpoint_issue,
            trusted_proxies=trusted_proxies,
            signin_rate_limit=_rate_limit(get("PVM_SIGNIN_RATE_LIMIT"), "PVM_SIGNIN_RATE_LIMIT", cls.signin_rate_limit),
            token_failure_rate_limit=_rate_limit(
                get("PVM_TOKEN_FAILURE_RATE_LIMIT"), "PVM_TOKEN_FAILURE_RATE_LIMIT", cls.token_failure_rate_limit
            ),
            checkin_form_rate_limit=_rate_limit(
                get("PVM_CHECKIN_FORM_RATE_LIMIT"), "PVM_CHECKIN_FORM_RATE_LIMIT", cls.checkin_form_rate_limit
            ),
        )
        settings.check_production()
        return settings

    def check_production(self) -> None:
        """In production a missing secret is fatal: better no start than unsigned intake or forgeable links."""
        if not self.is_production:
            return
        if not self.secret_key:
            raise ConfigError("PVM_SECRET_KEY is required when PVM_ENV=production; set it to a long random value.")
        if not self.trackers:
            raise ConfigError(
                "PVM_TRACKERS is required when PVM_ENV=production: list the trackers whose webhooks this service "
                "takes, e.g. PVM_TRACKERS=github or PVM_TRACKERS=github,jira,gitlab; each one listed needs its "
                f"webhook secret ({', '.join(TRACKER_SECRETS.values())})."
            )
        secrets = {
            "github": self.github_webhook_secret,
            "jira": self.jira_webhook_secret,
            "gitlab": self.gitlab_webhook_secret,
        }
        for tracker in self.trackers:
            if tracker in TRACKER_SECRETS and not secrets[tracker]:
                others = [name for name in self.trackers if name != tracker]
                switch_off = f"PVM_TRACKERS={','.join(others)}" if others else "PVM_TRACKERS to the trackers you use"
                raise ConfigError(
                    f"{TRACKER_SECRETS[tracker]} is required when PVM_ENV=production because PVM_TRACKERS switches "
                    f"{tracker} on; set it to the secret of {tracker}'s webhook (a long random value), "
                    f"or switch {tracker} off with {switch_off}."
                )
        if self.allow_unsigned_webhooks:
            raise ConfigError("PVM_ALLOW_UNSIGNED_WEBHOOKS cannot be on when PVM_ENV=production; unset it.")
        if not self.log_signing_key:
            raise ConfigError(
                "PVM_LOG_SIGNING_KEY is required when PVM_ENV=production: it signs the value log's checkpoints. "
                "Make one with `openssl genpkey -algorithm ed25519`, keep it secret, and publish its public key "
                "(`pvm log key`)."
            )


def default_instance_dir(environ: Mapping[str, str]) -> Path:
    """Where the embedded database, the development keys and checkpoints live when PVM_INSTANCE_DIR is not set: one
    per-user data folder, whatever directory a command runs in (on Linux, platformdirs' user_data_dir)."""
    home = Path(environ.get("HOME") or Path.home())
    if sys.platform == "win32":
        base = Path(environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    else:  # Linux, the BSDs and macOS alike: the XDG base directory
        xdg = environ.get("XDG_DATA_HOME", "").strip()
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return (base / "pvm").resolve()


def _trackers(value: str | None, pvm_env: str) -> tuple[str, ...]:
    """`PVM_TRACKERS`: the trackers switched on, comma-separated. Every built-in one by default, except in
    production, where the list must be given (check_production) so that each one's webhook secret is required."""
    if value is None:
        return () if pvm_env == "production" else TRACKERS  # none: check_production names the variable
    names = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    from integrations import registry  # here, not above: the integrations import this module

    known = sorted(set(TRACKERS) | set(registry.all_integrations()))
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        wrong = f"names {unknown[0]!r}, which is not an installed tracker" if unknown else "is empty"
        raise ConfigError(
            f"PVM_TRACKERS {wrong}; list some of {', '.join(known)}, comma-separated, e.g. PVM_TRACKERS=github,jira."
        )
    return names


def default_log_origin(base_url: str) -> str:
    """The log's name when PVM_LOG_ORIGIN is not set: the service's host and path, e.g. `values.city.example/log`."""
    parts = urlsplit(base_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/value-log"


def parse_signing_key(value: str) -> Ed25519PrivateKey:
    """PEM (PKCS#8, as `openssl genpkey -algorithm ed25519` writes) or base64 of the 32-byte seed; ValueError saying
    what is wrong, never echoing the key."""
    text = value.strip().replace("\\n", "\n")  # a PEM squeezed onto one line of an environment file
    if text.startswith("-----BEGIN"):
        try:
            key = load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError):
            raise ValueError("is not a readable unencrypted PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("is a PEM key of another type; it must be Ed25519 (openssl genpkey -algorithm ed25519)")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("is neither a PEM key nor base64; give a PEM Ed25519 key or base64 of its 32 bytes") from None
    if len(raw) != 32:
        raise ValueError(f"decodes to {len(raw)} bytes; an Ed25519 private key in base64 is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _seconds(value: str | None, name: str, default: float, low: float = 1, high: float = 300) -> float:
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not low <= seconds <= high:
        raise ConfigError(f"{name} must be a number of seconds from {low:g} to {high:g}, got {value!r}.")
    return seconds


_REPORT_ISSUE = re.compile(r"(github|gitlab):[^\s#]+/[^\s#]+#[1-9]\d{0,9}|jira:[A-Z][A-Z0-9_]{0,99}-[1-9]\d{0,9}")


def _report_issues(value: str | None) -> tuple[str, ...]:
    """`PVM_REPORT_ISSUES`: comma-separated issue keys, at most one per tracker."""
    keys = tuple(part.strip() for part in (value or "").split(",") if part.strip())
    for key in keys:
        if not _REPORT_ISSUE.fullmatch(key):
            raise ConfigError(
                f"PVM_REPORT_ISSUES: {key!r} is not an issue key; use e.g. github:owner/repo#12 or jira:PRM-7, "
                "comma-separated, one per tracker."
            )
    trackers = [key.split(":", 1)[0] for key in keys]
    repeated = sorted({tracker for tracker in trackers if trackers.count(tracker) > 1})
    if repeated:
        raise ConfigError(
            f"PVM_REPORT_ISSUES names more than one issue of {', '.join(repeated)}; keep one per tracker."
        )
    return keys


def _rate(value: str | None, name: str, default: float) -> float:
    if value is None:
        return default
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if not 0.01 <= rate <= 1000:
        raise ConfigError(f"{name} must be a number of sends per second from 0.01 to 1000, got {value!r}.")
    return rate


def _count(value: str | None, name: str, default: int, most: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or int(value) > most:
        raise ConfigError(f"{name} must be a whole number from 0 to {most}, got {value!r}.")
    return int(value)


def _rate_limit(value: str | None, name: str, default: str) -> str:
    """A limit in Flask-Limiter's notation, checked here so that a typo stops the start rather than every request."""
    if value is None:
        return default
    from limits import parse_many  # the notation's own parser, so what passes here is what Flask-Limiter reads

    try:
        parsed = parse_many(value)
    except ValueError:
        parsed = []
    if not parsed or any(item.amount < 1 for item in parsed):
        raise ConfigError(
            f"{name} must be one or more limits such as '10 per minute' or '10/minute; 100/day', got {value!r}."
        )
    return value


def _check_database_url(url: str) -> None:
    scheme = urlsplit(url).scheme
    if not scheme or "://" not in url:
        raise ConfigError(
            f"DATABASE_URL is malformed ({_redact(url)}); use sqlite:///path/to/file or "
            "postgresql://user@host:5432/dbname."
        )
    if scheme not in SUPPORTED_DB_SCHEMES:
        raise ConfigError(f"DATABASE_URL scheme {scheme!r} is not supported; use sqlite:/// or postgresql://.")


def _redact(url: str) -> str:
    """Never print a password that sits in a URL."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


redact_url = _redact


@dataclass(frozen=True)
class SmtpUrl:
    """PVM_SMTP_URL read into its parts: where check-in e-mails go. The password never appears in repr, logs or
    errors."""

    scheme: Literal["smtp", "smtps"]  # smtps: TLS from the first byte (implicit TLS, usually port 465)
    host: str
    port: int
    # smtp://: "auto" upgrades with STARTTLS whenever the server offers it; "required" refuses to send otherwise.
    starttls: str = "auto"
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def shown(self) -> str:
        """For messages: the URL without its credentials."""
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpUrl:
    """The parts, or ValueError saying what is wrong (never echoing the password)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in SMTP_DEFAULT_PORTS:
        raise ValueError("must look like smtp://host:port or smtps://host:port")
    if not parts.hostname:
        raise ValueError("names no host; write smtp://host:port")
    try:
        port = parts.port or SMTP_DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"starttls"})
    if unknown:
        raise ValueError(f"has an unknown parameter {unknown[0]!r}; the only one is starttls=required")
    starttls = query.get("starttls", ["auto"])[-1].lower()
    if starttls not in STARTTLS:
        raise ValueError(f"has starttls={starttls!r}; write starttls=required (or leave it out for auto)")
    if parts.scheme == "smtps" and "starttls" in query:
        raise ValueError("is smtps:// (TLS from the start), so starttls does not apply; drop it")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise ValueError("has a password without a user name; write smtp://user:password@host:port")
    return SmtpUrl(
        scheme="smtps" if parts.scheme == "smtps" else "smtp",
        host=parts.hostname,
        port=port,
        starttls=starttls,
        username=username,
        password=password,
    )
