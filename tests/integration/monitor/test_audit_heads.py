"""The monitor keeps the signed audit head a broker_daily package carries, pins the key it was
signed with on first use, and refuses a forged head or one under another key, by name."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from clearwatch.bootstrap import Application
from clearwatch.domain.monitor.receipt import Receipt, ReceiptStatus
from clearwatch.domain.monitor.rejections import PackageRule
from clearwatch.services.audit.anchor import verify_anchored_audit
from clearwatch.services.monitor.audit_heads import witnessed_heads
from tests.integration.monitor.conftest import context
from tests.support.audit_heads import head_document, public_hex
from tests.support.identities import submit_as_owner
from tests.support.packages import write_package

DAY, NEXT_DAY = date(2026, 11, 20), date(2026, 11, 23)
FUNDS = "fund_account,client_id,account_kind,bank_id,balance\nFA1,C1,normal,K001,100.00\n"
KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()


def package(
    tmp_path: Path, name: str, head: dict[str, Any] | None, day: date = DAY, funds: str = FUNDS
) -> Path:
    overrides = {} if head is None else {"audit_head": head}
    return write_package(
        tmp_path / name,
        "broker_daily",
        "B001",
        day,
        {"client_funds.csv": funds},
        manifest_overrides=overrides,
    )


def submit(app: Application, directory: Path) -> Receipt:
    return submit_as_owner(app, directory, context(app))


def codes(receipt: Receipt) -> list[PackageRule]:
    return [error.code for error in receipt.errors]


def test_the_first_head_pins_its_key_and_is_kept_with_its_package(
    registered: Application, tmp_path: Path
) -> None:
    first = submit(registered, package(tmp_path, "d1", head_document(40, KEY)))
    later = head_document(55, KEY, "2026-11-23T18:00:00+08:00")
    second = submit(registered, package(tmp_path, "d2", later, day=NEXT_DAY))
    plain = submit(registered, package(tmp_path, "d3", None, day=date(2026, 11, 24)))
    assert [r.status for r in (first, second, plain)] == [ReceiptStatus.ACCEPTED] * 3
    listing = witnessed_heads(uow=registered.read_uow(), institution_id="B001")
    assert [(k.package_id, k.head.checkpoint.seq) for k in listing.heads] == [
        (first.package_id, 40),
        (second.package_id, 55),
    ]
    assert listing.pinned_key == public_hex(KEY) and listing.findings == ()
    assert [k.business_date for k in listing.heads[:1]] == [DAY]
    with registered.read_uow() as uow:
        kept = [r for r in uow.audit.latest(limit=20) if r.action == "monitor.audit_head_kept"]
    pinned = sorted(json.loads(r.payload_json)["key_pinned"] for r in kept)
    assert pinned == [False, True]  # the first head pinned the key, the second found it
    # The kept heads and the pinned key are fingerprinted under the chain: verify --data holds.
    report = verify_anchored_audit(anchor=registered.audit_anchor(), data=True)
    assert report.intact, report.findings


def test_a_head_under_another_key_is_refused_and_nothing_is_kept(
    registered: Application, tmp_path: Path
) -> None:
    assert submit(registered, package(tmp_path, "d1", head_document(40, KEY))).package_id
    forged = head_document(41, OTHER_KEY, "2026-11-23T18:00:00+08:00")
    refused = submit(registered, package(tmp_path, "d2", forged, day=NEXT_DAY))
    assert refused.status is ReceiptStatus.REJECTED
    assert codes(refused) == [PackageRule.AUDIT_HEAD_KEY_MUST_BE_PINNED_KEY]
    listing = witnessed_heads(uow=registered.read_uow(), institution_id="B001")
    assert [k.head.checkpoint.seq for k in listing.heads] == [40]


def test_a_head_whose_signature_does_not_verify_is_refused(
    registered: Application, tmp_path: Path
) -> None:
    tampered = head_document(40, KEY)
    tampered["checkpoint"]["made_at"] = "2026-11-20T18:00:01+08:00"  # not what was signed
    refused = submit(registered, package(tmp_path, "d1", tampered))
    assert codes(refused) == [PackageRule.AUDIT_HEAD_SIGNATURE_MUST_VERIFY]
    listing = witnessed_heads(uow=registered.read_uow(), institution_id="B001")
    assert listing.heads == () and listing.pinned_key is None  # a refused head pins nothing


def test_a_rerun_end_of_day_with_a_newer_head_is_a_duplicate(
    registered: Application, tmp_path: Path
) -> None:
    first = submit(registered, package(tmp_path, "d1", head_document(40, KEY)))
    rerun = submit(registered, package(tmp_path, "again", head_document(46, KEY)))
    assert rerun.status is ReceiptStatus.DUPLICATE and rerun.package_id == first.package_id
    listing = witnessed_heads(uow=registered.read_uow(), institution_id="B001")
    assert [k.head.checkpoint.seq for k in listing.heads] == [40]


def test_a_kept_head_edited_in_the_store_is_named_by_verify_data(
    registered_sqlite: Application, tmp_path: Path
) -> None:
    app = registered_sqlite
    assert submit(app, package(tmp_path, "d1", head_document(40, KEY))).package_id
    with app.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER monitor_audit_heads_refuse_update"))
        connection.execute(text("UPDATE monitor_audit_heads SET seq = 39"))
    report = verify_anchored_audit(anchor=app.audit_anchor(), data=True)
    assert [finding.rule for finding in report.findings] == [
        "append_only_trigger_missing",
        "audit_rows_changed",
    ]
