"""Special-account filings (账户报备) over HTTP: institutions file and close, SIPF decides.

The routes call the very use cases `clearwatch monitor filings` calls. A filing for another
institution's account is a policy denial (403, audited, nothing changed); a filing that does
not exist is a 404, one already decided or an account filed twice a 409, other bad input 422.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from clearwatch.bootstrap import Application
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.filings import (
    Filing,
    FilingKind,
    FilingRule,
    FilingStatus,
    account_no_chars_max,
)
from clearwatch.domain.monitor.registry import SpecialAccountFiling
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.masking import mask
from clearwatch.entrypoints.api.problems import ProblemError, problems
from clearwatch.entrypoints.api.security import CallerGate, Wired
from clearwatch.entrypoints.api.values import Limit, Offset, Reason, listing_rows_max
from clearwatch.services.access.authorize import Gate, PolicyDenied
from clearwatch.services.monitor.filings import (
    approve_filing,
    close_account,
    file_account,
    list_filings,
    reject_filing,
)
from clearwatch.services.monitor.filings_ports import FilingsContext

router = APIRouter(tags=["filings"])
FilingId = Annotated[int, Path(ge=1, le=2**31 - 1)]
InstitutionCode = Annotated[str, Field(min_length=1, max_length=32)]
AccountNo = Annotated[str, Field(min_length=1, max_length=account_no_chars_max)]
STATUS_OF_RULE = {
    FilingRule.FILING_MUST_EXIST.value: 404,
    # No filed account of the caller's by that number: another institution's is answered so
    # too (a closing must not tell who owns an account number).
    FilingRule.CLOSING_NEEDS_A_FILED_ACCOUNT.value: 404,
    FilingRule.FILING_MUST_BE_PENDING.value: 409,
    FilingRule.ACCOUNT_MUST_NOT_BE_FILED_TWICE.value: 409,
}
T = TypeVar("T")
# Accounts' numbers are masked unless the caller asks for the evidence itself and the policy
# allows it, as `GET /registry` and the day's results do. The policy's own action for filings
# (`monitor.filings.evidence`) adds the registry officer, who approves the numbers.
Evidence = Annotated[
    bool, Query(description="Unmasked accounts (policy: monitor.filings.evidence).")
]


class FilingIn(BaseModel):
    """A new special account, as `special_accounts.csv` has it."""

    account_no: AccountNo
    bank_id: InstitutionCode
    broker_id: InstitutionCode
    purpose: str = Field(
        max_length=32, description="client_settlement, credit_guarantee or option_margin."
    )
    branch_region: str = Field(max_length=16, description="The branch's bureau code (CN-SH…).")
    filed_on: date


class ClosingIn(BaseModel):
    account_no: AccountNo
    reason: Reason


class RejectionIn(BaseModel):
    reason: Reason


class FilingOut(BaseModel):
    filing_id: int
    kind: FilingKind
    status: FilingStatus
    account_no: str = Field(description="Masked (`***` and the last characters) unless evidence.")
    bank_id: str
    broker_id: str
    purpose: str
    branch_region: str
    filed_on: date
    institution_id: str = Field(description="The filer's institution.")
    reason: str = Field(description="Why an account closes; empty for a new one.")
    filed_by: str
    filed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    registry_version: int | None = Field(description="The registry version an approval made.")


def _context(wired: Application) -> FilingsContext:
    return FilingsContext(
        clock=wired.real_clock, uow_factory=wired.uow, read_uow_factory=wired.read_uow
    )


def _answered(call: Callable[[], T]) -> T:
    """The use case's result; its named refusals with the status their rule calls for."""
    try:
        return call()
    except PolicyDenied:
        raise
    except Refused as refusal:
        status = STATUS_OF_RULE.get(refusal.rule)
        if status is None:
            raise
        raise ProblemError(status, refusal.rule, str(refusal)) from refusal


def _out(filing: Filing, *, evidence: bool = False) -> FilingOut:
    """The filing as answered: its account's number whole only as allowed evidence."""
    account = filing.account
    return FilingOut(
        filing_id=filing.filing_id,
        kind=filing.kind,
        status=filing.status,
        account_no=account.account_no if evidence else mask(account.account_no),
        bank_id=account.bank_id,
        broker_id=account.broker_id,
        purpose=account.purpose,
        branch_region=account.branch_region,
        filed_on=account.filed_on,
        institution_id=filing.institution_id,
        reason=filing.reason,
        filed_by=filing.filed_by,
        filed_at=filing.filed_at,
        decided_by=filing.decided_by,
        decided_at=filing.decided_at,
        decision_reason=filing.decision_reason,
        registry_version=filing.registry_version,
    )


@router.post("/filings", status_code=201, responses=problems(403, 409))
def filings_file(body: FilingIn, gate: CallerGate, wired: Wired) -> FilingOut:
    """File a new special account of the caller's institution (its officer); pending."""
    account = SpecialAccountFiling(
        body.account_no,
        body.bank_id,
        body.broker_id,
        body.purpose,
        body.branch_region,
        body.filed_on,
    )
    return _out(
        _answered(lambda: file_account(account=account, gate=gate, context=_context(wired)))
    )


@router.post("/filings/close", status_code=201, responses=problems(403, 404, 409))
def filings_close(body: ClosingIn, gate: CallerGate, wired: Wired) -> FilingOut:
    """Ask to take a filed account of the caller's institution out of the registry."""
    return _out(
        _answered(
            lambda: close_account(
                account_no=body.account_no, reason=body.reason, gate=gate, context=_context(wired)
            )
        )
    )


@router.get("/filings", responses=problems(403))
def filings_list(
    gate: CallerGate,
    wired: Wired,
    status: FilingStatus | None = None,
    institution_id: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    limit: Limit = listing_rows_max,
    offset: Offset = 0,
    evidence: Evidence = False,
) -> list[FilingOut]:
    """The filings in the caller's scope: the institution's own, or all of them for SIPF;
    the accounts' numbers masked unless `evidence` is asked for and allowed."""
    if evidence:
        _check_evidence(gate, institution_id)
    found = list_filings(
        gate=gate, context=_context(wired), institution_id=institution_id, status=status
    )
    return [_out(f, evidence=evidence) for f in found[offset : offset + limit]]


def _check_evidence(gate: Gate, institution_id: str | None) -> None:
    """Asked before anything is read, so that a refusal (audited) shows nothing: the one
    institution asked for, or all the caller may list (their own, or SIPF's whole monitor)."""
    whose = None if institution_id is None else Resource(institution=institution_id)
    gate.check_evidence(Action.FILINGS_EVIDENCE, whose, read="GET /filings")


@router.post("/filings/{filing_id}/approve", responses=problems(403, 404, 409))
def filings_approve(filing_id: FilingId, gate: CallerGate, wired: Wired) -> FilingOut:
    """Approve a pending filing (SIPF's registry officer): a new registry version."""
    return _out(
        _answered(lambda: approve_filing(filing_id=filing_id, gate=gate, context=_context(wired)))
    )


@router.post("/filings/{filing_id}/reject", responses=problems(403, 404, 409))
def filings_reject(
    filing_id: FilingId, body: RejectionIn, gate: CallerGate, wired: Wired
) -> FilingOut:
    """Reject a pending filing with a reason (SIPF's registry officer)."""
    return _out(
        _answered(
            lambda: reject_filing(
                filing_id=filing_id, reason=body.reason, gate=gate, context=_context(wired)
            )
        )
    )
