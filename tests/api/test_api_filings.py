"""Special-account filings over the API: file, close, list, approve, reject, with problems.

The HTTP routes call the use cases `clearwatch monitor filings` calls; here: the statuses and
bodies, problem+json with each rule's name, and that a denial changes nothing and is audited.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from tests.api.support import (
    API,
    TestClient,
    audit_head,
    audit_records,
    bearer,
    person,
    row_counts,
)
from tests.integration.monitor.conftest import load
from tests.scenarios.test_monitor_day import FILINGS, INSTITUTIONS
from tests.support.packages import write_registry

PROBLEM = "application/problem+json"
U9 = {
    "account_no": "U-9",
    "bank_id": "K001",
    "broker_id": "B001",
    "purpose": "client_settlement",
    "branch_region": "CN-SH",
    "filed_on": "2026-11-02",
}


@pytest.fixture
def registry(api_app: Application, tmp_path: Path) -> Application:
    assert load(api_app, write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS)).loaded
    return api_app


def headers_of(app: Application, organisation: str, role: Role) -> dict[str, str]:
    return bearer(app, person(app, organisation, role))


def problem(answer: Any, status: int, rule: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["rule"] == rule


def test_a_filing_made_and_approved_is_the_next_registry_version(
    registry: Application, client: TestClient
) -> None:
    b001 = headers_of(registry, "B001", Role.OFFICER)
    answer = client.post(f"{API}/filings", json=U9, headers=b001)
    assert answer.status_code == 201, answer.text
    filed = answer.json()
    assert (filed["status"], filed["kind"], filed["institution_id"]) == ("pending", "open", "B001")
    assert filed["filed_by"] == "b001-officer" and filed["registry_version"] is None
    ro = headers_of(registry, "SIPF", Role.REGISTRY_OFFICER)
    answer = client.post(f"{API}/filings/{filed['filing_id']}/approve", headers=ro)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["registry_version"]) == ("approved", 2)
    shown = client.get(f"{API}/registry", headers=ro).json()
    assert shown["version"] == 2
    assert "***9" in [a["account_no"] for a in shown["special_accounts"]]  # masked (issue 18)
    again = client.post(f"{API}/filings/{filed['filing_id']}/approve", headers=ro)
    problem(again, 409, "filing_must_be_pending")
    problem(
        client.post(f"{API}/filings", json=U9, headers=b001), 409, "account_must_not_be_filed_twice"
    )
    problem(client.post(f"{API}/filings/77/approve", headers=ro), 404, "filing_must_exist")


def test_a_closing_rejected_keeps_the_registry(registry: Application, client: TestClient) -> None:
    b001 = headers_of(registry, "B001", Role.OFFICER)
    body = {"account_no": "SA-002", "reason": "moved to another bank"}
    answer = client.post(f"{API}/filings/close", json=body, headers=b001)
    assert answer.status_code == 201, answer.text
    closing = answer.json()
    assert (closing["kind"], closing["purpose"], closing["reason"]) == (
        "close", "credit_guarantee", "moved to another bank",
    )  # fmt: skip
    ro = headers_of(registry, "SIPF", Role.REGISTRY_OFFICER)
    url = f"{API}/filings/{closing['filing_id']}/reject"
    problem(client.post(url, json={"reason": ""}, headers=ro), 422, "request_must_match_schema")
    answer = client.post(url, json={"reason": "the account still holds money"}, headers=ro)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "rejected"
    assert client.get(f"{API}/registry", headers=ro).json()["version"] == 1
    unfiled = {"account_no": "U-9", "reason": "x"}
    problem(
        client.post(f"{API}/filings/close", json=unfiled, headers=b001),
        404,
        "closing_needs_a_filed_account",
    )


@pytest.mark.parametrize(
    ("changed", "rule"),
    [
        ({"purpose": "savings"}, "purpose_must_be_known"),
        ({"branch_region": "SHANGHAI"}, "region_must_be_known"),
        ({"bank_id": "K404"}, "bank_must_be_registered"),
        ({"filed_on": "2026-13-01"}, "request_must_match_schema"),
    ],
)
def test_a_bad_filing_is_a_problem_naming_its_rule(
    registry: Application, client: TestClient, changed: dict[str, str], rule: str
) -> None:
    b001 = headers_of(registry, "B001", Role.OFFICER)
    before = row_counts(registry)
    problem(client.post(f"{API}/filings", json=U9 | changed, headers=b001), 422, rule)
    assert row_counts(registry) == before


def test_another_brokers_officer_is_denied_audited_and_nothing_changes(
    registry: Application, client: TestClient
) -> None:
    b002 = headers_of(registry, "B002", Role.OFFICER)
    before, head = row_counts(registry), audit_head(registry)
    problem(
        client.post(f"{API}/filings", json=U9, headers=b002),
        403,
        "filing_must_be_for_own_institution",
    )
    assert row_counts(registry) == before
    [denial] = audit_records(registry, head)
    assert (denial.action, denial.actor) == ("access.denied", "b002-officer")


def test_listings_show_each_caller_its_scope(registry: Application, client: TestClient) -> None:
    b001 = headers_of(registry, "B001", Role.OFFICER)
    assert client.post(f"{API}/filings", json=U9, headers=b001).status_code == 201
    listed = client.get(f"{API}/filings", headers=b001).json()
    assert [f["account_no"] for f in listed] == ["***9"]
    b002 = headers_of(registry, "B002", Role.VIEWER)
    assert client.get(f"{API}/filings", headers=b002).json() == []
    analyst = headers_of(registry, "SIPF", Role.ANALYST)
    pending = client.get(f"{API}/filings", params={"status": "pending"}, headers=analyst).json()
    assert [f["account_no"] for f in pending] == ["***9"]
    assert client.get(f"{API}/filings", params={"status": "approved"}, headers=analyst).json() == []
    bureau = headers_of(registry, "CN-SH", Role.BUREAU_HEAD)
    problem(client.get(f"{API}/filings", headers=bureau), 403, "policy_must_allow_action")


def _evidence_denials(app: Application, after_seq: int) -> list[Any]:
    return [
        record
        for record in audit_records(app, after_seq)
        if record.action == "access.denied"
        and record.object_ref in ("action:monitor.evidence", "action:monitor.filings.evidence")
    ]


def test_the_registry_and_the_filings_mask_accounts_unless_a_permitted_caller_asks(
    registry: Application, client: TestClient
) -> None:
    """Issue 18: `GET /registry` and `GET /filings` mask the accounts' numbers as `registry
    show` does; `?evidence=true` shows them to whom the policy allows (`monitor.evidence` for
    the registry: SIPF's analyst; `monitor.filings.evidence` for the filings: also the registry
    officer who approves them, and an institution's officer for its own), and a refusal shows
    nothing and is audited."""
    accounts = [filing[0] for filing in FILINGS]
    b001 = headers_of(registry, "B001", Role.OFFICER)
    filed = client.post(f"{API}/filings", json=U9, headers=b001)
    assert filed.status_code == 201 and filed.json()["account_no"] == "***9"
    analyst = headers_of(registry, "SIPF", Role.ANALYST)
    ro = headers_of(registry, "SIPF", Role.REGISTRY_OFFICER)

    masked = client.get(f"{API}/registry", headers=analyst)
    assert masked.status_code == 200, masked.text
    assert [a["account_no"] for a in masked.json()["special_accounts"]] == [
        "***001", "***002", "***003",
    ]  # fmt: skip
    assert not any(account in masked.text for account in accounts)
    whole = client.get(f"{API}/registry?evidence=true", headers=analyst).json()
    assert [a["account_no"] for a in whole["special_accounts"]] == accounts

    listed = client.get(f"{API}/filings", headers=analyst)
    assert [f["account_no"] for f in listed.json()] == ["***9"] and "U-9" not in listed.text
    asked = {"evidence": "true"}
    assert [f["account_no"] for f in client.get(
        f"{API}/filings", params=asked, headers=analyst).json()] == ["U-9"]  # fmt: skip
    own = client.get(f"{API}/filings", params=asked | {"institution_id": "B001"}, headers=b001)
    assert [f["account_no"] for f in own.json()] == ["U-9"]
    assert [f["account_no"] for f in client.get(
        f"{API}/filings", params=asked, headers=b001).json()] == ["U-9"]  # fmt: skip
    # The registry officer approves the number into the registry: they see the number approved.
    pending = client.get(f"{API}/filings", params=asked | {"status": "pending"}, headers=ro)
    assert [f["account_no"] for f in pending.json()] == ["U-9"]

    head = audit_head(registry)
    for url, params, caller in [
        ("/registry", asked, ro),  # the registry officer reads the registry, not the evidence
        ("/filings", asked | {"institution_id": "B002"}, b001),  # another institution's
    ]:
        refused = client.get(f"{API}{url}", params=params, headers=caller)
        problem(refused, 403, "policy_must_allow_action")
        assert "U-9" not in refused.text and not any(a in refused.text for a in accounts)
    denied = _evidence_denials(registry, head)
    assert [(r.actor, r.object_ref, json.loads(r.payload_json)["institution"]) for r in denied] == [
        ("sipf-registry_officer", "action:monitor.evidence", None),
        ("b001-officer", "action:monitor.filings.evidence", "B002"),
    ]
