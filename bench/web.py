"""Benchmark the SIPF dashboard (`/web/sipf`) of a month's market: server time per page against
a static page served by the same application in the same run (issue 15; goal ≤ 300 ms a page).

The market is written straight through the repositories, not simulated (a month of end of days
and comparisons is not what this measures): a registry of `--brokers` brokers, a tenth as many
banks and the CSDC; every institution's package on each of `--days` calendar days (three files
each; one broker in ten sends a second sequence that supersedes the first, one in fifteen is
late, one in forty is rejected first); each day's run result as the monitor stores it (every
institution's entry, a tenth of the brokers with findings carrying 20 evidence rows, one in
twenty warned), with a second result version on every third day. An analyst signs in once
through the login form.

Then, in-process through the ASGI application (httpx's ASGITransport: the server's own work,
no sockets), `--pages` rounds, each of: the style sheet (a static file), the login page (a
template, no store), the SIPF page on its default date, and on a date of the month. Wall and
CPU milliseconds per page (CPU is what the load of other processes distorts least), medians
and 90th percentiles. Beside them, in the same store, the two reads this page changed, old
and new: the default date (every receipt ever read, against the dates' index) and the
30-day trend (one query a day, against one grouped query). Nothing is asserted.

    .venv/bin/python bench/web.py --quick                 # 50 brokers × 10 days, 10 rounds
    nice -n 10 .venv/bin/python bench/web.py              # 200 brokers × 30 days, 30 rounds
    .venv/bin/python bench/web.py --database-url postgresql+psycopg://…/empty_db
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application, build_application
from clearwatch.config import EngineBackend, Settings
from clearwatch.domain.access.organisations import SIPF_ID
from clearwatch.domain.access.roles import Role
from clearwatch.domain.audit.chain import HashAlgorithm
from clearwatch.domain.monitor.manifest import Manifest
from clearwatch.domain.monitor.registry import Institution, InstitutionKind, SpecialAccountFiling
from clearwatch.domain.monitor.registry_files import RegistryContent
from clearwatch.domain.monitor.rejections import PackageError, PackageRule
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.file_format import ManifestFile
from clearwatch.domain.shared.kinds import PackageKind
from clearwatch.domain.shared.money import format_fen
from clearwatch.entrypoints.api.app import create_app
from clearwatch.services.access.users import add_user, register_person
from clearwatch.services.monitor.ports import NewPackage, NewRejection
from clearwatch.services.monitor.run_ports import NewRun, StoredWarning

FIRST_DAY = date(2026, 10, 1)
BUREAUS = ("CN-SH", "CITY-SZ", "CN-BJ", "CITY-NB", "CITY-XM", "CITY-QD", "CITY-DL")
ANALYST = "bench-analyst"
PASSWORD = "bench web pages password"
TREND_DAYS = 30
# Bounds: the store is built in memory and in one transaction a day.
brokers_max = 2_000
days_max = 90
pages_max = 1_000
evidence_rows = 20
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _registry(brokers: int) -> RegistryContent:
    banks = max(1, brokers // 10)
    institutions = [
        *(Institution(f"B{b:03d}", InstitutionKind.BROKER, f"证券{b}", BUREAUS[b % 7])
          for b in range(1, brokers + 1)),
        *(Institution(f"K{k:03d}", InstitutionKind.BANK, f"银行{k}", BUREAUS[k % 7])
          for k in range(1, banks + 1)),
        Institution("C001", InstitutionKind.CSDC, "中国结算", "CN-BJ"),
    ]  # fmt: skip
    accounts = [
        SpecialAccountFiling(f"SA-{b:03d}-{n}", f"K{b % banks + 1:03d}", f"B{b:03d}",
                             purpose, BUREAUS[b % 7], FIRST_DAY - timedelta(days=90))
        for b in range(1, brokers + 1)
        for n, purpose in enumerate(("settlement", "client_funds"))
    ]  # fmt: skip
    return RegistryContent(tuple(institutions), tuple(accounts), ())


_KIND_OF = {
    InstitutionKind.BROKER: PackageKind.BROKER_DAILY,
    InstitutionKind.BANK: PackageKind.BANK_DAILY,
    InstitutionKind.CSDC: PackageKind.CSDC_DAILY,
}


def _package(institution: Institution, day: date, sequence: int, index: int) -> NewPackage:
    files = tuple(
        ManifestFile(f"part{n}.csv", _digest(institution.institution_id, day, sequence, n), 1_000)
        for n in range(3)
    )
    manifest = Manifest(
        kind=_KIND_OF[institution.kind].value, institution_id=institution.institution_id,
        business_date=day, sequence=sequence, encoding="utf-8", files=files,
    )  # fmt: skip
    received = datetime.combine(day, clock_time(16, index % 60), tzinfo=SHANGHAI)
    return NewPackage(
        manifest=manifest, received_at=received + timedelta(minutes=sequence),
        late=index % 15 == 0, supersedes_package_id=None, registry_version=1,
        parquet_digests={f.name: f.sha256 for f in files},
        row_counts={f.name: f.rows for f in files},
    )  # fmt: skip


def _rejection(institution: Institution, day: date) -> NewRejection:
    error = PackageError(PackageRule.MANIFEST_MUST_EXIST, "bench: a broken first try")
    return NewRejection(
        received_at=datetime.combine(day, clock_time(15, 0), tzinfo=SHANGHAI),
        kind=_KIND_OF[institution.kind].value, institution_id=institution.institution_id,
        business_date=day, sequence=1, content_sha256=None, errors=(error,),
        errors_truncated=False,
    )  # fmt: skip


def _write_packages(app: Application, content: RegistryContent, day: date) -> None:
    with app.uow() as uow:
        for index, institution in enumerate(content.institutions):
            if index % 40 == 7:
                uow.packages.add_rejection(_rejection(institution, day))
            first = uow.packages.add_accepted(_package(institution, day, 1, index))
            if index % 10 == 3:
                second = _package(institution, day, 2, index)
                uow.packages.add_accepted(
                    NewPackage(**{**second.__dict__, "supersedes_package_id": first})
                )
        uow.commit()


def _entry(institution: Institution, day: date, index: int) -> dict[str, Any]:
    """One institution's part of the day's result, as `day_document` writes it."""
    broker = institution.kind is InstitutionKind.BROKER
    balance = 1_000_000_00 * (index % 50 + 1) + day.day
    problem = 12_345_67 * (index % 7) if broker and index % 10 == 0 else 0
    findings = []
    if problem:
        largest = [{"account_no": f"C{n:06d}", "amount": format_fen(problem // (n + 1))}
                   for n in range(evidence_rows)]  # fmt: skip
        findings.append({"code": "F2", "type": "amount", "amount": format_fen(problem),
                         "evidence": {"items_count": 500, "largest": largest,
                                      "largest_rows_max": evidence_rows}})  # fmt: skip
    warned = broker and index % 20 == 0
    warnings = [{"level": "major" if index % 60 == 0 else "general", "criteria": ["G3"],
                 "route_to": institution.region, "cc": "", "special_report": index % 60 == 0,
                 "problem_amount": format_fen(problem)}] if warned else []  # fmt: skip
    return {
        "institution_id": institution.institution_id, "kind": institution.kind.value,
        "client_fund_balance": format_fen(balance) if broker else None,
        "problem_amount": format_fen(problem), "problem_ratio": None, "findings": findings,
        "warnings": warnings, "incomplete": [], "reporting_g6": [],
    }  # fmt: skip


def _run(content: RegistryContent, day: date, version: int) -> NewRun:
    entries = [_entry(i, day, n) for n, i in enumerate(content.institutions)]
    document = {"business_date": day.isoformat(), "rules_version": "bench", "institutions": entries,
                "missing_packages": [], "reminders": [], "result_version": version}  # fmt: skip
    warnings = [
        StoredWarning(
            business_date=day, result_version=version, institution_id=e["institution_id"],
            level=w["level"], criteria=tuple(w["criteria"]), route_to=w["route_to"], cc="",
            special_report=w["special_report"], problem_amount_fen=int(
                w["problem_amount"].replace(".", "").replace(",", "")),
            rules_version="bench", evidence_json=json.dumps({"findings": e["findings"]}),
        )
        for e in entries
        for w in e["warnings"]
    ]  # fmt: skip
    text = json.dumps(document, ensure_ascii=False)
    return NewRun(
        business_date=day, result_version=version, input_key=_digest(day, version),
        result_sha256=hashlib.sha256(text.encode()).hexdigest(), rules_version="bench",
        registry_version=1, package_ids=(), engine="duckdb",
        ran_at=datetime.combine(day, clock_time(20), tzinfo=SHANGHAI), ran_by=ANALYST,
        document_json=text, warnings=warnings,
    )  # fmt: skip


def build_market(app: Application, brokers: int, days: int) -> dict[str, float]:
    """The month, written through the repositories; seconds per part."""
    started = time.perf_counter()
    content = _registry(brokers)
    with app.uow() as uow:
        uow.registry.save_version(content, loaded_at=app.real_clock.now(), loaded_by="bench")
        uow.commit()
    for offset in range(days):
        _write_packages(app, content, FIRST_DAY + timedelta(days=offset))
    packaged = time.perf_counter()
    for offset in range(days):
        day = FIRST_DAY + timedelta(days=offset)
        with app.uow() as uow:
            for version in (1, 2) if offset % 3 == 0 else (1,):
                uow.monitor_runs.add(_run(content, day, version))
            uow.commit()
    ran = time.perf_counter()
    return {"packages s": packaged - started, "run results s": ran - packaged}


def _app(home: Path, database_url: str | None) -> Application:
    settings = Settings(
        home=home,
        database_url=database_url or f"sqlite:///{home / 'clearwatch.sqlite3'}",
        columnar_root=str(home / "columnar"),
        audit_algorithm=HashAlgorithm.SHA256,
        engine_backend=EngineBackend.DUCKDB,
        audit_key=home / "audit-key" / "ed25519.pem",
    )
    app = build_application(settings, FixedClock(datetime(2026, 11, 3, 9, tzinfo=SHANGHAI)))
    app.init_schema(actor="bench")
    at = app.real_clock.now()
    add_user(uow=app.uow(), user_id="bench-admin", roles=[Role.ADMIN], organisation=SIPF_ID,
             actor=None, at=at)  # fmt: skip
    register_person(
        uow=app.uow(), tools=app.authentication, user_id=ANALYST, roles=[Role.ANALYST],
        organisation=SIPF_ID, password=PASSWORD, actor="bench-admin", at=at,
    )  # fmt: skip
    return app


Timed = Callable[[], Awaitable[httpx.Response]]


async def _time_pages(
    client: httpx.AsyncClient, pages: dict[str, Timed], rounds: int
) -> dict[str, tuple[list[float], list[float]]]:
    """(wall ms, CPU ms) of each page per round, the pages interleaved within a round."""
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in pages}
    for _ in range(rounds):
        for name, fetch in pages.items():
            wall, cpu = time.perf_counter(), time.process_time()
            answer = await fetch()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if answer.status_code != 200:
                raise RuntimeError(f"{name}: {answer.status_code} {answer.text[:300]}")
            times[name][0].append(wall * 1000)
            times[name][1].append(cpu * 1000)
    return times


async def _signed_in(client: httpx.AsyncClient) -> None:
    form = await client.get("/web/login")
    found = _CSRF.search(form.text)
    assert found is not None, form.text[:300]
    landed = await client.post(
        "/web/login",
        data={"user_id": ANALYST, "password": PASSWORD, "csrf_token": found[1]},
        follow_redirects=True,
    )
    if landed.url.path != "/web/sipf":
        raise RuntimeError(f"sign-in failed: {landed.status_code} {landed.url}")


async def measure_pages(app: Application, days: int, rounds: int) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=create_app(app, anchor_every_seconds=None))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await _signed_in(client)
        middle = (FIRST_DAY + timedelta(days=days // 2)).isoformat()
        pages: dict[str, Timed] = {
            "static: web.css": lambda: client.get("/web/static/web.css"),
            "login page (template)": lambda: client.get("/web/login"),
            "SIPF page, default date": lambda: client.get("/web/sipf"),
            f"SIPF page, {middle}": lambda: client.get("/web/sipf", params={"date": middle}),
        }
        await _time_pages(client, pages, 2)  # warm: templates compiled, caches filled
        sizes = {name: len((await fetch()).content) for name, fetch in pages.items()}
        times = await _time_pages(client, pages, rounds)
    return {"times": times, "sizes": sizes}


def _old_and_new_reads(app: Application, days: int, repeat: int) -> dict[str, float]:
    """Milliseconds (best of `repeat`) of the default date and the trend, as the page read them
    before (every receipt; a query a day) and as it reads them now."""
    last = FIRST_DAY + timedelta(days=days - 1)

    def old_default() -> object:
        with app.read_uow() as uow:
            return max(r.business_date for r in uow.packages.receipts() if r.business_date)

    def new_default() -> object:
        with app.read_uow() as uow:
            return uow.packages.latest_business_date()

    def old_trend() -> object:
        with app.read_uow() as uow:
            runs = [uow.monitor_runs.latest(last - timedelta(days=b)) for b in range(TREND_DAYS)]
        return [json.loads(r.document_json) for r in runs if r]

    def new_trend() -> object:
        with app.read_uow() as uow:
            runs = uow.monitor_runs.latest_between(last - timedelta(days=TREND_DAYS - 1), last)
        return [json.loads(r.document_json) for r in runs]

    reads = {"default date, old (all receipts)": old_default, "default date, new (index max)":
             new_default, "trend, old (a query a day)": old_trend,
             "trend, new (one grouped query)": new_trend}  # fmt: skip
    best = {}
    for name, read in reads.items():
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            read()
            samples.append((time.perf_counter() - started) * 1000)
        best[name] = min(samples)
    return best


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(args: argparse.Namespace, built: dict[str, float], measured: dict[str, Any],
           reads: dict[str, float]) -> None:  # fmt: skip
    print(f"market: {args.brokers} brokers × {args.days} days; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
    print("built: " + ", ".join(f"{k} {v:.1f}" for k, v in built.items()))
    times, sizes = measured["times"], measured["sizes"]
    static_cpu = statistics.median(times["static: web.css"][1])
    print(f"{'page':<28} {'bytes':>8} {'wall ms p50':>11} {'p90':>7} {'CPU ms p50':>10} "
          f"{'÷ static CPU':>12}")  # fmt: skip
    for name, (wall, cpu) in times.items():
        print(f"{name:<28} {sizes[name]:>8} {statistics.median(wall):>11.1f} "
              f"{_percentile(wall, 0.9):>7.1f} {statistics.median(cpu):>10.1f} "
              f"{statistics.median(cpu) / static_cpu:>12.1f}")  # fmt: skip
    for name, ms in reads.items():
        print(f"read: {name:<36} {ms:8.1f} ms (best)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--pages", type=int, default=30, help="rounds of the four pages")
    parser.add_argument("--quick", action="store_true", help="50 brokers × 10 days, 10 rounds")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    if args.quick:
        args.brokers, args.days, args.pages = 50, 10, 10
    if not (0 < args.brokers <= brokers_max and 0 < args.days <= days_max
            and 0 < args.pages <= pages_max):  # fmt: skip
        parser.error(f"brokers ≤ {brokers_max}, days ≤ {days_max}, pages ≤ {pages_max}")
    with tempfile.TemporaryDirectory(prefix="bench-web-") as home:
        app = _app(Path(home), args.database_url)
        try:
            built = build_market(app, args.brokers, args.days)
            measured = asyncio.run(measure_pages(app, args.days, args.pages))
            reads = _old_and_new_reads(app, args.days, repeat=5)
        finally:
            app.dispose()
    report(args, built, measured, reads)


if __name__ == "__main__":
    main()
