"""Settings from the environment: where the stores live and which engines run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_DEFAULT = "./clearwatch-data"
SQLITE_FILE_NAME = "clearwatch.sqlite3"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    columnar_root: str
    audit_algorithm: str
    engine_backend: str
    # DuckDB's memory ceiling (e.g. "6GB"); past it, joins and aggregations spill to disk.
    # Unset: DuckDB's own default, 80 % of the machine's memory.
    engine_memory_limit: str | None = None
    # Client fund rows DuckDB compares in one pass (F1); past it, the market is compared a group
    # of brokers at a time. Unset: 4,000,000. Checked by the engine factory.
    engine_accounts_per_pass: str | None = None

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        home = Path(env.get("CLEARWATCH_HOME", HOME_DEFAULT)).expanduser().absolute()
        database_url = env.get("CLEARWATCH_DATABASE_URL") or f"sqlite:///{home / SQLITE_FILE_NAME}"
        return cls(
            home=home,
            database_url=database_url,
            # A local folder by default; any URI pyarrow's filesystems speak (s3://…) works too.
            columnar_root=env.get("CLEARWATCH_COLUMNAR_ROOT") or str(home / "columnar"),
            audit_algorithm=env.get("CLEARWATCH_AUDIT_HASH", "sha256"),
            engine_backend=env.get("CLEARWATCH_ENGINE", "duckdb"),
            engine_memory_limit=env.get("CLEARWATCH_ENGINE_MEMORY_LIMIT") or None,
            engine_accounts_per_pass=env.get("CLEARWATCH_ENGINE_ACCOUNTS_PER_PASS") or None,
        )
