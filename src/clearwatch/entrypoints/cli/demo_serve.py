"""`clearwatch demo --serve`: after the demo, the platform served on its data, one person per role.

Demo only. Each person gets a password made at random for this run (and a second factor where
the role decides), printed once and never stored in clear. A real store never gets them: the
demo writes a marker beside a store it created itself, and `--serve` refuses any store without
that marker before anyone is given a password.

The people act under their own names, asked of the policy like anyone: the demo's admin
registers them (or resets their passwords on a later run); a broker's back office is a
deployment of its own in real life, so its first admin is the one bootstrap the demo plays for
it (audited as the demo's act), and that admin registers the back office's maker and checker.
"""

from __future__ import annotations

import json
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from rich import box
from rich.table import Table
from rich.text import Text

from clearwatch.bootstrap import Application, build_application
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.credentials import needs_second_factor
from clearwatch.domain.access.organisations import CSRC_ID, SIPF_ID, parse_organisation
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.criteria import Level
from clearwatch.domain.monitor.registry import InstitutionKind
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.entrypoints.cli.common import EXIT_USAGE, console, fail
from clearwatch.entrypoints.cli.demo_people import DEMO_ADMIN, DEMO_ANALYST, DEMO_REVIEWER
from clearwatch.services.access.passwords import enrol_second_factor, set_password
from clearwatch.services.access.users import register_person
from clearwatch.services.audit.audit_log import record_audit

DEMO_MARKER = Path("demo") / "store.json"  # under the home: the store this demo created
DEMO_SERVE_STORE_MUST_BE_THE_DEMOS = "demo_serve_store_must_be_the_demos"
DEMO_SERVE_PORT_MUST_BE_FREE = "demo_serve_port_must_be_free"
DEMO_HOST = "127.0.0.1"  # this machine only: the passwords are printed on its terminal
DEMO_WEB_ADMIN = "demo-web-admin"
password_bytes = 12  # 16 URL-safe characters, above the 12-character minimum


@dataclass(frozen=True)
class Seat:
    """One role to sign in as: who, where, and which admin registers them."""

    title: str
    user_id: str
    organisation: str
    role: Role
    registered_by: str


@dataclass(frozen=True)
class DemoLogin:
    title: str
    user_id: str
    password: str
    totp_secret: str | None  # for an authenticator app; None: the role needs no code


def mark_demo_store(wired: Application) -> None:
    """Note beside the store that the demo created it (called when the demo found it empty)."""
    marker = wired.settings.home / DEMO_MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    document = {"database": wired.settings.shown_database_url, "admin": DEMO_ADMIN}
    marker.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def check_demo_store(wired: Application) -> None:
    """Refuse `--serve` on a store the demo did not create: no default logins on a real one."""
    marker = wired.settings.home / DEMO_MARKER
    try:
        document = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        document = {}
    if document.get("database") != wired.settings.shown_database_url:
        raise fail(
            f"{DEMO_SERVE_STORE_MUST_BE_THE_DEMOS}: {wired.settings.shown_database_url} was not "
            "created by the demo; --serve gives logins only on the demo's own store (run it "
            "with CLEARWATCH_HOME set to a new directory)",
            EXIT_USAGE,
        )


def check_port_free(port: int) -> None:
    """Before the two minutes of the demo, not after them."""
    with socket.socket() as probe:
        try:
            probe.bind((DEMO_HOST, port))
        except OSError as error:
            raise fail(
                f"{DEMO_SERVE_PORT_MUST_BE_FREE}: {DEMO_HOST}:{port} ({error.strerror}); "
                "choose another with --port",
                EXIT_USAGE,
            ) from error


def seats(wired: Application) -> list[Seat]:
    """One person per role, placed where the demo's data has something to show: the
    institution and bureau of the most severe warning, and a broker's back office."""
    institution, bureau = _most_severe(wired)
    broker = _broker(wired, institution)
    back_office = f"BO:{broker}"
    back_office_admin = _back_office_admin(wired, back_office)
    return [
        Seat("SIPF analyst 分析员", DEMO_ANALYST, SIPF_ID, Role.ANALYST, DEMO_ADMIN),
        Seat("SIPF second reviewer 复核", DEMO_REVIEWER, SIPF_ID, Role.REVIEWER, DEMO_ADMIN),
        Seat(f"bureau {bureau} 派出机构", f"{bureau.lower()}-analyst", bureau,
             Role.BUREAU_ANALYST, DEMO_ADMIN),
        Seat("CSRC viewer 证监会", "csrc-viewer", CSRC_ID, Role.CSRC_VIEWER, DEMO_ADMIN),
        Seat(f"{institution} officer 机构", f"{institution.lower()}-officer", institution,
             Role.OFFICER, DEMO_ADMIN),
        Seat("SIPF admin 管理员", DEMO_WEB_ADMIN, SIPF_ID, Role.ADMIN, DEMO_ADMIN),
        Seat(f"{broker} back office operator 经办", f"bo-{broker.lower()}-operator",
             back_office, Role.OPERATOR, back_office_admin),
        Seat(f"{broker} back office checker 复核", f"bo-{broker.lower()}-checker",
             back_office, Role.CHECKER, back_office_admin),
    ]  # fmt: skip


def _most_severe(wired: Application) -> tuple[str, str]:
    """(institution, bureau) of the most severe warning; the bureau most warned otherwise."""
    with wired.read_uow() as uow:
        warnings = uow.monitor_runs.warnings()
    if not warnings:
        return "B001", "CN-SH"
    worst = min(warnings, key=lambda w: (-Level(w.level).rank, w.institution_id))
    return worst.institution_id, worst.route_to


def _broker(wired: Application, institution: str) -> str:
    """The institution when it is a broker, else the first broker of the registry."""
    with wired.read_uow() as uow:
        registry = uow.registry.current()
    brokers = sorted(
        i.institution_id
        for i in (registry.institutions if registry else ())
        if i.kind is InstitutionKind.BROKER
    )
    return institution if institution in brokers or not brokers else brokers[0]


def _back_office_admin(wired: Application, back_office: str) -> str:
    """The back office's first admin, as its own deployment's bootstrap would register it
    (no password: it signs no one in here, it registers the back office's people)."""
    organisation = parse_organisation(back_office)
    user_id = f"bo-{organisation.code.lower()}-admin"
    at = wired.real_clock.now()
    with wired.uow() as uow:
        if uow.access.user(user_id) is None:
            uow.access.add_user(
                user_id=user_id, organisation=organisation, created_at=at, created_by=DEMO_ADMIN
            )
            uow.access.add_role(user_id=user_id, role=Role.ADMIN, granted_at=at,
                                granted_by=DEMO_ADMIN)  # fmt: skip
            record_audit(
                uow,
                actor=DEMO_ADMIN,
                action=AuditAction.USER_ADDED,
                object_ref=f"user:{user_id}",
                payload={"organisation": back_office, "roles": [Role.ADMIN.value],
                         "bootstrap": "the back office deployment's first admin (demo)"},
                recorded_at=at,
            )  # fmt: skip
            uow.commit()
    return user_id


def enrol(wired: Application, seat: Seat) -> DemoLogin:
    """A new random password (and second factor) for the seat's person, registering them
    the first time; on a later run the same person, new credentials."""
    password = secrets.token_urlsafe(password_bytes)
    with wired.read_uow() as uow:
        known = uow.access.user(seat.user_id) is not None
    tools = wired.authentication
    if not known:
        registered = register_person(
            uow=wired.uow(), tools=tools, user_id=seat.user_id, roles=[seat.role],
            organisation=seat.organisation, password=password, actor=seat.registered_by,
            at=wired.real_clock.now(),
        )  # fmt: skip
        uri = registered.second_factor_uri
    else:
        gate = wired.gate(local_caller(seat.registered_by))
        set_password(
            gate=gate, uow=wired.uow(), tools=tools, user_id=seat.user_id, password=password
        )
        uri = None
        if needs_second_factor(frozenset({seat.role})):
            uri = enrol_second_factor(gate=gate, uow=wired.uow(), tools=tools,
                                      user_id=seat.user_id)  # fmt: skip
    secret = None if uri is None else parse_qs(urlparse(uri).query)["secret"][0]
    return DemoLogin(seat.title, seat.user_id, password, secret)


def logins_table(logins: list[DemoLogin]) -> Table:
    """Every cell folds rather than cuts: a password shown with `…` is no password."""
    table = Table(
        title=Text("Sign in as 登录"), box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False
    )
    for header in ("role 角色", "user", "password", "TOTP secret 动态口令密钥"):
        table.add_column(Text(header), overflow="fold")
    for login in logins:
        table.add_row(login.title, login.user_id, login.password, login.totp_secret or "–")
    return table


def serve_demo(port: int) -> None:
    """The people, their logins printed once, then the platform on this machine until Ctrl-C."""
    import uvicorn

    from clearwatch.entrypoints.api.app import create_app

    wired = build_application()  # the real clock, as `clearwatch serve` on this home
    check_demo_store(wired)
    logins = [enrol(wired, seat) for seat in seats(wired)]
    address = f"http://{DEMO_HOST}:{port}/web/login"
    console.print(logins_table(logins))
    console.print(Text("A code for the TOTP secret: any authenticator app, or "), end="")
    console.print(Text("python -c \"import pyotp; print(pyotp.TOTP('<secret>').now())\""))
    console.print(Text.assemble(("clearwatch web", "green"), f" on {address}  (Ctrl-C stops)"))
    console.file.flush()  # a pipe reads the logins before the server's first line
    uvicorn.run(
        create_app(wired),
        host=DEMO_HOST,
        port=port,
        proxy_headers=False,
        server_header=False,
        access_log=False,  # the logins above stay on screen
        log_level="warning",
    )
