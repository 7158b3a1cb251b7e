"""Listings at 80 columns with markup-like ids: printed as themselves, key cells whole."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from rich.console import Console

from clearwatch.bootstrap import build_application, replay_clock
from clearwatch.config import Settings
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.organisations import SIPF
from clearwatch.domain.access.policy import Action, Actor, Resource
from clearwatch.domain.access.roles import Role
from clearwatch.domain.backoffice.batch_manifest import BatchManifest
from clearwatch.domain.monitor.assessment import Reminder
from clearwatch.domain.monitor.criteria import Criterion, Level
from clearwatch.domain.monitor.receipt import Receipt
from clearwatch.domain.monitor.registry import InstitutionKind
from clearwatch.domain.monitor.report import DayResult, InstitutionResult
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.monitor.routing import RoutedWarning
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.file_schema import PACKAGE_SPECS
from clearwatch.domain.shared.masking import mask
from clearwatch.services.access.authorize import Gate
from clearwatch.services.monitor.submit_package import submit_package
from tests.backoffice_batches import static_batch
from tests.scenarios.test_monitor_day import DAY, FILINGS, INSTITUTIONS, KIND_OF, clean_world
from tests.support.identities import as_user, registered, signed_env
from tests.support.packages import csv_text, write_package, write_registry

BROKER = "[/b2]"  # stands for B002 everywhere: Rich would read it as a closing tag
UNREGISTERED = "[/x]"
NAME = "[bold]深圳[/]"
SUBJECT = "node:x/[/]"
AT = "2026-11-20T18:00:00+08:00"


def clearwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def listed(env: dict[str, str], *args: str) -> str:
    """The stdout of a listing that must succeed, fit 80 columns and cut nothing."""
    result = clearwatch(env, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "…" not in result.stdout, result.stdout
    if "--json" not in args:
        # A path is printed whole on its line even past 80 columns (it is copied, not read).
        home = env["CLEARWATCH_HOME"]
        lines = [line for line in result.stdout.splitlines() if home not in line]
        assert all(len(line) <= 80 for line in lines), result.stdout
    return result.stdout


def row(output: str, *cells: str) -> str:
    """The one line holding every cell, each whole: nothing was wrapped or cut."""
    lines = [line for line in output.splitlines() if all(cell in line for cell in cells)]
    assert len(lines) == 1, f"{cells} not on one line of:\n{output}"
    return lines[0]


@pytest.fixture
def narrow(cli_env: dict[str, str]) -> dict[str, str]:
    env = {**cli_env, "COLUMNS": "80"}
    assert clearwatch(env, "init").returncode == 0
    return env


def _rename(value: str) -> str:
    return BROKER if value == "B002" else value


class _NoPolicy(Gate):
    """Asks no policy: how a store kept from before sign-in holds packages of institutions
    whose ids (`[/b2]`, `[/x]`) are no organisation's, so no user of today could submit them."""

    def check(self, action: Action, resource: Resource) -> Actor:
        return Actor(self.user_id, SIPF, frozenset())

    def check_own(self, action: Action) -> Actor:
        return Actor(self.user_id, SIPF, frozenset())


def _person(env: dict[str, str], user_id: str, organisation: str, role: Role) -> dict[str, str]:
    """`env` signed in as `user_id`, registered first: a person's short id, as the registry's
    history shows who loaded each version (a generated `sipf-registry_officer` fills a third
    of 80 columns)."""
    app = build_application(Settings.from_environment(env))
    try:
        registered(app, user_id, organisation, role)
    finally:
        app.dispose()
    return as_user(env, user_id)


def _stored_before_sign_in(env: dict[str, str], package: Path) -> Receipt:
    """`package` submitted at AT in-process, as a store from before sign-in received it."""
    app = build_application(
        Settings.from_environment(env), replay_clock(datetime.fromisoformat(AT))
    )
    try:
        gate = _NoPolicy(
            caller=local_caller("submitter"), uow_factory=app.uow, clock=app.real_clock
        )
        return submit_package(directory=str(package), context=app.submit_context(), gate=gate)
    finally:
        app.dispose()


def _submit_world(env: dict[str, str], tmp_path: Path) -> None:
    """Every package of the scenario's day with B002 renamed, but K001's (late, incomplete):
    each as its institution's submitter, `[/b2]`'s (no one's institution) from before sign-in."""
    world = clean_world()
    world["B002"]["client_funds.csv"].append(["Z2", "z2", "normal", "K002", "-500.00"])
    for institution, files in world.items():
        if institution == "K001":
            continue
        kind = KIND_OF[institution[0]]
        headers = {f.name: ",".join(f.column_names) for f in PACKAGE_SPECS[kind].files}
        renamed = {
            name: csv_text(headers[name], [[_rename(v) for v in r] for r in rows])
            for name, rows in files.items()
        }
        package = write_package(tmp_path / institution, kind, _rename(institution), DAY, renamed)
        if institution == "B002":
            assert _stored_before_sign_in(env, package).status.value == "accepted"
            continue
        submitter = signed_env(env, institution, Role.SUBMITTER)
        submitted = clearwatch(submitter, "monitor", "submit", str(package), "--at", AT)
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr


def test_monitor_listings_show_markup_like_ids_whole(
    narrow: dict[str, str], tmp_path: Path
) -> None:
    institutions = [
        (_rename(i), kind, NAME if i == "B002" else name, region)
        for i, kind, name, region in INSTITUTIONS
    ]
    filings = [tuple(_rename(v) for v in filing) for filing in FILINGS]
    registry = write_registry(tmp_path / "registry", institutions, filings)
    officer = _person(narrow, "wang.li", "SIPF", Role.REGISTRY_OFFICER)
    assert clearwatch(officer, "monitor", "registry", "load", str(registry)).returncode == 0
    _submit_world(narrow, tmp_path)
    stray = write_package(tmp_path / "stray", "broker_daily", UNREGISTERED, DAY, {})
    b001 = signed_env(narrow, "B001", Role.SUBMITTER)
    refused = clearwatch(b001, "monitor", "submit", str(stray), "--at", AT)
    assert refused.returncode == 3 and "policy_must_allow_action" in refused.stderr
    assert _stored_before_sign_in(narrow, stray).status.value == "rejected"

    analyst = signed_env(narrow, "SIPF", Role.ANALYST)  # the whole monitor: every listing
    run = listed(analyst, "monitor", "run-day", "--date", "2026-11-20", "--at", AT)
    row(run, BROKER, "broker", "500.00", "0.250000", "major")
    row(run, "K002", "bank", "0.00")
    warnings = listed(analyst, "monitor", "warnings")
    row(warnings, "2026-11-20", BROKER, "major", "M2, G3", "CITY-SZ", "yes", "500.00")
    wide = clearwatch(analyst, "monitor", "warnings", "--wide")
    assert wide.returncode == 0 and BROKER in wide.stdout
    [warning] = json.loads(listed(analyst, "monitor", "warnings", "--json"))
    assert (warning["institution_id"], warning["cc"]) == (BROKER, BROKER)
    assert warning["criteria"] == ["M2", "G3"] and warning["problem_amount"] == "500.00"

    packages = listed(analyst, "monitor", "packages")
    row(packages, BROKER, "accepted", "broker", "2026-11-20", "11-20 18:00")
    row(packages, UNREGISTERED, "rejected", "broker", "2026-11-20")
    row(packages, "institution_must_be_registered")
    receipts = json.loads(listed(analyst, "monitor", "packages", "--json"))
    assert {r["institution_id"] for r in receipts} >= {BROKER, UNREGISTERED}

    shown = listed(analyst, "monitor", "registry", "show")
    row(shown, BROKER, "broker", "CITY-SZ", NAME)
    row(shown, "***003", "K002", BROKER, "client_settlement", "CITY-SZ", "2026-02-02")  # masked
    document = json.loads(listed(analyst, "monitor", "registry", "show", "--json"))
    assert NAME in [i["name"] for i in document["institutions"]]


def test_access_listings_and_messages_show_markup_like_text(narrow: dict[str, str]) -> None:
    first = ("user", "add", "root", "--role", "admin", "--machine", "--org")
    odd = clearwatch(narrow, *first, UNREGISTERED)
    assert odd.returncode == 3 and f"organisation_must_be_known: {UNREGISTERED!r}" in odd.stderr
    assert clearwatch(narrow, *first, "BO:B001").returncode == 0  # the first admin, unsigned
    root = as_user(narrow, "root")
    for user, role in (("maker1", "maker"), ("checker1", "checker")):
        added = ("user", "add", user, "--role", role, "--org", "BO:B001", "--machine")
        assert clearwatch(root, *added).returncode == 0
    request = ("approvals", "request", "override", SUBJECT)
    assert clearwatch(as_user(narrow, "maker1"), *request).returncode == 0

    pending = listed(root, "approvals", "list")
    row(pending, "1", "override", SUBJECT, "maker1", "pending")
    decided = clearwatch(as_user(narrow, "checker1"), "approvals", "approve", "1")
    assert decided.returncode == 0, decided.stderr
    assert SUBJECT in decided.stdout and "approved by checker1" in decided.stdout
    row(listed(root, "approvals", "list", "--all"), SUBJECT, "approved", "checker1")
    [approval] = json.loads(listed(root, "approvals", "list", "--all", "--json"))
    assert approval["subject_ref"] == SUBJECT and approval["status"] == "approved"

    row(listed(root, "user", "list"), "maker1", "BO:B001", "operator")
    audit = listed(root, "audit", "show")
    row(audit, "maker1", "approval.requested")
    assert any(r["object_ref"] for r in json.loads(listed(root, "audit", "show", "--json")))


def _plant(home: str) -> None:
    """Stored text no importer would accept today: an older version or a console wrote it.
    B001's back office reads its own; `[/x]` is no broker's back office, so no one reads those."""
    app = build_application(Settings.from_environment({"CLEARWATCH_HOME": home}))
    at = datetime(2026, 11, 20, 17, 30, tzinfo=SHANGHAI)
    breach = {"asset": "CASH", "excess": 12300, "unit": "fen", "nodes_total": 5, "central": 3}
    with app.uow() as uow:
        for broker, batch_id, fund_account in (
            ("B001", "[b]B1", "[/a]"),
            (UNREGISTERED, "[i]X1", "[/z]"),
        ):
            manifest = BatchManifest("trading", broker, DAY, batch_id, "utf-8", ())
            pk = uow.batches.add(manifest, manifest_json="{}", received_at=at, approval_ref=None)
            uow.batches.add_status(pk, status="applied", at=at, actor="[red]x", detail={})
            uow.intraday.add_halt(
                broker_id=broker,
                business_date=DAY,
                fund_account=fund_account,
                evidence={"breaches": [breach]},
                raised_at=at,
                raised_by="[red]checker",
                cause="conservation:test",
            )
        uow.commit()
    app.engine.dispose()


def test_batches_and_halts_show_stored_markup_like_text(
    narrow: dict[str, str], tmp_path: Path
) -> None:
    operator = signed_env(narrow, "BO:B001", Role.OPERATOR)
    batch = static_batch(tmp_path / "static")
    imported = clearwatch(operator, "broker", "import", str(batch), "--at", AT)
    assert imported.returncode == 0, imported.stderr
    _plant(narrow["CLEARWATCH_HOME"])

    batches = listed(operator, "broker", "batches")
    row(batches, "B001", "S1", "static", "2026-11-20", "applied")
    row(batches, "B001", "[b]B1", "trading", "2026-11-20", "applied")
    assert UNREGISTERED not in batches  # another broker's books: not B001's to read
    assert {b["batch_id"] for b in json.loads(listed(operator, "broker", "batches", "--json"))} == {
        "S1",
        "[b]B1",
    }
    halts = listed(operator, "intraday", "halts", "--date", "2026-11-20")
    row(halts, "B001", mask("[/a]"), "2026-11-20 17:30:00", "[red]checker")  # masked: a client
    row(halts, "CASH excess 12300 fen")
    assert UNREGISTERED not in halts and "[/z]" not in halts
    [halt] = json.loads(listed(operator, "intraday", "halts", "--date", "2026-11-20", "--json"))
    assert halt["fund_account"] == mask("[/a]")  # `--json` masks the client too
    asked = ("intraday", "halts", "--date", "2026-11-20", "--json", "--evidence")
    [halt] = json.loads(listed(operator, *asked))  # the evidence, as the policy allows it
    assert halt["fund_account"] == "[/a]" and halt["evidence"]["breaches"][0]["excess"] == 12300


def _demo_day(institution_id: str) -> DayResult:
    """A day with one major warning for `institution_id` and a LATE reminder."""
    warning = RoutedWarning(
        institution_id, Level.MAJOR, (Criterion.M1, Criterion.G1), "CITY-SZ", institution_id,
        True, 123456789,
    )  # fmt: skip
    line = InstitutionResult(
        institution_id, InstitutionKind.BROKER, None, 123456789, None, (), (warning,), (), ()
    )
    reminder = Reminder("[/r]", ReportingCategory.LATE, 1)
    return DayResult(date(2026, 11, 16), "[/v]", (line,), (), (reminder,), 10)


def test_the_demo_tables_show_markup_like_ids_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clearwatch.entrypoints.cli import demo

    out = io.StringIO()
    monkeypatch.setattr(demo, "console", Console(file=out, width=80))
    warning = {"level": "major", "criteria": ["M1", "G1"], "route_to": "CITY-SZ"}
    fault = {"fault": "misappropriation", "target": UNREGISTERED}
    fault["expected"] = {"institutions": [{"warnings": [warning]}]}  # type: ignore[assignment]
    (tmp_path / "2026-11-16").mkdir()
    (tmp_path / "2026-11-16" / "faults.json").write_text(json.dumps({"faults": [fault]}))
    results = {"2026-11-16": demo.MonitorDay(_demo_day(UNREGISTERED), tmp_path / "[/h].html")}
    log = demo.DemoLog(eod_refused=["[/e] 2026-11-16: refused"])
    demo._print_results(tmp_path, ["2026-11-16"], results, log)
    printed = out.getvalue()
    assert "…" not in printed
    row(printed, "2026-11-16", UNREGISTERED, "major", "M1, G1", "CITY-SZ", "yes", "1234567.89")
    row(printed, "2026-11-16", "misappropriation", UNREGISTERED, "✓")
    assert "reminder 2026-11-16: [/r] LATE" in printed and "[/e] 2026-11-16" in printed
    assert "[/h].html" in printed


def test_whole_cells_keep_their_width_while_free_text_wraps() -> None:
    from clearwatch.entrypoints.cli.output import Column, listing_table

    columns = (Column("date", "date"), Column("note", "note", whole=False))
    rows = [{"date": date(2026, 11, 20).isoformat(), "note": "a long note " * 12}]
    out = io.StringIO()
    Console(file=out, width=40).print(listing_table("t", columns, rows))
    row(out.getvalue(), "2026-11-20")
