"""The monitor over HTTP: registry, package upload and receipts, the daily run, warnings.

A package is uploaded as a tar (optionally gzip) of its directory and goes through the very
`submit_package` the CLI calls, which asks the policy from the manifest: the institution must
be the caller's, and a later sequence supersedes, which needs its officer and a `reason`. The
receipt is the CLI's JSON. Amounts are integer fen (`*_fen`) and, beside them, yuan as text
with two decimals (`-?digits.dd`, no separators); never a float.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, TypeAdapter
from starlette.concurrency import run_in_threadpool

from clearwatch.bootstrap import Application
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.evidence_masking import masked_day_document
from clearwatch.domain.monitor.receipt import ReceiptStatus
from clearwatch.domain.monitor.registry import SpecialAccountFiling
from clearwatch.domain.shared.masking import mask
from clearwatch.domain.shared.money import format_fen
from clearwatch.entrypoints.api.problems import ProblemError, problems
from clearwatch.entrypoints.api.security import Bearer, CallerGate, Wired, may_ask
from clearwatch.entrypoints.api.store_threads import store_threads_of
from clearwatch.entrypoints.api.uploads import received_upload, upload_body
from clearwatch.entrypoints.api.values import (
    BusinessDate,
    Limit,
    Offset,
    Reason,
    listing_rows_max,
)
from clearwatch.services.access.authorize import PolicyDenied
from clearwatch.services.monitor.registry import load_registry, show_registry
from clearwatch.services.monitor.run_day import run_day
from clearwatch.services.monitor.run_ports import StoredWarning
from clearwatch.services.monitor.submit_package import submit_package
from clearwatch.services.monitor.warning_release import readable_warnings

router = APIRouter(tags=["monitor"])
PACKAGE_MUST_EXIST = "package_must_exist"
DAY_RESULT_MUST_EXIST = "day_result_must_exist"
UPLOAD_SHA256_HEADER = "Upload-Sha256"
InstitutionId = Annotated[str, Query(min_length=1, max_length=32)]
# Findings name client fund accounts and account numbers: masked unless the caller asks for
# the evidence itself and the policy allows it (`monitor.evidence`).
Evidence = Annotated[bool, Query(description="Unmasked accounts (policy: monitor.evidence).")]


class PackageIdentityOut(BaseModel):
    kind: str | None
    institution_id: str | None
    business_date: str | None
    sequence: int | None
    content_sha256: str | None
    package_id: int | None


class SupersededOut(BaseModel):
    package_id: int
    sequence: int | None


class PackageErrorOut(BaseModel):
    code: str
    file: str | None
    line: int | None
    column: str | None
    column_number: int | None
    message: str


class Receipt(BaseModel):
    """The receipt `clearwatch monitor submit` prints, field for field."""

    status: ReceiptStatus
    package: PackageIdentityOut
    supersedes: SupersededOut | None
    received_at: str
    late: bool | None
    rejection_id: int | None
    rows: dict[str, int]
    errors: list[PackageErrorOut]
    errors_truncated: bool


class ReceiptRow(BaseModel):
    status: str = Field(description="accepted, superseded or rejected.")
    reference: str = Field(description="package:<id> or rejection:<id>.")
    kind: str | None
    institution_id: str | None
    business_date: date | None
    sequence: int | None
    rows: int | None
    received_at: datetime
    late: bool | None
    first_error: str | None


class StoredPackageOut(BaseModel):
    package_id: int
    kind: str
    institution_id: str
    business_date: date
    sequence: int
    content_sha256: str
    received_at: datetime
    late: bool
    supersedes_package_id: int | None
    rows: dict[str, int]


class InstitutionOut(BaseModel):
    institution_id: str
    kind: str
    name: str
    region: str


class RegistryVersionOut(BaseModel):
    version: int
    loaded_at: datetime
    loaded_by: str
    institutions: int
    special_accounts: int
    holidays: int
    content_sha256: str


class RegistryOut(BaseModel):
    version: int | None = Field(description="None until a registry is loaded.")
    institutions: list[InstitutionOut]
    special_accounts: list[dict[str, Any]]
    holidays: list[date]
    history: list[RegistryVersionOut]


class RegistryLoaded(BaseModel):
    loaded: bool
    version: int | None
    changed: bool
    errors: list[str]


class DayRun(BaseModel):
    business_date: date
    result_version: int
    recorded: bool = Field(description="False when an identical result was stored already.")
    late_recorded: int
    rules_version: str
    warnings: int
    document: dict[str, Any] = Field(description="The day's JSON, as `run-day --json` writes.")


class DayResultOut(BaseModel):
    business_date: date
    result_version: int
    rules_version: str
    registry_version: int
    engine: str
    ran_at: str
    document: dict[str, Any]


class WarningOut(BaseModel):
    business_date: date
    result_version: int
    institution_id: str
    level: str
    criteria: list[str]
    route_to: str = Field(description="The bureau (region code) it is routed to.")
    cc: str
    special_report: bool
    released: bool = Field(
        description="Approved by a reviewer, so delivered; only SIPF ever sees one that is not."
    )
    problem_amount_fen: int = Field(description="Integer fen (分).")
    problem_amount: str = Field(description="Yuan with two decimals, e.g. `-1234.50`.")
    rules_version: str


@router.get("/registry", responses=problems(403))
def registry_show(gate: CallerGate, wired: Wired, evidence: Evidence = False) -> RegistryOut:
    """The current registry version (institutions, special-account filings, holidays); the
    accounts' numbers masked unless `evidence` is asked for and allowed."""
    gate.check(Action.REGISTRY_SHOW, Resource())
    if evidence:  # asked before anything is read, as `registry show --evidence` does
        gate.check_evidence(Action.MONITOR_EVIDENCE, Resource(), read="GET /registry")
    snapshot, history = show_registry(uow=wired.read_uow())
    return RegistryOut(
        version=None if snapshot is None else snapshot.version,
        institutions=[]
        if snapshot is None
        else [InstitutionOut(**dataclasses.asdict(i)) for i in snapshot.institutions],
        special_accounts=[]
        if snapshot is None
        else [_account_shown(a, evidence=evidence) for a in snapshot.special_accounts],
        holidays=[] if snapshot is None else list(snapshot.holidays),
        history=[RegistryVersionOut(**dataclasses.asdict(v)) for v in history],
    )


def _account_shown(account: SpecialAccountFiling, *, evidence: bool) -> dict[str, Any]:
    """A filed special account, its number whole only as the evidence the policy allowed."""
    shown = dataclasses.asdict(account)
    return shown if evidence else shown | {"account_no": mask(account.account_no)}


def _outcome_responses(model: str, rejected: str) -> dict[int | str, dict[str, Any]]:
    """An upload's answers: its outcome (`model`) for 200 and, when the content is rejected,
    for 422 too; a 422 can also be a problem (a bad request, an unreadable archive)."""
    documented = problems(403, 413)
    documented[200] = {
        "headers": {
            UPLOAD_SHA256_HEADER: {
                "description": "sha256 (hex) of the body as it arrived.",
                "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            }
        }
    }
    documented[422] = {
        "description": f"{rejected}, or the request or its upload refused",
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}},
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}},
        },
    }
    return documented


@router.post(
    "/registry",
    response_model=RegistryLoaded,
    responses=_outcome_responses("RegistryLoaded", "Rejected (every error named)"),
    openapi_extra=upload_body("the registry folder"),
)
async def registry_load(request: Request, gate: CallerGate, wired: Wired) -> JSONResponse:
    """Load the registry (institutions.csv, special_accounts.csv, holidays.csv) as a tar."""
    await run_in_threadpool(gate.check, Action.REGISTRY_LOAD, Resource())
    async with received_upload(request, wired) as upload:
        files = await run_in_threadpool(wired.read_registry_files, upload.directory)
        result = await run_in_threadpool(
            lambda: load_registry(
                files=files,
                source=f"upload:{upload.sha256}",
                actor=gate.caller.label,
                uow=wired.uow(),
                clock=wired.clock,
            )
        )
    body = RegistryLoaded(
        loaded=result.loaded,
        version=result.version,
        changed=result.changed,
        errors=[str(error) for error in result.errors],
    )
    return JSONResponse(
        body.model_dump(),
        status_code=200 if result.loaded else 422,
        headers={UPLOAD_SHA256_HEADER: upload.sha256},
    )


@router.post(
    "/packages",
    response_model=Receipt,
    responses=_outcome_responses("Receipt", "Rejected (the receipt names every error)"),
    openapi_extra=upload_body("the package folder (manifest.json and its CSV files)"),
)
async def packages_submit(
    request: Request,
    gate: CallerGate,
    wired: Wired,
    reason: Annotated[Reason | None, Query(description="Why a later sequence supersedes.")] = None,
) -> JSONResponse:
    """Submit a package; the receipt as the CLI prints it: 200 accepted or duplicate, 422
    rejected. A later sequence supersedes the accepted one: its officer, with a `reason`."""
    # Whoever may submit nothing is refused before a byte of the upload is read.
    await run_in_threadpool(may_ask, gate, Action.MONITOR_SUBMIT)
    async with received_upload(request, wired) as upload:
        receipt = await run_in_threadpool(
            lambda: submit_package(
                directory=str(upload.directory),
                context=wired.submit_context(),
                gate=gate,
                reason=reason,
            )
        )
    status = 422 if receipt.status is ReceiptStatus.REJECTED else 200
    return JSONResponse(
        receipt.to_json(), status_code=status, headers={UPLOAD_SHA256_HEADER: upload.sha256}
    )


@router.get("/packages", responses=problems(403))
def packages_list(
    gate: CallerGate,
    wired: Wired,
    business_date: BusinessDate | None = None,
    institution_id: InstitutionId | None = None,
    limit: Limit = listing_rows_max,
    offset: Offset = 0,
) -> list[ReceiptRow]:
    """Receipts in the caller's scope: accepted (or superseded) packages and rejections."""
    sees = gate.lister(Action.PACKAGES_LIST)
    with wired.read_uow() as uow:
        receipts = uow.packages.receipts(business_date=business_date, institution_id=institution_id)
    found = [r for r in receipts if sees(Resource(institution=r.institution_id))]
    return [ReceiptRow(**dataclasses.asdict(r)) for r in found[offset : offset + limit]]


@router.get("/packages/{package_id}", responses=problems(403, 404))
def packages_show(
    package_id: Annotated[int, Path(ge=1, le=2**31 - 1)], gate: CallerGate, wired: Wired
) -> StoredPackageOut:
    """One accepted package. Another institution's is not found, as one that never was."""
    may_ask(gate, Action.PACKAGES_LIST)
    with wired.read_uow() as uow:
        stored = uow.packages.get(package_id)
    if stored is None:
        raise ProblemError(404, PACKAGE_MUST_EXIST, f"no package {package_id}")
    try:
        gate.check(Action.PACKAGES_LIST, Resource(institution=stored.institution_id))
    except PolicyDenied as denied:  # audited; answered exactly like an unknown id
        raise ProblemError(404, PACKAGE_MUST_EXIST, f"no package {package_id}") from denied
    return StoredPackageOut(
        package_id=stored.package_id,
        kind=stored.kind,
        institution_id=stored.institution_id,
        business_date=stored.business_date,
        sequence=stored.sequence,
        content_sha256=stored.content_sha256,
        received_at=stored.received_at,
        late=stored.late,
        supersedes_package_id=stored.supersedes_package_id,
        rows=dict(stored.row_counts),
    )


@router.post("/monitor/days/{business_date}/run", responses=problems(403, 409))
def monitor_run_day(
    business_date: BusinessDate, gate: CallerGate, wired: Wired, evidence: Evidence = False
) -> DayRun:
    """Compare the day's packages, grade and route warnings (SIPF's analyst or reviewer)."""
    gate.check(Action.RUN_DAY, Resource())
    if evidence:  # asked before the run, so that a refusal changes nothing
        read = f"POST /monitor/days/{business_date}/run"
        gate.check_evidence(Action.MONITOR_EVIDENCE, Resource(), read=read)
    outcome = run_day(
        business_date=business_date, actor=gate.caller.label, context=wired.run_day_context()
    )
    wired.write_day_report(outcome.result)
    return DayRun(
        business_date=business_date,
        result_version=outcome.result_version,
        recorded=outcome.recorded,
        late_recorded=outcome.late_recorded,
        rules_version=outcome.result.rules_version,
        warnings=len(outcome.result.warnings),
        document=_shown(outcome.document, evidence=evidence),
    )


@router.get("/monitor/days/{business_date}", responses=problems(403, 404))
def monitor_day_result(
    business_date: BusinessDate, gate: CallerGate, wired: Wired, evidence: Evidence = False
) -> DayResultOut:
    """The latest result version of a day: the whole monitor's, so SIPF's readers'."""
    # A result names every institution and bureau: only the whole monitor's scope covers it.
    gate.check(Action.WARNINGS_LIST, Resource())
    if evidence:
        read = f"GET /monitor/days/{business_date}"
        gate.check_evidence(Action.MONITOR_EVIDENCE, Resource(), read=read)
    with wired.read_uow() as uow:
        run = uow.monitor_runs.latest(business_date)
    if run is None:
        raise ProblemError(404, DAY_RESULT_MUST_EXIST, f"no run of {business_date} yet")
    return DayResultOut(
        business_date=run.business_date,
        result_version=run.result_version,
        rules_version=run.rules_version,
        registry_version=run.registry_version,
        engine=run.engine,
        ran_at=run.ran_at,
        document=_shown(json.loads(run.document_json), evidence=evidence),
    )


def _shown(document: dict[str, Any], *, evidence: bool) -> dict[str, Any]:
    """The stored result whole for whom the policy let ask for the evidence; else masked."""
    return document if evidence else masked_day_document(document)


WarningLevel = Literal["major", "general", "attention"]


@router.get("/warnings", response_model=list[WarningOut], responses=problems(403))
async def warnings_list(
    request: Request,
    bearer: Bearer,
    business_date: BusinessDate | None = None,
    level: WarningLevel | None = None,
    bureau: Annotated[str | None, Query(max_length=32)] = None,
    limit: Limit = listing_rows_max,
    offset: Offset = 0,
) -> Response:
    """The warnings of each day's latest result that the caller's scope reaches."""
    # A bureau's screen asks this often: the bearer's check, the policy and the query in one
    # hand-off to a store thread; the answer is made of the schema's own models and written
    # as JSON once (FastAPI would check them against the schema again first).
    wired: Application = request.app.state.application
    found = await store_threads_of(request).run(
        _warnings_seen, wired, bearer, business_date=business_date, level=level, bureau=bureau
    )
    shown = [_warning_out(w) for w in found[offset : offset + limit]]
    return Response(_WARNINGS_JSON.dump_json(shown), media_type="application/json")


_WARNINGS_JSON = TypeAdapter(list[WarningOut])


def _warnings_seen(
    wired: Application,
    bearer: str,
    *,
    business_date: date | None,
    level: WarningLevel | None,
    bureau: str | None,
) -> list[StoredWarning]:
    # The store's generations first, then the caller and the rows: each read afresh unless
    # an earlier request read it under the same generation (services/shared/generations.py).
    generations = wired.store_generations.read()
    gate = wired.gate_of_bearer(bearer, generations)  # a bad token: Refused, a 401
    return readable_warnings(
        gate,
        wired.stored_warnings(generations),
        business_date=business_date,
        level=level,
        route_to=bureau,
    )


def _warning_out(w: StoredWarning) -> WarningOut:
    return WarningOut(
        business_date=w.business_date,
        result_version=w.result_version,
        institution_id=w.institution_id,
        level=w.level,
        criteria=list(w.criteria),
        route_to=w.route_to,
        cc=w.cc,
        special_report=w.special_report,
        released=w.released,
        problem_amount_fen=w.problem_amount_fen,
        problem_amount=format_fen(w.problem_amount_fen),
        rules_version=w.rules_version,
    )
