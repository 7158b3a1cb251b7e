"""schemathesis against the API's own OpenAPI: over at least 1,000 generated requests, valid
and invalid, no answer is a 5xx and every answer matches its documented status, media type,
headers and schema.

The requests go to the real app over a store with a day's market in it (registry, every
package, the day run), signed as a SIPF analyst — or, for a share of them, as B001's
submitter, its back office's operator or SIPF's registry officer, so that uploads and the
books are reached too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.entrypoints.api.app import create_app
from tests.api.support import bearer, load_world, new_app, person

generated_cases_min = 1_000
examples_per_operation = 24  # per operation and mode (valid, invalid); fewer where costly
# A day's run compares in DuckDB and a sign-in hashes with argon2: fewer of those.
examples_of = {"POST /api/v1/monitor/days/{business_date}/run": 8, "POST /api/v1/auth/login": 6}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@dataclass
class Fuzzed:
    app: Application
    api: FastAPI
    callers: list[dict[str, str]]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    root = tmp_path_factory.mktemp("schema")
    inbox_root = root / "inboxes"
    inbox_root.mkdir()
    app = new_app(root / "home", inbox_root=inbox_root)
    load_world(app, root / "market")
    analyst = bearer(app, person(app, "SIPF", Role.ANALYST))
    callers = [
        analyst,
        analyst,
        bearer(app, person(app, "B001", Role.SUBMITTER)),
        bearer(app, person(app, "BO:B001", Role.OPERATOR)),
        bearer(app, person(app, "SIPF", Role.REGISTRY_OFFICER)),
    ]
    yield Fuzzed(app, create_app(app, anchor_every_seconds=None), callers)
    app.dispose()


def test_generated_requests_never_get_a_5xx_and_every_answer_matches_the_openapi(
    fuzzed: Fuzzed,
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed.api)
    sent: Counter[str] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, fuzzed.callers, sent)
    assert sum(sent.values()) >= generated_cases_min, sent
    assert all(sent[f"{name} valid"] for name in examples_of)  # the costly ones ran too


def _fuzz(
    operation: APIOperation,
    mode: GenerationMode,
    callers: list[dict[str, str]],
    sent: Counter[str],
) -> None:
    """One operation in one mode, each request signed by one of `callers`."""
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=examples_of.get(label, examples_per_operation),
        deadline=None,
        derandomize=True,  # the same requests on every run: `make test` is repeatable
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), caller=st.sampled_from(callers))
    def answer_as_documented(case: schemathesis.Case, caller: dict[str, str]) -> None:
        response = case.call(headers=caller)
        case.validate_response(response, checks=CHECKS)
        sent[f"{label} {'valid' if mode is GenerationMode.POSITIVE else 'invalid'}"] += 1

    try:
        answer_as_documented()
    except Unsatisfiable:
        # Nothing of the operation can be made invalid (no parameter, no body): only the
        # valid requests exist.
        assert mode is GenerationMode.NEGATIVE, label
