"""The risk desk's alerts over the API: list the broker's own, review, halt a client or a flow.

Through the real app on each database: the broker's own back office works; another broker's
is answered as if the alert did not exist, the denial audited and nothing changed; every error
is problem+json with its rule's name.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.watch.alerts import Alert, WatchLevel
from clearwatch.domain.watch.events import EventKind, WatchEvent
from tests.api.support import (
    API,
    TestClient,
    audit_head,
    audit_records,
    bearer,
    person,
    row_counts,
)

PROBLEM = "application/problem+json"
DAY = date(2026, 11, 20)


def raised(app: Application, broker: str, account: str, *, day: date = DAY) -> str:
    """An alert as `watch serve` records it in the home's alert log; its key."""
    at = datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=10)
    events = tuple(
        WatchEvent(f"{broker}/{day}/K-1/X{i}", EventKind.BANK_TRANSFER, day, broker, account,
                   -50_000_00, at + timedelta(minutes=i), "K001")
        for i in range(6)
    )  # fmt: skip
    alert = Alert(
        key=f"withdrawal_burst/{broker}/{day}/account:{account}",
        rule="withdrawal_burst",
        level=WatchLevel.GENERAL,
        business_date=day,
        broker_id=broker,
        subject=f"account:{account}",
        summary=f"6 withdrawals from {account} in 5 minutes",
        amount_fen=300_000_00,
        raised_at=events[-1].occurred_at,
        rules_sha256="0" * 64,
        evidence=events,
    )
    app.watch_wiring().alert_log().add(alert)
    return alert.key


def problem(answer: Any, status: int, rule: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["rule"] == rule


def url(key: str, action: str) -> str:
    return f"{API}/watch/alerts/{quote(key, safe='/:')}/{action}"


def test_the_desk_lists_reviews_and_halts_its_own_alerts(
    api_app: Application, client: TestClient
) -> None:
    operator = bearer(api_app, person(api_app, "BO:B001", Role.OPERATOR))
    checker_id = person(api_app, "BO:B001", Role.CHECKER)
    key = raised(api_app, "B001", "F100001")
    later = raised(api_app, "B001", "F100002", day=DAY + timedelta(days=3))
    raised(api_app, "B002", "F200002")
    listed = client.get(f"{API}/watch/alerts", headers=operator)
    assert listed.status_code == 200, listed.text
    # Listed by number (the alert log's lines: B002's is the third), the key masked.
    assert [(a["number"], a["state"], a["amount_fen"]) for a in listed.json()] == [
        (1, "open", 300_000_00),
        (2, "open", 300_000_00),
    ]
    assert key not in listed.text and later not in listed.text
    on_day = client.get(f"{API}/watch/alerts", params={"business_date": str(DAY)}, headers=operator)
    assert [a["number"] for a in on_day.json()] == [1]
    problem(client.post(url(key, "review"), json={"decision": "dismiss"}, headers=operator),
            422, "dismissal_must_have_reason")  # fmt: skip
    problem(client.post(url(key, "halt"), json={"kind": "client", "account": "F100001"},
                        headers=operator), 422, "halt_needs_a_confirmed_alert")  # fmt: skip
    confirmed = client.post(url(key, "review"), json={"decision": "confirm"}, headers=operator)
    assert confirmed.status_code == 200 and confirmed.json()["decision"] == "confirmed"
    problem(client.post(url(key, "review"), json={"decision": "confirm"}, headers=operator),
            409, "alert_must_be_reviewed_once")  # fmt: skip
    states = client.get(f"{API}/watch/alerts", params={"state": "confirmed"}, headers=operator)
    assert [a["number"] for a in states.json()] == [1]
    flow = {"kind": "flow", "account": "F100001", "counterparty": "K001"}
    asked = client.post(url(key, "halt"), json=flow, headers=operator)
    assert asked.status_code == 201, asked.text
    assert asked.json()["state"] == "pending" and asked.json()["flow_halt_id"] is None
    request_id = asked.json()["request_id"]
    approved = client.post(f"{API}/approvals/{request_id}/approve",
                           headers=bearer(api_app, checker_id))  # fmt: skip
    assert approved.status_code == 200, approved.text
    again = client.post(url(key, "halt"), json=flow, headers=operator)
    assert again.json()["state"] == "halted" and again.json()["request_id"] == request_id
    with api_app.read_uow() as uow:
        [halt] = uow.flow_halts.halts(broker_id="B001", in_force=True)
    assert (halt.flow.account, halt.flow.counterparty, halt.halt_id) == (
        "F100001", "K001", again.json()["flow_halt_id"]
    )  # fmt: skip
    problem(client.post(url(key, "halt"), json={**flow, "account": "F9"}, headers=operator),
            422, "halt_flow_must_be_named_by_the_alert")  # fmt: skip
    client_halt = {"kind": "client", "account": "F100001", "business_date": str(DAY)}
    pending = client.post(url(key, "halt"), json=client_halt, headers=operator)
    assert pending.status_code == 201 and pending.json()["state"] == "pending", pending.text


def test_another_broker_s_alert_is_unknown_to_it_and_the_denial_audited(
    api_app: Application, client: TestClient
) -> None:
    outsider_id = person(api_app, "BO:B002", Role.OPERATOR)
    outsider = bearer(api_app, outsider_id)
    key = raised(api_app, "B001", "F100001")
    assert client.get(f"{API}/watch/alerts", headers=outsider).json() == []
    before, head = row_counts(api_app), audit_head(api_app)
    answer = client.post(url(key, "review"), json={"decision": "confirm"}, headers=outsider)
    problem(answer, 404, "alert_must_exist")
    assert row_counts(api_app) == before
    [denial] = audit_records(api_app, head)
    assert (denial.action, denial.actor) == ("access.denied", outsider_id)
    problem(client.post(url("withdrawal_burst/B001/none", "review"), json={"decision": "confirm"},
                        headers=outsider), 404, "alert_must_exist")  # fmt: skip
    # A role the table never lets review is refused before anything is looked up: 403.
    viewer = bearer(api_app, person(api_app, "BO:B001", Role.AUDITOR))
    problem(client.post(url(key, "review"), json={"decision": "confirm"}, headers=viewer),
            403, "policy_must_allow_action")  # fmt: skip
    problem(client.get(f"{API}/watch/alerts", headers={}), 401, "caller_must_be_authenticated")
    bad = client.post(url(key, "halt"), json={"kind": "flow", "account": "a b"}, headers=outsider)
    problem(bad, 422, "request_must_match_schema")


def test_alerts_are_listed_masked_unless_the_operator_asks_for_the_evidence(
    api_app: Application, client: TestClient
) -> None:
    operator = bearer(api_app, person(api_app, "BO:B001", Role.OPERATOR))
    auditor_id = person(api_app, "BO:B001", Role.AUDITOR)
    key = raised(api_app, "B001", "F100001")
    [masked] = client.get(f"{API}/watch/alerts", headers=operator).json()
    assert (masked["key"], masked["subject"], masked["summary"]) == (
        "withdrawal_burst/B001/2026-11-20/account:***001", "account:***001",
        "6 withdrawals from ***001 in 5 minutes"
    )  # fmt: skip
    assert {(e["account"], e["counterparty"]) for e in masked["evidence"]} == {("***001", "K001")}
    [whole] = client.get(f"{API}/watch/alerts?evidence=true", headers=operator).json()
    assert (whole["subject"], whole["key"]) == ("account:F100001", key)
    assert {e["account"] for e in whole["evidence"]} == {"F100001"}
    # The auditor reads the alerts, masked; asking for the evidence is refused and audited.
    auditor = bearer(api_app, auditor_id)
    assert "F100001" not in client.get(f"{API}/watch/alerts", headers=auditor).text.replace(key, "")
    head = audit_head(api_app)
    refused = client.get(f"{API}/watch/alerts?evidence=true", headers=auditor)
    problem(refused, 403, "policy_must_allow_action")
    assert "F100001" not in refused.text
    [denial] = audit_records(api_app, head)
    assert (denial.action, denial.actor, denial.object_ref) == (
        "access.denied", auditor_id, "action:broker.evidence"
    )  # fmt: skip
    # A halt's answer names the client masked: it is printed, not the evidence.
    client.post(url(key, "review"), json={"decision": "confirm"}, headers=operator)
    halt = {"kind": "client", "account": "F100001", "business_date": str(DAY)}
    asked = client.post(url(key, "halt"), json=halt, headers=operator)
    assert asked.status_code == 201, asked.text
    assert asked.json()["subject"] == f"watch-halt:B001:***001:{DAY}"
