"""The back office over the API: batch import, books check, and end of day from an inbox that
must lie inside the server's configured inbox root."""

from __future__ import annotations

from pathlib import Path

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from tests.api.support import API, DAY, TestClient, bearer, client_of, new_app, person, tar_of
from tests.backoffice_batches import static_batch, write_batch


def _operator(app: Application) -> dict[str, str]:
    return bearer(app, person(app, "BO:B001", Role.OPERATOR))


def test_a_batch_imports_once_and_a_broken_one_names_its_rules(
    api_app: Application, client: TestClient, tmp_path: Path
) -> None:
    operator = _operator(api_app)
    body = tar_of(static_batch(tmp_path / "static"))
    first = client.post(f"{API}/backoffice/batches", content=body, headers=operator)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "applied" and first.json()["entries_posted"] > 0
    again = client.post(f"{API}/backoffice/batches", content=body, headers=operator)
    assert again.json()["status"] == "already_imported"
    broken = write_batch(
        tmp_path / "broken",
        kind="static",
        business_date="2026-11-21",
        batch_id="S9",
        files={"clients.csv": [["F9", "C9", "normal", "K001", "", "dormant"]]},
    )
    (broken / "clients.csv").write_text("tampered\n")
    refused = client.post(f"{API}/backoffice/batches", content=tar_of(broken), headers=operator)
    assert refused.status_code == 422
    assert refused.json()["rule"] == "file_hash_must_match"
    assert refused.json()["errors"][0]["file"] == "clients.csv"
    checked = client.get(
        f"{API}/backoffice/B001/check", params={"date": str(DAY)}, headers=operator
    )
    assert checked.json() == {"broker_id": "B001", "as_of": str(DAY), "holds": True, "breaches": []}
    listed = client.get(f"{API}/backoffice/B001/batches", headers=operator).json()
    assert [(b["batch_id"], b["status"]) for b in listed] == [("S1", "applied")]


def test_end_of_day_reads_only_an_inbox_inside_the_configured_root(
    api_app: Application, client: TestClient, tmp_path: Path
) -> None:
    root = api_app.settings.inbox_root
    assert root is not None
    static_batch(root / "b001" / "static")
    outside = tmp_path / "outside"
    static_batch(outside / "static")
    (root / "sneaky").symlink_to(outside, target_is_directory=True)
    operator = _operator(api_app)

    def eod(inbox: str):  # type: ignore[no-untyped-def]
        order = {"business_date": str(DAY), "inbox": inbox}
        return client.post(f"{API}/backoffice/B001/eod", json=order, headers=operator)

    for escape in ("../outside", str(outside), "sneaky", "/etc"):
        refused = eod(escape)
        assert refused.status_code == 422, escape
        assert refused.json()["rule"] == "inbox_must_be_inside_inbox_root", escape
    assert eod("missing").json()["rule"] == "inbox_must_be_a_directory"
    done = eod("b001")
    assert done.status_code == 200, done.text
    report = done.json()
    assert report["broker_id"] == "B001" and report["steps_run"][0] == "import"
    assert report["imports"] == [{"batch": "B001:S1", "kind": "static", "status": "applied"}]
    again = eod(str(root / "b001"))  # absolute, but inside: the same inbox
    assert again.status_code == 200 and "import" in again.json()["steps_skipped"]


def test_without_an_inbox_root_the_api_runs_no_end_of_day(tmp_path: Path) -> None:
    app = new_app(tmp_path / "home")
    client = client_of(app)
    order = {"business_date": str(DAY), "inbox": "anything"}
    answer = client.post(f"{API}/backoffice/B001/eod", json=order, headers=_operator(app))
    assert answer.status_code == 409
    assert answer.json()["rule"] == "inbox_root_must_be_configured"
    assert "CLEARWATCH_INBOX_ROOT" in answer.json()["detail"]
    app.dispose()
