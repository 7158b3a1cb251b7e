"""Issue 18, the rest, over HTTP: an alert named by its number and its key masked; every
allowed `?evidence=true` read audited (who, organisation, the route), a refusal too."""

from __future__ import annotations

import json

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from tests.api.support import API, TestClient, audit_head, audit_records, bearer, person
from tests.api.test_api_watch import problem, raised

CLIENT = "F100001"  # masked `***001`
MASKED_KEY = "withdrawal_burst/B001/2026-11-20/account:***001"


def test_an_alert_is_listed_reviewed_and_halted_by_its_number_its_key_masked(
    api_app: Application, client: TestClient
) -> None:
    operator_id = person(api_app, "BO:B001", Role.OPERATOR)
    operator = bearer(api_app, operator_id)
    raised(api_app, "B002", "F200002")  # another broker's two, raised first: numbered apart
    raised(api_app, "B002", "F200003")
    key = raised(api_app, "B001", CLIENT)
    listed = client.get(f"{API}/watch/alerts", headers=operator)
    assert listed.status_code == 200, listed.text
    [shown] = listed.json()
    assert (shown["number"], shown["key"], shown["subject"]) == (1, MASKED_KEY, "account:***001")
    assert CLIENT not in listed.text
    reviewed = client.post(f"{API}/watch/alerts/1/review", json={"decision": "confirm"},
                           headers=operator)  # fmt: skip
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["alert"] == 1 and CLIENT not in reviewed.text
    again = client.post(f"{API}/watch/alerts/1/review", json={"decision": "confirm"},
                        headers=operator)  # fmt: skip
    problem(again, 409, "alert_must_be_reviewed_once")
    assert CLIENT not in again.text and "alert #1" in again.text
    # A number only another broker has (B002's second alert): no alert of the caller's.
    other = client.post(f"{API}/watch/alerts/2/review", json={"decision": "confirm"},
                        headers=operator)  # fmt: skip
    problem(other, 404, "alert_must_exist")
    problem(client.post(f"{API}/watch/alerts/99/review", json={"decision": "confirm"},
                        headers=operator), 404, "alert_must_exist")  # fmt: skip
    halt = {"kind": "flow", "account": CLIENT, "counterparty": "K001"}
    asked = client.post(f"{API}/watch/alerts/1/halt", json=halt, headers=operator)
    assert asked.status_code == 201 and asked.json()["state"] == "pending", asked.text
    [listed_after] = client.get(f"{API}/watch/alerts", headers=operator).json()
    assert listed_after["review"]["alert"] == 1 and listed_after["state"] == "confirmed"
    # The evidence, asked and allowed: the key whole, and the read audited once.
    head = audit_head(api_app)
    whole = client.get(f"{API}/watch/alerts", params={"evidence": "true"}, headers=operator)
    assert [(a["number"], a["key"]) for a in whole.json()] == [(1, key)]
    [read] = audit_records(api_app, head)
    assert (read.action, read.actor, read.object_ref) == (
        "access.evidence_read", operator_id, "evidence:organisation:BO:B001"
    )  # fmt: skip
    assert json.loads(read.payload_json) == {
        "action": "broker.evidence", "read": "GET /watch/alerts", "organisation": "BO:B001"
    }  # fmt: skip


def test_a_refused_evidence_read_shows_nothing_and_only_its_denial_is_audited(
    api_app: Application, client: TestClient
) -> None:
    auditor = bearer(api_app, person(api_app, "BO:B001", Role.AUDITOR))
    raised(api_app, "B001", CLIENT)
    [masked] = client.get(f"{API}/watch/alerts", headers=auditor).json()
    assert masked["key"] == MASKED_KEY
    head = audit_head(api_app)
    refused = client.get(f"{API}/watch/alerts", params={"evidence": "true"}, headers=auditor)
    problem(refused, 403, "policy_must_allow_action")
    assert CLIENT not in refused.text
    assert [(r.action, r.object_ref) for r in audit_records(api_app, head)] == [
        ("access.denied", "action:broker.evidence")
    ]


def test_the_registry_s_evidence_read_is_audited_with_the_whole_monitor_as_its_subject(
    api_app: Application, client: TestClient
) -> None:
    analyst_id = person(api_app, "SIPF", Role.ANALYST)
    analyst = bearer(api_app, analyst_id)
    head = audit_head(api_app)
    whole = client.get(f"{API}/registry", params={"evidence": "true"}, headers=analyst)
    assert whole.status_code == 200, whole.text
    [read] = audit_records(api_app, head)
    assert (read.action, read.actor, read.object_ref) == (
        "access.evidence_read", analyst_id, "evidence:monitor"
    )  # fmt: skip
    assert json.loads(read.payload_json)["read"] == "GET /registry"
    head = audit_head(api_app)
    plain = client.get(f"{API}/registry", headers=analyst)  # masked: no evidence read
    assert plain.status_code == 200 and audit_records(api_app, head) == []
