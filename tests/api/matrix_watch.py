"""What the authorization matrix needs of the watch's alerts.

Each call gets a fresh alert of B001 in the home's alert log (a review is once per alert);
a halt's alert (always the same one) is confirmed first by B001's operator, so whoever the
policy lets ask may: the first gets its request, the next `request_must_not_duplicate_pending`.
"""

from __future__ import annotations

import uuid

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.watch.reviews import ReviewDecision
from clearwatch.services.watch.review import find_alert, review_alert
from tests.api.support import person
from tests.api.test_api_watch import raised

HALT_BODY = {"kind": "flow", "account": "F-MATRIX", "counterparty": "K001"}


def fresh_alert_key(app: Application) -> str:
    """A new alert of B001 naming a client withdrawing to K001."""
    return raised(app, "B001", f"F-{uuid.uuid4().hex[:10]}")


def confirmed_alert_key(app: Application) -> str:
    """A new alert of B001 naming `F-MATRIX`, confirmed by B001's operator."""
    key = raised(app, "B001", "F-MATRIX")
    operator = person(app, "BO:B001", Role.OPERATOR)
    alert = find_alert(app.watch_wiring().alert_log(), key, sees={"B001"}.__contains__)
    with app.read_uow() as uow:
        reviewed = uow.watch_reviews.review(key) is not None
    if not reviewed:
        review_alert(uow=app.uow(), alert=alert, decision=ReviewDecision.CONFIRMED, reason="",
                     reviewer=operator, at=app.real_clock.now())  # fmt: skip
    return key
