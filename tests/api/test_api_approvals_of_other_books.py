"""The generic approvals queue cannot reach another broker's books: a back office raised
`watch-halt:B002:…` with its own maker, approved it with its own checker and halted B002's
client; the same for a flow halt's lift and for a correction batch's subject. The policy is
now asked for the organisation whose books the subject names, and a halt approved in the queue
needs the confirmed alert `watch alerts halt` asks for."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.approvals import ApprovalKind, ApprovalStatus
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.watch.flow_halts import LIFT_KIND, Flow
from clearwatch.domain.watch.reviews import HALT_KIND
from clearwatch.services.access.approvals import approved_content_for
from clearwatch.services.watch.flow_halts import flow_halts
from tests.api.support import API, TestClient, audit_head, audit_records, bearer, person

DAY = date(2026, 11, 20)


def _ask(client: TestClient, headers: dict[str, str], subject: str, **payload: str) -> Any:
    kind = LIFT_KIND if subject.startswith("watch-flow-lift:") else HALT_KIND
    body = {"kind": kind, "subject_ref": subject, "payload": payload}
    return client.post(f"{API}/approvals", json=body, headers=headers)


def _halts_of_b002(app: Application) -> list[object]:
    with app.read_uow() as uow:
        return list(uow.intraday.halts(business_date=DAY, broker_id="B002"))


def test_a_back_office_cannot_ask_about_another_broker_s_books(
    api_app: Application, client: TestClient
) -> None:
    operator = bearer(api_app, person(api_app, "BO:B001", Role.OPERATOR))
    for subject in (
        f"watch-halt:B002:F0000001:{DAY}",
        "watch-flow-halt:B002:F0000009:*",
        f"batch:B002:trading:{DAY}:T-1",
        "adjustment:B002:ADJ-X",
        "reversal:adjustment:B002:ADJ-X",
    ):
        head = audit_head(api_app)
        asked = _ask(client, operator, subject)
        assert asked.status_code == 403, (subject, asked.text)
        assert [r.action for r in audit_records(api_app, head)] == ["access.denied"]
    assert _halts_of_b002(api_app) == []


def test_a_halt_approved_in_the_queue_needs_a_confirmed_alert(
    api_app: Application, client: TestClient
) -> None:
    operator = bearer(api_app, person(api_app, "BO:B002", Role.OPERATOR))
    checker = bearer(api_app, person(api_app, "BO:B002", Role.CHECKER))
    asked = _ask(client, operator, f"watch-halt:B002:F0000001:{DAY}")
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["request_id"]
    approved = client.post(f"{API}/approvals/{request_id}/approve", headers=checker)
    assert approved.status_code in (409, 422), approved.text
    assert approved.json()["rule"] == "halt_needs_a_confirmed_alert"
    assert _halts_of_b002(api_app) == []


def test_another_broker_s_flow_halt_is_not_lifted_through_the_queue(
    api_app: Application, client: TestClient
) -> None:
    with api_app.uow() as uow:
        at = api_app.clock.now()
        halt_id, other_id = (
            uow.flow_halts.add(
                Flow("B002", account, "*"), approval_id=n, alert_key="", at=at, by="b002-checker"
            )
            for n, account in ((9001, "F0000009"), (9002, "F0000010"))
        )
        uow.commit()
    operator = bearer(api_app, person(api_app, "BO:B001", Role.OPERATOR))
    checker = bearer(api_app, person(api_app, "BO:B001", Role.CHECKER))
    asked = _ask(client, operator, f"watch-flow-lift:{halt_id}", reason="mine now")
    request_id = asked.json()["request_id"]
    refused = client.post(f"{API}/approvals/{request_id}/approve", headers=checker)
    assert refused.status_code == 403, refused.text
    assert halt_id in {h.halt_id for h in flow_halts(uow=api_app.uow())}  # still in force
    # A lift naming no halt, or no reason, is refused by name, not a server error.
    own = bearer(api_app, person(api_app, "BO:B002", Role.OPERATOR))
    own_checker = bearer(api_app, person(api_app, "BO:B002", Role.CHECKER))
    for subject in ("watch-flow-lift:abc", f"watch-flow-lift:{other_id}"):
        request_id = _ask(client, own, subject).json()["request_id"]
        answer = client.post(f"{API}/approvals/{request_id}/approve", headers=own_checker)
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.json()["rule"] in ("flow_halt_must_exist", "lift_must_have_reason")
    assert sorted(h.halt_id for h in flow_halts(uow=api_app.uow())) == [halt_id, other_id]


def test_an_approval_kept_from_before_made_in_another_office_counts_for_nothing(
    api_app: Application,
) -> None:
    """A store may keep a cross-organisation approval an older version let through: finding
    approvals by subject no longer lets it approve another broker's adjustment."""
    maker = person(api_app, "BO:B001", Role.OPERATOR)
    checker = person(api_app, "BO:B001", Role.CHECKER)
    content = {"fund_account": "F1", "amount": "-1.00", "reason": "manual"}
    subject = "adjustment:B002:ADJ-X"
    with api_app.uow() as uow:
        planted = uow.access.add_request(
            kind=ApprovalKind.MANUAL_ADJUSTMENT, subject_ref=subject, payload=content, maker=maker,
            requested_at=api_app.clock.now(),
        )  # fmt: skip
        uow.access.record_decision(
            replace(planted, status=ApprovalStatus.APPROVED, checker=checker,
                    decided_at=api_app.clock.now())
        )  # fmt: skip
        uow.commit()
    with api_app.uow() as uow, pytest.raises(Refused) as refused:
        approved_content_for(uow, kind="manual_adjustment", subject_ref=subject, content=content)
    assert refused.value.rule == "approval_must_exist"
