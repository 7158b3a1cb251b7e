"""Settings from the environment: where the stores live and which engines run, typed and checked.

This is the one module that reads `os.environ`. Every variable is a field of `Settings`; a bad
value is refused here, by the variable's name, before anything is wired.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from clearwatch.domain.audit.chain import HashAlgorithm
from clearwatch.domain.shared.errors import ConfigurationError

HOME_DEFAULT = "./clearwatch-data"
SQLITE_FILE_NAME = "clearwatch.sqlite3"
AUDIT_KEY_DEFAULT = Path("audit-key") / "ed25519.pem"  # under the home
AUDIT_CHECKPOINTS_DEFAULT = "audit-checkpoints"  # under the home
ACCESS_KEY_DEFAULT = Path("keys") / "access-token.key"  # under the home
TOKEN_FILE_DEFAULT = Path("clearwatch") / "token"  # under the user's config directory
ACCESS_TOKEN_MINUTES_DEFAULT = 60
ACCESS_TOKEN_MINUTES_RANGE = (5, 720)
UPLOAD_LIMIT_MB_DEFAULT = 2048
SPARK_MASTER_DEFAULT = "local[2]"
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")

HOME = "CLEARWATCH_HOME"
DATABASE_URL = "CLEARWATCH_DATABASE_URL"
COLUMNAR_ROOT = "CLEARWATCH_COLUMNAR_ROOT"
AUDIT_HASH = "CLEARWATCH_AUDIT_HASH"
AUDIT_KEY = "CLEARWATCH_AUDIT_KEY"
AUDIT_CHECKPOINTS = "CLEARWATCH_AUDIT_CHECKPOINTS"
ENGINE = "CLEARWATCH_ENGINE"
ENGINE_URL = "CLEARWATCH_ENGINE_URL"
ENGINE_MEMORY_LIMIT = "CLEARWATCH_ENGINE_MEMORY_LIMIT"
ENGINE_ACCOUNTS_PER_PASS = "CLEARWATCH_ENGINE_ACCOUNTS_PER_PASS"
SPARK_MASTER = "CLEARWATCH_SPARK_MASTER"
MONITOR_RULES = "CLEARWATCH_MONITOR_RULES"
CRASH_AT = "CLEARWATCH_CRASH_AT"  # tests: kill the process at this named point
EOD_STOP_AFTER = "CLEARWATCH_EOD_STOP_AFTER"  # tests: end `broker eod` after this step
ACCESS_KEY = "CLEARWATCH_ACCESS_KEY"
ACCESS_TOKEN_MINUTES = "CLEARWATCH_ACCESS_TOKEN_MINUTES"
REPLAY = "CLEARWATCH_REPLAY"
TOKEN = "CLEARWATCH_TOKEN"
TOKEN_FILE = "CLEARWATCH_TOKEN_FILE"
UPLOAD_LIMIT_MB = "CLEARWATCH_UPLOAD_LIMIT_MB"
INBOX_ROOT = "CLEARWATCH_INBOX_ROOT"  # the API's end of day reads inboxes only under it
WEBHOOKS = "CLEARWATCH_WEBHOOKS"
NOTICE_FONT = "CLEARWATCH_NOTICE_FONT"
DELIVERY_ATTEMPTS_MAX = "CLEARWATCH_DELIVERY_ATTEMPTS_MAX"
DELIVERY_BACKOFF_SECONDS = "CLEARWATCH_DELIVERY_BACKOFF_SECONDS"
DELIVERY_LEASE_SECONDS = "CLEARWATCH_DELIVERY_LEASE_SECONDS"
DELIVERY_ATTEMPTS_MAX_DEFAULT = 8
DELIVERY_BACKOFF_SECONDS_DEFAULT = 30
DELIVERY_LEASE_SECONDS_DEFAULT = 300
# `clearwatch serve` runs the sweep and the delivery worker in the background, as the named
# SIPF user (unset: neither runs); every N seconds, 0 disables one.
SERVE_WORKER_USER = "CLEARWATCH_SERVE_WORKER_USER"
SERVE_SWEEP_SECONDS = "CLEARWATCH_SERVE_SWEEP_SECONDS"
SERVE_DELIVER_SECONDS = "CLEARWATCH_SERVE_DELIVER_SECONDS"
SERVE_SWEEP_SECONDS_DEFAULT = 300
SERVE_DELIVER_SECONDS_DEFAULT = 10
ENCRYPT_AT_REST = "CLEARWATCH_ENCRYPT_AT_REST"
MASTER_KEY_FILE = "CLEARWATCH_MASTER_KEY_FILE"
MASTER_KEY = "CLEARWATCH_MASTER_KEY"  # base64 of 32 bytes; never printed
MASTER_KEY_BYTES = 32  # AES-256
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")

# DuckDB's size grammar ("6GB", "512 MiB", "80%"); anything else DuckDB would refuse mid-run.
_MEMORY_LIMIT = re.compile(r"^\d+(\.\d+)?\s*(b|kb|mb|gb|tb|kib|mib|gib|tib|%)$", re.IGNORECASE)
# Masters `SparkSession.builder.master` accepts: local, local[N], local[*], or a cluster.
_SPARK_MASTER = re.compile(r"^(local(\[(\d+|\*)(,\d+)?\])?|yarn|(spark|k8s|mesos)://\S+)$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class EngineBackend(StrEnum):
    """Where the large comparisons run: embedded DuckDB, PostgreSQL, or Spark."""

    DUCKDB = "duckdb"
    POSTGRES = "postgres"
    SPARK = "spark"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    # A local folder by default; any URI pyarrow's filesystems speak (s3://…) works too.
    columnar_root: str
    audit_algorithm: HashAlgorithm
    engine_backend: EngineBackend
    # DuckDB's memory ceiling (e.g. "6GB"); past it, joins and aggregations spill to disk.
    # None: DuckDB's own default, 80 % of the machine's memory.
    engine_memory_limit: str | None = None
    # Client fund rows DuckDB compares in one pass (F1); past it, the market is compared a group
    # of brokers at a time. None: the engine's default (4,000,000).
    engine_accounts_per_pass: int | None = None
    # The PostgreSQL the `postgres` engine compares in; None: the database URL.
    engine_url: str | None = None
    spark_master: str = SPARK_MASTER_DEFAULT
    monitor_rules: Path | None = None  # None: the packaged monitoring rules
    crash_at: str | None = None
    eod_stop_after: str | None = None
    # The Ed25519 key that signs audit checkpoints (created 0600 on first use) and where the
    # checkpoints go: outside the database, so rewriting the store cannot re-sign its head.
    # None: under the home (`audit-key/ed25519.pem`, `audit-checkpoints/`).
    audit_key: Path | None = None
    audit_checkpoints: Path | None = None
    # The key that signs access tokens (created 0600 on first use); every server of one store
    # must read the same file. None: `keys/access-token.key` under the home.
    access_key: Path | None = None
    access_token_minutes: int = ACCESS_TOKEN_MINUTES_DEFAULT
    # Replay mode: `--at` may set the business time of `monitor submit` and `run-day` (tests,
    # the demo, re-running recorded days). Off in production; never used for security.
    replay: bool = False
    # The caller's credential: a token from the environment, else the file `login` wrote.
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    upload_limit_mb: int = UPLOAD_LIMIT_MB_DEFAULT
    # The folder under which the API's end of day may read a broker's inbox (a path in the
    # request names one inside it). None: the API runs no end of day; the CLI is unaffected.
    inbox_root: Path | None = None
    # Delivery of approved warnings (issue 14): recipients' webhook endpoints and secrets (an
    # owner-only TOML file; None: no webhooks), the CJK font of the PDF notices, and the
    # worker's named limits: attempts before a delivery is parked, the first back-off (it
    # doubles), and how long a claim without an outcome is left to its worker.
    webhooks: Path | None = None
    notice_font: Path | None = None
    delivery_attempts_max: int = DELIVERY_ATTEMPTS_MAX_DEFAULT
    delivery_backoff_seconds: int = DELIVERY_BACKOFF_SECONDS_DEFAULT
    delivery_lease_seconds: int = DELIVERY_LEASE_SECONDS_DEFAULT
    serve_worker_user: str | None = None
    serve_sweep_seconds: int = SERVE_SWEEP_SECONDS_DEFAULT
    serve_deliver_seconds: int = SERVE_DELIVER_SECONDS_DEFAULT
    # Encryption at rest of the columnar store (issue 18): a new store's objects are written
    # encrypted under its data key, which the master key wraps: from an owner-only key file or
    # the environment (base64). A store that holds a keyring is encrypted whatever
    # `encrypt_at_rest` says, and does not start without its master key.
    encrypt_at_rest: bool = False
    master_key_file: Path | None = None
    master_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Plain strings are accepted where an enum is declared (tests and benches build
        # Settings by hand); they are checked and stored as the enum.
        object.__setattr__(self, "audit_algorithm", _audit(str(self.audit_algorithm)))
        object.__setattr__(self, "engine_backend", _engine(str(self.engine_backend)))
        _check(self)
        _check_delivery(self)
        _check_encryption(self)

    @property
    def is_embedded(self) -> bool:
        """The embedded default: a SQLite file that is created on first use."""
        return self.database_url.startswith("sqlite")

    @property
    def shown_database_url(self) -> str:
        """The database URL as it may be printed: any password replaced by `***`."""
        return masked_url(self.database_url)

    @property
    def audit_key_path(self) -> Path:
        return self.audit_key or self.home / AUDIT_KEY_DEFAULT

    @property
    def audit_checkpoints_dir(self) -> Path:
        return self.audit_checkpoints or self.home / AUDIT_CHECKPOINTS_DEFAULT

    @property
    def access_key_path(self) -> Path:
        return self.access_key or self.home / ACCESS_KEY_DEFAULT

    @property
    def token_file_path(self) -> Path:
        return self.token_file or Path.home() / ".config" / TOKEN_FILE_DEFAULT

    @property
    def engine_database_url(self) -> str:
        return self.engine_url or self.database_url

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, *, home: Path | None = None
    ) -> Settings:
        """`home` stands in for `CLEARWATCH_HOME` (a restore `--to` a new home, a drill's)."""
        env = {
            key: value
            for key, value in (os.environ if environ is None else environ).items()
            if value != ""  # an empty variable means "not set", as a shell user expects
        }
        if home is not None:
            env[HOME] = str(home)
        home = Path(env.get(HOME, HOME_DEFAULT)).expanduser().absolute()
        rules = env.get(MONITOR_RULES)
        key, checkpoints = env.get(AUDIT_KEY), env.get(AUDIT_CHECKPOINTS)
        return cls(
            home=home,
            database_url=env.get(DATABASE_URL) or f"sqlite:///{home / SQLITE_FILE_NAME}",
            columnar_root=env.get(COLUMNAR_ROOT) or str(home / "columnar"),
            audit_algorithm=_audit(env.get(AUDIT_HASH, HashAlgorithm.SHA256.value)),
            engine_backend=_engine(env.get(ENGINE, EngineBackend.DUCKDB.value)),
            engine_memory_limit=env.get(ENGINE_MEMORY_LIMIT),
            engine_accounts_per_pass=_whole_number(env.get(ENGINE_ACCOUNTS_PER_PASS)),
            engine_url=env.get(ENGINE_URL),
            spark_master=env.get(SPARK_MASTER, SPARK_MASTER_DEFAULT),
            monitor_rules=Path(rules).expanduser() if rules else None,
            crash_at=env.get(CRASH_AT),
            eod_stop_after=env.get(EOD_STOP_AFTER),
            audit_key=Path(key).expanduser().absolute() if key else None,
            audit_checkpoints=Path(checkpoints).expanduser().absolute() if checkpoints else None,
            **_access_settings(env),
            **_delivery_settings(env),
            **_encryption_settings(env),
        )


def _access_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Sign-in settings: the token key, token life, replay mode, the caller's token."""
    key, token_file = env.get(ACCESS_KEY), env.get(TOKEN_FILE)
    config_home = env.get("XDG_CONFIG_HOME")
    if token_file is None and config_home:
        token_file = str(Path(config_home) / TOKEN_FILE_DEFAULT)
    return {
        "access_key": Path(key).expanduser().absolute() if key else None,
        "access_token_minutes": _bounded(
            ACCESS_TOKEN_MINUTES, env.get(ACCESS_TOKEN_MINUTES), ACCESS_TOKEN_MINUTES_DEFAULT
        ),
        "replay": _flag(REPLAY, env.get(REPLAY)),
        "token": env.get(TOKEN),
        "token_file": Path(token_file).expanduser().absolute() if token_file else None,
        "upload_limit_mb": _bounded(
            UPLOAD_LIMIT_MB, env.get(UPLOAD_LIMIT_MB), UPLOAD_LIMIT_MB_DEFAULT
        ),
        "inbox_root": _directory(env.get(INBOX_ROOT)),
    }


def _directory(text: str | None) -> Path | None:
    return None if text is None else Path(text).expanduser().absolute()


def _flag(name: str, text: str | None) -> bool:
    if text is None or text.lower() in _FALSE:
        return False
    if text.lower() in _TRUE:
        return True
    raise ConfigurationError(f"{name} must be 1 or 0 (on/off, true/false), not {text!r}")


def _bounded(name: str, text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        return int(text.replace("_", ""))
    except ValueError as error:
        raise ConfigurationError(f"{name} must be a whole number, not {text!r}") from error


def _audit(text: str) -> HashAlgorithm:
    try:
        return HashAlgorithm(text)
    except ValueError as error:
        raise ConfigurationError(
            f"{AUDIT_HASH} must be one of {', '.join(HashAlgorithm)}, not {text!r}"
        ) from error


def _engine(text: str) -> EngineBackend:
    try:
        return EngineBackend(text)
    except ValueError as error:
        raise ConfigurationError(
            f"{ENGINE} must be one of {', '.join(EngineBackend)}, not {text!r}"
        ) from error


def _whole_number(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.replace("_", "").replace(",", ""))
    except ValueError as error:
        raise ConfigurationError(
            f"{ENGINE_ACCOUNTS_PER_PASS} must be a whole number of rows, not {text!r}"
        ) from error


def _check(settings: Settings) -> None:
    """Refuse, by variable name, a value that cannot work; the first broken rule is reported."""
    for name, url in ((DATABASE_URL, settings.database_url), (ENGINE_URL, settings.engine_url)):
        if url is not None and url.split(":", 1)[0].split("+", 1)[0] not in DATABASE_SCHEMES:
            raise ConfigurationError(
                f"{name} must be a sqlite:/// or postgresql:// URL, not {url.split(':', 1)[0]!r}"
            )
    limit = settings.engine_memory_limit
    if limit is not None and not _MEMORY_LIMIT.match(limit):
        raise ConfigurationError(
            f"{ENGINE_MEMORY_LIMIT} must be a size such as 6GB or 512MiB, not {limit!r}"
        )
    low, high = ACCESS_TOKEN_MINUTES_RANGE
    if not low <= settings.access_token_minutes <= high:
        raise ConfigurationError(
            f"{ACCESS_TOKEN_MINUTES} must be {low} to {high} minutes, "
            f"not {settings.access_token_minutes}"
        )
    if settings.upload_limit_mb < 1:
        raise ConfigurationError(
            f"{UPLOAD_LIMIT_MB} must be at least 1, not {settings.upload_limit_mb}"
        )
    per_pass = settings.engine_accounts_per_pass
    if per_pass is not None and per_pass < 1:
        raise ConfigurationError(f"{ENGINE_ACCOUNTS_PER_PASS} must be at least 1, not {per_pass}")
    if (
        settings.engine_backend is EngineBackend.POSTGRES
        and not settings.engine_database_url.startswith("postgres")
    ):
        raise ConfigurationError(
            f"{ENGINE}=postgres needs {ENGINE_URL} or a PostgreSQL {DATABASE_URL}"
        )
    if not _SPARK_MASTER.match(settings.spark_master):
        raise ConfigurationError(
            f"{SPARK_MASTER} must be local[N], spark://…, k8s://…, mesos://… or yarn, "
            f"not {settings.spark_master!r}"
        )
    if settings.inbox_root is not None and not settings.inbox_root.is_dir():
        raise ConfigurationError(f"{INBOX_ROOT} names no directory: {settings.inbox_root}")
    if settings.monitor_rules is not None and not settings.monitor_rules.is_file():
        raise ConfigurationError(f"{MONITOR_RULES} names no file: {settings.monitor_rules}")
    for name, value in ((CRASH_AT, settings.crash_at), (EOD_STOP_AFTER, settings.eod_stop_after)):
        if value is not None and not _NAME.match(value):
            raise ConfigurationError(f"{name} must be a step name such as settle_csdc")


def _delivery_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Delivery of approved warnings: webhooks file, notice font, the worker's limits."""
    webhooks, font = env.get(WEBHOOKS), env.get(NOTICE_FONT)
    return {
        "webhooks": Path(webhooks).expanduser().absolute() if webhooks else None,
        "notice_font": Path(font).expanduser().absolute() if font else None,
        "delivery_attempts_max": _bounded(
            DELIVERY_ATTEMPTS_MAX, env.get(DELIVERY_ATTEMPTS_MAX), DELIVERY_ATTEMPTS_MAX_DEFAULT
        ),
        "delivery_backoff_seconds": _bounded(
            DELIVERY_BACKOFF_SECONDS,
            env.get(DELIVERY_BACKOFF_SECONDS),
            DELIVERY_BACKOFF_SECONDS_DEFAULT,
        ),
        "delivery_lease_seconds": _bounded(
            DELIVERY_LEASE_SECONDS, env.get(DELIVERY_LEASE_SECONDS), DELIVERY_LEASE_SECONDS_DEFAULT
        ),
        "serve_worker_user": env.get(SERVE_WORKER_USER),
        "serve_sweep_seconds": _bounded(
            SERVE_SWEEP_SECONDS, env.get(SERVE_SWEEP_SECONDS), SERVE_SWEEP_SECONDS_DEFAULT
        ),
        "serve_deliver_seconds": _bounded(
            SERVE_DELIVER_SECONDS, env.get(SERVE_DELIVER_SECONDS), SERVE_DELIVER_SECONDS_DEFAULT
        ),
    }


def _check_delivery(settings: Settings) -> None:
    if settings.webhooks is not None and not settings.webhooks.is_file():
        raise ConfigurationError(f"{WEBHOOKS} names no file: {settings.webhooks}")
    if settings.delivery_attempts_max < 1:
        raise ConfigurationError(f"{DELIVERY_ATTEMPTS_MAX} must be at least 1")
    for name, value in (
        (DELIVERY_BACKOFF_SECONDS, settings.delivery_backoff_seconds),
        (DELIVERY_LEASE_SECONDS, settings.delivery_lease_seconds),
        (SERVE_SWEEP_SECONDS, settings.serve_sweep_seconds),
        (SERVE_DELIVER_SECONDS, settings.serve_deliver_seconds),
    ):
        if value < 0:
            raise ConfigurationError(f"{name} must not be negative, not {value}")


def _encryption_settings(env: Mapping[str, str]) -> dict[str, Any]:
    key_file = env.get(MASTER_KEY_FILE)
    return {
        "encrypt_at_rest": _flag(ENCRYPT_AT_REST, env.get(ENCRYPT_AT_REST)),
        "master_key_file": Path(key_file).expanduser().absolute() if key_file else None,
        "master_key": env.get(MASTER_KEY),
    }


def _check_encryption(settings: Settings) -> None:
    """The master key's settings (a key file's content is checked when it is read); no
    message ever shows a key."""
    if settings.master_key_file is not None and settings.master_key is not None:
        raise ConfigurationError(f"set {MASTER_KEY_FILE} or {MASTER_KEY}, not both")
    if settings.master_key is not None and not _is_master_key(settings.master_key):
        raise ConfigurationError(f"{MASTER_KEY} must be base64 of {MASTER_KEY_BYTES} bytes")
    if settings.master_key_file is not None and not settings.master_key_file.is_file():
        raise ConfigurationError(f"{MASTER_KEY_FILE} names no file: {settings.master_key_file}")
    if not settings.encrypt_at_rest:
        return
    if settings.master_key_file is None and settings.master_key is None:
        raise ConfigurationError(
            f"{ENCRYPT_AT_REST}=1 needs a master key: set {MASTER_KEY_FILE} (an owner-only key "
            f"file) or {MASTER_KEY}"
        )
    if settings.engine_backend is EngineBackend.SPARK:
        raise ConfigurationError(
            f"{ENGINE}=spark cannot read an encrypted columnar store ({ENCRYPT_AT_REST}=1): "
            "use the duckdb or postgres engine"
        )


def _is_master_key(text: str) -> bool:
    try:
        return len(base64.b64decode(text.strip(), validate=True)) == MASTER_KEY_BYTES
    except ValueError:  # binascii.Error is a ValueError
        return False


def masked_url(url: str) -> str:
    """A connection URL without its password, fit to print or log."""
    scheme, separator, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{separator}{credentials.split(':', 1)[0]}:***@{host}"


# -- the watch over the flow (issue 19): its own settings, read on their own -----------------

WATCH_NATS_URL = "CLEARWATCH_WATCH_NATS_URL"  # unset: the in-process stream only
WATCH_STREAM = "CLEARWATCH_WATCH_STREAM"
WATCH_RULES = "CLEARWATCH_WATCH_RULES"
WATCH_STREAM_DEFAULT = "CLEARWATCH_WATCH"
_WATCH_NATS_SCHEMES = ("nats", "tls")
_STREAM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # JetStream names: no dots, spaces or *


@dataclass(frozen=True)
class WatchSettings:
    nats_url: str | None = None
    stream: str = WATCH_STREAM_DEFAULT
    rules: Path | None = None  # None: the packaged watch rules

    def __post_init__(self) -> None:
        url = self.nats_url
        if url is not None and url.split("://", 1)[0] not in _WATCH_NATS_SCHEMES:
            raise ConfigurationError(f"{WATCH_NATS_URL} must be a nats:// or tls:// URL")
        if not _STREAM_NAME.match(self.stream):
            raise ConfigurationError(f"{WATCH_STREAM} must be letters, digits, - or _")
        if self.rules is not None and not self.rules.is_file():
            raise ConfigurationError(f"{WATCH_RULES} names no file: {self.rules}")

    @property
    def shown_nats_url(self) -> str | None:
        return None if self.nats_url is None else masked_url(self.nats_url)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> WatchSettings:
        env = os.environ if environ is None else environ
        rules = env.get(WATCH_RULES) or None
        return cls(
            nats_url=env.get(WATCH_NATS_URL) or None,
            stream=env.get(WATCH_STREAM) or WATCH_STREAM_DEFAULT,
            rules=Path(rules).expanduser() if rules else None,
        )
