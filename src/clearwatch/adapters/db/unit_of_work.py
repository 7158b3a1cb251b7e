"""The unit of work: one connection, one transaction, the repositories bound to it."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine, RootTransaction

from clearwatch.adapters.columnar import ParquetStore
from clearwatch.adapters.db.access.credentials_repository import SqlCredentialsRepository
from clearwatch.adapters.db.access.repository import SqlAccessRepository
from clearwatch.adapters.db.access.web_sessions_repository import SqlWebSessionRepository
from clearwatch.adapters.db.audit.repository import SqlAuditLog
from clearwatch.adapters.db.backoffice.repository import SqlBatches, SqlBooks, SqlEodLog
from clearwatch.adapters.db.engine import READ_ONLY_OPTION
from clearwatch.adapters.db.intraday.repository import SqlIntradayRepository
from clearwatch.adapters.db.monitor.cases_delivery_repository import (
    SqlOutboxRepository,
    SqlWarningReviewRepository,
)
from clearwatch.adapters.db.monitor.cases_reminders_repository import SqlReminderMarks
from clearwatch.adapters.db.monitor.cases_repository import SqlCaseRepository
from clearwatch.adapters.db.monitor.filings_repository import SqlFilingRepository
from clearwatch.adapters.db.monitor.intake_repository import (
    SqlPackageRepository,
    SqlRegistryRepository,
    SqlReportingRepository,
)
from clearwatch.adapters.db.monitor.runs_repository import SqlMonitorRunRepository
from clearwatch.adapters.db.watch.repository import SqlAlertReviews, SqlFlowHalts
from clearwatch.domain.audit.chain import HashAlgorithm


class SqlUnitOfWork:
    """Opens a transaction on enter; rolls back on exit unless `commit()` was called."""

    def __init__(
        self,
        engine: Engine,
        *,
        audit_algorithm: HashAlgorithm,
        columnar: ParquetStore,
        read_only: bool = False,
    ) -> None:
        self._engine = engine
        self._columnar = columnar  # where the books keep bulk entries' postings
        self._audit_algorithm = audit_algorithm
        self._read_only = read_only
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._connection

    def __enter__(self) -> SqlUnitOfWork:
        connection = self._engine.connect()
        if self._read_only:
            connection = connection.execution_options(**{READ_ONLY_OPTION: True})
        self._connection = connection
        self._transaction = connection.begin()
        self.audit = SqlAuditLog(connection, algorithm=self._audit_algorithm)
        self._bind_repositories(connection)
        return self

    def _bind_repositories(self, connection: Connection) -> None:
        """Each area binds its repositories to this transaction's connection here."""
        self.books = SqlBooks(connection, self._columnar)
        self.batches = SqlBatches(connection)
        self.eod = SqlEodLog(connection)
        self.access = SqlAccessRepository(connection)
        self.credentials = SqlCredentialsRepository(connection)
        self.web_sessions = SqlWebSessionRepository(connection)
        self.intraday = SqlIntradayRepository(connection)
        self.watch_reviews = SqlAlertReviews(connection)
        self.flow_halts = SqlFlowHalts(connection)
        self.registry = SqlRegistryRepository(connection)
        self.packages = SqlPackageRepository(connection)
        self.reporting = SqlReportingRepository(connection)
        self.monitor_runs = SqlMonitorRunRepository(connection)
        self.cases = SqlCaseRepository(connection)
        self.filings = SqlFilingRepository(connection)
        self.warning_review = SqlWarningReviewRepository(connection)
        self.outbox = SqlOutboxRepository(connection)
        self.reminder_marks = SqlReminderMarks(connection)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self.books.close()
            if self._connection is not None:
                self._connection.close()
            self._connection = None
            self._transaction = None

    def commit(self) -> None:
        """Commit what was done; later work in the same block runs in a new transaction."""
        if self._transaction is None:
            raise RuntimeError("commit outside the unit of work")
        self._transaction.commit()
        self._transaction = self.connection.begin()

    def rollback(self) -> None:
        if self._transaction is not None and self._transaction.is_active:
            self._transaction.rollback()
