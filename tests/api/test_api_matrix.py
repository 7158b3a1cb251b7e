"""The authorization matrix, generated from the policy table: every endpoint × every role ×
own/other organisation, through the real API on one shared store.

Each endpoint names the action it asks and the thing it touches; the expected answer is the
table's (`POLICY`, through `decide`). An allowed call must succeed; a denied one must be a
403 (or a 404 where the thing's existence is private), change no row of any table, and leave
exactly one `access.denied` record naming the caller. A listing must be refused only to a
role the table never lets list, and otherwise show exactly the rows the scope reaches.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import TokenScope, local_caller
from clearwatch.domain.access.organisations import (
    OrganisationKind,
    parse_organisation,
)
from clearwatch.domain.access.policy import POLICY, Action, Actor, Allowed, Resource, decide
from clearwatch.domain.access.roles import ROLES_BY_KIND, Role
from clearwatch.domain.monitor.cases_notice import WarningStatus
from clearwatch.services.access import approvals
from clearwatch.services.access.api_tokens import create_token
from tests.api.matrix_cases import (
    case_attachment_path,
    case_id_of,
    explain_form,
    prepare_cases_world,
    reminder_id_of,
    warning_id_of,
)
from tests.api.matrix_filings import CLOSING, new_account_body, pending_filing_id
from tests.api.matrix_watch import HALT_BODY, confirmed_alert_key, fresh_alert_key
from tests.api.support import (
    API,
    DAY,
    TestClient,
    audit_head,
    audit_records,
    bearer,
    client_of,
    forged_k001,
    load_world,
    new_app,
    person,
    row_counts,
    tar_of,
    user_id_of,
)
from tests.backoffice_batches import static_batch
from tests.scenarios.test_monitor_day import FILINGS, INSTITUTIONS
from tests.support.packages import write_registry

Form = Literal["check", "lister", "private"]
REASON = "restated by the bank"


@dataclass(frozen=True)
class Target:
    """Whose thing an endpoint touches, and who is the other organisation of each kind."""

    institution: str
    other_institution: str
    bureau: str
    other_bureau: str
    broker: str = "B001"
    other_broker: str = "B002"

    def organisation(self, kind: OrganisationKind, side: str) -> str:
        own = side == "own"
        match kind:
            case OrganisationKind.INSTITUTION:
                return self.institution if own else self.other_institution
            case OrganisationKind.BUREAU:
                return self.bureau if own else self.other_bureau
            case OrganisationKind.BACK_OFFICE:
                return f"BO:{self.broker if own else self.other_broker}"
            case OrganisationKind.SIPF:
                return "SIPF"
            case OrganisationKind.CSRC:
                return "CSRC"


B001 = Target("B001", "B002", "CN-SH", "CITY-SZ")
B002 = Target("B002", "B001", "CITY-SZ", "CN-SH", broker="B002", other_broker="B001")
K001 = Target("K001", "K002", "CN-BJ", "CN-GD")


@dataclass
class World:
    """The shared store, a client, and what the endpoints send."""

    app: Application
    client: TestClient
    b001_package: bytes
    forged_k001: bytes
    registry: bytes
    static_batch: bytes
    b001_package_id: int
    organisation_of: dict[str, str] = field(default_factory=dict)

    def org_of(self, user_id: str) -> str | None:
        if user_id not in self.organisation_of:
            with self.app.read_uow() as uow:
                user = uow.access.user(user_id)
            self.organisation_of[user_id] = "" if user is None else user.organisation.ident
        return self.organisation_of[user_id] or None

    def pending_request(self) -> int:
        """A fresh pending request made by B001's back-office operator."""
        maker = person(self.app, "BO:B001", Role.OPERATOR)
        request = approvals.request_approval_committed(
            uow=self.app.uow(),
            kind="override",
            subject_ref=f"matrix:{uuid.uuid4().hex}",
            payload={},
            maker=maker,
            at=self.app.real_clock.now(),
        )
        return request.request_id

    def b001_token(self) -> str:
        """A fresh API token of B001's reporting machine, made by B001's officer."""
        officer = person(self.app, "B001", Role.OFFICER)
        machine = person(self.app, "B001", Role.SUBMITTER, "b001-machine")
        issued = create_token(
            gate=self.app.gate(local_caller(officer)),
            uow=self.app.uow(),
            user_id=machine,
            scope=TokenScope.SUBMIT,
            days=1,
        )
        return issued.token.token_id


# Sends the request; its `str` is what `Endpoint.prepare` made (an id for the path).
Send = Callable[[World, dict[str, str], str], httpx.Response]


@dataclass(frozen=True)
class Endpoint:
    name: str
    action: Action
    target: Target
    send: Send
    form: Form = "check"
    resource: Callable[[str], Resource] = lambda _caller_org: Resource()
    allowed: frozenset[int] = frozenset({200})
    rows: Callable[[World, list[Any]], list[Resource]] | None = None  # a listing's rows
    target_row: Resource | None = None  # a row the own side's readers must see
    prepare: Callable[[World], str] = lambda _world: ""  # run before rows are counted


def _upload(path: str, body: Callable[[World], bytes], **params: str) -> Send:
    def send(world: World, headers: dict[str, str], _prepared: str) -> httpx.Response:
        url = f"{API}{path}"
        return world.client.post(url, content=body(world), headers=headers, params=params)

    return send


def _get(path: str, **params: str) -> Send:
    def send(world: World, headers: dict[str, str], prepared: str) -> httpx.Response:
        url = f"{API}{path.format(prepared)}"
        return world.client.get(url, headers=headers, params=params)

    return send


def _post(path: str, body: Any = None) -> Send:
    def send(world: World, headers: dict[str, str], prepared: str) -> httpx.Response:
        url = f"{API}{path.format(prepared)}"
        return world.client.post(url, headers=headers, json=body() if callable(body) else body)

    return send


def _revoke(world: World, headers: dict[str, str], token_id: str) -> httpx.Response:
    return world.client.delete(f"{API}/tokens/{token_id}", headers=headers)


def _revoke_role(world: World, headers: dict[str, str], user_id: str) -> httpx.Response:
    return world.client.delete(f"{API}/users/{user_id}/roles/auditor", headers=headers)


def _own(caller_org: str) -> Resource:
    return Resource(organisation=caller_org)


def _own_books(caller_org: str) -> Resource:
    """Everything of the caller's own organisation (`Gate.check_own`, a listing's evidence)."""
    return Resource(organisation=caller_org, institution=parse_organisation(caller_org).code)


def _of(**fields: Any) -> Callable[[str], Resource]:
    return lambda _caller_org: Resource(**fields)


def _new_user(organisation: str, role: Role) -> Callable[[], Any]:
    return lambda: {
        "user_id": f"new-{uuid.uuid4().hex[:12]}",
        "organisation": organisation,
        "roles": [role.value],
    }


def _rows_of(key: str, field_name: str) -> Callable[[World, list[Any]], list[Resource]]:
    return lambda _world, rows: [Resource(**{field_name: row[key]}) for row in rows]


def _warning_rows(_world: World, rows: list[Any]) -> list[Resource]:
    return [
        Resource(
            institution=row["institution_id"],
            bureau=row["route_to"],
            special_report=row["special_report"],
            released=row["released"] if "released" in row else row["status"] == "approved",
        )
        for row in rows
    ]


def _case_rows(world: World, rows: list[Any]) -> list[Resource]:
    """A case is released to a bureau an approved warning of its institution and day went to
    (read here from the review listing's decisions, not the query under test)."""
    with world.app.read_uow() as uow:
        approved = {
            (w.institution_id, w.business_date.isoformat(), w.route_to)
            for w in uow.warning_review.warnings()
            if w.status is WarningStatus.APPROVED
        }
    return [
        Resource(
            institution=row["institution_id"],
            bureau=row["bureaus"][0],
            released=(row["institution_id"], row["business_date"], row["bureaus"][0]) in approved,
        )
        for row in rows
    ]


def _inbox_rows(_world: World, rows: list[Any]) -> list[Resource]:
    recipients = [row["recipient"] for row in rows]
    return [
        Resource(institution=r, bureau=r, special_report=r == "CSRC", released=True)
        for r in recipients
    ]


def _reminder_rows(_world: World, rows: list[Any]) -> list[Resource]:
    return [
        Resource(institution=row["institution_id"], bureau=row["bureau"], released=True)
        for row in rows
    ]


def _explain(world: World, headers: dict[str, str], case_id: str) -> httpx.Response:
    data, files = explain_form()
    url = f"{API}/cases/{case_id}/explanation"
    return world.client.post(url, headers=headers, data=data, files=files)


def _approval_rows(world: World, rows: list[Any]) -> list[Resource]:
    return [Resource(organisation=world.org_of(row["maker"])) for row in rows]


def _watch_rows(_world: World, rows: list[Any]) -> list[Resource]:
    return [Resource(organisation=f"BO:{r['broker_id']}", institution=r["broker_id"]) for r in rows]


GRANT = {"role": "checker", "hours": 4, "reason": "the checker is ill"}
B001_BOOKS = Resource(organisation="BO:B001", institution="B001")
# The world's B002 warning is approved before the matrix runs: released, with the case behind it.
B002_CASE = Resource(institution="B002", bureau="CITY-SZ", released=True)
B002_WARNING = Resource(institution="B002", bureau="CITY-SZ", special_report=True, released=True)
DONE_OR_NOT_NOW = frozenset({200, 409})  # the first allowed caller moves it; the next, 409
EOD = {"business_date": str(DAY), "inbox": "b001"}

ENDPOINTS = (
    Endpoint("whoami", Action.WHOAMI, B001, _get("/auth/whoami"), resource=_own),
    Endpoint("tokens create", Action.TOKEN_CREATE, B001,
             _post("/tokens", {"user_id": "b001-machine"}),
             resource=_of(organisation="B001"), allowed=frozenset({201})),
    Endpoint("tokens list", Action.TOKEN_LIST, B001, _get("/tokens"), resource=_own),
    Endpoint("tokens revoke", Action.TOKEN_REVOKE, B001, _revoke, form="private",
             resource=_of(organisation="B001"), prepare=lambda w: w.b001_token()),
    Endpoint("users list", Action.USER_LIST, B001, _get("/users"), form="lister",
             rows=_rows_of("organisation", "organisation"),
             target_row=Resource(organisation="BO:B001")),
    Endpoint("users add (back office)", Action.USER_ADD, B001,
             _post("/users", _new_user("BO:B001", Role.OPERATOR)),
             resource=_of(organisation="BO:B001"), allowed=frozenset({201})),
    Endpoint("users add (institution)", Action.USER_ADD, B001,
             _post("/users", _new_user("B001", Role.VIEWER)),
             resource=_of(organisation="B001"), allowed=frozenset({201})),
    Endpoint("users grant (back office)", Action.USER_GRANT, B001,
             _post("/users/bo-b001-operator/roles", {"role": "auditor"}),
             resource=_of(organisation="BO:B001")),
    Endpoint("users grant (institution)", Action.USER_GRANT, B001,
             _post("/users/b001-viewer/roles", {"role": "viewer"}),
             resource=_of(organisation="B001")),
    # A spare user's auditor role, given back before each call, is what each caller revokes.
    Endpoint("users revoke", Action.USER_REVOKE, B001, _revoke_role,
             resource=_of(organisation="BO:B001"),
             prepare=lambda w: person(w.app, "BO:B001", Role.AUDITOR, "bo-b001-spare")),
    # A grant's policy is asked in the maker's own organisation; whether the grantee is in
    # it is the grant's own rule (422), not the table's.
    Endpoint("emergency grant", Action.USER_EMERGENCY_GRANT, B001,
             _post("/users/bo-b001-operator/emergency-grants", GRANT),
             resource=_own, allowed=frozenset({201, 409, 422})),
    Endpoint("approvals list", Action.APPROVALS_LIST, B001, _get("/approvals"), form="lister",
             rows=_approval_rows, target_row=Resource(organisation="BO:B001")),
    Endpoint("approvals request", Action.APPROVALS_REQUEST, B001,
             _post("/approvals", lambda: {"kind": "override", "subject_ref": uuid.uuid4().hex}),
             resource=_own, allowed=frozenset({201})),
    Endpoint("approvals approve", Action.APPROVALS_APPROVE, B001,
             _post("/approvals/{}/approve"), resource=_of(organisation="BO:B001"),
             prepare=lambda w: str(w.pending_request())),
    Endpoint("approvals reject", Action.APPROVALS_REJECT, B001,
             _post("/approvals/{}/reject", {"reason": "not needed"}),
             resource=_of(organisation="BO:B001"), prepare=lambda w: str(w.pending_request())),
    Endpoint("registry show", Action.REGISTRY_SHOW, B001, _get("/registry")),
    Endpoint("registry load", Action.REGISTRY_LOAD, B001,
             _upload("/registry", lambda w: w.registry)),
    Endpoint("package submit", Action.MONITOR_SUBMIT, B001,
             _upload("/packages", lambda w: w.b001_package), resource=_of(institution="B001")),
    Endpoint("package supersede", Action.MONITOR_SUPERSEDE, K001,
             _upload("/packages", lambda w: w.forged_k001, reason=REASON),
             resource=_of(institution="K001", reason=REASON)),
    Endpoint("packages list", Action.PACKAGES_LIST, B001, _get("/packages"), form="lister",
             rows=_rows_of("institution_id", "institution"),
             target_row=Resource(institution="B001")),
    Endpoint("package show", Action.PACKAGES_LIST, B001, _get("/packages/{}"),
             form="private", resource=_of(institution="B001"),
             prepare=lambda w: str(w.b001_package_id)),
    Endpoint("run day", Action.RUN_DAY, B001, _post(f"/monitor/days/{DAY}/run")),
    Endpoint("day result", Action.WARNINGS_LIST, B001, _get(f"/monitor/days/{DAY}")),
    Endpoint("warnings", Action.WARNINGS_LIST, B002, _get("/warnings"), form="lister",
             rows=_warning_rows, target_row=B002_WARNING),
    Endpoint("batch import", Action.BROKER_IMPORT, B001,
             _upload("/backoffice/batches", lambda w: w.static_batch),
             resource=_of(institution="B001")),
    Endpoint("batches", Action.BROKER_BATCHES, B001, _get("/backoffice/B001/batches"),
             resource=_of(institution="B001")),
    Endpoint("books check", Action.BROKER_CHECK, B001,
             _get("/backoffice/B001/check", date=str(DAY)), resource=_of(institution="B001")),
    Endpoint("end of day", Action.BROKER_EOD, B001, _post("/backoffice/B001/eod", EOD),
             resource=_of(institution="B001")),
    Endpoint("cases list", Action.CASES_READ, B002, _get("/cases"), form="lister",
             rows=_case_rows, target_row=B002_CASE),
    Endpoint("case show", Action.CASES_READ, B002, _get("/cases/{}"), form="private",
             resource=lambda _org: B002_CASE, prepare=lambda w: case_id_of(w.app)),
    Endpoint("case attachment", Action.CASES_READ, B002, _get("/cases/{}"), form="private",
             resource=lambda _org: B002_CASE, prepare=lambda w: case_attachment_path(w.app)),
    Endpoint("case explain", Action.CASES_EXPLAIN, B002, _explain, form="private",
             resource=lambda _org: B002_CASE, allowed=DONE_OR_NOT_NOW,
             prepare=lambda w: case_id_of(w.app)),
    Endpoint("case decide", Action.CASES_DECIDE, B002,
             _post("/cases/{}/decision", {"decision": "accept", "reason": REASON}),
             resource=lambda _org: B002_CASE, allowed=DONE_OR_NOT_NOW,
             prepare=lambda w: case_id_of(w.app)),
    Endpoint("case approve", Action.CASES_APPROVE, B002,
             _post("/cases/{}/approval", {"reason": REASON}),
             resource=lambda _org: B002_CASE, allowed=DONE_OR_NOT_NOW,
             prepare=lambda w: case_id_of(w.app)),
    Endpoint("warnings review", Action.WARNINGS_LIST, B002, _get("/warnings/review"),
             form="lister", rows=_warning_rows, target_row=B002_WARNING),
    Endpoint("warning approve", Action.WARNINGS_APPROVE, B002, _post("/warnings/{}/approve"),
             resource=lambda _org: B002_WARNING, allowed=DONE_OR_NOT_NOW,
             prepare=lambda w: warning_id_of(w.app)),
    Endpoint("warning withdraw", Action.WARNINGS_WITHDRAW, B002,
             _post("/warnings/{}/withdraw", {"reason": REASON}),
             resource=_of(institution="B002", bureau="CITY-SZ", special_report=True,
                          reason=REASON),
             allowed=DONE_OR_NOT_NOW, prepare=lambda w: warning_id_of(w.app)),
    Endpoint("deliveries", Action.DELIVERIES_LIST, B002, _get("/deliveries")),
    Endpoint("inbox", Action.INBOX_READ, B002, _get("/inbox"), form="lister", rows=_inbox_rows,
             target_row=Resource(institution="CITY-SZ", bureau="CITY-SZ", released=True)),
    Endpoint("reminders", Action.REMINDERS_READ, B002, _get("/reminders"), form="lister",
             rows=_reminder_rows, target_row=B002_CASE),
    Endpoint("reminder done", Action.REMINDERS_DONE, B002,
             _post("/reminders/{}/done", {"note": REASON}), form="private",
             resource=lambda _org: B002_CASE, allowed=DONE_OR_NOT_NOW,
             prepare=lambda w: reminder_id_of(w.app)),
    Endpoint("filings file", Action.FILINGS_FILE, B001, _post("/filings", new_account_body),
             resource=_of(institution="B001"), allowed=frozenset({201})),
    Endpoint("filings close", Action.FILINGS_CLOSE, B001, _post("/filings/close", CLOSING),
             form="private", resource=_of(institution="B001"), allowed=frozenset({201})),
    Endpoint("filings list", Action.FILINGS_LIST, B001, _get("/filings"), form="lister",
             rows=_rows_of("institution_id", "institution"),
             target_row=Resource(institution="B001")),
    Endpoint("filing approve", Action.FILINGS_APPROVE, B001, _post("/filings/{}/approve"),
             resource=_of(institution="B001"), prepare=lambda w: pending_filing_id(w.app)),
    Endpoint("filing reject", Action.FILINGS_REJECT, B001,
             _post("/filings/{}/reject", {"reason": REASON}),
             resource=_of(institution="B001"), prepare=lambda w: pending_filing_id(w.app)),
    # The evidence (issue 18): asked of the policy before anything is read, in the caller's
    # own organisation; a refusal shows nothing and is audited.
    Endpoint("filings list (evidence)", Action.FILINGS_EVIDENCE, B001,
             _get("/filings", evidence="true"), resource=_own_books),
    Endpoint("approvals list (evidence)", Action.BOOKS_EVIDENCE, B001,
             _get("/approvals", evidence="true"), resource=_own_books),
    Endpoint("watch alerts (evidence)", Action.BOOKS_EVIDENCE, B001,
             _get("/watch/alerts", evidence="true"), resource=_own_books),
    Endpoint("watch alerts", Action.WATCH_READ, B001, _get("/watch/alerts"), form="lister",
             rows=_watch_rows, target_row=B001_BOOKS, prepare=lambda w: fresh_alert_key(w.app)),
    Endpoint("watch review", Action.WATCH_REVIEW, B001,
             _post("/watch/alerts/{}/review", {"decision": "confirm"}), form="private",
             resource=lambda _org: B001_BOOKS, prepare=lambda w: fresh_alert_key(w.app)),
    Endpoint("watch halt", Action.WATCH_HALT, B001, _post("/watch/alerts/{}/halt", HALT_BODY),
             form="private", resource=lambda _org: B001_BOOKS, allowed=frozenset({201, 409}),
             prepare=lambda w: confirmed_alert_key(w.app)),
)  # fmt: skip


def _callers(target: Target) -> Iterator[tuple[Role, str, str]]:
    """Every role in every kind that holds it, from the target's own side and the other."""
    for kind, roles in ROLES_BY_KIND.items():
        own, other = target.organisation(kind, "own"), target.organisation(kind, "other")
        for role in sorted(roles):
            yield role, own, "own"
            if other != own:
                yield role, other, "other"


CASES = [
    pytest.param(endpoint, role, organisation, id=f"{endpoint.name}|{role}|{side}:{organisation}")
    for endpoint in ENDPOINTS
    for role, organisation, side in _callers(endpoint.target)
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("matrix")
    inbox_root = root / "inboxes"
    batch = static_batch(inbox_root / "b001" / "static")
    app = new_app(root / "home", inbox_root=inbox_root)
    packages = load_world(app, root / "market")
    with app.read_uow() as uow:
        [b001] = [p for p in uow.packages.latest_accepted(DAY) if p.institution_id == "B001"]
    built = World(
        app=app,
        client=client_of(app),
        b001_package=tar_of(packages["B001"]),
        forged_k001=tar_of(forged_k001(root)),
        registry=tar_of(write_registry(root / "registry-again", INSTITUTIONS, FILINGS)),
        static_batch=tar_of(batch),
        b001_package_id=b001.package_id,
    )
    built.pending_request()  # a request of BO:B001 that its readers list
    # The users the requests name, registered before any row is counted.
    person(app, "B001", Role.SUBMITTER, "b001-machine")
    person(app, "B001", Role.VIEWER)
    pending_filing_id(app)  # a filing of B001 that its readers list
    prepare_cases_world(app)  # B002's case explained, its warning delivered, a reminder
    yield built
    app.dispose()


def _holds_any_rule(role: Role, action: Action) -> bool:
    return any(rule.action is action and rule.role is role for rule in POLICY)


@pytest.mark.parametrize(("endpoint", "role", "organisation"), CASES)
def test_every_endpoint_answers_every_role_as_the_policy_table_says(
    world: World, endpoint: Endpoint, role: Role, organisation: str
) -> None:
    app = world.app
    user = person(app, organisation, role, f"m-{user_id_of(organisation, role)}")
    actor = Actor(user, parse_organisation(organisation), frozenset({role}))
    headers = bearer(app, user)
    if endpoint.form == "lister":
        _check_listing(world, endpoint, actor, headers)
        return
    allowed = isinstance(decide(actor, endpoint.action, endpoint.resource(organisation)), Allowed)
    prepared = endpoint.prepare(world)
    before, head = row_counts(app), audit_head(app)
    answer = endpoint.send(world, headers, prepared)
    if allowed:
        assert answer.status_code in endpoint.allowed, answer.text
        return
    private = endpoint.form == "private" and _holds_any_rule(role, endpoint.action)
    assert answer.status_code == (404 if private else 403), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    _assert_denial_changed_nothing_and_was_audited(world, user, before, head)


def _check_listing(world: World, endpoint: Endpoint, actor: Actor, headers: dict[str, str]) -> None:
    assert endpoint.rows is not None and endpoint.target_row is not None
    app = world.app
    before, head = row_counts(app), audit_head(app)
    answer = endpoint.send(world, headers, endpoint.prepare(world))
    if not _holds_any_rule(next(iter(actor.roles)), endpoint.action):
        assert answer.status_code == 403, answer.text
        _assert_denial_changed_nothing_and_was_audited(world, actor.user_id, before, head)
        return
    assert answer.status_code == 200, answer.text
    shown = endpoint.rows(world, answer.json())
    assert all(isinstance(decide(actor, endpoint.action, row), Allowed) for row in shown)
    sees_target = isinstance(decide(actor, endpoint.action, endpoint.target_row), Allowed)
    assert (endpoint.target_row in shown) == sees_target, shown


def _assert_denial_changed_nothing_and_was_audited(
    world: World, user: str, before: dict[str, int], head: int
) -> None:
    assert row_counts(world.app) == before
    [denial] = audit_records(world.app, head)
    assert (denial.action, denial.actor) == ("access.denied", user)


# The route each endpoint of the matrix calls: together, every route the API has.
ROUTES = {
    "whoami": "GET /auth/whoami",
    "tokens create": "POST /tokens",
    "tokens list": "GET /tokens",
    "tokens revoke": "DELETE /tokens/{token_id}",
    "users list": "GET /users",
    "users add (back office)": "POST /users",
    "users add (institution)": "POST /users",
    "users grant (back office)": "POST /users/{user_id}/roles",
    "users grant (institution)": "POST /users/{user_id}/roles",
    "users revoke": "DELETE /users/{user_id}/roles/{role}",
    "emergency grant": "POST /users/{user_id}/emergency-grants",
    "approvals list": "GET /approvals",
    "approvals request": "POST /approvals",
    "approvals approve": "POST /approvals/{request_id}/approve",
    "approvals reject": "POST /approvals/{request_id}/reject",
    "registry show": "GET /registry",
    "registry load": "POST /registry",
    "package submit": "POST /packages",
    "package supersede": "POST /packages",
    "packages list": "GET /packages",
    "package show": "GET /packages/{package_id}",
    "run day": "POST /monitor/days/{business_date}/run",
    "day result": "GET /monitor/days/{business_date}",
    "warnings": "GET /warnings",
    "batch import": "POST /backoffice/batches",
    "batches": "GET /backoffice/{broker_id}/batches",
    "books check": "GET /backoffice/{broker_id}/check",
    "end of day": "POST /backoffice/{broker_id}/eod",
    "cases list": "GET /cases",
    "case show": "GET /cases/{case_id}",
    "case attachment": "GET /cases/{case_id}/attachments/{sha256}",
    "case explain": "POST /cases/{case_id}/explanation",
    "case decide": "POST /cases/{case_id}/decision",
    "case approve": "POST /cases/{case_id}/approval",
    "warnings review": "GET /warnings/review",
    "warning approve": "POST /warnings/{warning_id}/approve",
    "warning withdraw": "POST /warnings/{warning_id}/withdraw",
    "deliveries": "GET /deliveries",
    "inbox": "GET /inbox",
    "reminders": "GET /reminders",
    "reminder done": "POST /reminders/{reminder_id}/done",
    "filings file": "POST /filings",
    "filings close": "POST /filings/close",
    "filings list": "GET /filings",
    "filing approve": "POST /filings/{filing_id}/approve",
    "filing reject": "POST /filings/{filing_id}/reject",
    "filings list (evidence)": "GET /filings",
    "approvals list (evidence)": "GET /approvals",
    "watch alerts (evidence)": "GET /watch/alerts",
    "watch alerts": "GET /watch/alerts",
    "watch review": "POST /watch/alerts/{key}/review",
    "watch halt": "POST /watch/alerts/{key}/halt",
}
# Only sign-in goes without a bearer token (tested on its own), and the liveness probe.
UNGUARDED = {"POST /auth/login", "GET /health"}


def test_the_matrix_covers_every_route_of_the_api_and_every_role(world: World) -> None:
    assert set(ROUTES) == {endpoint.name for endpoint in ENDPOINTS}
    schema = world.client.get("/openapi.json").json()
    routes = {
        f"{method.upper()} {path.removeprefix(API)}"
        for path, operations in schema["paths"].items()
        for method in operations
    }
    assert routes - {route.removeprefix(API) for route in UNGUARDED} == set(ROUTES.values())
    assert {role for role, _, _ in _callers(B001)} == set(Role)
