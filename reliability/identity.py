"""Who the harnesses act as: registered users, called in-process as local callers.

Submitting a package asks the policy for the caller (the package must be its institution's),
so each institution that submits has a registered submitter, made once when a store is set up
and never during a trial (registration is stamped with the real clock, which two runs do not
share). The other jobs still take an actor string: `SYSTEM_ACTOR`. When they take callers too,
the gates for them belong here, next to `submit_gate`.
"""

from __future__ import annotations

from collections.abc import Iterable

from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.organisations import SIPF_ID
from clearwatch.domain.access.roles import Role
from clearwatch.services.access.authorize import Gate
from clearwatch.services.access.users import add_user

# The actor of the jobs whose services name their actor by a string (see module docstring).
SYSTEM_ACTOR = "system:reliability"
ADMIN = "reliability-admin"
# The monitor's people for warnings: a reviewer approves what the daily run (`SYSTEM_ACTOR`)
# proposed, never their own; an analyst runs the delivery worker.
REVIEWER = "reliability-sipf-reviewer"
DELIVERY_WORKER = "reliability-sipf-delivery"


def submitter_of(institution: str) -> str:
    return f"reliability-{institution.lower()}-submitter"


def register_submitters(app: Application, institutions: Iterable[str]) -> None:
    """The store's first admin (the one unsigned act), then a submitter per institution."""
    at = app.real_clock.now()
    add_user(
        uow=app.uow(), user_id=ADMIN, roles=[Role.ADMIN], organisation=SIPF_ID, actor=None, at=at
    )
    for institution in institutions:
        add_user(
            uow=app.uow(),
            user_id=submitter_of(institution),
            roles=[Role.SUBMITTER],
            organisation=institution,
            actor=ADMIN,
            at=at,
        )


def register_monitor_staff(app: Application) -> None:
    """The warning reviewer and the delivery worker, made by the store's admin."""
    at = app.real_clock.now()
    for user_id, role in ((REVIEWER, Role.REVIEWER), (DELIVERY_WORKER, Role.ANALYST)):
        add_user(
            uow=app.uow(), user_id=user_id, roles=[role], organisation=SIPF_ID, actor=ADMIN, at=at
        )


def staff_gate(app: Application, user_id: str) -> Gate:
    return app.gate(local_caller(user_id))


def submit_gate(app: Application, institution: str) -> Gate:
    """The gate of `institution`'s submitter: what the policy is asked for on a submit."""
    return app.gate(local_caller(submitter_of(institution)))
