"""A server keeps callers' records and warning listings between requests only while the store
counts no change to what they were read from (services/shared/generations.py): a revoked role,
a failed check or a newly approved warning holds from the very next request, whoever changed
the store. SQLite keeps them; PostgreSQL keeps none and reads everything afresh."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.services.shared.generations import Generations
from tests.api.support import (
    API,
    PASSWORD,
    TestClient,
    approve_warnings,
    bearer,
    load_world,
    new_app,
    person,
)


@contextmanager
def statements_run(app: Application) -> Iterator[list[str]]:
    """Every SQL statement the application runs inside the block (through SQLAlchemy)."""
    seen: list[str] = []

    def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(app.engine, "before_cursor_execute", _seen)
    try:
        yield seen
    finally:
        event.remove(app.engine, "before_cursor_execute", _seen)


def _generations(app: Application) -> Generations:
    found = app.store_generations.read()
    assert found is not None
    return found


def _bureau_warnings(client: TestClient, headers: dict[str, str]) -> Any:
    return client.get(f"{API}/warnings?bureau=CITY-SZ", headers=headers)


def test_sqlite_counts_every_change_to_what_is_kept(api_app: Application, tmp_path: Path) -> None:
    if api_app.engine.dialect.name != "sqlite":
        assert api_app.store_generations.read() is None  # PostgreSQL keeps nothing
        return
    before = _generations(api_app)
    alice = person(api_app, "B001", Role.SUBMITTER, "alice", password=PASSWORD)
    added = _generations(api_app)
    assert added.access > before.access and added.warnings == before.warnings
    load_world(api_app, tmp_path / "market")
    ran = _generations(api_app)
    assert ran.warnings > added.warnings
    approve_warnings(api_app)
    assert _generations(api_app).warnings > ran.warnings
    # A failed sign-in counts against alice's credentials but changes no caller.
    steady = _generations(api_app)
    client = TestClient(api_app_asgi(api_app))
    refused = client.post(f"{API}/auth/login", json={"user_id": alice, "password": "wrong one"})
    assert refused.status_code == 401
    assert _generations(api_app).access == steady.access
    # A console user's change, through no command at all, counts the same.
    with api_app.engine.begin() as connection:
        connection.execute(text("DELETE FROM access_user_roles WHERE user_id = 'alice'"))
    assert _generations(api_app).access > steady.access


def api_app_asgi(app: Application) -> Any:
    from clearwatch.entrypoints.api.app import create_app

    return create_app(app)


def test_a_caller_and_a_listing_read_once_are_taken_again_until_the_store_changes(
    api_app: Application, client: TestClient, tmp_path: Path
) -> None:
    load_world(api_app, tmp_path / "market")
    approve_warnings(api_app)
    headers = bearer(api_app, person(api_app, "CITY-SZ", Role.BUREAU_ANALYST))
    assert [w["institution_id"] for w in _bureau_warnings(client, headers).json()] == ["B002"]
    with statements_run(api_app) as again:
        assert [w["institution_id"] for w in _bureau_warnings(client, headers).json()] == ["B002"]
    read_afresh = [s for s in again if "access_users" in s or "monitor_warnings" in s]
    if api_app.engine.dialect.name == "sqlite":
        assert read_afresh == []  # one statement outside SQLAlchemy: the generations
    else:
        assert len(read_afresh) == 2  # the caller, the listing


def test_a_revoked_role_holds_from_the_next_request_though_its_record_was_kept(
    api_app: Application, client: TestClient, tmp_path: Path
) -> None:
    load_world(api_app, tmp_path / "market")
    approve_warnings(api_app)
    analyst = person(api_app, "CITY-SZ", Role.BUREAU_ANALYST)
    headers = bearer(api_app, analyst)
    for _ in range(2):  # the second from what the server kept
        assert _bureau_warnings(client, headers).status_code == 200
    with api_app.uow() as uow:  # as `user revoke` does, after its policy check
        assert uow.access.remove_role(user_id=analyst, role=Role.BUREAU_ANALYST)
        uow.commit()
    refused = _bureau_warnings(client, headers)
    assert refused.status_code == 403, refused.text


def test_a_warning_approved_after_a_bureau_looked_reaches_it_on_its_next_request(
    api_app: Application, client: TestClient, tmp_path: Path
) -> None:
    load_world(api_app, tmp_path / "market")
    headers = bearer(api_app, person(api_app, "CITY-SZ", Role.BUREAU_ANALYST))
    for _ in range(2):
        assert _bureau_warnings(client, headers).json() == []  # proposed: SIPF's alone
    approve_warnings(api_app)
    assert [w["institution_id"] for w in _bureau_warnings(client, headers).json()] == ["B002"]


def test_a_store_missing_one_of_its_counting_triggers_keeps_nothing(tmp_path: Path) -> None:
    app = new_app(tmp_path / "home")
    assert app.store_generations.read() is not None
    with app.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER access_user_roles_counts_delete"))
    app.dispose()
    reopened = new_app(tmp_path / "home")
    try:
        assert reopened.store_generations.read() is None
    finally:
        reopened.dispose()
