"""Daily run results in the relational store: append a version, read the latest, list warnings."""

from __future__ import annotations

import functools
import json
from datetime import date
from typing import Any

from sqlalchemy import (
    Connection,
    Exists,
    Row,
    Select,
    bindparam,
    func,
    insert,
    select,
    text,
)

from clearwatch.adapters.db.engine import READ_ONLY_OPTION
from clearwatch.adapters.db.monitor.cases_tables import warning_decisions
from clearwatch.adapters.db.monitor.runs_tables import monitor_runs, monitor_warnings
from clearwatch.domain.monitor.cases_notice import WarningStatus
from clearwatch.services.monitor.run_ports import NewRun, StoredRun, StoredWarning

# With the day's ordinal (below 2**22): one lock per business date, see `latest`.
_PG_RUN_LOCK_KEY = 0x_C1EA_0E62 << 22


class SqlMonitorRunRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def latest(self, business_date: date) -> StoredRun | None:
        c = self._connection
        if c.dialect.name == "postgresql" and not c.get_execution_options().get(READ_ONLY_OPTION):
            # A run that may store a version reads the latest under the day's lock: a second
            # run of the day at once waits for the first to commit, then numbers after it
            # (SQLite serialises writers already; without this both stored version n + 1).
            key = _PG_RUN_LOCK_KEY + business_date.toordinal()
            c.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        row = c.execute(
            select(monitor_runs)
            .where(monitor_runs.c.business_date == business_date)
            .order_by(monitor_runs.c.result_version.desc())
            .limit(1)
        ).first()
        return None if row is None else _run(row)

    def latest_between(self, first: date, last: date) -> list[StoredRun]:
        within = (monitor_runs.c.business_date >= first) & (monitor_runs.c.business_date <= last)
        latest = (
            select(
                monitor_runs.c.business_date,
                func.max(monitor_runs.c.result_version).label("result_version"),
            )
            .where(within)
            .group_by(monitor_runs.c.business_date)
            .subquery()
        )
        rows = self._connection.execute(
            select(monitor_runs)
            .join(
                latest,
                (monitor_runs.c.business_date == latest.c.business_date)
                & (monitor_runs.c.result_version == latest.c.result_version),
            )
            .order_by(monitor_runs.c.business_date)
        )
        return [_run(row) for row in rows]

    def add(self, run: NewRun) -> int:
        run_id = self._connection.execute(
            insert(monitor_runs)
            .values(
                business_date=run.business_date,
                result_version=run.result_version,
                input_key=run.input_key,
                result_sha256=run.result_sha256,
                rules_version=run.rules_version,
                registry_version=run.registry_version,
                package_ids_json=json.dumps(list(run.package_ids)),
                engine=run.engine,
                ran_at=run.ran_at.isoformat(),
                ran_by=run.ran_by,
                document_json=run.document_json,
            )
            .returning(monitor_runs.c.run_id)
        ).scalar_one()
        if run.warnings:
            self._connection.execute(
                insert(monitor_warnings),
                [_warning_values(int(run_id), w) for w in run.warnings],
            )
        return int(run_id)

    def warnings(
        self,
        *,
        business_date: date | None = None,
        level: str | None = None,
        route_to: str | None = None,
        released_only: bool = False,
    ) -> list[StoredWarning]:
        given = {"business_date": business_date, "level": level, "route_to": route_to}
        filters = {name: value for name, value in given.items() if value is not None}
        query = _warnings_query(frozenset(filters), released_only=released_only)
        return [_warning(row) for row in self._connection.execute(query, filters)]


# What a warning is (the content `warning_key` hashes, `cases_delivery_repository._content`):
# a later version of the day carrying the very same content is the same, decided, warning.
WARNING_CONTENT = (
    "business_date",
    "institution_id",
    "level",
    "criteria",
    "route_to",
    "cc",
    "special_report",
    "problem_amount_fen",
    "rules_version",
    "evidence_json",
)


def _approved() -> Exists:
    """A reviewer approved a warning of this very content. The decision names the row it was
    made on; the key itself is a hash the store cannot compute, so the row's content is
    compared with the decided row's, which is the same thing."""
    decided = monitor_warnings.alias("decided")
    return (
        select(warning_decisions.c.decision_id)
        .join(decided, decided.c.warning_id == warning_decisions.c.warning_id)
        .where(
            warning_decisions.c.decision == WarningStatus.APPROVED.value,
            warning_decisions.c.business_date == monitor_warnings.c.business_date,
            warning_decisions.c.institution_id == monitor_warnings.c.institution_id,
            *(decided.c[name] == monitor_warnings.c[name] for name in WARNING_CONTENT),
        )
        .exists()
    )


@functools.cache
def _warnings_query(filtered_by: frozenset[str], *, released_only: bool) -> Select[Any]:
    """The warnings of each day's latest result, each with whether it is released, filtered by
    the columns named (values bound at execution) and, for who sees only released ones, by
    approval. Built once for each set of filters: the API's bureaus ask it on every screen,
    and building the statement cost more than running it."""
    latest = (
        select(
            monitor_runs.c.business_date,
            func.max(monitor_runs.c.result_version).label("result_version"),
        )
        .group_by(monitor_runs.c.business_date)
        .subquery()
    )
    approved = _approved()
    query = select(monitor_warnings, approved.label("released")).join(
        latest,
        (monitor_warnings.c.business_date == latest.c.business_date)
        & (monitor_warnings.c.result_version == latest.c.result_version),
    )
    for name in sorted(filtered_by):
        query = query.where(monitor_warnings.c[name] == bindparam(name))
    if released_only:
        query = query.where(approved)
    return query.order_by(monitor_warnings.c.business_date, monitor_warnings.c.warning_id)


def _warning_values(run_id: int, warning: StoredWarning) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "business_date": warning.business_date,
        "result_version": warning.result_version,
        "institution_id": warning.institution_id,
        "level": warning.level,
        "criteria": ",".join(warning.criteria),
        "route_to": warning.route_to,
        "cc": warning.cc,
        "special_report": warning.special_report,
        "problem_amount_fen": warning.problem_amount_fen,
        "rules_version": warning.rules_version,
        "evidence_json": warning.evidence_json,
    }


def _warning(row: Row[Any]) -> StoredWarning:
    m = row._mapping
    return StoredWarning(
        business_date=m["business_date"],
        result_version=int(m["result_version"]),
        institution_id=str(m["institution_id"]),
        level=str(m["level"]),
        criteria=tuple(str(m["criteria"]).split(",")),
        route_to=str(m["route_to"]),
        cc=str(m["cc"]),
        special_report=bool(m["special_report"]),
        problem_amount_fen=int(m["problem_amount_fen"]),
        rules_version=str(m["rules_version"]),
        evidence_json=str(m["evidence_json"]),
        released=bool(m["released"]),
    )


def _run(row: Row[Any]) -> StoredRun:
    m = row._mapping
    return StoredRun(
        run_id=int(m["run_id"]),
        business_date=m["business_date"],
        result_version=int(m["result_version"]),
        input_key=str(m["input_key"]),
        result_sha256=str(m["result_sha256"]),
        rules_version=str(m["rules_version"]),
        registry_version=int(m["registry_version"]),
        engine=str(m["engine"]),
        ran_at=str(m["ran_at"]),
        document_json=str(m["document_json"]),
    )
