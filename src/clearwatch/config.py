"""Settings from the environment: where the stores live and which engines run, typed and checked.

This is the one module that reads `os.environ`. Every variable is a field of `Settings`; a bad
value is refused here, by the variable's name, before anything is wired.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from clearwatch.domain.audit.chain import HashAlgorithm
from clearwatch.domain.shared.errors import ConfigurationError

HOME_DEFAULT = "./clearwatch-data"
SQLITE_FILE_NAME = "clearwatch.sqlite3"
AUDIT_KEY_DEFAULT = Path("audit-key") / "ed25519.pem"  # under the home
AUDIT_CHECKPOINTS_DEFAULT = "audit-checkpoints"  # under the home
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

    def __post_init__(self) -> None:
        # Plain strings are accepted where an enum is declared (tests and benches build
        # Settings by hand); they are checked and stored as the enum.
        object.__setattr__(self, "audit_algorithm", _audit(str(self.audit_algorithm)))
        object.__setattr__(self, "engine_backend", _engine(str(self.engine_backend)))
        _check(self)

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
    def engine_database_url(self) -> str:
        return self.engine_url or self.database_url

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = {
            key: value
            for key, value in (os.environ if environ is None else environ).items()
            if value != ""  # an empty variable means "not set", as a shell user expects
        }
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
        )


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
    if settings.monitor_rules is not None and not settings.monitor_rules.is_file():
        raise ConfigurationError(f"{MONITOR_RULES} names no file: {settings.monitor_rules}")
    for name, value in ((CRASH_AT, settings.crash_at), (EOD_STOP_AFTER, settings.eod_stop_after)):
        if value is not None and not _NAME.match(value):
            raise ConfigurationError(f"{name} must be a step name such as settle_csdc")


def masked_url(url: str) -> str:
    """A connection URL without its password, fit to print or log."""
    scheme, separator, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{separator}{credentials.split(':', 1)[0]}:***@{host}"
