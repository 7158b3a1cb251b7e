"""The one place that wires concrete adapters to the services' ports, built from `Settings`.

Entrypoints ask the `Application` for what they need (units of work, the submit and run-day
contexts, the findings engine, the rules, the back-office tools, file readers, report writers)
and never import an adapter. Adapters are imported where they are first needed, not at the top:
`clearwatch --version` and a command that only reads the store load no Ibis, DuckDB, Spark or
Alembic.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from clearwatch.adapters import crash_points
from clearwatch.adapters.clock import FixedClock, SystemClock
from clearwatch.config import EngineBackend, Settings
from clearwatch.domain.audit.chain import HashAlgorithm, available_algorithms
from clearwatch.domain.shared.errors import ConfigurationError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from clearwatch.adapters.columnar import ParquetStore
    from clearwatch.adapters.db.raw_sql import RawSqlConsole
    from clearwatch.adapters.db.unit_of_work import SqlUnitOfWork
    from clearwatch.domain.audit.checkpoint import SignedCheckpoint
    from clearwatch.domain.backoffice.fees import FeeSchedule
    from clearwatch.domain.monitor.report import DayResult
    from clearwatch.domain.monitor.thresholds import Rules
    from clearwatch.services.audit.ports import AuditAnchor
    from clearwatch.services.backoffice.ports import BackOfficeTools
    from clearwatch.services.monitor.run_day import RunDayContext
    from clearwatch.services.monitor.run_ports import FindingsEngine
    from clearwatch.services.monitor.submit_package import SubmitContext
    from clearwatch.services.shared.ports import Clock, ColumnarStore

# What entrypoints may catch or build without importing an adapter themselves.
__all__ = [
    "Application",
    "ConfigurationError",
    "FixedClock",
    "MissingExtra",
    "StoreNotInitialised",
    "build_application",
    "replay_clock",
]

# The optional dependency behind each module an optional engine needs, by the extra's name.
EXTRA_OF_MODULE = {"psycopg": "postgres", "pyspark": "spark"}
REPORTS_DIR = Path("reports") / "monitor"


class MissingExtra(ConfigurationError):
    """A configured engine's optional dependency is not installed."""


class StoreNotInitialised(ConfigurationError):
    """A server database whose schema was never created (or is another version's)."""


def require_extra(module: str) -> None:
    """Import `module` or say, in one line, which extra installs it."""
    try:
        importlib.import_module(module)
    except ImportError as error:
        extra = EXTRA_OF_MODULE[module]
        raise MissingExtra(
            f"{module} is not installed; this setting needs the {extra} extra: "
            f"pip install 'clearwatch[{extra}]'"
        ) from error


@dataclass
class Application:
    settings: Settings
    clock: Clock
    _store_ready: bool = field(default=False, init=False, repr=False)
    # Set by the first writing unit of work: only then can a command have appended audit
    # records, and only then does `anchor_appended` open the log again to sign its head.
    _wrote: bool = field(default=False, init=False, repr=False)

    # -- the stores ---------------------------------------------------------------------

    @cached_property
    def engine(self) -> Engine:
        from clearwatch.adapters.db.engine import make_engine

        if not self.settings.is_embedded:
            require_extra("psycopg")
        return make_engine(self.settings.database_url)

    @cached_property
    def columnar(self) -> ParquetStore:
        from clearwatch.adapters.columnar import ParquetStore

        return ParquetStore(self.settings.columnar_root)

    @cached_property
    def audit_algorithm(self) -> HashAlgorithm:
        algorithm = self.settings.audit_algorithm
        if algorithm not in available_algorithms():
            raise ConfigurationError(
                f"CLEARWATCH_AUDIT_HASH={algorithm.value} is not offered by this OpenSSL"
            )
        return algorithm

    def uow(self) -> SqlUnitOfWork:
        self._wrote = True
        return self._unit_of_work(read_only=False)

    def read_uow(self) -> SqlUnitOfWork:
        return self._unit_of_work(read_only=True)

    def _unit_of_work(self, *, read_only: bool) -> SqlUnitOfWork:
        from clearwatch.adapters.db.unit_of_work import SqlUnitOfWork

        self.ensure_store()
        return SqlUnitOfWork(
            self.engine,
            audit_algorithm=self.audit_algorithm,
            columnar=self.columnar,
            read_only=read_only,
        )

    def ensure_store(self) -> None:
        """Before the first transaction: the embedded store is created or upgraded on first use;
        a server database must have been initialised with `clearwatch init` (once, by its
        owner, not as a side effect of whichever command ran first)."""
        if self._store_ready:
            return
        from clearwatch.adapters.db.schema_state import SchemaState, schema_state

        state = schema_state(self.engine)
        if state is SchemaState.AHEAD:
            raise StoreNotInitialised(
                "the store's schema is newer than this clearwatch: upgrade clearwatch"
            )
        if state is not SchemaState.CURRENT:
            if not self.settings.is_embedded:
                store = f"the store at {self.settings.shown_database_url}"
                if state is SchemaState.MISSING:
                    raise StoreNotInitialised(
                        f"{store} was never initialised: run `clearwatch init`"
                    )
                raise StoreNotInitialised(
                    f"{store} has an older schema: run `clearwatch init` to upgrade it"
                )
            self.init_schema()
        self._store_ready = True

    def init_schema(self, *, actor: str = "system") -> tuple[str, ...]:
        """Create or upgrade the schema; an actual change is recorded in the audit log."""
        from clearwatch.adapters.db.migrate import upgrade_schema
        from clearwatch.domain.shared.kinds import AuditAction
        from clearwatch.services.audit.audit_log import record_audit

        self.settings.home.mkdir(parents=True, exist_ok=True)
        before, after = upgrade_schema(self.engine)
        self._store_ready = True
        if after != before:
            with self.uow() as uow:
                record_audit(
                    uow,
                    actor=actor,
                    action=AuditAction.STORE_SCHEMA_UPGRADED,
                    object_ref="store:schema",
                    payload={"from": list(before), "to": list(after)},
                    recorded_at=self.clock.now(),
                )
                uow.commit()
        return after

    # -- the anchored audit ---------------------------------------------------------------

    def audit_anchor(self) -> AuditAnchor:
        """Signed checkpoints (key and files from settings), triggers and rows, for the audit."""
        from clearwatch.adapters.audit_checkpoints import FileCheckpointStore
        from clearwatch.adapters.db.append_only import SqlAppendOnlyGuard
        from clearwatch.adapters.db.audit.described_rows import SqlDescribedRows
        from clearwatch.services.audit.ports import AuditAnchor

        self.ensure_store()
        return AuditAnchor(
            uow=self.uow,
            read_uow=self.read_uow,
            checkpoints=FileCheckpointStore(
                self.settings.audit_checkpoints_dir, self.settings.audit_key_path
            ),
            guard=SqlAppendOnlyGuard(self.engine),
            described_rows=SqlDescribedRows(self.engine),
            clock=self.clock,
        )

    def anchor_appended(self) -> SignedCheckpoint | None:
        """At the end of a command: sign the log's head if this application wrote and the log
        grew past the last checkpoint. None when nothing was written or nothing is new."""
        if not self._wrote:
            return None
        from clearwatch.services.audit.anchor import checkpoint_audit

        return checkpoint_audit(anchor=self.audit_anchor())

    def dispose(self) -> None:
        """Close the database connections, if any were opened."""
        if "engine" in self.__dict__:
            self.engine.dispose()

    # -- the monitor ----------------------------------------------------------------------

    def submit_context(self) -> SubmitContext:
        """The submit use case wired to this application's stores and the local package files."""
        from clearwatch.adapters.files.csv_package_reader import CsvPackageSource
        from clearwatch.services.monitor.submit_package import SubmitContext

        return SubmitContext(
            clock=self.clock,
            uow_factory=self.uow,
            read_uow_factory=self.read_uow,
            columnar=self.columnar,
            source=CsvPackageSource(),
        )

    @cached_property
    def findings_engine(self) -> FindingsEngine:
        """The comparison engine named by `CLEARWATCH_ENGINE`, built once."""
        settings = self.settings
        if settings.engine_backend is EngineBackend.SPARK:
            require_extra("pyspark")
        if settings.engine_backend is EngineBackend.POSTGRES:
            require_extra("psycopg")
        from clearwatch.adapters.engine.monitor.backends import make_findings_engine

        return make_findings_engine(
            settings.engine_backend,
            postgres_url=settings.engine_database_url,
            memory_limit=settings.engine_memory_limit,
            accounts_per_pass=settings.engine_accounts_per_pass,
            spark_master=settings.spark_master,
        )

    @cached_property
    def monitoring_rules(self) -> Rules:
        """The rules in force: the packaged file unless `CLEARWATCH_MONITOR_RULES` names one."""
        from clearwatch.adapters.rules_file import load_monitoring_rules

        return load_monitoring_rules(self.settings.monitor_rules)

    def run_day_context(self, progress: Callable[[str], None] | None = None) -> RunDayContext:
        """The daily run wired the same way for `monitor run-day`, the demo and the tests."""
        from clearwatch.services.monitor.run_day import RunDayContext

        context = RunDayContext(
            clock=self.clock,
            uow_factory=self.uow,
            columnar=self.columnar,
            engine=self.findings_engine,
            rules=self.monitoring_rules,
        )
        return context if progress is None else replace(context, progress=progress)

    def read_registry_files(self, directory: Path) -> dict[str, bytes | None]:
        from clearwatch.adapters.files.registry_reader import read_registry_files

        return read_registry_files(str(directory))

    def write_day_report(self, result: DayResult) -> Path:
        """The day's HTML report under `$CLEARWATCH_HOME/reports/monitor/<date>.html`."""
        from clearwatch.adapters.reports.monitor_day_html import write_day_report

        return write_day_report(result, self.settings.home / REPORTS_DIR)

    # -- the back office --------------------------------------------------------------------

    @cached_property
    def fee_schedule(self) -> FeeSchedule:
        """The one fee schedule (books, intraday estimates, engine), versioned by its sha256."""
        from clearwatch.adapters.fee_schedule_file import load_fee_schedule

        return load_fee_schedule()

    @cached_property
    def backoffice_tools(self) -> BackOfficeTools:
        return build_backoffice_tools(self.columnar, schedule=self.fee_schedule)

    @cached_property
    def hand_edit(self) -> RawSqlConsole:
        """A raw SQL statement as a person at a database console types it (drills only)."""
        from clearwatch.adapters.db.raw_sql import RawSqlConsole

        return RawSqlConsole(self.engine)


def build_backoffice_tools(
    store: ColumnarStore, *, schedule: FeeSchedule | None = None, threads: int | None = None
) -> BackOfficeTools:
    """The back office's batch reader, row engine and fee schedule over a columnar store.

    `Application.backoffice_tools` is the one caller in production; tests pass `threads=1`.
    """
    from clearwatch.adapters.engine.backoffice.row_work import IbisBackOfficeEngine
    from clearwatch.adapters.fee_schedule_file import load_fee_schedule
    from clearwatch.adapters.files.batch_reader import DuckDBBatchFileReader
    from clearwatch.services.backoffice.ports import BackOfficeTools

    return BackOfficeTools(
        store=store,
        reader=DuckDBBatchFileReader(),
        engine=IbisBackOfficeEngine(threads=threads),
        schedule=schedule or load_fee_schedule(),
    )


def replay_clock(at: datetime) -> FixedClock:
    """A clock standing still at `at`, for `--at` replays; the demo moves it by hand."""
    return FixedClock(at)


def build_application(settings: Settings | None = None, clock: Clock | None = None) -> Application:
    settings = settings or Settings.from_environment()
    # The crash points sit deep in adapters no setting reaches; arming them is wiring too.
    crash_points.arm(settings.crash_at)
    return Application(settings=settings, clock=clock or SystemClock())
