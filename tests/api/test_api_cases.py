"""Cases, warning approval, deliveries, inboxes and reminders through the real API.

One market day (B001 with a gap and a misappropriation: F3, F4, F6 to CN-SH; B002 with an
overdrawn client: F2 to CITY-SZ) is run once; each test drives its own cases or warnings as the
institution's officer, SIPF's analysts and reviewers, the bureaus and CSRC would, and checks
that a caller out of scope is refused by the rule's name and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.shared.masking import MASK
from clearwatch.services.monitor.delivery import deliver_due
from tests.api.support import (
    API,
    DAY,
    TestClient,
    audit_head,
    audit_records,
    bearer,
    client_of,
    new_app,
    person,
    row_counts,
)
from tests.scenarios.test_cases_review import (
    REVIEW_TIME,
    gap_world,
    new_monitor,
    overdraft_world,
)


@dataclass
class Day:
    app: Application
    client: TestClient

    def headers(self, organisation: str, role: Role, user_id: str | None = None) -> dict[str, str]:
        return bearer(self.app, person(self.app, organisation, role, user_id))

    def get(self, path: str, organisation: str, role: Role, **params: Any) -> Any:
        return self.client.get(f"{API}{path}", headers=self.headers(organisation, role),
                               params=params)  # fmt: skip

    def post(self, path: str, organisation: str, role: Role, body: Any = None) -> Any:
        return self.client.post(f"{API}{path}", headers=self.headers(organisation, role),
                                json=body)  # fmt: skip

    def case_of(self, institution: str, code: str) -> int:
        cases = self.get("/cases", "SIPF", Role.ANALYST).json()
        return next(
            c["case_id"]
            for c in cases
            if c["institution_id"] == institution and c["finding_code"] == code
        )


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    root = tmp_path_factory.mktemp("cases-api")
    app = new_app(root / "home")
    assert isinstance(app.clock, FixedClock)
    monitor = new_monitor(app, app.clock, root)
    world = gap_world()
    world["B002"] = overdraft_world()["B002"]
    monitor.submit_world(world)
    monitor.run(REVIEW_TIME)
    app.clock.at = REVIEW_TIME
    yield Day(app, client_of(app))
    app.dispose()


def _refused(answer: Any, status: int, rule: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["rule"] == rule


def _explain(day: Day, case: int, institution: str, **files: bytes) -> Any:
    return day.client.post(
        f"{API}/cases/{case}/explanation",
        headers=day.headers(institution, Role.OFFICER),
        data={"category": "data_error", "text": "录入错误，已更正", "responsible_party": "清算部"},
        files=[("attachments", (name, data, "text/plain")) for name, data in files.items()],
    )


def test_cases_are_listed_in_scope_and_explained_with_attachments_by_their_own_officer(
    day: Day,
) -> None:
    listed = day.get("/cases", "SIPF", Role.ANALYST).json()
    assert sorted((c["institution_id"], c["finding_code"]) for c in listed) == [
        ("B001", "F3"), ("B001", "F4"), ("B001", "F6"), ("B002", "F2"),
    ]  # fmt: skip
    assert {c["institution_id"] for c in day.get("/cases", "B002", Role.VIEWER).json()} == {"B002"}
    # A bureau reads the cases behind the warnings routed to it once approved: none yet.
    assert day.get("/cases", "CN-SH", Role.BUREAU_HEAD).json() == []
    _refused(day.get("/cases", "BO:B001", Role.OPERATOR), 403, "policy_must_allow_action")
    case = day.case_of("B002", "F2")

    day.headers("B001", Role.OFFICER)  # registered before the rows are counted
    before, head = row_counts(day.app), audit_head(day.app)
    _refused(_explain(day, case, "B001"), 404, "case_must_exist")  # another's: not found
    assert row_counts(day.app) == before
    [denial] = audit_records(day.app, head)
    assert denial.action == "access.denied"

    explained = _explain(day, case, "B002", **{"statement.txt": b"bank statement"})
    assert explained.status_code == 200, explained.text
    assert explained.json()["case"]["status"] == "explained"
    shown = day.get(f"/cases/{case}", "B002", Role.VIEWER).json()
    assert [e["move"] for e in shown["timeline"]] == ["open", "explain"]
    [attached] = shown["timeline"][-1]["explanation"]["attachments"]
    assert (attached["name"], attached["size_bytes"]) == ("statement.txt", 14)
    download = day.client.get(
        f"{API}/cases/{case}/attachments/{attached['sha256']}",
        headers=day.headers("CITY-SZ", Role.BUREAU_ANALYST),
    )
    _refused(download, 404, "case_must_exist")  # B002's warning is not approved yet
    _refused(day.get(f"/cases/{case}", "B001", Role.OFFICER), 404, "case_must_exist")
    _refused(day.get(f"/cases/{case}", "CN-SH", Role.BUREAU_HEAD), 404, "case_must_exist")
    _refused(day.get("/cases/999999", "SIPF", Role.ANALYST), 404, "case_must_exist")
    # Another institution's case and no case at all are answered alike, word for word.
    theirs = day.get(f"/cases/{case}", "B001", Role.OFFICER).json()
    none = day.get("/cases/999999", "B001", Role.OFFICER).json()
    assert {k: v for k, v in theirs.items() if k != "instance"} == {
        k: v for k, v in none.items() if k != "instance"
    }


def test_an_explanation_breaking_a_limit_is_refused_by_the_rule_it_broke(day: Day) -> None:
    case = day.case_of("B001", "F3")
    too_many = {f"f{n}.txt": b"x" for n in range(11)}
    _refused(_explain(day, case, "B001", **too_many), 422, "attachments_must_not_be_too_many")
    bad = day.client.post(
        f"{API}/cases/{case}/explanation",
        headers=day.headers("B001", Role.OFFICER),
        data={"category": "guesswork", "text": "x", "responsible_party": "y"},
    )
    _refused(bad, 422, "request_must_match_schema")
    shown = day.get(f"/cases/{case}", "B001", Role.OFFICER).json()
    assert [e["move"] for e in shown["timeline"]] == ["open"]


def test_an_analyst_decides_an_explained_case_once_and_an_officer_may_not(day: Day) -> None:
    case = day.case_of("B001", "F4")
    assert _explain(day, case, "B001").status_code == 200
    accept = {"decision": "accept", "reason": "与银行流水一致"}
    _refused(day.post(f"/cases/{case}/decision", "B001", Role.OFFICER, accept), 403,
             "policy_must_allow_action")  # fmt: skip
    decided = day.post(f"/cases/{case}/decision", "SIPF", Role.ANALYST, accept)
    assert decided.status_code == 200, decided.text
    assert decided.json()["case"]["status"] == "closed_accepted"
    again = day.post(f"/cases/{case}/decision", "SIPF", Role.ANALYST, accept)
    _refused(again, 409, "case_move_must_be_allowed_from_its_status")
    escalate_without = {"decision": "escalate", "reason": "另有重大异常"}
    _refused(day.post(f"/cases/{case}/decision", "SIPF", Role.ANALYST, escalate_without), 422,
             "escalation_must_name_m4_g7_or_a7")  # fmt: skip


def test_an_escalation_counts_once_a_second_reviewer_approves_it(day: Day) -> None:
    case = day.case_of("B001", "F6")
    assert _explain(day, case, "B001").status_code == 200
    escalate = {"decision": "escalate", "reason": "另有重大异常", "criterion": "M4"}
    escalated = day.post(f"/cases/{case}/decision", "SIPF", Role.REVIEWER, escalate)
    assert escalated.json()["case"]["status"] == "escalated", escalated.text
    approval = {"reason": "复核同意"}
    _refused(day.post(f"/cases/{case}/approval", "SIPF", Role.ANALYST, approval), 403,
             "policy_must_allow_action")  # fmt: skip
    _refused(day.post(f"/cases/{case}/approval", "SIPF", Role.REVIEWER, approval), 422,
             "second_reviewer_must_not_be_who_escalated")  # fmt: skip
    second = day.client.post(
        f"{API}/cases/{case}/approval",
        headers=day.headers("SIPF", Role.REVIEWER, "sipf-reviewer-2"),
        json=approval,
    )
    assert second.status_code == 200, second.text
    body = second.json()
    assert (body["case"]["status"], body["criterion"]) == ("closed_escalated", "M4")
    assert body["result_version"] == 2


def test_a_reviewer_approves_warnings_and_the_worker_delivers_to_each_inbox(day: Day) -> None:
    proposed = day.get("/warnings/review", "SIPF", Role.REVIEWER, status="proposed").json()
    assert sorted(w["institution_id"] for w in proposed) == ["B001", "B002"]
    assert day.get("/warnings/review", "CN-SH", Role.BUREAU_HEAD).json() == []  # proposed
    b002 = next(w["warning_id"] for w in proposed if w["institution_id"] == "B002")
    b001 = next(w["warning_id"] for w in proposed if w["institution_id"] == "B001")
    _refused(day.post(f"/warnings/{b002}/approve", "SIPF", Role.ANALYST), 403,
             "policy_must_allow_action")  # fmt: skip
    approved = day.post(f"/warnings/{b002}/approve", "SIPF", Role.REVIEWER)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["deliveries"] > 0
    _refused(day.post(f"/warnings/{b002}/approve", "SIPF", Role.REVIEWER), 409,
             "warning_must_be_proposed")  # fmt: skip
    _refused(day.post(f"/warnings/{b001}/withdraw", "SIPF", Role.REVIEWER, {"reason": ""}), 422,
             "request_must_match_schema")  # fmt: skip
    withdrawn = day.post(f"/warnings/{b001}/withdraw", "SIPF", Role.REVIEWER, {"reason": "重复"})
    assert withdrawn.json()["status"] == "withdrawn", withdrawn.text
    _refused(day.post("/warnings/999999/approve", "SIPF", Role.REVIEWER), 404,
             "warning_must_exist")  # fmt: skip

    pending = day.get("/deliveries", "SIPF", Role.ANALYST).json()
    assert {d["state"] for d in pending} == {"pending"}
    deliver_due(context=day.app.delivery_context(), worker="test-worker")
    delivered = day.get("/deliveries", "SIPF", Role.REGISTRY_OFFICER).json()
    assert {d["state"] for d in delivered} == {"delivered"}
    assert day.get("/deliveries", "SIPF", Role.ANALYST, parked="true").json() == []
    _refused(day.get("/deliveries", "B002", Role.OFFICER), 403, "policy_must_allow_action")

    city = day.get("/inbox", "CITY-SZ", Role.BUREAU_HEAD).json()
    assert [(m["recipient"], m["institution_id"]) for m in city] == [("CITY-SZ", "B002")]
    # The notice's findings name the overdrawn client masked: a bureau reads no evidence.
    refs = [i["ref"] for f in city[0]["body"]["findings"] for i in f["evidence"]["largest"]]
    assert refs and all(ref.startswith(MASK) for ref in refs), refs
    assert [m["notice"] for m in day.get("/inbox", "B002", Role.VIEWER).json()] == ["copy"]
    assert day.get("/inbox", "CSRC", Role.CSRC_VIEWER).json() == []  # a general warning
    assert day.get("/inbox", "CN-SH", Role.BUREAU_HEAD).json() == []  # B001's was withdrawn
    # The approved warning and the case behind it reach CITY-SZ; the withdrawn one never CN-SH.
    [routed] = day.get("/warnings/review", "CITY-SZ", Role.BUREAU_HEAD).json()
    assert (routed["institution_id"], routed["status"]) == ("B002", "approved")
    assert day.get("/warnings/review", "CN-SH", Role.BUREAU_HEAD).json() == []
    cases = day.get("/cases", "CITY-SZ", Role.BUREAU_ANALYST).json()
    assert [(c["institution_id"], c["finding_code"]) for c in cases] == [("B002", "F2")]
    assert day.get("/cases", "CN-SH", Role.BUREAU_HEAD).json() == []
    _refused(day.get("/inbox", "SIPF", Role.ANALYST), 403, "policy_must_allow_action")


def test_a_verbal_reminder_is_its_bureaus_task_marked_done_once(day: Day) -> None:
    with day.app.uow() as uow:
        assert uow.reporting.record_occurrence(
            institution_id="B002", category=ReportingCategory.BATCH_ERROR, business_date=DAY,
            package_kind="broker_daily", occurred_at=REVIEW_TIME, detail="rejected (test)",
        )  # fmt: skip
        uow.commit()
    [task] = day.get("/reminders", "CITY-SZ", Role.BUREAU_ANALYST).json()
    assert (task["institution_id"], task["bureau"], task["done"]) == ("B002", "CITY-SZ", False)
    assert task["due_at"].startswith("2026-11-25T17:00:00")  # Mon 23rd + 2 business days
    assert day.get("/reminders", "CN-SH", Role.BUREAU_HEAD).json() == []
    assert len(day.get("/reminders", "B002", Role.VIEWER).json()) == 1
    assert day.get("/reminders", "B001", Role.OFFICER).json() == []
    assert len(day.get("/reminders", "SIPF", Role.ANALYST, open="true").json()) == 1
    path, note = f"/reminders/{task['reminder_id']}/done", {"note": "已电话提醒张经理"}
    _refused(day.post(path, "B002", Role.OFFICER, note), 403, "policy_must_allow_action")
    _refused(day.post(path, "SIPF", Role.ANALYST, note), 403, "policy_must_allow_action")
    _refused(day.post(path, "CN-SH", Role.BUREAU_ANALYST, note), 404, "reminder_must_exist")
    done = day.post(path, "CITY-SZ", Role.BUREAU_ANALYST, note)
    assert done.status_code == 200, done.text
    assert (done.json()["done_by"], done.json()["note"]) == (
        "city-sz-bureau_analyst",
        "已电话提醒张经理",
    )
    _refused(day.post(path, "CITY-SZ", Role.BUREAU_HEAD, note), 409,
             "reminder_must_not_be_done_already")  # fmt: skip
    assert day.get("/reminders", "SIPF", Role.ANALYST, open="true").json() == []
    [record] = [r for r in audit_records(day.app) if r.action == "monitor.reminder.done"]
    assert record.actor == "city-sz-bureau_analyst"
