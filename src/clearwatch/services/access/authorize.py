"""Asking the policy for a caller: who they are now, allowed or refused, and denials audited.

A denial changes nothing, yet is recorded: the service's own transaction rolls back, and
`denials_audited` then writes the denial in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from clearwatch.domain.access.grants import roles_in_force
from clearwatch.domain.access.policy import Action, Actor, Allowed, Denied, Resource, decide
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.ports import AccessUnitOfWork
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.shared.ports import Clock

ACTOR_MUST_BE_REGISTERED = "actor_must_be_registered"


class PolicyDenied(Refused):
    """The policy refused a request; carries what the audit record of the denial says."""

    def __init__(self, denied: Denied, *, user_id: str, action: Action, resource: Resource):
        super().__init__(denied.rule, denied.where)
        self.user_id = user_id
        self.action = action
        self.resource = resource


def actor_in(uow: AccessUnitOfWork, *, user_id: str, at: datetime) -> Actor | None:
    """The registered user with the roles in force at `at` (permanent and granted)."""
    user = uow.access.user(user_id)
    if user is None:
        return None
    granted = roles_in_force(uow.access.grants_of(user_id), at)
    return Actor(user.user_id, user.organisation, user.roles | granted)


def require(
    uow: AccessUnitOfWork, *, user_id: str, action: Action, resource: Resource, at: datetime
) -> Actor:
    """Inside the caller's unit of work: the actor if the policy allows, else `PolicyDenied`."""
    actor = actor_in(uow, user_id=user_id, at=at)
    verdict: Allowed | Denied = (
        Denied(ACTOR_MUST_BE_REGISTERED, user_id)
        if actor is None
        else decide(actor, action, resource)
    )
    if isinstance(verdict, Denied):
        raise PolicyDenied(verdict, user_id=user_id, action=action, resource=resource)
    assert actor is not None  # an unknown actor is denied above
    return actor


@contextmanager
def denials_audited(uow: AccessUnitOfWork, *, at: datetime) -> Iterator[None]:
    """Wrap a use case's `with uow:`: a policy denial leaves an audit record, nothing else."""
    try:
        yield
    except PolicyDenied as denial:
        with uow:
            record_audit(
                uow,
                actor=denial.user_id,
                action=AuditAction.ACCESS_DENIED,
                object_ref=f"action:{denial.action}",
                payload={
                    "rule": denial.rule,
                    "where": denial.where,
                    "organisation": denial.resource.organisation,
                    "institution": denial.resource.institution,
                    "bureau": denial.resource.bureau,
                },
                recorded_at=at,
            )
            uow.commit()
        raise


def authorize(
    *, uow: AccessUnitOfWork, user_id: str, action: Action, resource: Resource, clock: Clock
) -> Actor:
    """Ask once, on the real clock, before a use case that does not ask itself yet."""
    at = clock.now()
    with denials_audited(uow, at=at), uow:
        return require(uow, user_id=user_id, action=action, resource=resource, at=at)
