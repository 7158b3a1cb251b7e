"""The one place that wires concrete adapters to the services' ports, built from `Settings`.

Entrypoints ask the `Application` for what they need (units of work, the submit and run-day
contexts, the findings engine, the rules, the back-office tools, file readers, report writers)
and never import an adapter. Adapters are imported where they are first needed, not at the top:
`clearwatch --version` and a command that only reads the store load no Ibis, DuckDB, Spark or
Alembic.
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING

from clearwatch.adapters import crash_points
from clearwatch.adapters.clock import FixedClock, SystemClock
from clearwatch.config import EngineBackend, Settings, WatchSettings
from clearwatch.domain.audit.chain import HashAlgorithm, available_algorithms
from clearwatch.domain.shared.errors import ConfigurationError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from clearwatch.adapters.columnar import ParquetStore
    from clearwatch.adapters.db.raw_sql import RawSqlConsole
    from clearwatch.adapters.db.unit_of_work import SqlUnitOfWork
    from clearwatch.domain.access.callers import Caller
    from clearwatch.domain.audit.checkpoint import SignedCheckpoint
    from clearwatch.domain.audit.witness import PublishedHead
    from clearwatch.domain.backoffice.fees import FeeSchedule
    from clearwatch.domain.monitor.report import DayResult
    from clearwatch.domain.monitor.thresholds import Rules
    from clearwatch.services.access.authorize import Gate
    from clearwatch.services.access.ports import AuthenticationTools, CallerRecord
    from clearwatch.services.audit.ports import AuditAnchor
    from clearwatch.services.backoffice.ports import BackOfficeTools
    from clearwatch.services.monitor.cases_ports import CasesContext
    from clearwatch.services.monitor.delivery_ports import DeliveryContext
    from clearwatch.services.monitor.run_day import RunDayContext
    from clearwatch.services.monitor.run_ports import FindingsEngine, StoredWarning
    from clearwatch.services.monitor.submit_package import SubmitContext
    from clearwatch.services.monitor.warning_release import StoredWarnings
    from clearwatch.services.recovery.keys import MasterKeys
    from clearwatch.services.recovery.ports import BackupFolder, RecoverySite
    from clearwatch.services.shared.generations import Generations, Remembered, StoreGenerations
    from clearwatch.services.shared.ports import Clock, ColumnarStore
    from clearwatch.services.watch.ports import EventPublisher, WatchWiring

# What entrypoints may catch or build without importing an adapter themselves.
__all__ = [
    "Application",
    "ConfigurationError",
    "FixedClock",
    "MissingExtra",
    "StoreNotInitialised",
    "build_application",
    "new_master_key_file",
    "replay_clock",
]

# The optional dependency behind each module an optional engine needs, by the extra's name.
EXTRA_OF_MODULE = {"psycopg": "postgres", "pyspark": "spark"}
REPORTS_DIR = Path("reports") / "monitor"
WATCH_ALERTS = Path("watch") / "alerts.jsonl"  # under the home: what `watch serve` raised
UPLOADS_DIR = "uploads"  # under the home: the API's uploads while they are checked
CASE_ATTACHMENTS_DIR = Path("cases") / "attachments"  # under the home: by sha256, owner-only
DELIVERIES_DIR = "deliveries"  # under the home: each recipient's notices (PDF, workbook)
# What a server process keeps between requests while the store says nothing changed: a
# record per person calling (a few hundred a day), a listing per set of filters asked.
callers_kept_max = 4_096
warning_listings_kept_max = 1_024


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
    clock: Clock  # business time: the real clock, or a replay's
    # What security decides by (expiry, lockout, grants, approvals): always the real clock.
    real_clock: Clock = field(default_factory=SystemClock)
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
        """The columnar store; an encrypted one refuses to open without its master key."""
        from clearwatch.adapters.columnar import ParquetStore
        from clearwatch.adapters.columnar_keys import MasterKeySource

        settings = self.settings
        keys = MasterKeySource(
            encrypt=settings.encrypt_at_rest,
            key_file=settings.master_key_file,
            key_text=settings.master_key,
        )
        return ParquetStore(settings.columnar_root, keys=keys)

    @cached_property
    def audit_algorithm(self) -> HashAlgorithm:
        algorithm = self.settings.audit_algorithm
        if algorithm not in available_algorithms():
            raise ConfigurationError(
                f"CLEARWATCH_AUDIT_HASH={algorithm.value} is not offered by this OpenSSL"
            )
        return algorithm

    def uow(self) -> SqlUnitOfWork:
        unit = self._unit_of_work(read_only=False)
        self._wrote = True  # not before: an application whose store would not open wrote nothing
        return unit

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
        from clearwatch.adapters.private_files import owner_only_dir
        from clearwatch.domain.shared.kinds import AuditAction
        from clearwatch.services.audit.audit_log import record_audit

        owner_only_dir(self.settings.home)
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

    # -- identities -------------------------------------------------------------------------

    @cached_property
    def authentication(self) -> AuthenticationTools:
        from clearwatch.adapters.identity import (
            Argon2Passwords,
            JwtAccessTokens,
            TotpSecondFactor,
        )
        from clearwatch.services.access.ports import AuthenticationTools

        return AuthenticationTools(
            hasher=Argon2Passwords(),
            signer=JwtAccessTokens(self.settings.access_key_path),
            second_factor=TotpSecondFactor(),
            access_token_minutes=self.settings.access_token_minutes,
        )

    def authenticate(self, presented: str) -> Caller:
        """The caller a bearer token proves (a person's access token or a machine's)."""
        from clearwatch.domain.access.api_tokens import looks_like_api_token
        from clearwatch.services.access.sign_in import authenticate

        # A person's token is only read; a machine's token's use is audited, so it writes.
        return authenticate(
            uow=self.uow() if looks_like_api_token(presented) else self.read_uow(),
            tools=self.authentication,
            presented=presented,
            at=self.real_clock.now(),
        )

    # -- reads a server keeps between requests (services/shared/generations.py) -----------

    @cached_property
    def store_generations(self) -> StoreGenerations:
        from clearwatch.adapters.db.generations import SqlStoreGenerations

        self.ensure_store()
        return SqlStoreGenerations(self.engine)

    @cached_property
    def _callers_kept(self) -> Remembered[str, CallerRecord | None]:
        from clearwatch.services.shared.generations import Remembered

        return Remembered(capacity=callers_kept_max)

    @cached_property
    def _warnings_kept(self) -> Remembered[tuple[object, ...], tuple[StoredWarning, ...]]:
        from clearwatch.services.shared.generations import Remembered

        return Remembered(capacity=warning_listings_kept_max)

    def stored_warnings(self, generations: Generations | None) -> StoredWarnings:
        """`monitor_runs.warnings`, each call in a read transaction of its own; or, under the
        warnings generation a request found, what an earlier request read under it."""

        def stored(
            *,
            business_date: date | None = None,
            level: str | None = None,
            route_to: str | None = None,
            released_only: bool = False,
        ) -> tuple[StoredWarning, ...]:
            def read() -> tuple[StoredWarning, ...]:
                with self.read_uow() as uow:
                    return tuple(
                        uow.monitor_runs.warnings(
                            business_date=business_date,
                            level=level,
                            route_to=route_to,
                            released_only=released_only,
                        )
                    )

            key = (business_date, level, route_to, released_only)
            generation = None if generations is None else generations.warnings
            return self._warnings_kept.get(generation, key, read)

        return stored

    def gate_of_bearer(self, presented: str, generations: Generations | None = None) -> Gate:
        """`gate(authenticate(presented))` for one API request: the caller is read once, with
        the token's check, and the gate decides by that record for this request only. Given
        the store's `generations` as the request found them, a record read by an earlier
        request under the same access generation is taken instead of reading it again."""
        from clearwatch.domain.access.api_tokens import looks_like_api_token
        from clearwatch.services.access.authorize import Gate
        from clearwatch.services.access.sign_in import authenticate_caller

        kept = None if generations is None else partial(self._callers_kept.get, generations.access)
        authenticated = authenticate_caller(
            uow=self.uow() if looks_like_api_token(presented) else self.read_uow(),
            tools=self.authentication,
            presented=presented,
            at=self.real_clock.now(),
            kept=kept,
        )
        return Gate(
            caller=authenticated.caller,
            uow_factory=self.uow,
            clock=self.real_clock,
            read_uow_factory=self.read_uow,
            known=authenticated.record,
        )

    def presented_token(self) -> str | None:
        """The caller's credential: `CLEARWATCH_TOKEN`, else the file `clearwatch login` wrote."""
        from clearwatch.adapters.token_file import read_token

        return self.settings.token or read_token(self.settings.token_file_path)

    def keep_token(self, token: str) -> Path:
        from clearwatch.adapters.token_file import keep_token

        keep_token(self.settings.token_file_path, token)
        return self.settings.token_file_path

    def forget_token(self) -> bool:
        from clearwatch.adapters.token_file import forget_token

        return forget_token(self.settings.token_file_path)

    def gate(self, caller: Caller) -> Gate:
        """The policy asked for `caller`, on the real clock."""
        from clearwatch.services.access.authorize import Gate

        return Gate(
            caller=caller,
            uow_factory=self.uow,
            clock=self.real_clock,
            read_uow_factory=self.read_uow,
        )

    # -- the HTTP API -------------------------------------------------------------------------

    def upload_folder(self) -> Path:
        """A new owner-only (0700) folder for one upload, under `$CLEARWATCH_HOME/uploads/`
        (also 0700); whoever asked for it removes it. Named by host and pid, so that a start
        after a kill can tell it is an orphan (`remove_orphaned_uploads`)."""
        from clearwatch.adapters.private_files import owner_only_dir, writer_prefix

        uploads = owner_only_dir(self.settings.home / UPLOADS_DIR)
        return Path(tempfile.mkdtemp(prefix=writer_prefix(), dir=uploads))

    def remove_orphaned_uploads(self) -> int:
        """At the API's start: remove the upload folders of requests killed mid-way."""
        from clearwatch.adapters.private_files import remove_orphan_folders

        return remove_orphan_folders(self.settings.home / UPLOADS_DIR)

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
            data_key=self.columnar.data_key,
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

    # -- cases, warning approval and delivery (issue 14) ------------------------------------

    def cases_context(self, *, regrade: bool = True) -> CasesContext:
        """Cases with their attachments (owner-only, content-addressed, under the home); a
        decision grades D again through the daily run unless `regrade` is False."""
        from clearwatch.adapters.delivery.blobs import OwnerOnlyBlobs
        from clearwatch.services.monitor.cases_ports import CasesContext

        return CasesContext(
            clock=self.clock,
            uow_factory=self.uow,
            attachments=OwnerOnlyBlobs(self.settings.home / CASE_ATTACHMENTS_DIR),
            run_day=self.run_day_context() if regrade else None,
        )

    def delivery_context(self, clock: Clock | None = None) -> DeliveryContext:
        """Warning approval and the delivery worker: webhooks from `CLEARWATCH_WEBHOOKS`,
        documents under `$CLEARWATCH_HOME/deliveries/<recipient>/`, on the real clock."""
        from datetime import timedelta

        from clearwatch.adapters.delivery.blobs import DocumentShelf
        from clearwatch.adapters.delivery.notice_documents import (
            NOTICE_FONT_DEFAULT,
            NoticeDocuments,
        )
        from clearwatch.adapters.delivery.webhook import HttpWebhookSender
        from clearwatch.adapters.delivery.webhooks_file import load_webhooks
        from clearwatch.services.monitor.delivery_ports import DeliveryContext

        settings = self.settings
        return DeliveryContext(
            clock=clock or self.real_clock,
            uow_factory=self.uow,
            webhooks=load_webhooks(settings.webhooks),
            sender=HttpWebhookSender(),
            renderer=NoticeDocuments(settings.notice_font or NOTICE_FONT_DEFAULT),
            shelf=DocumentShelf(settings.home / DELIVERIES_DIR),
            attempts_max=settings.delivery_attempts_max,
            backoff_base=timedelta(seconds=settings.delivery_backoff_seconds),
            claim_lease=timedelta(seconds=settings.delivery_lease_seconds),
            crash_point=crash_points.crash_point,
        )

    # -- the back office --------------------------------------------------------------------

    @cached_property
    def fee_schedule(self) -> FeeSchedule:
        """The one fee schedule (books, intraday estimates, engine), versioned by its sha256."""
        from clearwatch.adapters.fee_schedule_file import load_fee_schedule

        return load_fee_schedule()

    @cached_property
    def backoffice_tools(self) -> BackOfficeTools:
        tools = build_backoffice_tools(self.columnar, schedule=self.fee_schedule)
        return replace(tools, audit_head=self.publish_audit_head)

    def publish_audit_head(self) -> PublishedHead | None:
        """Sign the audit log's head now, with the key's public half, for a package to carry."""
        from clearwatch.services.audit.witness import publish_head

        return publish_head(anchor=self.audit_anchor())

    @cached_property
    def hand_edit(self) -> RawSqlConsole:
        """A raw SQL statement as a person at a database console types it (drills only)."""
        from clearwatch.adapters.db.raw_sql import RawSqlConsole

        return RawSqlConsole(self.engine)

    # -- recovery (issue 18) ------------------------------------------------------------------

    def recovery_site(self) -> RecoverySite:
        """This store's parts for backup and restore: dump, objects, checkpoints, audit key.

        Nothing is created here: a restore target stays empty until the restore loads it.
        """
        from clearwatch.adapters.recovery.audit_key_signer import AuditKeySigner
        from clearwatch.adapters.recovery.object_files import ParquetObjectFiles
        from clearwatch.adapters.recovery.store_dump import PostgresDump, SqliteDump
        from clearwatch.services.recovery.ports import RecoverySite

        if not self.settings.is_embedded:
            require_extra("psycopg")
        dump = SqliteDump(self.engine) if self.settings.is_embedded else PostgresDump(self.engine)
        return RecoverySite(
            store=dump,
            objects=ParquetObjectFiles(self.columnar),
            checkpoints_dir=self.settings.audit_checkpoints_dir,
            signer=AuditKeySigner(self.settings.audit_key_path),
            anchor=self.audit_anchor,
            clock=self.real_clock,
        )

    def backup_folder(self, root: Path) -> BackupFolder:
        from clearwatch.adapters.recovery.backup_folder import LocalBackupFolder

        return LocalBackupFolder(root)

    def master_keys(self) -> MasterKeys:
        """The columnar store's master key, for `keys rotate` (opening it needs the current)."""
        from clearwatch.adapters.recovery.master_keys import ParquetMasterKeys

        return ParquetMasterKeys(self.columnar)

    # -- the watch over the flow (issue 19) ------------------------------------------------

    def watch_wiring(self, watch: WatchSettings | None = None) -> WatchWiring:
        """The watch's rules, sources, streams (NATS when configured) and alert log."""
        from clearwatch.adapters.events.day_files import DayFilesSource
        from clearwatch.adapters.events.memory import InProcessStream
        from clearwatch.adapters.events.nats_stream import JetStreamEvents, subject_prefix_for
        from clearwatch.adapters.watch.alert_log import JsonlAlertLog
        from clearwatch.adapters.watch.forest import IsolationForestModel
        from clearwatch.adapters.watch.model_file import NpzModelFiles
        from clearwatch.adapters.watch.rules_file import load_watch_rules
        from clearwatch.services.watch.ports import WatchWiring

        watch = watch or WatchSettings.from_environment()
        url = watch.nats_url
        return WatchWiring(
            rules=load_watch_rules(watch.rules),
            source=DayFilesSource,
            in_process_stream=InProcessStream,
            live_stream=None
            if url is None
            else lambda: JetStreamEvents(url, watch.stream, subject_prefix_for(watch.stream)),
            live_name=watch.shown_nats_url or "in-process",
            alert_log=lambda: JsonlAlertLog(self.settings.home / WATCH_ALERTS),
            model_files=NpzModelFiles(),
            outlier_model=IsolationForestModel,
        )

    def watch_publisher(self) -> EventPublisher:
        """The importer's live feed to the watch: the NATS stream when configured, else none
        (the in-process stream has no consumer outside the importing process)."""
        from clearwatch.adapters.events.publisher import StreamPublisher
        from clearwatch.services.watch.ports import NO_PUBLISHER

        wiring = self.watch_wiring()
        if wiring.live_stream is None:
            return NO_PUBLISHER
        return StreamPublisher(stream=wiring.live_stream, source=wiring.source)


def build_backoffice_tools(
    store: ColumnarStore, *, schedule: FeeSchedule | None = None, threads: int | None = None
) -> BackOfficeTools:
    """The back office's batch reader, row engine and fee schedule over a columnar store.

    `Application.backoffice_tools` is the one caller in production; tests pass `threads=1`.
    """
    from clearwatch.adapters.columnar import ParquetStore
    from clearwatch.adapters.engine.backoffice.row_work import IbisBackOfficeEngine
    from clearwatch.adapters.fee_schedule_file import load_fee_schedule
    from clearwatch.adapters.files.batch_reader import DuckDBBatchFileReader
    from clearwatch.services.backoffice.ports import BackOfficeTools

    data_key = store.data_key if isinstance(store, ParquetStore) else None
    return BackOfficeTools(
        store=store,
        reader=DuckDBBatchFileReader(),
        engine=IbisBackOfficeEngine(threads=threads, data_key=data_key),
        schedule=schedule or load_fee_schedule(),
    )


def new_master_key_file(path: Path) -> None:
    """A new random master key for an encrypted columnar store, in a new owner-only file."""
    from clearwatch.adapters.columnar_keys import create_master_key_file

    create_master_key_file(path)


def replay_clock(at: datetime) -> FixedClock:
    """A clock standing still at `at`, for `--at` replays; the demo moves it by hand."""
    return FixedClock(at)


def build_application(settings: Settings | None = None, clock: Clock | None = None) -> Application:
    settings = settings or Settings.from_environment()
    # The crash points sit deep in adapters no setting reaches; arming them is wiring too.
    crash_points.arm(settings.crash_at)
    return Application(settings=settings, clock=clock or SystemClock())
