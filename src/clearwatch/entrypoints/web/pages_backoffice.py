"""A broker's back office (its own deployment): the batches it received and their status.

Asked as the API's `GET /backoffice/{broker}/batches` asks it: the broker's books only, for its
readers (operator, checker, auditor); anyone else is refused (403, audited).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.entrypoints.web.site import SignedIn, application_of, render
from clearwatch.services.backoffice.batches import list_batches


def backoffice_batches(request: Request, viewer: SignedIn) -> HTMLResponse:
    """The batches, newest business date first, with the importer's status."""
    broker_id = viewer.actor.organisation.code
    viewer.gate.check(Action.BROKER_BATCHES, Resource(institution=broker_id))
    batches = list_batches(uow=application_of(request).read_uow(), broker_id=broker_id)
    batches.sort(key=lambda b: (b.business_date, b.received_at), reverse=True)
    return render(request, "backoffice.html.j2", viewer=viewer, batches=batches)


BACKOFFICE_PAGES = (("GET", "/backoffice", backoffice_batches),)
