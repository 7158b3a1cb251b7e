"""The day's findings through the API: accounts masked, unless the evidence is asked for by a
caller the policy lets read it (`monitor.evidence`); a refusal is audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clearwatch.domain.access.roles import Role
from tests.api.support import API, audit_records, bearer, client_of, load_world, new_app, person
from tests.scenarios.test_monitor_day import DAY


def _f2_refs(document: dict[str, Any]) -> list[str]:
    return [
        item["ref"]
        for institution in document["institutions"]
        for finding in institution["findings"]
        if finding["code"] == "F2"
        for item in finding["evidence"]["largest"]
    ]


def test_the_day_result_masks_the_overdrawn_client_unless_an_analyst_asks_for_evidence(
    tmp_path: Path,
) -> None:
    app = new_app(tmp_path / "home")
    load_world(app, tmp_path)  # B002's client Z2 is 500.00 overdrawn: F2 names Z2
    client = client_of(app)
    analyst = bearer(app, person(app, "SIPF", Role.ANALYST))
    officer = bearer(app, person(app, "SIPF", Role.REGISTRY_OFFICER))

    masked = client.get(f"{API}/monitor/days/{DAY}", headers=analyst)
    assert masked.status_code == 200, masked.text
    assert _f2_refs(masked.json()["document"]) == ["***2"]
    assert "Z2" not in masked.text

    whole = client.get(f"{API}/monitor/days/{DAY}?evidence=true", headers=analyst)
    assert _f2_refs(whole.json()["document"]) == ["Z2"]

    # The registry officer reads results but not the evidence: refused by name, audited.
    assert _f2_refs(client.get(f"{API}/monitor/days/{DAY}", headers=officer).json()[
        "document"]) == ["***2"]  # fmt: skip
    before = max(record.seq for record in audit_records(app))
    refused = client.get(f"{API}/monitor/days/{DAY}?evidence=true", headers=officer)
    assert refused.status_code == 403 and "Z2" not in refused.text
    denied = [r for r in audit_records(app, after_seq=before) if r.action == "access.denied"]
    assert [r.object_ref for r in denied] == ["action:monitor.evidence"]


def test_a_run_through_the_api_returns_the_document_masked_by_default(tmp_path: Path) -> None:
    app = new_app(tmp_path / "home")
    load_world(app, tmp_path, run=False)
    client = client_of(app)
    reviewer = bearer(app, person(app, "SIPF", Role.REVIEWER))
    ran = client.post(f"{API}/monitor/days/{DAY}/run", headers=reviewer)
    assert ran.status_code == 200, ran.text
    assert _f2_refs(ran.json()["document"]) == ["***2"]
    again = client.post(f"{API}/monitor/days/{DAY}/run?evidence=true", headers=reviewer)
    assert _f2_refs(again.json()["document"]) == ["Z2"]
