"""The bearer as the API reads it itself (no `HTTPBearer` dependency), and the OpenAPI still
naming the scheme on every operation that authenticates."""

from __future__ import annotations

import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from tests.api.support import API, TestClient, bearer, person

UNAUTHENTICATED = {("/api/v1/auth/login", "post"), ("/health", "get")}


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", "Token abc", "bearerabc"],
)
def test_no_bearer_token_is_a_401_with_a_challenge_on_both_kinds_of_route(
    api_app: Application, client: TestClient, authorization: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    # The gate dependency (whoami) and the route that checks the bearer in its own store work.
    for path in ("/auth/whoami", "/warnings"):
        refused = client.get(f"{API}{path}", headers=headers)
        assert refused.status_code == 401, (path, authorization)
        assert refused.headers["www-authenticate"] == 'Bearer realm="clearwatch"'
        assert refused.json()["rule"] == "caller_must_be_authenticated"


def test_the_scheme_is_read_in_any_case_and_the_token_stripped(
    api_app: Application, client: TestClient
) -> None:
    token = bearer(api_app, person(api_app, "CITY-SZ", Role.BUREAU_ANALYST))["Authorization"]
    spaced = "bEaReR   " + token.removeprefix("Bearer ") + "  "
    for path in ("/auth/whoami", "/warnings"):
        assert client.get(f"{API}{path}", headers={"Authorization": spaced}).status_code == 200


def test_every_operation_but_login_and_health_names_the_bearer_scheme(
    client: TestClient,
) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) > 40
    for path, method, operation in operations:
        expected = [] if (path, method) in UNAUTHENTICATED else [{"HTTPBearer": []}]
        assert operation.get("security", []) == expected, (path, method)
