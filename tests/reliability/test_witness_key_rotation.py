"""A broker's audit heads under a new key: refused until SIPF approves the rotation (maker and
checker both SIPF's), then accepted; a rotation a back office approved itself counts for
nothing, and a third key stays refused."""

from __future__ import annotations

from pathlib import Path

from reliability.fuzz_inputs import audit_key, signed_head
from reliability.fuzz_mutations import Mutation

from clearwatch.domain.access.roles import Role
from clearwatch.domain.audit.witness import key_fingerprint
from clearwatch.services.access.approvals import approve_committed, request_approval_committed
from clearwatch.services.monitor.audit_heads import rotation_subject
from reliability import fuzz
from tests.api.support import person
from tests.reliability.test_fuzz_sample import _broker_daily_with_head

PINNED = "rejected:audit_head_key_must_be_pinned_key"


def _raw_public(institution: str) -> str:
    from cryptography.hazmat.primitives import serialization

    public = audit_key(institution).public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def _under(key_name: str) -> fuzz.Case:
    bundle = _broker_daily_with_head()
    bundle.manifest["audit_head"] = signed_head("B001", 9, key=audit_key(key_name))
    # Marked as a corruption (a no-op): the harness insists an unmarked case is accepted.
    return fuzz.Case(bundle, [Mutation("another_key", ())], "none")


def _rotate(store: fuzz.FuzzStore, organisation: str, maker: Role, checker: Role) -> None:
    app = store.app
    made = request_approval_committed(
        uow=app.uow(),
        kind="witness_key_rotation",
        subject_ref=rotation_subject("B001"),
        payload={"institution_id": "B001", "key_sha256": key_fingerprint(_raw_public("new"))},
        maker=person(app, organisation, maker),
        at=app.clock.now(),
    )
    approve_committed(
        uow=app.uow(),
        request_id=made.request_id,
        checker=person(app, organisation, checker),
        at=app.clock.now(),
    )


def test_a_rotated_audit_key_is_accepted_only_after_sipf_approves_it(tmp_path: Path) -> None:
    store = fuzz.FuzzStore(tmp_path / "store" / "home")
    try:
        outcomes = [fuzz.check_case(store, _under("B001"), 1, tmp_path)]  # pins B001's key
        outcomes.append(fuzz.check_case(store, _under("new"), 2, tmp_path))
        _rotate(store, "BO:B001", Role.OPERATOR, Role.CHECKER)  # the broker's own approval
        outcomes.append(fuzz.check_case(store, _under("new"), 3, tmp_path))
        _rotate(store, "SIPF", Role.ADMIN, Role.REVIEWER)
        outcomes.append(fuzz.check_case(store, _under("new"), 4, tmp_path))
        outcomes.append(fuzz.check_case(store, _under("third"), 5, tmp_path))
    finally:
        store.close()
    assert outcomes == ["accepted", PINNED, PINNED, "accepted", PINNED]


def test_a_key_sipf_registered_before_any_head_is_the_only_one_the_first_may_pin(
    tmp_path: Path,
) -> None:
    store = fuzz.FuzzStore(tmp_path / "store" / "home")
    try:
        _rotate(store, "SIPF", Role.ADMIN, Role.REVIEWER)  # registers `new` before any head
        outcomes = [fuzz.check_case(store, _under("B001"), 1, tmp_path)]  # first use: refused
        outcomes.append(fuzz.check_case(store, _under("new"), 2, tmp_path))  # pins `new`
        outcomes.append(fuzz.check_case(store, _under("B001"), 3, tmp_path))
        pinned = store.app.read_uow()
        with pinned:
            key = pinned.packages.pinned_key("B001")
    finally:
        store.close()
    assert outcomes == [PINNED, "accepted", PINNED]
    assert key == _raw_public("new")


def test_a_key_the_back_office_registered_itself_leaves_the_first_head_to_pin(
    tmp_path: Path,
) -> None:
    store = fuzz.FuzzStore(tmp_path / "store" / "home")
    try:
        _rotate(store, "BO:B001", Role.OPERATOR, Role.CHECKER)
        outcomes = [fuzz.check_case(store, _under("B001"), 1, tmp_path)]
        outcomes.append(fuzz.check_case(store, _under("new"), 2, tmp_path))
    finally:
        store.close()
    assert outcomes == ["accepted", PINNED]
