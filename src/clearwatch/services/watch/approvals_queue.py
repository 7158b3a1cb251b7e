"""The approvals queue's approve, whatever the request: what its approval puts in force is put
in force with it, and the watch hears of it once committed.

The risk desk's halts were applied, and told to the stream, only through `watch alerts
halt-flow --approve` and its kin; the same approval given in the generic queue (`approvals
approve`, `POST /approvals/{id}/approve`, the approvals page) left the halt unapplied until the
operator asked again, and `flow.halted` unsaid until then. Every entrypoint's approve comes here,
so each path approves a flow halt, its lift and a client halt the one way, in one transaction,
and publishes its event once (its key is the halt's, so a replay adds nothing).
"""

from __future__ import annotations

from datetime import datetime

from clearwatch.domain.access.approvals import ApprovalRequest
from clearwatch.domain.watch.flow_halts import is_flow_halt_request, is_flow_lift_request
from clearwatch.domain.watch.reviews import HALT_KIND, HALT_SUBJECT_PREFIX
from clearwatch.services.intraday.halt_lifts import approve_request
from clearwatch.services.watch.flow_halts import approve_flow_halt, approve_lift
from clearwatch.services.watch.ports import NO_PUBLISHER, EventPublisher, WatchUnitOfWork
from clearwatch.services.watch.review import approve_halt


def _is_client_halt(request: ApprovalRequest) -> bool:
    return request.kind.value == HALT_KIND and request.subject_ref.startswith(HALT_SUBJECT_PREFIX)


def approve_in_queue(
    *,
    uow: WatchUnitOfWork,
    request_id: int,
    checker: str,
    at: datetime,
    publisher: EventPublisher = NO_PUBLISHER,
) -> ApprovalRequest:
    """Approve request `request_id` as a checker: a flow halt halts, a flow lift lifts, a
    client halt halts (each with its own checks and audit, and told to the watch); an
    intraday halt's lift lifts; any other request is approved alone."""
    with uow:
        found = uow.access.request(request_id)
    if found is not None and is_flow_halt_request(found):
        return approve_flow_halt(uow=uow, request_id=request_id, checker=checker, at=at,
                                 publisher=publisher).request  # fmt: skip
    if found is not None and is_flow_lift_request(found):
        return approve_lift(uow=uow, request_id=request_id, checker=checker, at=at,
                            publisher=publisher).request  # fmt: skip
    if found is not None and _is_client_halt(found):
        return approve_halt(uow=uow, request_id=request_id, checker=checker, at=at,
                            publisher=publisher).request  # fmt: skip
    return approve_request(
        uow=uow, request_id=request_id, checker=checker, at=at, publisher=publisher
    )
