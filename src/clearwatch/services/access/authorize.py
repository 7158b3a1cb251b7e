"""Asking the policy for a caller: who they are now, allowed or refused, and denials audited.

A denial changes nothing, yet is recorded: the service's own transaction rolls back, and
`denials_audited` then writes the denial in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from clearwatch.domain.access.callers import (
    SECOND_FACTOR_REQUIRED_FOR_DECIDING_ROLE,
    TOKEN_SCOPE_MUST_ALLOW,
    Caller,
    counted,
)
from clearwatch.domain.access.grants import roles_in_force
from clearwatch.domain.access.policy import (
    NO_RULE,
    POLICY,
    Action,
    Actor,
    Allowed,
    Denied,
    Resource,
    decide,
)
from clearwatch.domain.access.roles import ROLES_BY_KIND
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.ports import AccessUnitOfWork, CallerRecord
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


def actor_of(record: CallerRecord, at: datetime) -> Actor:
    """The user of `record` with the roles in force at `at` (permanent and granted)."""
    user = record.user
    return Actor(user.user_id, user.organisation, user.roles | roles_in_force(record.grants, at))


def actor_in(uow: AccessUnitOfWork, *, user_id: str, at: datetime) -> Actor | None:
    """The registered user with the roles in force at `at` (permanent and granted)."""
    record = uow.access.caller_record(user_id)
    return None if record is None else actor_of(record, at)


def require(
    uow: AccessUnitOfWork, *, user_id: str, action: Action, resource: Resource, at: datetime
) -> Actor:
    """Inside the caller's unit of work: the actor if the policy allows, else `PolicyDenied`."""
    return _required(actor_in(uow, user_id=user_id, at=at), user_id, action, resource)


def _required(actor: Actor | None, user_id: str, action: Action, resource: Resource) -> Actor:
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


@dataclass(frozen=True)
class Gate:
    """An authenticated caller and the policy asked for them on the real clock.

    Entrypoints build one per command or request and hand it to the use case; a use case that
    learns its resource only from its input (a package names its institution) asks it then.
    """

    caller: Caller
    uow_factory: Callable[[], AccessUnitOfWork]  # writes: only a denial's audit record
    clock: Clock  # the server's real clock, never a replay's
    # The decision itself only reads; on SQLite a writing transaction would take the store's
    # write lock for every request the policy is asked about.
    read_uow_factory: Callable[[], AccessUnitOfWork] | None = None
    # The caller as authentication read them for this one request (API) or command (CLI):
    # checks then read nothing more. Never kept beyond it, so a change of roles or a revoked
    # credential holds from the caller's next request. Grants in force are still judged at
    # each check's own time. None: each check reads the caller afresh.
    known: CallerRecord | None = None

    def __post_init__(self) -> None:
        assert self.known is None or self.known.user.user_id == self.caller.user_id

    def _reading(self) -> AccessUnitOfWork:
        return (self.read_uow_factory or self.uow_factory)()

    def _actor(self, at: datetime) -> Actor | None:
        if self.known is not None:
            return actor_of(self.known, at)
        with self._reading() as uow:
            return actor_in(uow, user_id=self.user_id, at=at)

    @property
    def user_id(self) -> str:
        return self.caller.user_id

    def _decided(self, actor: Actor | None, action: Action, resource: Resource) -> Actor:
        """`_required` for the actor as this caller counts (deciding roles only with a second
        factor); refused by its own rule where only an uncounted role would have allowed."""
        if actor is None or self.caller.may_decide:
            return _required(actor, self.user_id, action, resource)
        seen = counted(self.caller, actor)
        if isinstance(decide(seen, action, resource), Denied) and isinstance(
            decide(actor, action, resource), Allowed
        ):
            self._refuse_without_second_factor(action, resource)
        return _required(seen, self.user_id, action, resource)

    def _refuse_without_second_factor(self, action: Action, resource: Resource) -> None:
        why = f"{action} needs a role that decides: sign in again with your code"
        denied = Denied(SECOND_FACTOR_REQUIRED_FOR_DECIDING_ROLE, why)
        raise PolicyDenied(denied, user_id=self.caller.label, action=action, resource=resource)

    def check(self, action: Action, resource: Resource) -> Actor:
        """The actor if the caller's credential and the policy allow; else `PolicyDenied`,
        audited, with nothing else changed."""
        at = self.clock.now()
        with denials_audited(self.uow_factory(), at=at):
            self._check_credential(action, resource)
            return self._decided(self._actor(at), action, resource)

    def check_own(self, action: Action) -> Actor:
        """`check` for a thing of the caller's own organisation (it names no other): a broken
        package's rejection, the deployment's audit log."""
        at = self.clock.now()
        with denials_audited(self.uow_factory(), at=at):
            self._check_credential(action, Resource())
            actor = self._actor(at)
            own = (
                Resource()
                if actor is None
                else Resource(
                    organisation=actor.organisation.ident, institution=actor.organisation.code
                )
            )
            return self._decided(actor, action, own)

    def lister(self, action: Action) -> Callable[[Resource], bool]:
        """For a listing: denied (audited) unless some rule of `action` names a role the caller
        holds; then a filter keeping exactly the rows the policy lets them see."""
        at = self.clock.now()
        with denials_audited(self.uow_factory(), at=at):
            self._check_credential(action, Resource())
            actor = self._actor(at)
            if actor is not None:
                self._check_second_factor(actor, action)
                actor = counted(self.caller, actor)
            if actor is None or not _may_list(actor, action):
                rule = ACTOR_MUST_BE_REGISTERED if actor is None else NO_RULE
                denied = Denied(rule, f"{action} by {self.user_id}")
                raise PolicyDenied(denied, user_id=self.user_id, action=action, resource=Resource())
        seen = actor
        return lambda resource: isinstance(decide(seen, action, resource), Allowed)

    def check_evidence(self, action: Action, resource: Resource | None, *, read: str) -> None:
        """`check` of an evidence action (`check_own` when `resource` is None), and the
        granted read audited: asked before anything is read, so a refusal shows nothing."""
        if resource is None:
            self.check_own(action)
        else:
            self.check(action, resource)
        self.record_evidence_read(action, read=read, resource=resource)

    def evidence_lister(self, action: Action, *, read: str) -> Callable[[Resource], bool]:
        """`lister` of an evidence action, and the granted read audited (once per listing)."""
        allows = self.lister(action)
        self.record_evidence_read(action, read=read)
        return allows

    def record_evidence_read(
        self, action: Action, *, read: str, resource: Resource | None = None
    ) -> None:
        """A granted evidence read (identifiers whole), audited in a transaction of its own:
        who, their organisation, what was read (`read`: the command or route, with its
        subject) and whose (the resource asked for; None: the caller's own organisation)."""
        at = self.clock.now()
        actor = self._actor(at)
        organisation = "" if actor is None else actor.organisation.ident
        whose = _whose(resource) or f"organisation:{organisation}"
        with self.uow_factory() as uow:
            record_audit(
                uow,
                actor=self.caller.label,
                action=AuditAction.EVIDENCE_READ,
                object_ref=f"evidence:{whose}",
                payload={"action": str(action), "read": read, "organisation": organisation},
                recorded_at=at,
            )
            uow.commit()

    def check_credential(self, action: Action) -> None:
        """Only what a machine's token scope allows, and no action that only a role deciding
        without a second factor would allow (use cases that ask the policy inside)."""
        at = self.clock.now()
        with denials_audited(self.uow_factory(), at=at):
            self._check_credential(action, Resource())
            if not self.caller.may_decide:
                actor = self._actor(at)
                if actor is not None:
                    self._check_second_factor(actor, action)

    def _check_second_factor(self, actor: Actor, action: Action) -> None:
        """Refused by its own rule when only an uncounted deciding role gives `action`."""
        if self.caller.may_decide:
            return
        if not _may_list(counted(self.caller, actor), action) and _may_list(actor, action):
            self._refuse_without_second_factor(action, Resource())

    def _check_credential(self, action: Action, resource: Resource) -> None:
        if not self.caller.may_ask(action):
            denied = Denied(TOKEN_SCOPE_MUST_ALLOW, f"{action} with a {self.caller.scope} token")
            raise PolicyDenied(denied, user_id=self.caller.label, action=action, resource=resource)


def _whose(resource: Resource | None) -> str:
    """The resource an evidence read was of, as its audit record names it."""
    if resource is None:
        return ""
    if resource.organisation:  # a back office's books: as a listing of them names them
        return f"organisation:{resource.organisation}"
    if resource.institution:
        return f"institution:{resource.institution}"
    return "monitor"  # no institution: the whole monitor's


def _may_list(actor: Actor, action: Action) -> bool:
    valid = actor.roles & ROLES_BY_KIND[actor.organisation.kind]
    return any(rule.action is action and rule.role in valid for rule in POLICY)
