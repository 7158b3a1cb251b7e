"""The one place that wires concrete adapters to the services' ports."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from clearwatch.adapters.clock import SystemClock
from clearwatch.adapters.columnar import ParquetStore
from clearwatch.adapters.db.engine import make_engine
from clearwatch.adapters.db.migrate import current_revisions, upgrade_schema
from clearwatch.adapters.db.unit_of_work import SqlUnitOfWork
from clearwatch.config import Settings
from clearwatch.domain.audit.chain import HashAlgorithm, available_algorithms
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.shared.ports import Clock


class ConfigurationError(RuntimeError):
    """A setting that cannot work on this machine."""


@dataclass
class Application:
    settings: Settings
    clock: Clock

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def columnar(self) -> ParquetStore:
        return ParquetStore(self.settings.columnar_root)

    @cached_property
    def audit_algorithm(self) -> HashAlgorithm:
        try:
            algorithm = HashAlgorithm(self.settings.audit_algorithm)
        except ValueError as error:
            raise ConfigurationError(
                f"CLEARWATCH_AUDIT_HASH must be one of {[a.value for a in HashAlgorithm]}"
            ) from error
        if algorithm not in available_algorithms():
            raise ConfigurationError(f"{algorithm.value} is not offered by this OpenSSL")
        return algorithm

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self.engine, audit_algorithm=self.audit_algorithm, columnar=self.columnar
        )

    def read_uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self.engine,
            audit_algorithm=self.audit_algorithm,
            columnar=self.columnar,
            read_only=True,
        )

    def init_schema(self, *, actor: str = "system") -> tuple[str, ...]:
        """Create or upgrade the schema; an actual change is recorded in the audit log."""
        self.settings.home.mkdir(parents=True, exist_ok=True)
        before = current_revisions(self.engine)
        after = upgrade_schema(self.engine)
        if after != before:
            with self.uow() as uow:
                record_audit(
                    uow,
                    actor=actor,
                    action="store.schema_upgraded",
                    object_ref="store:schema",
                    payload={"from": list(before), "to": list(after)},
                    recorded_at=self.clock.now(),
                )
                uow.commit()
        return after


def build_application(settings: Settings | None = None, clock: Clock | None = None) -> Application:
    return Application(
        settings=settings or Settings.from_environment(),
        clock=clock or SystemClock(),
    )
