"""What the authorization matrix needs of special-account filings.

The matrix's registry files SA-001 for B001 at K001. Before the matrix runs, B001's officer has
a filing pending (so that every reader the policy lets see B001's filings has a row); each
approve or reject call gets a fresh pending filing of B001, and each new filing a fresh account.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.registry import SpecialAccountFiling
from clearwatch.services.monitor.filings import file_account
from clearwatch.services.monitor.filings_ports import FilingsContext
from tests.api.support import person

CLOSING = {"account_no": "SA-001", "reason": "the branch closed"}


def new_account_body() -> dict[str, Any]:
    """A special account of B001 at K001 nobody filed yet."""
    return {
        "account_no": f"M-{uuid.uuid4().hex[:12]}",
        "bank_id": "K001",
        "broker_id": "B001",
        "purpose": "client_settlement",
        "branch_region": "CN-SH",
        "filed_on": "2026-11-02",
    }


def pending_filing_id(app: Application) -> str:
    """A fresh pending filing of B001, made by its officer."""
    body = new_account_body()
    account = SpecialAccountFiling(
        body["account_no"], "K001", "B001", "client_settlement", "CN-SH", date(2026, 11, 2)
    )
    officer = person(app, "B001", Role.OFFICER)
    context = FilingsContext(
        clock=app.real_clock, uow_factory=app.uow, read_uow_factory=app.read_uow
    )
    filed = file_account(account=account, gate=app.gate(local_caller(officer)), context=context)
    return str(filed.filing_id)
