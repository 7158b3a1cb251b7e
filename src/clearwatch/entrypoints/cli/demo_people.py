"""The people and machines of the demo's replayed market, registered in its store.

The demo acts as each party would: every institution's reporting system submits its own
packages under a machine identity of that institution, a SIPF analyst runs the day and reviews
the cases, each institution's officer explains its own, a second SIPF analyst (a reviewer)
approves the warnings, and a SIPF delivery worker pushes them — each asked of the policy like
anyone else. They act in-process (no password to type), registered
by the demo's own admin, which is the first admin of the demo's store. A store whose users
were registered by someone else is refused: the demo runs in a home of its own.

Each broker's back office is a deployment of its own in real life, with its own store and
admins; the demo plays all of them in one process, so their end of day is recorded as the
demo's (`demo`), like the drills do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.organisations import SIPF_ID
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.access.authorize import Gate
from clearwatch.services.access.users import add_user

DEMO_ADMIN = "demo-admin"
DEMO_ANALYST = "demo-analyst"
DEMO_REVIEWER = "demo-reviewer"
DEMO_DELIVERY_WORKER = "demo-delivery"
DEMO_STORE_MUST_BE_THE_DEMOS = "demo_store_must_be_the_demos"


@dataclass
class DemoPeople:
    wired: Application
    _known: set[str] = field(default_factory=set)

    def admit(self) -> bool:
        """Register the demo's admin on an empty store; refuse a store someone else set up.
        True when the store was empty: the demo made it."""
        with self.wired.read_uow() as uow:
            users = {user.user_id for user in uow.access.users()}
        if not users:
            self._add(DEMO_ADMIN, SIPF_ID, Role.ADMIN, by=None)
        elif DEMO_ADMIN not in users:
            raise Refused(
                DEMO_STORE_MUST_BE_THE_DEMOS,
                f"{self.wired.settings.home} has users of its own: run the demo with "
                "CLEARWATCH_HOME set to a new directory",
            )
        self._known |= users | {DEMO_ADMIN}
        return not users

    def analyst(self) -> Gate:
        return self._gate(DEMO_ANALYST, SIPF_ID, Role.ANALYST)

    def reviewer(self) -> Gate:
        """The second analyst: approves what the analyst's runs and decisions proposed."""
        return self._gate(DEMO_REVIEWER, SIPF_ID, Role.REVIEWER)

    def delivery_worker(self) -> Gate:
        """The identity the delivery worker acts as, like `serve`'s named worker user."""
        return self._gate(DEMO_DELIVERY_WORKER, SIPF_ID, Role.ANALYST)

    def officer(self, institution_id: str) -> Gate:
        """The institution's officer, who explains its cases (核实说明) and no one else's."""
        return self._gate(f"{institution_id.lower()}-officer", institution_id, Role.OFFICER)

    def reporting_system(self, institution_id: str) -> Gate:
        """The institution's machine identity, a submitter of that institution only."""
        return self._gate(f"{institution_id.lower()}-reporting", institution_id, Role.SUBMITTER)

    def _gate(self, user_id: str, organisation: str, role: Role) -> Gate:
        if user_id not in self._known:
            self._add(user_id, organisation, role, by=DEMO_ADMIN)
            self._known.add(user_id)
        return self.wired.gate(local_caller(user_id))

    def _add(self, user_id: str, organisation: str, role: Role, *, by: str | None) -> None:
        add_user(
            uow=self.wired.uow(),
            user_id=user_id,
            roles=[role],
            organisation=organisation,
            actor=by,
            at=self.wired.real_clock.now(),
        )
